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
 ACP_OUTSTANDING, OVERHEAD_S, PIPELINED, OVERLAP, N_PARAMS) = range(22)

# Columns of ``traffic``: DRAM bytes read and written, and the same in DRAM occupancy (whole bursts).
T_READ, T_WRITE, T_READ_OCC, T_WRITE_OCC = range(4)

# Per-invocation columns of ``inv`` (float64[I, INV_N]).
(I_LOAD_CYCLES, I_BUSY_CYCLES, I_DMA_BYTES, I_DIRTY, I_ACP_HITS, I_ACP_DRAM, I_ACP_BYTES, I_STORE_BYTES,
 I_STORE_DRAM, I_ACP_DRAM_WB, I_STORE_DRAM_WB, INV_N) = range(12)

# Per-tile columns of ``copies`` (float64[C, COPY_N]).
C_RUNS, C_BYTES, C_L2_HITS, C_DRAM, C_DRAM_WB, COPY_N = range(6)


@jit
def _dma_pipeline(nbytes, unpack_s, ns, pipelined, page, line, dma_cap):
    """gem5-Aladdin's DMA of ``nbytes`` (engine docstring): (first [s], rest [s], flush [s]).

    ``first``: the part before the first byte moves; ``rest``: the shortest duration of the transfer
    part; ``flush``: every line's flush (or invalidation) at ``ns`` per line.
    """
    on = nbytes > 0
    lines = math.ceil(nbytes / line)
    flush_s = lines * ns * 1e-9
    if not pipelined:
        return (flush_s if on else 0.0), unpack_s, flush_s
    if not on:
        return 0.0, 0.0, flush_s
    first = min(lines, max(1.0, page / line)) * ns * 1e-9
    last_bytes = nbytes - (math.ceil(nbytes / page) - 1) * page
    last_unpack = unpack_s * (last_bytes / nbytes)
    tail = last_bytes / dma_cap + last_unpack
    rest = max(flush_s - first, unpack_s - last_unpack) + tail
    return first, rest, flush_s


