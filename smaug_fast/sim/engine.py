"""``simulate(graph, system) -> Result``: SMAUG's end-to-end inference on an SoC, in SMAUG's order.

Per operator (topological order, one at a time, as SMAUG's scheduler runs them):

1. **CPU data preparation** (``cpu_prep``): the tiling copies of the activation inputs, split over
   ``cpu_threads`` threads as SMAUG's ``parallelCopyTileData`` does (ceil(tiles / threads) each).
   A thread's time is the larger of its copy work (memcpy calls and bytes, ``CPU`` copy costs) and
   its DRAM traffic at the bandwidth its outstanding misses sustain, plus the LLC-hit latency it
   cannot hide; all threads share the DRAM bandwidth.
2. **Accelerator invocations**, round-robin over ``num_accelerators`` (the tiling plan's schedule):
   per invocation the loads of the tiles that are not resident, the compute, and the store of a
   completed output tile. DMA (``dma``): gem5-Aladdin charges every DMA load a flush of the source's
   cache lines and every store an invalidation of the destination's (``flush``, per line), then a
   setup and the burst transfer, whose rate is bounded by the engine's outstanding requests; with
   pipelined DMA the unpacking into the scratchpads overlaps the transfer. ACP (``acp``): the
   accelerator reads and writes lines through the LLC, LLC hits at the ACP latency and misses at the
   DRAM latency, with its outstanding requests in flight. Every transfer of every accelerator shares
   the DRAM bandwidth (``kernels.timeline``); the accelerator that finishes last decides the time.
3. **CPU finalization** (``cpu_finalize``): untiling of the output tiles, split over threads.
4. **Framework overhead** (``cpu_overhead``): a fixed cost per operator. Operators the accelerator
   does not run (reorders, concat/split, reshapes, depthwise conv on SMV) execute on the CPU
   (``cpu_ops``).

Cache behaviour comes from the memory pass (:mod:`.memory_pass`, the real address streams through
the cache model); DRAM bandwidth, energy per byte and background power from the DRAM model on the
configured DRAM (:func:`dram_profile`). Per-op lowering and the memory pass are memoized, so sweeps
over threads, accelerators, DMA parameters or clocks reuse them.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import ConfigError, MappingError, WorkloadError, describe
from ..hardware import System
from ..kernels.timeline import run_timelines
from ..memory import DRAM
from ..workload.core import Convolution, Op, Reorder, Reshape
from ..workload.graph import Graph
from .lowering import OpLowering, lower
from .memory_pass import CopyStats, MemoryPass, OpMemory
from .result import DETAIL_PHASES, ENERGY_COMPONENTS, PHASES, OpResult, Result, Timeline

# Segment kinds of the accelerator timelines (index into _KIND_PHASE).
_COMPUTE, _FLUSH, _DMA, _ACP = 0, 1, 2, 3
_KIND_PHASE = ("accel_compute", "flush", "dma_transfer", "acp_transfer")
# Slots of one invocation: flush+load of inputs, flush+load of weights, compute, invalidate+store.
_SLOTS = 7


# --------------------------------------------------------------------------------------------------
# DRAM profile
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DramProfile:
    """What the DRAM model says about streaming traffic on one DRAM configuration.

    Attributes:
        bandwidth_bytes_per_s: achieved bandwidth of a long sequential read stream [B/s].
        read_j_per_byte, write_j_per_byte: command and burst energy per byte [J/B].
        background_w: background (standby and refresh) power [W].
        latency_s: latency of a lone read that finds its bank closed [s].
    """

    bandwidth_bytes_per_s: float
    read_j_per_byte: float
    write_j_per_byte: float
    background_w: float
    latency_s: float


@lru_cache(maxsize=64)
def dram_profile(config) -> DramProfile:
    """Run the DRAM model on 1 MiB sequential read and write streams of ``config`` (memoized)."""
    dram = DRAM(config)
    n = 1 << 20
    burst = config.burst_bytes
    addrs = np.arange(0, n, burst, dtype=np.int64)
    rd = dram.simulate(addrs, False)
    wr = dram.simulate(addrs, True)
    bg_w = rd.energy_breakdown_j.get("background", 0.0) / rd.time_s if rd.time_s else 0.0
    dyn = lambda st: sum(v for k, v in st.energy_breakdown_j.items() if k != "background")  # noqa: E731
    return DramProfile(
        bandwidth_bytes_per_s=rd.bandwidth_bytes_per_s,
        read_j_per_byte=dyn(rd) / n,
        write_j_per_byte=dyn(wr) / n,
        background_w=bg_w,
        latency_s=config.unloaded_latency_ns()["closed"] * 1e-9,
    )


# --------------------------------------------------------------------------------------------------
# Memoized network-level work
# --------------------------------------------------------------------------------------------------

_MEMORY_CACHE: OrderedDict = OrderedDict()
_MEMORY_CACHE_LIMIT = 32


def _modes(system: System) -> dict[str, str]:
    """Per role, how tiles reach the accelerator: SMAUG's AllDma, AllAcp, AllAcpWithDmaForWeights."""
    if system.interface == "dma":
        return {"input": "dma", "input1": "dma", "weights": "dma", "output": "dma"}
    if system.interface == "acp":
        return {"input": "acp", "input1": "acp", "weights": "acp", "output": "acp"}
    return {"input": "acp", "input1": "acp", "weights": "dma", "output": "acp"}


