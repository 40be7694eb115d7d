"""A slow, obviously-correct cache hierarchy written from the conventions of memory_facts.md.

Plain Python: one list per set ordered from most to least recently used (LRU) or newest to oldest
(FIFO), plain recursion between levels. The jitted model must match it counter for counter.
``compat=True`` follows pycachesim 0.3.1's backend instead (store hits not counted and not
refreshing LRU; a store miss counted as a load miss plus a store; write-backs that fetch on a miss).
"""

from __future__ import annotations

import random


class Level:
    def __init__(self, size_bytes, ways, line_bytes, policy="lru", write_back=True, write_allocate=True):
        self.sets = size_bytes // (ways * line_bytes)
        self.ways = ways
        self.line = line_bytes
        self.policy = policy
        self.wb = write_back
        self.wa = write_allocate
        self.content = [[] for _ in range(self.sets)]  # each entry [line, dirty]
        self.c = dict.fromkeys(
            "loads stores load_hits load_misses store_hits store_misses dirty_evictions "
            "clean_evictions writebacks fetches back_invalidations invalidations".split(), 0
        )

    def find(self, ln):
        for entry in self.content[ln % self.sets]:
            if entry[0] == ln:
                return entry
        return None


class Hierarchy:
    def __init__(self, levels, inclusive=False, compat=False):
        self.levels = levels
        self.inclusive = inclusive
        self.compat = compat
        self.mem = {"reads": 0, "writes": 0, "read_bytes": 0, "write_bytes": 0}
        self.log = []  # (addr, nbytes, write, index of the access) of every memory request
        self.src = -1

    def _touch(self, lv, entry):
        s = self.levels[lv].content[entry[0] % self.levels[lv].sets]
        s.remove(entry)
        s.insert(0, entry)

    def _fill(self, lv, ln, dirty):
        L = self.levels[lv]
        s = L.content[ln % L.sets]
        victim = s.pop() if len(s) == L.ways else None
        s.insert(0, [ln, dirty])
        if victim is None:
            return
        vdirty = victim[1]
        if self.inclusive and lv > 0:
            lo = victim[0] * L.line
            for j in range(lv):
                U = self.levels[j]
                for up in range(lo // U.line, (lo + L.line - 1) // U.line + 1):
                    e = U.find(up)
                    if e is not None:
                        vdirty = vdirty or e[1]
                        U.content[up % U.sets].remove(e)
                        U.c["back_invalidations"] += 1
        if vdirty:
            L.c["dirty_evictions"] += 1
            L.c["writebacks"] += 1
            self.access(lv + 1, victim[0] * L.line, L.line, "wb")
        else:
            L.c["clean_evictions"] += 1

    def access(self, lv, addr, nbytes, kind):
        """kind: 'load', 'store' or 'wb' (a whole evicted line, or part of one)."""
        if lv == len(self.levels):
            self.log.append((addr, nbytes, kind != "load", self.src))
            if kind == "load":
                self.mem["reads"] += 1
                self.mem["read_bytes"] += nbytes
            else:
                self.mem["writes"] += 1
                self.mem["write_bytes"] += nbytes
            return
        L = self.levels[lv]
        L.c["loads" if kind == "load" else "stores"] += 1
        end = addr + nbytes
        for ln in range(addr // L.line, (end - 1) // L.line + 1):
            lo = ln * L.line
            s_lo, s_hi = max(addr, lo), min(end, lo + L.line)
            full = (s_lo, s_hi) == (lo, lo + L.line)
            entry = L.find(ln)
            if kind == "load":
                if entry is not None:
                    L.c["load_hits"] += 1
                    if L.policy == "lru":
                        self._touch(lv, entry)
                else:
                    L.c["load_misses"] += 1
                    L.c["fetches"] += 1
                    self.access(lv + 1, lo, L.line, "load")
                    self._fill(lv, ln, False)
                continue
            forward = False
            if entry is not None:
                if not self.compat:
                    L.c["store_hits"] += 1
                    if L.policy == "lru":
                        self._touch(lv, entry)
                if L.wb:
                    entry[1] = True
                else:
                    forward = True
            elif self.compat:
                if L.wa:
                    L.c["loads"] += 1
                    L.c["load_misses"] += 1
                    L.c["fetches"] += 1
                    self.access(lv + 1, lo, L.line, "load")
                    self._fill(lv, ln, L.wb)
                    forward = not L.wb
                elif L.wb:
                    self._fill(lv, ln, True)
                else:
                    forward = True
            else:
                L.c["store_misses"] += 1
                if not L.wa:
                    forward = True
                else:
                    if not (full and kind == "wb"):
                        L.c["fetches"] += 1
                        self.access(lv + 1, lo, L.line, "load")
                    self._fill(lv, ln, L.wb)
                    forward = not L.wb
            if forward:
                L.c["writebacks"] += 1
                self.access(lv + 1, s_lo, s_hi - s_lo, "wb" if full else "store")

    def run(self, addrs, writes, nbytes):
        sizes = nbytes if hasattr(nbytes, "__len__") else [nbytes] * len(addrs)
        for i, (a, w, n) in enumerate(zip(addrs, writes, sizes)):
            self.src = i
            self.access(0, int(a), int(n), "store" if w else "load")

    def flush(self, addr, nbytes, discard=False):
        for j, L in enumerate(self.levels):
            for ln in range(addr // L.line, (addr + nbytes - 1) // L.line + 1):
                e = L.find(ln)
                if e is None:
                    continue
                L.content[ln % L.sets].remove(e)
                L.c["invalidations"] += 1
                if e[1] and not discard:
                    L.c["writebacks"] += 1
                    self.access(j + 1, ln * L.line, L.line, "wb")

    def counters(self):
        return [dict(L.c) for L in self.levels]


def random_trace(seed, n, span, write_fraction=0.3, max_bytes=8):
    rng = random.Random(seed)
    addrs = [rng.randrange(span) for _ in range(n)]
    writes = [rng.random() < write_fraction for _ in range(n)]
    sizes = [rng.randint(1, max_bytes) for _ in range(n)]
    return addrs, writes, sizes
