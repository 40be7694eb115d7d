"""2-D convolution (cross-correlation, as in every DNN framework) over NHWC and NCHW float32 arrays.

Shapes: NHWC input N x H x W x C with weights K x R x S x C/groups (SMAUG's SMV backend); NCHW input
N x C x H x W with weights K x C/groups x R x S (SMAUG's Reference backend). ``pads`` are explicit
(top, bottom, left, right) zeros; the output is N x OH x OW x K (NHWC) or N x K x OH x OW (NCHW) with
OH = (H + top + bottom - R) // stride_h + 1 and likewise OW.

Method: im2col + one BLAS GEMM per group and row block (``np.dot`` on contiguous float32 arrays; Numba
calls BLAS sgemm). A 1x1, stride-1, unpadded NHWC convolution needs no im2col: the input already is
the (N*H*W) x C matrix. Convolutions with one input channel per group (depthwise, with any channel
multiplier) use a direct loop instead, because their per-group GEMMs would be 1-wide. Accumulation is
float32 throughout; a fused activation is applied in place to the finished output.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from .activation import activate_rows

#: Most float32 elements of an im2col block (16 MiB); larger problems are processed in row blocks.
IM2COL_BLOCK_ELEMS = 1 << 22


@jit
def output_extent(size, kernel, stride, pad_before, pad_after):
    """Output extent of a window of ``kernel`` sliding with ``stride`` over a padded axis."""
    return (size + pad_before + pad_after - kernel) // stride + 1


@jit
def _im2col_nhwc(x, cols, m0, rows, oh_n, ow_n, r_n, s_n, sh, sw, pt, pl, c0, cg):
    """Fill ``cols[0:rows]`` with the windows of output pixels m0 .. m0+rows-1 (row-major n, oh, ow).

    Column (r * S + s) * cg + c holds input channel c0 + c at kernel offset (r, s); padding is 0.
    """
    h = x.shape[1]
    w = x.shape[2]
    per_image = oh_n * ow_n
    for i in range(rows):
        m = m0 + i
        n = m // per_image
        rem = m - n * per_image
        oh = rem // ow_n
        ow = rem - oh * ow_n
        for r in range(r_n):
            ih = oh * sh - pt + r
            for s in range(s_n):
                iw = ow * sw - pl + s
                base = (r * s_n + s) * cg
                if 0 <= ih < h and 0 <= iw < w:
                    for c in range(cg):
                        cols[i, base + c] = x[n, ih, iw, c0 + c]
                else:
                    for c in range(cg):
                        cols[i, base + c] = 0.0


@jit
def _depthwise_nhwc(x, w, out, sh, sw, pt, pl, multiplier):
    """Direct convolution with one input channel per group: output channel k reads channel k // multiplier."""
    n_n, h, wi, _ = x.shape
    k_n, r_n, s_n, _ = w.shape
    _, oh_n, ow_n, _ = out.shape
    # Weights as R x S x K so that the innermost loop runs over contiguous output channels.
    wt = np.empty((r_n, s_n, k_n), dtype=np.float32)
    for k in range(k_n):
        for r in range(r_n):
            for s in range(s_n):
                wt[r, s, k] = w[k, r, s, 0]
    acc = np.empty(k_n, dtype=np.float32)
    for n in range(n_n):
        for oh in range(oh_n):
            for ow in range(ow_n):
                for k in range(k_n):
                    acc[k] = 0.0
                for r in range(r_n):
                    ih = oh * sh - pt + r
                    if ih < 0 or ih >= h:
                        continue
                    for s in range(s_n):
                        iw = ow * sw - pl + s
                        if iw < 0 or iw >= wi:
                            continue
                        for k in range(k_n):
                            acc[k] += x[n, ih, iw, k // multiplier] * wt[r, s, k]
                for k in range(k_n):
                    out[n, oh, ow, k] = acc[k]


@jit
def _put_block(dst, part, r0, c0):
    """dst[r0:r0+rows, c0:c0+cols] = part, written as loops (a 2-D slice assignment costs Numba
    seconds of compile time)."""
    rows, cols = part.shape
    for i in range(rows):
        for j in range(cols):
            dst[r0 + i, c0 + j] = part[i, j]


@jit
def conv2d_nhwc(x, w, sh, sw, pt, pb, pl, pr, groups, act, p0, p1):
    """Convolution of NHWC float32 ``x`` with K x R x S x C/groups float32 ``w``; fused activation ``act``.

    Returns a new N x OH x OW x K float32 array. The caller guarantees C-contiguous inputs, matching
    channel counts, pads smaller than the padded extent allows, and OH, OW >= 1.
    """
    n_n, h, wi, c_n = x.shape
    k_n, r_n, s_n, cg = w.shape
    oh_n = output_extent(h, r_n, sh, pt, pb)
    ow_n = output_extent(wi, s_n, sw, pl, pr)
    m_n = n_n * oh_n * ow_n
    out = np.empty((n_n, oh_n, ow_n, k_n), dtype=np.float32)
    out2d = out.reshape(m_n, k_n)
    kg = k_n // groups
    if cg == 1 and groups > 1:
        _depthwise_nhwc(x, w, out, sh, sw, pt, pl, kg)
        activate_rows(out2d, act, p0, p1)
        return out
    depth = r_n * s_n * cg
    direct = groups == 1 and r_n == 1 and s_n == 1 and sh == 1 and sw == 1 and pt + pb + pl + pr == 0
    if direct:
        # 1x1, stride 1, no padding: the input is already the im2col matrix.
        # w.reshape(...).T is Fortran-ordered: BLAS reads it transposed, no copy.
        np.dot(x.reshape(m_n, c_n), w.reshape(k_n, c_n).T, out2d)
        activate_rows(out2d, act, p0, p1)
        return out
    block = max(1, min(m_n, IM2COL_BLOCK_ELEMS // depth))
    cols = np.empty((block, depth), dtype=np.float32)
    for g in range(groups):
        if groups == 1:
            wt = w.reshape(k_n, depth).T  # Fortran-ordered view: BLAS reads it transposed, no copy
        else:
            wt = np.ascontiguousarray(w[g * kg : (g + 1) * kg]).reshape(kg, depth).T
        for m0 in range(0, m_n, block):
            rows = min(block, m_n - m0)
            _im2col_nhwc(x, cols, m0, rows, oh_n, ow_n, r_n, s_n, sh, sw, pt, pl, g * cg, cg)
            if groups == 1 and rows == m_n:
                np.dot(cols, wt, out2d)  # one block: the GEMM writes the output directly
            else:
                _put_block(out2d, np.dot(cols[:rows], wt), m0, g * kg)
    activate_rows(out2d, act, p0, p1)
    return out


@jit
def _im2col_nchw(x, n, cols, oh_n, ow_n, r_n, s_n, sh, sw, pt, pl, c0, cg):
    """Fill ``cols`` (cg*R*S x OH*OW) with the windows of image ``n``; row (c * R + r) * S + s."""
    h = x.shape[2]
    w = x.shape[3]
    for c in range(cg):
        for r in range(r_n):
            for s in range(s_n):
                row = (c * r_n + r) * s_n + s
                for oh in range(oh_n):
                    ih = oh * sh - pt + r
                    base = oh * ow_n
                    if ih < 0 or ih >= h:
                        for ow in range(ow_n):
                            cols[row, base + ow] = 0.0
                        continue
                    for ow in range(ow_n):
                        iw = ow * sw - pl + s
                        if 0 <= iw < w:
                            cols[row, base + ow] = x[n, c0 + c, ih, iw]
                        else:
                            cols[row, base + ow] = 0.0


@jit
def _depthwise_nchw(x, w, out, sh, sw, pt, pl, multiplier):
    """Direct NCHW convolution with one input channel per group (see _depthwise_nhwc)."""
    n_n, _, h, wi = x.shape
    k_n, _, r_n, s_n = w.shape
    oh_n = out.shape[2]
    ow_n = out.shape[3]
    for n in range(n_n):
        for k in range(k_n):
            c = k // multiplier
            for oh in range(oh_n):
                for ow in range(ow_n):
                    out[n, k, oh, ow] = 0.0
            for r in range(r_n):
                for oh in range(oh_n):
                    ih = oh * sh - pt + r
                    if ih < 0 or ih >= h:
                        continue
                    for s in range(s_n):
                        wv = w[k, 0, r, s]
                        for ow in range(ow_n):
                            iw = ow * sw - pl + s
                            if 0 <= iw < wi:
                                out[n, k, oh, ow] += x[n, c, ih, iw] * wv


@jit
def conv2d_nchw(x, w, sh, sw, pt, pb, pl, pr, groups, act, p0, p1):
    """Convolution of NCHW float32 ``x`` with K x C/groups x R x S float32 ``w``; fused activation ``act``.

    Returns a new N x K x OH x OW float32 array. A fused softmax, like the Activation op, normalizes
    over the last axis of the array as stored (W here, C in NHWC). The caller guarantees the same
    preconditions as conv2d_nhwc.
    """
    n_n, c_n, h, wi = x.shape
    k_n, cg, r_n, s_n = w.shape
    oh_n = output_extent(h, r_n, sh, pt, pb)
    ow_n = output_extent(wi, s_n, sw, pl, pr)
    out = np.empty((n_n, k_n, oh_n, ow_n), dtype=np.float32)
    kg = k_n // groups
    if cg == 1 and groups > 1:
        _depthwise_nchw(x, w, out, sh, sw, pt, pl, kg)
        activate_rows(out.reshape(n_n * k_n * oh_n, ow_n), act, p0, p1)
        return out
    depth = cg * r_n * s_n
    plane = oh_n * ow_n
    direct = groups == 1 and r_n == 1 and s_n == 1 and sh == 1 and sw == 1 and pt + pb + pl + pr == 0
    cols = np.empty((depth, plane), dtype=np.float32)
    out3 = out.reshape(n_n, k_n, plane)
    for g in range(groups):
        wg = np.ascontiguousarray(w[g * kg : (g + 1) * kg]).reshape(kg, depth)
        for n in range(n_n):
            if direct:
                np.dot(wg, x[n].reshape(c_n, plane), out3[n])
                continue
            _im2col_nchw(x, n, cols, oh_n, ow_n, r_n, s_n, sh, sw, pt, pl, g * cg, cg)
            if groups == 1:
                np.dot(wg, cols, out3[n])
            else:
                _put_block(out3[n], np.dot(wg, cols), g * kg, 0)
    activate_rows(out.reshape(n_n * k_n * oh_n, ow_n), act, p0, p1)
    return out
