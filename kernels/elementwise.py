"""Binary element-wise operators (add, mul) and comparisons (<, <=, >, >=) with NumPy broadcasting.

Arrays come in flat (1-D, C-contiguous) with, for the broadcast kernels, per-dimension element
strides in the output's index space (0 along a broadcast dimension), so that one compiled kernel
serves every rank. Arithmetic is float32; comparisons return bool.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit

ADD = 0
MUL = 1
LESS = 2
LESS_EQUAL = 3
GREATER = 4
GREATER_EQUAL = 5

#: Code of each operator name.
CODES = {
    "add": ADD,
    "mul": MUL,
    "less": LESS,
    "less_equal": LESS_EQUAL,
    "greater": GREATER,
    "greater_equal": GREATER_EQUAL,
}


@jit
def arith_same_shape(a, b, op):
    """a + b (op ADD) or a * b (op MUL) of two flat float32 arrays of equal size."""
    out = np.empty(a.size, dtype=np.float32)
    if op == ADD:
        for i in range(a.size):
            out[i] = a[i] + b[i]
    else:
        for i in range(a.size):
            out[i] = a[i] * b[i]
    return out


@jit
def compare_same_shape(a, b, op):
    """a < b, a <= b, a > b or a >= b (by ``op``) of two flat float32 arrays of equal size."""
    out = np.empty(a.size, dtype=np.bool_)
    if op == LESS:
        for i in range(a.size):
            out[i] = a[i] < b[i]
    elif op == LESS_EQUAL:
        for i in range(a.size):
            out[i] = a[i] <= b[i]
    elif op == GREATER:
        for i in range(a.size):
            out[i] = a[i] > b[i]
    else:
        for i in range(a.size):
            out[i] = a[i] >= b[i]
    return out


@jit
def _apply(x, y, op):
    if op == ADD:
        return x + y
    return x * y


@jit
def _compare(x, y, op):
    if op == LESS:
        return x < y
    if op == LESS_EQUAL:
        return x <= y
    if op == GREATER:
        return x > y
    return x >= y


@jit
def _broadcast_offsets(shape, a_strides, b_strides):
    """Flat offsets into a and b for every output element, in row-major output order."""
    total = 1
    for d in shape:
        total *= d
    ndim = shape.size
    off_a = np.empty(total, dtype=np.int64)
    off_b = np.empty(total, dtype=np.int64)
    idx = np.zeros(ndim, dtype=np.int64)
    ia = 0
    ib = 0
    for i in range(total):
        off_a[i] = ia
        off_b[i] = ib
        d = ndim - 1
        while d >= 0:
            idx[d] += 1
            ia += a_strides[d]
            ib += b_strides[d]
            if idx[d] < shape[d]:
                break
            ia -= a_strides[d] * shape[d]
            ib -= b_strides[d] * shape[d]
            idx[d] = 0
            d -= 1
    return off_a, off_b


@jit
def arith_broadcast(a, a_strides, b, b_strides, shape, op):
    """Broadcast a + b or a * b: flat inputs, int64 strides and output ``shape``; returns flat float32."""
    off_a, off_b = _broadcast_offsets(shape, a_strides, b_strides)
    out = np.empty(off_a.size, dtype=np.float32)
    for i in range(off_a.size):
        out[i] = _apply(a[off_a[i]], b[off_b[i]], op)
    return out


@jit
def compare_broadcast(a, a_strides, b, b_strides, shape, op):
    """Broadcast comparison ``op``: flat inputs, int64 strides and output ``shape``; returns flat bool."""
    off_a, off_b = _broadcast_offsets(shape, a_strides, b_strides)
    out = np.empty(off_a.size, dtype=np.bool_)
    for i in range(off_a.size):
        out[i] = _compare(a[off_a[i]], b[off_b[i]], op)
    return out
