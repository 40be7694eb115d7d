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
outputs, as runs of whole lines (a KV-cache append reads its new rows and writes them into the cache's
own storage, which its output shares). This pass replays that sequence on one persistent :class:`~smaug_fast.memory.CacheHierarchy`
(the L1D of the thread doing the copies and the shared LLC), so that every op sees the cache state the
previous ones left, and records per op what the timing model needs: per tile of the CPU copies the
L1D misses that hit the LLC and the bytes moved to and from DRAM; per loaded tile the ACP hits and
misses and the DRAM traffic they cause; and the write-backs of the DMA flushes (when they write
back). The last weight
tiles written before timing starts are in the caches when it does (the pass replays the tail of the
pre-tiling copies, twice the LLC's size). Nothing here depends on the number of threads or
accelerators, so sweeps over those reuse the pass (it is memoized on the graph, the accelerator and
the memory system).

The back-to-back copies of a repeated block of ops (a transformer's layers, a ResNet stage's identical
blocks: :func:`repeated_blocks`) are run until one starts from the state the previous one started from,
moved by the bytes that one allocated; the copies after it are not run but replayed, with the same records,
and the caches' state is moved once (:meth:`MemoryPass._block`, which says why this is exact). TinyLlama's
512-token prefill runs 2 of its 22 layers this way; the records equal those of a pass that runs them all.

Several memory systems that differ only in the L2's size and associativity (:func:`multi_key`) and replay
the same warm tail run in one pass (:func:`run_memory_passes`, what sweeps use): the pass runs once with a
:class:`~smaug_fast.memory.multi.MultiL2` whose L1 records what reaches the L2, then again reading every
configuration's counters from the L2 walks over that record; the records equal those of
:func:`run_memory_pass` of each memory system alone (``tests/test_sweep_multicache.py``).

Simplifications (documented, deliberate): all CPU threads' copies go through one L1D (each thread's
copies stream, with little reuse, so private L1s change little); reloads of the same tile by
another accelerator see the cache state of its first load; tile buffers are dense (the alignment
padding of the innermost dimension is not copied).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from ..choices import Interface, Role, TransferMode, transfer_modes
from ..kernels import cache as _kc
from ..kernels.copies import copy_tiles
from ..memo import memoized
from ..memory import CacheConfig, CacheHierarchy, CacheStats
from ..memory.multi import MultiL2, multi_ok
from ..tiling.plan import TensorTiling
from ..workload.core import CacheAppend, Op
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


#: What :class:`MemoryPass` writes down of an op's questions (:meth:`MemoryPass._block`): an allocation
#: (key, bytes, address), a question whether a region is touched (key, answer), a region touched (key).
_ALLOC, _ASK, _TOUCH = range(3)


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
        return CopyStats.from_deltas(runs, nbytes, d[:, None])[0]

    @staticmethod
    def from_deltas(runs, nbytes, d: np.ndarray) -> list[CopyStats]:
        """Per configuration, from per-tile counter changes ``d`` [tiles, configs, 3, CNT_N] (the L1D's,
        the LLC's and the memory's rows)."""
        runs = np.asarray(runs, dtype=float)
        nbytes = np.asarray(nbytes, dtype=float)
        # [tiles, configs, 5]: l2_hits, dram_bytes, l1_accesses, l2_accesses, dram_write_bytes
        cols = (d.reshape(*d.shape[:2], -1) @ _COPY_COLUMNS.reshape(-1, 5)).astype(float)
        return [CopyStats(runs, nbytes, *np.ascontiguousarray(cols[:, c].T)) for c in range(d.shape[1])]


#: Which counters (level row, CNT_N column) add up to each derived column of :class:`CopyStats`.
_COPY_COLUMNS = np.zeros((3, _kc.CNT_N, 5), dtype=np.int64)
_COPY_COLUMNS[1, [_LH, _SH], 0] = 1  # L1D misses served by the LLC
_COPY_COLUMNS[2, [_RB, _WB], 1] = 1  # DRAM bytes, both ways
_COPY_COLUMNS[0, [_LH, _LM, _SH, _SM], 2] = 1  # L1D accesses
_COPY_COLUMNS[1, [_LH, _LM, _SH, _SM], 3] = 1  # LLC accesses
_COPY_COLUMNS[2, _WB, 4] = 1  # DRAM write-backs


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


def tile_storage_bytes(tiling: TensorTiling, itemsize: int) -> np.ndarray:
    """Bytes of every tile's buffer (alignment padding of the innermost dimension included); memoized
    on the tile sizes, not the tensor's name (a network's repeated layers share it)."""
    return _storage_bytes(tiling.sizes, tiling.alignment, itemsize)


