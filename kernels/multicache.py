"""One L1 and many LRU L2 configurations: the kernels behind ``smaug_fast.memory.MultiL2``.

Under a non-inclusive (NINE) hierarchy nothing an L2 does reaches back into the L1, so the stream of
requests the L1 sends down (fetches of its misses, write-backs of its dirty victims, of flushed lines
and of ACP snoops), together with the L2's own flushes and ACP accesses, is the same whatever the L2
is. So the work splits in two:

1. The L1 runs once (exactly as in :mod:`.cache`: LRU or FIFO, write-back, write-allocate, the same
   victim choice and counters) and appends every request that reaches the L2 to an event list
   (``ev`` int64: ``line << E_BITS | kind``; ``evn[0]`` events so far; the caller keeps room for them).
2. Each L2 configuration (or each group of them that shares a set count) walks the event list alone,
   with its counters in registers and its state small enough to stay in the host's caches, and
   reports its counters after the first ``pos[m]`` events for every requested position ``m``.

The L2 configurations share a line size and are LRU, write-back and write-allocate; they may differ in
size and associativity. One alone is a plain LRU set array (:func:`lru_walk`, the same victims and
counters as :mod:`.cache`). Several of one set count walk together by stack processing
(:func:`stack_walk`; Mattson, Gecsei, Slutz and Traiger, "Evaluation techniques for storage
hierarchies", IBM Systems Journal 9(2), 1970): LRU has the inclusion property, so one recency stack per
set, as deep as the largest associativity, holds the contents of every associativity at once: a W-way
cache holds exactly the lines at depths 0 .. W-1 of its set's stack, and a reference at depth d hits
every cache of more than d ways (Hill and Smith, "Evaluating associativity in CPU caches", IEEE Trans.
Computers 38(12), 1989, section 3: one stack simulation per set count serves every associativity;
their all-associativity walk over one fully associative stack would serve several set counts too, but
it must walk down to the W-th line of x's set in the finest mapping, tens of thousands of entries for a
multi-MiB L2). Dirty lines follow Thompson and Smith ("Efficient (stack) algorithms for analysis of
write-back and sector memories", ACM TOCS 7(1), 1989): each stack entry carries the set of
configurations in which it is dirty (one bit each): a write makes it dirty everywhere, a read keeps it
dirty only where it hit (a miss reloads it clean); a line leaving depth W - 1 for depth W is a dirty
eviction of the W-way cache when its bit is set there.

Invalidations (DMA flushes and invalidations) leave a *hole* at the line's depth instead of closing the
gap, because in every cache that held the line one way is now empty and the next miss fills it without
evicting: a reference at depth d (the stack's depth for a line not in it) shifts the entries above it
down by one only as far as the first hole above d, which it consumes; a cache of W ways with that hole
at depth < W misses without evicting, one with the hole at depth >= W evicts its line at depth W - 1 as
usual; when a hole is consumed, the referenced line's old place (if any) becomes the hole (its caches
keep their empty way). A cold cache is a stack of holes. Each stack is a ring (its top at ``head``), so
that a line new to it goes on top in constant time.

Every configuration's counters equal those of running :mod:`.cache` on it alone
(``tests/test_multicache.py`` compares them on random traces with flushes, invalidations, ACP accesses
and tile copies, and with the plain-Python model of ``tests/naive_cache.py``).

L1 state (arrays, updated in place): ``l1`` int64 [L1_N]: sets, ways, log2(line size), set mask (-1: sets
not a power of two), way bits, LRU (1) or FIFO (0), use clock; ``tags1``, ``stamp1`` int64, ``dirty1``
uint8 [sets * ways] as in :mod:`.cache`; ``cnt1`` int64 [CNT_N], its counters (columns of :mod:`.cache`).
The walks' counters (``out``) have the columns ``Q_*``: hits per request kind, dirty and clean
evictions, dirty lines written back by flushes, invalidations; :func:`request_counts` counts the
requests of each kind (the same for every configuration), and
:meth:`smaug_fast.memory.multi.MultiL2.arrange` derives every counter of :mod:`.cache` from these.
"""

from __future__ import annotations

import numpy as np

from . import cache as _c
from ._jit import jit

# l1 entries
L1_SETS, L1_WAYS, L1_SHIFT, L1_MASK, L1_WBITS, L1_LRU, L1_CLOCK = range(7)
L1_N = 7
# events: what reaches the L2: a load (an L1 fetch, an ACP read), a write-back of a whole dirty line (no
# fetch on a miss), an ACP store (a write that fetches the line on a miss), a flush of the line (written
# back if dirty, then invalidated), an invalidation (dropped)
E_LOAD, E_WB, E_STORE, E_FLUSH, E_INVAL = range(5)
E_BITS = 3
# walk counter columns: hits by request kind (Q_LOAD_HITS + kind), dirty and clean evictions, dirty lines
# written back by flushes, invalidations
Q_LOAD_HITS, Q_WB_HITS, Q_STORE_HITS, Q_DIRTY_EV, Q_CLEAN_EV, Q_FLUSH_WB, Q_INVAL = range(7)
Q_N = 7
#: Configurations one stack walk serves (one dirty bit each).
MAX_CONFIGS = 64


