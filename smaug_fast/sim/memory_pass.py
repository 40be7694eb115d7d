"""The memory pass: every CPU copy, flush, DMA and ACP transfer of a network through the cache model.

SMAUG's runtime (``core/scheduler.cpp``, ``core/tensor.cpp``, ``smv_*_op.cpp``) first tiles every
operator, in the order of their names (``Network::getOperators`` is a ``std::map``), copying the
weights into their tile buffers before timing starts; then it runs the ops one at a time in
topological order. For each op accelerated on SMV it

1. copies the activation inputs into tile buffers when they have more than one tile (a tensor of one
   tile is used in place);
2. for every invocation, sends the input and weight tiles it must (re)load and receives the output
   tile when it is complete: by DMA (gem5-Aladdin's DMA model: a flush of the source lines, which it
   charges as a delay only, so the caches keep them and nothing is written back, unless
   ``dma.flush_writes_back``; the destination lines invalidated) or through the ACP port (coherent
   accesses to the last-level cache);
3. copies the output tiles back into the output tensor (untiling) when there are several.

Ops the accelerator does not run execute on the CPU, reading their inputs and writing their
outputs. This pass replays that sequence on one persistent :class:`~smaug_fast.memory.CacheHierarchy`
(the L1D of the thread doing the copies and the shared LLC), so that every op sees the cache state the
previous ones left, and records per op what the timing model needs: per tile of the CPU copies the
L1D misses that hit the LLC and the bytes moved to and from DRAM; per loaded tile the ACP hits and
misses and the DRAM traffic they cause; and the write-backs of the DMA flushes (when they write
back). The last weight
tiles written before timing starts are in the caches when it does (the pass replays the tail of the
pre-tiling copies, twice the LLC's size). Nothing here depends on the number of threads or
accelerators, so sweeps over those reuse the pass (it is memoized on the graph, the accelerator and
the memory system).

Simplifications (documented, deliberate): all CPU threads' copies go through one L1D (each thread's
copies stream, with little reuse, so private L1s change little); reloads of the same tile by
another accelerator see the cache state of its first load; tile buffers are dense (the alignment
padding of the innermost dimension is not copied).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass, field, fields

import numpy as np

from ..choices import Interface, Role, TransferMode, transfer_modes
from ..kernels import cache as _kc
from ..kernels.copies import copy_tiles
from ..memo import memoized
from ..memory import CacheConfig, CacheHierarchy
from ..tiling.plan import TensorTiling
from ..workload.core import Op
from .lowering import NetworkPlan, OpLowering

_ALIGN = 4096
# counter columns (kernels/cache.py): per level, and the memory row
_LH, _LM, _SH, _SM = _kc.N_LOAD_HITS, _kc.N_LOAD_MISSES, _kc.N_STORE_HITS, _kc.N_STORE_MISSES
_RB, _WB = _kc.M_READ_BYTES, _kc.M_WRITE_BYTES


@dataclass(frozen=True)
class MemorySystem:
    """Exactly what the memory pass reads of a System, built by :meth:`of`; the pass takes this value,
    never the System, so no other field can influence it, and it is the pass's cache key (with the
    network's plan) and the sweeps' grouping key.

    Attributes:
        l1d: the L1 data cache of the thread that copies.
        l2: the last-level cache.
        interface: how accelerators reach memory.
        ignore_cache_flush: DMA loads skip flushing their source lines (``dma.ignore_cache_flush``).
        invalidate_on_store: DMA stores invalidate their destination lines (``dma.invalidate_on_store``).
        flush_writes_back: a DMA load's flush writes dirty source lines back and cleans them
            (``dma.flush_writes_back``); otherwise it is a delay of the timing model only.
    """

    l1d: CacheConfig
    l2: CacheConfig
    interface: Interface
    ignore_cache_flush: bool
    invalidate_on_store: bool
    flush_writes_back: bool = False

    @classmethod
    def of(cls, system) -> MemorySystem:
        return cls(system.l1d, system.l2, system.interface, system.dma.ignore_cache_flush,
                   system.dma.invalidate_on_store, system.dma.flush_writes_back)

    @functools.cached_property
    def modes(self) -> dict[Role, TransferMode]:
        """Per role, how its tiles move (:func:`~smaug_fast.choices.transfer_modes`)."""
        return transfer_modes(self.interface)


class Allocator:
    """Bump allocation of host buffers, each page aligned (SMAUG allocates every tensor and every
    tile buffer separately, all before the timed run)."""

    def __init__(self) -> None:
        self.next = _ALIGN
        self.regions: dict[object, tuple[int, int]] = {}

    def get(self, key: object, nbytes: int) -> int:
        region = self.regions.get(key)
        if region is None:
            base = self.next
            self.next = base + (int(nbytes) + _ALIGN - 1) // _ALIGN * _ALIGN + _ALIGN
            region = (base, int(nbytes))
            self.regions[key] = region
        return region[0]


@dataclass
class CopyStats:
    """Per-tile facts of a CPU copy (tiling or untiling), one entry per tile."""

    runs: np.ndarray  # contiguous runs copied (one memcpy call each)
    nbytes: np.ndarray  # bytes copied [B]
    l2_hits: np.ndarray  # L1D misses served by the LLC [lines]
    dram_bytes: np.ndarray  # bytes fetched from and written back to DRAM [B]
    l1_accesses: np.ndarray
    l2_accesses: np.ndarray
    dram_write_bytes: np.ndarray  # the write-backs among dram_bytes [B]

    @staticmethod
    def empty() -> CopyStats:
        z = np.zeros(0)
        return CopyStats(z, z, z, z, z, z, z)

    @staticmethod
    def concat(parts: list[CopyStats]) -> CopyStats:
        if not parts:
            return CopyStats.empty()
        if len(parts) == 1:
            return parts[0]
        return CopyStats(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(CopyStats)))

    @staticmethod
    def from_delta(runs, nbytes, d: np.ndarray) -> CopyStats:
        """From per-tile counter changes ``d`` [tiles, levels + 1, CNT_N]: the first row is the L1D's,
        the one before last the LLC's, the last the memory's."""
        return CopyStats(
            runs=np.asarray(runs, dtype=float),
            nbytes=np.asarray(nbytes, dtype=float),
            l2_hits=(d[:, -2, _LH] + d[:, -2, _SH]).astype(float),
            dram_bytes=(d[:, -1, _RB] + d[:, -1, _WB]).astype(float),
            l1_accesses=d[:, 0, [_LH, _LM, _SH, _SM]].sum(axis=1).astype(float),
            l2_accesses=d[:, -2, [_LH, _LM, _SH, _SM]].sum(axis=1).astype(float),
            dram_write_bytes=d[:, -1, _WB].astype(float),
        )


@dataclass
class TransferStats:
    """Per role and tile: the facts of loading it (first load) or storing it."""

    flush_dirty_bytes: dict[str, np.ndarray] = field(default_factory=dict)  # written back by the flush [B]
    acp_hit_lines: dict[str, np.ndarray] = field(default_factory=dict)
    acp_miss_lines: dict[str, np.ndarray] = field(default_factory=dict)
    acp_dram_bytes: dict[str, np.ndarray] = field(default_factory=dict)  # DRAM reads and write-backs [B]
    acp_dram_write_bytes: dict[str, np.ndarray] = field(default_factory=dict)  # the write-backs [B]
    acp_store_lines: int = 0
    acp_store_dram_bytes: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per output tile [B]
    acp_store_dram_write_bytes: np.ndarray = field(default_factory=lambda: np.zeros(0))  # the write-backs [B]


@dataclass
class OpMemory:
    """What the memory pass records for one op."""

    prep: CopyStats
    finalize: CopyStats
    transfer: TransferStats
    cpu_copy: CopyStats  # ops on the CPU: one entry
    acp_lines: int = 0  # LLC lookups made through the ACP


@memoized("tile_storage_bytes", limit=4096)
def tile_storage_bytes(tiling: TensorTiling, itemsize: int) -> np.ndarray:
    """Bytes of every tile's buffer (alignment padding of the innermost dimension included)."""
    sizes = [np.asarray(s, dtype=np.int64) for s in tiling.sizes]
    mesh = np.meshgrid(*sizes, indexing="ij")
    inner = -(-mesh[-1] // tiling.alignment) * tiling.alignment if tiling.alignment > 1 else mesh[-1]
    elems = inner
    for m in mesh[:-1]:
        elems = elems * m
    return elems.ravel() * itemsize


@memoized("tile_boxes", limit=4096)
def tile_boxes(tiling: TensorTiling) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shape int64[4], origins int64[T, 4], sizes int64[T, 4]) of every tile as an NHWC box.

    NHWC tensors map as they are; NC (and flat ``(1, elements)``) tensors as ``(N, 1, 1, C)``; other
    shapes as one flat row of the whole tensor.
    """
    grids = [np.asarray(o, dtype=np.int64) for o in tiling.origins]
    sizes = [np.asarray(s, dtype=np.int64) for s in tiling.sizes]
    mesh_o = np.meshgrid(*grids, indexing="ij")
    mesh_s = np.meshgrid(*sizes, indexing="ij")
    o = np.stack([m.ravel() for m in mesh_o], axis=1)
    s = np.stack([m.ravel() for m in mesh_s], axis=1)
    n = o.shape[0]
    shape = tiling.shape
    if tiling.layout == "NHWC" and len(shape) == 4:
        return np.asarray(shape, dtype=np.int64), o, s
    zeros, ones = np.zeros(n, np.int64), np.ones(n, np.int64)
    if len(shape) == 2:
        return (
            np.array([shape[0], 1, 1, shape[1]], dtype=np.int64),
            np.stack([o[:, 0], zeros, zeros, o[:, 1]], axis=1),
            np.stack([s[:, 0], ones, ones, s[:, 1]], axis=1),
        )
    total = math.prod(shape)
    return (
        np.array([1, 1, 1, total], dtype=np.int64),
        np.zeros((n, 4), np.int64),
        np.tile(np.array([1, 1, 1, total], dtype=np.int64), (n, 1)),
    )


class MemoryPass:
    """Replays a network's memory behaviour through one cache hierarchy (see the module docstring)."""

    def __init__(self, memsys: MemorySystem) -> None:
        self.memsys = memsys
        self.h = CacheHierarchy((memsys.l1d, memsys.l2))
        self.alloc = Allocator()
        self.l1_line = memsys.l1d.line_bytes
        self.l2_line = memsys.l2.line_bytes
        # regions the caches may hold lines of: a flush or invalidation of any other is a no-op
        self.touched: set[object] = set()
        self.mem = len(self.h.levels)  # the memory row of the counters

    # -- counters ------------------------------------------------------------------------------------

    def _snap(self) -> np.ndarray:
        return self.h._cnt.copy()

    def _delta(self, before: np.ndarray) -> np.ndarray:
        return self.h._cnt - before

    # -- addresses -----------------------------------------------------------------------------------

    def _tiles_region(self, op: Op, low: OpLowering, role: str) -> tuple[object, np.ndarray, np.ndarray]:
        """(key, base of each tile buffer, size of each [B]): one block of page-aligned buffers."""
        sizes = tile_storage_bytes(low.plan.tensor(role), low.itemsize_of(role))
        padded = (sizes + _ALIGN - 1) // _ALIGN * _ALIGN + _ALIGN
        key = ("tiles", op.name, role)
        base = self.alloc.get(key, int(padded.sum()))
        offsets = np.concatenate([[0], np.cumsum(padded)[:-1]])
        return key, base + offsets, sizes

    def _tensor(self, name: str, nbytes: int) -> tuple[object, int]:
        key = ("tensor", name)
        return key, self.alloc.get(key, nbytes)

    def _source(self, op: Op, low: OpLowering, role: str) -> tuple[object, np.ndarray, np.ndarray]:
        """(key, address of each tile's data, size of each [B]) as a transfer reads or writes them."""
        tiling = low.plan.tensor(role)
        if not low.copied(role):
            nbytes = low.tensor_bytes(role)
            key, base = self._tensor(tiling.name, nbytes)
            return key, np.array([base], dtype=np.int64), np.array([nbytes], dtype=np.int64)
        return self._tiles_region(op, low, role)

    # -- copies --------------------------------------------------------------------------------------

    def _copy_tiles(self, op: Op, low: OpLowering, role: str, untile: bool) -> CopyStats:
        tiling = low.plan.tensor(role)
        shape, origins, sizes = tile_boxes(tiling)
        t_key, host = self._tensor(tiling.name, low.tensor_bytes(role))
        b_key, bases, _ = self._tiles_region(op, low, role)
        self.touched.update((t_key, b_key))
        runs, nbytes, delta = copy_tiles(
            shape, low.itemsize_of(role), host, origins, sizes, bases, not untile, *self.h._state()
        )
        return CopyStats.from_delta(runs, nbytes, delta)

    def warm(self, ops: list[tuple[Op, OpLowering]]) -> None:
        """Replay the end of SMAUG's pre-tiling of the weights (ops by name; see the module docstring)."""
        copies = []
        for op, low in sorted(ops, key=lambda p: p[0].name):
            for role in sorted(low.constant_roles):
                if low.copied(role):
                    copies.append((op, low, role))
        budget = 2 * self.memsys.l2.size_bytes
        tail = []
        for op, low, role in reversed(copies):
            if budget <= 0:
                break
            tail.append((op, low, role))
            budget -= low.tensor_bytes(role)
        for op, low, role in reversed(tail):
            self._copy_tiles(op, low, role, untile=False)

    def cpu_op(self, op: Op) -> CopyStats:
        """An op on the CPU: read every activation input, write every output (line by line)."""
        before = self._snap()
        for t in op.activations:
            key, base = self._tensor(t.name, t.nbytes)
            self.touched.add(key)
            self.h.access(np.arange(base, base + t.nbytes, self.l1_line, dtype=np.int64), False, self.l1_line)
        for t in op.outputs:
            key, base = self._tensor(t.name, t.nbytes)
            self.touched.add(key)
            self.h.access(np.arange(base, base + t.nbytes, self.l1_line, dtype=np.int64), True, self.l1_line)
        d = self._delta(before)[None]
        nbytes = sum(t.nbytes for t in op.outputs)
        return CopyStats.from_delta([len(op.activations)], [nbytes], d)

    # -- transfers -----------------------------------------------------------------------------------

    def _lines(self, base: int, nbytes: int) -> np.ndarray:
        return np.arange(base - base % self.l2_line, base + nbytes, self.l2_line, dtype=np.int64)

    def _transfers(self, op: Op, low: OpLowering) -> TransferStats:
        out = TransferStats()
        sched = low.plan.schedule(1)
        modes = self.memsys.modes
        # gem5-Aladdin's flush is a delay (timing model); only a flush that writes back changes the caches
        flush = self.memsys.flush_writes_back and not self.memsys.ignore_cache_flush
        sources = {}
        for role in low.loaded_roles:
            n = low.plan.tensor(role).num_tiles
            for d in (out.flush_dirty_bytes, out.acp_hit_lines, out.acp_miss_lines, out.acp_dram_bytes,
                      out.acp_dram_write_bytes):
                d[role] = np.zeros(n)
            sources[role] = self._source(op, low, role)
        out_key, out_addr, out_size = self._source(op, low, Role.OUTPUT)
        out.acp_store_dram_bytes = np.zeros(len(out_addr))
        out.acp_store_dram_write_bytes = np.zeros(len(out_addr))
        column = {Role.INPUT: sched.input, Role.INPUT1: sched.input1, Role.WEIGHTS: sched.weights}
        read = {Role.INPUT: sched.read_input, Role.INPUT1: sched.read_input, Role.WEIGHTS: sched.read_weights}
        seen = {role: np.zeros(low.plan.tensor(role).num_tiles, dtype=bool) for role in low.loaded_roles}
        roles = low.loaded_roles
        cols = [column[r].tolist() for r in roles]
        reads = [read[r].tolist() for r in roles]
        sends = sched.send_output.tolist()
        outs = sched.output.tolist()
        cnt = self.h._cnt
        for i in range(len(sched)):
            for k, role in enumerate(roles):
                t = cols[k][i]
                if t < 0 or not reads[k][i] or seen[role][t]:
                    continue
                seen[role][t] = True
                key, addrs, sizes = sources[role]
                base, nbytes = int(addrs[t]), int(sizes[t])
                if modes[role] is TransferMode.DMA:
                    if flush and key in self.touched:
                        wb = cnt[self.mem, _WB]
                        self.h.flush(base, nbytes)
                        out.flush_dirty_bytes[role][t] = cnt[self.mem, _WB] - wb
                else:
                    self.touched.add(key)
                    before = self._snap()
                    self.h.acp(self._lines(base, nbytes), False, self.l2_line)
                    d = self._delta(before)
                    out.acp_hit_lines[role][t] = d[1, _LH]
                    out.acp_miss_lines[role][t] = d[1, _LM]
                    out.acp_dram_bytes[role][t] = d[self.mem, _RB] + d[self.mem, _WB]
                    out.acp_dram_write_bytes[role][t] = d[self.mem, _WB]
            if sends[i]:
                t = outs[i]
                base, nbytes = int(out_addr[t]), int(out_size[t])
                if modes[Role.OUTPUT] is TransferMode.DMA:
                    if self.memsys.invalidate_on_store and out_key in self.touched:
                        self.h.invalidate(base, nbytes)
                else:
                    self.touched.add(out_key)
                    lines = self._lines(base, nbytes)
                    before = self._snap()
                    self.h.acp(lines, True, self.l2_line)
                    d = self._delta(before)
                    out.acp_store_dram_bytes[t] += d[self.mem, _RB] + d[self.mem, _WB]
                    out.acp_store_dram_write_bytes[t] += d[self.mem, _WB]
                    out.acp_store_lines += len(lines)
        return out

    # -- one op --------------------------------------------------------------------------------------

    def accelerated(self, op: Op, low: OpLowering) -> OpMemory:
        prep = CopyStats.concat([self._copy_tiles(op, low, r, False) for r in low.prep_roles])
        transfer = self._transfers(op, low)
        fin = self._copy_tiles(op, low, Role.OUTPUT, True) if low.copied(Role.OUTPUT) else CopyStats.empty()
        acp_lines = transfer.acp_store_lines + int(
            sum(transfer.acp_hit_lines[r].sum() + transfer.acp_miss_lines[r].sum() for r in transfer.acp_hit_lines)
        )
        return OpMemory(prep, fin, transfer, CopyStats.empty(), acp_lines)

    def on_cpu(self, op: Op) -> OpMemory:
        e = CopyStats.empty()
        return OpMemory(e, e, TransferStats(), self.cpu_op(op))


@dataclass(frozen=True, eq=False)
class MemoryRecord:
    """Stage 2's output: per op what the pass recorded, and the CPU caches' counters over the timed
    run (per level, after the weights were tiled, as SMAUG tiles them before it starts timing)."""

    ops: tuple[OpMemory, ...]
    cache_stats: dict[str, dict[str, int]]


def run_memory_pass(plan: NetworkPlan, memsys: MemorySystem) -> MemoryRecord:
    """Stage 2: the memory pass of a planned network on a memory system (a pure function of both)."""
    mp = MemoryPass(memsys)
    mp.warm(plan.accelerated())
    before = {s.name: dataclasses.asdict(s) for s in mp.h.stats()}
    ops = tuple(mp.accelerated(op, low) if low is not None else mp.on_cpu(op)
                for op, low in zip(plan.ops, plan.lowerings))
    counters = {
        s.name: {k: v - before[s.name][k] for k, v in dataclasses.asdict(s).items() if k != "name"}
        for s in mp.h.stats()
    }
    return MemoryRecord(ops, counters)


__all__ = ["Allocator", "CopyStats", "MemoryPass", "MemoryRecord", "MemorySystem", "OpMemory", "TransferStats",
           "run_memory_pass", "tile_boxes"]
