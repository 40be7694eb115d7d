"""Array-level transformer operators (validated wrappers of :mod:`smaug_fast.kernels.transformer`):
layer norm, RMS norm, GELU/SiLU, batched matmul, embedding lookup, rotary embedding, causal mask.

Float inputs are float32 or float16 (fp16 storage, fp32 arithmetic: the result rounds once to the
input's dtype, as the other kernels do); errors are WorkloadErrors naming the function, field and value.
"""

from __future__ import annotations

import math

import numpy as np

from ..kernels import activation as _act
from ..kernels import transformer as _tr
from .arrays import _as_array, _f32, _fail, _same_dtype, _store


def _eps(fn: str, eps: object) -> float:
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not (0.0 < float(eps) < 1.0):
        raise _fail(fn, "eps", eps, "must be a number in (0, 1)")
    return float(eps)


def _param(fn: str, name: str, p: object, x: np.ndarray) -> np.ndarray:
    p = _as_array(fn, name, p)
    _same_dtype(fn, ("x", x), (name, p))
    if p.size != x.shape[-1]:
        raise _fail(fn, f"{name}.shape", p.shape, f"needs {x.shape[-1]} elements (the last axis of x)")
    return _f32(p).reshape(-1)


def layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """Layer norm of ``x`` over its last axis with per-entry ``gamma`` and ``beta``; ``eps`` added to
    the variance (dimensionless)."""
    fn = "layer_norm"
    x = _as_array(fn, "x", x, min_ndim=1)
    g, b = _param(fn, "gamma", gamma, x), _param(fn, "beta", beta, x)
    out = _tr.layer_norm(_f32(x).reshape(-1, x.shape[-1]), g, b, _eps(fn, eps))
    return _store(out.reshape(x.shape), x.dtype)


