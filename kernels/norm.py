"""Batch normalization, inference form, with a fused activation.

y = (x - mean[c]) * inv_std[c] * gamma[c] + beta[c]

``inv_std`` is 1 / sqrt(var + eps), precomputed: SMAUG's batch-norm operator receives the variance
input already in this form (its kernels multiply by it), and so do these kernels. The channel c is the
last axis of an NHWC or NC array, and axis 1 of an NCHW array.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from .activation import activate_rows


@jit
def batch_norm_last_axis(x, mean, inv_std, gamma, beta, act, p0, p1):
    """Batch norm of the M x C float32 array ``x`` (channels last); returns a new M x C array."""
    m_n, c_n = x.shape
    out = np.empty((m_n, c_n), dtype=np.float32)
    for m in range(m_n):
        for c in range(c_n):
            out[m, c] = (x[m, c] - mean[c]) * inv_std[c] * gamma[c] + beta[c]
    activate_rows(out, act, p0, p1)
    return out


@jit
def batch_norm_nchw(x, mean, inv_std, gamma, beta, act, p0, p1):
    """Batch norm of the N x C x H x W float32 array ``x``; returns a new array of the same shape.

    A fused activation sees the array as stored: softmax normalizes over the last axis (W).
    """
    n_n, c_n, h_n, w_n = x.shape
    out = np.empty((n_n, c_n, h_n, w_n), dtype=np.float32)
    for n in range(n_n):
        for c in range(c_n):
            mu = mean[c]
            scale = inv_std[c]
            g = gamma[c]
            b = beta[c]
            for h in range(h_n):
                for w in range(w_n):
                    out[n, c, h, w] = (x[n, c, h, w] - mu) * scale * g + b
    activate_rows(out.reshape(n_n * c_n * h_n, w_n), act, p0, p1)
    return out