@jit(inline="always", _nrt=False, error_model="numpy")
def _emit(ev, evn, x, kind):
    n = evn[0]
    ev[n] = (x << E_BITS) | kind
    evn[0] = n + 1


@jit(_nrt=False, error_model="numpy")
def request_counts(ev, n, pos, out):
    """``out[m, kind]``: the loads, write-backs and stores among the first ``pos[m]`` events (``pos``
    non-decreasing, each <= ``n``)."""
    c0 = c1 = c2 = 0
    m = 0
    npos = pos.shape[0]
    for i in range(n + 1):
        while m < npos and pos[m] == i:
            out[m, E_LOAD] = c0
            out[m, E_WB] = c1
            out[m, E_STORE] = c2
            m += 1
        if i == n:
            break
        k = ev[i] & 7
        c0 += k == E_LOAD
        c1 += k == E_WB
        c2 += k == E_STORE


@jit(error_model="numpy")
def lru_walk(ev, n, pos, sets, ways, out):
    """One LRU L2 of ``sets`` x ``ways`` over the first ``n`` events: ``out[m]`` (int64 [npos, Q_N]) its
    counters after the first ``pos[m]`` events. The sets, victims (the invalid or least recently used
    way: ``cache._scan_set``) and counts of :mod:`.cache`."""
    tags = np.full(sets * ways, -1, np.int64)
    stamp = np.full(sets * ways, -1, np.int64)
    dirty = np.zeros(sets * ways, np.uint8)
    wbits = 0  # bits of a way number: (ways - 1).bit_length()
    while (np.int64(1) << wbits) < ways:
        wbits += 1
    mask = sets - 1 if sets & (sets - 1) == 0 else -1
    clock = 0
    h0 = h1 = h2 = dev = cev = fwb = inv = 0
    m = 0
    npos = pos.shape[0]
    for i in range(n + 1):
        while m < npos and pos[m] == i:
            out[m, Q_LOAD_HITS] = h0
            out[m, Q_WB_HITS] = h1
            out[m, Q_STORE_HITS] = h2
            out[m, Q_DIRTY_EV] = dev
            out[m, Q_CLEAN_EV] = cev
            out[m, Q_FLUSH_WB] = fwb
            out[m, Q_INVAL] = inv
            m += 1
        if i == n:
            break
        e = ev[i]
        x = e >> E_BITS
        k = e & 7
        b = (x & mask if mask >= 0 else x % sets) * ways
        if k >= E_FLUSH:
            f = _c._find(tags, b, ways, x)
            if f >= 0:
                uf = np.uint64(f)
                inv += 1
                if k == E_FLUSH and dirty[uf] != 0:
                    fwb += 1
                tags[uf] = -1
                stamp[uf] = -1
                dirty[uf] = 0
            continue
        f, v = _c._scan_set(tags, stamp, b, ways, wbits, x)
        clock += 1
        if f >= 0:
            uf = np.uint64(f)
            stamp[uf] = clock
            if k == E_LOAD:
                h0 += 1
            else:
                dirty[uf] = 1
                if k == E_WB:
                    h1 += 1
                else:
                    h2 += 1
            continue
        uv = np.uint64(v)
        old = tags[uv]
        old_dirty = dirty[uv]
        tags[uv] = x
        stamp[uv] = clock
        dirty[uv] = 0 if k == E_LOAD else 1
        if old >= 0:
            if old_dirty != 0:
                dev += 1
            else:
                cev += 1


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
def _shift_down(stag, sdirty, sb, dmax, head, end):
    """Move the entries of depths 0 .. end - 1 of a stack one deeper (depth ``end`` is overwritten), as
    at most two runs of consecutive ring entries."""
    last = head + end  # ring index of depth ``end``, unwrapped
    if last < dmax:
        for k in range(sb + last, sb + head, -1):
            stag[k] = stag[k - 1]
            sdirty[k] = sdirty[k - 1]
        return
    for k in range(sb + last - dmax, sb, -1):
        stag[k] = stag[k - 1]
        sdirty[k] = sdirty[k - 1]
    stag[sb] = stag[sb + dmax - 1]
    sdirty[sb] = sdirty[sb + dmax - 1]
    for k in range(sb + dmax - 1, sb + head, -1):
        stag[k] = stag[k - 1]
        sdirty[k] = sdirty[k - 1]