def _memory(ops: tuple[Op, ...], system: System) -> list[OpMemory]:
    """The memory pass of a network on a system, memoized on what it depends on."""
    key = (
        ops,
        system.accelerator,
        system.interface,
        system.l1d,
        system.l2,
        system.dma.ignore_cache_flush,
        system.dma.invalidate_on_store,
    )
    hit = _MEMORY_CACHE.get(key)
    if hit is not None:
        _MEMORY_CACHE.move_to_end(key)
        return hit
    mp = MemoryPass(system)
    modes = _modes(system)
    out = []
    for op in ops:
        if system.accelerator.supports(op):
            out.append(mp.accelerated(op, lower(op, system.accelerator), modes))
        else:
            out.append(mp.on_cpu(op))
    _MEMORY_CACHE[key] = out
    if len(_MEMORY_CACHE) > _MEMORY_CACHE_LIMIT:
        _MEMORY_CACHE.popitem(last=False)
    return out


@lru_cache(maxsize=16384)
def _schedule_costs(op: Op, accelerator, num_accelerators: int):
    low = lower(op, accelerator)
    sched = low.plan.schedule(num_accelerators)
    return sched, accelerator.schedule_costs(op, low.plan, sched)


@lru_cache(maxsize=16384)
def _spad_energy(op: Op, accelerator, num_accelerators: int) -> float:
    """Scratchpad share of the accelerator's dynamic energy [J] (0 if the model has no spad energies)."""
    e_r = getattr(accelerator, "spad_read_energy_j", None)
    e_w = getattr(accelerator, "spad_write_energy_j", None)
    if e_r is None or e_w is None:
        return 0.0
    _, costs = _schedule_costs(op, accelerator, num_accelerators)
    counts = np.bincount(costs.work, minlength=len(costs.works))
    total = 0.0
    for w, k in zip(costs.works, counts):
        c = accelerator._cached_cost(w)
        total += k * (c.spad_reads * e_r + c.spad_writes * e_w)
    return total


# --------------------------------------------------------------------------------------------------
# Timing of the pieces
# --------------------------------------------------------------------------------------------------


@dataclass
class _Env:
    """Per-run constants derived from the system."""

    system: System
    f_cpu: float
    f_acc: float
    dram: DramProfile
    core_cap: float  # one core's DRAM bandwidth under its outstanding misses [B/s]
    l2_stall_s: float  # unhidden time of one LLC hit after an L1 miss [s]
    dma_cap: float
    acp_cap: float
    line: int


