"""The timing model of a whole network in one call: every op's CPU copies, accelerator invocations,
CPU work and framework overhead, one op after the other, as SMAUG's runtime runs them.

The engine (``smaug_fast.sim.engine``) prepares, once per network, accelerator, memory system and
accelerator count, everything that does not depend on timing parameters (per tile of the CPU copies:
runs, bytes, LLC hits and DRAM bytes from the memory pass; per invocation: the bytes it loads by
DMA or ACP, the write-backs of its flushes, its ACP hits and misses, its cycles). :func:`run_network`
turns those into time for the clocks, bandwidths and overheads of one sweep point, so a sweep point
costs one kernel call instead of thousands of small NumPy operations.

Phases (the columns of ``detail``) follow ``smaug_fast.sim.result.DETAIL_PHASES``; a test checks
that :data:`PHASE_NAMES` matches it.
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit
from .timeline import run_timelines

PHASE_NAMES = ("accel_compute", "dma_transfer", "acp_transfer", "flush", "cpu_prep", "cpu_finalize",
               "cpu_ops", "cpu_overhead")
P_COMPUTE, P_DMA, P_ACP, P_FLUSH, P_PREP, P_FINALIZE, P_CPU_OPS, P_OVERHEAD = range(8)

#: Resource codes of the timeline: accelerator k is k, CPU thread k is THREAD0 + k.
THREAD0 = 64

# Indices of the float parameters (``params``) of run_network.
(F_CPU, F_ACC, COPY_CALL_CYCLES, COPY_BYTES_PER_CYCLE, L2_STALL_S, CORE_CAP, LINE_K, DMA_K, DMA_CAP,
 ACP_CAP, DRAM_BW, DMA_SETUP_CYCLES, FLUSH_NS, INVALIDATE_NS, PAGE_BYTES, LINE_BYTES, ACP_LATENCY_CYCLES,
 ACP_OUTSTANDING, OVERHEAD_S, PIPELINED, OVERLAP, WRITE_K, POST_BYTES, N_PARAMS) = range(24)

# Columns of ``traffic``: DRAM bytes read and written, and the same in DRAM occupancy (whole bursts).
T_READ, T_WRITE, T_READ_OCC, T_WRITE_OCC = range(4)

# Per-invocation columns of ``inv`` (float64[I, INV_N]).
(I_LOAD_CYCLES, I_BUSY_CYCLES, I_DMA_BYTES, I_DIRTY, I_ACP_HITS, I_ACP_DRAM, I_ACP_BYTES, I_STORE_BYTES,
 I_STORE_DRAM, I_ACP_DRAM_WB, I_STORE_DRAM_WB, INV_N) = range(12)

# Per-tile columns of ``copies`` (float64[C, COPY_N]).
C_RUNS, C_BYTES, C_L2_HITS, C_DRAM, C_DRAM_WB, COPY_N = range(6)

# The timeline, a tuple of arrays (:func:`_new_timeline`) filled by :func:`_record`: per entry the
# resource, phase and op (int64) and the start and end [s] (float64). Its length is its capacity;
# length 0: not recording.
TL_RES, TL_PHASE, TL_OP, TL_START, TL_END = range(5)

# An op's accelerator segments (:func:`_segments`), four per invocation (DMA loads, ACP loads,
# compute, store), a tuple of arrays: per segment its phase (int64), and (float64) its fixed part
# [s], DRAM occupancy [B], own bandwidth limit [B/s], least transfer duration [s] (the arguments of
# ``run_timelines``) and the flushes it starts with [s].
SEG_KIND, SEG_FIXED, SEG_BYTES, SEG_CAP, SEG_MIN, SEG_FLUSH = range(6)


@jit
def _dma_pipeline(nbytes, unpack_s, ns, pipelined, page, line, dma_cap, posted):
    """gem5-Aladdin's DMA of ``nbytes`` (engine docstring): (first [s], rest [s], flush [s]).

    ``first``: the part before the first byte moves; ``rest``: the shortest duration of the transfer
    part; ``flush``: every line's flush (or invalidation) at ``ns`` per line. ``posted`` [B]: the
    bytes of a store that the DRAM controllers' write queues take without waiting for the DRAM
    (0 for loads): they leave at once, so the last request's transfer, the one no later flush hides,
    moves only what does not fit there.
    """
    on = nbytes > 0
    lines = math.ceil(nbytes / line)
    flush_s = lines * ns * 1e-9
    if not pipelined:
        return (flush_s if on else 0.0), unpack_s, flush_s
    if not on:
        return 0.0, 0.0, flush_s
    first = min(lines, max(1.0, page / line)) * ns * 1e-9
    requests = math.ceil(nbytes / page)
    last_bytes = nbytes - (requests - 1) * page
    last_unpack = unpack_s * (last_bytes / nbytes)
    tail = max(last_bytes - posted, 0.0) / dma_cap + last_unpack
    rest = max(flush_s - first, unpack_s - last_unpack) + tail
    if requests > 1:
        # a short last request's flush may not hide the whole request before it
        before_last = (lines - math.ceil(last_bytes / line)) * ns * 1e-9
        rest = max(rest, before_last + max(page - posted, 0.0) / dma_cap - first)
    return first, rest, flush_s


@jit
def _new_timeline(cap):
    """An empty timeline with room for ``cap`` entries (see TL_RES)."""
    return np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap), np.empty(cap)


@jit(inline="always")
def _record(tl, k, res, phase, op, start_s, end_s):
    """Entry ``k`` of the timeline ``tl``: resource ``res`` in ``phase`` for op ``op`` from ``start_s``
    to ``end_s`` [s]. Returns the next entry's index, ``k + 1``."""
    tl[TL_RES][k] = res
    tl[TL_PHASE][k] = phase
    tl[TL_OP][k] = op
    tl[TL_START][k] = start_s
    tl[TL_END][k] = end_s
    return k + 1


