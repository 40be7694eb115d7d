"""Cache hierarchy model: a stateful object for the simulator and ``simulate_caches`` for one-off runs.

The jitted core is :mod:`smaug_fast.kernels.cache`; this module validates input so that nothing can
go wrong inside a kernel, and turns counters into :class:`CacheStats`.
"""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses
from dataclasses import dataclass, fields

import numpy as np

from ..errors import ConfigError, describe
from ..kernels import cache as _k
from ..kernels import tracegen as _tracegen
from .config import CacheConfig

#: The request stack of the kernel holds about two frames per level (kernels/cache.py).
MAX_LEVELS = 32

_POLICY_IDS = {"lru": _k.P_LRU, "fifo": _k.P_FIFO, "random": _k.P_RANDOM}


@dataclass(frozen=True)
class CacheStats:
    """Counters of one cache level (counts of requests and of line lookups).

    A request arriving at the level is one load or one store; a request whose bytes span several
    lines makes one lookup per line, each a hit or a miss (memory_facts.md).

    Attributes:
        name: the level's name.
        loads: read requests arriving (core loads, or fetches from the level above).
        stores: write requests arriving (core stores, or write-backs from the level above).
        load_hits, load_misses, store_hits, store_misses: line lookups by outcome.
        dirty_evictions: dirty lines evicted (each written back to the next level).
        clean_evictions: clean lines evicted (silent).
        writebacks: write requests sent to the next level (dirty evictions, flushes, write-through
            and write-around stores); at the last level, writes to memory.
        fetches: line fills requested from the next level; at the last level, reads from memory.
        back_invalidations: lines dropped because a lower inclusive level evicted them.
        invalidations: lines dropped by flush/invalidate or by an ACP write's snoop.
    """

    name: str
    loads: int
    stores: int
    load_hits: int
    load_misses: int
    store_hits: int
    store_misses: int
    dirty_evictions: int
    clean_evictions: int
    writebacks: int
    fetches: int
    back_invalidations: int
    invalidations: int

    @property
    def hits(self) -> int:
        return self.load_hits + self.store_hits

    @property
    def misses(self) -> int:
        return self.load_misses + self.store_misses

    @property
    def miss_rate(self) -> float:
        """Misses per lookup (0 when there were none)."""
        total = self.hits + self.misses
        return self.misses / total if total else 0.0

    def __sub__(self, other: CacheStats) -> CacheStats:
        """Counter differences (``after - before``: what happened in between)."""
        if not isinstance(other, CacheStats):
            return NotImplemented
        names = [f.name for f in fields(CacheStats)][1:]
        return CacheStats(self.name, **{k: getattr(self, k) - getattr(other, k) for k in names})

    def as_pycachesim(self) -> dict[str, int]:
        """The counters under pycachesim's names (LOAD, STORE, HIT, MISS, EVICT).

        Equal to pycachesim's own on read-only traces, and on any trace when the hierarchy ran with
        ``pycachesim_compat=True``.
        """
        return {
            "LOAD": self.loads,
            "STORE": self.stores,
            "HIT": self.hits,
            "MISS": self.misses,
            "EVICT": self.writebacks,
        }


@dataclass(frozen=True)
class MemoryTraffic:
    """Requests that left the last cache level for memory: count and bytes [B]."""

    reads: int
    writes: int
    read_bytes: int
    write_bytes: int

    def __sub__(self, other: MemoryTraffic) -> MemoryTraffic:
        if not isinstance(other, MemoryTraffic):
            return NotImplemented
        return MemoryTraffic(self.reads - other.reads, self.writes - other.writes,
                             self.read_bytes - other.read_bytes, self.write_bytes - other.write_bytes)


@dataclass(frozen=True, eq=False)
class MemoryRequests:
    """Requests that left the last cache level for memory, in order: what the DRAM model runs.

    Attributes:
        addr: byte address (int64); nbytes: size [B] (int32, a last-level line, or the bytes of a
            write-through store); rw: 0 read (a fetch), 1 write (a write-back or write-through);
        source: index of the access that caused it (int64); requester, tile: of that access when
            the hierarchy ran a Trace, else None.
    """

    addr: np.ndarray
    nbytes: np.ndarray
    rw: np.ndarray
    source: np.ndarray
    requester: np.ndarray | None = None
    tile: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.addr.shape[0])

    def to_trace(self):
        """As a :class:`smaug_fast.traces.Trace` (requester 0 and tile -1 when unknown)."""
        from smaug_fast.traces import Trace

        return Trace.from_arrays(
            self.addr, self.nbytes, self.rw,
            0 if self.requester is None else self.requester,
            -1 if self.tile is None else self.tile,
            validate=False,
        )