def _env(system: System) -> _Env:
    cpu, acc = system.cpu, system.accelerator
    f_cpu = float(cpu.freq_hz)
    f_acc = float(getattr(acc, "freq_hz"))
    prof = dram_profile(system.dram)
    line = system.l2.line_bytes
    mem_lat = system.l2.latency_cycles / f_cpu + prof.latency_s
    return _Env(
        system=system,
        f_cpu=f_cpu,
        f_acc=f_acc,
        dram=prof,
        core_cap=cpu.outstanding_misses * line / mem_lat,
        l2_stall_s=system.l2.latency_cycles / f_cpu / cpu.outstanding_misses,
        dma_cap=system.dma.max_outstanding * system.dma.chunk_bytes / prof.latency_s,
        acp_cap=system.acp.max_outstanding * system.acp.line_bytes / (prof.latency_s + system.acp.latency_cycles / f_acc),
        line=line,
    )


def _cpu_copy(env: _Env, stats: CopyStats, threads: int, offset_s: float, phase: str, op_index: int, timeline: list):
    """Tile copies split over threads as SMAUG's thread pool does; returns (time [s], busy thread-s)."""
    n = len(stats.nbytes)
    if n == 0:
        return 0.0, 0.0
    cpu = env.system.cpu
    per = math.ceil(n / threads)
    used = math.ceil(n / per)
    work = (stats.runs * cpu.copy_call_cycles + stats.nbytes / cpu.copy_bytes_per_cycle) / env.f_cpu
    starts = np.arange(used + 1, dtype=np.int64)
    fixed = np.zeros(used)
    nbytes = np.zeros(used)
    min_s = np.zeros(used)
    for k in range(used):
        sl = slice(k * per, min(n, (k + 1) * per))
        fixed[k] = stats.l2_hits[sl].sum() * env.l2_stall_s
        nbytes[k] = stats.dram_bytes[sl].sum()
        min_s[k] = work[sl].sum()
    cap = np.full(used, env.core_cap)
    _, end = run_timelines(starts, fixed, nbytes, cap, min_s, env.dram.bandwidth_bytes_per_s)
    for k in range(used):
        timeline.append((f"thread{k}", phase, op_index, offset_s, offset_s + end[k]))
    return float(end.max()), float(end.sum())