@jit
def _copy(copies, lo, hi, threads, p, offset_s, phase, op, tl, k):
    """Tiles ``lo:hi`` copied by up to ``threads`` threads, ceil(tiles / threads) consecutive tiles
    each (SMAUG's ``parallelCopyTileData``), sharing the DRAM; each thread's copy recorded at entry
    ``k`` of the timeline ``tl`` from ``offset_s`` [s] on. Returns (time [s], thread-s, next entry)."""
    n = hi - lo
    if n == 0:
        return 0.0, 0.0, k
    per = (n + threads - 1) // threads
    used = (n + per - 1) // per
    fixed = np.zeros(used)
    nbytes = np.zeros(used)
    cap = np.zeros(used)
    for c in range(used):
        dram = 0.0
        written = 0.0
        for t in range(lo + c * per, min(hi, lo + (c + 1) * per)):
            work = (copies[t, C_RUNS] * p[COPY_CALL_CYCLES] + copies[t, C_BYTES] / p[COPY_BYTES_PER_CYCLE]) / p[F_CPU]
            fixed[c] += work + copies[t, C_L2_HITS] * p[L2_STALL_S]
            dram += copies[t, C_DRAM]
            written += copies[t, C_DRAM_WB]
        nbytes[c] = (dram + written * (p[WRITE_K] - 1.0)) * p[LINE_K]
        # the core's own limit is on requests, not on DRAM occupancy: scaled by the same factor
        cap[c] = p[CORE_CAP] * p[LINE_K] * (_write_factor(dram, written, p) if dram > 0 else 1.0)
    starts = np.arange(used + 1)
    _, end = run_timelines(starts, fixed, nbytes, cap, np.zeros(used), p[DRAM_BW])
    longest = 0.0
    busy = 0.0
    for c in range(used):
        longest = max(longest, end[c])
        busy += end[c]
        if tl[TL_RES].shape[0]:
            k = _record(tl, k, THREAD0 + c, phase, op, offset_s, offset_s + end[c])
    return longest, busy, k


@jit(inline="always")
def _write_factor(total, written, p):
    """DRAM occupancy of ``total`` bytes of which ``written`` are writes, per plain byte [1]: the factor
    by which a requester's rate limit (its outstanding requests) scales into occupancy."""
    return (total + written * (p[WRITE_K] - 1.0)) / total


