"""A slow, literal reference of SCALE-Sim 3.0.0's CALC mode, for the tests of the systolic kernels.

It builds the three demand matrices exactly as SCALE-Sim describes them (one row per cycle, -1 for
no request: pad every fold to the full array, add the idle rows, flip, skew) and walks them row by
row through literal models of the two buffers: the read buffer as a list of address sets of
``floor(words / 100)`` entries, 50 of them active (``read_buffer_estimate_bw.py``), and the write
buffer as a list of lines (``write_buffer.py``). Nothing here is shared with the fast code; every
loop is plain Python.
"""

from __future__ import annotations

import math

import numpy as np


def operand_matrices(h, w, fh, fw, c, nf, sh, sw, batch, e_h, e_w):
    """im2col IFMAP (Npx x K, -1 where the window leaves the input), FILTER (K x N), OFMAP (Npx x N)."""
    npx = batch * e_h * e_w
    k = fh * fw * c
    ifm = np.full((npx, k), -1, dtype=np.int64)
    for p in range(npx):
        img, pix = divmod(p, e_h * e_w)
        oh, ow = divmod(pix, e_w)
        for kk in range(k):
            r, rem = divmod(kk, fw * c)
            q, ch = divmod(rem, c)
            y, x = oh * sh + r, ow * sw + q
            if y < h and x < w:
                ifm[p, kk] = img * h * w * c + (y * w + x) * c + ch
    fil = np.array([[n * k + kk for n in range(nf)] for kk in range(k)], dtype=np.int64).reshape(k, nf)
    ofm = np.array([[p * nf + n for n in range(nf)] for p in range(npx)], dtype=np.int64).reshape(npx, nf)
    return ifm, fil, ofm


def _pad(block, nrows, ncols):
    out = np.full((nrows, ncols), -1, dtype=np.int64)
    out[: block.shape[0], : block.shape[1]] = block
    return out


def _skew(m):
    rows, cols = m.shape
    out = np.full((rows + cols - 1, cols), -1, dtype=np.int64)
    for col in range(cols):
        out[col: col + rows, col] = m[:, col]
    return out


def _idle(n, width):
    return np.full((n, width), -1, dtype=np.int64)


def demand_matrices(df, R, C, ifm, fil, ofm, compat=True):
    """The IFMAP, FILTER and OFMAP demand matrices, folds in (column fold, row fold) order, and the
    SRAM accesses SCALE-Sim counts: every slot of each fold's operand block before padding."""
    npx, k = ifm.shape
    nf = fil.shape[1]
    sr, sc, t = {"os": (npx, nf, k), "ws": (k, nf, npx), "is": (k, npx, nf)}[df]
    parts = ([], [], [])
    counts = [0, 0, 0]
    for fc in range(math.ceil(sc / C)):
        for fr in range(math.ceil(sr / R)):
            r0, r1 = fr * R, min(fr * R + R, sr)
            c0, c1 = fc * C, min(fc * C + C, sc)
            if df == "os":
                counts[0] += (r1 - r0) * t
                counts[1] += t * (c1 - c0)
                counts[2] += (r1 - r0) * (c1 - c0) + ((R + C) if compat else 0)
                i_d = _skew(np.vstack([_pad(ifm[r0:r1, :].T, t, R), _idle(C - 1, R)]))
                f_d = _skew(np.vstack([_pad(fil[:, c0:c1], t, C), _idle(R - 1, C)]))
                o_d = _skew(np.vstack([_idle(t - 1, C), np.flipud(_pad(ofm[r0:r1, c0:c1], R, C))]))
            elif df == "ws":
                counts[0] += t * (r1 - r0)
                counts[1] += (r1 - r0) * (c1 - c0)
                counts[2] += t * (c1 - c0)
                i_d = _skew(np.vstack([_idle(R, R), _pad(ifm[:, r0:r1], t, R), _idle(C - 1, R)]))
                f_d = np.vstack([np.flipud(_pad(fil[r0:r1, c0:c1], R, C)), _idle(R + C + t - 2, C)])
                o_d = _skew(np.vstack([_idle(2 * R - 1, C), _pad(ofm[:, c0:c1], t, C)]))
            else:
                counts[0] += (r1 - r0) * (c1 - c0)
                counts[1] += (r1 - r0) * t
                counts[2] += t * (c1 - c0)
                i_d = np.vstack([np.flipud(_pad(ifm[c0:c1, r0:r1].T, R, C)), _idle(R + C + t - 2, C)])
                f_d = _skew(np.vstack([_idle(R, R), _pad(fil[r0:r1, :].T, t, R), _idle(C - 1, R)]))
                o_d = _skew(np.vstack([_idle(2 * R - 1, C), _pad(ofm[c0:c1, :].T, t, C)]))
            for lst, m in zip(parts, (i_d, f_d, o_d)):
                lst.append(m)
    return tuple(np.vstack(p) for p in parts), counts


