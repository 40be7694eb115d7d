"""``simulate(graph, system) -> Result``: SMAUG's end-to-end inference on an SoC, in SMAUG's order.

Per operator (topological order, one at a time, as SMAUG's scheduler runs them):

1. **CPU data preparation** (``cpu_prep``): the tiling copies of the activation inputs, split over
   ``cpu_threads`` threads as SMAUG's ``parallelCopyTileData`` does (ceil(tiles / threads) each).
   A thread's time is its copy loop (``CPU.copy_call_cycles`` per contiguous run, the bytes at
   ``copy_bytes_per_cycle``) plus the LLC hits its L1 misses wait for plus its DRAM traffic at the
   bandwidth its outstanding misses sustain; all threads share the DRAM bandwidth.
2. **Accelerator invocations**, round-robin over ``num_accelerators`` (the tiling plan's schedule):
   per invocation the loads of the tiles that are not resident, the compute, and the store of a
   completed output tile. DMA (``dma``): SMAUG moves tiles in 4 KiB requests and gem5-Aladdin
   delays each by ``lines x 12 ns`` for the flush of the CPU caches (or the invalidation before a
   store), one request after the other; with pipelined DMA each request's transfer and unpacking
   overlap the next request's flush (:func:`_dma_pipeline`). ACP (``acp``): the accelerator reads
   and writes lines through the LLC, hits at the ACP latency and misses (with the write-backs they
   cause) through DRAM, with the port's outstanding requests in flight. Every transfer of every
   accelerator shares the DRAM bandwidth (``kernels.timeline``); the accelerator that finishes last
   decides the time.
3. **CPU finalization** (``cpu_finalize``): untiling of the output tiles, split over threads.
4. **Framework overhead** (``cpu_overhead``): a fixed cost per operator. Operators the accelerator
   does not run (reorders, concat/split, reshapes, depthwise conv on SMV) execute on the CPU
   (``cpu_ops``).

Cache behaviour comes from the memory pass (:mod:`.memory_pass`, the real address streams through
the cache model); DRAM bandwidth, energy per byte and background power from the DRAM model on the
configured DRAM (:func:`dram_profile`). Requests smaller than a DRAM burst (the caches' lines on a
64-byte-burst interface) occupy a whole burst, in time and in energy. Energy: the accelerator's own
model (datapath, scratchpads), its leakage over its invocations, cache accesses and leakage
(``Energy``), DRAM commands and background power, the CPU while it runs the stack
(``Result.energy_detail_j``). Per-op lowering and the memory pass are memoized, so sweeps over
threads, accelerators, DMA parameters or clocks reuse them; :func:`clear_caches` forgets them.

The constants no source gives (the CPU's copy costs and per-op overhead) are fitted to the paper's
Fig. 1 by ``validation/calibrate.py``; ``validation/smaug_paper.py`` compares the rest.
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
from .result import DETAIL_PHASES, ENERGY_COMPONENTS, ENERGY_DETAIL, PHASES, OpResult, Result, Timeline

# Segment kinds of the accelerator timelines (index into _KIND_PHASE).
_COMPUTE, _FLUSH, _DMA, _ACP = 0, 1, 2, 3
_KIND_PHASE = ("accel_compute", "flush", "dma_transfer", "acp_transfer")
# Slots of one invocation: DMA loads, ACP loads, compute, store.
_SLOTS = 4


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
        burst_bytes: bytes of one burst; a smaller request still occupies a whole burst [B].
    """

    bandwidth_bytes_per_s: float
    read_j_per_byte: float
    write_j_per_byte: float
    background_w: float
    latency_s: float
    burst_bytes: int = 32


@lru_cache(maxsize=64)
def dram_profile(config) -> DramProfile:
    """Run the DRAM model on 256 KiB sequential read and write streams of ``config`` (memoized; longer
    streams change the figures by a few percent at most)."""
    dram = DRAM(config)
    n = 1 << 18
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
        burst_bytes=int(burst),
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
    mp.warm([(op, lower(op, system.accelerator)) for op in ops if system.accelerator.supports(op)])
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


