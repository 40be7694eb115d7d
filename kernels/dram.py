"""DRAM timing model: an event-driven FR-FCFS controller over JEDEC bank state machines.

Not cycle by cycle: each transaction (one burst) is scheduled once, its PRE/ACT/CAS commands placed
at the earliest cycle every timing constraint allows. ACT and PRE may be placed before the decision
that schedules the column command (a controller opens banks for queued requests while earlier
bursts transfer), never before the transaction entered the controller.

Events, in time order: the front end admits transaction ``pos`` (in trace order, at most one per
``issue_interval`` cycles, when its channel's read or write queue has room); a channel whose queues
hold work decides its next column command: reads first, row hits first, oldest first; writes are
batched: drained when the write queue is full, or holds more than ``drain_min`` while no read waits
(the policy of DRAMsim3's controller), until the writes present at the start of the drain are done.
A read of an address waiting in the write queue is answered from it (no DRAM access).

Refresh: all-bank, per rank, every tREFI: banks are precharged and stay closed for tRFC.

Parameters (``p``, int64, indices P_*), per-field address bit positions (``fs`` shift, ``fm``
mask), outputs: ``hist`` read latencies [cycles] as a histogram, ``st`` counters (S_*).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

(
    P_CHANNELS, P_RANKS, P_BG, P_BPG, P_BURST_CYC, P_CL, P_CWL, P_RCD, P_RP, P_RAS, P_RC, P_CCD_S,
    P_CCD_L, P_RRD_S, P_RRD_L, P_FAW, P_WTR_S, P_WTR_L, P_WR, P_RTP, P_RFC, P_REFI, P_RQ, P_WQ,
    P_DRAIN_MIN, P_OPEN_PAGE, P_RTRS,
) = range(27)
P_N = 27
# address fields
F_CH, F_RA, F_BG, F_BA, F_RO, F_CO = range(6)
(
    S_READS, S_WRITES, S_ACT, S_PRE, S_RD, S_WR, S_REF, S_HITS, S_MISSES, S_CONFLICTS, S_END,
    S_OPEN_CYCLES, S_FORWARDED, S_FIRST, S_LAT_SUM, S_LAT_MAX,
) = range(16)
S_N = 16
NEG = -(1 << 40)
BIG = 1 << 62
WTAB = 4096


@jit(inline="always")
def _log2(v):
    k = 0
    while (np.int64(1) << k) < v:
        k += 1
    return k


@jit
def simulate(addr, is_write, arrival, issue_interval, p, fs, fm, hist, st):
    """Run transactions (one burst each) through the channels; see the module docstring.

    ``arrival`` holds issue cycles, or has length 0 (every transaction ready at cycle 0). Read
    latencies [cycles] are counted in ``hist`` (``hist[L]``: reads of latency L; latencies beyond
    it are not: when ``st[S_LAT_MAX] >= len(hist)`` the caller reruns with a larger one), their sum
    in ``st[S_LAT_SUM]`` and their maximum in ``st[S_LAT_MAX]``: what the mean and percentiles need,
    without an array of one latency per request.

    Speed: parameters and address fields are read into scalars once (from arrays, the compiler
    would reload them after every store to an int64 array), queue entries carry their bank, and
    indices are unsigned (no wraparound code).
    """
    n = addr.shape[0]
    nch = p[P_CHANNELS]
    nra = p[P_RANKS]
    nbg = p[P_BG]
    nbpg = p[P_BPG]
    nbanks = nch * nra * nbg * nbpg
    nranks = nch * nra
    bl = p[P_BURST_CYC]
    cl = p[P_CL]
    cwl = p[P_CWL]
    t_rcd = p[P_RCD]
    t_rp = p[P_RP]
    t_ras = p[P_RAS]
    t_rc = p[P_RC]
    t_ccd_s = p[P_CCD_S]
    t_ccd_l = p[P_CCD_L]
    t_rrd_s = p[P_RRD_S]
    t_rrd_l = p[P_RRD_L]
    t_faw = p[P_FAW]
    t_wtr_s = p[P_WTR_S]
    t_wtr_l = p[P_WTR_L]
    t_wr = p[P_WR]
    t_rtp = p[P_RTP]
    t_rfc = p[P_RFC]
    t_refi = p[P_REFI]
    t_rtrs = p[P_RTRS]
    rq_cap = p[P_RQ]
    wq_cap = p[P_WQ]
    drain_min = p[P_DRAIN_MIN]
    open_page = p[P_OPEN_PAGE] != 0
    sh_ch, m_ch = fs[F_CH], fm[F_CH]
    sh_ra, m_ra = fs[F_RA], fm[F_RA]
    sh_bg, m_bg = fs[F_BG], fm[F_BG]
    sh_ba, m_ba = fs[F_BA], fm[F_BA]
    sh_ro, m_ro = fs[F_RO], fm[F_RO]
    lg_bpg = _log2(nbpg)  # bank = ((rank * nbg) + bank group) * nbpg + bank in group: all powers of 2
    lg_rank = lg_bpg + _log2(nbg)
    banks_per_rank = nbg * nbpg
    hcap = hist.shape[0]
    # counters in locals (stores to ``st`` would make the compiler reload bank state)
    n_reads = 0
    n_writes = 0
    n_act = 0
    n_pre = 0
    n_rd = 0
    n_wr = 0
    n_ref = 0
    n_hits = 0
    n_misses = 0
    n_conflicts = 0
    n_open_cycles = 0
    n_forwarded = 0
    lat_sum = 0
    lat_max = 0
    # bank state
    open_row = np.full(nbanks, -1, np.int64)
    next_act = np.zeros(nbanks, np.int64)
    next_pre = np.zeros(nbanks, np.int64)
    next_col = np.zeros(nbanks, np.int64)
    opened_at = np.zeros(nbanks, np.int64)
    # rank state: last ACT overall and per bank group, last four ACTs (tFAW), refresh
    last_act = np.full(nranks, NEG, np.int64)
    last_act_bg = np.full(nranks * nbg, NEG, np.int64)
    faw = np.full(nranks * 4, NEG, np.int64)
    faw_pos = np.zeros(nranks, np.int64)
    next_ref = np.full(nranks, t_refi, np.int64)
    # channel state
    last_cas = np.full(nch, NEG, np.int64)
    last_cas_bg = np.full(nch * nbg, NEG, np.int64)
    last_rd_cas = np.full(nch, NEG, np.int64)
    last_wr_end = np.full(nch * nbg, NEG, np.int64)
    last_wr_end_any = np.full(nch, NEG, np.int64)
    bus_free = np.zeros(nch, np.int64)
    ch_t = np.zeros(nch, np.int64)
    # queues (0 reads, 1 writes) per channel: ring buffers, oldest at qhead, of (trace index,
    # admission cycle, bank, row); queue q of channel c holds entries [(q * nch + c) * qcap, ...)
    capq = np.empty(2, np.int64)
    capq[0] = rq_cap
    capq[1] = wq_cap
    qcap = max(rq_cap, wq_cap)
    qe = np.empty((2 * nch * qcap, 4), np.int64)
    qhead = np.zeros((2, nch), np.int64)
    qn = np.zeros((2, nch), np.int64)
    # writes queued per hashed burst address: a read scans the write queue only on a possible match
    wtab = np.zeros((nch, WTAB), np.int64)
    draining = np.zeros(nch, np.int64)
    was_full = np.zeros(nch, np.int64)
    last_pop = np.zeros(nch, np.int64)
    # the channel whose next decision comes first, lowest number on ties: the least of the keys
    # ``ch_t << lg_ch | channel`` of the channels with work (BIG when idle), a branch-free min
    lg_ch = _log2(nch)
    kv = np.full(nch, BIG, np.int64)
    has_arrival = arrival.shape[0] > 0
    pos = 0
    t_adm = 0
    done = 0
    end = 0
    first = -1
    while done < n:
        # next admission time (or "blocked": its queue is full)
        adm_time = -1
        adm_ch = -1
        adm_q = 0
        if pos < n:
            a = addr[np.uint64(pos)]
            adm_ch = (a >> sh_ch) & m_ch
            adm_q = np.int64(is_write[np.uint64(pos)])
            t = t_adm
            if has_arrival and arrival[np.uint64(pos)] > t:
                t = arrival[np.uint64(pos)]
            if qn[adm_q, adm_ch] >= capq[adm_q]:
                was_full[adm_ch] = 1
            else:
                if was_full[adm_ch] != 0 and last_pop[adm_ch] > t:
                    t = last_pop[adm_ch]  # the slot opened when the channel took a request
                adm_time = t
        # the earliest channel decision
        best_k = BIG
        for c in range(nch):
            kc = kv[c]
            if kc < 0:
                break  # never (keys are >= 0): keeps the loop scalar, as vector loads of keys
                # stored an instant before would stall (no store-to-load forwarding)
            best_k = min(best_k, kc)
        best_c = -1
        best_t = 0
        if best_k < BIG:
            best_c = best_k & (nch - 1)
            best_t = best_k >> lg_ch
        if adm_time >= 0 and (best_c < 0 or adm_time <= best_t):
            # admit transaction pos
            c = adm_ch
            if first < 0:
                first = adm_time
            a = addr[np.uint64(pos)]
            qi = adm_q
            fwd = False
            if qi == 0 and qn[1, c] > 0 and wtab[c, (a >> 6) & (WTAB - 1)] > 0:
                # a read of data waiting in the write queue is served from it
                qb = (nch + c) * qcap
                for k in range(qn[1, c]):
                    j = qhead[1, c] + k
                    if j >= wq_cap:
                        j -= wq_cap
                    if addr[np.uint64(qe[np.uint64(qb + j), 0])] == a:
                        fwd = True
                        break
            if fwd:
                _count_latency(hist, hcap, 1)
                lat_sum += 1
                if lat_max < 1:
                    lat_max = 1
                n_forwarded += 1
                n_reads += 1
                done += 1
                if adm_time + 1 > end:
                    end = adm_time + 1
            else:
                if qi == 1:
                    wtab[c, (a >> 6) & (WTAB - 1)] += 1
                j = qhead[qi, c] + qn[qi, c]
                if j >= capq[qi]:
                    j -= capq[qi]
                e = np.uint64((qi * nch + c) * qcap + j)
                qe[e, 0] = pos
                qe[e, 1] = adm_time
                qe[e, 2] = ((((c * nra + ((a >> sh_ra) & m_ra)) * nbg + ((a >> sh_bg) & m_bg)) * nbpg)
                            + ((a >> sh_ba) & m_ba))
                qe[e, 3] = (a >> sh_ro) & m_ro
                qn[qi, c] += 1
            if qn[0, c] + qn[1, c] > 0:
                if ch_t[c] < adm_time:
                    ch_t[c] = adm_time
                kv[c] = (ch_t[c] << lg_ch) | c
            t_adm = adm_time + issue_interval
            was_full[c] = 0
            pos += 1
            continue
        if best_c < 0:
            continue  # unreachable: something is queued or admissible
        c = best_c
        now = ch_t[c]
        last_pop[c] = now
        # reads or a write drain?
        if draining[c] == 0:
            if qn[1, c] >= wq_cap or (qn[1, c] > drain_min and qn[0, c] == 0):
                draining[c] = qn[1, c]
        qi = 1 if (draining[c] > 0 or qn[0, c] == 0) else 0
        cap = capq[qi]
        h = qhead[qi, c]
        qb = (qi * nch + c) * qcap
        # FR-FCFS: the request whose column command could issue first (row hits need no ACT, so
        # they win), the oldest among equals; a request to a busy bank does not block the others
        pick = 0
        best_est = BIG
        for k in range(qn[qi, c]):
            j = h + k
            if j >= cap:
                j -= cap
            e = np.uint64(qb + j)
            tk = qe[e, 1]
            b = np.uint64(qe[e, 2])
            orow = open_row[b]
            # conflict: precharge first; closed: activate; hit: the column command only
            tp = max(tk, next_pre[b]) + t_rp if orow >= 0 else tk
            est = max(tp, next_act[b]) + t_rcd
            if orow == qe[e, 3]:
                est = max(tk, next_col[b])
            est = max(est, now)
            if est < best_est:
                best_est = est
                pick = k
            if est == now:
                break  # ready now and the oldest such (else an older one would have stopped the scan)
        j = h + pick
        if j >= cap:
            j -= cap
        e = np.uint64(qb + j)
        i = qe[e, 0]
        t0 = qe[e, 1]
        b = qe[e, 2]
        row = qe[e, 3]
        # remove it: shift the older entries up by one, then drop the head
        for k in range(pick, 0, -1):
            dst = h + k
            if dst >= cap:
                dst -= cap
            src = dst - 1
            if src < 0:
                src += cap
            ud = np.uint64(qb + dst)
            us = np.uint64(qb + src)
            qe[ud, 0] = qe[us, 0]
            qe[ud, 1] = qe[us, 1]
            qe[ud, 2] = qe[us, 2]
            qe[ud, 3] = qe[us, 3]
        h += 1
        if h >= cap:
            h -= cap
        qhead[qi, c] = h
        qn[qi, c] -= 1
        a = addr[np.uint64(i)]
        if qi == 1:
            wtab[c, (a >> 6) & (WTAB - 1)] -= 1
            if draining[c] > 0:
                draining[c] -= 1
        ra = b >> lg_rank
        rbg = b >> lg_bpg  # rank * nbg + bank group
        bg = rbg & (nbg - 1)
        cbg = c * nbg + bg
        ub = np.uint64(b)
        w = is_write[np.uint64(i)] != 0
        # refresh that fell due before this transaction can start
        t_start = max(t0, now)
        if next_ref[ra] <= t_start:
            _refresh(ra, t_start, banks_per_rank, t_rp, t_rfc, t_refi, open_row, next_pre, next_act,
                     opened_at, next_ref, st)
        # row buffer
        if open_row[ub] == row:
            n_hits += 1
        else:
            if open_row[ub] >= 0:
                n_conflicts += 1
                t_pre = max(t0, next_pre[ub])
                n_pre += 1
                n_open_cycles += t_pre - opened_at[ub]
                if next_act[ub] < t_pre + t_rp:
                    next_act[ub] = t_pre + t_rp
            else:
                n_misses += 1
            fp = np.uint64(ra * 4 + faw_pos[ra])
            t_act = max(t0, next_act[ub])
            t_act = max(t_act, last_act[ra] + t_rrd_s)
            t_act = max(t_act, last_act_bg[rbg] + t_rrd_l)
            t_act = max(t_act, faw[fp] + t_faw)
            faw[fp] = t_act
            faw_pos[ra] = (faw_pos[ra] + 1) % 4
            if t_act > last_act[ra]:
                last_act[ra] = t_act
            if t_act > last_act_bg[rbg]:
                last_act_bg[rbg] = t_act
            n_act += 1
            open_row[ub] = row
            opened_at[ub] = t_act
            next_pre[ub] = t_act + t_ras
            next_act[ub] = t_act + t_rc
            next_col[ub] = t_act + t_rcd
        # column command
        t_cas = max(max(t0, now), next_col[ub])
        t_cas = max(t_cas, last_cas[c] + t_ccd_s)
        t_cas = max(t_cas, last_cas_bg[cbg] + t_ccd_l)
        if w:
            t_cas = max(t_cas, last_rd_cas[c] + cl + bl + t_rtrs - cwl)
            t_cas = max(t_cas, bus_free[c] - cwl)
            data_end = t_cas + cwl + bl
            last_wr_end[cbg] = data_end
            if data_end > last_wr_end_any[c]:
                last_wr_end_any[c] = data_end
            next_pre[ub] = max(next_pre[ub], data_end + t_wr)
            n_wr += 1
            n_writes += 1
        else:
            t_cas = max(t_cas, last_wr_end[cbg] + t_wtr_l)
            t_cas = max(t_cas, last_wr_end_any[c] + t_wtr_s)
            t_cas = max(t_cas, bus_free[c] - cl)
            data_end = t_cas + cl + bl
            last_rd_cas[c] = t_cas
            next_pre[ub] = max(next_pre[ub], t_cas + t_rtp)
            lt = data_end - t0
            _count_latency(hist, hcap, lt)
            lat_sum += lt
            if lt > lat_max:
                lat_max = lt
            n_rd += 1
            n_reads += 1
        bus_free[c] = data_end
        last_cas[c] = t_cas
        last_cas_bg[cbg] = t_cas
        if not open_page:
            # close-page: auto-precharge after the column command
            t_pre = next_pre[ub]
            n_pre += 1
            n_open_cycles += t_pre - opened_at[ub]
            open_row[ub] = -1
            if next_act[ub] < t_pre + t_rp:
                next_act[ub] = t_pre + t_rp
        if data_end > end:
            end = data_end
        done += 1
        # the next decision: when the next column command could issue at the earliest
        ch_t[c] = max(now + 1, t_cas + 1)
        kv[c] = (ch_t[c] << lg_ch) | c if qn[0, c] + qn[1, c] > 0 else BIG
    # rows still open at the end count as open until the last transfer
    for bb in range(nbanks):
        if open_row[bb] >= 0 and end > opened_at[bb]:
            n_open_cycles += end - opened_at[bb]
    st[S_READS] += n_reads
    st[S_WRITES] += n_writes
    st[S_ACT] += n_act
    st[S_PRE] += n_pre
    st[S_RD] += n_rd
    st[S_WR] += n_wr
    st[S_REF] += n_ref
    st[S_HITS] += n_hits
    st[S_MISSES] += n_misses
    st[S_CONFLICTS] += n_conflicts
    st[S_OPEN_CYCLES] += n_open_cycles
    st[S_FORWARDED] += n_forwarded
    st[S_END] = end
    st[S_FIRST] = max(first, 0)
    st[S_LAT_SUM] = lat_sum
    st[S_LAT_MAX] = lat_max


@jit
def _refresh(ra, t_start, banks_per_rank, t_rp, t_rfc, t_refi, open_row, next_pre, next_act, opened_at,
             next_ref, st):
    """All-bank refreshes of rank ``ra`` that fell due by ``t_start``: open banks precharge (one PRE
    command), then every bank stays closed for tRFC. Out of line: it runs once per tREFI."""
    while next_ref[ra] <= t_start:
        t_ref = next_ref[ra]
        any_open = False
        for bb in range(ra * banks_per_rank, (ra + 1) * banks_per_rank):
            if open_row[bb] >= 0:
                any_open = True
                if next_pre[bb] > t_ref:
                    t_ref = next_pre[bb]
        if any_open:
            st[S_PRE] += 1
            for bb in range(ra * banks_per_rank, (ra + 1) * banks_per_rank):
                if open_row[bb] >= 0:
                    st[S_OPEN_CYCLES] += t_ref - opened_at[bb]
                    open_row[bb] = -1
            t_ref += t_rp
        for bb in range(ra * banks_per_rank, (ra + 1) * banks_per_rank):
            if next_act[bb] < t_ref + t_rfc:
                next_act[bb] = t_ref + t_rfc
        st[S_REF] += 1
        next_ref[ra] += t_refi


@jit(inline="always")
def _count_latency(hist, hcap, lt):
    if lt < hcap:
        hist[np.uint64(lt)] += 1
