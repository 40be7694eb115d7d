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
   overlap the next request's flush (``kernels.network._dma_pipeline``). ACP (``acp``): the accelerator reads
   and writes lines through the LLC, hits at the ACP latency and misses (with the write-backs they
   cause) through DRAM, with the port's outstanding requests in flight. Every transfer of every
   accelerator shares the DRAM bandwidth (``kernels.timeline``); the accelerator that finishes last
   decides the time.
3. **CPU finalization** (``cpu_finalize``): untiling of the output tiles, split over threads
   (``TiledTensor::untile``), except the chunks of element-wise and unary ops, which SMAUG gathers
   on one thread (``flattenTiledTensor``; :attr:`.OpLowering.serial_finalize`).
4. **Framework overhead** (``cpu_overhead``): a fixed cost per operator. Operators the accelerator
   does not run (reorders, concat/split, reshapes, depthwise conv on SMV) execute on the CPU
   (``cpu_ops``).

Cache behaviour comes from the memory pass (:mod:`.memory_pass`, the real address streams through
the cache model); DRAM bandwidth, energy per byte and background power from the DRAM model on the
configured DRAM (:func:`dram_profile`). Requests smaller than a DRAM burst (the caches' lines on a
64-byte-burst interface) occupy a whole burst, in time and in energy. Energy: the accelerator's own
model (datapath, scratchpads), its leakage over its invocations, cache accesses and leakage
(``Energy``), DRAM commands and background power, the CPU while it runs the stack
(``Result.energy_detail_j``).

Per-op lowering, the memory pass and the arrays the timing needs (:class:`_Prepared`: per tile and
per invocation, everything that does not depend on clocks, bandwidths, threads or overheads) are
memoized, and the timing of the whole network is one kernel call (``kernels.network.run_network``),
so a sweep point over threads, DMA parameters or clocks costs milliseconds even for ResNet50;
:func:`clear_caches` forgets them.

The constants no source gives (the CPU's copy costs and per-op overhead) are fitted to the paper's
Fig. 1 by ``validation/calibrate.py``; ``validation/smaug_paper.py`` compares the rest.
"""

from __future__ import annotations

import dataclasses
import functools
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import ConfigError, MappingError, WorkloadError, describe
from ..hardware import System
from ..kernels import network as _kn
from ..kernels.network import run_network
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


_GRAPH_OPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _graph_ops(graph: Graph) -> tuple[Op, ...]:
    """The graph's ops in topological order (kept per graph while it has the same ops)."""
    hit = _GRAPH_OPS.get(graph)
    if hit is not None and hit[0] == len(graph):
        return hit[1]
    ops = tuple(graph.topological_order())
    _GRAPH_OPS[graph] = (len(graph), ops)
    return ops


#: The System fields (dotted paths) the memory pass depends on; sweeps keep the points that share
#: them together so that one worker computes each memory pass.
MEMORY_FIELDS = ("accelerator", "interface", "l1d", "l2", "dma.ignore_cache_flush", "dma.invalidate_on_store")


def _memory_key(ops: tuple[Op, ...], system: System) -> tuple:
    """What the memory pass depends on."""
    return (_OpsKey.of(ops), *(functools.reduce(getattr, f.split("."), system) for f in MEMORY_FIELDS))


class _OpsKey:
    """A network's ops as a dictionary key whose hash is computed once (hashing every op and tensor
    of ResNet50 again for each of a sweep's points costs milliseconds)."""

    __slots__ = ("ops", "_hash")
    _last: _OpsKey | None = None

    def __init__(self, ops: tuple[Op, ...]) -> None:
        self.ops = ops
        self._hash = hash(ops)

    @classmethod
    def of(cls, ops: tuple[Op, ...]) -> _OpsKey:
        last = cls._last
        if last is not None and (last.ops is ops or last.ops == ops):
            return last
        cls._last = key = cls(ops)
        return key

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other) -> bool:
        return isinstance(other, _OpsKey) and (self.ops is other.ops or self.ops == other.ops)