def clear_caches(tiling: bool = True) -> None:
    """Forget memoized results (compiled kernels stay), for benchmarks that time a simulation afresh.

    Always the memory passes and the DRAM profiles; with ``tiling`` (default) also the lowerings,
    tiling plans, schedules and invocation costs, which depend on the ops and the accelerator only.
    """
    from ..accelerators import base as _acc_base
    from ..tiling import plan as _plan
    from ..tiling import smv as _tiling_smv
    from . import memory_pass as _mp

    _MEMORY_CACHE.clear()
    dram_profile.cache_clear()
    if tiling:
        for fn in (_schedule_costs, _spad_energy, lower, _mp.tile_boxes, _mp.tile_storage_bytes, _plan._tile_shapes):
            fn.cache_clear()
        _tiling_smv.clear_cache()
        _acc_base._COST_CACHE.clear()


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

_PHASE_CODE = {p: i for i, p in enumerate(DETAIL_PHASES)}
_THREAD0 = 64  # resource codes: accelerator k is k, CPU thread k is _THREAD0 + k


class _Intervals:
    """The timeline as it is built: chunks of (resource code, phase code, op, start, end) arrays."""

    def __init__(self) -> None:
        self.chunks: list[tuple[np.ndarray, ...]] = []

    def add(self, resource, phase, op: int, start, end) -> None:
        start = np.atleast_1d(np.asarray(start, dtype=float))
        n = len(start)
        self.chunks.append((
            np.broadcast_to(np.asarray(resource, dtype=np.int64), (n,)),
            np.broadcast_to(np.asarray(phase, dtype=np.int64), (n,)),
            np.full(n, op, dtype=np.int64),
            start,
            np.broadcast_to(np.asarray(end, dtype=float), (n,)),
        ))

    def build(self) -> Timeline:
        if not self.chunks:
            e = np.zeros(0)
            return Timeline(np.zeros(0, dtype="<U8"), np.zeros(0, dtype="<U12"), np.zeros(0, np.int64), e, e)
        res, ph, op, start, end = (np.concatenate(c) for c in zip(*self.chunks))
        codes = np.unique(res)
        names = np.array([f"accel{c}" if c < _THREAD0 else f"thread{c - _THREAD0}" for c in codes])
        phases = np.array(list(DETAIL_PHASES))
        return Timeline(
            resource=names[np.searchsorted(codes, res)], phase=phases[ph], op=op, start_s=start, end_s=end
        )


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
    # DRAM occupancy per useful byte: a request smaller than a burst still takes a whole burst
    # (gem5's DRAMCtrl, and our DRAM model, move whole bursts), so line-sized requests on a
    # 64-byte-burst interface use half of its bandwidth and pay a whole burst's energy.
    line_k: float
    dma_k: float


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
        acp_cap=system.acp.max_outstanding * system.acp.line_bytes
        / (prof.latency_s + system.acp.latency_cycles / f_acc),
        line=line,
        line_k=max(1.0, prof.burst_bytes / line),
        dma_k=max(1.0, prof.burst_bytes / system.dma.chunk_bytes),
    )


def _cpu_copy(env: _Env, stats: CopyStats, threads: int, offset_s: float, phase: str, op_index: int,
              timeline: _Intervals):
    """Tile copies split over threads as SMAUG's thread pool does; returns (time [s], busy thread-s).

    Each thread gets ceil(tiles / threads) consecutive tiles (``parallelCopyTileData``). A thread's
    time is its copy loop (a fixed cost per contiguous run and a throughput per byte, ``CPU``), plus
    the LLC hits its L1 misses wait for, plus its DRAM traffic at the bandwidth its outstanding
    misses sustain: a miss holds up the in-order retirement of the copy loop, so memory time adds to
    the loop's time instead of hiding under it. All threads share the DRAM bandwidth.
    """
    n = len(stats.nbytes)
    if n == 0:
        return 0.0, 0.0
    cpu = env.system.cpu
    per = math.ceil(n / threads)
    used = math.ceil(n / per)
    work = (stats.runs * cpu.copy_call_cycles + stats.nbytes / cpu.copy_bytes_per_cycle) / env.f_cpu
    cuts = np.arange(0, n, per)
    fixed = np.add.reduceat(work + stats.l2_hits * env.l2_stall_s, cuts)
    nbytes = np.add.reduceat(stats.dram_bytes, cuts) * env.line_k
    starts = np.arange(used + 1, dtype=np.int64)
    cap = np.full(used, env.core_cap * env.line_k)
    _, end = run_timelines(starts, fixed, nbytes, cap, np.zeros(used), env.dram.bandwidth_bytes_per_s)
    timeline.add(_THREAD0 + np.arange(used), _PHASE_CODE[phase], op_index, np.full(used, offset_s), offset_s + end)
    return float(end.max()), float(end.sum())