@memoized("tile_storage_bytes", limit=4096)
def _storage_bytes(tile_sizes: tuple[tuple[int, ...], ...], alignment: int, itemsize: int) -> np.ndarray:
    sizes = [np.asarray(s, dtype=np.int64) for s in tile_sizes]
    mesh = np.meshgrid(*sizes, indexing="ij")
    inner = -(-mesh[-1] // alignment) * alignment if alignment > 1 else mesh[-1]
    elems = inner
    for m in mesh[:-1]:
        elems = elems * m
    return elems.ravel() * itemsize


@memoized("tile_buffer_offsets", limit=4096)
def _buffer_offsets(tile_sizes: tuple, alignment: int, itemsize: int) -> tuple[np.ndarray, np.ndarray, int]:
    """(bytes of each tile's buffer, its offset in the block of page-aligned buffers, the block's
    bytes [B])."""
    sizes = _storage_bytes(tile_sizes, alignment, itemsize)
    padded = (sizes + _ALIGN - 1) // _ALIGN * _ALIGN + _ALIGN
    return sizes, np.concatenate([[0], np.cumsum(padded)[:-1]]).astype(np.int64), int(padded.sum())


def tile_boxes(tiling: TensorTiling) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shape int64[4], origins int64[T, 4], sizes int64[T, 4]) of every tile as an NHWC box.

    NHWC tensors map as they are; NC (and flat ``(1, elements)``) tensors as ``(N, 1, 1, C)``; other
    shapes as one flat row of the whole tensor. Memoized on the geometry, not the tensor's name.
    """
    return _boxes(tiling.shape, tiling.layout, tiling.origins, tiling.sizes)


@memoized("tile_boxes", limit=4096)
def _boxes(shape: tuple[int, ...], layout: str, origins: tuple, tile_sizes: tuple) -> tuple:
    grids = [np.asarray(o, dtype=np.int64) for o in origins]
    sizes = [np.asarray(s, dtype=np.int64) for s in tile_sizes]
    mesh_o = np.meshgrid(*grids, indexing="ij")
    mesh_s = np.meshgrid(*sizes, indexing="ij")
    o = np.stack([m.ravel() for m in mesh_o], axis=1)
    s = np.stack([m.ravel() for m in mesh_s], axis=1)
    n = o.shape[0]
    if layout == "NHWC" and len(shape) == 4:
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


def _stream_lines(access, reads: list[tuple[int, int]], writes: list[tuple[int, int]], line: int) -> None:
    """``access(addresses, write)`` of every ``line``-byte line of each (address, bytes [B]) span of
    ``reads``, then of ``writes``: a CPU op's traffic line by line."""
    for spans, write in ((reads, False), (writes, True)):
        for base, nbytes in spans:
            access(np.arange(base - base % line, base + nbytes, line, dtype=np.int64), write)


class _One:
    """The caches of one memory system (a :class:`~smaug_fast.memory.CacheHierarchy`), as the pass sees
    them: counters with a leading axis of one configuration, [1, levels + 1, CNT_N]."""

    def __init__(self, memsys: MemorySystem) -> None:
        self.h = CacheHierarchy((memsys.l1d, memsys.l2))
        self.l1_line = memsys.l1d.line_bytes
        self.l2_line = memsys.l2.line_bytes
        self.levels = (memsys.l1d, memsys.l2)

    def counters(self) -> np.ndarray:
        return self.h._cnt[None]

    def copy(self, shape, esize, host, origins, sizes, bases, gather):
        runs, nbytes, delta = copy_tiles(shape, esize, host, origins, sizes, bases, gather, *self.h._state(),
                                         hint=self.h._hint)
        return runs, nbytes, delta[:, None]

    def access(self, addrs: np.ndarray, write: bool) -> None:
        self.h.access(addrs, write, self.l1_line)

    def stream(self, reads: list[tuple[int, int]], writes: list[tuple[int, int]]) -> None:
        """Whole-line reads of every line of each (address, bytes [B]) span of ``reads``, then writes
        of ``writes``'s, in order: as runs of lines (:func:`~smaug_fast.kernels.cache.copy_runs`, one
        call, the same counters and state) where the hierarchy allows, else line by line."""
        st = self.h._state()
        if not _kc.copy_runs_ok(st[0], st[1], st[7]):
            _stream_lines(self.access, reads, writes, self.l1_line)
            return
        shift = self.l1_line.bit_length() - 1
        spans = reads + writes
        first = np.array([b >> shift for b, _ in spans], dtype=np.int64)
        count = np.array([((b + n - 1) >> shift) - (b >> shift) + 1 for b, n in spans], dtype=np.int64)
        is_read = np.arange(len(spans)) < len(reads)
        _kc.copy_runs(first, first, np.where(is_read, count, 0), np.where(is_read, 0, count),
                      np.int64(len(spans)), *st[:6], self.h._hint)

    def acp(self, lines: np.ndarray, write: bool) -> None:
        self.h.acp(lines, write, self.l2_line)

    def flush(self, addr: int, nbytes: int) -> None:
        self.h.flush(addr, nbytes)

    def invalidate(self, addr: int, nbytes: int) -> None:
        self.h.invalidate(addr, nbytes)


