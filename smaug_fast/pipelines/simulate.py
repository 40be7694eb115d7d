"""Time and energy of a pipeline on the SoC's CPU: ``simulate_pipeline(pipeline, system) -> PipelineResult``.

Per strip, from the plan (elements per stage) and the memory pass (LLC hits of L1D misses, DRAM bytes):

- compute: the elements of every stage times its cycles per element (:mod:`.cost`), at ``cpu.freq_hz``;
- memory: the LLC hits each wait for and the DRAM bytes at the bandwidth one core's outstanding misses
  sustain, the same model as the network's CPU copies (``sim.timing``: ``l2.latency_cycles /
  outstanding_misses`` per LLC hit; ``outstanding_misses * line / (LLC + DRAM latency)`` bytes per second);
- a strip takes the longer of the two. Assumption: the out-of-order core overlaps its misses with the
  vector arithmetic (Halide's schedule prefetches the input two rows ahead, ``prefetch(input, y, y, 2)``);
  without any overlap a strip would take their sum, at most twice as long. Its DRAM requests are cache
  lines, each occupying a whole DRAM burst (``sim.timing``'s rule): that is what it asks of the shared
  bandwidth.

The strips run on ``threads`` cores, as many at a time, after the root stages (one core); their DRAM
traffic shares the DRAM's bandwidth (:func:`smaug_fast.sim.jobs.run_jobs`, the scenario's scheduler, so
a pipeline alone and in a scenario are timed alike). The latency is split into ``compute`` (the schedule
with compute times only), ``memory_stall`` (what the memory time adds with unlimited DRAM bandwidth) and
``dram_contention`` (what sharing the DRAM among the threads adds).

Energy, in the network's components (``sim.result.ENERGY_DETAIL``): the busy cores at
``cpu.active_power_w``, one L1D access per load or store micro-op, the LLC's lookups, the DRAM's bytes
(whole bursts, as ``sim.timing``), and the leakage of every L1D and the LLC and the DRAM's background
power over the latency.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError, WorkloadError, describe
from ..hardware import System
from ..sim.jobs import JobSet, Work, run_jobs
from ..sim.result import ENERGY_COMPONENTS, ENERGY_DETAIL
from ..sim.timing import dram_profile
from .cost import cycles_per_element, uops_per_element
from .memory import PipelineMemoryKey, pipeline_memory
from .plan import plan_pipeline
from .stages import Pipeline

#: The latency's parts [s] (they sum to it).
PIPELINE_PHASES = ("compute", "memory_stall", "dram_contention")


@dataclass(frozen=True)
class StageResult:
    """One stage over the frame: elements computed (halo and vector tails included), its operations
    by kind, its cycles, and its cycles per element."""

    name: str
    storage: str
    elements: float
    ops: dict[str, float]
    cycles: float
    cycles_per_element: float


@dataclass(frozen=True, eq=False)
class PipelineProfile:
    """What the scheduler needs of a pipeline on a system: the work of one frame (:class:`Work`, whose
    bytes are DRAM occupancy: whole bursts); per segment its energy that does not depend on time (caches
    and DRAM), the DRAM part of it, the power drawn while it runs (its core), the DRAM bytes it moves, the
    bytes it reads and its compute time; the static powers [W]."""

    work: Work
    seg_energy_j: np.ndarray
    seg_run_w: np.ndarray
    seg_dram_energy_j: np.ndarray
    seg_useful_bytes: np.ndarray
    seg_read_bytes: np.ndarray
    seg_compute_s: np.ndarray
    threads: int
    static_w: float
    dram_static_w: float


@dataclass(frozen=True)
class PipelineResult:
    """A pipeline's frame on the system's CPU (module docstring)."""

    pipeline: str
    latency_s: float
    breakdown_s: dict[str, float]
    energy_j: float
    energy_breakdown_j: dict[str, float]
    energy_detail_j: dict[str, float]
    dram_read_bytes: int
    dram_write_bytes: int
    threads: int
    stages: tuple[StageResult, ...]
    strip_start_s: np.ndarray = field(repr=False)
    strip_end_s: np.ndarray = field(repr=False)
    cache_stats: dict[str, dict[str, int]] = field(default_factory=dict)
    system: object = None

    @property
    def dram_bytes(self) -> int:
        return self.dram_read_bytes + self.dram_write_bytes

    @property
    def dram_energy_j(self) -> float:
        """DRAM energy: commands and bursts plus background [J]."""
        return self.energy_detail_j["dram_dynamic"] + self.energy_detail_j["dram_background"]

    def summary(self) -> str:
        lines = [f"{self.pipeline}: latency {self.latency_s * 1e3:.3f} ms on {self.threads} thread(s), "
                 f"energy {self.energy_j * 1e3:.3f} mJ, DRAM {self.dram_bytes / 1e6:.2f} MB"]
        for p, v in self.breakdown_s.items():
            lines.append(f"  {p:<16} {v * 1e3:10.3f} ms")
        for s in self.stages:
            lines.append(f"  stage {s.name:<14} {s.storage:<11} {s.elements:14,.0f} elements "
                         f"{s.cycles_per_element:7.3f} cycles each")
        return "\n".join(lines)


def _threads(pipeline: Pipeline, system: System, threads: int | None) -> int:
    n = threads if threads is not None else pipeline.threads if pipeline.threads is not None else system.cpu.cores
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= system.cpu.cores:
        raise ConfigError(f"threads = {describe(n)}: must be an integer in [1, cpu.cores = {system.cpu.cores}]")
    return n


def static_power_w(system: System) -> tuple[float, float]:
    """(every static power [W], the DRAM's background power [W]): what is drawn whatever runs."""
    dram_w = dram_profile(system.dram).background_w
    e = system.energy
    return dram_w + e.l1d_leakage_w * system.cpu.cores + e.l2_leakage_w, dram_w


def pipeline_profile(pipeline: Pipeline, system: System, threads: int | None = None) -> PipelineProfile:
    """The scheduler's view of ``pipeline`` on ``system`` (memory pass memoized in SIM_CACHE)."""
    if not isinstance(pipeline, Pipeline):
        raise WorkloadError(f"pipeline = {describe(pipeline)}: must be a smaug_fast.pipelines.Pipeline")
    n = _threads(pipeline, system, threads)
    plan = plan_pipeline(pipeline)
    mem = pipeline_memory(PipelineMemoryKey(pipeline, system.l1d, system.l2, n))
    cpu, f = system.cpu, float(system.cpu.freq_hz)
    cpe = np.zeros(len(plan.nodes))
    mem_uops = np.zeros(len(plan.nodes))
    for i, s in enumerate(pipeline.stages, start=1):
        cpe[i] = cycles_per_element(s, cpu)
        mem_uops[i] = uops_per_element(s, cpu)[1]
    elements = np.stack([st.elements for st in plan.strips])  # [strips, nodes]
    compute = np.concatenate([[plan.root_elements @ cpe], elements @ cpe]) / f
    uops = np.concatenate([[plan.root_elements @ mem_uops], elements @ mem_uops])
    hits = np.concatenate([[mem.root_l2_hits], mem.l2_hits])
    rd = np.concatenate([[mem.root_read_bytes], mem.read_bytes])
    wr = np.concatenate([[mem.root_write_bytes], mem.write_bytes])
    acc = np.concatenate([[mem.root_l2_accesses], mem.l2_accesses])
    dram = dram_profile(system.dram)
    line = system.l2.line_bytes
    stall = hits * system.l2.latency_cycles / f / cpu.outstanding_misses
    core_cap = cpu.outstanding_misses * line / (system.l2.latency_cycles / f + dram.latency_s)
    dur = np.maximum(compute, stall + (rd + wr) / core_cap)
    occ = max(1.0, dram.burst_bytes / line)
    dram_j = occ * (rd * dram.read_j_per_byte + wr * dram.write_j_per_byte)
    en = system.energy
    energy = uops * en.l1d_access_energy_j + acc * en.l2_access_energy_j + dram_j
    blocks = [(1, 0, dur[i:i + 1], occ * (rd + wr)[i:i + 1]) for i in range(len(dur))]
    work = Work.of([(1, blocks[:1]), (n, blocks[1:])])
    static_w, dram_w = static_power_w(system)
    run_w = np.full(len(dur), cpu.active_power_w)
    return PipelineProfile(work, energy, run_w, dram_j, rd + wr, rd, compute, n, static_w, dram_w)


def _one(work: Work, cores: int, bw: float) -> tuple[float, np.ndarray, np.ndarray]:
    jobs = JobSet()
    jobs.add(work, 0.0)
    sched = run_jobs(jobs, cores, bw)
    return float(sched.job_finish[0]), sched.block_start, sched.block_end


def simulate_pipeline(pipeline: Pipeline, system: System | None = None, *, threads: int | None = None) -> PipelineResult:
    """One frame of ``pipeline`` on ``system``'s CPU, caches and DRAM (default: the paper's Table 2 SoC).

    ``threads``: cores the strips run on (default: the pipeline's, else every core).
    Raises WorkloadError for a bad pipeline, ConfigError for a bad system or thread count.
    """
    system = System() if system is None else system
    if not isinstance(system, System):
        raise ConfigError(f"system = {describe(system)}: must be a smaug_fast System")
    prof = pipeline_profile(pipeline, system, threads)
    w, n, bw = prof.work, prof.threads, dram_profile(system.dram).bandwidth_bytes_per_s
    latency, bstart, bend = _one(w, n, bw)
    no_bw, _, _ = _one(w, n, math.inf)
    compute_only = Work(w.phase_par, w.phase_blocks, w.block_cores, w.block_accels, w.block_segs,
                        prof.seg_compute_s, np.zeros_like(w.seg_bytes))
    t_compute, _, _ = _one(compute_only, n, math.inf)
    c = min(t_compute, latency)
    m = max(0.0, min(no_bw, latency) - c)
    breakdown = {"compute": c, "memory_stall": m, "dram_contention": latency - c - m}
    return _result(pipeline, system, prof, latency, breakdown, bstart, bend)


def _result(pipeline, system, prof, latency, breakdown, bstart, bend) -> PipelineResult:
    plan = plan_pipeline(pipeline)
    mem = pipeline_memory(PipelineMemoryKey(pipeline, system.l1d, system.l2, prof.threads))
    en, cpu = system.energy, system.cpu
    durs = bend - bstart
    detail = {c: 0.0 for c in ENERGY_DETAIL}
    total_elements = plan.root_elements + sum(st.elements for st in plan.strips)
    uops = sum(total_elements[i] * uops_per_element(s, cpu)[1] for i, s in enumerate(pipeline.stages, start=1))
    detail["cpu"] = cpu.active_power_w * float(durs.sum())
    detail["l1_dynamic"] = uops * en.l1d_access_energy_j
    detail["llc_dynamic"] = (mem.root_l2_accesses + float(mem.l2_accesses.sum())) * en.l2_access_energy_j
    detail["dram_dynamic"] = float(prof.seg_dram_energy_j.sum())
    detail["l1_leakage"] = en.l1d_leakage_w * cpu.cores * latency
    detail["llc_leakage"] = en.l2_leakage_w * latency
    detail["dram_background"] = prof.dram_static_w * latency
    coarse = {c: 0.0 for c in ENERGY_COMPONENTS}
    for c, v in detail.items():
        coarse[ENERGY_DETAIL[c]] += v
    stages = []
    for i, s in enumerate(pipeline.stages, start=1):
        cpe = cycles_per_element(s, cpu)
        ops = {k.value: total_elements[i] * v for k, v in s.work}
        stages.append(StageResult(s.name, s.storage.value, float(total_elements[i]), ops,
                                  float(total_elements[i] * cpe), cpe))
    read = mem.root_read_bytes + float(mem.read_bytes.sum())
    write = mem.root_write_bytes + float(mem.write_bytes.sum())
    return PipelineResult(
        pipeline=pipeline.name, latency_s=latency, breakdown_s=breakdown, energy_j=float(sum(detail.values())),
        energy_breakdown_j=coarse, energy_detail_j=detail, dram_read_bytes=int(round(read)),
        dram_write_bytes=int(round(write)), threads=prof.threads, stages=tuple(stages), strip_start_s=bstart[1:],
        strip_end_s=bend[1:], cache_stats=mem.cache_stats, system=system,
    )


__all__ = ["PIPELINE_PHASES", "PipelineProfile", "PipelineResult", "StageResult", "pipeline_profile",
           "simulate_pipeline", "static_power_w"]
