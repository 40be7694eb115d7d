"""Each task's work for one frame, as the scheduler sees it (:class:`~smaug_fast.sim.jobs.Work`), and its result alone.

A DNN task is ``simulate(graph, system)`` on the system restricted to its accelerators and threads: its
:class:`~smaug_fast.sim.Result` is the task's result alone, unchanged. For the scheduler each operator is a
block (SMAUG runs one operator at a time; a block holds the task's CPU threads and accelerators for the
operator's latency), cut into segments at every boundary of the result's timeline; each operator's DRAM
bytes are spread over the intervals of its timeline that move data (DMA and ACP transfers, flushes, CPU
copies and CPU ops; over the whole operator if it has none), so a segment asks for the bandwidth the
operator used at that moment. Its energy that does not depend on time (the accelerator's, the caches',
the CPU's, the DRAM's commands) goes with its segments: the DRAM's by bytes, the accelerator's by the
operator's own energy, the rest by time.

A pipeline task is :func:`~smaug_fast.pipelines.simulate.pipeline_profile`: its root stages, then its
strips on its threads.

The static power (leakage of every L1D and the LLC, the DRAM's background) is drawn whatever runs; the
scenario shares it among the jobs running at each moment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..choices import TaskKind
from ..errors import ConfigError, describe
from ..hardware import System
from ..pipelines.simulate import PipelineResult, pipeline_profile, simulate_pipeline
from ..sim import Result, simulate
from ..sim.jobs import Work
from ..sim.timing import dram_profile
from .spec import Task

#: Timeline phases that move no DRAM data.
_QUIET = ("accel_compute", "cpu_overhead")
#: The energy components that scale with time (the scenario recomputes them).
_STATIC = ("l1_leakage", "llc_leakage", "dram_background")


@dataclass(frozen=True, eq=False)
class TaskProfile:
    """One task on the system: its work per frame (its bytes are DRAM occupancy, whole bursts) and per
    segment its fixed energy [J], the DRAM part of it [J], its power while running [W] and the DRAM bytes
    it moves [B]; its result alone and the figures of that result."""

    task: Task
    work: Work
    seg_energy_j: np.ndarray
    seg_dram_energy_j: np.ndarray
    seg_run_w: np.ndarray
    seg_useful_bytes: np.ndarray
    alone: Result | PipelineResult
    alone_latency_s: float
    alone_energy_j: float
    alone_dram_energy_j: float
    alone_breakdown_s: dict[str, float]
    threads: int
    accelerators: tuple[int, ...]


def task_profile(task: Task, system: System) -> TaskProfile:
    """The :class:`TaskProfile` of ``task`` on ``system`` (checks its accelerators and threads)."""
    owner = f"task {task.name!r}"
    if task.threads is not None and task.threads > system.cpu.cores:
        raise ConfigError(f"{owner}: threads = {task.threads}: more than the system's cpu.cores = {system.cpu.cores}")
    if task.kind is TaskKind.PIPELINE:
        return _pipeline(task, system)
    accels = task.accelerators if task.accelerators is not None else tuple(range(system.num_accelerators))
    for a in accels:
        if a >= system.num_accelerators:
            raise ConfigError(f"{owner}: accelerators = {describe(task.accelerators)}: the system has "
                              f"{system.num_accelerators} accelerator(s), indices 0-{system.num_accelerators - 1}")
    threads = task.threads if task.threads is not None else system.cpu_threads
    own = system
    if (len(accels), threads) != (system.num_accelerators, system.cpu_threads):
        own = system.replace(num_accelerators=len(accels), cpu_threads=threads)
    result = simulate(task.workload, own, network=task.name)
    mask = sum(1 << a for a in accels)
    work, fixed, dram_j, useful = _dnn_work(result, threads, mask, own)
    d = result.energy_detail_j
    return TaskProfile(task, work, fixed, dram_j, np.zeros(len(fixed)), useful, result, result.latency_s,
                       result.energy_j,
                       float(d["dram_dynamic"] + d["dram_background"]), dict(result.breakdown_s), threads, accels)


def _pipeline(task: Task, system: System) -> TaskProfile:
    prof = pipeline_profile(task.workload, system, task.threads)
    alone = simulate_pipeline(task.workload, system, threads=prof.threads)
    return TaskProfile(task, prof.work, prof.seg_energy_j, prof.seg_dram_energy_j, prof.seg_run_w,
                       prof.seg_useful_bytes, alone,
                       alone.latency_s, alone.energy_j, alone.dram_energy_j, dict(alone.breakdown_s), prof.threads, ())


def _dnn_slices(result: Result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(op of each slice, its duration [s], its DRAM bytes [B]): the timeline cut at every boundary."""
    lat = np.array([o.latency_s for o in result.ops])
    bounds = np.concatenate([[0.0], np.cumsum(lat)])
    nbytes = np.array([o.dram_read_bytes + o.dram_write_bytes for o in result.ops], dtype=float)
    tl = result.timeline
    moving = ~np.isin(tl.phase.astype(str), _QUIET) & (tl.end_s > tl.start_s) if len(tl) else np.zeros(0, bool)
    s, e, op = tl.start_s[moving], tl.end_s[moving], tl.op[moving].astype(np.int64)
    busy = np.bincount(op, weights=e - s, minlength=len(lat))
    lone = np.flatnonzero((busy <= 0) & (nbytes > 0))  # ops that move data outside the timeline's transfers
    s = np.concatenate([s, bounds[lone]])
    e = np.concatenate([e, bounds[lone + 1]])
    op = np.concatenate([op, lone])
    busy[lone] = lat[lone]
    rate = np.where(busy[op] > 0, nbytes[op] / np.where(busy[op] > 0, busy[op], 1.0), 0.0)
    points = np.concatenate([s, e])
    order = np.argsort(points, kind="stable")
    slope = np.cumsum(np.concatenate([rate, -rate])[order])
    pts = points[order]
    cum = np.concatenate([[0.0], np.cumsum(slope[:-1] * np.diff(pts))]) if len(pts) else np.zeros(0)
    cuts = np.unique(np.concatenate([bounds, np.clip(pts, 0.0, bounds[-1])]))
    # cuts closer than rounding noise to the one before (ends of intervals that miss an op's bound by an
    # ulp) would make slices too short for the scheduler's clock
    cuts = cuts[np.isin(cuts, bounds) | (np.diff(cuts, prepend=-np.inf) > 1e-12 * max(bounds[-1], 1e-30))]
    f = np.interp(cuts, pts, cum) if len(pts) else np.zeros(len(cuts))
    dur = np.diff(cuts)
    keep = dur > 0
    owner = np.clip(np.searchsorted(bounds, cuts[:-1], side="right") - 1, 0, len(lat) - 1)
    return owner[keep], dur[keep], np.maximum(np.diff(f), 0.0)[keep]