def _memory(ops: tuple[Op, ...], system: System) -> tuple[list[OpMemory], dict[str, dict[str, int]]]:
    """The memory pass of a network on a system, memoized on what it depends on: per op what it
    records, and the CPU caches' counters over the timed run (per level, after the weights were
    tiled, as SMAUG tiles them before it starts timing)."""
    key = _memory_key(ops, system)
    hit = _MEMORY_CACHE.get(key)
    if hit is not None:
        _MEMORY_CACHE.move_to_end(key)
        return hit
    mp = MemoryPass(system)
    modes = _modes(system)
    mp.warm([(op, lower(op, system.accelerator)) for op in ops if system.accelerator.supports(op)])
    before = {s.name: dataclasses.asdict(s) for s in mp.h.stats()}
    out = []
    for op in ops:
        if system.accelerator.supports(op):
            out.append(mp.accelerated(op, lower(op, system.accelerator), modes))
        else:
            out.append(mp.on_cpu(op))
    counters = {
        s.name: {k: v - before[s.name][k] for k, v in dataclasses.asdict(s).items() if k != "name"}
        for s in mp.h.stats()
    }
    _MEMORY_CACHE[key] = out, counters
    if len(_MEMORY_CACHE) > _MEMORY_CACHE_LIMIT:
        _MEMORY_CACHE.popitem(last=False)
    return out, counters


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
    _PREPARED.clear()
    dram_profile.cache_clear()
    if tiling:
        for fn in (_schedule_costs, lower, _mp.tile_boxes, _mp.tile_storage_bytes, _plan._tile_shapes):
            fn.cache_clear()
        _tiling_smv.clear_cache()
        _acc_base._COST_CACHE.clear()


@lru_cache(maxsize=16384)
def _schedule_costs(op: Op, accelerator, num_accelerators: int):
    low = lower(op, accelerator)
    sched = low.plan.schedule(num_accelerators)
    return sched, accelerator.schedule_costs(op, low.plan, sched)


# --------------------------------------------------------------------------------------------------
# The network prepared for the timing kernel
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class _Prepared:
    """A network on one accelerator, memory system and accelerator count, as arrays for
    :func:`~smaug_fast.kernels.network.run_network`: everything of the run that does not depend on
    clocks, bandwidths, thread counts or overheads (see that kernel for the layout)."""

    accel: np.ndarray  # bool[O]
    copy_ptr: np.ndarray  # int64[2 O + 1]
    copies: np.ndarray  # float64[C, COPY_N]
    acc_ptr: np.ndarray  # int64[O, nacc + 1]
    inv: np.ndarray  # float64[I, INV_N]
    out_dma: np.ndarray  # bool[O]
    serial_fin: np.ndarray  # bool[O], the output is untiled by one thread (OpLowering.serial_finalize)
    macs: np.ndarray  # MACs the accelerators execute, per op
    energy_j: np.ndarray  # the accelerator model's dynamic energy [J]
    spad_j: np.ndarray  # scratchpad share of energy_j [J]
    cycles: np.ndarray  # accelerator cycles of the op's invocations
    invocations: np.ndarray
    l1_accesses: np.ndarray  # L1D accesses of the CPU copies or the CPU op
    l2_accesses: np.ndarray  # LLC accesses (CPU copies and ACP)
    tiling: tuple[str, ...]
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    devices: tuple[str, ...]  # "accel" or "cpu"
    op_macs: tuple[int, ...]  # the op's own MACs (Op.macs)
    cache_stats: dict  # the CPU caches' counters over the run, per level


_PREPARED: OrderedDict = OrderedDict()