@jit
def _copy_traffic(copies, c, p, traffic):
    """Row ``c`` of ``copies`` into ``traffic``: the LLC's fills read, its write-backs write."""
    wb = copies[c, C_DRAM_WB]
    rd = copies[c, C_DRAM] - wb
    traffic[T_READ] += rd
    traffic[T_WRITE] += wb
    traffic[T_READ_OCC] += rd * p[LINE_K]
    traffic[T_WRITE_OCC] += wb * p[LINE_K]


@jit
def _invocations(inv, acc_ptr, nacc, out_dma, p, offset_s, op, detail, traffic, tl, k):
    """An op's invocations on ``nacc`` accelerators (``acc_ptr``: each accelerator's invocations, in
    issue order). Fills ``detail`` and ``traffic``, and the timeline ``tl`` from entry ``k`` on,
    from ``offset_s`` [s]; returns (time [s], accelerator-s busy, next entry).

    Each invocation is four segments on its accelerator (:func:`_segments`): DMA loads, ACP loads,
    compute (with the unpacking no transfer hides), and the store of a completed output tile (DMA or
    ACP). Every transfer of every accelerator shares the DRAM bandwidth (``run_timelines``).
    """
    lo = acc_ptr[0]
    n = acc_ptr[nacc] - lo
    if n == 0:
        return 0.0, 0.0, k
    seg = _new_segments(4 * n)
    # the accelerators store alike, so each may count on its share of the controllers' write queues
    _segments(inv, lo, n, out_dma, p, p[POST_BYTES] / nacc, seg, traffic)
    starts = np.empty(nacc + 1, np.int64)
    for a in range(nacc + 1):
        starts[a] = 4 * (acc_ptr[a] - lo)
    begin, end = run_timelines(starts, seg[SEG_FIXED], seg[SEG_BYTES], seg[SEG_CAP], seg[SEG_MIN], p[DRAM_BW])
    # the accelerator that finishes last decides the op's time
    crit = 0
    finish = 0.0
    for a in range(nacc):
        if starts[a + 1] > starts[a] and end[starts[a + 1] - 1] > finish:
            finish = end[starts[a + 1] - 1]
            crit = a
    busy = 0.0
    for s in range(4 * n):
        busy += end[s] - begin[s]
    for s in range(starts[crit], starts[crit + 1]):
        dur = end[s] - begin[s]
        # the flush part of a DMA segment is its flushes, as far as they reach; the rest is transfer
        part = min(dur, seg[SEG_FLUSH][s])
        detail[seg[SEG_KIND][s]] += dur - part
        detail[P_FLUSH] += part
    if tl[TL_RES].shape[0]:
        # every flush part first, then every segment's rest
        k = _record_segments(tl, k, starts, seg, begin, end, offset_s, op, np.bool_(True))
        k = _record_segments(tl, k, starts, seg, begin, end, offset_s, op, np.bool_(False))
    return finish, busy, k


@jit
def _new_segments(n):
    """``n`` empty segments (see SEG_KIND): no fixed part, no transfer, no flush."""
    return np.empty(n, np.int64), np.zeros(n), np.zeros(n), np.ones(n), np.zeros(n), np.zeros(n)


@jit(_nrt=False)
def _segments(inv, lo, n, out_dma, p, post_bytes, seg, traffic):
    """The segments ``seg`` (see SEG_KIND) of the ``n`` invocations from row ``lo`` of ``inv``, and
    their DRAM traffic into ``traffic``; ``post_bytes`` [B]: the write-queue room a DMA store finds
    (:func:`_store_segment`).

    Without Numba's reference counting (``_nrt=False``), its helpers inlined: as separate calls,
    each would pay atomic reference-count updates on every array it is handed (run_network measured
    35 % slower).
    """
    for j in range(n):
        _load_segments(inv, lo + j, 4 * j, p, seg)
        _store_segment(inv, lo + j, 4 * j + 3, out_dma, p, post_bytes, seg)
        _invocation_traffic(inv, lo + j, out_dma, p, traffic)