class ReadBufferCalc:
    """SCALE-Sim's CALC-mode read buffer: new addresses fill sets; every 50 full sets the active
    half is replaced, and only the sets since then count as hits."""

    def __init__(self, words):
        self.per_set = words // 100
        self.sets = []  # completed sets
        self.current = set()
        self.active_lo = 0  # first active set
        self.active_hi = 50  # one past the last active set
        self.reads = 0
        self.first_cycle = None
        self.reset_cycles = []

    def demand(self, cycle, addr):
        if self.first_cycle is None:
            self.first_cycle = cycle
        for idx in range(self.active_lo, min(len(self.sets), self.active_hi)):
            if addr in self.sets[idx]:
                return
        if addr in self.current:
            return
        self.current.add(addr)
        self.reads += 1
        if len(self.current) == self.per_set:
            self.sets.append(self.current)
            self.current = set()
            if len(self.sets) == self.active_hi:
                self.reset_cycles.append(cycle)
                self.active_lo += 50
                self.active_hi += 50


class WriteBufferCalc:
    """SCALE-Sim's OFMAP write buffer: words fill lines of ``bw``; past half occupancy a drain of
    ``ceil(half / bw)`` lines starts, one line per cycle, unless a drain is in flight."""

    def __init__(self, words, bw, exact_lines):
        self.total = words
        self.drain_size = words - math.ceil(words * 0.5)
        self.bw = bw
        self.exact = exact_lines
        self.free = words
        self.lines = []  # each: number of words in it
        self.current = 0
        self.drain_ptr = 0
        self.drain_end = 0
        self.writes = 0
        self.drains = []  # (first cycle, last cycle)

    def _flush(self):
        if self.current:
            self.lines.append(self.current)
            self.current = 0

    def _drain(self, start):
        n_lines = math.ceil(self.drain_size / self.bw)
        chunk = self.lines[self.drain_ptr: self.drain_ptr + n_lines]
        if self.exact:
            data = sum(chunk)
        else:
            data = len(chunk) * self.bw - (self.bw - chunk[-1])
        self.writes += data
        self.free += data
        self.drain_ptr += len(chunk)
        self.drains.append((start, start + len(chunk) - 1))
        return start + len(chunk) - 1

    def row(self, cycle, n_words):
        """Serve one demand row of ``n_words`` writes; returns the serviced cycle."""
        cur = cycle
        for _ in range(n_words):
            self.current += 1
            self.free -= 1
            if self.current == self.bw:
                self._flush()
            if cur < self.drain_end:
                if self.free <= 0:
                    cur = self.drain_end
            elif self.free < self.total - self.drain_size:
                self._flush()
                self.drain_end = self._drain(cur)
        return cur

    def finish(self, cycle):
        self._flush()
        while self.drain_ptr < len(self.lines):
            cycle = self._drain(cycle) + 1