def _invocation_rows(op: Op, low: OpLowering, mem: OpMemory, system: System, modes: dict[str, str]):
    """(acc_ptr int64[nacc + 1], inv float64[n, INV_N], costs): an op's invocations grouped by
    accelerator, issue order kept within each (SMAUG dispatches tiles round-robin)."""
    nacc = system.num_accelerators
    sched, costs = _schedule_costs(op, system.accelerator, nacc)
    n = len(sched)
    line = system.l2.line_bytes
    inv = np.zeros((n, _kn.INV_N))
    load_in = costs.load_bytes_input.astype(float)
    load_w = costs.load_bytes_weights.astype(float)
    acp_hits = np.zeros(n)
    acp_dram = np.zeros(n)
    acp_wb = np.zeros(n)
    for role, bytes_, tiles in (("input", load_in, sched.input), ("weights", load_w, sched.weights)):
        if not bytes_.any():
            continue
        # per-tile facts of the memory pass (input1 rides with input: the same invocations load it)
        roles = [role] + (["input1"] if role == "input" and "input1" in low.loaded_roles else [])
        t = np.where(tiles >= 0, tiles, 0)
        on = bytes_ > 0
        if modes[role] == "dma":
            inv[:, _kn.I_DMA_BYTES] += bytes_
            inv[:, _kn.I_DIRTY] += np.where(on, sum(mem.transfer.flush_dirty_bytes[r][t] for r in roles), 0.0)
        else:
            hits = sum(mem.transfer.acp_hit_lines[r][t] for r in roles)
            misses = sum(mem.transfer.acp_miss_lines[r][t] for r in roles)
            moved = sum(mem.transfer.acp_dram_bytes[r][t] for r in roles)
            written = sum(mem.transfer.acp_dram_write_bytes[r][t] for r in roles)
            # scale the first-load facts to this load's size (reloads of resident data are not loads)
            scale = np.where(on, np.ceil(bytes_ / line) / np.maximum(hits + misses, 1.0), 0.0)
            acp_hits += hits * scale
            acp_dram += moved * scale
            acp_wb += written * scale
    inv[:, _kn.I_LOAD_CYCLES] = costs.load_cycles
    inv[:, _kn.I_BUSY_CYCLES] = costs.compute_cycles + costs.store_cycles
    inv[:, _kn.I_ACP_HITS] = acp_hits
    inv[:, _kn.I_ACP_DRAM] = acp_dram
    inv[:, _kn.I_ACP_DRAM_WB] = acp_wb
    inv[:, _kn.I_ACP_BYTES] = load_in + load_w - inv[:, _kn.I_DMA_BYTES]
    store = costs.store_bytes.astype(float)
    inv[:, _kn.I_STORE_BYTES] = store
    if modes["output"] != "dma":
        out_t = np.where(sched.output >= 0, sched.output, 0)
        inv[:, _kn.I_STORE_DRAM] = np.where(store > 0, mem.transfer.acp_store_dram_bytes[out_t], 0.0)
        inv[:, _kn.I_STORE_DRAM_WB] = np.where(store > 0, mem.transfer.acp_store_dram_write_bytes[out_t], 0.0)
    order = np.argsort(sched.accel, kind="stable")
    acc_ptr = np.concatenate([[0], np.cumsum(np.bincount(sched.accel, minlength=nacc))]).astype(np.int64)
    return acc_ptr, inv[order], costs