@jit(inline="always")
def _load_segments(inv, i, s, p, seg):
    """Segments ``s`` (DMA loads), ``s + 1`` (ACP loads) and ``s + 2`` (compute) of invocation ``i``.

    Unpacking the loaded data ``I_LOAD_CYCLES`` is split between the transfers by bytes; the part
    no transfer hides (non-pipelined DMA, or resident tiles) is compute.
    """
    kind, fixed, nbytes, cap, min_s, flush = seg
    f_acc = p[F_ACC]
    acp_cycles = p[ACP_LATENCY_CYCLES]
    load_s = inv[i, I_LOAD_CYCLES] / f_acc
    total_load = inv[i, I_DMA_BYTES] + inv[i, I_ACP_BYTES]
    dma_b = inv[i, I_DMA_BYTES]
    acp_b = inv[i, I_ACP_BYTES]
    has_dma = dma_b > 0
    has_acp = acp_b > 0
    unpack_dma = 0.0
    unpack_acp = 0.0
    if total_load > 0:
        if p[OVERLAP] != 0.0:
            unpack_dma = load_s * (dma_b / total_load)
        unpack_acp = load_s * (acp_b / total_load)
    first, rest, flush_s = _dma_pipeline(dma_b, unpack_dma, p[FLUSH_NS], p[PIPELINED] != 0.0, p[PAGE_BYTES],
                                         p[LINE_BYTES], p[DMA_CAP], 0.0)
    kind[s] = P_DMA
    cap[s] = p[DMA_CAP] * p[DMA_K]
    if has_dma:
        fixed[s] = first + p[DMA_SETUP_CYCLES] / f_acc
        plain = dma_b * p[DMA_K] + inv[i, I_DIRTY] * p[LINE_K]
        nbytes[s] = dma_b * p[DMA_K] + inv[i, I_DIRTY] * p[LINE_K] * p[WRITE_K]
        cap[s] *= nbytes[s] / plain
        min_s[s] = rest
        flush[s] = flush_s
    kind[s + 1] = P_ACP
    fixed[s + 1] = inv[i, I_ACP_HITS] * acp_cycles / f_acc / p[ACP_OUTSTANDING]
    nbytes[s + 1] = (inv[i, I_ACP_DRAM] + inv[i, I_ACP_DRAM_WB] * (p[WRITE_K] - 1.0)) * p[LINE_K]
    cap[s + 1] = p[ACP_CAP] * p[LINE_K]
    if inv[i, I_ACP_DRAM] > 0:
        cap[s + 1] *= _write_factor(inv[i, I_ACP_DRAM], inv[i, I_ACP_DRAM_WB], p)
    if has_acp:
        min_s[s + 1] = unpack_acp
    # unpacking that overlaps no transfer (non-pipelined DMA, or resident tiles) is compute
    extra = load_s - (unpack_dma if has_dma else 0.0) - (unpack_acp if has_acp else 0.0)
    kind[s + 2] = P_COMPUTE
    fixed[s + 2] = inv[i, I_BUSY_CYCLES] / f_acc + max(extra, 0.0)


@jit(inline="always")
def _store_segment(inv, i, s, out_dma, p, post_bytes, seg):
    """Segment ``s``: invocation ``i``'s store of its output tile, by DMA (``out_dma``) or ACP.

    A DMA store's writes are posted: the DRAM controller answers a write once it is in its write
    queue (gem5 src/mem/dram_ctrl.cc DRAMCtrl::addToWriteQueue, accessAndRespond(pkt,
    frontendLatency); DRAMsim3 src/controller.cc AddTransaction: a write completes the next cycle)
    and drains the queue later, while the DRAM has no reads to serve. The first ``post_bytes`` [B]
    of a store therefore wait for no DRAM time: only the rest takes its share of the bandwidth
    (they still reach the DRAM: the traffic counts every byte). Between stores the DRAM idles
    through the next loads' flush delays and the compute, long enough to drain the queue down to
    what it keeps while idle (``DramProfile.write_post_bytes``).
    """
    kind, fixed, nbytes, cap, min_s, flush = seg
    f_acc = p[F_ACC]
    acp_cycles = p[ACP_LATENCY_CYCLES]
    store = inv[i, I_STORE_BYTES]
    if out_dma:
        posted = min(store, post_bytes)
        s_first, s_rest, s_flush = _dma_pipeline(store, 0.0, p[INVALIDATE_NS], p[PIPELINED] != 0.0, p[PAGE_BYTES],
                                                 p[LINE_BYTES], p[DMA_CAP], posted)
        kind[s] = P_DMA
        cap[s] = p[DMA_CAP] * p[DMA_K] * p[WRITE_K]
        nbytes[s] = (store - posted) * p[DMA_K] * p[WRITE_K]
        if store > 0:
            fixed[s] = s_first + p[DMA_SETUP_CYCLES] / f_acc
            min_s[s] = s_rest
            flush[s] = s_flush
    else:
        # ACP writes allocate each line in the LLC (a miss reads it and may evict a dirty line)
        kind[s] = P_ACP
        fixed[s] = math.ceil(store / p[LINE_BYTES]) * acp_cycles / f_acc / p[ACP_OUTSTANDING]
        nbytes[s] = (inv[i, I_STORE_DRAM] + inv[i, I_STORE_DRAM_WB] * (p[WRITE_K] - 1.0)) * p[LINE_K]
        cap[s] = p[ACP_CAP] * p[LINE_K]
        if inv[i, I_STORE_DRAM] > 0:
            cap[s] *= _write_factor(inv[i, I_STORE_DRAM], inv[i, I_STORE_DRAM_WB], p)