def _occupancy(result: Result, system: System) -> float:
    """DRAM occupancy per byte the network moved: its DRAM energy over that of the bytes alone (requests
    smaller than a burst take a whole one, ``sim.timing``)."""
    dram = dram_profile(system.dram)
    plain = result.dram_read_bytes * dram.read_j_per_byte + result.dram_write_bytes * dram.write_j_per_byte
    return max(1.0, float(result.energy_detail_j["dram_dynamic"]) / plain) if plain > 0 else 1.0


def _dnn_work(result: Result, threads: int, mask: int, system: System):
    """The Work of a DNN result (one block per op), and each segment's fixed and DRAM energy [J] and bytes [B]."""
    owner, dur, nbytes = _dnn_slices(result)
    n_ops = len(result.ops)
    d = result.energy_detail_j
    accel = d["accel_fu_dynamic"] + d["spad_dynamic"] + d["accel_leakage"]
    rest = sum(d.values()) - accel - d["dram_dynamic"] - sum(d[c] for c in _STATIC)
    op_e = np.array([o.energy_j for o in result.ops])
    op_t = np.bincount(owner, weights=dur, minlength=n_ops)
    op_share = op_e / op_e.sum() if op_e.sum() > 0 else np.zeros(n_ops)
    per_time = np.where(op_t[owner] > 0, dur / np.where(op_t[owner] > 0, op_t[owner], 1.0), 0.0)
    total_bytes = nbytes.sum()
    dram_j = d["dram_dynamic"] * (nbytes / total_bytes if total_bytes > 0 else dur / dur.sum())
    fixed = accel * op_share[owner] * per_time + rest * dur / dur.sum() + dram_j
    blocks = []
    occ = _occupancy(result, system)
    counts = np.bincount(owner, minlength=n_ops)
    start = 0
    for k in range(n_ops):
        n = int(counts[k])
        blocks.append((1, [(threads, mask, dur[start:start + n], occ * nbytes[start:start + n])]))
        start += n
    return Work.of(blocks), fixed, dram_j, nbytes


__all__ = ["TaskProfile", "task_profile"]