class _Record:
    """First of the two runs of a pass over several memory systems that differ only in the L2's size and
    associativity: the L1 of a :class:`~smaug_fast.memory.multi.MultiL2` runs and records what reaches
    the L2, and where the pass reads counters (their values are not known yet: zeros stand in, and what
    the pass computes from them is dropped). The second run (:class:`_Replay`) makes the same calls and
    gets the real counters."""

    def __init__(self, memsys: tuple[MemorySystem, ...], events: int = 1 << 16) -> None:
        self.m = MultiL2(memsys[0].l1d, [ms.l2 for ms in memsys], events=events)
        self.levels = (memsys[0].l1d, memsys[0].l2)
        self.marks: list[tuple[int, np.ndarray]] = []  # per counters() call: position, the L1's counters
        self.copies: list[tuple] = []  # per copy: runs, bytes, the L1's changes per tile, positions
        self._zero = np.zeros((len(memsys), 3, _kc.CNT_N), dtype=np.int64)

    def counters(self) -> np.ndarray:
        self.marks.append((self.m.position(), self.m._cnt1.copy()))
        return self._zero

    def copy(self, shape, esize, host, origins, sizes, bases, gather):
        runs, nbytes, d1, pos = self.m.copy_tiles(shape, esize, host, origins, sizes, bases, gather)
        self.copies.append((runs, nbytes, d1, pos))
        return runs, nbytes, np.zeros((len(runs), self._zero.shape[0], 3, _kc.CNT_N), dtype=np.int64)

    def access(self, addrs: np.ndarray, write: bool) -> None:
        self.m.access(addrs, write)

    def stream(self, reads: list[tuple[int, int]], writes: list[tuple[int, int]]) -> None:
        _stream_lines(self.access, reads, writes, self.levels[0].line_bytes)

    def acp(self, lines: np.ndarray, write: bool) -> None:
        self.m.acp(lines, write)

    def flush(self, addr: int, nbytes: int) -> None:
        self.m.flush(addr, nbytes)

    def invalidate(self, addr: int, nbytes: int) -> None:
        self.m.invalidate(addr, nbytes)


class _Replay:
    """Second run of a pass over several memory systems: the same calls as the :class:`_Record` run, in the
    same order; the caches are not run again: every configuration's counters at each point come from the
    L2 walks over the recorded events (:meth:`~smaug_fast.memory.multi.MultiL2.l2_counters`), all at once."""

    def __init__(self, rec: _Record) -> None:
        m = rec.m
        self.levels = rec.levels
        mark_pos = np.array([p for p, _ in rec.marks], dtype=np.int64)
        allpos = np.unique(np.concatenate([mark_pos, *(c[3] for c in rec.copies)]))
        walked = m.l2_counters(allpos)  # [positions, configs + 1, Q_N]

        def at(pos):
            return walked[np.searchsorted(allpos, pos)]

        l1 = np.array([c for _, c in rec.marks]).reshape(len(rec.marks), _kc.CNT_N)
        self._marks = iter(m.arrange(l1, at(mark_pos)))
        self._copies = iter(
            (runs, nbytes, m.arrange(d1, at(pos[1:]) - at(pos[:-1]))) for runs, nbytes, d1, pos in rec.copies
        )

    def counters(self) -> np.ndarray:
        return next(self._marks)

    def copy(self, shape, esize, host, origins, sizes, bases, gather):
        return next(self._copies)

    def access(self, addrs: np.ndarray, write: bool) -> None:
        pass

    def stream(self, reads: list[tuple[int, int]], writes: list[tuple[int, int]]) -> None:
        pass

    def acp(self, lines: np.ndarray, write: bool) -> None:
        pass

    def flush(self, addr: int, nbytes: int) -> None:
        pass

    def invalidate(self, addr: int, nbytes: int) -> None:
        pass


def repeated_blocks(plan: NetworkPlan, least: int = 3) -> list[tuple[int, int, int]]:
    """(first op, ops per copy, copies) of every run of at least ``least`` back-to-back copies of one
    sequence of ops (a transformer's layers, a ResNet stage's identical blocks): equal signatures, and
    the accelerator runs the same ones (:func:`repeats`)."""
    ids: dict[tuple, int] = {}
    return repeats([ids.setdefault((op.signature, low is None), len(ids))
                    for op, low in zip(plan.ops, plan.lowerings)], least)


def repeats(seq: Sequence[int], least: int) -> list[tuple[int, int, int]]:
    """(start, period, copies) of the runs of at least ``least`` back-to-back copies of a subsequence of
    ``seq``: from left to right, at each position the shortest period that repeats ``least`` times, as
    many copies as follow; the search goes on after the last copy. Only periods at which ``seq[start]``
    recurs are tried."""
    seq = list(seq)
    where: dict[int, list[int]] = {}
    for i, k in enumerate(seq):
        where.setdefault(k, []).append(i)
    n, blocks, i = len(seq), [], 0
    while i < n:
        found = None
        for j in where[seq[i]]:
            period = j - i
            if period <= 0:
                continue
            if i + least * period > n:
                break
            body = seq[i:j]
            copies = 1
            while seq[i + copies * period: i + (copies + 1) * period] == body:
                copies += 1
            if copies >= least:
                found = (i, period, copies)
                break
        if found is None:
            i += 1
            continue
        blocks.append(found)
        i += found[1] * found[2]
    return blocks


#: The least a tensor of the warm tail replays when it is cut to its last tiles [B] (it replays
#: ``max(2 x LLC, WARM_CUT_BYTES)``); what decides which memory systems share a tail (sweeps walk the
#: L2s that share one together): below 2 MiB of LLC every cut is the same.
WARM_CUT_BYTES = 4 << 20


