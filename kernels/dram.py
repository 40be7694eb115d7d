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


# flat state records (fields of one bank, rank, channel or queue entry side by side: one array, one
# cache line per record; few arrays keep the loop's pointers in registers)
BK_ROW, BK_ACT, BK_PRE, BK_COL, BK_OPENED, BK_OFF, BK_BASE = range(7)  # open row (-1 closed),
# next ACT/PRE/column, ACT time; a request to another row can issue its column command at
# max(admission + BK_OFF, BK_BASE) (see _bank_est)
BK_N = 8
RK_ACT, RK_FAW, RK_FAWPOS, RK_REF = 0, 1, 5, 6  # last ACT, last four ACTs (tFAW), their ring position, next REF
RK_N = 8
(CH_CAS, CH_RDCAS, CH_WREND, CH_BUS, CH_T, CH_DRAIN, CH_FULL, CH_POP, CH_KEY) = range(9)
CH_N = 16
Q_POS, Q_ADM, Q_BANK, Q_ROW, Q_NEXT, Q_PREV = range(6)  # trace index, admission cycle, bank, row, links
Q_N = 8
QM_HEAD, QM_TAIL, QM_COUNT, QM_FREE = range(4)  # per queue: oldest, youngest, entries, free slots
QM_N = 4


@jit
def simulate(addr, is_write, arrival, issue_interval, p, fs, fm, hist, st):
    """Run transactions (one burst each) through the channels; see the module docstring.

    ``arrival`` holds issue cycles, or has length 0 (every transaction ready at cycle 0). Read
    latencies [cycles] are counted in ``hist`` (``hist[L]``: reads of latency L; latencies beyond
    it are not: when ``st[S_LAT_MAX] >= len(hist)`` the caller reruns with a larger one), their sum
    in ``st[S_LAT_SUM]`` and their maximum in ``st[S_LAT_MAX]``: what the mean and percentiles need,
    without an array of one latency per request.

    Speed: parameters and address fields are read into scalars once (from arrays, the compiler
    would reload them after every store to an int64 array); the state is a few flat arrays of
    records; each queue is a doubly linked list in admission order (removing the chosen request
    costs two links, not a shift of the older ones); indices are unsigned (no wraparound code).
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
    lg_ch = _log2(nch)
    banks_per_rank = nbg * nbpg
    hcap = hist.shape[0]
    lat_sum = 0
    lat_max = 0
    # counters in locals (stores to ``st`` would make the compiler reload the state)
    n_reads = 0
    n_writes = 0
    n_act = 0
    n_pre = 0
    n_rd = 0
    n_wr = 0
    n_hits = 0
    n_misses = 0
    n_conflicts = 0
    n_open_cycles = 0
    n_forwarded = 0
    bk = np.zeros((nbanks, BK_N), np.int64)
    bk[:, BK_ROW] = -1
    bk[:, BK_OFF] = t_rcd
    bk[:, BK_BASE] = t_rcd
    rk = np.zeros((nranks, RK_N), np.int64)
    rk[:, RK_ACT] = NEG
    rk[:, RK_FAW:RK_FAW + 4] = NEG
    rk[:, RK_REF] = t_refi
    last_act_bg = np.full(nranks * nbg, NEG, np.int64)
    # per channel and bank group: last column command, end of the last write's data
    cbg = np.full((nch * nbg, 2), NEG, np.int64)
    ch = np.zeros((nch, CH_N), np.int64)
    ch[:, CH_CAS] = NEG
    ch[:, CH_RDCAS] = NEG
    ch[:, CH_WREND] = NEG
    # the channel whose next decision comes first, lowest number on ties: the least of the keys
    # ``next decision << lg_ch | channel`` of the channels with work (BIG when idle)
    ch[:, CH_KEY] = BIG
    # queues q = 0 reads, 1 writes of channel c: queue id qd = q * nch + c, slots
    # [qd * qcap, qd * qcap + capacity) of ``qe``, a free-slot stack in ``qfree``, and the list
    # head, tail, length and stack depth in ``qm``
    qcap = max(rq_cap, wq_cap)
    qe = np.zeros((2 * nch * qcap, Q_N), np.int64)
    qfree = np.empty(2 * nch * qcap, np.int64)
    qm = np.zeros((2 * nch, QM_N), np.int64)
    for qd in range(2 * nch):
        capacity = rq_cap if qd < nch else wq_cap
        for k in range(capacity):
            qfree[qd * qcap + k] = qd * qcap + capacity - 1 - k
        qm[qd, QM_FREE] = capacity
        qm[qd, QM_HEAD] = -1
        qm[qd, QM_TAIL] = -1
    # writes queued per hashed burst address: a read scans the write queue only on a possible match
    wtab = np.zeros((nch, WTAB), np.int64)
    has_arrival = arrival.shape[0] > 0
    pos = 0
    t_adm = 0
    done = 0
    end = 0
    first = -1
    # the least channel key (see CH_KEY): an admission can only lower a key (of an idle channel:
    # a busy one decides no earlier than the admission), a decision raises its channel's, which
    # then takes a scan of the keys
    best_k = BIG
    # the transaction waiting for admission: its channel, queue and earliest cycle (until admitted)
    adm_pos = -1
    adm_ch = 0
    adm_q = 0
    adm_t = 0
    while done < n:
        # next admission time (or "blocked": its queue is full)
        adm_time = -1
        if pos < n:
            if adm_pos != pos:
                adm_pos = pos
                adm_ch = (addr[np.uint64(pos)] >> sh_ch) & m_ch
                adm_q = np.int64(is_write[np.uint64(pos)])
                adm_t = t_adm
                if has_arrival and arrival[np.uint64(pos)] > adm_t:
                    adm_t = arrival[np.uint64(pos)]
            uc = np.uint64(adm_ch)
            if qm[np.uint64(adm_q * nch + adm_ch), QM_FREE] == 0:
                ch[uc, CH_FULL] = 1
            else:
                t = adm_t
                if ch[uc, CH_FULL] != 0 and ch[uc, CH_POP] > t:
                    t = ch[uc, CH_POP]  # the slot opened when the channel took a request
                adm_time = t
        # the earliest channel decision
        best_c = -1
        best_t = 0
        if best_k < BIG:
            best_c = best_k & (nch - 1)
            best_t = best_k >> lg_ch
        if adm_time >= 0 and (best_c < 0 or adm_time <= best_t):
            # admit transaction pos
            c = adm_ch
            uc = np.uint64(c)
            if first < 0:
                first = adm_time
            a = addr[np.uint64(pos)]
            qi = adm_q
            fwd = False
            wq = np.uint64(nch + c)
            uw = np.uint64((a >> 6) & (WTAB - 1))
            if qi == 0 and qm[wq, QM_COUNT] > 0 and wtab[uc, uw] > 0:
                # a read of data waiting in the write queue is served from it
                e = qm[wq, QM_HEAD]
                while e >= 0:
                    ue = np.uint64(e)
                    if addr[np.uint64(qe[ue, Q_POS])] == a:
                        fwd = True
                        break
                    e = qe[ue, Q_NEXT]
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
                    wtab[uc, uw] += 1
                uq = np.uint64(qi * nch + c)
                nfree = qm[uq, QM_FREE] - 1
                qm[uq, QM_FREE] = nfree
                e = qfree[np.uint64((qi * nch + c) * qcap + nfree)]
                ue = np.uint64(e)
                qe[ue, Q_POS] = pos
                qe[ue, Q_ADM] = adm_time
                qe[ue, Q_BANK] = ((((c * nra + ((a >> sh_ra) & m_ra)) * nbg + ((a >> sh_bg) & m_bg)) * nbpg)
                                   + ((a >> sh_ba) & m_ba))
                qe[ue, Q_ROW] = (a >> sh_ro) & m_ro
                tail = qm[uq, QM_TAIL]
                qe[ue, Q_NEXT] = -1
                qe[ue, Q_PREV] = tail
                if tail >= 0:
                    qe[np.uint64(tail), Q_NEXT] = e
                else:
                    qm[uq, QM_HEAD] = e
                qm[uq, QM_TAIL] = e
                qm[uq, QM_COUNT] += 1
            nq = qm[uc, QM_COUNT] + qm[np.uint64(nch + c), QM_COUNT]
            if nq > 0:
                if ch[uc, CH_T] < adm_time:
                    ch[uc, CH_T] = adm_time
                ch[uc, CH_KEY] = (ch[uc, CH_T] << lg_ch) | c
                best_k = min(best_k, ch[uc, CH_KEY])
            t_adm = adm_time + issue_interval
            ch[uc, CH_FULL] = 0
            pos += 1
            continue
        if best_c < 0:
            continue  # unreachable: something is queued or admissible
        c = best_c
        uc = np.uint64(c)
        now = ch[uc, CH_T]
        ch[uc, CH_POP] = now
        nr = qm[uc, QM_COUNT]
        nw = qm[np.uint64(nch + c), QM_COUNT]
        # reads or a write drain?
        if ch[uc, CH_DRAIN] == 0:
            if nw >= wq_cap or (nw > drain_min and nr == 0):
                ch[uc, CH_DRAIN] = nw
        qi = 1 if (ch[uc, CH_DRAIN] > 0 or nr == 0) else 0
        uq = np.uint64(qi * nch + c)
        # FR-FCFS: the request whose column command could issue first (row hits need no ACT, so
        # they win), the oldest among equals; a request to a busy bank does not block the others
        pick = -1
        best_est = BIG
        e = qm[uq, QM_HEAD]
        while e >= 0:
            ue = np.uint64(e)
            tk = qe[ue, Q_ADM]
            ub = np.uint64(qe[ue, Q_BANK])
            # a row hit needs the column command only, another row a PRE (if open) and an ACT.
            # Selects by masks (all ones or zero): the compiler turns selects in loops into
            # branches, which mispredict here
            est = max(tk + bk[ub, BK_OFF], bk[ub, BK_BASE])
            hit_est = max(tk, bk[ub, BK_COL])
            est ^= (est ^ hit_est) & -np.int64(bk[ub, BK_ROW] == qe[ue, Q_ROW])
            if est <= now:
                # ready now, and the oldest such (all before it were later): an estimate below
                # ``now`` counts as ``now``, so it is the one with the least, oldest on ties
                pick = e
                break
            d = est - best_est
            better = d >> 63
            best_est += d & better
            pick ^= (pick ^ e) & better
            e = qe[ue, Q_NEXT]
        # remove it from its list; its slot goes back on the free stack
        ue = np.uint64(pick)
        i = qe[ue, Q_POS]
        t0 = qe[ue, Q_ADM]
        b = qe[ue, Q_BANK]
        row = qe[ue, Q_ROW]
        nxt = qe[ue, Q_NEXT]
        prv = qe[ue, Q_PREV]
        if prv >= 0:
            qe[np.uint64(prv), Q_NEXT] = nxt
        else:
            qm[uq, QM_HEAD] = nxt
        if nxt >= 0:
            qe[np.uint64(nxt), Q_PREV] = prv
        else:
            qm[uq, QM_TAIL] = prv
        qm[uq, QM_COUNT] -= 1
        nfree = qm[uq, QM_FREE]
        qfree[np.uint64((qi * nch + c) * qcap + nfree)] = pick
        qm[uq, QM_FREE] = nfree + 1
        a = addr[np.uint64(i)]
        if qi == 1:
            wtab[uc, np.uint64((a >> 6) & (WTAB - 1))] -= 1
            if ch[uc, CH_DRAIN] > 0:
                ch[uc, CH_DRAIN] -= 1
        ra = b >> lg_rank
        urk = np.uint64(ra)
        rbg = b >> lg_bpg  # rank * nbg + bank group
        ucbg = np.uint64(c * nbg + (rbg & (nbg - 1)))
        ub = np.uint64(b)
        w = is_write[np.uint64(i)] != 0
        # refresh that fell due before this transaction can start
        t_start = max(t0, now)
        if rk[urk, RK_REF] <= t_start:
            _refresh(ra, t_start, banks_per_rank, t_rp, t_rcd, t_rfc, t_refi, bk, rk, st)
        # row buffer
        orow = bk[ub, BK_ROW]
        if orow == row:
            n_hits += 1
        else:
            if orow >= 0:
                n_conflicts += 1
                t_pre = max(t0, bk[ub, BK_PRE])
                n_pre += 1
                n_open_cycles += t_pre - bk[ub, BK_OPENED]
                if bk[ub, BK_ACT] < t_pre + t_rp:
                    bk[ub, BK_ACT] = t_pre + t_rp
            else:
                n_misses += 1
            fp = np.uint64(RK_FAW + rk[urk, RK_FAWPOS])
            t_act = max(t0, bk[ub, BK_ACT])
            t_act = max(t_act, rk[urk, RK_ACT] + t_rrd_s)
            t_act = max(t_act, last_act_bg[np.uint64(rbg)] + t_rrd_l)
            t_act = max(t_act, rk[urk, fp] + t_faw)
            rk[urk, fp] = t_act
            rk[urk, RK_FAWPOS] = (rk[urk, RK_FAWPOS] + 1) & 3
            if t_act > rk[urk, RK_ACT]:
                rk[urk, RK_ACT] = t_act
            if t_act > last_act_bg[np.uint64(rbg)]:
                last_act_bg[np.uint64(rbg)] = t_act
            n_act += 1
            bk[ub, BK_ROW] = row
            bk[ub, BK_OPENED] = t_act
            bk[ub, BK_PRE] = t_act + t_ras
            bk[ub, BK_ACT] = t_act + t_rc
            bk[ub, BK_COL] = t_act + t_rcd
        # column command
        t_cas = max(max(t0, now), bk[ub, BK_COL])
        t_cas = max(t_cas, ch[uc, CH_CAS] + t_ccd_s)
        t_cas = max(t_cas, cbg[ucbg, 0] + t_ccd_l)
        if w:
            t_cas = max(t_cas, ch[uc, CH_RDCAS] + cl + bl + t_rtrs - cwl)
            t_cas = max(t_cas, ch[uc, CH_BUS] - cwl)
            data_end = t_cas + cwl + bl
            cbg[ucbg, 1] = data_end
            if data_end > ch[uc, CH_WREND]:
                ch[uc, CH_WREND] = data_end
            bk[ub, BK_PRE] = max(bk[ub, BK_PRE], data_end + t_wr)
            n_wr += 1
            n_writes += 1
        else:
            t_cas = max(t_cas, cbg[ucbg, 1] + t_wtr_l)
            t_cas = max(t_cas, ch[uc, CH_WREND] + t_wtr_s)
            t_cas = max(t_cas, ch[uc, CH_BUS] - cl)
            data_end = t_cas + cl + bl
            ch[uc, CH_RDCAS] = t_cas
            bk[ub, BK_PRE] = max(bk[ub, BK_PRE], t_cas + t_rtp)
            lt = data_end - t0
            _count_latency(hist, hcap, lt)
            lat_sum += lt
            if lt > lat_max:
                lat_max = lt
            n_rd += 1
            n_reads += 1
        ch[uc, CH_BUS] = data_end
        ch[uc, CH_CAS] = t_cas
        cbg[ucbg, 0] = t_cas
        if not open_page:
            # close-page: auto-precharge after the column command
            t_pre = bk[ub, BK_PRE]
            n_pre += 1
            n_open_cycles += t_pre - bk[ub, BK_OPENED]
            bk[ub, BK_ROW] = -1
            if bk[ub, BK_ACT] < t_pre + t_rp:
                bk[ub, BK_ACT] = t_pre + t_rp
        _bank_est(bk, ub, t_rp, t_rcd)
        if data_end > end:
            end = data_end
        done += 1
        # the next decision: when the next column command could issue at the earliest
        t_next = max(now + 1, t_cas + 1)
        ch[uc, CH_T] = t_next
        if nr + nw > 1:
            ch[uc, CH_KEY] = (t_next << lg_ch) | c
        else:
            ch[uc, CH_KEY] = BIG
        best_k = BIG
        for c in range(nch):
            kc = ch[np.uint64(c), CH_KEY]
            if kc < 0:
                break  # never (keys are >= 0): keeps the loop scalar, as vector loads of keys
                # stored an instant before would stall (no store-to-load forwarding)
            best_k = min(best_k, kc)
    # rows still open at the end count as open until the last transfer
    for b in range(nbanks):
        if bk[b, BK_ROW] >= 0 and end > bk[b, BK_OPENED]:
            n_open_cycles += end - bk[b, BK_OPENED]
    st[S_READS] += n_reads
    st[S_WRITES] += n_writes
    st[S_ACT] += n_act
    st[S_PRE] += n_pre
    st[S_RD] += n_rd
    st[S_WR] += n_wr
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
def _refresh(ra, t_start, banks_per_rank, t_rp, t_rcd, t_rfc, t_refi, bk, rk, st):
    """All-bank refreshes of rank ``ra`` that fell due by ``t_start``: open banks precharge (one PRE
    command), then every bank stays closed for tRFC. Out of line: it runs once per tREFI."""
    while rk[ra, RK_REF] <= t_start:
        t_ref = rk[ra, RK_REF]
        any_open = False
        for bb in range(ra * banks_per_rank, (ra + 1) * banks_per_rank):
            if bk[bb, BK_ROW] >= 0:
                any_open = True
                if bk[bb, BK_PRE] > t_ref:
                    t_ref = bk[bb, BK_PRE]
        if any_open:
            st[S_PRE] += 1
            for bb in range(ra * banks_per_rank, (ra + 1) * banks_per_rank):
                if bk[bb, BK_ROW] >= 0:
                    st[S_OPEN_CYCLES] += t_ref - bk[bb, BK_OPENED]
                    bk[bb, BK_ROW] = -1
            t_ref += t_rp
        for bb in range(ra * banks_per_rank, (ra + 1) * banks_per_rank):
            if bk[bb, BK_ACT] < t_ref + t_rfc:
                bk[bb, BK_ACT] = t_ref + t_rfc
            _bank_est(bk, np.uint64(bb), t_rp, t_rcd)
        st[S_REF] += 1
        rk[ra, RK_REF] += t_refi


@jit(inline="always")
def _bank_est(bk, ub, t_rp, t_rcd):
    """Bank ``ub``'s BK_OFF and BK_BASE after a change of its state: a request to a row other than
    the open one can have its column command at ``max(admission + BK_OFF, BK_BASE)``, the earliest
    of ``max(max(admission, next PRE) + tRP, next ACT) + tRCD`` (bank open: precharge first) and
    ``max(admission, next ACT) + tRCD`` (bank closed), written so that the queue scan needs two
    loads and an add per request."""
    if bk[ub, BK_ROW] >= 0:
        bk[ub, BK_OFF] = t_rp + t_rcd
        bk[ub, BK_BASE] = max(bk[ub, BK_PRE] + t_rp, bk[ub, BK_ACT]) + t_rcd
    else:
        bk[ub, BK_OFF] = t_rcd
        bk[ub, BK_BASE] = bk[ub, BK_ACT] + t_rcd


@jit(inline="always")
def _count_latency(hist, hcap, lt):
    if lt < hcap:
        hist[np.uint64(lt)] += 1