@jit(inline="always")
def _invocation_traffic(inv, i, out_dma, p, traffic):
    """Invocation ``i``'s DRAM traffic into ``traffic``: DMA loads and the LLC's fills for ACP read;
    flush write-backs, DMA stores and the dirty lines ACP fills evict write."""
    dma_b = inv[i, I_DMA_BYTES]
    acp_rd = inv[i, I_ACP_DRAM] - inv[i, I_ACP_DRAM_WB] + inv[i, I_STORE_DRAM] - inv[i, I_STORE_DRAM_WB]
    acp_wr = inv[i, I_ACP_DRAM_WB] + inv[i, I_STORE_DRAM_WB]
    traffic[T_READ] += dma_b + acp_rd
    traffic[T_WRITE] += inv[i, I_DIRTY] + acp_wr
    traffic[T_READ_OCC] += dma_b * p[DMA_K] + acp_rd * p[LINE_K]
    traffic[T_WRITE_OCC] += (inv[i, I_DIRTY] + acp_wr) * p[LINE_K]
    if out_dma:
        store = inv[i, I_STORE_BYTES]
        traffic[T_WRITE] += store
        traffic[T_WRITE_OCC] += store * p[DMA_K]


@jit(_nrt=False)
def _record_segments(tl, k, starts, seg, begin, end, offset_s, op, flush_part):
    """Timeline entries, from ``k`` on, of each segment's flushes (``flush_part``) or of the rest of
    it, accelerator by accelerator (``starts``: each one's segments); ``begin``, ``end``: the
    segments' times [s] from ``offset_s`` [s]. Returns the next entry's index."""
    for a in range(starts.shape[0] - 1):
        for s in range(starts[a], starts[a + 1]):
            part = min(end[s] - begin[s], seg[SEG_FLUSH][s])
            if flush_part:
                if part > 0:
                    k = _record(tl, k, a, P_FLUSH, op, offset_s + begin[s], offset_s + begin[s] + part)
            elif end[s] - begin[s] - part > 0:
                k = _record(tl, k, a, seg[SEG_KIND][s], op, offset_s + begin[s] + part, offset_s + end[s])
    return k


