"""Systolic-array kernels: fold statistics, SCALE-Sim's scratchpad model, demand traces.

Everything here sees plain integers and int64 arrays; ``smaug_fast.accelerators.systolic`` validates
the layer and the array and lowers them to these arguments.

Vocabulary (SCALE-Sim's, ``compute/systolic_compute_{os,ws,is}.py``):

- The layer is an im2col GEMM: IFMAP ``A`` (Npx x K), FILTER ``B`` (K x N), OFMAP ``O`` (Npx x N).
- A dataflow maps it on an R x C array as (Sr rows, Sc cols, T time steps): OS (Npx, N, K),
  WS (K, N, Npx), IS (K, Npx, N). Folds: ``row_folds = ceil(Sr/R)``, ``col_folds = ceil(Sc/C)``;
  the column fold is the outer loop. Every fold lasts ``fold_cycles`` cycles (``P``):
  OS ``T + R + C - 2``, WS and IS ``2R + C + T - 2``.
- A *demand row* is what one operand's SRAM sees in one cycle: at most R or C addresses.

Operand codes used below (``operand``): 0 = IFMAP, 1 = FILTER. Dataflow codes: 0 = OS, 1 = WS,
2 = IS.

The IFMAP address of im2col element (p, k) is ``p_base[p] + k_off[k]``; it exists (SCALE-Sim writes
-1 otherwise, ``compute/operand_matrix.py``) when ``p_h[p] + k_r[k] < H`` and ``p_w[p] + k_q[k] < W``:
SCALE-Sim's output-size rule ``ceil((H - F + s) / s)`` creates windows that hang over the edge.
The FILTER address of (k, n) is ``n * K + k`` and the OFMAP address of (p, n) is ``p * N + n``.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

OS = 0
WS = 1
IS = 2
IFMAP = 0
FILTER = 1


# --------------------------------------------------------------------------------------------------
# Fold statistics (mapping efficiency and compute utilization), summed fold by fold in SCALE-Sim's
# order so that the floating-point result is the same to the last bit.
# --------------------------------------------------------------------------------------------------
@jit
def fold_means(rows, cols, sr, sc, t, util_cycles):
    """Mean over folds of used/(R*C) and of used*T/(R*C*util_cycles), folds in (col, row) order.

    ``util_cycles`` is SCALE-Sim's per-fold denominator: the fold length for OS, fold length + C - 1
    for WS and IS (``systolic_compute_*.py``, ``cycles_this_fold``).
    """
    row_folds = (sr + rows - 1) // rows
    col_folds = (sc + cols - 1) // cols
    macs = rows * cols
    map_sum = 0.0
    util_sum = 0.0
    for fc in range(col_folds):
        cu = min(cols, sc - fc * cols)
        for fr in range(row_folds):
            ru = min(rows, sr - fr * rows)
            used = ru * cu
            map_sum += used / macs
            util_sum += (used * t) / (macs * util_cycles)
    n = row_folds * col_folds
    return map_sum / n, util_sum / n


# --------------------------------------------------------------------------------------------------
# Operand addressing
# --------------------------------------------------------------------------------------------------
@jit
def _fold_geometry(dataflow, operand, rows, cols, sr, sc, t, fc, fr):
    """How one operand's demand rows are laid out in fold (fc, fr).

    Returns ``(skewed, base, length, width, i_off, j_off, c_is_i)``:

    - skewed (1): element (time step ``s`` < length, lane ``c`` < width) is demanded at fold cycle
      ``base + s + c`` (SCALE-Sim's ``skew_matrix``); its matrix index is
      ``(i_off + c, j_off + s)`` when ``c_is_i`` else ``(i_off + s, j_off + c)``.
    - skewed (0): a flipped R-row block, no skew: lane ``c`` of fold cycle ``r`` holds source row
      ``src = R - 1 - r`` (< length) and lane c (< width); index ``(i_off + src, j_off + c)`` when
      ``c_is_i == 0`` else ``(i_off + c, j_off + src)``.
    """
    ru = min(rows, sr - fr * rows)
    cu = min(cols, sc - fc * cols)
    if dataflow == OS:
        if operand == IFMAP:  # A^T[:, pixel chunk], lanes are array rows (pixels)
            return 1, 0, t, ru, fr * rows, 0, 1
        return 1, 0, t, cu, 0, fc * cols, 0  # B[:, filter chunk], lanes are array cols
    if dataflow == WS:
        if operand == IFMAP:  # R idle rows while weights load, then A[:, K chunk]
            return 1, rows, t, ru, 0, fr * rows, 0
        return 0, 0, ru, cu, fr * rows, fc * cols, 0  # flipped weight block
    if operand == IFMAP:  # IS: flipped input block A^T[K chunk, pixel chunk]
        return 0, 0, ru, cu, fc * cols, fr * rows, 1
    return 1, rows, t, ru, fr * rows, 0, 1  # IS filter: B^T[:, K chunk] streamed after preload


@jit
def _fold_key(dataflow, operand):
    """Which fold indices an operand's demand depends on: 0 both, 1 only fc, 2 only fr."""
    if dataflow == OS:
        return 2 if operand == IFMAP else 1
    if dataflow == WS:
        return 2 if operand == IFMAP else 0
    return 0 if operand == IFMAP else 2


# --------------------------------------------------------------------------------------------------
# SCALE-Sim's CALC-mode read buffer (memory/read_buffer_estimate_bw.py), as a tumbling window
# --------------------------------------------------------------------------------------------------
@jit
def ifmap_axes(p_base, p_h, p_w, k_off, k_r, k_q, ifmap_h, ifmap_w, filter_h, filter_w):
    """The im2col IFMAP as two small tables instead of an Npx x K matrix.

    ``pix`` (int64, Npx x 4): window base address, rows and columns of the input left below and
    right of the window's corner, and 1 where the whole window lies inside the input. ``kk``
    (int64, 3 x K): offset of element k in the window, its filter row, its filter column. The
    address of (p, k) is ``pix[p, 0] + kk[k, 0]``; it exists (SCALE-Sim writes -1 otherwise) when
    ``kk[k, 1] < pix[p, 1]`` and ``kk[k, 2] < pix[p, 2]``.
    """
    npx = p_base.shape[0]
    pix = np.empty((npx, 4), dtype=np.int64)
    for p in range(npx):
        pix[p, 0] = p_base[p]
        pix[p, 1] = ifmap_h - p_h[p]
        pix[p, 2] = ifmap_w - p_w[p]
        pix[p, 3] = 1 if (pix[p, 1] >= filter_h and pix[p, 2] >= filter_w) else 0
    k_dim = k_off.shape[0]
    kk = np.empty((k_dim, 3), dtype=np.int64)
    for k in range(k_dim):
        kk[k, 0] = k_off[k]
        kk[k, 1] = k_r[k]
        kk[k, 2] = k_q[k]
    return pix, kk


@jit
def _addr(operand, pix, kk, k_dim, i, j):
    """Address of IFMAP (p=i, k=j) or FILTER (k=i, n=j); -1 where SCALE-Sim has no request."""
    if operand == IFMAP:
        if pix[i, 3] == 1 or (kk[j, 1] < pix[i, 1] and kk[j, 2] < pix[i, 2]):
            return pix[i, 0] + kk[j, 0]
        return -1
    return j * k_dim + i


@jit
def _row_span(skewed, length, width, rows, tau):
    """Lanes [c_lo, c_hi] and source row of fold cycle ``tau`` (skewed: s = tau - c)."""
    if skewed == 1:
        return max(0, tau - (length - 1)), min(width - 1, tau), 0
    src = rows - 1 - tau
    if src >= length:
        return 0, -1, src
    return 0, width - 1, src


@jit
def _row_start(skewed, c_is_i, i_off, j_off, tau, c_lo, src):
    """Matrix index (i, j) of lane ``c_lo`` in fold cycle ``tau``, and its step from lane to lane."""
    if skewed == 1:
        s = tau - c_lo
        if c_is_i == 1:
            return i_off + c_lo, j_off + s, 1, -1
        return i_off + s, j_off + c_lo, -1, 1
    if c_is_i == 1:
        return i_off + c_lo, j_off + src, 1, 0
    return i_off + src, j_off + c_lo, 0, 1


@jit
def _visit_fold(dataflow, operand, rows, cols, sr, sc, t, fc, fr, fold_start, pix, kk, k_dim,
                stamp, state):
    """Feed one fold's demand of one operand, in SCALE-Sim's order, through the window model.

    Order is SCALE-Sim's: cycle by cycle, and lane by lane within a cycle. ``pix``/``kk`` address the IFMAP
    (``ifmap_axes``); a FILTER address is computed. ``state`` (int64[12]):
    0 window label, 1 words in the current window, 2 window size [words], 3 insertions (= DRAM
    reads), 4 resets, 5 cycle of the last reset, 6 1 if every IFMAP window is whole, 7 where the last reset of this
    repetition happened (cycle offset x lanes + lane), 8 first and 9 last cycle with a valid demand,
    10 insertions and 11 resets in the current repetition, 12 start cycle of the repetition.
    """
    skewed, base, length, width, i_off, j_off, c_is_i = _fold_geometry(
        dataflow, operand, rows, cols, sr, sc, t, fc, fr)
    loaded = operand == IFMAP
    all_valid = state[6] == 1  # no window of the layer hangs over the input's edge
    epoch = state[0]
    in_epoch = state[1]
    win = state[2]
    ins = state[3]
    resets = state[4]
    last_reset = state[5]
    reset_pos = state[7]
    first = state[8]
    last = state[9]
    ins_rep = state[10]
    resets_rep = state[11]
    rep_start = state[12]
    n_tau = length + width - 1 if skewed == 1 else rows
    lanes = rows + cols
    for tau in range(n_tau):
        c_lo, c_hi, src = _row_span(skewed, length, width, rows, tau)
        if c_hi < c_lo:
            continue
        i, j, di, dj = _row_start(skewed, c_is_i, i_off, j_off, tau, c_lo, src)
        cyc = fold_start + base + tau
        for c in range(c_lo, c_hi + 1):
            if loaded:
                if all_valid or pix[i, 3] == 1 or (kk[j, 1] < pix[i, 1] and kk[j, 2] < pix[i, 2]):
                    a = pix[i, 0] + kk[j, 0]
                else:
                    a = -1
            else:
                a = j * k_dim + i
            i += di
            j += dj
            if a < 0:
                continue
            if first < 0:
                first = cyc
            last = cyc
            if stamp[a] != epoch:
                stamp[a] = epoch
                ins += 1
                ins_rep += 1
                in_epoch += 1
                if in_epoch == win:
                    in_epoch = 0
                    epoch += 1
                    resets += 1
                    resets_rep += 1
                    last_reset = cyc
                    reset_pos = (cyc - rep_start) * lanes + c
    state[0] = epoch
    state[1] = in_epoch
    state[3] = ins
    state[4] = resets
    state[5] = last_reset
    state[7] = reset_pos
    state[8] = first
    state[9] = last
    state[10] = ins_rep
    state[11] = resets_rep


@jit
def _fold_of(key, g, rep, b, row_folds):
    """(fc, fr) of block fold ``b`` of repetition ``rep`` of group ``g`` (see read_window_sim)."""
    if key == 1:
        return g, rep
    if key == 2:
        return rep, b
    return b // row_folds, b % row_folds


@jit
def _nth_demand_cycle(dataflow, operand, rows, cols, sr, sc, t, fold_cycles, key, g, rep, block,
                      row_folds, pix, kk, k_dim, m):
    """Cycle of the m-th (0-based) valid demand of a repetition; ``m < 0``: of the last one.

    FILTER slots always hold an address (SCALE-Sim never writes -1 in it), so rows are counted
    whole; IFMAP rows are checked lane by lane.
    """
    last = -1
    for b in range(block):
        fc, fr = _fold_of(key, g, rep, b, row_folds)
        skewed, base, length, width, i_off, j_off, c_is_i = _fold_geometry(
            dataflow, operand, rows, cols, sr, sc, t, fc, fr)
        fold_start = (fc * row_folds + fr) * fold_cycles
        n_tau = length + width - 1 if skewed == 1 else rows
        for tau in range(n_tau):
            c_lo, c_hi, src = _row_span(skewed, length, width, rows, tau)
            n = c_hi - c_lo + 1
            if n <= 0:
                continue
            if operand == IFMAP:
                i, j, di, dj = _row_start(skewed, c_is_i, i_off, j_off, tau, c_lo, src)
                n = 0
                for _ in range(c_hi - c_lo + 1):
                    if _addr(operand, pix, kk, k_dim, i, j) >= 0:
                        n += 1
                    i += di
                    j += dj
                if n == 0:
                    continue
            last = fold_start + base + tau
            if 0 <= m < n:
                return last
            m -= n
    return last


@jit
def _reuse_exceeds_window(dataflow, operand, rows, cols, sr, sc, t, key, block, row_folds, reps,
                          fold_cycles, pix, kk, k_dim, footprint, window_words):
    """Whether no address comes back within ``window_words`` valid demands of its last one, in the
    stream of ``reps`` repetitions of repetition 0 (wrap-around included). Then every demand is a
    DRAM read: between two demands of an address lie at least a window's worth of insertions, so a
    reset. Stops at the first short reuse.

    Returns (answer, valid demands per repetition, cumulative valid demands by cycle of the
    repetition: ``cum[x]`` counts those at cycles <= x).
    """
    last = np.full(footprint, -1, dtype=np.int32)
    cum = np.zeros(block * fold_cycles, dtype=np.int64)
    pos = 0
    per_rep = 0
    for sweep in range(2):  # 0: the repetition; 1: the head of the next one, against the first
        for b in range(block):
            fc, fr = _fold_of(key, 0, 0, b, row_folds)
            skewed, base, length, width, i_off, j_off, c_is_i = _fold_geometry(
                dataflow, operand, rows, cols, sr, sc, t, fc, fr)
            n_tau = length + width - 1 if skewed == 1 else rows
            for tau in range(n_tau):
                c_lo, c_hi, src = _row_span(skewed, length, width, rows, tau)
                if c_hi < c_lo:
                    continue
                i, j, di, dj = _row_start(skewed, c_is_i, i_off, j_off, tau, c_lo, src)
                row_start = pos
                for _ in range(c_hi - c_lo + 1):
                    a = _addr(operand, pix, kk, k_dim, i, j)
                    i += di
                    j += dj
                    if a < 0:
                        continue
                    prev = last[a]
                    if sweep == 0:
                        if prev >= 0 and pos - prev <= window_words:
                            return False, pos, cum
                        last[a] = pos
                    elif prev >= 0 and pos - prev <= window_words:
                        return False, per_rep, cum
                    pos += 1
                if sweep == 0:
                    cum[b * fold_cycles + base + tau] += pos - row_start
                elif pos - per_rep >= window_words:
                    return True, per_rep, cum
        if sweep == 0:
            per_rep = pos
            for x in range(1, cum.shape[0]):
                cum[x] += cum[x - 1]
            if reps == 1:
                return True, per_rep, cum
    return True, per_rep, cum


@jit
def _cycle_of(cum, m):
    """Rep-relative cycle of the m-th (0-based) valid demand, from cumulative counts."""
    return np.searchsorted(cum, m, side="right")


@jit
def _all_miss(state, dataflow, operand, rows, cols, sr, sc, t, fold_cycles, key, g, reps, block,
              row_folds, pix, kk, k_dim, per_rep):
    """Account for a group whose every demand misses: counts, resets, and where they happen."""
    window_words = state[2]
    e0 = state[1]
    total = reps * per_rep
    n_resets = (e0 + total) // window_words
    if n_resets > 0:
        m = n_resets * window_words - e0 - 1
        state[5] = _nth_demand_cycle(dataflow, operand, rows, cols, sr, sc, t, fold_cycles, key, g,
                                     m // per_rep, block, row_folds, pix, kk, k_dim, m % per_rep)
        state[0] += 1  # a new label: the window holds none of the stamped addresses
    state[1] = (e0 + total) % window_words
    state[3] += total
    state[4] += n_resets
    if state[8] < 0:
        state[8] = _nth_demand_cycle(dataflow, operand, rows, cols, sr, sc, t, fold_cycles, key, g,
                                     0, block, row_folds, pix, kk, k_dim, 0)
    state[9] = _nth_demand_cycle(dataflow, operand, rows, cols, sr, sc, t, fold_cycles, key, g,
                                 reps - 1, block, row_folds, pix, kk, k_dim, -1)


@jit
def _new_window_state(window_words, pix):
    """The state of :func:`_visit_fold` before the first fold: empty window of ``window_words``
    [words], no demand yet, and whether every IFMAP window is whole (``pix``)."""
    state = np.zeros(13, dtype=np.int64)
    state[2] = window_words
    state[6] = 1
    for p in range(pix.shape[0]):
        if pix[p, 3] == 0:
            state[6] = 0
            break
    state[5] = -1
    state[8] = -1
    state[9] = -1
    return state


@jit
def _repetitions(key, row_folds, col_folds):
    """(groups, repetitions per group, folds per repetition) of an operand whose folds repeat as
    ``key`` says (:func:`_fold_key`; see read_window_sim)."""
    if key == 1:  # fc-only: groups = column folds, repetitions = row folds, block = one fold
        return col_folds, row_folds, 1
    if key == 2:  # fr-only: one group, repetitions = column folds, block = all row folds
        return 1, col_folds, row_folds
    return 1, 1, row_folds * col_folds


@jit
def read_window_sim(dataflow, operand, rows, cols, sr, sc, t, fold_cycles, window_words,
                    footprint, pix, kk, k_dim):
    """DRAM reads of one operand under SCALE-Sim's CALC-mode read buffer, exactly.

    SCALE-Sim packs each new address into sets of ``floor(words/100)`` and, every 50 sets
    (``window_words``), hands the half-buffer to a prefetch and starts afresh
    (``read_buffer_estimate_bw.py``): an address is a DRAM read unless it was demanded since the last
    such boundary. That is a tumbling window; ``stamp[addr]`` holds the window label of the last
    insertion, so the model costs one array probe per demanded word.

    Folds whose demand is identical (OS filter: every row fold of a column fold; OS/WS IFMAP and IS
    filter: the whole row-fold sweep, once per column fold) are repetitions of one sequence. A
    repetition that inserts nothing leaves the state unchanged, and two repetitions whose last reset
    falls at the same place leave the same window; either way the rest is extrapolated exactly.
    The FILTER sequence of a repetition never repeats an address, so when it is longer than the
    window every repetition misses everywhere, and it is counted without being walked. So is an
    IFMAP stream in which no address comes back within a window's worth of demands (typical of WS,
    where the taps of a window are row folds apart), found by one pass over one repetition.

    Returns int64[6]: DRAM reads, resets, cycle of the last reset (-1 if none), first and last cycle
    with a valid demand, and the words in the window at the end.
    """
    row_folds = (sr + rows - 1) // rows
    col_folds = (sc + cols - 1) // cols
    state = _new_window_state(window_words, pix)
    key = _fold_key(dataflow, operand)
    n_groups, reps, block = _repetitions(key, row_folds, col_folds)
    rep_cycles = block * fold_cycles
    stamp = np.full(1, -1, dtype=np.int32)
    stamp_ready = False
    for g in range(n_groups):
        if key == 1:
            group_start = g * row_folds * fold_cycles
        else:
            group_start = 0
        if operand == FILTER:
            # a FILTER repetition never repeats an address: longer than the window, or alone, it
            # misses everywhere
            per_rep = 0
            for b in range(block):
                fc, fr = _fold_of(key, g, 0, b, row_folds)
                geo = _fold_geometry(dataflow, operand, rows, cols, sr, sc, t, fc, fr)
                per_rep += geo[2] * geo[3]
            if per_rep > window_words or reps == 1:
                _all_miss(state, dataflow, operand, rows, cols, sr, sc, t, fold_cycles, key, g,
                          reps, block, row_folds, pix, kk, k_dim, per_rep)
                continue
        elif n_groups == 1:
            ok, per_rep, cum = _reuse_exceeds_window(dataflow, operand, rows, cols, sr, sc, t, key,
                                                     block, row_folds, reps, fold_cycles, pix, kk,
                                                     k_dim, footprint, window_words)
            if ok:
                total = reps * per_rep
                n_resets = total // window_words
                if n_resets > 0:
                    m = n_resets * window_words - 1
                    state[5] = (m // per_rep) * rep_cycles + _cycle_of(cum, m % per_rep)
                state[1] = total % window_words
                state[3] = total
                state[4] = n_resets
                state[8] = _cycle_of(cum, 0)
                state[9] = (reps - 1) * rep_cycles + _cycle_of(cum, per_rep - 1)
                continue
        if not stamp_ready:
            stamp = np.full(footprint, -1, dtype=np.int32)
            stamp_ready = True
        prev_resets = 0
        prev_pos = -1
        rep = 0
        last_valid_rel = 0
        while rep < reps:
            rep_start = group_start + rep * rep_cycles
            state[7] = -1
            state[10] = 0
            state[11] = 0
            state[12] = rep_start
            for b in range(block):
                fc, fr = _fold_of(key, g, rep, b, row_folds)
                fold = fc * row_folds + fr
                _visit_fold(dataflow, operand, rows, cols, sr, sc, t, fc, fr, fold * fold_cycles,
                            pix, kk, k_dim, stamp, state)
            last_valid_rel = state[9] - rep_start
            rep += 1
            left = reps - rep
            if left <= 0:
                break
            if state[10] == 0:
                break  # nothing inserted: every later repetition is all hits
            if state[11] > 0 and prev_resets > 0 and state[7] == prev_pos:
                # periodic from here on: same insertions, same resets, same phase
                state[3] += left * state[10]
                state[4] += left * state[11]
                state[5] += left * rep_cycles
                break
            prev_resets = state[11]
            prev_pos = state[7]
        state[9] = group_start + (reps - 1) * rep_cycles + last_valid_rel
    out = np.empty(6, dtype=np.int64)
    out[0] = state[3]
    out[1] = state[4]
    out[2] = state[5]
    out[3] = state[8]
    out[4] = state[9]
    out[5] = state[1]
    return out


# --------------------------------------------------------------------------------------------------
# SCALE-Sim's OFMAP write buffer (memory/write_buffer.py), one demand row at a time
# --------------------------------------------------------------------------------------------------
@jit
def _ofmap_row_span(dataflow, rows, cols, sr, sc, t, fc, fr):
    """OFMAP writes of fold (fc, fr) happen at fold cycles ``tau`` with lanes
    ``c in [max(0, tau - hi), min(cu - 1, tau - lo)]``. Returns (lo, hi, cu)."""
    ru = min(rows, sr - fr * rows)
    cu = min(cols, sc - fc * cols)
    if dataflow == OS:
        # T-1 idle rows, then the flipped R-row block (only R - ru.. R - 1 hold pixels), skewed
        return t - 1 + rows - ru, t - 1 + rows - 1, cu
    # WS and IS: 2R - 1 idle rows, then T rows of partial sums, skewed
    return 2 * rows - 1, 2 * rows - 1 + t - 1, cu


@jit
def write_buffer_sim(dataflow, rows, cols, sr, sc, t, fold_cycles, size_words, drain_words_per_cycle,
                     exact_lines):
    """SCALE-Sim's double-buffered OFMAP write buffer over every demand row.

    The buffer (``size_words``) takes the array's writes; once more than half is occupied, and no
    drain is in flight, it drains ``ceil(half / bw)`` lines of ``bw = drain_words_per_cycle`` words,
    one line per cycle (``write_buffer.py``). The array stalls only when the buffer is full while a
    drain is in flight. Lines are filled word by word; a drain first flushes the partly filled line.
    SCALE-Sim counts a drained chunk as whole lines less the empty slots of its last line only
    (``exact_lines=0``); ``exact_lines=1`` counts the words really drained.

    Returns int64[8]: DRAM writes, first drain cycle, last cycle of any drain, last row's serviced cycle
    (SCALE-Sim's "Total Cycles"), stall cycles, first and last cycle with a write, number of drains.
    """
    row_folds = (sr + rows - 1) // rows
    col_folds = (sc + cols - 1) // cols
    bw = drain_words_per_cycle
    total = size_words
    drain_size = total - (total + 1) // 2  # active half = ceil(total * 0.5)
    active = total - drain_size
    lines_per_drain = (drain_size + bw - 1) // bw
    free = total
    line_idx = 0
    lines = 0
    dstart = 0
    drain_end = 0
    # the partly filled lines flushed so far: line number and words (see _drain)
    pl_idx = np.empty(64, dtype=np.int64)
    pl_size = np.empty(64, dtype=np.int64)
    n_pl = 0
    pp = 0
    writes = 0
    first_drain = -1
    last_drain = -1
    n_drains = 0
    stalls = 0
    first_write = -1
    last_write = -1
    last_out = 0
    n_rows = row_folds * col_folds * fold_cycles
    for fc in range(col_folds):
        for fr in range(row_folds):
            lo, hi, cu = _ofmap_row_span(dataflow, rows, cols, sr, sc, t, fc, fr)
            fold_start = (fc * row_folds + fr) * fold_cycles
            tau = lo
            while tau < hi + cu:
                n = min(cu - 1, tau - lo) - max(0, tau - hi) + 1
                cyc = fold_start + tau + stalls
                # rows of equal width in a row (the plateau of the skewed block) where nothing
                # happens but filling the buffer are taken in one step
                seg = _plateau(tau, lo, hi, cu)
                if seg > 1:
                    if cyc < drain_end:
                        m = min(seg, drain_end - cyc, (free - 1) // n)
                    else:
                        m = min(seg, (free - active) // n)
                    if m > 1:
                        free, line_idx, lines = _put(m * n, free, line_idx, lines, bw)
                        if first_write < 0:
                            first_write = cyc
                        last_write = cyc + m - 1
                        tau += m
                        continue
                tau += 1
                cur = cyc
                rem = n
                while rem > 0:
                    if cur < drain_end:
                        if free > 0:
                            k = min(rem, free)
                        else:
                            k = 1
                        free, line_idx, lines = _put(k, free, line_idx, lines, bw)
                        rem -= k
                        if free <= 0:
                            cur = drain_end  # stall until the drain in flight completes
                    else:
                        if free < active:
                            k = 1
                        else:
                            k = free - active + 1
                        k = min(k, rem)
                        free, line_idx, lines = _put(k, free, line_idx, lines, bw)
                        rem -= k
                        if free < active:
                            pl_idx, pl_size, n_pl, pp, lines, dstart, data, num = _drain(
                                pl_idx, pl_size, n_pl, pp, lines, line_idx, dstart, lines_per_drain, bw,
                                exact_lines)
                            line_idx = 0
                            writes += data
                            free += data
                            if first_drain < 0:
                                first_drain = cur
                            drain_end = cur + num - 1
                            last_drain = max(last_drain, drain_end)
                            n_drains += 1
                if first_write < 0:
                    first_write = cur
                last_write = cur
                stalls += cur - cyc
    last_out = n_rows - 1 + stalls
    # empty_all_buffers: flush and drain everything, chunk after chunk
    cycle = last_out
    while line_idx != 0 or dstart < lines:
        pl_idx, pl_size, n_pl, pp, lines, dstart, data, num = _drain(
            pl_idx, pl_size, n_pl, pp, lines, line_idx, dstart, lines_per_drain, bw, exact_lines)
        line_idx = 0
        writes += data
        if first_drain < 0:
            first_drain = cycle
        end = cycle + num - 1
        last_drain = max(last_drain, end)  # a drain still in flight may end later
        n_drains += 1
        cycle = end + 1
    return np.array([writes, first_drain, last_drain, last_out, stalls, first_write, last_write, n_drains],
                    dtype=np.int64)


@jit(inline="always")
def _plateau(tau, lo, hi, cu):
    """Rows from ``tau`` on as wide as row ``tau`` (the plateau of the skewed block of rows ``lo``
    to ``hi + cu - 1``, ``cu`` lanes), or 1 where the width changes."""
    if tau - lo >= cu - 1 and tau <= hi:
        return hi - tau + 1
    if tau - lo <= cu - 1 and tau >= hi:
        return lo + cu - 1 - tau + 1
    return 1


@jit(inline="always")
def _put(k, free, line_idx, lines, bw):
    """``k`` words into the write buffer (``free`` words left [words]), filling lines of ``bw`` words:
    returns the new (free [words], words in the partly filled line, completed lines)."""
    line_idx += k
    return free - k, line_idx % bw, lines + line_idx // bw


@jit(inline="always")
def _drain(pl_idx, pl_size, n_pl, pp, lines, line_idx, dstart, lines_per_drain, bw, exact_lines):
    """One drain of the write buffer: the partly filled line (``line_idx`` words) is flushed as a line
    of its own (its number and size appended to ``pl_idx``, ``pl_size``, grown when full), then up to
    ``lines_per_drain`` lines from ``dstart`` go out; each partly filled line among them (``pp``: the
    first not yet drained) counts its empty slots off, every one if ``exact_lines``, else that of
    the chunk's last line only (SCALE-Sim).

    Returns (pl_idx, pl_size, n_pl, pp, lines, dstart after the chunk, words drained, lines drained).
    """
    if line_idx != 0:  # flush the partly filled line
        if n_pl == pl_idx.shape[0]:
            cap = 2 * n_pl
            a2 = np.empty(cap, dtype=np.int64)
            b2 = np.empty(cap, dtype=np.int64)
            a2[:n_pl] = pl_idx[:n_pl]
            b2[:n_pl] = pl_size[:n_pl]
            pl_idx = a2
            pl_size = b2
        pl_idx[n_pl] = lines
        pl_size[n_pl] = line_idx
        n_pl += 1
        lines += 1
    end_id = min(dstart + lines_per_drain, lines)
    num = end_id - dstart
    data = num * bw
    while pp < n_pl and pl_idx[pp] < end_id:
        if exact_lines == 1 or pl_idx[pp] == end_id - 1:
            data -= bw - pl_size[pp]
        pp += 1
    return pl_idx, pl_size, n_pl, pp, lines, end_id, data, num

# --------------------------------------------------------------------------------------------------
# Demand traces (SCALE-Sim's SRAM traces): one row per cycle, one column per array lane
# --------------------------------------------------------------------------------------------------
@jit
def demand_matrix(dataflow, operand, rows, cols, sr, sc, t, fold_cycles, pix, kk, k_dim, n_dim):
    """The demand matrix of one operand (0 IFMAP, 1 FILTER, 2 OFMAP): int64 (folds x fold_cycles,
    lanes), an address per lane and cycle or -1 (SCALE-Sim's ``get_demand_matrices``).

    Addresses have no offset. Lanes are R for the IFMAP (OS, WS) and the IS filter, C otherwise.
    """
    row_folds = (sr + rows - 1) // rows
    col_folds = (sc + cols - 1) // cols
    if operand == 2 or (operand == FILTER and dataflow != IS) or (operand == IFMAP and dataflow == IS):
        width = cols
    else:
        width = rows
    out = np.full((row_folds * col_folds * fold_cycles, width), -1, dtype=np.int64)
    for fc in range(col_folds):
        for fr in range(row_folds):
            fold_start = (fc * row_folds + fr) * fold_cycles
            if operand == 2:
                ru = min(rows, sr - fr * rows)
                cu = min(cols, sc - fc * cols)
                if dataflow == OS:
                    for jj in range(rows - ru, rows):
                        p = fr * rows + rows - 1 - jj
                        for c in range(cu):
                            out[fold_start + t - 1 + jj + c, c] = p * n_dim + fc * cols + c
                else:
                    for s in range(t):
                        for c in range(cu):
                            if dataflow == WS:
                                a = s * n_dim + fc * cols + c
                            else:
                                a = (fc * cols + c) * n_dim + s
                            out[fold_start + 2 * rows - 1 + s + c, c] = a
                continue
            skewed, base, length, width_u, i_off, j_off, c_is_i = _fold_geometry(
                dataflow, operand, rows, cols, sr, sc, t, fc, fr)
            n_tau = length + width_u - 1 if skewed == 1 else rows
            for tau in range(n_tau):
                c_lo, c_hi, src = _row_span(skewed, length, width_u, rows, tau)
                if c_hi < c_lo:
                    continue
                i, j, di, dj = _row_start(skewed, c_is_i, i_off, j_off, tau, c_lo, src)
                cyc = fold_start + base + tau
                for c in range(c_lo, c_hi + 1):
                    out[cyc, c] = _addr(operand, pix, kk, k_dim, i, j)
                    i += di
                    j += dj
    return out