def _prepare(ops: tuple[Op, ...], system: System) -> _Prepared:
    """The network prepared for the timing kernel (memoized with the memory pass it comes from)."""
    key = (_memory_key(ops, system), system.num_accelerators)
    hit = _PREPARED.get(key)
    if hit is not None:
        _PREPARED.move_to_end(key)
        return hit
    memory, cache_stats = _memory(ops, system)
    modes = _modes(system)
    acc = system.accelerator
    nacc = system.num_accelerators
    n_ops = len(ops)
    accel = np.zeros(n_ops, dtype=bool)
    serial_fin = np.zeros(n_ops, dtype=bool)
    copy_parts: list[np.ndarray] = []
    copy_ptr = np.zeros(2 * n_ops + 1, dtype=np.int64)
    acc_ptr = np.zeros((n_ops, nacc + 1), dtype=np.int64)
    inv_parts: list[np.ndarray] = []
    n_inv = 0
    f = {name: np.zeros(n_ops) for name in ("macs", "energy_j", "spad_j", "cycles", "invocations",
                                            "l1_accesses", "l2_accesses")}
    tiling = []

    def add_copies(slot: int, stats: CopyStats) -> None:
        copy_parts.append(np.column_stack([stats.runs, stats.nbytes, stats.l2_hits, stats.dram_bytes,
                                           stats.dram_write_bytes]))
        copy_ptr[slot + 1] = copy_ptr[slot] + len(stats.nbytes)

    for o, (op, mem) in enumerate(zip(ops, memory)):
        if acc.supports(op):
            accel[o] = True
            low = lower(op, acc)
            serial_fin[o] = low.serial_finalize
            tiling.append(" ".join(f"{t.role}={t.strategy}" for t in low.plan.tensors))
            add_copies(2 * o, mem.prep)
            add_copies(2 * o + 1, mem.finalize)
            ptr, inv, costs = _invocation_rows(op, low, mem, system, modes)
            acc_ptr[o] = ptr + n_inv
            n_inv += len(inv)
            inv_parts.append(inv)
            f["macs"][o] = costs.macs.sum()
            f["energy_j"][o] = costs.energy_j.sum()
            f["spad_j"][o] = costs.spad_energy_j.sum()
            f["cycles"][o] = costs.cycles.sum()
            f["invocations"][o] = len(inv)
            f["l1_accesses"][o] = mem.prep.l1_accesses.sum() + mem.finalize.l1_accesses.sum()
            f["l2_accesses"][o] = mem.prep.l2_accesses.sum() + mem.finalize.l2_accesses.sum() + mem.acp_lines
        else:
            tiling.append("")
            c = mem.cpu_copy
            add_copies(2 * o, c)  # one row: the op's reads and writes
            copy_ptr[2 * o + 2] = copy_ptr[2 * o + 1]
            acc_ptr[o] = n_inv
            f["l1_accesses"][o] = c.l1_accesses.sum()
            f["l2_accesses"][o] = c.l2_accesses.sum()
    prepared = _Prepared(
        accel=accel,
        copy_ptr=copy_ptr,
        copies=np.concatenate(copy_parts) if copy_parts else np.zeros((0, _kn.COPY_N)),
        acc_ptr=acc_ptr,
        inv=np.concatenate(inv_parts) if inv_parts else np.zeros((0, _kn.INV_N)),
        out_dma=np.full(n_ops, modes["output"] == "dma"),
        serial_fin=serial_fin,
        tiling=tuple(tiling),
        names=tuple(op.name for op in ops),
        kinds=tuple(op.kind for op in ops),
        devices=tuple("accel" if a else "cpu" for a in accel),
        op_macs=tuple(op.macs for op in ops),
        cache_stats=cache_stats,
        **f,
    )
    _PREPARED[key] = prepared
    if len(_PREPARED) > _MEMORY_CACHE_LIMIT:
        _PREPARED.popitem(last=False)
    return prepared