@jit
def _copy(copies, lo, hi, threads, p, offset_s, phase, op, tl_res, tl_phase, tl_op, tl_start, tl_end, k):
    """Tiles ``lo:hi`` copied by up to ``threads`` threads, ceil(tiles / threads) consecutive tiles
    each (SMAUG's ``parallelCopyTileData``), sharing the DRAM. Returns (time [s], thread-s, k)."""
    n = hi - lo
    if n == 0:
        return 0.0, 0.0, k
    per = (n + threads - 1) // threads
    used = (n + per - 1) // per
    fixed = np.zeros(used)
    nbytes = np.zeros(used)
    for c in range(used):
        dram = 0.0
        for t in range(lo + c * per, min(hi, lo + (c + 1) * per)):
            work = (copies[t, C_RUNS] * p[COPY_CALL_CYCLES] + copies[t, C_BYTES] / p[COPY_BYTES_PER_CYCLE]) / p[F_CPU]
            fixed[c] += work + copies[t, C_L2_HITS] * p[L2_STALL_S]
            dram += copies[t, C_DRAM]
        nbytes[c] = dram * p[LINE_K]
    starts = np.arange(used + 1)
    cap = np.full(used, p[CORE_CAP] * p[LINE_K])
    _, end = run_timelines(starts, fixed, nbytes, cap, np.zeros(used), p[DRAM_BW])
    longest = 0.0
    busy = 0.0
    for c in range(used):
        longest = max(longest, end[c])
        busy += end[c]
        if tl_res.shape[0]:
            tl_res[k] = THREAD0 + c
            tl_phase[k] = phase
            tl_op[k] = op
            tl_start[k] = offset_s
            tl_end[k] = offset_s + end[c]
            k += 1
    return longest, busy, k


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
def _invocations(inv, acc_ptr, nacc, out_dma, p, offset_s, op, detail, traffic,
                 tl_res, tl_phase, tl_op, tl_start, tl_end, k):
    """An op's invocations on ``nacc`` accelerators (``acc_ptr``: each accelerator's invocations, in
    issue order). Fills ``detail`` and ``traffic``; returns (time [s], accelerator-s busy, k).

    Each invocation is four segments on its accelerator: DMA loads, ACP loads, compute (with the
    unpacking no transfer hides), and the store of a completed output tile (DMA or ACP). Every
    transfer of every accelerator shares the DRAM bandwidth (``run_timelines``).
    """
    lo = acc_ptr[0]
    n = acc_ptr[nacc] - lo
    if n == 0:
        return 0.0, 0.0, k
    kind = np.empty(4 * n, np.int64)
    fixed = np.zeros(4 * n)
    nbytes = np.zeros(4 * n)
    cap = np.ones(4 * n)
    min_s = np.zeros(4 * n)
    seg_flush = np.zeros(4 * n)
    f_acc = p[F_ACC]
    setup_s = p[DMA_SETUP_CYCLES] / f_acc
    acp_s = p[ACP_LATENCY_CYCLES]
    pipelined = p[PIPELINED] != 0.0
    for j in range(n):
        i = lo + j
        s = 4 * j
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
        first, rest, flush_s = _dma_pipeline(dma_b, unpack_dma, p[FLUSH_NS], pipelined, p[PAGE_BYTES],
                                             p[LINE_BYTES], p[DMA_CAP])
        kind[s] = P_DMA
        cap[s] = p[DMA_CAP] * p[DMA_K]
        if has_dma:
            fixed[s] = first + setup_s
            nbytes[s] = dma_b * p[DMA_K] + inv[i, I_DIRTY] * p[LINE_K]
            min_s[s] = rest
            seg_flush[s] = flush_s
        kind[s + 1] = P_ACP
        fixed[s + 1] = inv[i, I_ACP_HITS] * acp_s / f_acc / p[ACP_OUTSTANDING]
        nbytes[s + 1] = inv[i, I_ACP_DRAM] * p[LINE_K]
        cap[s + 1] = p[ACP_CAP] * p[LINE_K]
        if has_acp:
            min_s[s + 1] = unpack_acp
        # unpacking that overlaps no transfer (non-pipelined DMA, or resident tiles) is compute
        extra = load_s - (unpack_dma if has_dma else 0.0) - (unpack_acp if has_acp else 0.0)
        kind[s + 2] = P_COMPUTE
        fixed[s + 2] = inv[i, I_BUSY_CYCLES] / f_acc + max(extra, 0.0)
        store = inv[i, I_STORE_BYTES]
        if out_dma:
            s_first, s_rest, s_flush = _dma_pipeline(store, 0.0, p[INVALIDATE_NS], pipelined, p[PAGE_BYTES],
                                                     p[LINE_BYTES], p[DMA_CAP])
            kind[s + 3] = P_DMA
            cap[s + 3] = p[DMA_CAP] * p[DMA_K]
            nbytes[s + 3] = store * p[DMA_K]
            if store > 0:
                fixed[s + 3] = s_first + setup_s
                min_s[s + 3] = s_rest
                seg_flush[s + 3] = s_flush
        else:
            # ACP writes allocate each line in the LLC (a miss reads it and may evict a dirty line)
            kind[s + 3] = P_ACP
            fixed[s + 3] = math.ceil(store / p[LINE_BYTES]) * acp_s / f_acc / p[ACP_OUTSTANDING]
            nbytes[s + 3] = inv[i, I_STORE_DRAM] * p[LINE_K]
            cap[s + 3] = p[ACP_CAP] * p[LINE_K]
        # DRAM traffic: DMA loads and the LLC's fills for ACP read; flush write-backs, DMA stores and
        # the dirty lines ACP fills evict write
        acp_rd = inv[i, I_ACP_DRAM] - inv[i, I_ACP_DRAM_WB] + inv[i, I_STORE_DRAM] - inv[i, I_STORE_DRAM_WB]
        acp_wr = inv[i, I_ACP_DRAM_WB] + inv[i, I_STORE_DRAM_WB]
        traffic[T_READ] += dma_b + acp_rd
        traffic[T_WRITE] += inv[i, I_DIRTY] + acp_wr
        traffic[T_READ_OCC] += dma_b * p[DMA_K] + acp_rd * p[LINE_K]
        traffic[T_WRITE_OCC] += (inv[i, I_DIRTY] + acp_wr) * p[LINE_K]
        if out_dma:
            traffic[T_WRITE] += store
            traffic[T_WRITE_OCC] += store * p[DMA_K]
    starts = np.empty(nacc + 1, np.int64)
    for a in range(nacc + 1):
        starts[a] = 4 * (acc_ptr[a] - lo)
    begin, end = run_timelines(starts, fixed, nbytes, cap, min_s, p[DRAM_BW])
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
        part = min(dur, seg_flush[s])
        detail[kind[s]] += dur - part
        detail[P_FLUSH] += part
    if tl_res.shape[0]:
        for a in range(nacc):
            for s in range(starts[a], starts[a + 1]):
                part = min(end[s] - begin[s], seg_flush[s])
                if part > 0:
                    tl_res[k] = a
                    tl_phase[k] = P_FLUSH
                    tl_op[k] = op
                    tl_start[k] = offset_s + begin[s]
                    tl_end[k] = offset_s + begin[s] + part
                    k += 1
        for a in range(nacc):
            for s in range(starts[a], starts[a + 1]):
                part = min(end[s] - begin[s], seg_flush[s])
                if end[s] - begin[s] - part > 0:
                    tl_res[k] = a
                    tl_phase[k] = kind[s]
                    tl_op[k] = op
                    tl_start[k] = offset_s + begin[s] + part
                    tl_end[k] = offset_s + end[s]
                    k += 1
    return finish, busy, k


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
    tl_res = np.empty(cap, np.int64)
    tl_phase = np.empty(cap, np.int64)
    tl_op = np.empty(cap, np.int64)
    tl_start = np.empty(cap)
    tl_end = np.empty(cap)
    k = 0
    now = 0.0
    accel_busy = 0.0
    cpu_busy = 0.0
    for o in range(n_ops):
        start = now
        if accel[o]:
            t, busy, k = _copy(copies, copy_ptr[2 * o], copy_ptr[2 * o + 1], threads, p, now, P_PREP, o,
                               tl_res, tl_phase, tl_op, tl_start, tl_end, k)
            detail[o, P_PREP] = t
            cpu_busy += busy
            now += t
            t, busy, k = _invocations(inv, acc_ptr[o], nacc, out_dma[o], p, now, o, detail[o], traffic[o],
                                      tl_res, tl_phase, tl_op, tl_start, tl_end, k)
            accel_busy += busy
            now += t
            fin_threads = 1 if serial_fin[o] else threads
            t, busy, k = _copy(copies, copy_ptr[2 * o + 1], copy_ptr[2 * o + 2], fin_threads, p, now, P_FINALIZE, o,
                               tl_res, tl_phase, tl_op, tl_start, tl_end, k)
            detail[o, P_FINALIZE] = t
            cpu_busy += busy
            now += t
            for c in range(copy_ptr[2 * o], copy_ptr[2 * o + 2]):
                _copy_traffic(copies, c, p, traffic[o])
        else:
            c = copy_ptr[2 * o]
            fixed = np.array([copies[c, C_L2_HITS] * p[L2_STALL_S] + cpu_work_s[o]])
            nbytes = np.array([copies[c, C_DRAM] * p[LINE_K]])
            cap1 = np.array([p[CORE_CAP] * p[LINE_K]])
            _, end = run_timelines(np.arange(2), fixed, nbytes, cap1, np.zeros(1), p[DRAM_BW])
            t = end[0]
            detail[o, P_CPU_OPS] = t
            if record:
                tl_res[k] = THREAD0
                tl_phase[k] = P_CPU_OPS
                tl_op[k] = o
                tl_start[k] = now
                tl_end[k] = now + t
                k += 1
            cpu_busy += t
            now += t
            _copy_traffic(copies, c, p, traffic[o])
        detail[o, P_OVERHEAD] = p[OVERHEAD_S]
        if record:
            tl_res[k] = THREAD0
            tl_phase[k] = P_OVERHEAD
            tl_op[k] = o
            tl_start[k] = now
            tl_end[k] = now + p[OVERHEAD_S]
            k += 1
        cpu_busy += p[OVERHEAD_S]
        now += p[OVERHEAD_S]
        latency[o] = now - start
    return now, detail, latency, traffic, accel_busy, cpu_busy, (tl_res[:k], tl_phase[:k], tl_op[:k], tl_start[:k], tl_end[:k])
