"""Set-associative cache hierarchy: the jitted core behind ``smaug_fast.memory.CacheHierarchy``.

State is held in a few flat arrays so that it persists across calls and the kernels see arrays only:

``cfg``   int64 [levels, CFG_N]: per level sets, ways, log2(line size), policy, write-back,
          write-allocate, first entry index, set mask (sets - 1 when sets is a power of two, else -1),
          bits of a way number (``(ways - 1).bit_length()``, for the victim keys of ``_victim``).
``glob``  int64 [GLOB_N + levels]: use clock, pycachesim-compatibility flag, inclusive flag, then one
          xorshift random state per level.
``tags``  int64 [entries]: line number held by each way (-1: invalid). Entry = first + set * ways + way.
``stamp`` int64 [entries]: last-use time (LRU) or fill time (FIFO); -1 for invalid ways, so that an
          invalid way is always chosen before a valid one.
``dirty`` uint8 [entries].
``cnt``   int64 [levels + 1, CNT_N]: counters per level; the last row counts memory traffic.
``stack`` int64 [STACK_DEPTH, F_N]: the request stack of ``_process`` (no recursion: Numba can
          neither cache recursive kernels reliably nor call them cheaply).
``memo``  int64 [MEMO_N]: the two level-0 entries used last, and the state of the optional record
          of memory requests into ``rec`` int64 [capacity, 3].

Every kernel here runs without Numba's reference counting (``_nrt=False``: array arguments cost
atomic updates otherwise, more than a lookup) and with NumPy's error model (no zero-division
checks: every divisor comes from a validated configuration); so none of them allocates.

Counting conventions are those of ``shared/reference/memory_facts.md``: NINE fills, true LRU, store
hits counted and refreshing LRU, dirty victims written back as full-line stores that allocate without
a fetch. With ``glob[G_COMPAT] = 1`` the quirks of pycachesim 0.3.1 are reproduced instead: store hits
neither counted nor refreshing LRU, a store miss counted as a load miss plus a store, write-backs that
fetch on a miss, write-back + no-write-allocate stores that allocate dirty without a fetch, and random
replacement that may pick a valid way while an invalid one exists.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

# cfg columns
C_SETS, C_WAYS, C_SHIFT, C_POLICY, C_WB, C_WA, C_BASE, C_MASK, C_WBITS = range(9)
CFG_N = 9
# policies
P_LRU, P_FIFO, P_RANDOM = 0, 1, 2
# glob entries
G_CLOCK, G_COMPAT, G_INCLUSIVE = 0, 1, 2
GLOB_N = 3
# per-level counters
(
    N_LOADS,
    N_STORES,
    N_LOAD_HITS,
    N_LOAD_MISSES,
    N_STORE_HITS,
    N_STORE_MISSES,
    N_DIRTY_EVICT,
    N_CLEAN_EVICT,
    N_WRITEBACKS,
    N_FETCHES,
    N_BACK_INVAL,
    N_INVAL,
) = range(12)
CNT_N = 12
# memory row counters
M_READS, M_WRITES, M_READ_BYTES, M_WRITE_BYTES = range(4)
# request kinds
K_LOAD, K_STORE, K_WRITEBACK = 0, 1, 2


@jit(inline="always", _nrt=False, error_model="numpy")
def _set_of(cfg, lv, line):
    mask = cfg[lv, C_MASK]
    if mask >= 0:
        return line & mask
    return line % cfg[lv, C_SETS]


@jit(inline="always", _nrt=False, error_model="numpy")
def _find(tags, base, ways, line):
    """Entry of ``line`` in the set of ``ways`` entries at ``base``, else -1.

    A set holds a line at most once (lines are filled after a miss only), so the matching way is
    found by summing over all ways without a branch, a loop the compiler vectorizes; unsigned
    indices spare Numba's negative-index wraparound (every index here is >= 0).
    """
    ub = np.uint64(base)
    pos = 0  # 1 + the matching way, or 0
    for k in range(ways):
        pos += np.int64(tags[ub + np.uint64(k)] == line) * (k + 1)
    return base + pos - 1 if pos != 0 else -1


@jit(inline="always", _nrt=False, error_model="numpy")
def _find_early(tags, base, ways, line):
    """``_find`` by a scan that stops at the match: cheaper than ``_find`` where lookups mostly hit."""
    ub = np.uint64(base)
    for k in range(ways):
        if tags[ub + np.uint64(k)] == line:
            return base + k
    return -1


@jit(inline="always", _nrt=False, error_model="numpy")
def _least_stamp(stamp, base, ways, wbits):
    """The first way of least stamp (LRU, FIFO victim; invalid ways, stamp -1, first) of a set.

    Taken as the least key ``stamp << wbits | way``: keys are distinct, so a min reduction gives a
    first-minimum scan's answer without a branch, and the compiler vectorizes it. Valid stamps are
    clock values, far below ``2**(63 - wbits)`` (the clock advances a few ticks per access).
    """
    ub = np.uint64(base)
    m = stamp[ub] << wbits
    for k in range(ways):
        m = min(m, (stamp[ub + np.uint64(k)] << wbits) | k)
    return base + (m & ((np.int64(1) << wbits) - 1))


@jit(inline="always", _nrt=False, error_model="numpy")
def _scan_set(tags, stamp, base, ways, wbits, line):
    """(``_find``, ``_least_stamp``) of a set in one vectorizable pass."""
    ub = np.uint64(base)
    m = stamp[ub] << wbits
    pos = 0
    for k in range(ways):
        j = ub + np.uint64(k)
        pos += np.int64(tags[j] == line) * (k + 1)
        m = min(m, (stamp[j] << wbits) | k)
    return (base + pos - 1 if pos != 0 else -1), base + (m & ((np.int64(1) << wbits) - 1))


@jit(inline="always", _nrt=False, error_model="numpy")
def _next_random(glob, lv):
    # xorshift64 (Marsaglia 2003); state kept non-zero by construction.
    x = glob[GLOB_N + lv]
    x ^= (x << 13) & 0x7FFFFFFFFFFFFFFF
    x ^= x >> 7
    x ^= (x << 17) & 0x7FFFFFFFFFFFFFFF
    x &= 0x7FFFFFFFFFFFFFFF
    if x == 0:
        x = 88172645463325252
    glob[GLOB_N + lv] = x
    return x


@jit(inline="always", _nrt=False, error_model="numpy")
def _victim(cfg, glob, tags, stamp, lv, base):
    ways = cfg[lv, C_WAYS]
    if cfg[lv, C_POLICY] == P_RANDOM:
        if glob[G_COMPAT] == 0:
            for k in range(ways):
                if tags[base + k] < 0:
                    return base + k
        return base + _next_random(glob, lv) % ways
    return _least_stamp(stamp, base, ways, cfg[lv, C_WBITS])


@jit(inline="always", _nrt=False, error_model="numpy")
def _back_invalidate(cfg, glob, tags, stamp, dirty, cnt, lv, line):
    """Inclusive hierarchy: drop every copy of level ``lv``'s ``line`` from the levels above it.

    Returns 1 when one of the dropped copies was dirty (its data merges into the evicted line).
    """
    was_dirty = 0
    shift = cfg[lv, C_SHIFT]
    lo = line << shift
    hi = lo + (np.int64(1) << shift) - 1
    for j in range(lv):
        sj = cfg[j, C_SHIFT]
        ways = cfg[j, C_WAYS]
        for up in range(lo >> sj, (hi >> sj) + 1):
            e = _find(tags, cfg[j, C_BASE] + _set_of(cfg, j, up) * ways, ways, up)
            if e >= 0:
                if dirty[e]:
                    was_dirty = 1
                tags[e] = -1
                stamp[e] = -1
                dirty[e] = 0
                cnt[j, N_BACK_INVAL] += 1
    return was_dirty


@jit(inline="always", _nrt=False, error_model="numpy")
def _place(tags, stamp, dirty, e, line, clock, is_dirty):
    """Put ``line`` in way ``e`` (stamped ``clock``, dirty bit ``is_dirty``); return the (line, dirty bit)
    it replaces (line -1: the way was empty)."""
    old = tags[e]
    old_dirty = dirty[e]
    tags[e] = line
    stamp[e] = clock
    dirty[e] = is_dirty
    return old, old_dirty


@jit(inline="always", _nrt=False, error_model="numpy")
def _fill(cfg, glob, tags, stamp, dirty, cnt, lv, line, is_dirty):
    """Place ``line`` in level ``lv`` (``is_dirty`` 0/1), evicting a victim.

    Returns the victim's line number when it must be written back to level ``lv + 1``, else -1
    (the caller issues that write-back: kernels here never recurse, see ``_process``).
    """
    ways = cfg[lv, C_WAYS]
    base = cfg[lv, C_BASE] + _set_of(cfg, lv, line) * ways
    e = _victim(cfg, glob, tags, stamp, lv, base)
    clock = glob[G_CLOCK] + 1
    glob[G_CLOCK] = clock
    old, old_dirty = _place(tags, stamp, dirty, e, line, clock, is_dirty)
    if old < 0:
        return -1
    if glob[G_INCLUSIVE] != 0 and lv > 0:
        if _back_invalidate(cfg, glob, tags, stamp, dirty, cnt, lv, old):
            old_dirty = 1
    if old_dirty:
        cnt[lv, N_DIRTY_EVICT] += 1
        cnt[lv, N_WRITEBACKS] += 1
        return old
    cnt[lv, N_CLEAN_EVICT] += 1
    return -1


# ``memo`` scratch entries (int64[MEMO_N]): the level-0 memo, and the optional record of the
# requests that reach memory (``rec`` int64[capacity, 3]: address, bytes, source index * 2 + write)
(MEMO_LAST, MEMO_PREV, MEMO_CLOCK, MEMO_MRU, MEMO_NL, MEMO_NS, MEMO_RECN, MEMO_RECCAP, MEMO_SRC,
 MEMO_NEED, MEMO_LINEWISE) = range(11)
# ``memo[MEMO_LINEWISE] = 1`` turns off the run paths (copies.py) and the flush's direct write-backs:
# those lines then go one at a time through ``run_accesses`` and ``_process``, the reference the tests
# compare the fast paths with
MEMO_N = 16


@jit(inline="always", _nrt=False, error_model="numpy")
def _record(memo, rec, addr, nbytes, write):
    if memo[MEMO_RECCAP] > 0:
        k = memo[MEMO_RECN]
        rec[k, 0] = addr
        rec[k, 1] = nbytes
        rec[k, 2] = memo[MEMO_SRC] * 2 + write
        memo[MEMO_RECN] = k + 1


# frame columns of the explicit request stack
F_LV, F_ADDR, F_NBYTES, F_KIND, F_LINE, F_PHASE = range(6)
F_N = 6
# phases: what a frame does next (when first run, or when the request it pushed has completed)
PH_BEGIN, PH_LINE, PH_FILL_LOAD, PH_FILL_STORE, PH_FORWARD, PH_NEXT = range(6)
STACK_DEPTH = 256


@jit(inline="always", _nrt=False, error_model="numpy")
def _lookup(cfg, glob, tags, stamp, dirty, cnt, lv, line, kind, full, wb, compat):
    """Line ``line`` of a request of ``kind`` at level ``lv`` (``full``: the request covers the whole
    line; ``wb``: the level writes back): counts the hit or miss, refreshes LRU, marks a written
    line dirty. Returns (the frame's next phase, whether it first pushes a fetch of the line).

    PH_NEXT: done with this line; PH_FILL_LOAD or PH_FILL_STORE: allocate the line (after the fetch
    when pushed); PH_FORWARD: pass the written bytes down (write-through or no-allocate miss).
    """
    ways = cfg[lv, C_WAYS]
    e = _find(tags, cfg[lv, C_BASE] + _set_of(cfg, lv, line) * ways, ways, line)
    lru = cfg[lv, C_POLICY] == P_LRU
    wa = cfg[lv, C_WA] != 0
    phase = PH_NEXT
    push = False
    if kind == K_LOAD:
        if e >= 0:
            cnt[lv, N_LOAD_HITS] += 1
            if lru:
                clock = glob[G_CLOCK] + 1
                glob[G_CLOCK] = clock
                stamp[e] = clock
        else:
            cnt[lv, N_LOAD_MISSES] += 1
            cnt[lv, N_FETCHES] += 1
            phase = PH_FILL_LOAD
            push = True
    elif e >= 0:
        if not compat:
            cnt[lv, N_STORE_HITS] += 1
            if lru:
                clock = glob[G_CLOCK] + 1
                glob[G_CLOCK] = clock
                stamp[e] = clock
        if wb:
            dirty[e] = 1
        else:
            phase = PH_FORWARD
    elif compat:
        if wa:
            # pycachesim loads the line through its own load path: LOAD and MISS here.
            cnt[lv, N_LOADS] += 1
            cnt[lv, N_LOAD_MISSES] += 1
            cnt[lv, N_FETCHES] += 1
            phase = PH_FILL_STORE
            push = True
        elif wb:
            phase = PH_FILL_STORE  # allocate dirty without a fetch
        else:
            phase = PH_FORWARD
    else:
        cnt[lv, N_STORE_MISSES] += 1
        if not wa:
            phase = PH_FORWARD
        elif full and kind == K_WRITEBACK:
            phase = PH_FILL_STORE  # the whole line is written: no fetch
        else:
            cnt[lv, N_FETCHES] += 1
            phase = PH_FILL_STORE
            push = True
    return phase, push


@jit(_nrt=False, error_model="numpy")
def _process(cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, lv0, addr0, nbytes0, kind0):
    """Serve one request of ``nbytes0`` [B] at ``addr0`` arriving at level ``lv0`` (levels = memory).

    ``kind0``: K_LOAD, K_STORE (a core store, write-through or write-around) or K_WRITEBACK (bytes
    of an evicted or flushed line). A request to a lower level (a fetch, a write-back) is pushed on
    ``stack`` and completed before the frame that pushed it resumes, exactly as a recursive call
    would (pycachesim's order: fetch from below, then fill and write the victim back), but without
    recursion, which Numba can neither cache nor call cheaply.
    """
    nlev = cfg.shape[0]
    compat = glob[G_COMPAT] != 0
    sp = 0
    stack[0, F_LV] = lv0
    stack[0, F_ADDR] = addr0
    stack[0, F_NBYTES] = nbytes0
    stack[0, F_KIND] = kind0
    stack[0, F_PHASE] = PH_BEGIN
    sp = 1
    while sp > 0:
        f = sp - 1
        lv = stack[f, F_LV]
        addr = stack[f, F_ADDR]
        nbytes = stack[f, F_NBYTES]
        kind = stack[f, F_KIND]
        if lv >= nlev:
            if kind == K_LOAD:
                cnt[nlev, M_READS] += 1
                cnt[nlev, M_READ_BYTES] += nbytes
            else:
                cnt[nlev, M_WRITES] += 1
                cnt[nlev, M_WRITE_BYTES] += nbytes
            _record(memo, rec, addr, nbytes, 0 if kind == K_LOAD else 1)
            sp -= 1
            continue
        shift = cfg[lv, C_SHIFT]
        line_bytes = np.int64(1) << shift
        wb = cfg[lv, C_WB] != 0
        phase = stack[f, F_PHASE]
        if phase == PH_BEGIN:
            if kind == K_LOAD:
                cnt[lv, N_LOADS] += 1
            else:
                cnt[lv, N_STORES] += 1
            stack[f, F_LINE] = addr >> shift
            phase = PH_LINE
        elif phase == PH_NEXT:
            stack[f, F_LINE] += 1
            phase = PH_LINE
        line = stack[f, F_LINE]
        lo = line << shift
        end = addr + nbytes
        s_lo = max(addr, lo)
        s_hi = min(end, lo + line_bytes)
        full = s_lo == lo and s_hi == lo + line_bytes
        push = False
        p_addr = lo
        p_nbytes = line_bytes
        p_kind = K_LOAD
        if phase == PH_LINE:
            if line > (end - 1) >> shift:
                sp -= 1
                continue
            phase, push = _lookup(cfg, glob, tags, stamp, dirty, cnt, lv, line, kind, full, wb, compat)
            if not push and (phase == PH_FILL_STORE or phase == PH_FORWARD):
                stack[f, F_PHASE] = phase
                continue  # run that phase now
        elif phase == PH_FILL_LOAD or phase == PH_FILL_STORE:
            is_dirty = 1 if (phase == PH_FILL_STORE and wb) else 0
            next_phase = PH_NEXT if (phase == PH_FILL_LOAD or wb) else PH_FORWARD
            victim = _fill(cfg, glob, tags, stamp, dirty, cnt, lv, line, is_dirty)
            phase = next_phase
            if victim >= 0:
                push = True
                p_addr = victim << shift
                p_kind = K_WRITEBACK
            elif phase == PH_FORWARD:
                stack[f, F_PHASE] = phase
                continue
        elif phase == PH_FORWARD:
            # write-through, or write-around on a no-allocate miss: pass the bytes down
            cnt[lv, N_WRITEBACKS] += 1
            phase = PH_NEXT
            push = True
            p_addr = s_lo
            p_nbytes = s_hi - s_lo
            p_kind = K_WRITEBACK if full else K_STORE
        stack[f, F_PHASE] = phase
        if push:
            stack[sp, F_LV] = lv + 1
            stack[sp, F_ADDR] = p_addr
            stack[sp, F_NBYTES] = p_nbytes
            stack[sp, F_KIND] = p_kind
            stack[sp, F_PHASE] = PH_BEGIN
            sp += 1


def new_stack():
    """Scratch space for ``_process``: one frame per level of nesting (kernels allocate nothing:
    they run without Numba's reference counting, whose atomic updates cost more than a lookup)."""
    return np.zeros((STACK_DEPTH, F_N), dtype=np.int64)


@jit(_nrt=False, error_model="numpy")
def _snoop(cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, top, addr, nbytes, drop):
    """Coherence for an access entering at level ``top`` (ACP): levels above it write back their
    dirty copies of the range, and drop them too when ``drop`` (a write)."""
    end = addr + nbytes
    for j in range(top):
        shift = cfg[j, C_SHIFT]
        ways = cfg[j, C_WAYS]
        for line in range(addr >> shift, ((end - 1) >> shift) + 1):
            base = cfg[j, C_BASE] + _set_of(cfg, j, line) * ways
            e = _find(tags, base, ways, line)
            if e < 0:
                continue
            if dirty[e]:
                dirty[e] = 0
                cnt[j, N_WRITEBACKS] += 1
                _process(cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, j + 1, line << shift,
                         np.int64(1) << shift, np.int64(K_WRITEBACK))
            if drop:
                e = _find(tags, base, ways, line)
                if e >= 0:
                    tags[e] = -1
                    stamp[e] = -1
                    cnt[j, N_INVAL] += 1


@jit(_nrt=False, error_model="numpy")
def _memo_run(addrs, is_write, nbytes, nbytes_all, i, s0, line_a, line_b, store_ok):
    """Scan the accesses from ``i`` on while each is a single-line hit on ``line_a`` or ``line_b``
    (the lines of the two level-0 entries used last, a before b); stores take part only when
    ``store_ok`` (write-back level 0, no pycachesim quirks).

    Returns (first index not served, load hits, store hits, 1 if b ends as the entry used last,
    a touched, b touched, a stored to, b stored to): the caller applies the LRU stamps and dirty
    bits. Only three arrays cross the call: Numba passes each as a struct of seven words, which
    costs more than the loop's work on a short run.
    """
    n = addrs.shape[0]
    i0 = i
    wmax = 1 if store_ok else 0
    line = np.int64(1) << s0
    off_mask = line - 1
    on_b = 0
    ta = 0
    tb = 0
    da = 0
    db = 0
    ns = 0
    # branch-free flags: one exit test per access (unsigned indices: no wraparound code)
    if nbytes_all > 0:
        lim = line - nbytes_all  # an access of nbytes_all bytes stays in its line iff offset <= lim
        if lim >= 0:
            # first the tightest loop: reads of line a (a streaming run): one unsigned compare
            # (a - start of line a, as unsigned, <= lim) and one flag test per access
            lo = line_a << s0
            ulim = np.uint64(lim)
            while i < n and np.uint64(addrs[np.uint64(i)] - lo) <= ulim and is_write[np.uint64(i)] == 0:
                i += 1
            if i > i0:
                ta = 1
        while i < n:
            a = addrs[np.uint64(i)]
            w = np.int64(is_write[np.uint64(i)])
            ln = a >> s0
            on_a = ln == line_a
            if (a & off_mask) > lim or w > wmax or not (on_a or ln == line_b):
                break
            on_b = 0 if on_a else 1
            ta |= 1 - on_b
            tb |= on_b
            da |= (1 - on_b) & w
            db |= on_b & w
            ns += w
            i += 1
    else:
        while i < n:
            a = addrs[np.uint64(i)]
            w = np.int64(is_write[np.uint64(i)])
            ln = a >> s0
            on_a = ln == line_a
            if ((a & off_mask) > line - np.int64(nbytes[np.uint64(i)]) or w > wmax
                    or not (on_a or ln == line_b)):
                break
            on_b = 0 if on_a else 1
            ta |= 1 - on_b
            tb |= on_b
            da |= (1 - on_b) & w
            db |= on_b & w
            ns += w
            i += 1
    nl = i - i0 - ns
    return i, nl, ns, on_b, ta, tb, da, db


@jit(inline="always", _nrt=False, error_model="numpy")
def _single_line(a, w, cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, chain, chain_store, store_ok,
                 s0, ways0, base0, mask0, sets0, wbits0, lru0, recording):
    """A core access within one level-0 line that missed both memo entries (``memo[0]`` last,
    ``memo[1]`` prev, updated here): a search of its level-0 set, else, in the common
    configuration (``chain``: no pycachesim quirks, non-inclusive, LRU/FIFO, line sizes growing
    downwards; stores need ``chain_store``: level 0 write-back + write-allocate), a walk down the
    levels with one pass per set that finds both the line and the LRU victim, then fills upwards,
    each fill writing its victim back before the level above fills. Returns False when neither
    applies (the caller then runs ``_process``).

    Level 0's configuration comes in as scalars (``s0`` ... ``lru0``): read from ``cfg`` here, the
    compiler would reload it after every store to the state arrays, which might alias it. Indices
    are unsigned (no wraparound code): every entry index is >= 0.
    """
    ln0 = a >> s0
    last = memo[0]
    prev = memo[1]
    b0 = (ln0 & mask0 if mask0 >= 0 else ln0 % sets0) * ways0 + base0
    if tags[np.uint64(prev)] == ln0:
        e = prev
    else:
        e = _find_early(tags, b0, ways0, ln0)
    if e >= 0:
        ue = np.uint64(e)
        if e != last:
            memo[1] = last
            memo[0] = e
        if w == 0:
            cnt[0, N_LOADS] += 1
            cnt[0, N_LOAD_HITS] += 1
            if lru0:
                clock = glob[G_CLOCK] + 1
                glob[G_CLOCK] = clock
                stamp[ue] = clock
            return True
        if store_ok:
            cnt[0, N_STORES] += 1
            cnt[0, N_STORE_HITS] += 1
            dirty[ue] = 1
            if lru0:
                clock = glob[G_CLOCK] + 1
                glob[G_CLOCK] = clock
                stamp[ue] = clock
            return True
        return False
    if not (chain_store if w != 0 else chain):
        return False
    # level 0 missed: its victim, then the levels below until one hits (their victims on the
    # top rows of ``stack``: _process frames use the bottom ones)
    v0 = _least_stamp(stamp, b0, ways0, wbits0)
    if w == 0:
        cnt[0, N_LOADS] += 1
        cnt[0, N_LOAD_MISSES] += 1
    else:
        cnt[0, N_STORES] += 1
        cnt[0, N_STORE_MISSES] += 1
    cnt[0, N_FETCHES] += 1
    nlev = cfg.shape[0]
    clock = glob[G_CLOCK]
    lv = 1
    while lv < nlev:
        sh = cfg[lv, C_SHIFT]
        ways = cfg[lv, C_WAYS]
        ln = a >> sh
        b = cfg[lv, C_BASE] + _set_of(cfg, lv, ln) * ways
        e, v = _scan_set(tags, stamp, b, ways, cfg[lv, C_WBITS], ln)
        cnt[lv, N_LOADS] += 1
        if e >= 0:
            cnt[lv, N_LOAD_HITS] += 1
            if cfg[lv, C_POLICY] == P_LRU:
                clock += 1
                stamp[np.uint64(e)] = clock
            break
        cnt[lv, N_LOAD_MISSES] += 1
        cnt[lv, N_FETCHES] += 1
        stack[np.uint64(STACK_DEPTH - 1 - lv), 0] = v
        lv += 1
    if lv == nlev:
        sh = cfg[nlev - 1, C_SHIFT]
        cnt[nlev, M_READS] += 1
        cnt[nlev, M_READ_BYTES] += np.int64(1) << sh
        if recording:
            _record(memo, rec, (a >> sh) << sh, np.int64(1) << sh, 0)
    for j in range(lv - 1, -1, -1):
        if j == 0:
            sh = s0
            v = v0
        else:
            sh = cfg[j, C_SHIFT]
            v = stack[np.uint64(STACK_DEPTH - 1 - j), 0]
        uv = np.uint64(v)
        old = tags[uv]
        old_dirty = dirty[uv]
        tags[uv] = a >> sh
        clock += 1
        stamp[uv] = clock
        if j == 0:
            dirty[uv] = 1 if w != 0 else 0
            memo[1] = memo[0]
            memo[0] = v
        else:
            dirty[uv] = 0
        if old >= 0:
            if old_dirty != 0:
                cnt[j, N_DIRTY_EVICT] += 1
                cnt[j, N_WRITEBACKS] += 1
                glob[G_CLOCK] = clock
                _writeback_line(cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, j + 1, old << sh, sh)
                clock = glob[G_CLOCK]
            else:
                cnt[j, N_CLEAN_EVICT] += 1
    glob[G_CLOCK] = clock
    return True


@jit(inline="always", _nrt=False, error_model="numpy")
def _writeback_line(cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, lv0, addr0, shift0):
    """The write-back of a dirty line of ``1 << shift0`` bytes at ``addr0`` into level ``lv0``, for the
    ``chain`` configuration of ``_single_line``: at each write-back + write-allocate level whose lines
    are as large as the line written back, a store hit (dirty, LRU refresh) or an allocation without
    a fetch whose dirty victim goes one level down; memory counts a write. Anything else (larger lines
    below, write-through or no-allocate levels) goes to ``_process``, which counts the same way."""
    nlev = cfg.shape[0]
    lv = lv0
    addr = addr0
    sh = shift0
    while True:
        nbytes = np.int64(1) << sh
        if lv >= nlev:
            cnt[nlev, M_WRITES] += 1
            cnt[nlev, M_WRITE_BYTES] += nbytes
            _record(memo, rec, addr, nbytes, 1)
            return
        if cfg[lv, C_SHIFT] != sh or cfg[lv, C_WB] == 0 or cfg[lv, C_WA] == 0:
            # np.int64(): a constant argument would make Numba compile another copy of _process
            _process(cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, lv, addr, nbytes, np.int64(K_WRITEBACK))
            return
        line = addr >> sh
        ways = cfg[lv, C_WAYS]
        cnt[lv, N_STORES] += 1
        e = _find(tags, cfg[lv, C_BASE] + _set_of(cfg, lv, line) * ways, ways, line)
        if e >= 0:
            cnt[lv, N_STORE_HITS] += 1
            if cfg[lv, C_POLICY] == P_LRU:
                clock = glob[G_CLOCK] + 1
                glob[G_CLOCK] = clock
                stamp[e] = clock
            dirty[e] = 1
            return
        cnt[lv, N_STORE_MISSES] += 1
        victim = _fill(cfg, glob, tags, stamp, dirty, cnt, lv, line, 1)
        if victim < 0:
            return
        addr = victim << sh
        lv += 1


@jit(_nrt=False, error_model="numpy")
def run_accesses(addrs, is_write, nbytes, nbytes_all, top, cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, i0):
    """Run a trace through the hierarchy, entering at level ``top`` (0: the core; last: ACP).

    ``is_write`` uint8 (0 read, 1 write, 2 flush the bytes' lines, 3 invalidate them). Request sizes
    [B] are ``nbytes[i]`` when ``nbytes_all`` is 0, else ``nbytes_all`` for every request (``nbytes``
    may then be a 1-element dummy). Starts at request ``i0``; returns the index of the first request
    not run: ``len(addrs)``, or earlier when the record of memory requests (``rec``, enabled by
    ``memo[MEMO_RECCAP] > 0``) might overflow: then ``memo[MEMO_NEED]`` rows must be free.

    Three paths, all counting alike (the tests compare them with a plain-Python model): runs of
    hits on the two level-0 entries used last (``_memo_run``); other accesses within one level-0
    line (``_single_line``); everything else (``_process``). Each is a function of its own: in one
    large function the compiler keeps too little in registers.
    """
    n = addrs.shape[0]
    nlev = cfg.shape[0]
    s0 = cfg[0, C_SHIFT]
    ways0 = cfg[0, C_WAYS]
    base0 = cfg[0, C_BASE]
    mask0 = cfg[0, C_MASK]
    sets0 = cfg[0, C_SETS]
    wbits0 = cfg[0, C_WBITS]
    lru0 = cfg[0, C_POLICY] == P_LRU
    wb0 = cfg[0, C_WB] != 0
    compat = glob[G_COMPAT] != 0
    store_ok = wb0 and not compat
    chain = not compat and glob[G_INCLUSIVE] == 0
    for j in range(nlev):
        if cfg[j, C_POLICY] == P_RANDOM:
            chain = False
        if j > 0 and cfg[j, C_SHIFT] < cfg[j - 1, C_SHIFT]:
            chain = False
    chain_store = chain and wb0 and cfg[0, C_WA] != 0
    memo[0] = cfg[0, C_BASE]
    memo[1] = cfg[0, C_BASE]
    memo[3] = 0
    loads = 0
    stores = 0
    smin = s0
    smax = s0
    for j in range(nlev):
        smin = min(smin, cfg[j, C_SHIFT])
        smax = max(smax, cfg[j, C_SHIFT])
    entries = tags.shape[0]
    recording = memo[MEMO_RECCAP] > 0
    i = i0
    while i < n:
        a = addrs[i]
        ln = a >> s0
        if top == 0 and (tags[memo[0]] == ln or tags[memo[1]] == ln):
            ea = memo[0]
            eb = memo[1]
            i, nl, ns, on_b, ta, tb, da, db = _memo_run(addrs, is_write, nbytes, nbytes_all, i, s0,
                                                        tags[ea], tags[eb], store_ok)
            loads += nl
            stores += ns
            if da:
                dirty[ea] = 1
            if db:
                dirty[eb] = 1
            if on_b:
                memo[0] = eb
                memo[1] = ea
            if lru0 and ta + tb > 0:
                # LRU order after the run: the entry used last is the most recent, the other
                # (if touched) just before it
                clock = glob[G_CLOCK]
                first, final = (ea, eb) if on_b else (eb, ea)
                if ta and tb:
                    clock += 1
                    stamp[first] = clock
                clock += 1
                stamp[final] = clock
                glob[G_CLOCK] = clock
            if i >= n:
                break
        a = addrs[i]
        nb = nbytes_all if nbytes_all > 0 else np.int64(nbytes[i])
        w = is_write[i]
        if recording:
            # room for every memory request this access can cause: each smallest line of the
            # largest lines it touches may bring a fetch and a write-back per level, each of which
            # may split into smaller lines below (a flush: at most every cached line)
            span = (((a + nb - 1) >> smax) - (a >> smax) + 1) << (smax - smin)
            if w >= 2:
                span = min(span, entries)  # a flush writes back cached lines only
            need = (span * (nlev + 1) << (smax - smin)) + 2
            if memo[MEMO_RECN] + need > memo[MEMO_RECCAP]:
                memo[MEMO_NEED] = need
                break
            memo[MEMO_SRC] = i
        i += 1
        if w >= 2:
            # a trace's line flush (2) or invalidate (3) request
            _flush_lines(a, nb, w == 3, cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec)
        elif top == 0 and ((a + nb - 1) >> s0) == (a >> s0):
            if not _single_line(a, w, cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, chain, chain_store,
                                store_ok, s0, ways0, base0, mask0, sets0, wbits0, lru0, recording):
                _process(cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, np.int64(0), a, nb,
                         K_STORE if w != 0 else K_LOAD)
        else:
            if top > 0:
                _snoop(cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, top, a, nb, w != 0)
            _process(cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, top, a, nb, K_STORE if w != 0 else K_LOAD)
    cnt[0, N_LOADS] += loads
    cnt[0, N_LOAD_HITS] += loads
    cnt[0, N_STORES] += stores
    cnt[0, N_STORE_HITS] += stores
    return i


@jit(_nrt=False, error_model="numpy")
def flush_range(addr, nbytes, discard, cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec):
    """Public entry of ``_flush_lines``."""
    _flush_lines(addr, nbytes, discard, cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec)


@jit(_nrt=False, error_model="numpy")
def invalidate_range(addr, nbytes, cfg, tags, stamp, dirty, cnt):
    """Invalidate every line of ``[addr, addr + nbytes)`` at every level without writing anything back:
    ``flush_range`` with ``discard``, in a kernel of its own that never reaches the request engine
    (``_process``), so that a simulation that only invalidates does not compile it (issue 16)."""
    for j in range(cfg.shape[0]):
        shift = cfg[j, C_SHIFT]
        for line in range(addr >> shift, ((addr + nbytes - 1) >> shift) + 1):
            e = _entry_at(cfg, tags, j, line)
            if e >= 0:
                _drop(tags, stamp, dirty, cnt, j, e)


@jit(_nrt=False, error_model="numpy")
def _flush_lines(addr, nbytes, discard, cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec):
    """Flush (write back dirty lines, then invalidate) or, with ``discard``, invalidate without
    writing back, every line of ``[addr, addr + nbytes)`` at every level, top level first so that
    dirty data flushed from level j is flushed again from level j + 1."""
    for j in range(cfg.shape[0]):
        shift = cfg[j, C_SHIFT]
        # line order (not the order of entries in the cache): write-backs reach the next level in
        # address order, whatever the cache's geometry
        for line in range(addr >> shift, ((addr + nbytes - 1) >> shift) + 1):
            e = _entry_at(cfg, tags, j, line)
            if e >= 0:
                _flush_entry(cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, j, e, discard)


@jit(inline="always", _nrt=False, error_model="numpy")
def _entry_at(cfg, tags, j, line):
    """Entry of ``line`` at level ``j``, else -1."""
    ways = cfg[j, C_WAYS]
    return _find(tags, cfg[j, C_BASE] + _set_of(cfg, j, line) * ways, ways, line)


@jit(inline="always", _nrt=False, error_model="numpy")
def _drop(tags, stamp, dirty, cnt, j, e):
    """Invalidate entry ``e`` of level ``j``; return (the line it held, whether it was dirty)."""
    line = tags[e]
    was_dirty = dirty[e]
    tags[e] = -1
    stamp[e] = -1
    dirty[e] = 0
    cnt[j, N_INVAL] += 1
    return line, was_dirty


@jit(inline="always", _nrt=False, error_model="numpy")
def _flush_entry(cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, j, e, discard):
    line, was_dirty = _drop(tags, stamp, dirty, cnt, j, e)
    if was_dirty and not discard:
        shift = cfg[j, C_SHIFT]
        cnt[j, N_WRITEBACKS] += 1
        if glob[G_COMPAT] == 0 and memo[MEMO_LINEWISE] == 0:
            # counts as ``_process`` does outside pycachesim's quirks, without its request stack
            _writeback_line(cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, j + 1, line << shift, shift)
        else:
            _process(cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, j + 1, line << shift,
                     np.int64(1) << shift, np.int64(K_WRITEBACK))


@jit(_nrt=False, error_model="numpy")
def copy_runs_ok(cfg, glob, memo):
    """Whether ``copy_runs`` serves this hierarchy: two levels of one line size, both LRU or FIFO,
    write-back and write-allocate, non-inclusive, no pycachesim quirks, no record of memory requests,
    not ``memo[MEMO_LINEWISE]``. Elsewhere the copies run line by line through ``run_accesses``."""
    if cfg.shape[0] != 2 or glob[G_COMPAT] != 0 or glob[G_INCLUSIVE] != 0:
        return False
    if memo[MEMO_RECCAP] > 0 or memo[MEMO_LINEWISE] != 0 or cfg[0, C_SHIFT] != cfg[1, C_SHIFT]:
        return False
    for j in range(2):
        if cfg[j, C_POLICY] == P_RANDOM or cfg[j, C_WB] == 0 or cfg[j, C_WA] == 0:
            return False
    return True


@jit(_nrt=False, error_model="numpy")
def copy_runs(src, dst, n_src, n_dst, nruns, cfg, glob, tags, stamp, dirty, cnt, hint):
    """The memcpy runs of one tile copy, for a hierarchy that ``copy_runs_ok`` accepts: run ``r``
    reads lines ``src[r]``, ``src[r] + 1``, ... (``n_src[r]`` of them) and writes lines ``dst[r]``, ...
    (``n_dst[r]``), alternating, one whole line per access, as ``run_accesses`` would run them.

    The same lookups, fills and write-backs in the same order as ``_single_line`` and
    ``_writeback_line``, specialised to two levels of one line size: so the same counters, contents,
    dirty bits and LRU/FIFO order. The counters add up in registers and reach ``cnt`` once; the
    clock advances once per use (``_memo_run`` advances it once per run of hits on its two entries:
    the stamps may differ in value, never in order).

    ``hint`` int64[level-0 entries]: for each level-0 entry, the level-1 entry its line was found in or
    filled into when it entered level 0 (-1: none known). A dirty victim's write-back first looks there
    and scans its level-1 set only when that entry no longer holds the line: a line is held by at most
    one way of a level, so a hint that still matches is the scan's answer, and a stale one (other
    kernels move lines without updating hints) costs only the scan. It saves the third set scan of a
    copied line whose level-0 victim is dirty (about 17 % of a streaming copy's time)."""
    ways0, base0, mask0, sets0, wbits0 = cfg[0, C_WAYS], cfg[0, C_BASE], cfg[0, C_MASK], cfg[0, C_SETS], cfg[0, C_WBITS]
    ways1, base1, mask1, sets1, wbits1 = cfg[1, C_WAYS], cfg[1, C_BASE], cfg[1, C_MASK], cfg[1, C_SETS], cfg[1, C_WBITS]
    lru0 = cfg[0, C_POLICY] == P_LRU
    lru1 = cfg[1, C_POLICY] == P_LRU
    clock = glob[G_CLOCK]
    l0_loads = l0_stores = l0_lh = l0_sh = 0
    l0_dirty = l0_clean = 0
    l1_lh = l1_lm = l1_sh = l1_sm = 0
    l1_dirty = l1_clean = 0
    for r in range(nruns):
        ns = n_src[r]
        nd = n_dst[r]
        for c in range(max(ns, nd)):
            for w in range(2):
                if w == 0:
                    if c >= ns:
                        continue
                    ln = src[r] + c
                    l0_loads += 1
                else:
                    if c >= nd:
                        continue
                    ln = dst[r] + c
                    l0_stores += 1
                b0 = (ln & mask0 if mask0 >= 0 else ln % sets0) * ways0 + base0
                e, v0 = _scan_set(tags, stamp, b0, ways0, wbits0, ln)
                if e >= 0:
                    ue = np.uint64(e)
                    if w == 0:
                        l0_lh += 1
                    else:
                        l0_sh += 1
                        dirty[ue] = 1
                    if lru0:
                        clock += 1
                        stamp[ue] = clock
                    continue
                # level 0 missed: look the line up in level 1
                b1 = (ln & mask1 if mask1 >= 0 else ln % sets1) * ways1 + base1
                e1, v1 = _scan_set(tags, stamp, b1, ways1, wbits1, ln)
                if e1 >= 0:
                    at1 = e1
                    l1_lh += 1
                    if lru1:
                        clock += 1
                        stamp[np.uint64(e1)] = clock
                else:
                    at1 = v1
                    l1_lm += 1
                    clock += 1
                    old, old_dirty = _place(tags, stamp, dirty, np.uint64(v1), ln, clock, 0)
                    if old >= 0:
                        if old_dirty != 0:
                            l1_dirty += 1  # written back to memory
                        else:
                            l1_clean += 1
                # fill level 0; a dirty victim is a store into level 1 (hit, or allocation without fetch)
                clock += 1
                uh = np.uint64(v0 - base0)
                old_hint = hint[uh]
                hint[uh] = at1
                old, old_dirty = _place(tags, stamp, dirty, np.uint64(v0), ln, clock, w)
                if old < 0:
                    continue
                if old_dirty == 0:
                    l0_clean += 1
                    continue
                l0_dirty += 1
                if old_hint >= 0 and tags[np.uint64(old_hint)] == old:
                    e1 = old_hint
                else:
                    b1 = (old & mask1 if mask1 >= 0 else old % sets1) * ways1 + base1
                    e1, v1 = _scan_set(tags, stamp, b1, ways1, wbits1, old)
                if e1 >= 0:
                    l1_sh += 1
                    ue = np.uint64(e1)
                    if lru1:
                        clock += 1
                        stamp[ue] = clock
                    dirty[ue] = 1
                    continue
                l1_sm += 1
                clock += 1
                old1, old1_dirty = _place(tags, stamp, dirty, np.uint64(v1), old, clock, 1)
                if old1 >= 0:
                    if old1_dirty != 0:
                        l1_dirty += 1
                    else:
                        l1_clean += 1
    glob[G_CLOCK] = clock
    _add_copy_counts(cfg, cnt, l0_loads, l0_stores, l0_lh, l0_sh, l0_dirty, l0_clean,
                     l1_lh, l1_lm, l1_sh, l1_sm, l1_dirty, l1_clean)


@jit(inline="always", _nrt=False, error_model="numpy")
def _add_copy_counts(cfg, cnt, l0_loads, l0_stores, l0_lh, l0_sh, l0_dirty, l0_clean,
                     l1_lh, l1_lm, l1_sh, l1_sm, l1_dirty, l1_clean):
    """``copy_runs``'s counts into ``cnt``: every level-0 miss fetches from level 1, every level-1
    load miss from memory; dirty victims are written back one level down."""
    line = np.int64(1) << cfg[0, C_SHIFT]
    cnt[0, N_LOADS] += l0_loads
    cnt[0, N_STORES] += l0_stores
    cnt[0, N_LOAD_HITS] += l0_lh
    cnt[0, N_LOAD_MISSES] += l0_loads - l0_lh
    cnt[0, N_STORE_HITS] += l0_sh
    cnt[0, N_STORE_MISSES] += l0_stores - l0_sh
    cnt[0, N_FETCHES] += l0_loads - l0_lh + l0_stores - l0_sh
    cnt[0, N_DIRTY_EVICT] += l0_dirty
    cnt[0, N_WRITEBACKS] += l0_dirty
    cnt[0, N_CLEAN_EVICT] += l0_clean
    cnt[1, N_LOADS] += l1_lh + l1_lm
    cnt[1, N_STORES] += l1_sh + l1_sm
    cnt[1, N_LOAD_HITS] += l1_lh
    cnt[1, N_LOAD_MISSES] += l1_lm
    cnt[1, N_STORE_HITS] += l1_sh
    cnt[1, N_STORE_MISSES] += l1_sm
    cnt[1, N_FETCHES] += l1_lm
    cnt[1, N_DIRTY_EVICT] += l1_dirty
    cnt[1, N_WRITEBACKS] += l1_dirty
    cnt[1, N_CLEAN_EVICT] += l1_clean
    cnt[2, M_READS] += l1_lm
    cnt[2, M_READ_BYTES] += l1_lm * line
    cnt[2, M_WRITES] += l1_dirty
    cnt[2, M_WRITE_BYTES] += l1_dirty * line
