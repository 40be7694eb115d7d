"""DRAM timing model: an event-driven FR-FCFS controller over JEDEC bank state machines.

Not cycle by cycle: each transaction (one burst) is scheduled once, its PRE/ACT/CAS commands placed
at the earliest cycle every timing constraint allows. ACT and PRE may be placed before the decision
that schedules the column command (a controller opens banks for queued requests while earlier
bursts transfer), never before the transaction entered the controller.

Events, in time order: the front end admits transaction ``pos`` (in trace order, at most one per
``issue_interval`` cycles, when its channel's read or write queue has room); a channel whose queues
hold work decides its next column command: reads first, row hits first, oldest first; writes are
batched: a drain starts when the write queue holds ``w_high`` writes, or more than ``drain_min`` while
no read waits, and covers the writes present at its start (DRAMsim3's ``Controller::
ScheduleTransaction``, src/controller.cc: ``w_high`` = the queue's capacity, ``drain_min`` = 8); with
``min_switch`` > 0 it ends early, as gem5's ``DRAMCtrl::processNextReqEvent`` (src/mem/dram_ctrl.cc)
switches the bus back to reads, once ``min_switch`` writes are done while a read waits, or once the
writes left plus ``min_switch`` fall below ``drain_min`` (gem5's ``below_threshold`` hysteresis).
A read of an address waiting in the write queue is answered from it (no DRAM access).

Refresh: all-bank, per rank, every tREFI: banks are precharged and stay closed for tRFC.

Parameters (``p``, int64, indices P_*), per-field address bit positions (``fs`` shift, ``fm``
mask), outputs: ``hist`` read latencies [cycles] as a histogram, ``st`` counters (S_*).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from ._jit import jit

(
    P_CHANNELS, P_RANKS, P_BG, P_BPG, P_BURST_CYC, P_CL, P_CWL, P_RCD, P_RP, P_RAS, P_RC, P_CCD_S,
    P_CCD_L, P_RRD_S, P_RRD_L, P_FAW, P_WTR_S, P_WTR_L, P_WR, P_RTP, P_RFC, P_REFI, P_RQ, P_WQ,
    P_DRAIN_MIN, P_OPEN_PAGE, P_RTRS, P_WHIGH, P_MIN_SWITCH,
) = range(29)
P_N = 29
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
    """The least k with 2**k >= ``v`` (log2 of a power of 2)."""
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
# CH_DRAIN: writes of the drain in progress still to go; CH_DONE: writes it has issued
(CH_CAS, CH_RDCAS, CH_WREND, CH_BUS, CH_T, CH_DRAIN, CH_FULL, CH_POP, CH_KEY, CH_DONE) = range(10)
CH_N = 16
Q_POS, Q_ADM, Q_BANK, Q_ROW, Q_NEXT, Q_PREV = range(6)  # trace index, admission cycle, bank, row, links
Q_N = 8
QM_HEAD, QM_TAIL, QM_COUNT, QM_FREE = range(4)  # per queue: oldest, youngest, entries, free slots
QM_N = 4
# what a request found in its bank's row buffer
ROW_HIT, ROW_MISS, ROW_CONFLICT = range(3)


#: JEDEC timings [cycles] of ``p``, as scalars (see simulate: Speed).
Timing = namedtuple("Timing", (
    "bl", "cl", "cwl", "t_rcd", "t_rp", "t_ras", "t_rc", "t_ccd_s", "t_ccd_l", "t_rrd_s", "t_rrd_l", "t_faw",
    "t_wtr_s", "t_wtr_l", "t_wr", "t_rtp", "t_rfc", "t_refi", "t_rtrs"))
#: Channels, ranks, bank groups and banks per group (all powers of 2), the log2 of the bank
#: numbering's strides, the address fields (``sh_*`` shift, ``m_*`` mask), queue capacities
#: [requests] and the page policy.
Layout = namedtuple("Layout", (
    "nch", "nra", "nbg", "nbpg", "lg_bpg", "lg_rank", "lg_ch", "banks_per_rank", "sh_ch", "m_ch", "sh_ra",
    "m_ra", "sh_bg", "m_bg", "sh_ba", "m_ba", "sh_ro", "m_ro", "rq_cap", "wq_cap", "qcap", "drain_min",
    "open_page", "w_high", "min_switch"))


@jit
def simulate(addr, is_write, arrival, issue_interval, p, fs, fm, hist, st):
    """Run transactions (one burst each) through the channels; see the module docstring.

    ``arrival`` holds issue cycles, or has length 0 (every transaction ready at cycle 0). Read
    latencies [cycles] are counted in ``hist`` (``hist[L]``: reads of latency L; latencies beyond
    it are not: when ``st[S_LAT_MAX] >= len(hist)`` the caller reruns with a larger one), their sum
    in ``st[S_LAT_SUM]`` and their maximum in ``st[S_LAT_MAX]``: what the mean and percentiles need,
    without an array of one latency per request.

    Speed: parameters and address fields are read into scalars once (the named tuples of
    :func:`_timing` and :func:`_layout`; from arrays, the compiler would reload them after every
    store to an int64 array); the state is a few flat arrays of records; each queue is a doubly
    linked list in admission order (removing the chosen request costs two links, not a shift of the
    older ones); indices are unsigned (no wraparound code). The event loop (:func:`_run`) runs
    without reference counting, its helpers inlined.
    """
    tm = _timing(p)
    ly = _layout(p, fs, fm)
    bk, rk, last_act_bg, cbg, ch = _new_banks(tm, ly)
    qe, qfree, qm = _new_queues(ly)
    # writes queued per hashed burst address: a read scans the write queue only on a possible match
    wtab = np.zeros((ly.nch, WTAB), np.int64)
    _run(addr, is_write, arrival, issue_interval, tm, ly, bk, rk, last_act_bg, cbg, ch, qe, qfree, qm, wtab,
         hist, st)


@jit(_nrt=False)
def _run(addr, is_write, arrival, issue_interval, tm, ly, bk, rk, last_act_bg, cbg, ch, qe, qfree, qm, wtab,
         hist, st):
    """The event loop of :func:`simulate` over its fresh state, counters into ``st``.

    Each step is the earlier of two events: the front end admits the next transaction
    (:func:`_admit`), or the channel whose decision comes first serves one request (:func:`_serve`).
    Without Numba's reference counting (``_nrt=False``): the arrays handed to the inlined helpers
    would otherwise cost atomic increments and decrements in the loop (about three times slower).
    """
    if (bk.shape[1] != BK_N or rk.shape[1] != RK_N or cbg.shape[1] != 2 or ch.shape[1] != CH_N
            or qe.shape[1] != Q_N or qm.shape[1] != QM_N or wtab.shape[1] != WTAB):
        return  # never (simulate makes them so): tells the compiler the records' widths, which
        # make an index a shift rather than a multiplication by a loaded width (15 % faster)
    n = addr.shape[0]
    nch = ly.nch
    hcap = hist.shape[0]
    lat_sum = 0
    lat_max = 0
    # counters in locals (stores to ``st`` would make the compiler reload the state); the ACT and
    # PRE counts follow from them (see the end)
    n_rd = 0
    n_wr = 0
    n_hits = 0
    n_misses = 0
    n_conflicts = 0
    n_open_cycles = 0
    n_forwarded = 0
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
                adm_ch, adm_q, adm_t = _next_transaction(addr, is_write, arrival, pos, t_adm, ly)
            adm_time = _admission_time(qm, ch, adm_ch, adm_q, adm_t, nch)
        # the earliest channel decision
        best_c = -1
        best_t = 0
        if best_k < BIG:
            best_c = best_k & (nch - 1)
            best_t = best_k >> ly.lg_ch
        if adm_time >= 0 and (best_c < 0 or adm_time <= best_t):
            # admit transaction pos
            if first < 0:
                first = adm_time
            if _admit(addr, pos, adm_ch, adm_q, adm_time, ly, qe, qfree, qm, wtab):
                # a read of data waiting in the write queue, served from it in one cycle
                lat_sum, lat_max = _count_latency(hist, hcap, 1, lat_sum, lat_max)
                n_forwarded += 1
                done += 1
                end = max(end, adm_time + 1)
            best_k = min(best_k, _wake(ch, qm, adm_ch, adm_time, ly))
            t_adm = adm_time + issue_interval
            ch[np.uint64(adm_ch), CH_FULL] = 0
            pos += 1
            continue
        if best_c < 0:
            continue  # unreachable: something is queued or admissible
        t0, w, data_end, outcome, opened = _serve(best_c, addr, is_write, tm, ly, bk, rk, last_act_bg,
                                                  cbg, ch, qe, qfree, qm, wtab, st)
        n_open_cycles += opened
        if outcome == ROW_HIT:
            n_hits += 1
        elif outcome == ROW_MISS:
            n_misses += 1
        else:
            n_conflicts += 1
        if w:
            n_wr += 1
        else:
            lat_sum, lat_max = _count_latency(hist, hcap, data_end - t0, lat_sum, lat_max)
            n_rd += 1
        end = max(end, data_end)
        done += 1
        best_k = _least_key(ch, nch)
    # rows still open at the end count as open until the last transfer
    n_open_cycles += _open_until(bk, end)
    st[S_READS] += n_rd + n_forwarded
    st[S_WRITES] += n_wr
    # every row miss and conflict activates a row; every conflict precharges the open one first,
    # and in close-page mode every column command precharges after it
    st[S_ACT] += n_misses + n_conflicts
    st[S_PRE] += n_conflicts + (0 if ly.open_page else n_rd + n_wr)
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


# --------------------------------------------------------------------------------------------------
# Set-up: parameters into scalars, fresh state
# --------------------------------------------------------------------------------------------------
@jit(inline="always")
def _timing(p):
    """The timings of ``p`` as a :data:`Timing` [cycles]."""
    return Timing(p[P_BURST_CYC], p[P_CL], p[P_CWL], p[P_RCD], p[P_RP], p[P_RAS], p[P_RC], p[P_CCD_S],
                  p[P_CCD_L], p[P_RRD_S], p[P_RRD_L], p[P_FAW], p[P_WTR_S], p[P_WTR_L], p[P_WR], p[P_RTP],
                  p[P_RFC], p[P_REFI], p[P_RTRS])


@jit(inline="always")
def _layout(p, fs, fm):
    """The geometry, address fields (``fs`` shifts, ``fm`` masks) and queues of ``p`` as a
    :data:`Layout`."""
    nch = p[P_CHANNELS]
    nbg = p[P_BG]
    nbpg = p[P_BPG]
    lg_bpg = _log2(nbpg)  # bank = ((rank * nbg) + bank group) * nbpg + bank in group: all powers of 2
    return Layout(nch, p[P_RANKS], nbg, nbpg, lg_bpg, lg_bpg + _log2(nbg), _log2(nch), nbg * nbpg,
                  fs[F_CH], fm[F_CH], fs[F_RA], fm[F_RA], fs[F_BG], fm[F_BG], fs[F_BA], fm[F_BA],
                  fs[F_RO], fm[F_RO], p[P_RQ], p[P_WQ], max(p[P_RQ], p[P_WQ]), p[P_DRAIN_MIN],
                  p[P_OPEN_PAGE] != 0, p[P_WHIGH], p[P_MIN_SWITCH])


@jit(inline="always")
def _new_banks(tm, ly):
    """Fresh state records of banks (``bk``), ranks (``rk``) and channels (``ch``), the last ACT
    [cycles] per rank and bank group, and per channel and bank group the last column command and
    the end of the last write's data [cycles] (``cbg``): every bank closed, nothing issued."""
    nch = ly.nch
    nranks = nch * ly.nra
    bk = np.zeros((nranks * ly.banks_per_rank, BK_N), np.int64)
    bk[:, BK_ROW] = -1
    bk[:, BK_OFF] = tm.t_rcd
    bk[:, BK_BASE] = tm.t_rcd
    rk = np.zeros((nranks, RK_N), np.int64)
    rk[:, RK_ACT] = NEG
    rk[:, RK_FAW:RK_FAW + 4] = NEG
    rk[:, RK_REF] = tm.t_refi
    last_act_bg = np.full(nranks * ly.nbg, NEG, np.int64)
    # per channel and bank group: last column command, end of the last write's data
    cbg = np.full((nch * ly.nbg, 2), NEG, np.int64)
    ch = np.zeros((nch, CH_N), np.int64)
    ch[:, CH_CAS] = NEG
    ch[:, CH_RDCAS] = NEG
    ch[:, CH_WREND] = NEG
    # the channel whose next decision comes first, lowest number on ties: the least of the keys
    # ``next decision << lg_ch | channel`` of the channels with work (BIG when idle)
    ch[:, CH_KEY] = BIG
    return bk, rk, last_act_bg, cbg, ch