def simulate(df, R, C, layer, ifmap_words, filter_words, ofmap_words, compat):
    """Every SCALE-Sim report field for a conv layer given as (h, w, fh, fw, c, nf, sh, sw, batch)."""
    h, w, fh, fw, c, nf, sh, sw, batch = layer
    if compat:
        e_h, e_w = math.ceil((h - fh + sh) / sh), math.ceil((w - fw + sw) / sw)
    else:
        e_h, e_w = (h - fh) // sh + 1, (w - fw) // sw + 1
    ifm, fil, ofm = operand_matrices(h, w, fh, fw, c, nf, sh, sw, batch, e_h, e_w)
    (i_d, f_d, o_d), counts = demand_matrices(df, R, C, ifm, fil, ofm, compat)
    rbufs = [ReadBufferCalc(ifmap_words), ReadBufferCalc(filter_words)]
    wbuf = WriteBufferCalc(ofmap_words, C, exact_lines=not compat)
    stalls = 0
    served = []
    valid_rows = [[], [], []]
    for i in range(o_d.shape[0]):
        cycle = i + stalls
        for op, mat in enumerate((i_d, f_d)):
            for addr in mat[i]:
                if addr != -1:
                    rbufs[op].demand(cycle, int(addr))
            if (mat[i] != -1).any():
                valid_rows[op].append(cycle + 1)  # SRAM read latency of one cycle
        n_w = int((o_d[i] != -1).sum())
        out = wbuf.row(cycle, n_w)
        if n_w:
            valid_rows[2].append(out)
        stalls += out - cycle
        served.append(out)
    wbuf.finish(served[-1])

    npx, k = ifm.shape
    sr, sc, t = {"os": (npx, nf, k), "ws": (k, nf, npx), "is": (k, npx, nf)}[df]
    folds = math.ceil(sr / R) * math.ceil(sc / C)
    per_fold = o_d.shape[0] // folds
    cyc_util = per_fold if df == "os" else per_fold + C - 1
    used = []
    for fc in range(math.ceil(sc / C)):
        for fr in range(math.ceil(sr / R)):
            used.append(min(R, sr - fr * R) * min(C, sc - fc * C))
    total = max(served) if compat else max(served) + 1

    dram = []
    for op, rb in enumerate(rbufs):
        win = 50 * rb.per_set
        if rb.reset_cycles:
            start = rb.first_cycle - math.ceil(win / 10)
            stop = rb.reset_cycles[-1] + 1
        else:
            n_sets = math.ceil(rb.reads / rb.per_set)
            start = -math.ceil(n_sets * rb.per_set / 10)
            stop = -1
        dram.append((start, stop, rb.reads))
    of_start = min(d[0] for d in wbuf.drains)
    of_stop = max(d[1] for d in wbuf.drains)
    return {
        "total_cycles": total,
        "stall_cycles": stalls,
        "total_cycles_incl_prefetch": of_stop - min(dram[0][0], dram[1][0]) + (0 if compat else 1),
        "overall_util_percent": npx * k * nf * 100 / (total * R * C),
        "mapping_efficiency_percent": float(np.mean([u / (R * C) for u in used])) * 100,
        "compute_util_percent": float(np.mean([u * t / (R * C * cyc_util) for u in used])) * 100,
        "ifmap_sram_reads": counts[0],
        "filter_sram_reads": counts[1],
        "ofmap_sram_writes": counts[2],
        "ifmap_dram_reads": dram[0][2],
        "filter_dram_reads": dram[1][2],
        "ofmap_dram_writes": wbuf.writes,
        "ifmap_dram_start_cycle": dram[0][0],
        "ifmap_dram_stop_cycle": dram[0][1],
        "filter_dram_start_cycle": dram[1][0],
        "filter_dram_stop_cycle": dram[1][1],
        "ofmap_dram_start_cycle": of_start,
        "ofmap_dram_stop_cycle": of_stop,
        "ifmap_sram_start_cycle": valid_rows[0][0],
        "ifmap_sram_stop_cycle": valid_rows[0][-1],
        "filter_sram_start_cycle": valid_rows[1][0],
        "filter_sram_stop_cycle": valid_rows[1][-1],
        "ofmap_sram_start_cycle": valid_rows[2][0],
        "ofmap_sram_stop_cycle": valid_rows[2][-1],
        "folds": folds,
        "fold_cycles": per_fold,
    }
