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
def _addr(operand, i, j, p_base, p_h, p_w, k_off, k_r, k_q, ifmap_h, ifmap_w, k_dim):
    """Address of element (i, j) of IFMAP ``A[i=p, j=k]`` or FILTER ``B[i=k, j=n]``; -1 if none."""
    if operand == IFMAP:
        if p_h[i] + k_r[j] < ifmap_h and p_w[i] + k_q[j] < ifmap_w:
            return p_base[i] + k_off[j]
        return -1
    return j * k_dim + i


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
def _visit_fold(dataflow, operand, rows, cols, sr, sc, t, fc, fr, fold_start,
                p_base, p_h, p_w, k_off, k_r, k_q, ifmap_h, ifmap_w, k_dim,
                stamp, state):
    """Feed one fold's demand of one operand, in SCALE-Sim's order, through the window model.

    ``state`` (int64[12]): 0 epoch label, 1 words in the current epoch, 2 window size [words],
    3 insertions (= DRAM reads), 4 resets, 5 cycle of the last reset, 6 position counter (valid
    demands seen in the current repetition), 7 position of the last reset in the repetition,
    8 first valid demand cycle (-1 = none yet), 9 last valid demand cycle, 10 insertions in the
    current repetition, 11 resets in the current repetition.
    """
    skewed, base, length, width, i_off, j_off, c_is_i = _fold_geometry(
        dataflow, operand, rows, cols, sr, sc, t, fc, fr)
    epoch = state[0]
    win = state[2]
    if skewed == 1:
        for tau in range(length + width - 1):
            c_lo = max(0, tau - (length - 1))
            c_hi = min(width - 1, tau)
            cyc = fold_start + base + tau
            for c in range(c_lo, c_hi + 1):
                s = tau - c
                if c_is_i == 1:
                    a = _addr(operand, i_off + c, j_off + s, p_base, p_h, p_w, k_off, k_r, k_q,
                              ifmap_h, ifmap_w, k_dim)
                else:
                    a = _addr(operand, i_off + s, j_off + c, p_base, p_h, p_w, k_off, k_r, k_q,
                              ifmap_h, ifmap_w, k_dim)
                if a < 0:
                    continue
                if state[8] < 0:
                    state[8] = cyc
                state[9] = cyc
                state[6] += 1
                if stamp[a] != epoch:
                    stamp[a] = epoch
                    state[3] += 1
                    state[10] += 1
                    state[1] += 1
                    if state[1] == win:
                        state[1] = 0
                        epoch += 1
                        state[0] = epoch
                        state[4] += 1
                        state[11] += 1
                        state[5] = cyc
                        state[7] = state[6]
    else:
        for r in range(rows):
            src = rows - 1 - r
            if src >= length:
                continue
            cyc = fold_start + base + r
            for c in range(width):
                if c_is_i == 1:
                    a = _addr(operand, i_off + c, j_off + src, p_base, p_h, p_w, k_off, k_r, k_q,
                              ifmap_h, ifmap_w, k_dim)
                else:
                    a = _addr(operand, i_off + src, j_off + c, p_base, p_h, p_w, k_off, k_r, k_q,
                              ifmap_h, ifmap_w, k_dim)
                if a < 0:
                    continue
                if state[8] < 0:
                    state[8] = cyc
                state[9] = cyc
                state[6] += 1
                if stamp[a] != epoch:
                    stamp[a] = epoch
                    state[3] += 1
                    state[10] += 1
                    state[1] += 1
                    if state[1] == win:
                        state[1] = 0
                        epoch += 1
                        state[0] = epoch
                        state[4] += 1
                        state[11] += 1
                        state[5] = cyc
                        state[7] = state[6]