@jit(inline="always")
def _new_queues(ly):
    """Empty queues: (entries ``qe``, free-slot stacks ``qfree``, list heads ``qm``).

    Queues q = 0 reads, 1 writes of channel c: queue id qd = q * nch + c, slots
    [qd * qcap, qd * qcap + capacity) of ``qe``, a free-slot stack in ``qfree``, and the list
    head, tail, length and stack depth in ``qm``.
    """
    nch = ly.nch
    qcap = ly.qcap
    qe = np.zeros((2 * nch * qcap, Q_N), np.int64)
    qfree = np.empty(2 * nch * qcap, np.int64)
    qm = np.zeros((2 * nch, QM_N), np.int64)
    for qd in range(2 * nch):
        capacity = ly.rq_cap if qd < nch else ly.wq_cap
        for k in range(capacity):
            qfree[qd * qcap + k] = qd * qcap + capacity - 1 - k
        qm[qd, QM_FREE] = capacity
        qm[qd, QM_HEAD] = -1
        qm[qd, QM_TAIL] = -1
    return qe, qfree, qm


# --------------------------------------------------------------------------------------------------
# Admission: the front end hands transaction ``pos`` to its channel's read or write queue
# --------------------------------------------------------------------------------------------------
@jit(inline="always")
def _next_transaction(addr, is_write, arrival, pos, t_adm, ly):
    """Transaction ``pos``: (channel, queue: 0 read or 1 write, earliest admission [cycles]: its
    arrival, and no earlier than ``t_adm``, the front end's next issue slot)."""
    c = (addr[np.uint64(pos)] >> ly.sh_ch) & ly.m_ch
    q = np.int64(is_write[np.uint64(pos)])
    t = t_adm
    if arrival.shape[0] > 0 and arrival[np.uint64(pos)] > t:
        t = arrival[np.uint64(pos)]
    return c, q, t


