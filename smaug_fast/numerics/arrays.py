"""Array-level numerics: one validating function per operator, calling the Numba kernels.

Every function takes NumPy arrays, checks shapes, dtypes and parameters, and raises
:class:`~smaug_fast.errors.WorkloadError` naming the argument and its value, so that nothing invalid
reaches a jitted kernel. Arithmetic operators accept float32 and float16 (all array arguments of one
call share a dtype). float16 follows SMAUG's SMV backend: fp16 in memory, fp32 arithmetic and
accumulation, the result rounded to fp16 once, when it is stored. Data-movement operators accept any
dtype and copy bits.

Layouts: 4-D activations are "NHWC" (SMAUG's SMV backend, the default) or "NCHW" (its Reference
backend). Convolution weights are K x R x S x C/groups for NHWC and K x C/groups x R x S for NCHW;
inner-product weights are K x C (output = x @ w.T).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

import numpy as np

from ..errors import WorkloadError, describe
from ..kernels import activation as _act
from ..kernels import conv as _conv
from ..kernels import elementwise as _elt
from ..kernels import gemm as _gemm
from ..kernels import movement as _mov
from ..kernels import norm as _norm
from ..kernels import pool as _pool
from ..workload.core import ACTIVATIONS

FLOAT_DTYPES = ("float32", "float16")

#: Same-size unsigned integer views: the bit-copying kernels compile once per element size.
_BIT_VIEWS = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


# --------------------------------------------------------------------------------------------------
# validation helpers
# --------------------------------------------------------------------------------------------------


def _fail(fn: str, field: str, value: object, problem: str) -> WorkloadError:
    return WorkloadError(f"{fn}: {field} = {describe(value)}: {problem}")


def _as_array(
    fn: str, name: str, value: object, *, ndim: int | None = None, floats: bool = True, min_ndim: int = 0
) -> np.ndarray:
    """``value`` as a NumPy array, checked: a float32/float16 array (``floats``; else any type the
    bit-copying kernels take) of rank ``ndim`` (or at least ``min_ndim``), not empty."""
    if not isinstance(value, np.ndarray):
        raise _fail(fn, name, type(value).__name__, "must be a NumPy array")
    if floats and value.dtype.name not in FLOAT_DTYPES:
        raise _fail(fn, f"{name}.dtype", value.dtype.name, f"must be one of {', '.join(FLOAT_DTYPES)}")
    if not floats and not (value.dtype.kind in "biu" or value.dtype.name in ("float16", "float32", "float64")):
        raise _fail(fn, f"{name}.dtype", value.dtype.name, "must be bool, an integer type or float16/32/64")
    if ndim is not None and value.ndim != ndim:
        raise _fail(fn, f"{name}.shape", value.shape, f"must have {ndim} dimensions")
    if value.ndim < min_ndim:
        raise _fail(fn, f"{name}.shape", value.shape, f"must have at least {min_ndim} dimension(s)")
    if value.size == 0:
        raise _fail(fn, f"{name}.shape", value.shape, "must not be empty")
    return value


def _same_dtype(fn: str, first: tuple[str, np.ndarray], *others: tuple[str, np.ndarray]) -> None:
    name0, a0 = first
    for name, a in others:
        if a.dtype != a0.dtype:
            raise _fail(fn, f"{name}.dtype", a.dtype.name, f"must match {name0}.dtype {a0.dtype.name}")


def _f32(a: np.ndarray) -> np.ndarray:
    """A C-contiguous float32 version of ``a`` (no copy when it already is one)."""
    return np.ascontiguousarray(a, dtype=np.float32)


def _store(result: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round a float32 result to the storage dtype (float16 rounds once here, as SMV stores it)."""
    return result if result.dtype == dtype else result.astype(dtype)


