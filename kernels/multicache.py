"""One L1 and many LRU L2 configurations in one trace walk: the kernels behind ``smaug_fast.memory.MultiL2``.

The L1 is one set-associative level exactly as in :mod:`.cache` (LRU or FIFO, write-back, write-allocate,
the same victim choice and counters). Under a non-inclusive (NINE) hierarchy nothing the L2 does reaches
back into the L1, so the stream of requests the L1 sends down (fetches of its misses, write-backs of its
dirty victims and of flushed lines, ACP snoop write-backs) is the same whatever the L2 is; what goes to
each L2 configuration differs only in how that configuration answers it.

The L2 configurations share a line size and are LRU, write-back and write-allocate; they may differ in
size and associativity. They are simulated together with stack processing (Mattson, Gecsei, Slutz and
Traiger, "Evaluation techniques for storage hierarchies", IBM Systems Journal 9(2), 1970): LRU has the
inclusion property, so for a fixed number of sets one recency stack per set, as deep as the largest
associativity, holds the contents of every associativity at once: a W-way cache holds exactly the lines
at depths 0 .. W-1 of its set's stack, and a reference at depth d hits every cache of more than d ways.
Configurations of one set count share those stacks (Hill and Smith, "Evaluating associativity in CPU
caches", IEEE Trans. Computers 38(12), 1989, section 3: one stack simulation per set count serves every
associativity); configurations of different set counts get stacks of their own (Hill and Smith's
all-associativity walk over one fully associative stack would serve them too, but it must walk down
to the W-th line of x's set in the finest set mapping, tens of thousands of entries for a multi-MiB
L2). Dirty lines follow Thompson and Smith ("Efficient (stack) algorithms for analysis of write-back
and sector memories", ACM TOCS 7(1), 1989): each stack entry carries the set of configurations in
which it is dirty (one bit per configuration): a write makes it dirty everywhere, a read keeps it
dirty only where it hit (a miss reloads it clean); a line leaving depth W - 1 for depth W is a dirty
eviction of the W-way cache when its bit is set there.

Invalidations (DMA flushes, ACP write snoops are the L1's) leave a *hole* at the line's depth instead
of closing the gap, because in every cache that held the line one way is now empty and the next miss
fills it without evicting: a reference at depth d (d = the stack depth for a line not in the stack)
shifts the entries above it down by one only as far as the first hole above d, which it consumes; a
cache of W ways with that hole at depth < W misses without evicting, one with the hole at depth >= W
evicts its line at depth W - 1 as usual; when a hole is consumed, the referenced line's old place
(if any) becomes the hole (its caches keep their empty way). A cold cache is a stack of holes.
The result is the same counters, in every configuration, as running :mod:`.cache` on it alone
(``tests/test_multicache.py`` compares them on random traces with flushes, invalidations and ACP).

State (arrays, updated in place):

``l1``     int64 [L1_N]: sets, ways, log2(line size), set mask (-1: sets not a power of two), way bits,
           LRU (1) or FIFO (0), use clock.
``tags1``, ``stamp1`` int64, ``dirty1`` uint8 [sets * ways]: the L1 as in :mod:`.cache` (-1: invalid).
``cnt1``   int64 [CNT_N]: the L1's counters (columns of :mod:`.cache`).
``grp``    int64 [groups, 4]: per set count: set mask (sets - 1; sets must be a power of two), stack
           depth (the largest associativity of the group), first entry of its stacks, first of its heads.
``first``  int64 [groups + 1]: configurations ``first[g] .. first[g + 1] - 1`` belong to group g.
``ways``   int64 [configs]: associativity of each configuration (at most 64 configurations).
``stag``   int64 [entries]: the stacks, one ring of ``depth`` entries per set (entry = first + set * depth
           + k): the line at each depth, -1 for a hole.
``sdirty`` uint64 [entries]: per entry the configurations (bits) in which its line is dirty.
``shead``  int64 [sets of every group]: the ring index of each stack's top (depth d is ring index
           head + d, modulo depth), so that a line new to the stack goes on top in constant time.
``cnt2``   int64 [configs + 1, Q_N]: per configuration its hits per request kind, evictions, flush
           write-backs and invalidations; the last row, the requests of each kind (every configuration
           sees them all). :meth:`smaug_fast.memory.multi.MultiL2.arrange` derives the L2's and memory's
           counters (columns of :mod:`.cache`) from these.
"""