@jit(inline="always")
def _admission_time(qm, ch, c, q, t, nch):
    """When a transaction for queue ``q`` of channel ``c``, ready at ``t`` [cycles], can be
    admitted: ``t``, or when the channel took a request from the queue if it was full then; -1
    while the queue is full (the channel is marked so)."""
    uc = np.uint64(c)
    if qm[np.uint64(q * nch + c), QM_FREE] == 0:
        ch[uc, CH_FULL] = 1
        return -1
    if ch[uc, CH_FULL] != 0 and ch[uc, CH_POP] > t:
        return ch[uc, CH_POP]  # the slot opened when the channel took a request
    return t


@jit(inline="always")
def _admit(addr, pos, c, qi, adm_time, ly, qe, qfree, qm, wtab):
    """Admit transaction ``pos`` to queue ``qi`` (0 read, 1 write) of channel ``c`` at
    ``adm_time`` [cycles]. Returns True for a read of data waiting in the write queue: it is
    answered from there, and queued nowhere."""
    nch = ly.nch
    uc = np.uint64(c)
    a = addr[np.uint64(pos)]
    wq = np.uint64(nch + c)
    uw = np.uint64((a >> 6) & (WTAB - 1))
    if qi == 0 and qm[wq, QM_COUNT] > 0 and wtab[uc, uw] > 0:
        # a read of data waiting in the write queue is served from it
        e = qm[wq, QM_HEAD]
        while e >= 0:
            ue = np.uint64(e)
            if addr[np.uint64(qe[ue, Q_POS])] == a:
                return True
            e = qe[ue, Q_NEXT]
    if qi == 1:
        wtab[uc, uw] += 1
    bank = ((((c * ly.nra + ((a >> ly.sh_ra) & ly.m_ra)) * ly.nbg + ((a >> ly.sh_bg) & ly.m_bg)) * ly.nbpg)
            + ((a >> ly.sh_ba) & ly.m_ba))
    _enqueue(qe, qfree, qm, qi * nch + c, ly.qcap, pos, adm_time, bank, (a >> ly.sh_ro) & ly.m_ro)
    return False