def warm_tail(plan: NetworkPlan, l2_size_bytes: int) -> list[tuple[Op, OpLowering, str, int]]:
    """The weight copies the pass replays before timing starts: the end of SMAUG's pre-tiling of the
    weights (ops by name), the last copies that together move at least twice the LLC's size, as
    (op, lowering, role, first tile replayed). A tensor larger than ``max(2 x LLC,``
    :data:`WARM_CUT_BYTES` ``)`` (an LLM's LM head: 131 MB for TinyLlama) replays only its last tiles
    that move that much; a longer replay would leave the same LRU caches (each set holds the last
    lines the copies touched in it, and the counters are read after the replay)."""
    copies = []
    for op, low in sorted(plan.accelerated(), key=lambda p: p[0].name):
        for role in sorted(low.constant_roles):
            if low.copied(role):
                copies.append((op, low, role))
    budget = 2 * l2_size_bytes
    cut = max(budget, WARM_CUT_BYTES)
    tail = []
    for op, low, role in reversed(copies):
        if budget <= 0:
            break
        first = 0
        if low.tensor_bytes(role) > cut:
            sizes = tile_storage_bytes(low.plan.tensor(role), low.itemsize_of(role))
            moved = np.cumsum(sizes[::-1])  # bytes of the last k + 1 tiles
            first = len(sizes) - 1 - min(int(np.searchsorted(moved, cut)), len(sizes) - 1)
        tail.append((op, low, role, first))
        budget -= low.tensor_bytes(role)
    return tail[::-1]