def _dma_pipeline(env: _Env, nbytes: np.ndarray, unpack_s: np.ndarray, invalidate: bool):
    """gem5-Aladdin's DMA of ``nbytes`` per invocation as (fixed [s], min transfer [s], flush [s]).

    SMAUG's ``host_load_fp16`` / ``host_store_fp16`` move a tile in page-sized DMA requests
    (``LOG_PAGE_SIZE`` 12). gem5-Aladdin delays each request by ``lines x cacheline_flush_latency``
    (the CPU-cache flush before a load, or the invalidation before a store; ``HybridDatapath.cpp``
    charges both with the flush latency), one request after the other (a single ``delayedDmaEvent``
    per accelerator). With ``pipelined_dma`` a page's transfer starts as soon as its own flush ends,
    so the flushes of later pages overlap the transfer and the unpacking of earlier ones, and the
    last page's transfer and unpacking follow the last flush; without it, every transfer waits for
    every flush. Returns, per invocation, the part before the first byte can move (the first page's
    flush, or all of them), the shortest duration of the transfer part and the total flush time.
    The transfer part also lasts at least as long as the bytes take through DRAM (run_timelines).
    """
    dma = env.system.dma
    line = env.line
    ns = dma.invalidate_ns_per_line if invalidate else dma.flush_ns_per_line
    if dma.ignore_cache_flush or (invalidate and not dma.invalidate_on_store):
        ns = 0.0
    on = nbytes > 0
    lines = np.ceil(nbytes / line)
    flush_s = lines * ns * 1e-9
    if not dma.pipelined:
        return np.where(on, flush_s, 0.0), unpack_s, flush_s
    page = float(dma.page_bytes)
    first = np.minimum(lines, max(1.0, page / line)) * ns * 1e-9
    last_bytes = nbytes - (np.ceil(nbytes / page) - 1) * page
    last_unpack = unpack_s * np.divide(last_bytes, nbytes, out=np.zeros_like(nbytes), where=on)
    tail = last_bytes / env.dma_cap + last_unpack
    rest = np.maximum(flush_s - first, unpack_s - last_unpack) + tail
    return np.where(on, first, 0.0), np.where(on, rest, 0.0), flush_s


