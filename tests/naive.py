"""Slow, obviously-correct references for every numeric kernel: plain loops and NumPy, in float64.

Each function follows the textbook definition as directly as possible, without the kernels' tricks
(im2col, GEMM, row blocks, bit views), so that the kernels can be compared with it. Inputs may be
float16 or float32; the references compute in float64 and return float64 (callers round and choose
tolerances).
"""

from __future__ import annotations

import math

import numpy as np


def to_nchw(x: np.ndarray, layout: str) -> np.ndarray:
    return x if layout == "NCHW" else x.transpose(0, 3, 1, 2)


def from_nchw(x: np.ndarray, layout: str) -> np.ndarray:
    return x if layout == "NCHW" else x.transpose(0, 2, 3, 1)


def conv2d(x, w, stride, pads, groups, layout):
    """Cross-correlation, one output element at a time: the sum over its window of x * w."""
    sh, sw = stride
    pt, pb, pl, pr = pads
    x = to_nchw(np.asarray(x, dtype=np.float64), layout)
    w = np.asarray(w, dtype=np.float64)
    if layout == "NHWC":
        w = w.transpose(0, 3, 1, 2)  # K x R x S x Cg -> K x Cg x R x S
    n_n, c_n, h, wi = x.shape
    k_n, cg, r_n, s_n = w.shape
    xp = np.zeros((n_n, c_n, h + pt + pb, wi + pl + pr))
    xp[:, :, pt : pt + h, pl : pl + wi] = x
    oh_n = (h + pt + pb - r_n) // sh + 1
    ow_n = (wi + pl + pr - s_n) // sw + 1
    kg = k_n // groups
    out = np.zeros((n_n, k_n, oh_n, ow_n))
    for n in range(n_n):
        for k in range(k_n):
            g = k // kg
            for oh in range(oh_n):
                for ow in range(ow_n):
                    window = xp[n, g * cg : (g + 1) * cg, oh * sh : oh * sh + r_n, ow * sw : ow * sw + s_n]
                    out[n, k, oh, ow] = np.sum(window * w[k])
    return from_nchw(out, layout)


def inner_product(x, w):
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    out = np.zeros((x.shape[0], w.shape[0]))
    for n in range(x.shape[0]):
        for k in range(w.shape[0]):
            out[n, k] = sum(x[n, c] * w[k, c] for c in range(x.shape[1]))
    return out


def pool(x, pool_size, stride, pads, layout, mode, count_include_pad=True):
    """Max (padding never chosen) or average (divisor: window or in-bounds count) pooling."""
    r_n, s_n = pool_size
    sh, sw = stride
    pt, pb, pl, pr = pads
    x = to_nchw(np.asarray(x, dtype=np.float64), layout)
    n_n, c_n, h, wi = x.shape
    oh_n = (h + pt + pb - r_n) // sh + 1
    ow_n = (wi + pl + pr - s_n) // sw + 1
    out = np.zeros((n_n, c_n, oh_n, ow_n))
    for n in range(n_n):
        for c in range(c_n):
            for oh in range(oh_n):
                for ow in range(ow_n):
                    inside = []
                    for r in range(r_n):
                        for s in range(s_n):
                            ih, iw = oh * sh - pt + r, ow * sw - pl + s
                            if 0 <= ih < h and 0 <= iw < wi:
                                inside.append(x[n, c, ih, iw])
                    if mode == "max":
                        out[n, c, oh, ow] = max(inside)
                    else:
                        out[n, c, oh, ow] = sum(inside) / (r_n * s_n if count_include_pad else len(inside))
    return from_nchw(out, layout)


def batch_norm(x, mean, inv_std, gamma, beta, layout):
    x = np.asarray(x, dtype=np.float64)
    c = x.shape[1] if layout == "NCHW" else x.shape[-1]
    shape = (1, c, 1, 1) if layout == "NCHW" else (c,)
    p = [np.asarray(v, dtype=np.float64).reshape(shape) for v in (mean, inv_std, gamma, beta)]
    return (x - p[0]) * p[1] * p[2] + p[3]


def _scalar_activation(v: float, function: str, params) -> float:
    if function == "relu":
        return max(v, 0.0)
    if function == "lrelu":
        return v if v > 0 else params[0] * v
    if function == "elu":
        return v if v > 0 else params[0] * (math.exp(v) - 1.0)
    if function == "selu":
        return params[1] * (v if v > 0 else params[0] * (math.exp(v) - 1.0))
    if function == "tanh":
        return math.tanh(v)
    if function == "hard_tanh":
        return min(max(v, params[0]), params[1])
    if function == "sigmoid":
        return 1.0 / (1.0 + math.exp(-v)) if v > -700 else 0.0
    raise ValueError(function)


def activation(x, function, params=()):
    """Element by element with Python's math; softmax over the last axis."""
    x = np.asarray(x, dtype=np.float64)
    if function == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    flat = [_scalar_activation(float(v), function, params) for v in x.reshape(-1)]
    return np.array(flat).reshape(x.shape)


def eltwise(a, b, function):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return {
        "add": np.add,
        "mul": np.multiply,
        "less": np.less,
        "less_equal": np.less_equal,
        "greater": np.greater,
        "greater_equal": np.greater_equal,
    }[function](a, b)


def concat(arrays, axis):
    return np.concatenate(arrays, axis=axis)


def split(x, sizes, axis):
    return np.split(x, np.cumsum(sizes)[:-1], axis=axis)


def reorder(x, source, target):
    if target == "NC" and x.ndim == 4:
        return x.reshape(x.shape[0], -1)
    return x.transpose([source.index(letter) for letter in target])


def padding(x, pads):
    return np.pad(x, [(pads[2 * i], pads[2 * i + 1]) for i in range(x.ndim)])


def repeat(x, multiples):
    return np.tile(x, multiples)