from __future__ import annotations

import numpy as np

from . import cache as _c
from ._jit import jit

# l1 entries
L1_SETS, L1_WAYS, L1_SHIFT, L1_MASK, L1_WBITS, L1_LRU, L1_CLOCK = range(7)
L1_N = 7
# what reaches the L2: a load (an L1 fetch, an ACP read), a write-back of a whole dirty line (no fetch
# on a miss), an ACP store (a write that fetches the line on a miss)
R_LOAD, R_WB, R_STORE = 0, 1, 2
# ``cnt2`` columns: per configuration hits by request kind (Q_LOAD_HITS + kind), dirty and clean evictions,
# dirty lines written back by flushes, invalidations; the last row counts the requests of each kind
Q_LOAD_HITS, Q_WB_HITS, Q_STORE_HITS, Q_DIRTY_EV, Q_CLEAN_EV, Q_FLUSH_WB, Q_INVAL = range(7)
Q_N = 7
#: The deepest stack (largest associativity) a walk takes.
MAX_WAYS = 4096
#: Configurations one walk serves (one bit each in ``sdirty``).
MAX_CONFIGS = 64


@jit(inline="always", _nrt=False, error_model="numpy")
def _scan_stack(stag, sb, dmax, head, x):
    """(depth of line ``x``, depth of the first hole) in the stack of ``dmax`` entries at ``sb`` whose top
    is entry ``head`` (``dmax``: none). One pass without branches over the entries (the compiler
    vectorizes it); an entry's depth is its distance from the top, around the ring."""
    ub = np.uint64(sb)
    p = dmax
    h = dmax
    for k in range(dmax):
        t = stag[ub + np.uint64(k)]
        d = k - head + (dmax if k < head else 0)
        p = min(p, d if t == x else dmax)
        h = min(h, d if t < 0 else dmax)
    return p, h


@jit(inline="always", _nrt=False, error_model="numpy")
def _at(sb, dmax, head, d):
    """Entry of depth ``d`` of a stack (ring of ``dmax`` entries at ``sb``, top at ``head``)."""
    k = head + d
    return sb + (k - dmax if k >= dmax else k)


@jit(inline="always", _nrt=False, error_model="numpy")
def _l2_ref(x, kind, grp, first, ways, stag, sdirty, shead, cnt2):
    """One reference of line ``x`` (``kind``: R_LOAD, R_WB, R_STORE) to every L2 configuration."""
    nc = cnt2.shape[0] - 1
    cnt2[nc, kind] += 1  # every configuration counts the request
    for g in range(grp.shape[0]):
        dmax = grp[g, 1]
        s = grp[g, 3] + (x & grp[g, 0])
        sb = grp[g, 2] + (x & grp[g, 0]) * dmax
        head = shead[s]
        p, h = _scan_stack(stag, sb, dmax, head, x)
        m = sdirty[_at(sb, dmax, head, p)] if p < dmax else np.uint64(0)
        hit = np.uint64(0)
        every = np.uint64(0)
        for c in range(first[g], first[g + 1]):
            w = ways[c]
            bit = np.uint64(1) << np.uint64(c)
            every |= bit
            if p < w:
                hit |= bit
                cnt2[c, Q_LOAD_HITS + kind] += 1
            elif h >= w:
                # no empty way among this cache's w: its line at depth w - 1 (valid, as w - 1 < p) goes
                if sdirty[_at(sb, dmax, head, w - 1)] & bit:
                    cnt2[c, Q_DIRTY_EV] += 1
                else:
                    cnt2[c, Q_CLEAN_EV] += 1
        newm = (m & hit) if kind == R_LOAD else every
        if h >= p and p == dmax:
            # a line in no cache and no hole: it goes on top, the deepest line falls out (the ring turns)
            head = head - 1 if head > 0 else dmax - 1
            shead[s] = head
        else:
            if h < p:
                # the hole at depth h is filled; x's old depth (if any) is the hole now (its caches keep
                # the empty way)
                end = h
                if p < dmax:
                    e = _at(sb, dmax, head, p)
                    stag[e] = -1
                    sdirty[e] = 0
            else:
                end = p
            for d in range(end, 0, -1):
                e = _at(sb, dmax, head, d)
                f = _at(sb, dmax, head, d - 1)
                stag[e] = stag[f]
                sdirty[e] = sdirty[f]
        stag[sb + head] = x
        sdirty[sb + head] = newm