class MemoryPass:
    """Replays a network's memory behaviour through one cache hierarchy (see the module docstring), or
    through several: ``memsys`` a tuple of memory systems that differ only in the L2's size and
    associativity (:func:`multi_key` equal) and replay the same warm tail, and ``caches`` a
    :class:`_Record` (the default) or a :class:`_Replay` of one (:func:`_run` makes both runs). Every
    recorded value has a leading axis of configurations (one for a single memory system)."""

    def __init__(self, memsys: MemorySystem | tuple[MemorySystem, ...], caches=None, skip_repeats: bool = True) -> None:
        self.skip_repeats = skip_repeats
        self.skipped_copies = 0  # copies of repeated blocks not run (:meth:`_block`)
        if isinstance(memsys, MemorySystem):
            self.caches: _One | _Record | _Replay = _One(memsys)
            self.configs = 1
        else:
            self.caches = caches if caches is not None else _Record(memsys)
            self.configs = len(memsys)
            memsys = memsys[0]
        self.memsys = memsys
        self.alloc = Allocator()
        self.l1_line = memsys.l1d.line_bytes
        self.l2_line = memsys.l2.line_bytes
        # regions the caches may hold lines of: a flush or invalidation of any other is a no-op
        self.touched: set[object] = set()
        self._events: list | None = None  # what the ops ask of the allocator and of touched, when written down
        self.mem = 2  # the memory row of the counters
        # tensors that live in another's storage (a CacheAppend's output in its cache's), and the
        # bytes such a storage needs (the whole context): set by share_storage before the pass
        self.storage_of: dict[str, str] = {}
        self.storage_bytes: dict[str, int] = {}

    def share_storage(self, ops: Sequence[Op]) -> None:
        """Give every :class:`~smaug_fast.workload.core.CacheAppend`'s output its cache's storage, sized
        for the largest output that shares it, whichever op touches that storage first."""
        for op in ops:
            if isinstance(op, CacheAppend):
                root = self.storage_of.get(op.inputs[0].name, op.inputs[0].name)
                self.storage_of[op.outputs[0].name] = root
                self.storage_bytes[root] = max(self.storage_bytes.get(root, 0), op.outputs[0].nbytes)

    # -- counters ------------------------------------------------------------------------------------

    def _snap(self) -> np.ndarray:
        return self.caches.counters().copy()

    def _delta(self, before: np.ndarray) -> np.ndarray:
        return self.caches.counters() - before

    # -- addresses -----------------------------------------------------------------------------------

    def _tiles_region(self, op: Op, low: OpLowering, role: str) -> tuple[object, np.ndarray, np.ndarray]:
        """(key, base of each tile buffer, size of each [B]): one block of page-aligned buffers."""
        tiling = low.plan.tensor(role)
        sizes, offsets, total = _buffer_offsets(tiling.sizes, tiling.alignment, low.itemsize_of(role))
        key = ("tiles", op.name, role)
        return key, self._address(key, total) + offsets, sizes

    def _tensor(self, name: str, nbytes: int) -> tuple[object, int]:
        name = self.storage_of.get(name, name)
        key = ("tensor", name)
        return key, self._address(key, max(nbytes, self.storage_bytes.get(name, 0)))

    def _address(self, key: object, nbytes: int) -> int:
        """The address of region ``key`` (allocated now, ``nbytes`` [B], if it is new)."""
        addr = self.alloc.get(key, nbytes)
        if self._events is not None:
            self._events.append((_ALLOC, key, nbytes, addr))
        return addr

    def _is_touched(self, key: object) -> bool:
        """Whether the caches may hold lines of region ``key``."""
        touched = key in self.touched
        if self._events is not None:
            self._events.append((_ASK, key, touched))
        return touched

    def _touch(self, *keys: object) -> None:
        """Regions the caches may hold lines of from now on."""
        self.touched.update(keys)
        if self._events is not None:
            self._events.extend((_TOUCH, k) for k in keys)

    def _source(self, op: Op, low: OpLowering, role: str) -> tuple[object, np.ndarray, np.ndarray]:
        """(key, address of each tile's data, size of each [B]) as a transfer reads or writes them."""
        tiling = low.plan.tensor(role)
        if not low.copied(role):
            nbytes = low.tensor_bytes(role)
            key, base = self._tensor(tiling.name, nbytes)
            return key, np.array([base], dtype=np.int64), np.array([nbytes], dtype=np.int64)
        return self._tiles_region(op, low, role)

    # -- copies --------------------------------------------------------------------------------------

    def _copy_tiles(self, op: Op, low: OpLowering, role: str, untile: bool, first: int = 0) -> list[CopyStats]:
        """The tiling (or ``untile``: untiling) copies of a tensor's tiles, from tile ``first`` on."""
        tiling = low.plan.tensor(role)
        shape, origins, sizes = tile_boxes(tiling)
        t_key, host = self._tensor(tiling.name, low.tensor_bytes(role))
        b_key, bases, _ = self._tiles_region(op, low, role)
        self._touch(t_key, b_key)
        runs, nbytes, delta = self.caches.copy(shape, low.itemsize_of(role), host, origins[first:], sizes[first:],
                                               bases[first:], not untile)
        return CopyStats.from_deltas(runs, nbytes, delta)

    def warm(self, tail: list[tuple[Op, OpLowering, str, int]]) -> None:
        """Replay the end of SMAUG's pre-tiling of the weights (:func:`warm_tail`; see the module docstring)."""
        for op, low, role, first in tail:
            self._copy_tiles(op, low, role, untile=False, first=first)

    def _cpu_traffic(self, op: Op) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """(reads, writes) of a CPU op, each a list of (address, bytes [B]): every activation input
        read whole and every output written whole; a :class:`~smaug_fast.workload.core.CacheAppend`
        reads its new rows and writes them into its cache's storage (its output is that storage, sized
        for the whole context), one run each per index before the axis."""
        def region(t, nbytes: int) -> int:
            key, base = self._tensor(t.name, nbytes)
            self._touch(key)
            return base

        if isinstance(op, CacheAppend):  # its storage is its cache's (share_storage)
            cache, new = op.inputs
            base = region(cache, op.outputs[0].nbytes)
            runs, offset, stride = op.appended_runs()
            size = new.nbytes // runs
            return [(region(new, new.nbytes), new.nbytes)], [(base + offset + r * stride, size) for r in range(runs)]
        reads = [(region(t, t.nbytes), t.nbytes) for t in op.activations]
        return reads, [(region(t, t.nbytes), t.nbytes) for t in op.outputs]

    def cpu_op(self, op: Op) -> list[CopyStats]:
        """An op on the CPU: its reads, then its writes (:meth:`_cpu_traffic`), line by line."""
        before = self._snap()
        reads, writes = self._cpu_traffic(op)
        self.caches.stream(reads, writes)
        d = self._delta(before)[None]
        return CopyStats.from_deltas([len(reads)], [sum(n for _, n in writes)], d)

    # -- transfers -----------------------------------------------------------------------------------

    def _lines(self, base: int, nbytes: int) -> np.ndarray:
        return np.arange(base - base % self.l2_line, base + nbytes, self.l2_line, dtype=np.int64)

    def _transfers(self, op: Op, low: OpLowering) -> list[TransferStats]:
        nc = self.configs
        flush_dirty, hit, miss, dram, dram_w = {}, {}, {}, {}, {}
        sched = low.plan.schedule(1)
        modes = self.memsys.modes
        # gem5-Aladdin's flush is a delay (timing model); only a flush that writes back changes the caches
        flush = self.memsys.flush_writes_back and not self.memsys.ignore_cache_flush
        caches = self.caches
        sources = {}
        for role in low.loaded_roles:
            n = low.plan.tensor(role).num_tiles
            for d in (flush_dirty, hit, miss, dram, dram_w):
                d[role] = np.zeros((nc, n))
            sources[role] = self._source(op, low, role)
        out_key, out_addr, out_size = self._source(op, low, Role.OUTPUT)
        store_dram = np.zeros((nc, len(out_addr)))
        store_dram_w = np.zeros((nc, len(out_addr)))
        store_lines = 0
        if not flush and all(modes[r] is TransferMode.DMA for r in (*low.loaded_roles, Role.OUTPUT)):
            # DMA only, flushes as delays: the loads leave the caches alone; the stores invalidate
            if self.memsys.invalidate_on_store and self._is_touched(out_key):
                for t in sched.output[sched.send_output].tolist():
                    caches.invalidate(int(out_addr[t]), int(out_size[t]))
        else:
            store_lines = self._replay_transfers(op, low, sched, flush, sources, (out_key, out_addr, out_size),
                                                 (flush_dirty, hit, miss, dram, dram_w), (store_dram, store_dram_w))
        return [
            TransferStats(
                flush_dirty_bytes={r: a[c] for r, a in flush_dirty.items()},
                acp_hit_lines={r: a[c] for r, a in hit.items()},
                acp_miss_lines={r: a[c] for r, a in miss.items()},
                acp_dram_bytes={r: a[c] for r, a in dram.items()},
                acp_dram_write_bytes={r: a[c] for r, a in dram_w.items()},
                acp_store_lines=store_lines,
                acp_store_dram_bytes=store_dram[c],
                acp_store_dram_write_bytes=store_dram_w[c],
            )
            for c in range(nc)
        ]

    def _replay_transfers(self, op, low, sched, flush, sources, out, loads, stores) -> int:
        """The invocations of ``sched`` in order: each first load of a tile (a DMA flush that writes
        back, or ACP reads through the LLC) and each store (a DMA invalidation, or ACP writes), their
        counters into ``loads`` (flush_dirty, hit, miss, dram, dram_w per role) and ``stores``.
        Returns the lines the ACP stores wrote."""
        flush_dirty, hit, miss, dram, dram_w = loads
        store_dram, store_dram_w = stores
        out_key, out_addr, out_size = out
        modes = self.memsys.modes
        caches = self.caches
        store_lines = 0
        column = {Role.INPUT: sched.input, Role.INPUT1: sched.input1, Role.WEIGHTS: sched.weights}
        read = {Role.INPUT: sched.read_input, Role.INPUT1: sched.read_input, Role.WEIGHTS: sched.read_weights}
        seen = {role: np.zeros(low.plan.tensor(role).num_tiles, dtype=bool) for role in low.loaded_roles}
        roles = low.loaded_roles
        cols = [column[r].tolist() for r in roles]
        reads = [read[r].tolist() for r in roles]
        sends = sched.send_output.tolist()
        outs = sched.output.tolist()
        mem = self.mem
        for i in range(len(sched)):
            for k, role in enumerate(roles):
                t = cols[k][i]
                if t < 0 or not reads[k][i] or seen[role][t]:
                    continue
                seen[role][t] = True
                key, addrs, sizes = sources[role]
                base, nbytes = int(addrs[t]), int(sizes[t])
                if modes[role] is TransferMode.DMA:
                    if flush and self._is_touched(key):
                        wb = caches.counters()[:, mem, _WB].copy()
                        caches.flush(base, nbytes)
                        flush_dirty[role][:, t] = caches.counters()[:, mem, _WB] - wb
                else:
                    self._touch(key)
                    before = self._snap()
                    caches.acp(self._lines(base, nbytes), False)
                    d = self._delta(before)
                    hit[role][:, t] = d[:, 1, _LH]
                    miss[role][:, t] = d[:, 1, _LM]
                    dram[role][:, t] = d[:, mem, _RB] + d[:, mem, _WB]
                    dram_w[role][:, t] = d[:, mem, _WB]
            if sends[i]:
                t = outs[i]
                base, nbytes = int(out_addr[t]), int(out_size[t])
                if modes[Role.OUTPUT] is TransferMode.DMA:
                    if self.memsys.invalidate_on_store and self._is_touched(out_key):
                        caches.invalidate(base, nbytes)
                else:
                    self._touch(out_key)
                    lines = self._lines(base, nbytes)
                    before = self._snap()
                    caches.acp(lines, True)
                    d = self._delta(before)
                    store_dram[:, t] += d[:, mem, _RB] + d[:, mem, _WB]
                    store_dram_w[:, t] += d[:, mem, _WB]
                    store_lines += len(lines)
        return store_lines

    # -- one op --------------------------------------------------------------------------------------

    def accelerated(self, op: Op, low: OpLowering) -> list[OpMemory]:
        preps = [self._copy_tiles(op, low, r, False) for r in low.prep_roles]
        transfers = self._transfers(op, low)
        fins = self._copy_tiles(op, low, Role.OUTPUT, True) if low.copied(Role.OUTPUT) else None
        out = []
        for c, transfer in enumerate(transfers):
            prep = CopyStats.concat([p[c] for p in preps])
            fin = fins[c] if fins is not None else CopyStats.empty()
            acp_lines = transfer.acp_store_lines + int(
                sum(transfer.acp_hit_lines[r].sum() + transfer.acp_miss_lines[r].sum()
                    for r in transfer.acp_hit_lines)
            )
            out.append(OpMemory(prep, fin, transfer, CopyStats.empty(), acp_lines))
        return out

    def on_cpu(self, op: Op) -> list[OpMemory]:
        e = CopyStats.empty()
        return [OpMemory(e, e, TransferStats(), copy) for copy in self.cpu_op(op)]

    def run_ops(self, plan: NetworkPlan) -> list[list[OpMemory]]:
        """Every op of ``plan`` in order (:meth:`accelerated` or :meth:`on_cpu`), the copies of a repeated
        block (:func:`repeated_blocks`) through :meth:`_block`, which skips those it can."""
        ops, lows = plan.ops, plan.lowerings
        out: list = [None] * len(ops)

        def one(j: int) -> None:
            out[j] = self.accelerated(ops[j], lows[j]) if lows[j] is not None else self.on_cpu(ops[j])

        skip = self.skip_repeats and isinstance(self.caches, _One) and self.caches.h.translatable()
        i = 0
        for start, period, copies in repeated_blocks(plan) if skip else ():
            for j in range(i, start):
                one(j)
            self._block(ops, lows, start, period, copies, one, out)
            i = start + period * copies
        for j in range(i, len(ops)):
            one(j)
        return out

    def _block(self, ops: Sequence[Op], lows: Sequence[OpLowering | None], start: int, period: int, copies: int,
               one, out: list) -> None:
        """The copies of a repeated block, skipping those whose outcome is known without running them.

        The caches treat addresses only by their differences (a set is a line number modulo the set
        count) and use times only by their order (LRU, FIFO), and an op's requests to them follow from
        its signature and what it learns from the allocator (addresses) and from the set of touched
        regions (whether a region's lines may be cached). So when

        - the state before copy c is the state before copy c - 1 moved by the bytes copy c - 1
          allocated, Δ (every line Δ on; ``CacheHierarchy.is_moved``, which ignores which way holds a
          line and the values of the use times), and
        - copy c, asking what copy c - 1 asked of its own regions (each mapped by the position of its
          op and tensor), gets every address Δ further on and the same touched answers,

        copy c makes copy c - 1's requests each Δ on: it counts exactly as copy c - 1 did and leaves the
        state moved once more; and so on for the copies after it (2 Δ, 3 Δ, ...). A skipped copy's
        allocations and touched regions are made by replaying copy c - 1's (:meth:`_replay`); its records
        are copy c - 1's; the state and the counters are moved once, when the skipping ends. Where either
        check fails the copy runs in full. The records equal those of a pass that skips nothing
        (``tests/test_memory_pass.py``)."""
        h = self.caches.h
        prev = None  # the last copy run in full: (first op, state before, its events, allocator before)
        ref = None  # while skipping: (first op of the copy repeated, its events, Δ [B], clock ticks, counts)
        skipped = 0
        for c in range(copies):
            lo = start + c * period
            before = self.alloc.next
            if ref is None and prev is not None:
                p_lo, p_snap, p_events, p_next = prev
                delta = before - p_next
                if h.is_moved(p_snap, delta):
                    ref = (p_lo, p_events, delta, int(h._glob[_kc.G_CLOCK]) - p_snap.clock, h._cnt - p_snap.cnt)
                    skipped = 0
            if ref is not None:
                if self._replay(ops, lows, ref, lo, period, skipped + 1):
                    skipped += 1
                    out[lo:lo + period] = out[ref[0]:ref[0] + period]
                    continue
                self._moved(ref, skipped)
                ref = None
            # the state before copy c - 1 is needed no more: its arrays take copy c's
            snap = h.snapshot(into=prev[1] if prev is not None else None)
            self._events = []
            try:
                for j in range(lo, lo + period):
                    one(j)
                prev = (lo, snap, self._events, before)
            finally:
                self._events = None
        if ref is not None:
            self._moved(ref, skipped)

    def _replay(self, ops: Sequence[Op], lows: Sequence[OpLowering | None], ref: tuple, lo: int, period: int,
                times: int) -> bool:
        """Make the allocations and touched regions of the copy at op ``lo``: those of the copy ``ref``
        repeats, each region mapped to the one at the same place (op and tensor position) of this copy,
        if every address comes out ``times`` Δ further on and every touched answer alike; else undo
        what was made and return False (:meth:`_block`)."""
        r_lo, events, delta, _, _ = ref
        names: dict[str, str] = {}
        for j in range(period):
            a, b = ops[r_lo + j], ops[lo + j]
            pairs = [(a, b), *zip((*a.inputs, *a.outputs), (*b.inputs, *b.outputs))]
            if lows[lo + j] is not None:  # the tiling's own tensors (a batch norm's packed parameters)
                pairs += zip(lows[r_lo + j].plan.tensors, lows[lo + j].plan.tensors)
            for x, y in pairs:
                if names.setdefault(x.name, y.name) != y.name:
                    return False
        alloc, shift = self.alloc, times * delta
        next0, touched0, added = alloc.next, set(self.touched), []
        ok = True
        for event in events:
            kind, key = event[0], event[1]
            mapped = names.get(key[1])
            if mapped is None:
                ok = False
                break
            key = (key[0], mapped, *key[2:])
            if kind == _ALLOC:
                if key not in alloc.regions:
                    added.append(key)
                if alloc.get(key, event[2]) != event[3] + shift:
                    ok = False
                    break
            elif kind == _ASK:
                if (key in self.touched) != event[2]:
                    ok = False
                    break
            else:
                self.touched.add(key)
        if ok and alloc.next == next0 + delta:
            return True
        for key in added:
            del alloc.regions[key]
        alloc.next = next0
        self.touched = touched0
        return False

    def _moved(self, ref: tuple, skipped: int) -> None:
        """The state and counters after ``skipped`` copies of ``ref`` not run (:meth:`_block`)."""
        if skipped:
            _, _, delta, dclock, counts = ref
            self.caches.h.move(skipped * delta, skipped * dclock, skipped * counts)
            self.skipped_copies += skipped

    def cache_stats(self) -> list[dict[str, dict[str, int]]]:
        """Per configuration, the counters of each level by name (the :class:`CacheStats` fields)."""
        names = [f.name for f in fields(CacheStats)][1:]
        cnt = self.caches.counters()
        return [{lv.name: {k: int(v) for k, v in zip(names, cnt[c, j], strict=True)}
                 for j, lv in enumerate(self.caches.levels)} for c in range(self.configs)]