def _accel_phase(env: _Env, op: Op, low: OpLowering, mem: OpMemory, offset_s: float, op_index: int, timeline: list):
    """The invocations of an op on the accelerators; returns (time [s], {detail phase: s}, info)."""
    system = env.system
    acc = system.accelerator
    nacc = system.num_accelerators
    sched, costs = _schedule_costs(op, acc, nacc)
    n = len(sched)
    modes = _modes(system)
    dma = system.dma
    line = env.line
    kind = np.zeros((n, _SLOTS), dtype=np.int64)
    fixed = np.zeros((n, _SLOTS))
    nbytes = np.zeros((n, _SLOTS))
    cap = np.full((n, _SLOTS), 1.0)
    min_s = np.zeros((n, _SLOTS))
    load_s = costs.load_cycles / env.f_acc
    loaded = {
        "input": (costs.load_bytes_input.astype(float), sched.input, sched.read_input),
        "weights": (costs.load_bytes_weights.astype(float), sched.weights, sched.read_weights),
    }
    for slot, role in ((0, "input"), (2, "weights")):
        bytes_, tiles, _ = loaded[role]
        if not bytes_.any():
            continue
        lines = np.ceil(bytes_ / line)
        # Per-tile facts of the memory pass (input1 rides with input: the same invocations load it).
        roles = [role] + (["input1"] if role == "input" and "input1" in low.loaded_roles else [])
        t = np.where(tiles >= 0, tiles, 0)
        mode = modes[role]
        if mode == "dma":
            dirty = sum(mem.transfer.flush_dirty_bytes[r][t] for r in roles if r in mem.transfer.flush_dirty_bytes)
            flush_ns = 0.0 if dma.ignore_cache_flush else dma.flush_ns_per_line
            kind[:, slot] = _FLUSH
            fixed[:, slot] = np.where(bytes_ > 0, lines * flush_ns * 1e-9, 0.0)
            nbytes[:, slot] = np.where(bytes_ > 0, dirty, 0.0)
            cap[:, slot] = env.dma_cap
            kind[:, slot + 1] = _DMA
            fixed[:, slot + 1] = np.where(bytes_ > 0, dma.setup_cycles / env.f_acc, 0.0)
            nbytes[:, slot + 1] = bytes_
            cap[:, slot + 1] = env.dma_cap
        else:
            hits = sum(mem.transfer.acp_hit_lines[r][t] for r in roles)
            misses = sum(mem.transfer.acp_miss_lines[r][t] for r in roles)
            total = np.maximum(hits + misses, 1.0)
            # scale the first-load facts to this load's size (reloads of resident data are not loads)
            h = np.where(bytes_ > 0, lines * hits / total, 0.0)
            m = np.where(bytes_ > 0, lines * misses / total, 0.0)
            kind[:, slot + 1] = _ACP
            fixed[:, slot + 1] = h * system.acp.latency_cycles / env.f_acc / system.acp.max_outstanding
            nbytes[:, slot + 1] = m * line
            cap[:, slot + 1] = env.acp_cap
    # unpacking overlaps the last load of the invocation when DMA is pipelined (and under ACP)
    has_w = costs.load_bytes_weights > 0
    has_i = costs.load_bytes_input > 0
    overlap = dma.pipelined or system.interface != "dma"
    last = np.where(has_w, 3, np.where(has_i, 1, -1))
    if overlap:
        rows = np.nonzero(last >= 0)[0]
        min_s[rows, last[rows]] = load_s[rows]
        extra_compute = np.where(last >= 0, 0.0, load_s)
    else:
        extra_compute = load_s
    kind[:, 4] = _COMPUTE
    fixed[:, 4] = (costs.compute_cycles + costs.store_cycles) / env.f_acc + extra_compute
    store = costs.store_bytes.astype(float)
    if modes["output"] == "dma":
        inv_ns = dma.invalidate_ns_per_line if (dma.invalidate_on_store and not dma.ignore_cache_flush) else 0.0
        kind[:, 5] = _FLUSH
        fixed[:, 5] = np.where(store > 0, np.ceil(store / line) * inv_ns * 1e-9, 0.0)
        kind[:, 6] = _DMA
        fixed[:, 6] = np.where(store > 0, dma.setup_cycles / env.f_acc, 0.0)
        nbytes[:, 6] = store
        cap[:, 6] = env.dma_cap
    else:
        kind[:, 6] = _ACP
        fixed[:, 6] = np.ceil(store / line) * system.acp.latency_cycles / env.f_acc / system.acp.max_outstanding
    # order segments by accelerator, keeping issue order within each
    order = np.argsort(sched.accel, kind="stable")
    counts = np.bincount(sched.accel, minlength=nacc) * _SLOTS
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    seg_kind = kind[order].ravel()
    begin, end = run_timelines(
        starts, fixed[order].ravel(), nbytes[order].ravel(), cap[order].ravel(), min_s[order].ravel(),
        env.dram.bandwidth_bytes_per_s,
    )
    finish = np.array([end[starts[a + 1] - 1] if starts[a + 1] > starts[a] else 0.0 for a in range(nacc)])
    crit = int(np.argmax(finish)) if n else 0
    detail = {p: 0.0 for p in _KIND_PHASE}
    if n:
        sl = slice(starts[crit], starts[crit + 1])
        dur = end[sl] - begin[sl]
        for k, p in enumerate(_KIND_PHASE):
            detail[p] = float(dur[seg_kind[sl] == k].sum())
        for a in range(nacc):
            a_sl = slice(starts[a], starts[a + 1])
            b, e, kk = begin[a_sl], end[a_sl], seg_kind[a_sl]
            nz = e > b
            for bi, ei, ki in zip(b[nz], e[nz], kk[nz]):
                timeline.append((f"accel{a}", _KIND_PHASE[ki], op_index, offset_s + bi, offset_s + ei))
    info = {
        # loads (DMA bursts, ACP misses) read DRAM; flush write-backs and DMA stores write it
        "dram_read": float(nbytes[:, 1].sum() + nbytes[:, 3].sum()),
        "dram_write": float(nbytes[:, 0].sum() + nbytes[:, 2].sum() + nbytes[:, 5].sum() + nbytes[:, 6].sum()),
        "macs": int(costs.macs.sum()),
        "energy": float(costs.energy_j.sum()),
        "invocations": n,
    }
    return float(finish.max()) if n else 0.0, detail, info


