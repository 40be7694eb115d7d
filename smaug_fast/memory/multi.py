"""One L1 and many L2 configurations (``MultiL2``), for sweeps over the L2's size and associativity: the
L1 runs once, each L2 (or each group of one set count, by stack processing) walks what reached it.

The jitted core is :mod:`smaug_fast.kernels.multicache` (stack processing after Mattson et al. 1970,
Hill and Smith 1989, Thompson and Smith 1989: see its docstring). Every configuration's counters are
those a :class:`~smaug_fast.memory.CacheHierarchy` of the L1 and that L2 alone would count on the same
accesses (non-inclusive, no pycachesim quirks); :func:`multi_ok` says which hierarchies qualify.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

import numpy as np

from ..errors import ConfigError, describe
from ..kernels import cache as _k
from ..kernels import multicache as _m
from .cache import CacheStats, MemoryTraffic
from .config import CacheConfig


#: Configurations of one set count that walk together as one stack; fewer walk alone (plain LRU sets).
#: On ResNet50's events (16.5 M, 32 B lines, AMD EPYC, 2 busy cores) a plain walk costs 7-8 ns an event
#: at 4 ways, 16-19 ns at 32; one stack of 4, 8, 16 and 32 ways 21-29 ns, of 16 and 32 about 24 ns, of
#: 32 ways alone 21-27 ns: a stack pays from two configurations on.
STACK_MIN = 2


def multi_ok(l1: CacheConfig, l2: CacheConfig) -> str | None:
    """None when an (``l1``, ``l2``) hierarchy can be one configuration of a :class:`MultiL2`, else why not
    (the reason names the field and its value)."""
    for lv in (l1, l2):
        if not lv.write_back:
            return f"{lv.name}.write_back = False: only write-back levels"
        if not lv.write_allocate:
            return f"{lv.name}.write_allocate = False: only write-allocate levels"
    if l1.policy not in ("lru", "fifo"):
        return f"{l1.name}.policy = {l1.policy!r}: the L1 must be 'lru' or 'fifo'"
    if l2.policy != "lru":
        return f"{l2.name}.policy = {l2.policy!r}: the L2 must be 'lru' (stack processing)"
    if l2.line_bytes != l1.line_bytes:
        return f"{l2.name}.line_bytes = {l2.line_bytes}: must equal {l1.name}.line_bytes = {l1.line_bytes}"
    return None


class MultiL2:
    """One L1 (``l1``) in front of each of several L2s (``l2s``): the L1 runs once and records what reaches
    the L2 (an event list); the L2s' counters come from walks over it (:meth:`l2_counters`), each
    configuration alone or, from ``stack_min`` of one set count on, together by stack processing. Contents
    persist across calls. Every call takes whole-line accesses (byte addresses; each access is counted as
    one lookup of the line that holds its address).

    Args:
        l1: the L1 (write-back, write-allocate, LRU or FIFO).
        l2s: the L2 configurations (1 or more), each with ``multi_ok(l1, l2)``.
        stack_min: configurations of one set count that walk together as one stack (fewer walk alone);
            the counters do not depend on it.
        events: room for this many events at first (the list grows as needed).

    Raises ConfigError naming the configuration and field that does not qualify.
    """

    def __init__(self, l1: CacheConfig, l2s: Sequence[CacheConfig], *, stack_min: int = STACK_MIN,
                 events: int = 1 << 16) -> None:
        if not isinstance(l1, CacheConfig):
            raise ConfigError(f"l1 = {describe(l1)}: must be a CacheConfig")
        if isinstance(l2s, (str, bytes)) or not isinstance(l2s, Sequence) or len(l2s) == 0:
            raise ConfigError(f"l2s = {describe(l2s)}: must be a non-empty sequence of CacheConfigs")
        for i, c in enumerate(l2s):
            if not isinstance(c, CacheConfig):
                raise ConfigError(f"l2s[{i}] = {describe(c)}: must be a CacheConfig")
            why = multi_ok(l1, c)
            if why is not None:
                raise ConfigError(f"l2s[{i}]: {why}")
        if isinstance(stack_min, bool) or not isinstance(stack_min, int) or stack_min < 1:
            raise ConfigError(f"stack_min = {describe(stack_min)}: must be an integer >= 1")
        if isinstance(events, bool) or not isinstance(events, int) or events < 1:
            raise ConfigError(f"events = {describe(events)}: must be an integer >= 1")
        self._room = events
        self.l1 = l1
        self.l2s = tuple(l2s)
        # the walks: per set count, its configurations together (a stack) or each alone
        by_sets: dict[int, list[int]] = {}
        for i, c in enumerate(self.l2s):
            by_sets.setdefault(c.sets, []).append(i)
        self._walks: list[tuple[int, list[int]]] = []
        for sets, members in by_sets.items():
            if len(members) >= stack_min:
                for k in range(0, len(members), _m.MAX_CONFIGS):
                    self._walks.append((sets, members[k:k + _m.MAX_CONFIGS]))
            else:
                self._walks.extend((sets, [i]) for i in members)
        sets1 = l1.sets
        self._l1 = np.array([sets1, l1.ways, l1.line_bytes.bit_length() - 1,
                             sets1 - 1 if sets1 & (sets1 - 1) == 0 else -1, (l1.ways - 1).bit_length(),
                             int(l1.policy == "lru"), 0], dtype=np.int64)
        self.shift = l1.line_bytes.bit_length() - 1
        self.reset()

    def reset(self) -> None:
        """Invalidate every line and zero every counter (forget every event)."""
        n1 = self.l1.sets * self.l1.ways
        self._l1[_m.L1_CLOCK] = 0
        self._tags1 = np.full(n1, -1, dtype=np.int64)
        self._stamp1 = np.full(n1, -1, dtype=np.int64)
        self._dirty1 = np.zeros(n1, dtype=np.uint8)
        self._cnt1 = np.zeros(_k.CNT_N, dtype=np.int64)
        self._ev = np.empty(self._room, dtype=np.int64)
        self._evn = np.zeros(1, dtype=np.int64)

    def _state(self):
        return (self._l1, self._tags1, self._stamp1, self._dirty1, self._cnt1, self._ev, self._evn)

    def _reserve(self, events: int) -> None:
        n = int(self._evn[0])
        if n + events > self._ev.shape[0]:
            grown = np.empty(max(2 * self._ev.shape[0], n + events), dtype=np.int64)
            grown[:n] = self._ev[:n]
            self._ev = grown

    def position(self) -> int:
        """Events recorded so far (a position for :meth:`l2_counters`)."""
        return int(self._evn[0])

    def _lines(self, addrs, is_write) -> tuple[np.ndarray, np.ndarray]:
        a = np.asarray(addrs)
        if a.ndim != 1 or (a.size and not np.issubdtype(a.dtype, np.integer)):
            raise ConfigError(f"addrs: must be a one-dimensional integer array, got {describe(addrs)}")
        a = a.astype(np.int64, copy=False)
        if a.size and int(a.min()) < 0:
            raise ConfigError(f"addrs: negative address {int(a.min())} at index {int(a.argmin())}")
        w = np.asarray(is_write)
        if w.ndim == 0:
            w = np.full(a.shape[0], int(bool(w)), dtype=np.uint8)
        elif w.shape != a.shape:
            raise ConfigError(f"is_write: length {w.shape[0] if w.ndim else 0} != len(addrs) = {a.shape[0]}")
        self._reserve(2 * a.shape[0])
        return a >> self.shift, w.astype(np.uint8, copy=False)

    def access(self, addrs, is_write=False) -> None:
        """Core reads or writes (``is_write``: one bool, or one per access) of the lines of ``addrs``."""
        lines, w = self._lines(addrs, is_write)
        if lines.shape[0]:
            _m.access_lines(lines, w, *self._state())

    def acp(self, addrs, is_write=False) -> None:
        """Coherent (ACP) reads or writes of the lines of ``addrs`` at the L2 (the L1 writes back its dirty
        copies first, and drops them on a write)."""
        lines, w = self._lines(addrs, is_write)
        if lines.shape[0]:
            _m.acp_lines(lines, w, *self._state())

    def _range(self, addr: int, nbytes: int, discard: bool) -> None:
        for name, v in (("addr", addr), ("nbytes", nbytes)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ConfigError(f"{name} = {describe(v)}: must be an integer >= 0")
        if nbytes:
            lo, hi = int(addr) >> self.shift, (int(addr) + int(nbytes) - 1) >> self.shift
            self._reserve(2 * (hi - lo + 1))
            _m.flush_lines(lo, hi, discard, *self._state())

    def flush(self, addr: int, nbytes: int) -> None:
        """Write back the dirty lines of ``[addr, addr + nbytes)`` at both levels and invalidate them."""
        self._range(addr, nbytes, False)

    def invalidate(self, addr: int, nbytes: int) -> None:
        """Drop the lines of ``[addr, addr + nbytes)`` at both levels without writing them back."""
        self._range(addr, nbytes, True)

    def copy_tiles(self, shape, esize, host_base, origins, sizes, buf_bases, gather):
        """``kernels.copies.copy_tiles`` through the L1: (runs, bytes, the L1's counter changes int64
        [tiles, CNT_N], the position before each tile and after the last int64 [tiles + 1])."""
        from ..kernels.copies import copy_tiles_multi

        runs, nbytes, d1, pos, self._ev = copy_tiles_multi(shape, esize, host_base, origins, sizes, buf_bases,
                                                           gather, *self._state())
        return runs, nbytes, d1, pos

    def l2_counters(self, pos) -> np.ndarray:
        """The walks' counters after the first ``pos[m]`` events (positions, non-decreasing):
        int64 [positions, configurations + 1, Q_N], configurations in the order of ``l2s``, the last row
        the requests of each kind (columns ``E_LOAD``, ``E_WB``, ``E_STORE``). See :meth:`arrange`."""
        pos = np.asarray(pos, dtype=np.int64)
        n = self.position()
        if pos.ndim != 1 or (pos.size and (int(pos.min()) < 0 or int(pos.max()) > n or np.any(np.diff(pos) < 0))):
            raise ConfigError(f"pos: must be non-decreasing positions in [0, {n}]")
        out = np.zeros((pos.shape[0], len(self.l2s) + 1, _m.Q_N), dtype=np.int64)
        ev = self._ev
        for sets, members in self._walks:
            if len(members) == 1:
                c = self.l2s[members[0]]
                _m.lru_walk(ev, n, pos, sets, c.ways, out[:, members[0]])
            else:
                ways = np.array([self.l2s[i].ways for i in members], dtype=np.int64)
                part = np.zeros((pos.shape[0], len(members), _m.Q_N), dtype=np.int64)
                _m.stack_walk(ev, n, pos, sets, ways, part)
                out[:, members] = part
        _m.request_counts(ev, n, pos, out[:, -1])
        return out

    def counters(self) -> np.ndarray:
        """int64 [configs, 3, CNT_N] in the order of ``l2s``: per configuration the L1's counters, the
        L2's and memory's (the rows of ``CacheHierarchy._cnt`` of that hierarchy)."""
        return self.arrange(self._cnt1, self.l2_counters([self.position()])[0])

    def arrange(self, c1: np.ndarray, c2: np.ndarray) -> np.ndarray:
        """Counters (or changes of counters) of the L1 ``c1`` [..., CNT_N] and of the walks ``c2``
        [..., configs + 1, Q_N] (:meth:`l2_counters`) as [..., configs, 3, CNT_N]: per configuration the
        L1's, the L2's and memory's counters, each a sum of the walks' (they count per configuration only
        hits, evictions, flush write-backs and invalidations; the requests are the same for all)."""
        n = len(self.l2s)
        q = c2[..., :n, :]
        req = c2[..., n, None, :]  # requests by kind, [..., 1, Q_N]
        loads, wbs, stores = req[..., _m.E_LOAD], req[..., _m.E_WB], req[..., _m.E_STORE]
        load_hits = q[..., _m.Q_LOAD_HITS]
        store_hits = q[..., _m.Q_WB_HITS] + q[..., _m.Q_STORE_HITS]
        fetches = loads - load_hits + stores - q[..., _m.Q_STORE_HITS]
        writebacks = q[..., _m.Q_DIRTY_EV] + q[..., _m.Q_FLUSH_WB]
        line = self.l1.line_bytes
        out = np.zeros((*c2.shape[:-2], n, 3, _k.CNT_N), dtype=np.int64)
        out[..., 0, :] = c1[..., None, :]
        l2, mem = out[..., 1, :], out[..., 2, :]
        l2[..., _k.N_LOADS] = loads
        l2[..., _k.N_STORES] = wbs + stores
        l2[..., _k.N_LOAD_HITS] = load_hits
        l2[..., _k.N_LOAD_MISSES] = loads - load_hits
        l2[..., _k.N_STORE_HITS] = store_hits
        l2[..., _k.N_STORE_MISSES] = wbs + stores - store_hits
        l2[..., _k.N_DIRTY_EVICT] = q[..., _m.Q_DIRTY_EV]
        l2[..., _k.N_CLEAN_EVICT] = q[..., _m.Q_CLEAN_EV]
        l2[..., _k.N_WRITEBACKS] = writebacks
        l2[..., _k.N_FETCHES] = fetches
        l2[..., _k.N_INVAL] = q[..., _m.Q_INVAL]
        mem[..., _k.M_READS] = fetches
        mem[..., _k.M_WRITES] = writebacks
        mem[..., _k.M_READ_BYTES] = fetches * line
        mem[..., _k.M_WRITE_BYTES] = writebacks * line
        return out

    def stats(self, i: int) -> list[CacheStats]:
        """The counters of configuration ``i`` (L1, L2) as :class:`CacheStats`."""
        names = [f.name for f in fields(CacheStats)][1:]
        cnt = self.counters()[i]
        return [CacheStats(lv.name, **{k: int(v) for k, v in zip(names, cnt[j], strict=True)})
                for j, lv in enumerate((self.l1, self.l2s[i]))]

    def memory_traffic(self, i: int) -> MemoryTraffic:
        """Requests of configuration ``i`` that went past its L2 to memory."""
        return MemoryTraffic(*(int(x) for x in self.counters()[i, 2, :4]))


__all__ = ["MultiL2", "multi_ok"]