@jit(inline="always", _nrt=False, error_model="numpy")
def _l2_flush(x, discard, grp, first, ways, stag, sdirty, shead, cnt2):
    """Flush (write back if dirty, then invalidate) or, with ``discard``, invalidate line ``x`` in every
    L2 configuration that holds it; its depth in the stack becomes a hole."""
    for g in range(grp.shape[0]):
        dmax = grp[g, 1]
        sb = grp[g, 2] + (x & grp[g, 0]) * dmax
        head = shead[grp[g, 3] + (x & grp[g, 0])]
        p, _ = _scan_stack(stag, sb, dmax, head, x)
        if p == dmax:
            continue
        e = _at(sb, dmax, head, p)
        m = sdirty[e]
        for c in range(first[g], first[g + 1]):
            if p < ways[c]:
                cnt2[c, Q_INVAL] += 1
                if not discard and (m & (np.uint64(1) << np.uint64(c))):
                    cnt2[c, Q_FLUSH_WB] += 1
        stag[e] = -1
        sdirty[e] = 0


@jit(inline="always", _nrt=False, error_model="numpy")
def _l1_set(l1, ln):
    mask = l1[L1_MASK]
    return (ln & mask if mask >= 0 else ln % l1[L1_SETS]) * l1[L1_WAYS]


@jit(inline="always", _nrt=False, error_model="numpy")
def _access(ln, w, l1, tags1, stamp1, dirty1, cnt1, grp, first, ways, stag, sdirty, shead, cnt2):
    """A core read (``w`` 0) or write (1) of one whole L1 line ``ln``: the L1's lookup; on a miss the
    L2's fetch of the line, then the L1's fill, whose dirty victim is written back to the L2 (the
    order of ``cache._single_line``)."""
    b0 = _l1_set(l1, ln)
    e, v = _c._scan_set(tags1, stamp1, b0, l1[L1_WAYS], l1[L1_WBITS], ln)
    if w == 0:
        cnt1[_c.N_LOADS] += 1
    else:
        cnt1[_c.N_STORES] += 1
    if e >= 0:
        if w == 0:
            cnt1[_c.N_LOAD_HITS] += 1
        else:
            cnt1[_c.N_STORE_HITS] += 1
            dirty1[e] = 1
        if l1[L1_LRU]:
            clock = l1[L1_CLOCK] + 1
            l1[L1_CLOCK] = clock
            stamp1[e] = clock
        return
    if w == 0:
        cnt1[_c.N_LOAD_MISSES] += 1
    else:
        cnt1[_c.N_STORE_MISSES] += 1
    cnt1[_c.N_FETCHES] += 1
    _l2_ref(ln, R_LOAD, grp, first, ways, stag, sdirty, shead, cnt2)
    clock = l1[L1_CLOCK] + 1
    l1[L1_CLOCK] = clock
    old, old_dirty = _c._place(tags1, stamp1, dirty1, v, ln, clock, w)
    if old < 0:
        return
    if old_dirty:
        cnt1[_c.N_DIRTY_EVICT] += 1
        cnt1[_c.N_WRITEBACKS] += 1
        _l2_ref(old, R_WB, grp, first, ways, stag, sdirty, shead, cnt2)
    else:
        cnt1[_c.N_CLEAN_EVICT] += 1


