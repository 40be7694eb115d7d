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
mask), outputs: ``lat`` [cycles] per read (-1 for writes), ``st`` counters (S_*).
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
    S_OPEN_CYCLES, S_FORWARDED, S_FIRST,
) = range(14)
S_N = 14
NEG = -(1 << 40)
WTAB = 4096


@jit(inline="always")
def _field(a, fs, fm, f):
    return (a >> fs[f]) & fm[f]


@jit
def simulate(addr, is_write, arrival, issue_interval, p, fs, fm, lat, st):
    """Run transactions (one burst each) through the channels; see the module docstring.

    ``arrival`` holds issue cycles, or has length 0 (every transaction ready at cycle 0).
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
    rq_cap = p[P_RQ]
    wq_cap = p[P_WQ]
    open_page = p[P_OPEN_PAGE] != 0
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
    next_ref = np.full(nranks, p[P_REFI], np.int64)
    # channel state
    last_cas = np.full(nch, NEG, np.int64)
    last_cas_bg = np.full(nch * nbg, NEG, np.int64)
    last_rd_cas = np.full(nch, NEG, np.int64)
    last_wr_end = np.full(nch * nbg, NEG, np.int64)
    last_wr_end_any = np.full(nch, NEG, np.int64)
    bus_free = np.zeros(nch, np.int64)
    ch_t = np.zeros(nch, np.int64)
    # queues (0 reads, 1 writes) per channel: ring buffers, oldest at qhead, of (trace index,
    # admission cycle, bank, row)
    capq = np.empty(2, np.int64)
    capq[0] = rq_cap
    capq[1] = wq_cap
    qcap = max(rq_cap, wq_cap)
    qe = np.empty((2, nch, qcap, 4), np.int64)
    qhead = np.zeros((2, nch), np.int64)
    qn = np.zeros((2, nch), np.int64)
    # writes queued per hashed burst address: a read scans the write queue only on a possible match
    wtab = np.zeros((nch, WTAB), np.int64)
    draining = np.zeros(nch, np.int64)
    was_full = np.zeros(nch, np.int64)
    last_pop = np.zeros(nch, np.int64)
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
        if pos < n:
            a = addr[pos]
            adm_ch = _field(a, fs, fm, F_CH)
            t = t_adm
            if has_arrival and arrival[pos] > t:
                t = arrival[pos]
            full = qn[is_write[pos], adm_ch] >= capq[is_write[pos]]
            if full:
                was_full[adm_ch] = 1
            else:
                if was_full[adm_ch] != 0 and last_pop[adm_ch] > t:
                    t = last_pop[adm_ch]  # the slot opened when the channel took a request
                adm_time = t
        # the earliest channel decision
        best_c = -1
        best_t = 0
        for c in range(nch):
            if qn[0, c] + qn[1, c] > 0 and (best_c < 0 or ch_t[c] < best_t):
                best_c = c
                best_t = ch_t[c]
        if adm_time >= 0 and (best_c < 0 or adm_time <= best_t):
            # admit transaction pos
            c = adm_ch
            if first < 0:
                first = adm_time
            a = addr[pos]
            b_new = (((c * nra + _field(a, fs, fm, F_RA)) * nbg + _field(a, fs, fm, F_BG)) * nbpg
                     + _field(a, fs, fm, F_BA))
            r_new = _field(a, fs, fm, F_RO)
            qi = 1 if is_write[pos] else 0
            fwd = False
            if qi == 0 and wtab[c, (a >> 6) & (WTAB - 1)] > 0:
                # a read of data waiting in the write queue is served from it
                for k in range(qn[1, c]):
                    j = qhead[1, c] + k
                    if j >= wq_cap:
                        j -= wq_cap
                    if addr[qe[1, c, j, 0]] == a:
                        fwd = True
                        break
            if fwd:
                lat[pos] = 1
                st[S_FORWARDED] += 1
                st[S_READS] += 1
                done += 1
                if adm_time + 1 > end:
                    end = adm_time + 1
            else:
                if qi == 1:
                    lat[pos] = -1
                    wtab[c, (a >> 6) & (WTAB - 1)] += 1
                j = qhead[qi, c] + qn[qi, c]
                if j >= capq[qi]:
                    j -= capq[qi]
                qe[qi, c, j, 0] = pos
                qe[qi, c, j, 1] = adm_time
                qe[qi, c, j, 2] = b_new
                qe[qi, c, j, 3] = r_new
                qn[qi, c] += 1
            if qn[0, c] + qn[1, c] > 0 and ch_t[c] < adm_time:
                ch_t[c] = adm_time
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
            if qn[1, c] >= wq_cap or (qn[1, c] > p[P_DRAIN_MIN] and qn[0, c] == 0):
                draining[c] = qn[1, c]
        qi = 1 if (draining[c] > 0 or qn[0, c] == 0) else 0
        cap = capq[qi]
        h = qhead[qi, c]
        # FR-FCFS: the request whose column command could issue first (row hits need no ACT, so
        # they win), the oldest among equals; a request to a busy bank does not block the others
        pick = 0
        best_est = 0
        for k in range(qn[qi, c]):
            j = h + k
            if j >= cap:
                j -= cap
            tk = qe[qi, c, j, 1]
            b = qe[qi, c, j, 2]
            if open_row[b] == qe[qi, c, j, 3]:
                est = max(tk, next_col[b])
            else:
                tp = tk
                if open_row[b] >= 0:
                    tp = max(tk, next_pre[b]) + p[P_RP]
                est = max(tp, next_act[b]) + p[P_RCD]
            if est < now:
                est = now
            if k == 0 or est < best_est:
                best_est = est
                pick = k
                if est == now:
                    break  # ready now and the oldest such: nothing can beat it
        j = h + pick
        if j >= cap:
            j -= cap
        i = qe[qi, c, j, 0]
        t0 = qe[qi, c, j, 1]
        # remove it: shift the older entries up by one, then drop the head
        for k in range(pick, 0, -1):
            dst = h + k
            if dst >= cap:
                dst -= cap
            src = dst - 1
            if src < 0:
                src += cap
            qe[qi, c, dst, 0] = qe[qi, c, src, 0]
            qe[qi, c, dst, 1] = qe[qi, c, src, 1]
            qe[qi, c, dst, 2] = qe[qi, c, src, 2]
            qe[qi, c, dst, 3] = qe[qi, c, src, 3]
        h += 1
        if h >= cap:
            h -= cap
        qhead[qi, c] = h
        qn[qi, c] -= 1
        if qi == 1:
            wtab[c, (addr[i] >> 6) & (WTAB - 1)] -= 1
            if draining[c] > 0:
                draining[c] -= 1
        a = addr[i]
        ra = c * nra + _field(a, fs, fm, F_RA)
        bg = _field(a, fs, fm, F_BG)
        b = (ra * nbg + bg) * nbpg + _field(a, fs, fm, F_BA)
        row = _field(a, fs, fm, F_RO)
        w = is_write[i] != 0
        # refresh that fell due before this transaction can start
        t_start = max(t0, now)
        while next_ref[ra] <= t_start:
            t_ref = next_ref[ra]
            any_open = False
            for bb in range(ra * nbg * nbpg, (ra + 1) * nbg * nbpg):
                if open_row[bb] >= 0:
                    any_open = True
                    if next_pre[bb] > t_ref:
                        t_ref = next_pre[bb]
            if any_open:
                st[S_PRE] += 1
                for bb in range(ra * nbg * nbpg, (ra + 1) * nbg * nbpg):
                    if open_row[bb] >= 0:
                        st[S_OPEN_CYCLES] += t_ref - opened_at[bb]
                        open_row[bb] = -1
                t_ref += p[P_RP]
            for bb in range(ra * nbg * nbpg, (ra + 1) * nbg * nbpg):
                if next_act[bb] < t_ref + p[P_RFC]:
                    next_act[bb] = t_ref + p[P_RFC]
            st[S_REF] += 1
            next_ref[ra] += p[P_REFI]
        # row buffer
        if open_row[b] == row:
            st[S_HITS] += 1
        else:
            if open_row[b] >= 0:
                st[S_CONFLICTS] += 1
                t_pre = max(t0, next_pre[b])
                st[S_PRE] += 1
                st[S_OPEN_CYCLES] += t_pre - opened_at[b]
                if next_act[b] < t_pre + p[P_RP]:
                    next_act[b] = t_pre + p[P_RP]
            else:
                st[S_MISSES] += 1
            t_act = max(t0, next_act[b])
            t_act = max(t_act, last_act[ra] + p[P_RRD_S])
            t_act = max(t_act, last_act_bg[ra * nbg + bg] + p[P_RRD_L])
            t_act = max(t_act, faw[ra * 4 + faw_pos[ra]] + p[P_FAW])
            faw[ra * 4 + faw_pos[ra]] = t_act
            faw_pos[ra] = (faw_pos[ra] + 1) % 4
            if t_act > last_act[ra]:
                last_act[ra] = t_act
            if t_act > last_act_bg[ra * nbg + bg]:
                last_act_bg[ra * nbg + bg] = t_act
            st[S_ACT] += 1
            open_row[b] = row
            opened_at[b] = t_act
            next_pre[b] = t_act + p[P_RAS]
            next_act[b] = t_act + p[P_RC]
            next_col[b] = t_act + p[P_RCD]
        # column command
        t_cas = max(max(t0, now), next_col[b])
        t_cas = max(t_cas, last_cas[c] + p[P_CCD_S])
        t_cas = max(t_cas, last_cas_bg[c * nbg + bg] + p[P_CCD_L])
        if w:
            t_cas = max(t_cas, last_rd_cas[c] + cl + bl + p[P_RTRS] - cwl)
            t_cas = max(t_cas, bus_free[c] - cwl)
            data_end = t_cas + cwl + bl
            last_wr_end[c * nbg + bg] = data_end
            if data_end > last_wr_end_any[c]:
                last_wr_end_any[c] = data_end
            next_pre[b] = max(next_pre[b], data_end + p[P_WR])
            st[S_WR] += 1
            st[S_WRITES] += 1
        else:
            t_cas = max(t_cas, last_wr_end[c * nbg + bg] + p[P_WTR_L])
            t_cas = max(t_cas, last_wr_end_any[c] + p[P_WTR_S])
            t_cas = max(t_cas, bus_free[c] - cl)
            data_end = t_cas + cl + bl
            last_rd_cas[c] = t_cas
            next_pre[b] = max(next_pre[b], t_cas + p[P_RTP])
            lat[i] = data_end - t0
            st[S_RD] += 1
            st[S_READS] += 1
        bus_free[c] = data_end
        last_cas[c] = t_cas
        last_cas_bg[c * nbg + bg] = t_cas
        if not open_page:
            # close-page: auto-precharge after the column command
            t_pre = next_pre[b]
            st[S_PRE] += 1
            st[S_OPEN_CYCLES] += t_pre - opened_at[b]
            open_row[b] = -1
            if next_act[b] < t_pre + p[P_RP]:
                next_act[b] = t_pre + p[P_RP]
        if data_end > end:
            end = data_end
        done += 1
        # the next decision: when the next column command could issue at the earliest
        ch_t[c] = max(now + 1, t_cas + 1)
    # rows still open at the end count as open until the last transfer
    for bb in range(nbanks):
        if open_row[bb] >= 0 and end > opened_at[bb]:
            st[S_OPEN_CYCLES] += end - opened_at[bb]
    st[S_END] = end
    st[S_FIRST] = max(first, 0)