@jit(error_model="numpy")
def stack_walk(ev, n, pos, sets, ways, out):
    """LRU L2s of ``sets`` sets and ``ways[c]`` ways each (at most MAX_CONFIGS) over the first ``n``
    events, by stack processing (module docstring): ``out[m, c]`` (int64 [npos, configs, Q_N]) the
    counters of configuration c after the first ``pos[m]`` events."""
    nc = ways.shape[0]
    dmax = 1
    for c in range(nc):
        dmax = max(dmax, ways[c])
    stag = np.full(sets * dmax, -1, np.int64)
    sdirty = np.zeros(sets * dmax, np.uint64)
    shead = np.zeros(sets, np.int64)
    sholes = np.full(sets, dmax, np.int64)  # holes per stack: where none, a lookup need not look for one
    cnt = np.zeros((nc, Q_N), np.int64)
    mask = sets - 1 if sets & (sets - 1) == 0 else -1
    every = np.uint64(0)
    for c in range(nc):
        every |= np.uint64(1) << np.uint64(c)
    m = 0
    npos = pos.shape[0]
    for i in range(n + 1):
        while m < npos and pos[m] == i:
            out[m] = cnt
            m += 1
        if i == n:
            break
        e = ev[i]
        x = e >> E_BITS
        kind = e & 7
        s = x & mask if mask >= 0 else x % sets
        sb = s * dmax
        head = shead[s]
        if sholes[s] == 0:
            j = _c._find(stag, sb, dmax, x)
            p = dmax if j < 0 else j - sb - head + (dmax if j - sb < head else 0)
            h = dmax
        else:
            p, h = _scan_stack(stag, sb, dmax, head, x)
        if kind >= E_FLUSH:
            if p < dmax:
                f = _at(sb, dmax, head, p)
                md = sdirty[f]
                for c in range(nc):
                    if p < ways[c]:
                        cnt[c, Q_INVAL] += 1
                        if kind == E_FLUSH and (md & (np.uint64(1) << np.uint64(c))):
                            cnt[c, Q_FLUSH_WB] += 1
                stag[f] = -1
                sdirty[f] = 0
                sholes[s] += 1
            continue
        md = sdirty[_at(sb, dmax, head, p)] if p < dmax else np.uint64(0)
        hit = np.uint64(0)
        for c in range(nc):
            w = ways[c]
            bit = np.uint64(1) << np.uint64(c)
            if p < w:
                hit |= bit
                cnt[c, Q_LOAD_HITS + kind] += 1
            elif h >= w:
                # no empty way among this cache's w: its line at depth w - 1 (valid, as w - 1 < p) goes
                if sdirty[_at(sb, dmax, head, w - 1)] & bit:
                    cnt[c, Q_DIRTY_EV] += 1
                else:
                    cnt[c, Q_CLEAN_EV] += 1
        newm = (md & hit) if kind == E_LOAD else every
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
                    f = _at(sb, dmax, head, p)
                    stag[f] = -1
                    sdirty[f] = 0
                else:
                    sholes[s] -= 1
            else:
                end = p
            _shift_down(stag, sdirty, sb, dmax, head, end)
        stag[sb + head] = x
        sdirty[sb + head] = newm


@jit(inline="always", _nrt=False, error_model="numpy")
def _l1_set(l1, ln):
    mask = l1[L1_MASK]
    return (ln & mask if mask >= 0 else ln % l1[L1_SETS]) * l1[L1_WAYS]


@jit(inline="always", _nrt=False, error_model="numpy")
def _access(ln, w, l1, tags1, stamp1, dirty1, cnt1, ev, evn):
    """A core read (``w`` 0) or write (1) of one whole L1 line ``ln``: the L1's lookup; on a miss the
    L2's fetch of the line (an event), then the L1's fill, whose dirty victim is written back to the L2
    (an event; the order of ``cache._single_line``)."""
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
    _emit(ev, evn, ln, E_LOAD)
    clock = l1[L1_CLOCK] + 1
    l1[L1_CLOCK] = clock
    old, old_dirty = _c._place(tags1, stamp1, dirty1, v, ln, clock, w)
    if old < 0:
        return
    if old_dirty:
        cnt1[_c.N_DIRTY_EVICT] += 1
        cnt1[_c.N_WRITEBACKS] += 1
        _emit(ev, evn, old, E_WB)
    else:
        cnt1[_c.N_CLEAN_EVICT] += 1