@jit
def read_window_sim(dataflow, operand, rows, cols, sr, sc, t, fold_cycles, window_words,
                    footprint, p_base, p_h, p_w, k_off, k_r, k_q, ifmap_h, ifmap_w, k_dim):
    """DRAM reads of one operand under SCALE-Sim's CALC-mode read buffer, exactly.

    SCALE-Sim packs each new address into sets of ``floor(words/100)`` and, every 50 sets
    (``window_words``), hands the half-buffer to a prefetch and starts afresh
    (``read_buffer_estimate_bw.py``): an address is a DRAM read unless it was demanded since the last
    such boundary. That is a tumbling window; ``stamp[addr]`` holds the window label of the last
    insertion, so the model costs one array probe per demanded word.

    Folds whose demand is identical (OS filter: every row fold of a column fold; OS/WS IFMAP and IS
    filter: the whole row-fold sweep, once per column fold) are repetitions of one sequence. A
    repetition that inserts nothing leaves the state unchanged, and two repetitions whose last reset
    falls at the same position leave the same window; either way the rest is extrapolated, which
    is exact and makes the cost about three repetitions instead of all of them.

    Returns int64[6]: DRAM reads, resets, cycle of the last reset (-1 if none), first and last cycle
    with a valid demand, and the words in the window at the end.
    """
    row_folds = (sr + rows - 1) // rows
    col_folds = (sc + cols - 1) // cols
    stamp = np.full(footprint, -1, dtype=np.int64)
    state = np.zeros(12, dtype=np.int64)
    state[2] = window_words
    state[5] = -1
    state[8] = -1
    state[9] = -1
    key = _fold_key(dataflow, operand)
    if key == 1:  # fc-only: groups = column folds, repetitions = row folds, block = one fold
        n_groups = col_folds
        reps = row_folds
        block = 1
    elif key == 2:  # fr-only: one group, repetitions = column folds, block = all row folds
        n_groups = 1
        reps = col_folds
        block = row_folds
    else:
        n_groups = 1
        reps = 1
        block = row_folds * col_folds
    rep_cycles = block * fold_cycles
    last_valid_rel = -1
    for g in range(n_groups):
        prev_resets = 0
        prev_pos = -1
        rep = 0
        while rep < reps:
            state[6] = 0
            state[7] = -1
            state[10] = 0
            state[11] = 0
            last_before = state[9]
            for b in range(block):
                if key == 1:
                    fc = g
                    fr = rep
                elif key == 2:
                    fc = rep
                    fr = b
                else:
                    fc = b // row_folds
                    fr = b % row_folds
                fold = fc * row_folds + fr
                _visit_fold(dataflow, operand, rows, cols, sr, sc, t, fc, fr, fold * fold_cycles,
                            p_base, p_h, p_w, k_off, k_r, k_q, ifmap_h, ifmap_w, k_dim,
                            stamp, state)
            if key == 1:
                rep_start = (g * row_folds + rep) * fold_cycles
            elif key == 2:
                rep_start = rep * rep_cycles
            else:
                rep_start = 0
            if state[9] != last_before or rep == 0:
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
        if key == 1:
            last_rep_start = (g * row_folds + reps - 1) * fold_cycles
        elif key == 2:
            last_rep_start = (reps - 1) * rep_cycles
        else:
            last_rep_start = 0
        state[9] = last_rep_start + last_valid_rel
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

    Returns int64[8]: DRAM writes, first drain cycle, last drain cycle, last row's serviced cycle
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
    cap = 64
    pl_idx = np.empty(cap, dtype=np.int64)
    pl_size = np.empty(cap, dtype=np.int64)
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
            for tau in range(lo, hi + cu):
                n = min(cu - 1, tau - lo) - max(0, tau - hi) + 1
                if n <= 0:
                    continue
                cyc = fold_start + tau + stalls
                cur = cyc
                rem = n
                while rem > 0:
                    if cur < drain_end:
                        if free > 0:
                            k = min(rem, free)
                        else:
                            k = 1
                        free -= k
                        line_idx += k
                        lines += line_idx // bw
                        line_idx = line_idx % bw
                        rem -= k
                        if free <= 0:
                            cur = drain_end  # stall until the drain in flight completes
                    else:
                        if free < active:
                            k = 1
                        else:
                            k = free - active + 1
                        k = min(k, rem)
                        free -= k
                        line_idx += k
                        lines += line_idx // bw
                        line_idx = line_idx % bw
                        rem -= k
                        if free < active:
                            if line_idx != 0:  # flush the partly filled line
                                if n_pl == cap:
                                    cap *= 2
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
                                line_idx = 0
                            end_id = min(dstart + lines_per_drain, lines)
                            num = end_id - dstart
                            data = num * bw
                            while pp < n_pl and pl_idx[pp] < end_id:
                                if exact_lines == 1 or pl_idx[pp] == end_id - 1:
                                    data -= bw - pl_size[pp]
                                pp += 1
                            writes += data
                            free += data
                            dstart = end_id
                            if first_drain < 0:
                                first_drain = cur
                            drain_end = cur + num - 1
                            last_drain = drain_end
                            n_drains += 1
                if first_write < 0:
                    first_write = cur
                last_write = cur
                stalls += cur - cyc
    last_out = n_rows - 1 + stalls
    # empty_all_buffers: flush and drain everything, chunk after chunk
    cycle = last_out
    if line_idx != 0:
        if n_pl == cap:
            cap *= 2
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
        line_idx = 0
    while dstart < lines:
        end_id = min(dstart + lines_per_drain, lines)
        num = end_id - dstart
        data = num * bw
        while pp < n_pl and pl_idx[pp] < end_id:
            if exact_lines == 1 or pl_idx[pp] == end_id - 1:
                data -= bw - pl_size[pp]
            pp += 1
        writes += data
        dstart = end_id
        if first_drain < 0:
            first_drain = cycle
        last_drain = cycle + num - 1
        n_drains += 1
        cycle = last_drain + 1
    out = np.empty(8, dtype=np.int64)
    out[0] = writes
    out[1] = first_drain
    out[2] = last_drain
    out[3] = last_out
    out[4] = stalls
    out[5] = first_write
    out[6] = last_write
    out[7] = n_drains
    return out