@jit
def run_network(accel, copy_ptr, copies, acc_ptr, nacc, inv, out_dma, serial_fin, cpu_work_s, threads, p, record):
    """Time every op of a network, one after the other.

    Args:
        accel: bool[O], the op runs on the accelerators (else on the CPU).
        copy_ptr: int64[2 O + 1]; rows ``copy_ptr[2 o]:copy_ptr[2 o + 1]`` of ``copies`` are op o's
            tiling copies (per tile), ``copy_ptr[2 o + 1]:copy_ptr[2 o + 2]`` its untiling copies;
            for a CPU op, one row: its reads and writes (LLC hits and DRAM bytes).
        copies: float64[C, COPY_N] per tile: contiguous runs, bytes [B], LLC hits [lines], DRAM traffic
            [B] and the write-backs among it [B].
        acc_ptr: int64[O, nacc + 1], each accelerator's invocations in ``inv`` (issue order).
        inv: float64[I, INV_N] per invocation: load and busy cycles, DMA bytes [B], flush write-backs
            [B], ACP hits [lines], ACP DRAM traffic [B], ACP bytes [B], store bytes [B], ACP store DRAM
            traffic [B], and the write-backs among the two ACP DRAM traffics [B].
        out_dma: bool[O], the output tiles go back by DMA (else by ACP).
        serial_fin: bool[O], the op's untiling copies run on one thread (else on ``threads``).
        cpu_work_s: float64[O], compute time of a CPU op [s].
        threads: CPU threads doing the copies.
        p: float64[N_PARAMS], the system's timing parameters (see the module's indices).
        record: fill the timeline arrays.

    Returns:
        (latency [s], detail float64[O, 8] [s], latency per op float64[O] [s], traffic float64[O, 4] [B], accel_busy [s],
        cpu_busy [s], timeline (resource, phase, op int64[K], start, end float64[K] [s])).
    """
    n_ops = accel.shape[0]
    detail = np.zeros((n_ops, 8))
    latency = np.zeros(n_ops)
    traffic = np.zeros((n_ops, 4))
    cap = 0
    if record:
        for o in range(n_ops):
            cap += 2 + copy_ptr[2 * o + 2] - copy_ptr[2 * o] + 8 * (acc_ptr[o, nacc] - acc_ptr[o, 0])
    tl = _new_timeline(cap)
    # np.int64()/np.bool_() on constant arguments below: a literal would make Numba compile another
    # copy of the callee (first-run compile time, issue 16)
    k = np.int64(0)
    now = 0.0
    accel_busy = 0.0
    cpu_busy = 0.0
    for o in range(n_ops):
        start = now
        if accel[o]:
            t, busy, k = _copy(copies, copy_ptr[2 * o], copy_ptr[2 * o + 1], threads, p, now, np.int64(P_PREP), o, tl, k)
            detail[o, P_PREP] = t
            cpu_busy += busy
            now += t
            t, busy, k = _invocations(inv, acc_ptr[o], nacc, out_dma[o], p, now, o, detail[o], traffic[o], tl, k)
            accel_busy += busy
            now += t
            fin_threads = 1 if serial_fin[o] else threads
            t, busy, k = _copy(copies, copy_ptr[2 * o + 1], copy_ptr[2 * o + 2], fin_threads, p, now, np.int64(P_FINALIZE), o,
                               tl, k)
            detail[o, P_FINALIZE] = t
            cpu_busy += busy
            now += t
            for c in range(copy_ptr[2 * o], copy_ptr[2 * o + 2]):
                _copy_traffic(copies, c, p, traffic[o])
        else:
            c = copy_ptr[2 * o]
            fixed = np.array([copies[c, C_L2_HITS] * p[L2_STALL_S] + cpu_work_s[o]])
            nbytes = np.array([(copies[c, C_DRAM] + copies[c, C_DRAM_WB] * (p[WRITE_K] - 1.0)) * p[LINE_K]])
            factor = _write_factor(copies[c, C_DRAM], copies[c, C_DRAM_WB], p) if copies[c, C_DRAM] > 0 else 1.0
            cap1 = np.array([p[CORE_CAP] * p[LINE_K] * factor])
            _, end = run_timelines(np.arange(2), fixed, nbytes, cap1, np.zeros(1), p[DRAM_BW])
            t = end[0]
            detail[o, P_CPU_OPS] = t
            if record:
                k = _record(tl, k, THREAD0, P_CPU_OPS, o, now, now + t)
            cpu_busy += t
            now += t
            _copy_traffic(copies, c, p, traffic[o])
        detail[o, P_OVERHEAD] = p[OVERHEAD_S]
        if record:
            k = _record(tl, k, THREAD0, P_OVERHEAD, o, now, now + p[OVERHEAD_S])
        cpu_busy += p[OVERHEAD_S]
        now += p[OVERHEAD_S]
        latency[o] = now - start
    return now, detail, latency, traffic, accel_busy, cpu_busy, (tl[TL_RES][:k], tl[TL_PHASE][:k], tl[TL_OP][:k],
                                                                 tl[TL_START][:k], tl[TL_END][:k])