def _params(system: System, dram: DramProfile) -> np.ndarray:
    """The system's timing parameters for :func:`~smaug_fast.kernels.network.run_network`."""
    cpu, acc, dma, acp = system.cpu, system.accelerator, system.dma, system.acp
    f_cpu = float(cpu.freq_hz)
    f_acc = float(acc.freq_hz)
    line = system.l2.line_bytes
    mem_lat = system.l2.latency_cycles / f_cpu + dram.latency_s
    flush_ns = 0.0 if dma.ignore_cache_flush else dma.flush_ns_per_line
    invalidate_ns = 0.0 if dma.ignore_cache_flush or not dma.invalidate_on_store else dma.invalidate_ns_per_line
    p = np.zeros(_kn.N_PARAMS)
    p[_kn.F_CPU] = f_cpu
    p[_kn.F_ACC] = f_acc
    p[_kn.COPY_CALL_CYCLES] = cpu.copy_call_cycles
    p[_kn.COPY_BYTES_PER_CYCLE] = cpu.copy_bytes_per_cycle
    # the unhidden time of one LLC hit after an L1 miss [s]
    p[_kn.L2_STALL_S] = system.l2.latency_cycles / f_cpu / cpu.outstanding_misses
    # one core's DRAM bandwidth under its outstanding misses [B/s]
    p[_kn.CORE_CAP] = cpu.outstanding_misses * line / mem_lat
    # DRAM occupancy per useful byte: a request smaller than a burst still takes a whole burst
    # (gem5's DRAMCtrl, and our DRAM model, move whole bursts), so line-sized requests on a
    # 64-byte-burst interface use half of its bandwidth and pay a whole burst's energy.
    p[_kn.LINE_K] = max(1.0, dram.burst_bytes / line)
    p[_kn.DMA_K] = max(1.0, dram.burst_bytes / dma.chunk_bytes)
    p[_kn.DMA_CAP] = dma.max_outstanding * dma.chunk_bytes / dram.latency_s
    p[_kn.ACP_CAP] = acp.max_outstanding * acp.line_bytes / (dram.latency_s + acp.latency_cycles / f_acc)
    p[_kn.DRAM_BW] = dram.bandwidth_bytes_per_s
    p[_kn.DMA_SETUP_CYCLES] = dma.setup_cycles
    p[_kn.FLUSH_NS] = flush_ns
    p[_kn.INVALIDATE_NS] = invalidate_ns
    p[_kn.PAGE_BYTES] = dma.page_bytes
    p[_kn.LINE_BYTES] = line
    p[_kn.ACP_LATENCY_CYCLES] = acp.latency_cycles
    p[_kn.ACP_OUTSTANDING] = acp.max_outstanding
    p[_kn.OVERHEAD_S] = cpu.op_overhead_cycles / f_cpu
    p[_kn.PIPELINED] = float(dma.pipelined)
    # unpacking overlaps the transfer under pipelined DMA and under ACP
    p[_kn.OVERLAP] = float(dma.pipelined or system.interface != "dma")
    return p


def _cpu_op_work_s(system: System, op: Op) -> float:
    """Compute time of an op that runs on the CPU [s] (memory time is added from the memory pass)."""
    cpu = system.cpu
    f_cpu = float(cpu.freq_hz)
    if isinstance(op, Convolution):  # depthwise (SMV has no kernel for it), or any conv off-accelerator
        return op.macs / cpu.macs_per_cycle / f_cpu
    out_elems = sum(t.size for t in op.outputs)
    if isinstance(op, Reshape):
        return (cpu.copy_call_cycles + op.output_bytes / cpu.copy_bytes_per_cycle) / f_cpu
    if isinstance(op, Reorder):
        return out_elems * cpu.gather_cycles_per_elem / f_cpu
    # concat, split, padding, repeat, element-wise and anything else: a copy per output element run
    return (len(op.outputs) * cpu.copy_call_cycles + op.output_bytes / cpu.copy_bytes_per_cycle) / f_cpu


# --------------------------------------------------------------------------------------------------
# simulate
# --------------------------------------------------------------------------------------------------