@jit(_nrt=False, error_model="numpy")
def access_lines(lines, w, l1, tags1, stamp1, dirty1, cnt1, ev, evn):
    """Core reads (``w[i]`` 0) or writes (1) of the L1 lines ``lines`` (line numbers, int64), in order."""
    for i in range(lines.shape[0]):
        _access(lines[i], np.int64(w[i]), l1, tags1, stamp1, dirty1, cnt1, ev, evn)


@jit(_nrt=False, error_model="numpy")
def copy_runs(src, dst, n_src, n_dst, nruns, l1, tags1, stamp1, dirty1, cnt1, ev, evn):
    """The memcpy runs of one tile copy as ``cache.copy_runs`` runs them: run ``r`` reads lines ``src[r]``,
    ``src[r] + 1``, ... (``n_src[r]``) and writes ``dst[r]``, ... (``n_dst[r]``), alternating; each access
    as :func:`_access` makes it, with the L1's configuration and counters in locals (read from ``l1`` and
    ``cnt1``, the compiler would reload them after every store to the state, which might alias them)."""
    ways, mask, sets, wbits = l1[L1_WAYS], l1[L1_MASK], l1[L1_SETS], l1[L1_WBITS]
    lru = l1[L1_LRU] != 0
    clock = l1[L1_CLOCK]
    n = evn[0]
    loads = stores = lh = sh = dev = cev = 0
    for r in range(nruns):
        ns = n_src[r]
        nd = n_dst[r]
        for c in range(max(ns, nd)):
            for w in range(2):
                if w == 0:
                    if c >= ns:
                        continue
                    ln = src[r] + c
                    loads += 1
                else:
                    if c >= nd:
                        continue
                    ln = dst[r] + c
                    stores += 1
                b0 = (ln & mask if mask >= 0 else ln % sets) * ways
                e, v = _c._scan_set(tags1, stamp1, b0, ways, wbits, ln)
                if e >= 0:
                    ue = np.uint64(e)
                    if w == 0:
                        lh += 1
                    else:
                        sh += 1
                        dirty1[ue] = 1
                    if lru:
                        clock += 1
                        stamp1[ue] = clock
                    continue
                ev[np.uint64(n)] = (ln << E_BITS) | E_LOAD
                n += 1
                clock += 1
                old, old_dirty = _c._place(tags1, stamp1, dirty1, np.uint64(v), ln, clock, w)
                if old < 0:
                    continue
                if old_dirty:
                    dev += 1
                    ev[np.uint64(n)] = (old << E_BITS) | E_WB
                    n += 1
                else:
                    cev += 1
    evn[0] = n
    l1[L1_CLOCK] = clock
    cnt1[_c.N_LOADS] += loads
    cnt1[_c.N_STORES] += stores
    cnt1[_c.N_LOAD_HITS] += lh
    cnt1[_c.N_LOAD_MISSES] += loads - lh
    cnt1[_c.N_STORE_HITS] += sh
    cnt1[_c.N_STORE_MISSES] += stores - sh
    cnt1[_c.N_FETCHES] += loads - lh + stores - sh
    cnt1[_c.N_DIRTY_EVICT] += dev
    cnt1[_c.N_WRITEBACKS] += dev
    cnt1[_c.N_CLEAN_EVICT] += cev


@jit(_nrt=False, error_model="numpy")
def flush_lines(lo, hi, discard, l1, tags1, stamp1, dirty1, cnt1, ev, evn):
    """``cache.flush_range`` of lines ``lo .. hi``: every line in the L1 first (dirty ones written back to
    the L2 unless ``discard``), then in the L2 (one event per line)."""
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
                _emit(ev, evn, ln, E_WB)
    for ln in range(lo, hi + 1):
        _emit(ev, evn, ln, E_INVAL if discard else E_FLUSH)


@jit(_nrt=False, error_model="numpy")
def acp_lines(lines, w, l1, tags1, stamp1, dirty1, cnt1, ev, evn):
    """Coherent (ACP) reads (``w[i]`` 0) or writes (1) of lines ``lines`` (line numbers) at the L2, as
    ``cache.run_accesses`` with ``top`` 1 runs them: the L1 writes its dirty copy back (and drops it on a write), then the L2
    serves the access (a write that misses fetches the line first)."""
    for i in range(lines.shape[0]):
        ln = lines[i]
        e = _c._find(tags1, _l1_set(l1, ln), l1[L1_WAYS], ln)
        if e >= 0:
            if dirty1[e]:
                dirty1[e] = 0
                cnt1[_c.N_WRITEBACKS] += 1
                _emit(ev, evn, ln, E_WB)
            if w[i]:
                tags1[e] = -1
                stamp1[e] = -1
                cnt1[_c.N_INVAL] += 1
        _emit(ev, evn, ln, E_STORE if w[i] else E_LOAD)