@dataclass(frozen=True, eq=False)
class MemoryRecord:
    """Stage 2's output: per op what the pass recorded, and the CPU caches' counters over the timed
    run (per level, after the weights were tiled, as SMAUG tiles them before it starts timing)."""

    ops: tuple[OpMemory, ...]
    cache_stats: dict[str, dict[str, int]]


def run_memory_pass(plan: NetworkPlan, memsys: MemorySystem, skip_repeats: bool = True) -> MemoryRecord:
    """Stage 2: the memory pass of a planned network on a memory system (a pure function of both).
    ``skip_repeats=False`` runs every copy of a repeated block (:meth:`MemoryPass._block`; the same
    records, slower: what the tests compare with)."""
    if not skip_repeats:
        return _records(plan, MemoryPass(memsys, skip_repeats=False), warm_tail(plan, memsys.l2.size_bytes))[0]
    return _run(plan, memsys, warm_tail(plan, memsys.l2.size_bytes), [0])[0]


def _run(plan: NetworkPlan, memsys, tail, room: list[int]) -> list[MemoryRecord]:
    """The records of one memory system, or of a tuple of them (one MultiL2: a recording run, then the
    replay that reads every configuration's counters). ``room[0]``: events the recording makes room for
    at first (updated to what it needed: the next recording of the network needs about as many)."""
    if isinstance(memsys, MemorySystem):
        return _records(plan, MemoryPass(memsys), tail)
    rec = _Record(memsys, events=room[0])
    _records(plan, MemoryPass(memsys, rec), tail)
    room[0] = max(room[0], rec.m.position() + rec.m.position() // 8)
    return _records(plan, MemoryPass(memsys, _Replay(rec)), tail)


def _records(plan: NetworkPlan, mp: MemoryPass, tail) -> list[MemoryRecord]:
    mp.share_storage(plan.ops)
    mp.warm(tail)
    before = mp.cache_stats()
    per_op = mp.run_ops(plan)
    after = mp.cache_stats()
    return [
        MemoryRecord(
            tuple(o[c] for o in per_op),
            {name: {k: v - before[c][name][k] for k, v in level.items()} for name, level in after[c].items()},
        )
        for c in range(mp.configs)
    ]


def multi_key(memsys: MemorySystem) -> MemorySystem | None:
    """What memory systems share when one :class:`~smaug_fast.memory.multi.MultiL2` walk can serve them:
    the memory system with the L2's size and associativity set to fixed values; None when none can (an L2
    or L1 that :func:`~smaug_fast.memory.multi.multi_ok` refuses)."""
    if multi_ok(memsys.l1d, memsys.l2) is not None:
        return None
    l2 = dataclasses.replace(memsys.l2, size_bytes=memsys.l2.line_bytes, ways=1)
    return dataclasses.replace(memsys, l2=l2)


#: The most memory a shared pass's record of L2 events may take [B] (8 B an event; ResNet50 makes 4.5
#: events per line of its tensors at 32 B lines, 16.5 M in all); :func:`run_memory_passes` assumes 8 per
#: line and runs the passes of a larger network one by one.
MAX_EVENT_BYTES = 1 << 30


def run_memory_passes(plan: NetworkPlan, memsystems: Sequence[MemorySystem]) -> list[MemoryRecord]:
    """:func:`run_memory_pass` of each memory system, the same records, with one walk for every group of
    them that differ only in the L2's size and associativity (:func:`multi_key`) and replay the same warm
    tail (it depends on the L2's size); the others one by one (and all of them when the record of events
    might exceed :data:`MAX_EVENT_BYTES`, or when repeated blocks make up half the network or more)."""
    out: list[MemoryRecord | None] = [None] * len(memsystems)
    groups: dict[tuple, list[int]] = {}
    tensors = sum({t.name: t.nbytes for op in plan.ops for t in (*op.inputs, *op.outputs)}.values())
    # a network made mostly of repeated blocks (a transformer's layers) runs its passes alone: each skips
    # most of its copies (MemoryPass._block), which a walk for many L2s cannot (TinyLlama, L2 of 1 to 8
    # MiB: prefill 2.3-2.9 s alone against 10.4-11.3 s in walks of L2s that share a warm tail; decode step
    # 0.34-0.42 s against 0.41-0.48 s)
    repeated = sum(period * copies for _, period, copies in repeated_blocks(plan)) * 2 >= len(plan.ops)
    for i, ms in enumerate(memsystems):
        key = multi_key(ms) if 8 * 8 * tensors // ms.l1d.line_bytes <= MAX_EVENT_BYTES and not repeated else None
        tail = warm_tail(plan, ms.l2.size_bytes)
        group = (key, tuple((op.name, role, first) for op, _, role, first in tail)) if key is not None else ("alone", i)
        groups.setdefault(group, []).append(i)
    room = [1 << 16]
    for part in groups.values():
        first = memsystems[part[0]]
        memsys = first if len(part) == 1 else tuple(memsystems[i] for i in part)
        for i, record in zip(part, _run(plan, memsys, warm_tail(plan, first.l2.size_bytes), room), strict=True):
            out[i] = record
    return out  # type: ignore[return-value]


__all__ = ["Allocator", "CopyStats", "MemoryPass", "MemoryRecord", "MemorySystem", "OpMemory", "TransferStats",
           "multi_key", "repeated_blocks", "repeats", "run_memory_pass", "run_memory_passes", "tile_boxes",
           "warm_tail"]