@jit(_nrt=False, error_model="numpy")
def access_lines(lines, w, l1, tags1, stamp1, dirty1, cnt1, grp, first, ways, stag, sdirty, shead, cnt2):
    """Core reads (``w[i]`` 0) or writes (1) of the L1 lines ``lines`` (line numbers, int64), in order."""
    for i in range(lines.shape[0]):
        _access(lines[i], np.int64(w[i]), l1, tags1, stamp1, dirty1, cnt1, grp, first, ways, stag, sdirty, shead, cnt2)


@jit(_nrt=False, error_model="numpy")
def copy_runs(src, dst, n_src, n_dst, nruns, l1, tags1, stamp1, dirty1, cnt1, grp, first, ways, stag, sdirty,
              shead, cnt2):
    """The memcpy runs of one tile copy as ``cache.copy_runs`` runs them: run ``r`` reads lines ``src[r]``,
    ``src[r] + 1``, ... (``n_src[r]``) and writes ``dst[r]``, ... (``n_dst[r]``), alternating."""
    for r in range(nruns):
        ns = n_src[r]
        nd = n_dst[r]
        for c in range(max(ns, nd)):
            if c < ns:
                _access(src[r] + c, 0, l1, tags1, stamp1, dirty1, cnt1, grp, first, ways, stag, sdirty, shead, cnt2)
            if c < nd:
                _access(dst[r] + c, 1, l1, tags1, stamp1, dirty1, cnt1, grp, first, ways, stag, sdirty, shead, cnt2)


@jit(_nrt=False, error_model="numpy")
def flush_lines(lo, hi, discard, l1, tags1, stamp1, dirty1, cnt1, grp, first, ways, stag, sdirty, shead, cnt2):
    """``cache.flush_range`` of lines ``lo .. hi``: every line in the L1 first (dirty ones written back to
    the L2 unless ``discard``), then in the L2s."""
    for ln in range(lo, hi + 1):
        e = _c._find(tags1, _l1_set(l1, ln), l1[L1_WAYS], ln)
        if e >= 0:
            was_dirty = dirty1[e]
            tags1[e] = -1
            stamp1[e] = -1
            dirty1[e] = 0
            cnt1[_c.N_INVAL] += 1
            if was_dirty and not discard:
                cnt1[_c.N_WRITEBACKS] += 1
                _l2_ref(ln, R_WB, grp, first, ways, stag, sdirty, shead, cnt2)
    for ln in range(lo, hi + 1):
        _l2_flush(ln, discard, grp, first, ways, stag, sdirty, shead, cnt2)


@jit(_nrt=False, error_model="numpy")
def acp_lines(lines, w, l1, tags1, stamp1, dirty1, cnt1, grp, first, ways, stag, sdirty, shead, cnt2):
    """Coherent (ACP) reads (``w[i]`` 0) or writes (1) of lines ``lines`` (line numbers) at the L2, as ``cache.run_accesses``
    with ``top`` 1 runs them: the L1 writes its dirty copy back (and drops it on a write), then the L2
    serves the access (a write that misses fetches the line first)."""
    for i in range(lines.shape[0]):
        ln = lines[i]
        e = _c._find(tags1, _l1_set(l1, ln), l1[L1_WAYS], ln)
        if e >= 0:
            if dirty1[e]:
                dirty1[e] = 0
                cnt1[_c.N_WRITEBACKS] += 1
                _l2_ref(ln, R_WB, grp, first, ways, stag, sdirty, shead, cnt2)
            if w[i]:
                tags1[e] = -1
                stamp1[e] = -1
                cnt1[_c.N_INVAL] += 1
        _l2_ref(ln, R_STORE if w[i] else R_LOAD, grp, first, ways, stag, sdirty, shead, cnt2)
