"""Data movement: concat, split, layout reorder, zero padding and repeat (tile), for any element type.

Concat and split see their tensors as 3-D (outer, axis, inner) views, so one compiled kernel serves
every rank and axis; every reorder (NCHW <-> NHWC, NC <-> CN, NTC <-> NCT) is a swap of the last two
axes of such a 3-D view. Padding and repeat take flat arrays with int64 shape vectors. The kernels
copy bits only, so float16 data can pass through as uint16 (Numba has no float16 arithmetic on CPU).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def copy_into_axis(out, x, offset):
    """out[:, offset:offset + x.shape[1], :] = x, for 3-D arrays that agree on axes 0 and 2."""
    a_n, b_n, c_n = x.shape
    for a in range(a_n):
        for b in range(b_n):
            for c in range(c_n):
                out[a, offset + b, c] = x[a, b, c]


@jit
def take_axis(x, offset, size):
    """A new 3-D array x[:, offset:offset + size, :]."""
    a_n, _, c_n = x.shape
    out = np.empty((a_n, size, c_n), dtype=x.dtype)
    for a in range(a_n):
        for b in range(size):
            for c in range(c_n):
                out[a, b, c] = x[a, offset + b, c]
    return out


@jit
def swap_last_two(x):
    """A new A x C x B array from the A x B x C array ``x`` (out[a, c, b] = x[a, b, c])."""
    a_n, b_n, c_n = x.shape
    out = np.empty((a_n, c_n, b_n), dtype=x.dtype)
    # Blocked so that both the reads and the writes stay within a few cache lines.
    blk = 32
    for a in range(a_n):
        for b0 in range(0, b_n, blk):
            b1 = min(b0 + blk, b_n)
            for c0 in range(0, c_n, blk):
                c1 = min(c0 + blk, c_n)
                for b in range(b0, b1):
                    for c in range(c0, c1):
                        out[a, c, b] = x[a, b, c]
    return out


@jit
def pad_nd(x, shape, before, after):
    """Zero-pad the flat row-major array ``x`` of ``shape`` by ``before``/``after`` elements per axis.

    Returns the flat padded array (shape + before + after).
    """
    ndim = shape.size
    out_shape = shape + before + after
    total = 1
    for d in range(ndim):
        total *= out_shape[d]
    out = np.zeros(total, dtype=x.dtype)
    if x.size == 0:
        return out
    # Output strides (elements).
    strides = np.ones(ndim, dtype=np.int64)
    for d in range(ndim - 2, -1, -1):
        strides[d] = strides[d + 1] * out_shape[d + 1]
    row = shape[ndim - 1]
    rows = x.size // row
    idx = np.zeros(ndim, dtype=np.int64)  # index over the input's outer axes (last one stays 0)
    for i in range(rows):
        dst = 0
        for d in range(ndim):
            dst += (idx[d] + before[d]) * strides[d]
        src = i * row
        for j in range(row):
            out[dst + j] = x[src + j]
        d = ndim - 2
        while d >= 0:
            idx[d] += 1
            if idx[d] < shape[d]:
                break
            idx[d] = 0
            d -= 1
    return out


@jit
def repeat_nd(x, shape, multiples):
    """Tile the flat row-major array ``x`` of ``shape`` ``multiples[d]`` times along each axis d.

    Returns the flat result (shape * multiples): out[i] = x[i mod shape] per axis.
    """
    ndim = shape.size
    out_shape = shape * multiples
    total = 1
    for d in range(ndim):
        total *= out_shape[d]
    out = np.empty(total, dtype=x.dtype)
    in_strides = np.ones(ndim, dtype=np.int64)
    for d in range(ndim - 2, -1, -1):
        in_strides[d] = in_strides[d + 1] * shape[d + 1]
    row = shape[ndim - 1]
    out_row = out_shape[ndim - 1]
    rows = total // out_row
    idx = np.zeros(ndim, dtype=np.int64)  # index over the output's outer axes
    for i in range(rows):
        src = 0
        for d in range(ndim - 1):
            src += (idx[d] % shape[d]) * in_strides[d]
        dst = i * out_row
        for j in range(out_row):
            out[dst + j] = x[src + j % row]
        d = ndim - 2
        while d >= 0:
            idx[d] += 1
            if idx[d] < out_shape[d]:
                break
            idx[d] = 0
            d -= 1
    return out