def rms_norm(x: np.ndarray, gamma: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """RMS norm of ``x`` over its last axis with per-entry ``gamma``."""
    fn = "rms_norm"
    x = _as_array(fn, "x", x, min_ndim=1)
    g = _param(fn, "gamma", gamma, x)
    out = _tr.rms_norm(_f32(x).reshape(-1, x.shape[-1]), g, _eps(fn, eps))
    return _store(out.reshape(x.shape), x.dtype)


def pointwise(x: np.ndarray, function: str) -> np.ndarray:
    """``function`` ("gelu", "gelu_tanh" or "silu") of every element of ``x``."""
    fn = "pointwise"
    x = _as_array(fn, "x", x)
    if function not in _tr.POINTWISE_CODES:
        raise _fail(fn, "function", function, f"unknown; valid: {', '.join(_tr.POINTWISE_CODES)}")
    out = _tr.pointwise(_f32(x).reshape(-1), _tr.POINTWISE_CODES[function])
    return _store(out.reshape(x.shape), x.dtype)


def batch_matmul(a: np.ndarray, b: np.ndarray, transpose_b: bool = False, scale: float = 1.0) -> np.ndarray:
    """scale * a @ b (or a @ b^T over the last two axes) with equal batch dimensions, except the last
    one, where b's may divide a's (grouped-query attention: item j of b serves a's items j * g ..
    j * g + g - 1, g = a's / b's; see :class:`~smaug_fast.workload.core.BatchMatMul`); ``scale``
    dimensionless, e.g. 1/sqrt(head size) for attention scores."""
    fn = "batch_matmul"
    a = _as_array(fn, "a", a, min_ndim=2)
    b = _as_array(fn, "b", b, min_ndim=2)
    _same_dtype(fn, ("a", a), ("b", b))
    if b.ndim != a.ndim or a.shape[:-3] != b.shape[:-3] or (a.ndim > 2 and a.shape[-3] % b.shape[-3]):
        raise _fail(fn, "shapes", (a.shape, b.shape),
                    "need equal ranks and batch dimensions (b's last one may divide a's)")
    k_b = b.shape[-1] if transpose_b else b.shape[-2]
    if a.shape[-1] != k_b:
        raise _fail(fn, "shapes", (a.shape, b.shape), f"inner dimensions {a.shape[-1]} and {k_b} differ")
    batch = math.prod(a.shape[:-2])
    group = a.shape[-3] // b.shape[-3] if a.ndim > 2 else 1
    out = _tr.batch_matmul(_f32(a).reshape(batch, *a.shape[-2:]), _f32(b).reshape(batch // group, *b.shape[-2:]),
                           bool(transpose_b), _scale(fn, scale), np.int64(group))
    return _store(out.reshape(*a.shape[:-2], *out.shape[-2:]), a.dtype)


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, scale: float = 1.0, causal: bool = False) -> np.ndarray:
    """softmax(scale * q k^T [causally masked]) v over the last two axes, with grouped heads (k and v's
    head axis, the third from last, may divide q's), all in float32 as a fused kernel keeps them; the
    output in q's dtype (:class:`~smaug_fast.workload.core.Attention`)."""
    fn = "attention"
    q = _as_array(fn, "q", q, min_ndim=3)
    k = _as_array(fn, "k", k, min_ndim=3)
    v = _as_array(fn, "v", v, min_ndim=3)
    _same_dtype(fn, ("q", q), ("k", k), ("v", v))
    if (k.ndim != q.ndim or v.ndim != q.ndim or q.shape[:-3] != k.shape[:-3] or k.shape[:-1] != v.shape[:-1]
            or q.shape[-3] % k.shape[-3] or q.shape[-1] != k.shape[-1] or (causal and q.shape[-2] > k.shape[-2])):
        raise _fail(fn, "shapes", (q.shape, k.shape, v.shape),
                    "need (..., H, Tq, D), (..., KVH, Tk, D), (..., KVH, Tk, Dv) with KVH dividing H")
    group = np.int64(q.shape[-3] // k.shape[-3])
    batch = math.prod(q.shape[:-2])
    s = _tr.batch_matmul(_f32(q).reshape(batch, *q.shape[-2:]), _f32(k).reshape(batch // group, *k.shape[-2:]),
                         True, _scale(fn, scale), group)
    if causal:
        s = _tr.causal_mask(s)
    p = _act.activation(s.reshape(-1, s.shape[-1]), _act.SOFTMAX, 0.0, 0.0).reshape(s.shape)
    out = _tr.batch_matmul(p, _f32(v).reshape(batch // group, *v.shape[-2:]), False, 1.0, group)
    return _store(out.reshape(*q.shape[:-1], v.shape[-1]), q.dtype)


def _scale(fn: str, scale: object) -> float:
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not math.isfinite(scale):
        raise _fail(fn, "scale", scale, "must be a finite number")
    return float(scale)


def transpose(x: np.ndarray, perm: tuple[int, ...]) -> np.ndarray:
    """``x`` with its axes permuted (output axis d is input axis perm[d]), as a new contiguous array."""
    fn = "transpose"
    x = _as_array(fn, "x", x, floats=False, min_ndim=1)
    if not isinstance(perm, (list, tuple)) or sorted(perm) != list(range(x.ndim)):
        raise _fail(fn, "perm", perm, f"must be a permutation of 0..{x.ndim - 1}")
    flat = np.ascontiguousarray(x).reshape(-1)
    if flat.dtype == np.float16:  # Numba has no float16: a pure data move, so permute the bits
        flat = flat.view(np.uint16)
    out = _tr.transpose_nd(flat, np.array(x.shape, dtype=np.int64), np.array(perm, dtype=np.int64))
    return out.view(x.dtype).reshape(tuple(x.shape[p] for p in perm))


def embedding(indices: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Rows of the V x H ``table`` at the integer ``indices`` (each in [0, V)): indices.shape + (H,)."""
    fn = "embedding"
    idx = _as_array(fn, "indices", indices, floats=False)
    if idx.dtype.kind not in "iu":
        raise _fail(fn, "indices.dtype", idx.dtype.name, "must be an integer type")
    table = _as_array(fn, "table", table, ndim=2)
    bad = (idx < 0) | (idx >= table.shape[0])
    if bad.any():
        raise _fail(fn, "indices", int(idx[bad].flat[0]), f"out of range for a vocabulary of {table.shape[0]}")
    out = _tr.embedding(np.ascontiguousarray(idx, dtype=np.int64).reshape(-1), _f32(table))
    return _store(out.reshape(*idx.shape, table.shape[1]), table.dtype)


def rotary(x: np.ndarray, offset: int = 0, theta: float = 10000.0) -> np.ndarray:
    """Rotary position embedding of ``x`` (..., T, D), D even, positions offset + t, base ``theta``."""
    fn = "rotary"
    x = _as_array(fn, "x", x, min_ndim=2)
    if x.shape[-1] % 2:
        raise _fail(fn, "x.shape", x.shape, "needs an even last dimension")
    if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)) or offset < 0:
        raise _fail(fn, "offset", offset, "must be an integer >= 0")
    if isinstance(theta, bool) or not isinstance(theta, (int, float)) or not theta > 1.0:
        raise _fail(fn, "theta", theta, "must be a number > 1")
    out = _tr.rotary(_f32(x).reshape(-1, *x.shape[-2:]), int(offset), float(theta))
    return _store(out.reshape(x.shape), x.dtype)


def causal_mask(x: np.ndarray) -> np.ndarray:
    """Scores ``x`` (..., Tq, Tk), Tq <= Tk, with -inf where key k > q + Tk - Tq."""
    fn = "causal_mask"
    x = _as_array(fn, "x", x, min_ndim=2)
    if x.shape[-2] > x.shape[-1]:
        raise _fail(fn, "x.shape", x.shape, "needs queries <= keys (..., Tq, Tk)")
    out = _tr.causal_mask(_f32(x).reshape(-1, *x.shape[-2:]))
    return _store(out.reshape(x.shape), x.dtype)


#: Largest magnitude of a symmetric int8 code (-127..127; -128 unused, as in LLM.int8 and GPTQ).
INT8_MAX = 127


def quantize_int8(w: np.ndarray, dtype: str | np.dtype | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row int8 quantization of a 2-D weight ``w`` (rows: output channels, or the rows of
    an embedding table): ``(q, scale)`` with ``scale[r] = max |w[r]| / 127`` stored in ``dtype``
    (default w's; 1 for an all-zero row) and ``q = round(w / scale)`` (to nearest even, within
    [-127, 127]), so that ``|q x scale - w| <= scale / 2`` per element (weight-only quantization, as
    LLM.int8()'s vector-wise scaling: Dettmers et al., NeurIPS 2022, §3.1)."""
    fn = "quantize_int8"
    w = _as_array(fn, "w", w, ndim=2)
    dt = np.dtype(w.dtype if dtype is None else dtype)
    if dt.name not in ("float16", "float32"):
        raise _fail(fn, "dtype", dt.name, "must be float16 or float32 (the dtype of the scales)")
    w32 = w.astype(np.float32)
    peak = np.abs(w32).max(axis=1)
    scale = np.where(peak > 0, peak / INT8_MAX, 1.0).astype(dt)
    q = np.clip(np.rint(w32 / scale.astype(np.float32)[:, None]), -INT8_MAX, INT8_MAX).astype(np.int8)
    return q, scale


def dequantize_int8(q: np.ndarray, scale: np.ndarray, dtype: str | np.dtype) -> np.ndarray:
    """``q x scale`` per row (fp32 arithmetic), rounded once to ``dtype``: the weights an accelerator's
    scratchpad holds after dequantizing int8 weights on load."""
    fn = "dequantize_int8"
    q = _as_array(fn, "q", q, floats=False, ndim=2)
    if q.dtype != np.int8:
        raise _fail(fn, "q.dtype", q.dtype.name, "must be int8")
    scale = _as_array(fn, "scale", scale, ndim=1)
    if scale.shape != (q.shape[0],):
        raise _fail(fn, "scale.shape", scale.shape, f"needs one scale per row of q ({q.shape[0]},)")
    return _store(q.astype(np.float32) * scale.astype(np.float32)[:, None], np.dtype(dtype))
