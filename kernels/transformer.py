"""Transformer kernels: layer norm, RMS norm, GELU, SiLU, batched matrix multiply, embedding lookup,
rotary position embedding and causal masking.

Every kernel takes and returns float32 arrays (fp32 arithmetic; reductions accumulate in float64 as
the softmax of :mod:`.activation` does) and imports nothing from the rest of the project.

Definitions (those of HuggingFace ``transformers``):

- layer norm over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta, var the biased variance
- RMS norm over the last axis: x / sqrt(mean(x^2) + eps) * gamma (Llama's LlamaRMSNorm)
- gelu: 0.5 x (1 + erf(x / sqrt(2))) (exact); gelu_tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  (GPT-2's "gelu_new"); silu: x / (1 + exp(-x))
- rotary (Llama's rotate-half form): for position p and pair i < D/2, angle = p * theta^(-2i/D);
  y[i] = x[i] cos - x[i + D/2] sin, y[i + D/2] = x[i + D/2] cos + x[i] sin
- causal mask: scores[q, k] = -inf where k > q + (Tk - Tq) (the query rows are the last Tq positions)
"""

from __future__ import annotations

import math

import numpy as np

from ._jit import jit

GELU = 0
GELU_TANH = 1
SILU = 2

#: Code of each pointwise function name.
POINTWISE_CODES = {"gelu": GELU, "gelu_tanh": GELU_TANH, "silu": SILU}

_SQRT_HALF = 1.0 / math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


@jit
def layer_norm(x, gamma, beta, eps):
    """Layer norm of each row of the M x C float32 array ``x``; returns a new M x C float32 array."""
    m_n, c_n = x.shape
    out = np.empty((m_n, c_n), dtype=np.float32)
    for m in range(m_n):
        total = 0.0
        for c in range(c_n):
            total += x[m, c]
        mean = total / c_n
        sq = 0.0
        for c in range(c_n):
            d = x[m, c] - mean
            sq += d * d
        inv = 1.0 / math.sqrt(sq / c_n + eps)
        for c in range(c_n):
            out[m, c] = np.float32((x[m, c] - mean) * inv) * gamma[c] + beta[c]
    return out


@jit
def rms_norm(x, gamma, eps):
    """RMS norm of each row of the M x C float32 array ``x``; returns a new M x C float32 array."""
    m_n, c_n = x.shape
    out = np.empty((m_n, c_n), dtype=np.float32)
    for m in range(m_n):
        sq = 0.0
        for c in range(c_n):
            sq += x[m, c] * x[m, c]
        inv = 1.0 / math.sqrt(sq / c_n + eps)
        for c in range(c_n):
            out[m, c] = np.float32(x[m, c] * inv) * gamma[c]
    return out


@jit
def pointwise(x, code):
    """GELU (exact), GELU (tanh) or SiLU of the 1-D float32 array ``x`` by ``code``; a new array."""
    n = x.shape[0]
    out = np.empty(n, dtype=np.float32)
    if code == GELU:
        for i in range(n):
            v = x[i]
            out[i] = 0.5 * v * (1.0 + math.erf(v * _SQRT_HALF))
    elif code == GELU_TANH:
        for i in range(n):
            v = x[i]
            out[i] = 0.5 * v * (1.0 + math.tanh(_SQRT_2_OVER_PI * (v + 0.044715 * v * v * v)))
    else:
        for i in range(n):
            v = x[i]
            if v >= 0:
                out[i] = v / (1.0 + math.exp(-v))
            else:
                e = math.exp(v)
                out[i] = v * e / (1.0 + e)
    return out


@jit
def batch_matmul(a, b, transpose_b, scale, group):
    """scale * a[i] @ b[i // group] (or a[i] @ b[i // group].T) for the B x M x K float32 ``a`` and
    (B / group) x K x N (x N x K) ``b`` (``group`` 1: one b per a). Returns a new B x M x N float32
    array; each product accumulates in float32 through BLAS, as the inner-product kernel does, and is
    then multiplied by the float32 ``scale`` (1: unchanged).
    """
    bn, m_n, _ = a.shape
    n_n = b.shape[1] if transpose_b else b.shape[2]
    out = np.empty((bn, m_n, n_n), dtype=np.float32)
    for i in range(bn):
        j = i // group
        if transpose_b:
            out[i] = np.dot(a[i], np.ascontiguousarray(b[j].T))
        else:
            out[i] = np.dot(a[i], b[j])
    if scale != 1.0:
        s = np.float32(scale)
        for i in range(bn):
            for m in range(m_n):
                for n in range(n_n):
                    out[i, m, n] = out[i, m, n] * s
    return out


@jit
def embedding(indices, table):
    """Rows ``table[indices[i]]`` of the V x H float32 ``table`` for the 1-D int indices; a new n x H
    array. The caller checks 0 <= index < V."""
    n = indices.shape[0]
    h = table.shape[1]
    out = np.empty((n, h), dtype=np.float32)
    for i in range(n):
        out[i, :] = table[indices[i], :]
    return out


@jit
def rotary(x, offset, theta):
    """Rotary position embedding of the B x T x D float32 ``x`` (D even), positions offset..offset+T-1
    along T, base ``theta``; returns a new array."""
    bn, t_n, d_n = x.shape
    half = d_n // 2
    out = np.empty((bn, t_n, d_n), dtype=np.float32)
    for t in range(t_n):
        pos = offset + t
        for i in range(half):
            angle = pos * theta ** (-2.0 * i / d_n)
            c = np.float32(math.cos(angle))
            s = np.float32(math.sin(angle))
            for b in range(bn):
                x1 = x[b, t, i]
                x2 = x[b, t, i + half]
                out[b, t, i] = x1 * c - x2 * s
                out[b, t, i + half] = x2 * c + x1 * s
    return out


@jit
def causal_mask(x):
    """The B x Tq x Tk float32 scores ``x`` with -inf where key k > q + (Tk - Tq); a new array."""
    bn, tq, tk = x.shape
    out = x.copy()
    shift = tk - tq
    for b in range(bn):
        for q in range(tq):
            for k in range(q + shift + 1, tk):
                out[b, q, k] = -np.inf
    return out


@jit
def transpose_nd(x, shape, perm):
    """The row-major elements of an array of ``shape`` (int64) held flat in ``x``, with its axes
    permuted by ``perm`` (output axis d is input axis perm[d]); a new flat array of x's dtype."""
    rank = shape.shape[0]
    in_strides = np.empty(rank, dtype=np.int64)
    step = 1
    for d in range(rank - 1, -1, -1):
        in_strides[d] = step
        step *= shape[d]
    out_shape = np.empty(rank, dtype=np.int64)
    strides = np.empty(rank, dtype=np.int64)
    for d in range(rank):
        out_shape[d] = shape[perm[d]]
        strides[d] = in_strides[perm[d]]
    out = np.empty(x.shape[0], dtype=x.dtype)
    counter = np.zeros(rank, dtype=np.int64)
    src = 0
    for i in range(x.shape[0]):
        out[i] = x[src]
        d = rank - 1
        while d >= 0:
            counter[d] += 1
            src += strides[d]
            if counter[d] < out_shape[d]:
                break
            src -= strides[d] * out_shape[d]
            counter[d] = 0
            d -= 1
    return out