def _accel_phase(env: _Env, op: Op, low: OpLowering, mem: OpMemory, offset_s: float, op_index: int,
                 timeline: _Intervals):
    """The invocations of an op on the accelerators; returns (time [s], {detail phase: s}, info).

    Each invocation is four segments on its accelerator: the DMA loads (flush pipeline, see
    :func:`_dma_pipeline`), the ACP loads (LLC hits at the ACP latency, misses from DRAM, with the
    port's outstanding requests in flight), the compute (with the activation and packing of a
    finished output tile), and the store of that tile (DMA with invalidation, or ACP writes). The
    unpacking of loaded tiles into the scratchpads overlaps their transfer. Every transfer of every
    accelerator shares the DRAM bandwidth (``kernels.timeline``).
    """
    system = env.system
    acc = system.accelerator
    nacc = system.num_accelerators
    sched, costs = _schedule_costs(op, acc, nacc)
    n = len(sched)
    modes = _modes(system)
    line = env.line
    f_acc = env.f_acc
    kind = np.zeros((n, _SLOTS), dtype=np.int64)
    fixed = np.zeros((n, _SLOTS))
    nbytes = np.zeros((n, _SLOTS))
    cap = np.full((n, _SLOTS), 1.0)
    min_s = np.zeros((n, _SLOTS))
    flush_total = np.zeros((n, _SLOTS))  # flush share of each segment [s]
    load_s = costs.load_cycles / f_acc
    load_in = costs.load_bytes_input.astype(float)
    load_w = costs.load_bytes_weights.astype(float)
    total_load = load_in + load_w
    share = lambda part: np.divide(part, total_load, out=np.zeros(n), where=total_load > 0)  # noqa: E731
    dma_bytes = np.zeros(n)
    acp_hits = np.zeros(n)
    acp_miss = np.zeros(n)
    acp_dram = np.zeros(n)
    dirty = np.zeros(n)
    for role, bytes_, tiles in (("input", load_in, sched.input), ("weights", load_w, sched.weights)):
        if not bytes_.any():
            continue
        # Per-tile facts of the memory pass (input1 rides with input: the same invocations load it).
        roles = [role] + (["input1"] if role == "input" and "input1" in low.loaded_roles else [])
        t = np.where(tiles >= 0, tiles, 0)
        on = bytes_ > 0
        if modes[role] == "dma":
            dma_bytes += bytes_
            dirty += np.where(on, sum(mem.transfer.flush_dirty_bytes[r][t] for r in roles), 0.0)
        else:
            hits = sum(mem.transfer.acp_hit_lines[r][t] for r in roles)
            misses = sum(mem.transfer.acp_miss_lines[r][t] for r in roles)
            moved = sum(mem.transfer.acp_dram_bytes[r][t] for r in roles)
            total = np.maximum(hits + misses, 1.0)
            # scale the first-load facts to this load's size (reloads of resident data are not loads)
            scale = np.where(on, np.ceil(bytes_ / line) / total, 0.0)
            acp_hits += hits * scale
            acp_miss += misses * scale
            acp_dram += moved * scale
    acp_bytes = total_load - dma_bytes
    overlap = system.dma.pipelined or system.interface != "dma"
    unpack_dma = load_s * share(dma_bytes) if overlap else np.zeros(n)
    unpack_acp = load_s * share(acp_bytes)
    first, rest, flush_s = _dma_pipeline(env, dma_bytes, unpack_dma, invalidate=False)
    has_dma = dma_bytes > 0
    kind[:, 0] = _DMA
    fixed[:, 0] = np.where(has_dma, first + system.dma.setup_cycles / f_acc, 0.0)
    # the flush write-backs and the DMA reads both go through DRAM
    nbytes[:, 0] = np.where(has_dma, dma_bytes * env.dma_k + dirty * env.line_k, 0.0)
    cap[:, 0] = env.dma_cap * env.dma_k
    min_s[:, 0] = np.where(has_dma, rest, 0.0)
    flush_total[:, 0] = np.where(has_dma, flush_s, 0.0)
    acp = system.acp
    kind[:, 1] = _ACP
    fixed[:, 1] = acp_hits * acp.latency_cycles / f_acc / acp.max_outstanding
    nbytes[:, 1] = acp_dram * env.line_k
    cap[:, 1] = env.acp_cap * env.line_k
    min_s[:, 1] = np.where(acp_bytes > 0, unpack_acp, 0.0)
    # unpacking that overlaps no transfer (non-pipelined DMA, or resident tiles) is compute
    extra = load_s - np.where(has_dma, unpack_dma, 0.0) - np.where(acp_bytes > 0, unpack_acp, 0.0)
    kind[:, 2] = _COMPUTE
    fixed[:, 2] = (costs.compute_cycles + costs.store_cycles) / f_acc + np.maximum(extra, 0.0)
    store = costs.store_bytes.astype(float)
    store_dram = np.zeros(n)
    if modes["output"] == "dma":
        s_first, s_rest, s_flush = _dma_pipeline(env, store, np.zeros(n), invalidate=True)
        kind[:, 3] = _DMA
        fixed[:, 3] = np.where(store > 0, s_first + system.dma.setup_cycles / f_acc, 0.0)
        nbytes[:, 3] = store * env.dma_k
        cap[:, 3] = env.dma_cap * env.dma_k
        min_s[:, 3] = np.where(store > 0, s_rest, 0.0)
        flush_total[:, 3] = np.where(store > 0, s_flush, 0.0)
    else:
        # ACP writes: each line written into the LLC (allocating it: a miss reads it from DRAM and
        # may evict a dirty line), with the port's outstanding requests in flight
        out_t = np.where(sched.output >= 0, sched.output, 0)
        store_dram = np.where(store > 0, mem.transfer.acp_store_dram_bytes[out_t], 0.0)
        kind[:, 3] = _ACP
        fixed[:, 3] = np.ceil(store / line) * acp.latency_cycles / f_acc / acp.max_outstanding
        nbytes[:, 3] = store_dram * env.line_k
        cap[:, 3] = env.acp_cap * env.line_k
    # order segments by accelerator, keeping issue order within each
    order = np.argsort(sched.accel, kind="stable")
    counts = np.bincount(sched.accel, minlength=nacc) * _SLOTS
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    seg_kind = kind[order].ravel()
    seg_flush = flush_total[order].ravel()
    begin, end = run_timelines(
        starts, fixed[order].ravel(), nbytes[order].ravel(), cap[order].ravel(), min_s[order].ravel(),
        env.dram.bandwidth_bytes_per_s,
    )
    dur = end - begin
    # the flush part of a DMA segment is its flushes, as far as they reach; the rest is transfer
    flush_part = np.minimum(dur, seg_flush)
    ends = starts[1:] - 1
    finish = np.where(starts[1:] > starts[:-1], end[np.maximum(ends, 0)], 0.0)
    crit = int(np.argmax(finish)) if n else 0
    detail = {p: 0.0 for p in _KIND_PHASE}
    if n:
        sl = slice(starts[crit], starts[crit + 1])
        for k, p in enumerate(_KIND_PHASE):
            detail[p] = float(dur[sl][seg_kind[sl] == k].sum())
        moved = float(flush_part[sl].sum())
        detail["flush"] += moved
        detail["dma_transfer"] -= moved
        res = np.repeat(np.arange(nacc), np.diff(starts))
        fl = flush_part > 0
        f_begin = offset_s + begin[fl]
        timeline.add(res[fl], _PHASE_CODE["flush"], op_index, f_begin, f_begin + flush_part[fl])
        rest = dur - flush_part > 0
        kind_code = np.array([_PHASE_CODE[p] for p in _KIND_PHASE])[seg_kind[rest]]
        timeline.add(res[rest], kind_code, op_index, offset_s + begin[rest] + flush_part[rest], offset_s + end[rest])
    info = {
        # loads (DMA bursts, ACP misses) read DRAM; flush write-backs and DMA stores write it
        # DMA loads and ACP traffic (reads, and the write-backs of lines it evicts) count as reads;
        # flush write-backs and DMA stores as writes
        "dram_read": float(dma_bytes.sum() + acp_dram.sum() + (0.0 if modes["output"] == "dma" else store_dram.sum())),
        "dram_write": float(dirty.sum() + (store.sum() if modes["output"] == "dma" else 0.0)),
        # the same in DRAM occupancy (whole bursts), what the DRAM's time and energy per byte apply to
        "dram_read_occ": float(dma_bytes.sum() * env.dma_k + (acp_dram.sum() + store_dram.sum()) * env.line_k),
        "dram_write_occ": float(
            dirty.sum() * env.line_k + (store.sum() * env.dma_k if modes["output"] == "dma" else 0.0)
        ),
        "macs": int(costs.macs.sum()),
        "energy": float(costs.energy_j.sum()),
        "invocations": n,
        "busy_s": float(dur.sum()),  # accelerator-seconds inside invocations
        "own_leakage": float(getattr(acc, "static_power_w", 0.0)) * float(costs.cycles.sum()) / f_acc,
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
        raise ConfigError(
            f"system = {describe(system)}: must be a smaug_fast System (e.g. presets.load('smaug-table2'))"
        )
    ops = tuple(graph.topological_order())
    memory = _memory(ops, system)
    env = _env(system)
    threads = system.cpu_threads
    overhead_s = system.cpu.op_overhead_cycles / env.f_cpu
    now = 0.0
    timeline = _Intervals()
    rows: list[OpResult] = []
    totals = {p: 0.0 for p in DETAIL_PHASES}
    energy = {c: 0.0 for c in ENERGY_DETAIL}
    accel_busy = 0.0
    dram_rd = dram_wr = 0.0
    occ_rd = occ_wr = 0.0
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
            cpu_dram = float(mem.prep.dram_bytes.sum() + mem.finalize.dram_bytes.sum())
            op_rd += cpu_dram + info["dram_read"]
            op_wr += info["dram_write"]
            occ_rd += cpu_dram * env.line_k + info["dram_read_occ"]
            occ_wr += info["dram_write_occ"]
            spad = _spad_energy(op, system.accelerator, system.num_accelerators)
            energy["spad_dynamic"] += spad
            # the accelerator's energy includes its leakage over its own cycles: charged below over
            # the whole invocations instead (transfers included), as gem5-Aladdin does
            energy["accel_fu_dynamic"] += info["energy"] - spad - info["own_leakage"]
            accel_busy += info["busy_s"]
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
                np.array([0, 1], dtype=np.int64), np.array([stall + work]),
                np.array([float(c.dram_bytes.sum()) * env.line_k]), np.array([env.core_cap * env.line_k]),
                np.zeros(1), env.dram.bandwidth_bytes_per_s,
            )
            t_cpu = float(end[0])
            detail["cpu_ops"] = t_cpu
            timeline.add(_THREAD0, _PHASE_CODE["cpu_ops"], index, now, now + t_cpu)
            cpu_busy += t_cpu
            now += t_cpu
            op_rd += float(c.dram_bytes.sum())
            occ_rd += float(c.dram_bytes.sum()) * env.line_k
            l1_acc += c.l1_accesses.sum()
            l2_acc += c.l2_accesses.sum()
        detail["cpu_overhead"] = overhead_s
        timeline.add(_THREAD0, _PHASE_CODE["cpu_overhead"], index, now, now + overhead_s)
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
    energy["l1_dynamic"] = l1_acc * en.l1d_access_energy_j
    energy["llc_dynamic"] = l2_acc * en.l2_access_energy_j
    energy["l1_leakage"] = en.l1d_leakage_w * system.cpu.cores * latency
    energy["llc_leakage"] = en.l2_leakage_w * latency
    energy["dram_dynamic"] = occ_rd * env.dram.read_j_per_byte + occ_wr * env.dram.write_j_per_byte
    energy["dram_background"] = env.dram.background_w * latency
    energy["cpu"] = system.cpu.active_power_w * cpu_busy
    # gem5-Aladdin charges an accelerator's leakage over its invocations (cycles x leakage power)
    energy["accel_leakage"] = float(getattr(system.accelerator, "static_power_w", 0.0)) * accel_busy
    coarse = {c: 0.0 for c in ENERGY_COMPONENTS}
    for c, v in energy.items():
        coarse[ENERGY_DETAIL[c]] += v
    breakdown = {p: 0.0 for p in PHASES}
    for p, v in totals.items():
        breakdown[DETAIL_PHASES[p]] += v
    tl = timeline.build()
    return Result(
        network=network or graph.name,
        latency_s=latency,
        breakdown_s=breakdown,
        detail_s=totals,
        energy_j=float(sum(coarse.values())),
        energy_breakdown_j=coarse,
        energy_detail_j=energy,
        dram_read_bytes=int(dram_rd),
        dram_write_bytes=int(dram_wr),
        macs=macs,
        ops=tuple(rows),
        timeline=tl,
        system=system,
    )


__all__ = ["DramProfile", "MappingError", "clear_caches", "dram_profile", "simulate"]