@jit(inline="always")
def _enqueue(qe, qfree, qm, qd, qcap, pos, adm_time, bank, row):
    """Append transaction ``pos`` (admitted at ``adm_time`` [cycles], to ``bank`` and ``row``) to
    queue ``qd``, in a slot taken from its free stack."""
    uq = np.uint64(qd)
    nfree = qm[uq, QM_FREE] - 1
    qm[uq, QM_FREE] = nfree
    e = qfree[np.uint64(qd * qcap + nfree)]
    ue = np.uint64(e)
    qe[ue, Q_POS] = pos
    qe[ue, Q_ADM] = adm_time
    qe[ue, Q_BANK] = bank
    qe[ue, Q_ROW] = row
    tail = qm[uq, QM_TAIL]
    qe[ue, Q_NEXT] = -1
    qe[ue, Q_PREV] = tail
    if tail >= 0:
        qe[np.uint64(tail), Q_NEXT] = e
    else:
        qm[uq, QM_HEAD] = e
    qm[uq, QM_TAIL] = e
    qm[uq, QM_COUNT] += 1


@jit(inline="always")
def _wake(ch, qm, c, adm_time, ly):
    """After an admission at ``adm_time`` [cycles] to channel ``c``: its key (see CH_KEY), its
    next decision no earlier than the admission; BIG if it has nothing queued (a forwarded read)."""
    uc = np.uint64(c)
    if qm[uc, QM_COUNT] + qm[np.uint64(ly.nch + c), QM_COUNT] == 0:
        return BIG
    if ch[uc, CH_T] < adm_time:
        ch[uc, CH_T] = adm_time
    ch[uc, CH_KEY] = (ch[uc, CH_T] << ly.lg_ch) | c
    return ch[uc, CH_KEY]