def _cpu_op_work_s(env: _Env, op: Op) -> float:
    """Compute time of an op that runs on the CPU [s] (memory time is added from the memory pass)."""
    cpu = env.system.cpu
    if isinstance(op, Convolution):  # depthwise (SMV has no kernel for it), or any conv off-accelerator
        return op.macs / cpu.macs_per_cycle / env.f_cpu
    out_elems = sum(t.size for t in op.outputs)
    if isinstance(op, Reshape):
        return (cpu.copy_call_cycles + op.output_bytes / cpu.copy_bytes_per_cycle) / env.f_cpu
    if isinstance(op, Reorder):
        return out_elems * cpu.gather_cycles_per_elem / env.f_cpu
    # concat, split, padding, repeat, element-wise and anything else: a copy per output element run
    return (len(op.outputs) * cpu.copy_call_cycles + op.output_bytes / cpu.copy_bytes_per_cycle) / env.f_cpu


# --------------------------------------------------------------------------------------------------
# simulate
# --------------------------------------------------------------------------------------------------


def simulate(graph: Graph, system: System | None = None, *, network: str | None = None) -> Result:
    """The end-to-end inference of ``graph`` on ``system`` (default: the paper's Table 2 baseline).

    Raises WorkloadError for a graph that is not a Graph, ConfigError for a system that is not a
    System, MappingError when an op cannot be tiled for the accelerator.
    """
    if not isinstance(graph, Graph):
        raise WorkloadError(f"graph = {describe(graph)}: must be a smaug_fast Graph (e.g. zoo.load('lenet5'))")
    if system is None:
        system = System()
    if not isinstance(system, System):
        raise ConfigError(f"system = {describe(system)}: must be a smaug_fast System (e.g. presets.load('smaug-table2'))")
    ops = tuple(graph.topological_order())
    memory = _memory(ops, system)
    env = _env(system)
    threads = system.cpu_threads
    overhead_s = system.cpu.op_overhead_cycles / env.f_cpu
    now = 0.0
    timeline: list = []
    rows: list[OpResult] = []
    totals = {p: 0.0 for p in DETAIL_PHASES}
    energy = {c: 0.0 for c in ENERGY_COMPONENTS}
    dram_rd = dram_wr = 0.0
    macs = 0
    cpu_busy = 0.0
    l1_acc = l2_acc = 0.0
    for index, (op, mem) in enumerate(zip(ops, memory)):
        detail = {p: 0.0 for p in DETAIL_PHASES}
        op_rd = op_wr = 0.0
        op_energy = 0.0
        invocations = 0
        tiling = ""
        start = now
        if system.accelerator.supports(op):
            low = lower(op, system.accelerator)
            tiling = " ".join(f"{t.role}={t.strategy}" for t in low.plan.tensors)
            t_prep, busy = _cpu_copy(env, mem.prep, threads, now, "cpu_prep", index, timeline)
            detail["cpu_prep"] = t_prep
            cpu_busy += busy
            now += t_prep
            t_acc, acc_detail, info = _accel_phase(env, op, low, mem, now, index, timeline)
            detail.update(acc_detail)
            now += t_acc
            t_fin, busy = _cpu_copy(env, mem.finalize, threads, now, "cpu_finalize", index, timeline)
            detail["cpu_finalize"] = t_fin
            cpu_busy += busy
            now += t_fin
            op_rd += mem.prep.dram_bytes.sum() + mem.finalize.dram_bytes.sum() + info["dram_read"]
            op_wr += info["dram_write"]
            spad = _spad_energy(op, system.accelerator, system.num_accelerators)
            energy["spad"] += spad
            energy["accel_dynamic"] += info["energy"] - spad
            op_energy += info["energy"]
            macs += info["macs"]
            invocations = info["invocations"]
            l1_acc += mem.prep.l1_accesses.sum() + mem.finalize.l1_accesses.sum()
            l2_acc += mem.prep.l2_accesses.sum() + mem.finalize.l2_accesses.sum() + mem.acp_lines
        else:
            c = mem.cpu_copy
            stall = float(c.l2_hits.sum()) * env.l2_stall_s
            work = _cpu_op_work_s(env, op)
            _, end = run_timelines(
                np.array([0, 1], dtype=np.int64), np.array([stall]), np.array([float(c.dram_bytes.sum())]),
                np.array([env.core_cap]), np.array([work]), env.dram.bandwidth_bytes_per_s,
            )
            t_cpu = float(end[0])
            detail["cpu_ops"] = t_cpu
            timeline.append(("thread0", "cpu_ops", index, now, now + t_cpu))
            cpu_busy += t_cpu
            now += t_cpu
            op_rd += float(c.dram_bytes.sum())
            l1_acc += c.l1_accesses.sum()
            l2_acc += c.l2_accesses.sum()
        detail["cpu_overhead"] = overhead_s
        timeline.append(("thread0", "cpu_overhead", index, now, now + overhead_s))
        cpu_busy += overhead_s
        now += overhead_s
        for p, v in detail.items():
            totals[p] += v
        breakdown = {p: 0.0 for p in PHASES}
        for p, v in detail.items():
            breakdown[DETAIL_PHASES[p]] += v
        dram_rd += op_rd
        dram_wr += op_wr
        rows.append(
            OpResult(
                name=op.name, kind=op.kind, device="accel" if tiling else "cpu", latency_s=now - start,
                breakdown_s=breakdown, detail_s=detail, energy_j=op_energy, macs=op.macs,
                invocations=invocations, dram_read_bytes=int(op_rd), dram_write_bytes=int(op_wr), tiling=tiling,
            )
        )
    latency = now
    en = system.energy
    energy["cache_dynamic"] = l1_acc * en.l1d_access_energy_j + l2_acc * en.l2_access_energy_j
    energy["cache_leakage"] = (en.l2_leakage_w + en.l1d_leakage_w * system.cpu.cores) * latency
    energy["dram"] = dram_rd * env.dram.read_j_per_byte + dram_wr * env.dram.write_j_per_byte + env.dram.background_w * latency
    energy["cpu"] = system.cpu.active_power_w * cpu_busy
    energy["accel_leakage"] = float(getattr(system.accelerator, "static_power_w", 0.0)) * system.num_accelerators * latency
    breakdown = {p: 0.0 for p in PHASES}
    for p, v in totals.items():
        breakdown[DETAIL_PHASES[p]] += v
    tl = Timeline(
        resource=np.array([t[0] for t in timeline]),
        phase=np.array([t[1] for t in timeline]),
        op=np.array([t[2] for t in timeline], dtype=np.int64),
        start_s=np.array([t[3] for t in timeline]),
        end_s=np.array([t[4] for t in timeline]),
    )
    return Result(
        network=network or graph.name,
        latency_s=latency,
        breakdown_s=breakdown,
        detail_s=totals,
        energy_j=float(sum(energy.values())),
        energy_breakdown_j=energy,
        dram_read_bytes=int(dram_rd),
        dram_write_bytes=int(dram_wr),
        macs=macs,
        ops=tuple(rows),
        timeline=tl,
        system=system,
    )


__all__ = ["DramProfile", "MappingError", "dram_profile", "simulate"]