def _int(fn: str, field: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise _fail(fn, field, value, "must be an integer")
    if value < minimum:
        raise _fail(fn, field, value, f"must be >= {minimum}")
    return int(value)


def _pair(fn: str, field: str, value: object, minimum: int = 1) -> tuple[int, int]:
    """(rows, cols) from an int or a pair of ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        v = _int(fn, field, value, minimum)
        return v, v
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise _fail(fn, field, value, "must be an integer or a pair of integers")
    return _int(fn, f"{field}[0]", value[0], minimum), _int(fn, f"{field}[1]", value[1], minimum)


def _pads(fn: str, value: object) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) from an int, a (rows, cols) pair or a 4-tuple of ints >= 0."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        v = _int(fn, "pads", value, 0)
        return v, v, v, v
    if not isinstance(value, (tuple, list)) or len(value) not in (2, 4):
        raise _fail(fn, "pads", value, "must be an integer, (rows, cols) or (top, bottom, left, right)")
    items = [_int(fn, f"pads[{i}]", v, 0) for i, v in enumerate(value)]
    if len(items) == 2:
        return items[0], items[0], items[1], items[1]
    return items[0], items[1], items[2], items[3]


def _layout(fn: str, layout: object, allowed: tuple[str, ...] = ("NHWC", "NCHW")) -> str:
    if layout not in allowed:
        raise _fail(fn, "layout", layout, f"must be one of {', '.join(allowed)}")
    return layout  # type: ignore[return-value]


def activation_code(fn: str, function: object, params: Sequence[float]) -> tuple[int, float, float]:
    """Kernel code and two parameters of an activation (None: none), SMAUG's defaults filled in."""
    if function is None:
        if len(params):
            raise _fail(fn, "activation_params", tuple(params), "given without an activation")
        return _act.NONE, 0.0, 0.0
    if function not in ACTIVATIONS:
        raise _fail(fn, "activation", function, f"unknown; valid: {', '.join(ACTIVATIONS)}")
    defaults = ACTIVATIONS[function]
    values = tuple(params) if len(params) else tuple(v for _, v in defaults)
    if len(values) != len(defaults):
        names = [n for n, _ in defaults]
        raise _fail(fn, "activation_params", tuple(params), f"{function} takes {len(defaults)} {names}")
    floats = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
            raise _fail(fn, f"activation_params[{i}]", v, "must be a finite number")
        floats.append(float(v))
    if function == "hard_tanh" and floats[0] > floats[1]:
        raise _fail(fn, "activation_params", tuple(values), "hard_tanh needs min <= max")
    floats += [0.0] * (2 - len(floats))
    return _act.CODES[function], floats[0], floats[1]


def _check_window(
    fn: str, field: str, value: object, size: int, kernel: int, before: int, after: int, axis: str
) -> None:
    """The window must fit in the padded extent (so that the output has at least one row/column)."""
    padded = size + before + after
    if kernel > padded:
        raise _fail(fn, field, value, f"window {kernel} is larger than the padded {axis} extent {padded}")


# --------------------------------------------------------------------------------------------------
# convolution, inner product, pooling, batch norm
# --------------------------------------------------------------------------------------------------


def conv2d(
    x: np.ndarray,
    w: np.ndarray,
    *,
    stride: int | Sequence[int] = 1,
    pads: int | Sequence[int] = 0,
    groups: int = 1,
    layout: str = "NHWC",
    activation: str | None = None,
    activation_params: Sequence[float] = (),
) -> np.ndarray:
    """2-D convolution (cross-correlation) with explicit zero pads and an optional fused activation.

    x: N x H x W x C (``layout`` "NHWC") or N x C x H x W ("NCHW"). w: K x R x S x C/groups (NHWC)
    or K x C/groups x R x S (NCHW). ``pads``: int, (rows, cols) or (top, bottom, left, right).
    ``groups`` == C is a depthwise convolution (K = C x multiplier). Returns N x OH x OW x K (NHWC) or
    N x K x OH x OW, OH = (H + top + bottom - R) // stride + 1, in x's dtype.
    """
    fn = "conv2d"
    layout = _layout(fn, layout)
    x = _as_array(fn, "x", x, ndim=4)
    w = _as_array(fn, "w", w, ndim=4)
    _same_dtype(fn, ("x", x), ("w", w))
    sh, sw = _pair(fn, "stride", stride)
    pt, pb, pl, pr = _pads(fn, pads)
    groups = _int(fn, "groups", groups, 1)
    code, p0, p1 = activation_code(fn, activation, activation_params)
    if layout == "NHWC":
        _, h, wi, c = x.shape
        k, r, s, cg = w.shape
    else:
        _, c, h, wi = x.shape
        k, cg, r, s = w.shape
    if c % groups:
        raise _fail(fn, "groups", groups, f"must divide the {c} input channels of x.shape {x.shape}")
    if k % groups:
        raise _fail(fn, "groups", groups, f"must divide the {k} output channels of w.shape {w.shape}")
    if cg != c // groups:
        problem = f"needs {c // groups} channels per group ({c} / groups {groups}) for {layout}"
        raise _fail(fn, "w.shape", w.shape, problem)
    _check_window(fn, "w.shape", w.shape, h, r, pt, pb, "row")
    _check_window(fn, "w.shape", w.shape, wi, s, pl, pr, "column")
    kernel = _conv.conv2d_nhwc if layout == "NHWC" else _conv.conv2d_nchw
    out = kernel(_f32(x), _f32(w), sh, sw, pt, pb, pl, pr, groups, code, p0, p1)
    return _store(out, x.dtype)


def inner_product(
    x: np.ndarray, w: np.ndarray, *, activation: str | None = None, activation_params: Sequence[float] = ()
) -> np.ndarray:
    """Fully connected layer: x (N x C) times w (K x C, SMAUG's NC weight order) transposed -> N x K."""
    fn = "inner_product"
    x = _as_array(fn, "x", x, ndim=2)
    w = _as_array(fn, "w", w, ndim=2)
    _same_dtype(fn, ("x", x), ("w", w))
    if w.shape[1] != x.shape[1]:
        raise _fail(fn, "w.shape", w.shape, f"needs {x.shape[1]} columns to match x.shape {x.shape}")
    code, p0, p1 = activation_code(fn, activation, activation_params)
    return _store(_gemm.inner_product(_f32(x), _f32(w), code, p0, p1), x.dtype)


def _pool_args(fn: str, x, pool_size, stride, pads, layout):
    layout = _layout(fn, layout)
    x = _as_array(fn, "x", x, ndim=4)
    r, s = _pair(fn, "pool_size", pool_size)
    sh, sw = (r, s) if stride is None else _pair(fn, "stride", stride)
    pt, pb, pl, pr = _pads(fn, pads)
    if max(pt, pb) >= r or max(pl, pr) >= s:
        raise _fail(fn, "pads", (pt, pb, pl, pr), f"each pad must be smaller than the pool window {(r, s)}")
    h, wi = (x.shape[1], x.shape[2]) if layout == "NHWC" else (x.shape[2], x.shape[3])
    _check_window(fn, "pool_size", pool_size, h, r, pt, pb, "row")
    _check_window(fn, "pool_size", pool_size, wi, s, pl, pr, "column")
    return x, layout, (r, s, sh, sw, pt, pb, pl, pr)


def max_pool(
    x: np.ndarray,
    pool_size: int | Sequence[int],
    *,
    stride: int | Sequence[int] | None = None,
    pads: int | Sequence[int] = 0,
    layout: str = "NHWC",
) -> np.ndarray:
    """Max pooling; padding counts as -inf. ``stride`` defaults to the pool size (SMAUG's pools)."""
    x, layout, args = _pool_args("max_pool", x, pool_size, stride, pads, layout)
    kernel = _pool.max_pool_nhwc if layout == "NHWC" else _pool.max_pool_nchw
    return _store(kernel(_f32(x), *args), x.dtype)


def avg_pool(
    x: np.ndarray,
    pool_size: int | Sequence[int],
    *,
    stride: int | Sequence[int] | None = None,
    pads: int | Sequence[int] = 0,
    layout: str = "NHWC",
    count_include_pad: bool = True,
) -> np.ndarray:
    """Average pooling. ``count_include_pad`` True divides by the whole window R*S, padding counted as
    zeros (SMAUG's average pool; PyTorch's default); False divides by the in-bounds elements only."""
    fn = "avg_pool"
    if not isinstance(count_include_pad, (bool, np.bool_)):
        raise _fail(fn, "count_include_pad", count_include_pad, "must be True or False")
    x, layout, args = _pool_args(fn, x, pool_size, stride, pads, layout)
    kernel = _pool.avg_pool_nhwc if layout == "NHWC" else _pool.avg_pool_nchw
    return _store(kernel(_f32(x), *args, bool(count_include_pad)), x.dtype)


def batch_norm(
    x: np.ndarray,
    mean: np.ndarray,
    inv_std: np.ndarray,
    gamma: np.ndarray,
    beta: np.ndarray,
    *,
    layout: str = "NHWC",
    activation: str | None = None,
    activation_params: Sequence[float] = (),
) -> np.ndarray:
    """Inference batch norm: (x - mean) * inv_std * gamma + beta, per channel, then the activation.

    ``inv_std`` is 1 / sqrt(var + eps), already computed: the form in which SMAUG's batch-norm
    operator takes its variance input. Each parameter holds C values in any shape (SMAUG: 1 x C).
    ``layout``: "NHWC" and "NC" have channels last, "NCHW" on axis 1.
    """
    fn = "batch_norm"
    layout = _layout(fn, layout, ("NHWC", "NCHW", "NC"))
    x = _as_array(fn, "x", x, ndim=len(layout))
    params = {"mean": mean, "inv_std": inv_std, "gamma": gamma, "beta": beta}
    c = x.shape[1] if layout == "NCHW" else x.shape[-1]
    flat = {}
    for name, p in params.items():
        p = _as_array(fn, name, p)
        _same_dtype(fn, ("x", x), (name, p))
        if p.size != c:
            raise _fail(fn, f"{name}.shape", p.shape, f"needs {c} elements, one per channel of x.shape {x.shape}")
        flat[name] = _f32(p.reshape(c))
    code, p0, p1 = activation_code(fn, activation, activation_params)
    args = (flat["mean"], flat["inv_std"], flat["gamma"], flat["beta"], code, p0, p1)
    if layout == "NCHW":
        out = _norm.batch_norm_nchw(_f32(x), *args)
    else:
        out = _norm.batch_norm_last_axis(_f32(x).reshape(-1, c), *args).reshape(x.shape)
    return _store(out, x.dtype)


# --------------------------------------------------------------------------------------------------
# element-wise
# --------------------------------------------------------------------------------------------------


def activation(x: np.ndarray, function: str, *params: float) -> np.ndarray:
    """Activation ``function`` (relu, lrelu, elu, selu, tanh, hard_tanh, sigmoid, softmax) with its
    parameters (SMAUG's defaults when none are given). Softmax normalizes over the last axis."""
    fn = "activation"
    x = _as_array(fn, "x", x, min_ndim=1)
    if function is None:
        raise _fail(fn, "function", function, f"must be one of {', '.join(ACTIVATIONS)}")
    code, p0, p1 = activation_code(fn, function, params)
    out = _act.activation(_f32(x).reshape(-1, x.shape[-1]), code, p0, p1)
    return _store(out.reshape(x.shape), x.dtype)


def _broadcast(fn: str, a: np.ndarray, b: np.ndarray) -> tuple[int, ...]:
    try:
        return np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise _fail(fn, "shapes", (a.shape, b.shape), "do not broadcast") from None


def _strides(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> np.ndarray:
    """Element strides of a row-major array of ``shape`` in the broadcast ``out_shape`` (0: broadcast)."""
    full = (1,) * (len(out_shape) - len(shape)) + tuple(shape)
    strides = np.zeros(len(out_shape), dtype=np.int64)
    step = 1
    for d in range(len(full) - 1, -1, -1):
        strides[d] = 0 if full[d] == 1 else step
        step *= full[d]
    return strides


def eltwise(a: np.ndarray, b: np.ndarray, function: str) -> np.ndarray:
    """Binary operator with NumPy broadcasting: "add", "mul" (result in the inputs' dtype) or the
    comparisons "less", "less_equal", "greater", "greater_equal" (result bool)."""
    fn = "eltwise"
    if function not in _elt.CODES:
        raise _fail(fn, "function", function, f"unknown; valid: {', '.join(_elt.CODES)}")
    a = _as_array(fn, "a", a)
    b = _as_array(fn, "b", b)
    _same_dtype(fn, ("a", a), ("b", b))
    shape = _broadcast(fn, a, b)
    op = _elt.CODES[function]
    arith = function in ("add", "mul")
    af, bf = _f32(a).reshape(-1), _f32(b).reshape(-1)
    if a.shape == b.shape:
        out = (_elt.arith_same_shape if arith else _elt.compare_same_shape)(af, bf, op)
    else:
        kernel = _elt.arith_broadcast if arith else _elt.compare_broadcast
        out = kernel(af, _strides(a.shape, shape), bf, _strides(b.shape, shape), np.array(shape, dtype=np.int64), op)
    out = out.reshape(shape)
    return _store(out, a.dtype) if arith else out


def add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a + b with broadcasting."""
    return eltwise(a, b, "add")


def mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a * b with broadcasting."""
    return eltwise(a, b, "mul")


# --------------------------------------------------------------------------------------------------
# data movement
# --------------------------------------------------------------------------------------------------


def _bits(a: np.ndarray) -> np.ndarray:
    """The C-contiguous, native-order data of ``a`` seen as unsigned integers of the same size.

    The data-movement kernels only copy elements, so one compiled version per element size serves
    every dtype (and float16, which Numba cannot type, passes as uint16).
    """
    a = np.ascontiguousarray(a)
    if not a.dtype.isnative:  # Numba takes native byte order only
        a = a.astype(a.dtype.newbyteorder("="))
    return a.view(_BIT_VIEWS[a.dtype.itemsize])


def _unbits(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Undo _bits: the same bits as ``dtype`` (in native byte order)."""
    return a.view(dtype.newbyteorder("="))


def _axis(fn: str, axis: object, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
        raise _fail(fn, "axis", axis, f"must be an integer in [-{ndim}, {ndim})")
    return operator.index(axis) % ndim


def _as_3d(a: np.ndarray, axis: int) -> np.ndarray:
    """The (outer, axis, inner) view of a C-contiguous array."""
    outer = math.prod(a.shape[:axis])
    return a.reshape(outer, a.shape[axis], math.prod(a.shape[axis + 1 :]))


def concat(arrays: Sequence[np.ndarray], axis: int) -> np.ndarray:
    """Concatenate along ``axis``; every other dimension and the dtype must agree."""
    fn = "concat"
    if isinstance(arrays, np.ndarray) or not isinstance(arrays, (list, tuple)) or not arrays:
        raise _fail(fn, "arrays", type(arrays).__name__, "must be a non-empty list of arrays")
    first = _as_array(fn, "arrays[0]", arrays[0], floats=False)
    axis = _axis(fn, axis, first.ndim)
    for i, a in enumerate(arrays):
        a = _as_array(fn, f"arrays[{i}]", a, floats=False)
        _same_dtype(fn, ("arrays[0]", first), (f"arrays[{i}]", a))
        if a.ndim != first.ndim or any(d != e for j, (d, e) in enumerate(zip(a.shape, first.shape)) if j != axis):
            problem = f"does not match arrays[0].shape {first.shape} off axis {axis}"
            raise _fail(fn, f"arrays[{i}].shape", a.shape, problem)
    shape = list(first.shape)
    shape[axis] = sum(a.shape[axis] for a in arrays)
    bits = _bits(first)
    out = np.empty(shape, dtype=bits.dtype)
    out3 = _as_3d(out, axis)
    offset = 0
    for a in arrays:
        _mov.copy_into_axis(out3, _as_3d(_bits(a), axis), offset)
        offset += a.shape[axis]
    return _unbits(out, first.dtype)


def split(x: np.ndarray, sizes: Sequence[int], axis: int) -> list[np.ndarray]:
    """Split along ``axis`` into pieces of ``sizes`` (which must add up to that axis' extent)."""
    fn = "split"
    x = _as_array(fn, "x", x, floats=False)
    axis = _axis(fn, axis, x.ndim)
    if not isinstance(sizes, (list, tuple)) or not sizes:
        raise _fail(fn, "sizes", sizes, "must be a non-empty list of integers")
    sizes = [_int(fn, f"sizes[{i}]", s, 1) for i, s in enumerate(sizes)]
    if sum(sizes) != x.shape[axis]:
        raise _fail(fn, "sizes", tuple(sizes), f"add up to {sum(sizes)}, not the {x.shape[axis]} of axis {axis}")
    x3 = _as_3d(_bits(x), axis)
    pieces, offset = [], 0
    for s in sizes:
        shape = list(x.shape)
        shape[axis] = s
        pieces.append(_unbits(_mov.take_axis(x3, offset, s).reshape(shape), x.dtype))
        offset += s
    return pieces


#: Layout pairs that reorder swaps, with the axes that stay in front.
_REORDERS = {
    ("NCHW", "NHWC"): 1,
    ("NHWC", "NCHW"): 1,
    ("NC", "CN"): 0,
    ("CN", "NC"): 0,
    ("NTC", "NCT"): 1,
    ("NCT", "NTC"): 1,
}


def reorder(x: np.ndarray, source: str, target: str) -> np.ndarray:
    """Change the layout (NCHW <-> NHWC, NC <-> CN, NTC <-> NCT), or flatten a 4-D tensor to "NC"
    (N x rest, in the source layout's element order, as SMAUG's flatten does)."""
    fn = "reorder"
    if target == "NC" and source in ("NCHW", "NHWC"):
        x = _as_array(fn, "x", x, ndim=4, floats=False)
        return flatten(x)
    if (source, target) not in _REORDERS:
        pairs = ", ".join(f"{s}->{t}" for s, t in _REORDERS)
        raise _fail(fn, "(source, target)", (source, target), f"unsupported; valid: {pairs}, NCHW/NHWC->NC")
    x = _as_array(fn, "x", x, ndim=len(source), floats=False)
    front = _REORDERS[(source, target)]
    if source in ("NCHW", "NCT"):  # channels move from axis 1 to last: (N, C, rest) -> (N, rest, C)
        view = x.reshape(math.prod(x.shape[:front]), x.shape[front], -1)
    elif source in ("NHWC", "NTC"):  # channels move from last to axis 1: (N, rest, C) -> (N, C, rest)
        view = x.reshape(math.prod(x.shape[:front]), -1, x.shape[-1])
    else:  # NC <-> CN: a plain transpose
        view = x.reshape(1, x.shape[0], x.shape[1])
    out = _mov.swap_last_two(_bits(view))
    shape = tuple(x.shape[source.index(letter)] for letter in target)
    return _unbits(out, x.dtype).reshape(shape)


def flatten(x: np.ndarray) -> np.ndarray:
    """N x ... -> N x (rest), elements in the stored (row-major) order."""
    x = _as_array("flatten", "x", x, floats=False, min_ndim=1)
    return np.ascontiguousarray(x).reshape(x.shape[0], -1).copy()


def reshape(x: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """The same elements in row-major order with a new ``shape`` (a copy)."""
    fn = "reshape"
    x = _as_array(fn, "x", x, floats=False)
    if not isinstance(shape, (list, tuple)):
        raise _fail(fn, "shape", shape, "must be a sequence of positive integers")
    shape = tuple(_int(fn, f"shape[{i}]", d, 1) for i, d in enumerate(shape))
    if math.prod(shape) != x.size:
        raise _fail(fn, "shape", shape, f"has {math.prod(shape)} elements, x.shape {x.shape} has {x.size}")
    return np.ascontiguousarray(x).reshape(shape).copy()


def padding(x: np.ndarray, pads: Sequence[int]) -> np.ndarray:
    """Zero padding; ``pads`` = (before, after) for each dimension, flattened (SMAUG's padding op)."""
    fn = "padding"
    x = _as_array(fn, "x", x, floats=False, min_ndim=1)
    if not isinstance(pads, (list, tuple)) or len(pads) != 2 * x.ndim:
        raise _fail(fn, "pads", pads, f"needs 2 x {x.ndim} = {2 * x.ndim} integers (before, after per dimension)")
    p = np.array([_int(fn, f"pads[{i}]", v, 0) for i, v in enumerate(pads)], dtype=np.int64)
    shape = np.array(x.shape, dtype=np.int64)
    out = _mov.pad_nd(_bits(x).reshape(-1), shape, p[0::2].copy(), p[1::2].copy())
    return _unbits(out, x.dtype).reshape(tuple(int(v) for v in shape + p[0::2] + p[1::2]))


def repeat(x: np.ndarray, multiples: Sequence[int]) -> np.ndarray:
    """Tile ``x`` ``multiples[d]`` times along each dimension d (NumPy's ``tile`` with full reps)."""
    fn = "repeat"
    x = _as_array(fn, "x", x, floats=False, min_ndim=1)
    if not isinstance(multiples, (list, tuple)) or len(multiples) != x.ndim:
        raise _fail(fn, "multiples", multiples, f"needs {x.ndim} integers, one per dimension of x.shape {x.shape}")
    m = np.array([_int(fn, f"multiples[{i}]", v, 1) for i, v in enumerate(multiples)], dtype=np.int64)
    out = _mov.repeat_nd(_bits(x).reshape(-1), np.array(x.shape, dtype=np.int64), m)
    return _unbits(out, x.dtype).reshape(tuple(d * k for d, k in zip(x.shape, m.tolist())))