# --------------------------------------------------------------------------------------------------
# Decision: a channel picks a request and issues its commands
# --------------------------------------------------------------------------------------------------
@jit(inline="always")
def _serve(c, addr, is_write, tm, ly, bk, rk, last_act_bg, cbg, ch, qe, qfree, qm, wtab, st):
    """Channel ``c``'s next decision, at its cycle ``CH_T``: pick a request (:func:`_pick`), take it
    off its queue, refresh its rank if due, open its row (:func:`_open_row`) and issue its column
    command (:func:`_column`); then the channel's next decision (its key, see CH_KEY).

    Returns (admission [cycles], is a write, end of its data [cycles], ROW_HIT, ROW_MISS or
    ROW_CONFLICT, cycles [cycles] the rows it closed were open).
    """
    nch = ly.nch
    uc = np.uint64(c)
    now = ch[uc, CH_T]
    ch[uc, CH_POP] = now
    nr = qm[uc, QM_COUNT]
    nw = qm[np.uint64(nch + c), QM_COUNT]
    # reads or a write drain?
    if ch[uc, CH_DRAIN] == 0:
        if nw >= ly.w_high or (nw > ly.drain_min and nr == 0):
            ch[uc, CH_DRAIN] = nw
            ch[uc, CH_DONE] = 0
    qi = 1 if (ch[uc, CH_DRAIN] > 0 or nr == 0) else 0
    qd = qi * nch + c
    i, t0, b, row = _dequeue(qe, qfree, qm, qd, ly.qcap, _pick(qe, qm, bk, np.uint64(qd), now))
    if qi == 1:
        wtab[uc, np.uint64((addr[np.uint64(i)] >> 6) & (WTAB - 1))] -= 1
        if ch[uc, CH_DRAIN] > 0:
            ch[uc, CH_DRAIN] -= 1
            ch[uc, CH_DONE] += 1
            # gem5: back to reads after min_switch writes while reads wait, or below the hysteresis
            if ly.min_switch > 0 and ((nr > 0 and ch[uc, CH_DONE] >= ly.min_switch)
                                      or nw - 1 + ly.min_switch < ly.drain_min):
                ch[uc, CH_DRAIN] = 0
    ra = b >> ly.lg_rank
    rbg = b >> ly.lg_bpg  # rank * nbg + bank group
    ucbg = np.uint64(c * ly.nbg + (rbg & (ly.nbg - 1)))
    ub = np.uint64(b)
    w = is_write[np.uint64(i)] != 0
    # refresh that fell due before this transaction can start
    t_start = max(t0, now)
    if rk[np.uint64(ra), RK_REF] <= t_start:
        _refresh(ra, t_start, ly.banks_per_rank, tm.t_rp, tm.t_rcd, tm.t_rfc, tm.t_refi, bk, rk, st)
    outcome, opened = _open_row(bk, rk, last_act_bg, ub, np.uint64(ra), rbg, row, t0, tm)
    t_cas, data_end = _column(bk, ch, cbg, ub, uc, ucbg, t_start, w, tm)
    if not ly.open_page:
        # close-page: auto-precharge after the column command
        opened += _auto_precharge(bk, ub, tm.t_rp)
    _bank_est(bk, ub, tm.t_rp, tm.t_rcd)
    # the next decision: when the next column command could issue at the earliest
    t_next = max(now + 1, t_cas + 1)
    ch[uc, CH_T] = t_next
    if nr + nw > 1:
        ch[uc, CH_KEY] = (t_next << ly.lg_ch) | c
    else:
        ch[uc, CH_KEY] = BIG
    return t0, w, data_end, outcome, opened