def simulate(graph: Graph, system: System | None = None, *, network: str | None = None,
             timeline: bool = True) -> Result:
    """The end-to-end inference of ``graph`` on ``system`` (default: the paper's Table 2 baseline).

    ``timeline=False`` leaves ``Result.timeline`` empty (sweeps need only the totals).

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
    ops = _graph_ops(graph)
    prep = _prepare(ops, system)
    dram = dram_profile(system.dram)
    cpu_work = np.zeros(len(ops))
    for o in np.flatnonzero(~prep.accel):
        cpu_work[o] = _cpu_op_work_s(system, ops[o])
    latency, detail, op_latency, traffic, accel_busy, cpu_busy, tl = run_network(
        prep.accel, prep.copy_ptr, prep.copies, prep.acc_ptr, system.num_accelerators, prep.inv, prep.out_dma,
        prep.serial_fin, cpu_work, system.cpu_threads, _params(system, dram), timeline,
    )
    # per op, each phase of PHASES as the sum of its finer phases, added in DETAIL_PHASES order
    coarse_of = np.zeros((len(ops), len(PHASES)))
    for i, p in enumerate(DETAIL_PHASES.values()):
        coarse_of[:, PHASES.index(p)] += detail[:, i]
    rows = tuple(
        OpResult(
            name=name, kind=kind, device=device, latency_s=lat, breakdown_s=dict(zip(PHASES, coarse)),
            detail_s=dict(zip(DETAIL_PHASES, fine)), energy_j=e, macs=m, invocations=n, dram_read_bytes=rd,
            dram_write_bytes=wr, tiling=t,
        )
        for name, kind, device, lat, coarse, fine, e, m, n, rd, wr, t in zip(
            prep.names, prep.kinds, prep.devices, op_latency.tolist(), coarse_of.tolist(), detail.tolist(),
            prep.energy_j.tolist(), prep.op_macs, prep.invocations.astype(np.int64).tolist(),
            traffic[:, _kn.T_READ].astype(np.int64).tolist(), traffic[:, _kn.T_WRITE].astype(np.int64).tolist(),
            prep.tiling,
        )
    )
    totals = dict(zip(DETAIL_PHASES, detail.sum(axis=0).tolist()))
    en = system.energy
    acc = system.accelerator
    energy = {c: 0.0 for c in ENERGY_DETAIL}
    energy["spad_dynamic"] = float(prep.spad_j.sum())
    energy["accel_fu_dynamic"] = float((prep.energy_j - prep.spad_j).sum())
    energy["l1_dynamic"] = float(prep.l1_accesses.sum()) * en.l1d_access_energy_j
    energy["llc_dynamic"] = float(prep.l2_accesses.sum()) * en.l2_access_energy_j
    energy["l1_leakage"] = en.l1d_leakage_w * system.cpu.cores * latency
    energy["llc_leakage"] = en.l2_leakage_w * latency
    occ = traffic.sum(axis=0)
    energy["dram_dynamic"] = occ[_kn.T_READ_OCC] * dram.read_j_per_byte + occ[_kn.T_WRITE_OCC] * dram.write_j_per_byte
    energy["dram_background"] = dram.background_w * latency
    energy["cpu"] = system.cpu.active_power_w * cpu_busy
    # gem5-Aladdin charges an accelerator's leakage over its invocations (cycles x leakage power)
    energy["accel_leakage"] = float(acc.static_power_w) * accel_busy
    coarse = {c: 0.0 for c in ENERGY_COMPONENTS}
    for c, v in energy.items():
        coarse[ENERGY_DETAIL[c]] += v
    breakdown = {p: 0.0 for p in PHASES}
    for p, v in totals.items():
        breakdown[DETAIL_PHASES[p]] += v
    return Result(
        network=network or graph.name,
        latency_s=latency,
        breakdown_s=breakdown,
        detail_s=totals,
        energy_j=float(sum(coarse.values())),
        energy_breakdown_j=coarse,
        energy_detail_j=energy,
        dram_read_bytes=int(occ[_kn.T_READ]),
        dram_write_bytes=int(occ[_kn.T_WRITE]),
        macs=int(prep.macs.sum()),
        ops=rows,
        timeline=_timeline(tl),
        cache_stats={level: dict(c) for level, c in prep.cache_stats.items()},
        system=system,
    )


def _timeline(tl) -> Timeline:
    """The kernel's timeline (resource and phase codes) with resource and phase names."""
    res, phase, op, start, end = tl
    codes = np.unique(res)
    names = np.array([f"accel{c}" if c < _kn.THREAD0 else f"thread{c - _kn.THREAD0}" for c in codes] or [""])
    return Timeline(
        resource=names[np.searchsorted(codes, res)], phase=np.array(_kn.PHASE_NAMES)[phase],
        op=op, start_s=start, end_s=end,
    )


__all__ = ["MEMORY_FIELDS", "DramProfile", "MappingError", "clear_caches", "dram_profile", "simulate"]
