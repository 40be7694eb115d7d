"""Activation functions, applied in place to the rows of a 2-D float32 array.

Every activation is selected by an integer code (the constants below) and up to two float
parameters, so that convolution, inner product and batch norm can apply a fused activation to their
output block without a second kernel launch from Python. Softmax normalizes each row (the last axis),
subtracting the row maximum first so that exp never overflows.

Definitions (SMAUG's ``python/ops/activation_ops.py`` defaults are filled by the callers):

- relu: max(x, 0)

NaN and infinities propagate as IEEE arithmetic (and PyTorch) propagate them: relu(NaN) is NaN.
- lrelu(slope): x if x > 0 else slope * x
- elu(alpha): x if x > 0 else alpha * (exp(x) - 1)
- selu(alpha, lambda): lambda * elu(alpha)(x)
- tanh, sigmoid: the usual; sigmoid is evaluated as exp(x) / (1 + exp(x)) for x < 0 (no overflow)
- hard_tanh(min, max): clip(x, min, max)
- softmax: exp(x - max(row)) / sum(exp(x - max(row)))
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit

NONE = 0
RELU = 1
LRELU = 2
ELU = 3
SELU = 4
TANH = 5
HARD_TANH = 6
SIGMOID = 7
SOFTMAX = 8

#: Code of each activation name (None: no activation).
CODES = {
    None: NONE,
    "relu": RELU,
    "lrelu": LRELU,
    "elu": ELU,
    "selu": SELU,
    "tanh": TANH,
    "hard_tanh": HARD_TANH,
    "sigmoid": SIGMOID,
    "softmax": SOFTMAX,
}


@jit
def activate_rows(y, code, p0, p1):
    """Apply activation ``code`` with parameters (p0, p1) to the 2-D float32 array ``y`` in place.

    Softmax works on each row; every other function element by element. Code NONE does nothing.
    """
    rows, cols = y.shape
    if code == NONE:
        return
    if code == SOFTMAX:
        for i in range(rows):
            m = -np.inf
            for j in range(cols):
                if y[i, j] > m:
                    m = y[i, j]
            total = 0.0
            for j in range(cols):
                e = math.exp(y[i, j] - m)
                y[i, j] = e
                total += e
            inv = 1.0 / total
            for j in range(cols):
                y[i, j] = y[i, j] * inv
        return
    # One loop per function so that the compiler can vectorize the simple ones.
    if code == RELU:
        for i in range(rows):
            for j in range(cols):
                v = y[i, j]
                y[i, j] = np.float32(0) if v < 0 else v  # NaN stays NaN (IEEE; PyTorch's relu)
    elif code == LRELU:
        slope = np.float32(p0)
        for i in range(rows):
            for j in range(cols):
                v = y[i, j]
                y[i, j] = v if v > 0 else slope * v
    elif code == ELU or code == SELU:
        alpha = p0
        scale = p1 if code == SELU else 1.0
        for i in range(rows):
            for j in range(cols):
                v = y[i, j]
                if v > 0:
                    y[i, j] = scale * v
                else:
                    y[i, j] = scale * alpha * (math.exp(v) - 1.0)
    elif code == TANH:
        for i in range(rows):
            for j in range(cols):
                y[i, j] = math.tanh(y[i, j])
    elif code == HARD_TANH:
        lo = np.float32(p0)
        hi = np.float32(p1)
        for i in range(rows):
            for j in range(cols):
                v = y[i, j]
                y[i, j] = lo if v < lo else (hi if v > hi else v)
    elif code == SIGMOID:
        for i in range(rows):
            for j in range(cols):
                v = y[i, j]
                if v >= 0:
                    y[i, j] = 1.0 / (1.0 + math.exp(-v))
                else:
                    e = math.exp(v)
                    y[i, j] = e / (1.0 + e)


@jit
def activation(x, code, p0, p1):
    """A new float32 array: activation ``code`` applied to the 2-D array ``x`` (see activate_rows)."""
    y = x.copy()
    activate_rows(y, code, p0, p1)
    return y