@jit(inline="always")
def _pick(qe, qm, bk, uq, now):
    """FR-FCFS over queue ``uq`` at cycle ``now``: the entry of the request whose column command
    could issue first (row hits need no ACT, so they win), the oldest among equals; a request to a
    busy bank does not block the others."""
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
    return pick


@jit(inline="always")
def _dequeue(qe, qfree, qm, qd, qcap, pick):
    """Remove entry ``pick`` from queue ``qd``'s list; its slot goes back on the free stack.
    Returns its (trace index, admission [cycles], bank, row)."""
    uq = np.uint64(qd)
    ue = np.uint64(pick)
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
    qfree[np.uint64(qd * qcap + nfree)] = pick
    qm[uq, QM_FREE] = nfree + 1
    return qe[ue, Q_POS], qe[ue, Q_ADM], qe[ue, Q_BANK], qe[ue, Q_ROW]


@jit(inline="always")
def _open_row(bk, rk, last_act_bg, ub, urk, rbg, row, t0, tm):
    """Open ``row`` in bank ``ub`` (of rank ``urk``, rank and bank group ``rbg``) for a request
    admitted at ``t0`` [cycles]: nothing on a row hit, else a PRE if another row is open, then an
    ACT at the earliest cycle tRP, tRRD_S, tRRD_L and tFAW allow.

    Returns (ROW_HIT, ROW_MISS or ROW_CONFLICT, cycles [cycles] the precharged row was open).
    """
    orow = bk[ub, BK_ROW]
    if orow == row:
        return ROW_HIT, 0
    outcome = ROW_MISS
    opened = 0
    if orow >= 0:
        outcome = ROW_CONFLICT
        t_pre = max(t0, bk[ub, BK_PRE])
        opened = t_pre - bk[ub, BK_OPENED]
        if bk[ub, BK_ACT] < t_pre + tm.t_rp:
            bk[ub, BK_ACT] = t_pre + tm.t_rp
    ubg = np.uint64(rbg)
    fp = np.uint64(RK_FAW + rk[urk, RK_FAWPOS])
    t_act = max(t0, bk[ub, BK_ACT])
    t_act = max(t_act, rk[urk, RK_ACT] + tm.t_rrd_s)
    t_act = max(t_act, last_act_bg[ubg] + tm.t_rrd_l)
    t_act = max(t_act, rk[urk, fp] + tm.t_faw)
    rk[urk, fp] = t_act
    rk[urk, RK_FAWPOS] = (rk[urk, RK_FAWPOS] + 1) & 3
    if t_act > rk[urk, RK_ACT]:
        rk[urk, RK_ACT] = t_act
    if t_act > last_act_bg[ubg]:
        last_act_bg[ubg] = t_act
    bk[ub, BK_ROW] = row
    bk[ub, BK_OPENED] = t_act
    bk[ub, BK_PRE] = t_act + tm.t_ras
    bk[ub, BK_ACT] = t_act + tm.t_rc
    bk[ub, BK_COL] = t_act + tm.t_rcd
    return outcome, opened