def _as_levels(levels: Sequence[CacheConfig] | CacheConfig) -> tuple[CacheConfig, ...]:
    if isinstance(levels, CacheConfig):
        levels = (levels,)
    if isinstance(levels, (str, bytes)) or not isinstance(levels, Sequence) or len(levels) == 0:
        raise ConfigError(f"levels = {describe(levels)}: must be a non-empty sequence of CacheConfig")
    if len(levels) > MAX_LEVELS:
        raise ConfigError(f"levels: {len(levels)} levels, at most {MAX_LEVELS} are supported")
    for i, lv in enumerate(levels):
        if not isinstance(lv, CacheConfig):
            raise ConfigError(f"levels[{i}] = {describe(lv)}: must be a CacheConfig")
    return tuple(levels)


def _addresses(addrs: object, field: str = "addrs") -> np.ndarray:
    a = np.asarray(addrs)
    if a.ndim != 1:
        raise ConfigError(f"{field}: must be one-dimensional, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise ConfigError(f"{field}: must hold integers, got dtype {a.dtype}")
    a = a.astype(np.int64, copy=False)  # no copy when already int64
    if a.size and int(a.min()) < 0:
        raise ConfigError(f"{field}: negative address {int(a.min())} at index {int(a.argmin())}")
    return a


def _flags(is_write: object, n: int) -> np.ndarray:
    w = np.asarray(is_write)
    if w.ndim == 0:
        return np.full(n, 1 if bool(w) else 0, dtype=np.uint8)
    if w.shape != (n,):
        raise ConfigError(f"is_write: length {w.shape[0] if w.ndim else 0} != len(addrs) = {n}")
    if w.dtype == np.bool_:
        return w.view(np.uint8)
    if not np.issubdtype(w.dtype, np.integer):
        raise ConfigError(f"is_write: must be bool or 0/1 integers, got dtype {w.dtype}")
    if w.size and (int(w.min()) < 0 or int(w.max()) > 1):
        raise ConfigError(f"is_write: values must be 0 (read) or 1 (write), got {int(w.max())}")
    return w.astype(np.uint8, copy=False)


_ONE_SIZE = np.ones(1, dtype=np.int32)


def _sizes(nbytes: object, n: int) -> tuple[np.ndarray, int]:
    """(per-request array, uniform size or 0)."""
    s = np.asarray(nbytes)
    if s.ndim == 0:
        if not np.issubdtype(s.dtype, np.integer) or int(s) < 1:
            raise ConfigError(f"nbytes = {describe(nbytes)}: must be a positive integer")
        return _ONE_SIZE, int(s)
    if s.shape != (n,):
        raise ConfigError(f"nbytes: length {s.shape[0]} != len(addrs) = {n}")
    if not np.issubdtype(s.dtype, np.integer):
        raise ConfigError(f"nbytes: must hold integers, got dtype {s.dtype}")
    if s.size == 0:
        return _ONE_SIZE, 1
    lo, hi = int(s.min()), int(s.max())
    if lo < 1:
        raise ConfigError(f"nbytes: sizes must be >= 1, got {lo} at index {int(s.argmin())}")
    if hi > np.iinfo(np.int32).max:
        raise ConfigError(f"nbytes: sizes must fit int32, got {hi}")
    if lo == hi:
        return _ONE_SIZE, lo  # one size for all: the kernel need not read the array
    # one dtype for the kernel (a Trace's int32 passes without a copy): one compilation
    return s.astype(np.int32, copy=False), 0


class CacheHierarchy:
    """A hierarchy of cache levels whose contents persist across calls (warm caches between ops).

    Args:
        levels: level configurations, closest to the core first; the last one sits before memory.
        inclusive: False (default) for a non-inclusive non-exclusive hierarchy (NINE): a miss fills
            every level it passed and lower evictions leave upper levels alone. True: a lower level's
            eviction drops the line from the levels above (its dirty data merging into the victim).
        pycachesim_compat: reproduce pycachesim 0.3.1's counting quirks (memory_facts.md).
    """

    def __init__(
        self,
        levels: Sequence[CacheConfig] | CacheConfig,
        *,
        inclusive: bool = False,
        pycachesim_compat: bool = False,
    ) -> None:
        self.levels = _as_levels(levels)
        for name, flag in (("inclusive", inclusive), ("pycachesim_compat", pycachesim_compat)):
            if not isinstance(flag, bool):
                raise ConfigError(f"{name} = {describe(flag)}: must be True or False")
        self.inclusive = inclusive
        self.pycachesim_compat = pycachesim_compat
        for i, lv in enumerate(self.levels):
            if pycachesim_compat and lv.policy == "random" and lv.ways & (lv.ways - 1):
                raise ConfigError(
                    f"levels[{i}].ways = {lv.ways}: pycachesim's random policy needs a power of two"
                )
        nlev = len(self.levels)
        cfg = np.zeros((nlev, _k.CFG_N), dtype=np.int64)
        base = 0
        for i, lv in enumerate(self.levels):
            sets = lv.sets
            cfg[i] = (
                sets,
                lv.ways,
                lv.line_bytes.bit_length() - 1,
                _POLICY_IDS[lv.policy],
                int(lv.write_back),
                int(lv.write_allocate),
                base,
                sets - 1 if sets & (sets - 1) == 0 else -1,
                (lv.ways - 1).bit_length(),
            )
            base += sets * lv.ways
        self._cfg = cfg
        self._entries = base
        self._glob = np.zeros(_k.GLOB_N + nlev, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        """Invalidate every line and zero every counter (a cold hierarchy)."""
        self._tags = np.full(self._entries, -1, dtype=np.int64)
        self._stamp = np.full(self._entries, -1, dtype=np.int64)
        self._dirty = np.zeros(self._entries, dtype=np.uint8)
        self._cnt = np.zeros((len(self.levels) + 1, _k.CNT_N), dtype=np.int64)
        self._stack = _k.new_stack()
        self._memo = np.zeros(_k.MEMO_N, dtype=np.int64)
        self._memo[_k.MEMO_LINEWISE] = int(getattr(self, "_linewise", False))
        self._rec = np.zeros((1, 3), dtype=np.int64)  # grown when memory requests are recorded
        # copy_runs's level-1 entry of each level-0 entry's line (a hint it checks before use)
        self._hint = np.full(self.levels[0].sets * self.levels[0].ways, -1, dtype=np.int64)
        self._glob[:] = 0
        self._glob[_k.G_COMPAT] = int(self.pycachesim_compat)
        self._glob[_k.G_INCLUSIVE] = int(self.inclusive)
        for i, lv in enumerate(self.levels):
            # a non-zero xorshift state per level derived from the seed
            self._glob[_k.GLOB_N + i] = (lv.seed * 2654435761 + 0x9E3779B97F4A7C15 + i) & (2**63 - 1) or 1

    @property
    def linewise(self) -> bool:
        """True: run every line through the general line-by-line kernels, not the run paths (same
        counters and state, slower; the tests compare the two)."""
        return bool(self._memo[_k.MEMO_LINEWISE])

    @linewise.setter
    def linewise(self, flag: bool) -> None:
        self._linewise = bool(flag)
        self._memo[_k.MEMO_LINEWISE] = int(self._linewise)

    def reset_stats(self) -> None:
        """Zero the counters, keeping the contents (measure a warm steady state)."""
        self._cnt[:] = 0

    def _state(self):
        return (self._cfg, self._glob, self._tags, self._stamp, self._dirty, self._cnt, self._stack,
                self._memo, self._rec)

    def access(self, addrs, is_write=False, nbytes=8, *, level: int = 0, record: bool = False):
        """Run requests through the hierarchy, in order.

        Args:
            addrs: byte addresses, int (int64 is used as is, without a copy).
            is_write: bool or 0/1 per request, or one bool for all.
            nbytes: request size [B], one for all or one per request.
            level: where the requests enter: 0 for the core; a lower level for coherent (ACP)
                accesses, which first make the levels above write back (and, for writes, drop) their
                copies of the bytes.
            record: also return the requests that reached memory, in order (for the DRAM model).

        Returns None, or with ``record`` a :class:`MemoryRequests`.
        """
        a = _addresses(addrs)
        w = _flags(is_write, a.shape[0])
        sizes, uniform = _sizes(nbytes, a.shape[0])
        if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not 0 <= level < len(self.levels):
            raise ConfigError(f"level = {describe(level)}: must be an integer in [0, {len(self.levels) - 1}]")
        return self._run(a, w, sizes, uniform, int(level), record)

    def _run(self, a, w, sizes, uniform, level, record):
        if not isinstance(record, bool):
            raise ConfigError(f"record = {describe(record)}: must be True or False")
        n = a.shape[0]
        if not record:
            if n:
                _k.run_accesses(a, w, sizes, uniform, level, *self._state(), 0)
            return None
        m = self._memo
        cap = max(1024, min(n // 4, 1 << 22))
        parts = []
        i = 0
        try:
            while True:
                if self._rec.shape[0] < cap:
                    self._rec = np.empty((cap, 3), dtype=np.int64)
                m[_k.MEMO_RECCAP] = self._rec.shape[0]
                m[_k.MEMO_RECN] = 0
                i = _k.run_accesses(a, w, sizes, uniform, level, *self._state(), i) if i < n else n
                parts.append(self._rec[: m[_k.MEMO_RECN]].copy())
                if i >= n:
                    break
                cap = max(2 * int(m[_k.MEMO_NEED]), 2 * cap)
        finally:
            m[_k.MEMO_RECCAP] = 0
        rows = np.concatenate(parts) if parts else np.zeros((0, 3), np.int64)
        return MemoryRequests(
            addr=rows[:, 0].copy(),
            nbytes=rows[:, 1].astype(np.int32),
            rw=(rows[:, 2] & 1).astype(np.uint8),
            source=rows[:, 2] >> 1,
        )

    def acp(self, addrs, is_write=False, nbytes=8, *, record: bool = False):
        """Coherent accesses through the last-level cache (ARM ACP): see :meth:`access`."""
        return self.access(addrs, is_write, nbytes, level=len(self.levels) - 1, record=record)

    def run(self, trace, *, record: bool = False):
        """Run a :class:`smaug_fast.traces.Trace` through the hierarchy from the core side: its
        addresses, sizes and ``rw`` codes (read, write, and the FLUSH / INVALIDATE line sweeps).

        With ``record``, returns the requests that reached memory as a
        :class:`smaug_fast.traces.Trace` (requester and tile of the access that caused each) and
        the index of that access, as a :class:`MemoryRequests`."""
        a, rw, nb = trace.addr, trace.rw, trace.nbytes
        n = a.shape[0]
        for name, col, dt in (("addr", a, np.int64), ("rw", rw, np.uint8), ("nbytes", nb, np.int32)):
            if not isinstance(col, np.ndarray) or col.dtype != dt or col.shape != (n,):
                raise ConfigError(f"trace.{name}: expected a {np.dtype(dt).name} array of length {n}")
        if n == 0:
            return self._run(a, rw, _ONE_SIZE, 1, 0, record)
        # one pass over the columns for every check (numpy would take one per check)
        amin, nmin, nmax, rmax = (int(x) for x in _tracegen.trace_bounds(a, nb, rw))
        if amin < 0:
            raise ConfigError(f"trace.addr: negative address {amin} at index {int(np.argmin(a))}")
        if nmin < 1:
            raise ConfigError(f"trace.nbytes: sizes must be >= 1, got {nmin}")
        if rmax > 3:
            raise ConfigError(f"trace.rw: code {rmax} is not read/write/flush/invalidate (0-3)")
        sizes, uniform = (_ONE_SIZE, nmin) if nmin == nmax else (nb, 0)
        out = self._run(a, rw, sizes, uniform, 0, record)
        if out is not None and len(out.addr):
            src = np.maximum(out.source, 0)
            out = dataclasses.replace(out, requester=trace.requester[src], tile=trace.tile[src])
        return out

    def _range(self, addr: int, nbytes: int) -> tuple[int, int]:
        for name, v, lo in (("addr", addr, 0), ("nbytes", nbytes, 0)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ConfigError(f"{name} = {describe(v)}: must be an integer >= {lo}")
        return int(addr), int(nbytes)

    def flush(self, addr: int, nbytes: int) -> None:
        """Write back the dirty lines of ``[addr, addr + nbytes)`` at every level and invalidate them
        (a DMA read of a buffer the CPU wrote)."""
        addr, nbytes = self._range(addr, nbytes)
        if nbytes:
            _k.flush_range(addr, nbytes, False, *self._state())

    def invalidate(self, addr: int, nbytes: int) -> None:
        """Drop the lines of ``[addr, addr + nbytes)`` at every level without writing them back
        (before a DMA write into a buffer the CPU will read)."""
        addr, nbytes = self._range(addr, nbytes)
        if nbytes:
            _k.invalidate_range(addr, nbytes, self._cfg, self._tags, self._stamp, self._dirty, self._cnt)

    def stats(self) -> list[CacheStats]:
        """Counters per level, closest to the core first."""
        names = [f.name for f in fields(CacheStats)][1:]
        return [
            CacheStats(lv.name, **{k: int(v) for k, v in zip(names, self._cnt[i], strict=True)})
            for i, lv in enumerate(self.levels)
        ]

    def memory_traffic(self) -> MemoryTraffic:
        """Requests that went past the last level to memory."""
        row = self._cnt[len(self.levels)]
        return MemoryTraffic(*(int(x) for x in row[:4]))

    def contains(self, addr: int) -> list[bool]:
        """Whether each level holds the line of ``addr``."""
        addr, _ = self._range(addr, 0)
        out = []
        for i in range(len(self.levels)):
            sets, ways, shift, base = (int(self._cfg[i, c]) for c in (_k.C_SETS, _k.C_WAYS, _k.C_SHIFT, _k.C_BASE))
            line = addr >> shift
            b = base + (line % sets) * ways
            out.append(bool(np.any(self._tags[b : b + ways] == line)))
        return out

    # -- moved states (the memory pass's repeated blocks) --------------------------------------------

    def translatable(self) -> bool:
        """Whether what the hierarchy does next depends on addresses only through their differences and
        on use times only through their order: no random replacement (its generator's state does not move
        with the addresses) and no record of memory requests (it holds addresses)."""
        return all(lv.policy != "random" for lv in self.levels) and int(self._memo[_k.MEMO_RECCAP]) == 0

    def snapshot(self, into: CacheSnapshot | None = None) -> CacheSnapshot:
        """A copy of the contents, use times, dirty bits, clock and counters; written into the arrays of
        ``into`` (an earlier snapshot of this hierarchy, no longer needed) when given."""
        arrays = (self._tags, self._stamp, self._dirty, self._cnt)
        if into is None:
            copies = tuple(a.copy() for a in arrays)
        else:
            copies = (into.tags, into.stamp, into.dirty, into.cnt)
            for dst, src in zip(copies, arrays):
                np.copyto(dst, src)
        tags, stamp, dirty, cnt = copies
        return CacheSnapshot(tags, stamp, dirty, int(self._glob[_k.G_CLOCK]), cnt)

    def _level_parts(self) -> list[tuple[CacheConfig, slice]]:
        """Each level with the slice of the state arrays that holds its entries."""
        return [(lv, slice(int(self._cfg[i, _k.C_BASE]), int(self._cfg[i, _k.C_BASE]) + lv.sets * lv.ways))
                for i, lv in enumerate(self.levels)]

    def _moved(self, tags, stamp, dirty, delta_bytes: int, dclock: int) -> tuple[np.ndarray, ...]:
        """(tags, stamp, dirty) of a state whose every line lies ``delta_bytes`` further on and whose
        every use came ``dclock`` later. A line of level i moves ``delta_bytes / line`` lines on, so to
        the set that many sets on modulo the set count (the set is the line number modulo it), in the
        same way; empty ways stay empty."""
        out = (np.empty_like(tags), np.empty_like(stamp), np.empty_like(dirty))
        for lv, part in self._level_parts():
            if delta_bytes % lv.line_bytes:
                raise ValueError(f"a move of {delta_bytes} B is not a whole number of {lv.line_bytes}-B lines")
            d = delta_bytes // lv.line_bytes
            for src, dst in zip((tags, stamp, dirty), out):
                dst[part] = np.roll(src[part].reshape(lv.sets, lv.ways), d % lv.sets, axis=0).ravel()
            t, s = out[0][part], out[1][part]
            valid = t >= 0
            t[valid] += d
            s[valid] += dclock
        return out

    def _by_use(self, tags, stamp, dirty, delta_bytes: int = 0) -> list[np.ndarray]:
        """Per level [sets, ways]: each set's ``2 line + dirty bit`` (-2: an empty way) from the least
        recently used (or first filled) way to the most, empty ways first; with ``delta_bytes``, of the
        state moved that far (:meth:`_moved`). The hierarchy counts alike from two states with equal such
        arrays: a victim is the way of least use time in its set (an empty one first), so neither which
        way holds a line nor the use times' values matter, only their order in a set (valid use times in
        a set are distinct: the clock advances with every use)."""
        out = []
        for lv, part in self._level_parts():
            order = np.argsort(stamp[part].reshape(lv.sets, lv.ways), axis=1, kind="stable")
            held = (2 * tags[part] + dirty[part]).reshape(lv.sets, lv.ways)
            held = np.take_along_axis(held, order, axis=1)
            if delta_bytes:
                d = delta_bytes // lv.line_bytes
                held = np.roll(held, d % lv.sets, axis=0)
                held[held >= 0] += 2 * d
            out.append(held)
        return out

    def is_moved(self, snap: CacheSnapshot, delta_bytes: int) -> bool:
        """Whether the state now is ``snap``'s with every line ``delta_bytes`` on (:meth:`_moved`), up to
        which way of its set holds a line and the values of the use times (:meth:`_by_use`): then the
        same requests, each ``delta_bytes`` on, count now exactly as they did from ``snap``."""
        if any(delta_bytes % lv.line_bytes for lv in self.levels):
            return False
        # first what is cheap to compare: per level the lines held, the sum of their numbers, the dirty ones
        for lv, part in self._level_parts():
            then, now = snap.tags[part], self._tags[part]
            held = int(np.count_nonzero(then >= 0))
            dirty_then, dirty_now = np.count_nonzero(snap.dirty[part]), np.count_nonzero(self._dirty[part])
            if (held != np.count_nonzero(now >= 0) or dirty_then != dirty_now
                    or int(then[then >= 0].sum()) + held * (delta_bytes // lv.line_bytes) != int(now[now >= 0].sum())):
                return False
        moved = self._by_use(snap.tags, snap.stamp, snap.dirty, delta_bytes)
        return all(np.array_equal(a, b) for a, b in zip(moved, self._by_use(self._tags, self._stamp, self._dirty)))

    def move(self, delta_bytes: int, dclock: int, counts: np.ndarray) -> None:
        """Move the state ``delta_bytes`` on and ``dclock`` uses later (:meth:`_moved`; the clock too, so
        that it stays ahead of every use time), and add ``counts`` [levels + 1, CNT_N] to the counters:
        what the requests that moved the state here from one :meth:`is_moved` from it, each moved
        ``delta_bytes`` on, would leave, up to the ways and use-time values :meth:`_by_use` ignores (the
        memory pass skips a repeated block's copies this way)."""
        self._tags[:], self._stamp[:], self._dirty[:] = self._moved(self._tags, self._stamp, self._dirty,
                                                                     delta_bytes, dclock)
        self._glob[_k.G_CLOCK] += dclock
        self._cnt += counts
        self._hint[:] = -1  # entries moved: copy_runs's hints point elsewhere now


@dataclass(frozen=True, eq=False)
class CacheSnapshot:
    """A copy of a :class:`CacheHierarchy`'s state (:meth:`CacheHierarchy.snapshot`)."""

    tags: np.ndarray
    stamp: np.ndarray
    dirty: np.ndarray
    clock: int
    cnt: np.ndarray


def simulate_caches(
    addrs,
    is_write,
    levels: Sequence[CacheConfig] | CacheConfig,
    nbytes=8,
    *,
    inclusive: bool = False,
    pycachesim_compat: bool = False,
) -> list[CacheStats]:
    """Run one trace through a cold hierarchy and return the counters per level.

    See :class:`CacheHierarchy` for the arguments; ``is_write`` may be one bool for all requests.
    """
    h = CacheHierarchy(levels, inclusive=inclusive, pycachesim_compat=pycachesim_compat)
    h.access(addrs, is_write, nbytes)
    return h.stats()