@jit(inline="always")
def _column(bk, ch, cbg, ub, uc, ucbg, t_start, w, tm):
    """The column command (a write if ``w``, else a read) of bank ``ub`` on channel ``uc`` (bank
    group record ``ucbg``), no earlier than ``t_start`` [cycles], at the earliest cycle the open
    row, tCCD_S/L, the bus turnarounds and tWTR_S/L allow. Returns (its cycle, end of its data)
    [cycles]."""
    t_cas = max(t_start, bk[ub, BK_COL])
    t_cas = max(t_cas, ch[uc, CH_CAS] + tm.t_ccd_s)
    t_cas = max(t_cas, cbg[ucbg, 0] + tm.t_ccd_l)
    if w:
        t_cas = max(t_cas, ch[uc, CH_RDCAS] + tm.cl + tm.bl + tm.t_rtrs - tm.cwl)
        t_cas = max(t_cas, ch[uc, CH_BUS] - tm.cwl)
        data_end = t_cas + tm.cwl + tm.bl
        cbg[ucbg, 1] = data_end
        if data_end > ch[uc, CH_WREND]:
            ch[uc, CH_WREND] = data_end
        bk[ub, BK_PRE] = max(bk[ub, BK_PRE], data_end + tm.t_wr)
    else:
        t_cas = max(t_cas, cbg[ucbg, 1] + tm.t_wtr_l)
        t_cas = max(t_cas, ch[uc, CH_WREND] + tm.t_wtr_s)
        t_cas = max(t_cas, ch[uc, CH_BUS] - tm.cl)
        data_end = t_cas + tm.cl + tm.bl
        ch[uc, CH_RDCAS] = t_cas
        bk[ub, BK_PRE] = max(bk[ub, BK_PRE], t_cas + tm.t_rtp)
    ch[uc, CH_BUS] = data_end
    ch[uc, CH_CAS] = t_cas
    cbg[ucbg, 0] = t_cas
    return t_cas, data_end


@jit(inline="always")
def _auto_precharge(bk, ub, t_rp):
    """Close bank ``ub``'s row at its earliest PRE (close-page). Returns the cycles [cycles] the row
    was open."""
    t_pre = bk[ub, BK_PRE]
    bk[ub, BK_ROW] = -1
    if bk[ub, BK_ACT] < t_pre + t_rp:
        bk[ub, BK_ACT] = t_pre + t_rp
    return t_pre - bk[ub, BK_OPENED]


@jit(inline="always")
def _least_key(ch, nch):
    """The least channel key (see CH_KEY): the next decision, BIG if no channel has work."""
    best_k = BIG
    for c in range(nch):
        kc = ch[np.uint64(c), CH_KEY]
        if kc < 0:
            break  # never (keys are >= 0): keeps the loop scalar, as vector loads of keys
            # stored an instant before would stall (no store-to-load forwarding)
        best_k = min(best_k, kc)
    return best_k


@jit(inline="always")
def _open_until(bk, end):
    """Cycles [cycles] the rows still open have been open at ``end`` [cycles]."""
    total = 0
    for b in range(bk.shape[0]):
        if bk[b, BK_ROW] >= 0 and end > bk[b, BK_OPENED]:
            total += end - bk[b, BK_OPENED]
    return total


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
def _count_latency(hist, hcap, lt, lat_sum, lat_max):
    """One read of latency ``lt`` [cycles] into ``hist`` (of ``hcap`` bins), if it has room. Returns
    the latencies' new sum and maximum [cycles]."""
    if lt < hcap:
        hist[np.uint64(lt)] += 1
    return lat_sum + lt, max(lat_max, lt)
