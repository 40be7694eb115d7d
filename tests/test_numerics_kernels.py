"""Every numeric kernel (through its validating wrapper) against the slow references of tests/naive.py.

Shapes and parameters come from hypothesis: strides that do not divide the input, 1x1 kernels and
kernels as large as the padded input, batches > 1, groups and depthwise, float32 and float16. The
whole module is marked ``boundscheck``: ``test_kernels_under_boundscheck`` (slow) reruns it with
``NUMBA_BOUNDSCHECK=1`` in a subprocess so that an out-of-bounds access in a kernel raises.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from hypothesis import given
from hypothesis import strategies as st

from smaug_fast import numerics

import naive

pytestmark = pytest.mark.boundscheck

DTYPES = st.sampled_from(["float32", "float16"])
LAYOUTS = st.sampled_from(["NHWC", "NCHW"])


def close(ours: np.ndarray, ref: np.ndarray, dtype: str, *, terms: int = 1) -> None:
    """float32: float32 accumulation error; float16: one rounding to fp16 (11-bit significand) on top.

    The absolute part scales with the largest reference value and the number of summed terms.
    """
    assert ours.dtype == np.dtype(dtype)
    assert ours.shape == ref.shape
    scale = max(1.0, float(np.max(np.abs(ref))) if ref.size else 1.0)
    if dtype == "float16":
        rtol, atol = 2.0**-10, 2.0**-10 * scale
    else:
        rtol, atol = 1e-5, 1e-6 * scale * max(1, terms) ** 0.5
    np.testing.assert_allclose(ours.astype(np.float64), ref, rtol=rtol, atol=atol)


def rand(rng: np.random.Generator, shape, dtype: str, low=-1.0, high=1.0) -> np.ndarray:
    return rng.uniform(low, high, shape).astype(dtype)


# --------------------------------------------------------------------------------------------------
# convolution
# --------------------------------------------------------------------------------------------------


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 3))
    cg = draw(st.integers(1, 3))
    kg = draw(st.integers(1, 3))
    r = draw(st.integers(1, 4))
    s = draw(st.integers(1, 4))
    pads = tuple(draw(st.integers(0, 2)) for _ in range(4))
    h = draw(st.integers(max(1, r - pads[0] - pads[1]), 8))
    w = draw(st.integers(max(1, s - pads[2] - pads[3]), 8))
    return {
        "n": draw(st.integers(1, 3)),
        "c": groups * cg,
        "k": groups * kg,
        "groups": groups,
        "h": h,
        "w": w,
        "r": r,
        "s": s,
        "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "pads": pads,
        "layout": draw(LAYOUTS),
        "dtype": draw(DTYPES),
        "seed": draw(st.integers(0, 2**16)),
    }


def run_conv(case, **extra):
    rng = np.random.default_rng(case["seed"])
    n, c, k, h, w, r, s, g = (case[key] for key in ("n", "c", "k", "h", "w", "r", "s", "groups"))
    layout, dtype = case["layout"], case["dtype"]
    xshape = (n, h, w, c) if layout == "NHWC" else (n, c, h, w)
    wshape = (k, r, s, c // g) if layout == "NHWC" else (k, c // g, r, s)
    x, wt = rand(rng, xshape, dtype), rand(rng, wshape, dtype)
    ours = numerics.conv2d(x, wt, stride=case["stride"], pads=case["pads"], groups=g, layout=layout, **extra)
    ref = naive.conv2d(x, wt, case["stride"], case["pads"], g, layout)
    return ours, ref, x, wt


@given(conv_cases())
def test_conv2d_matches_naive(case):
    ours, ref, _, _ = run_conv(case)
    close(ours, ref, case["dtype"], terms=case["r"] * case["s"] * case["c"])


@given(conv_cases(), st.sampled_from(["relu", "lrelu", "elu", "selu", "tanh", "hard_tanh", "sigmoid", "softmax"]))
def test_conv2d_fused_activation(case, function):
    case = {**case, "dtype": "float32"}
    ours, ref, _, _ = run_conv(case, activation=function)
    params = dict(numerics.arrays.ACTIVATIONS)[function]
    close(ours, naive.activation(ref, function, [v for _, v in params]), "float32", terms=case["c"] * 16)


@given(
    n=st.integers(1, 2),
    c=st.integers(1, 6),
    multiplier=st.integers(1, 3),
    hw=st.integers(1, 7),
    kernel=st.integers(1, 3),
    stride=st.integers(1, 3),
    pad=st.integers(0, 1),
    layout=LAYOUTS,
    dtype=DTYPES,
)
def test_depthwise_conv2d(n, c, multiplier, hw, kernel, stride, pad, layout, dtype):
    """groups == C: one input channel per group (the direct-loop path), with a channel multiplier."""
    hw = max(hw, kernel - 2 * pad)
    case = dict(n=n, c=c, k=c * multiplier, groups=c, h=hw, w=hw, r=kernel, s=kernel, stride=(stride, stride),
                pads=(pad,) * 4, layout=layout, dtype=dtype, seed=n * 100 + c)
    ours, ref, _, _ = run_conv(case)
    close(ours, ref, dtype, terms=kernel * kernel)


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
@pytest.mark.parametrize(
    "h, w, r, s, stride, pads",
    [
        (5, 5, 1, 1, (1, 1), (0, 0, 0, 0)),  # 1x1: a plain GEMM
        (6, 4, 1, 1, (2, 3), (0, 0, 0, 0)),  # 1x1 with strides that do not divide the input
        (5, 7, 5, 7, (1, 1), (0, 0, 0, 0)),  # kernel == input: one output pixel
        (3, 3, 5, 5, (1, 1), (1, 1, 1, 1)),  # kernel == padded input
        (7, 7, 3, 3, (3, 3), (0, 1, 1, 0)),  # asymmetric pads, stride does not divide
        (8, 8, 2, 2, (1, 1), (1, 0, 1, 0)),  # SMAUG SAME for an even kernel (extra pad on top/left)
    ],
)
def test_conv2d_edge_shapes(layout, h, w, r, s, stride, pads):
    case = dict(n=2, c=3, k=4, groups=1, h=h, w=w, r=r, s=s, stride=stride, pads=pads, layout=layout,
                dtype="float32", seed=7)
    ours, ref, _, _ = run_conv(case)
    close(ours, ref, "float32", terms=r * s * 3)


def test_conv2d_large_im2col_is_blocked():
    """More im2col elements than one block holds: the row-block loop must cover every output row."""
    from smaug_fast.kernels import conv as kconv

    rng = np.random.default_rng(3)
    depth = 3 * 3 * 64
    rows = kconv.IM2COL_BLOCK_ELEMS // depth + 37  # one full block plus a partial one
    side = int(np.ceil(np.sqrt(rows)))
    x = rand(rng, (1, side, side, 64), "float32")
    w = rand(rng, (5, 3, 3, 64), "float32")
    ours = numerics.conv2d(x, w, pads=1)
    xt = np.pad(x[0].astype(np.float64), ((1, 1), (1, 1), (0, 0)))
    for k in range(5):  # scipy: an independent correlation
        ref = scipy.signal.correlate(xt, w[k].astype(np.float64), mode="valid")[:, :, 0]
        np.testing.assert_allclose(ours[0, :, :, k], ref, rtol=1e-4, atol=1e-4)


@given(conv_cases())
def test_conv2d_matches_scipy_correlate(case):
    """An independent implementation: scipy.signal.correlate per (image, output map, input channel)."""
    case = {**case, "dtype": "float32"}
    ours, _, x, w = run_conv(case)
    x64 = naive.to_nchw(x.astype(np.float64), case["layout"])
    w64 = w.astype(np.float64) if case["layout"] == "NCHW" else w.astype(np.float64).transpose(0, 3, 1, 2)
    pt, pb, pl, pr = case["pads"]
    sh, sw = case["stride"]
    xp = np.pad(x64, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    kg, cg = case["k"] // case["groups"], case["c"] // case["groups"]
    ref = np.zeros(naive.to_nchw(ours, case["layout"]).shape)
    for n in range(case["n"]):
        for k in range(case["k"]):
            g = k // kg
            full = sum(
                scipy.signal.correlate(xp[n, g * cg + c], w64[k, c], mode="valid") for c in range(cg)
            )
            ref[n, k] = full[::sh, ::sw]
    close(ours, naive.from_nchw(ref, case["layout"]), "float32", terms=case["r"] * case["s"] * case["c"])


# --------------------------------------------------------------------------------------------------
# inner product, pooling, batch norm
# --------------------------------------------------------------------------------------------------


@given(n=st.integers(1, 4), c=st.integers(1, 40), k=st.integers(1, 12), dtype=DTYPES, seed=st.integers(0, 999))
def test_inner_product(n, c, k, dtype, seed):
    rng = np.random.default_rng(seed)
    x, w = rand(rng, (n, c), dtype), rand(rng, (k, c), dtype)
    close(numerics.inner_product(x, w), naive.inner_product(x, w), dtype, terms=c)


@st.composite
def pool_cases(draw):
    r, s = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    pads = (draw(st.integers(0, r - 1)), draw(st.integers(0, r - 1)), draw(st.integers(0, s - 1)),
            draw(st.integers(0, s - 1)))
    return {
        "shape4": (draw(st.integers(1, 2)), draw(st.integers(max(1, r - pads[0] - pads[1]), 8)),
                   draw(st.integers(max(1, s - pads[2] - pads[3]), 8)), draw(st.integers(1, 5))),
        "pool": (r, s),
        "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "pads": pads,
        "layout": draw(LAYOUTS),
        "dtype": draw(DTYPES),
        "seed": draw(st.integers(0, 999)),
    }


def _pool_input(case):
    n, h, w, c = case["shape4"]
    shape = (n, h, w, c) if case["layout"] == "NHWC" else (n, c, h, w)
    return rand(np.random.default_rng(case["seed"]), shape, case["dtype"])


@given(pool_cases())
def test_max_pool(case):
    x = _pool_input(case)
    ours = numerics.max_pool(x, case["pool"], stride=case["stride"], pads=case["pads"], layout=case["layout"])
    ref = naive.pool(x, case["pool"], case["stride"], case["pads"], case["layout"], "max")
    np.testing.assert_array_equal(ours.astype(np.float64), ref)  # max is exact
    assert ours.dtype == x.dtype


@given(pool_cases(), st.booleans())
def test_avg_pool(case, include_pad):
    x = _pool_input(case)
    ours = numerics.avg_pool(x, case["pool"], stride=case["stride"], pads=case["pads"], layout=case["layout"],
                             count_include_pad=include_pad)
    ref = naive.pool(x, case["pool"], case["stride"], case["pads"], case["layout"], "avg", include_pad)
    close(ours, ref, case["dtype"], terms=16)


def test_avg_pool_divisor_conventions():
    """A 2x2 window at a corner with pad 1 holds one real element: /4 with padding counted, /1 without."""
    x = np.full((1, 2, 2, 1), 8.0, dtype=np.float32)
    incl = numerics.avg_pool(x, 2, stride=2, pads=(1, 0, 1, 0))
    excl = numerics.avg_pool(x, 2, stride=2, pads=(1, 0, 1, 0), count_include_pad=False)
    assert incl[0, 0, 0, 0] == 2.0 and excl[0, 0, 0, 0] == 8.0


@given(
    shape=st.sampled_from([(2, 3, 4, 5), (1, 1, 1, 7), (3, 6), (2, 2, 3, 1)]),
    layout=st.sampled_from(["NHWC", "NCHW", "NC"]),
    dtype=DTYPES,
    activation=st.sampled_from([None, "relu", "hard_tanh"]),
    seed=st.integers(0, 999),
)
def test_batch_norm(shape, layout, dtype, activation, seed):
    if len(shape) != len(layout):
        shape = shape[:2] if layout == "NC" else (2, 3, 4, 5)
    rng = np.random.default_rng(seed)
    x = rand(rng, shape, dtype)
    c = shape[1] if layout == "NCHW" else shape[-1]
    mean, beta = rand(rng, (1, c), dtype), rand(rng, (1, c), dtype)
    inv_std, gamma = rand(rng, (1, c), dtype, 0.5, 2.0), rand(rng, (c,), dtype, 0.5, 1.5)
    ours = numerics.batch_norm(x, mean, inv_std, gamma, beta, layout=layout, activation=activation)
    ref = naive.batch_norm(x, mean, inv_std, gamma, beta, layout)
    if activation:
        ref = naive.activation(ref, activation, (-1.0, 1.0))
    close(ours, ref, dtype, terms=4)


# --------------------------------------------------------------------------------------------------
# activations, element-wise, comparisons
# --------------------------------------------------------------------------------------------------

ACTIVATION_PARAMS = {
    "relu": (),
    "lrelu": (0.3,),
    "elu": (0.7,),
    "selu": (1.6733, 1.0507),
    "tanh": (),
    "hard_tanh": (-0.5, 2.0),
    "sigmoid": (),
    "softmax": (),
}


@given(
    function=st.sampled_from(sorted(ACTIVATION_PARAMS)),
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=4).map(tuple),
    dtype=DTYPES,
    seed=st.integers(0, 999),
)
def test_activation(function, shape, dtype, seed):
    x = rand(np.random.default_rng(seed), shape, dtype, -6.0, 6.0)
    params = ACTIVATION_PARAMS[function]
    close(numerics.activation(x, function, *params), naive.activation(x, function, params), dtype, terms=8)


def test_softmax_is_stable_for_large_inputs():
    x = np.array([[1000.0, 1000.0, -1000.0], [-3e38, 0.0, 3e38]], dtype=np.float32)
    y = numerics.activation(x, "softmax")
    np.testing.assert_allclose(y, [[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]], atol=1e-7)


def test_sigmoid_extremes_do_not_overflow():
    y = numerics.activation(np.array([-1e4, 0.0, 1e4], dtype=np.float32), "sigmoid")
    np.testing.assert_array_equal(y, [0.0, 0.5, 1.0])


def test_activation_defaults_are_smaug_defaults():
    """No parameters: SMAUG's defaults (lrelu 0.2, elu 0.1, selu 1.6733/1.0507, hard_tanh -1/1)."""
    x = np.array([[-2.0, 3.0]], dtype=np.float32)
    np.testing.assert_allclose(numerics.activation(x, "lrelu"), naive.activation(x, "lrelu", (0.2,)))
    np.testing.assert_allclose(numerics.activation(x, "elu"), naive.activation(x, "elu", (0.1,)), rtol=1e-6)
    np.testing.assert_allclose(numerics.activation(x, "hard_tanh"), [[-1.0, 1.0]])


shapes_pair = st.sampled_from(
    [((2, 3), (2, 3)), ((2, 3, 4), (4,)), ((1, 5), (3, 1)), ((2, 1, 4, 1), (3, 1, 2)), ((6,), (1,)), ((1,), (2, 2, 2))]
)


@given(shapes=shapes_pair, function=st.sampled_from(["add", "mul"]), dtype=DTYPES, seed=st.integers(0, 999))
def test_eltwise_arithmetic_broadcasts(shapes, function, dtype, seed):
    rng = np.random.default_rng(seed)
    a, b = rand(rng, shapes[0], dtype), rand(rng, shapes[1], dtype)
    close(numerics.eltwise(a, b, function), naive.eltwise(a, b, function), dtype)


@given(
    shapes=shapes_pair,
    function=st.sampled_from(["less", "less_equal", "greater", "greater_equal"]),
    dtype=DTYPES,
    seed=st.integers(0, 999),
)
def test_eltwise_compare(shapes, function, dtype, seed):
    rng = np.random.default_rng(seed)
    # Few distinct values, so that ties (where < and <= differ) occur.
    a = rng.integers(-2, 3, shapes[0]).astype(dtype)
    b = rng.integers(-2, 3, shapes[1]).astype(dtype)
    ours = numerics.eltwise(a, b, function)
    assert ours.dtype == np.bool_
    np.testing.assert_array_equal(ours, naive.eltwise(a, b, function))


# --------------------------------------------------------------------------------------------------
# data movement
# --------------------------------------------------------------------------------------------------

MOVE_DTYPES = st.sampled_from(["float32", "float16", "bool"])


def _any(rng, shape, dtype):
    if dtype == "bool":
        return rng.random(shape) < 0.5
    return rand(rng, shape, dtype)


@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple),
    extents=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    axis_pick=st.integers(0, 3),
    dtype=MOVE_DTYPES,
    seed=st.integers(0, 999),
)
def test_concat_and_split_roundtrip(shape, extents, axis_pick, dtype, seed):
    rng = np.random.default_rng(seed)
    axis = axis_pick % len(shape)
    parts = []
    for e in extents:
        s = list(shape)
        s[axis] = e
        parts.append(_any(rng, tuple(s), dtype))
    joined = numerics.concat(parts, axis)
    np.testing.assert_array_equal(joined, naive.concat(parts, axis))
    assert joined.dtype == parts[0].dtype
    pieces = numerics.split(joined, extents, axis - len(shape))  # negative axis too
    for ours, ref in zip(pieces, naive.split(joined, extents, axis), strict=True):
        np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize(
    "source, target, shape",
    [("NCHW", "NHWC", (2, 3, 4, 5)), ("NHWC", "NCHW", (2, 4, 5, 3)), ("NC", "CN", (3, 70)), ("CN", "NC", (33, 2)),
     ("NTC", "NCT", (2, 5, 3)), ("NCT", "NTC", (2, 3, 5)), ("NCHW", "NC", (2, 3, 4, 5)), ("NHWC", "NC", (2, 4, 5, 3))],
)
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_reorder(source, target, shape, dtype):
    x = rand(np.random.default_rng(1), shape, dtype)
    ours = numerics.reorder(x, source, target)
    np.testing.assert_array_equal(ours, naive.reorder(x, source, target))
    assert ours.dtype == x.dtype


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple), data=st.data(), dtype=MOVE_DTYPES)
def test_padding(shape, data, dtype):
    pads = data.draw(st.lists(st.integers(0, 2), min_size=2 * len(shape), max_size=2 * len(shape)))
    x = _any(np.random.default_rng(len(shape)), shape, dtype)
    ours = numerics.padding(x, pads)
    np.testing.assert_array_equal(ours, naive.padding(x, pads))
    assert ours.dtype == x.dtype


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple), data=st.data(), dtype=MOVE_DTYPES)
def test_repeat(shape, data, dtype):
    multiples = data.draw(st.lists(st.integers(1, 3), min_size=len(shape), max_size=len(shape)))
    x = _any(np.random.default_rng(len(shape)), shape, dtype)
    ours = numerics.repeat(x, multiples)
    np.testing.assert_array_equal(ours, naive.repeat(x, multiples))


def test_reshape_and_flatten_keep_row_major_order():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(numerics.reshape(x, (4, 6)), np.arange(24).reshape(4, 6))
    np.testing.assert_array_equal(numerics.flatten(x.reshape(2, 3, 2, 2)), np.arange(24).reshape(2, 12))


def test_noncontiguous_inputs_are_accepted():
    """Strided views (e.g. a transposed array) are made contiguous before any kernel sees them."""
    rng = np.random.default_rng(5)
    x = rand(rng, (1, 3, 6, 6), "float32").transpose(0, 2, 3, 1)  # NHWC view of NCHW data
    w = rand(rng, (2, 3, 3, 3), "float32")
    close(numerics.conv2d(x, w, pads=1), naive.conv2d(x, w, (1, 1), (1, 1, 1, 1), 1, "NHWC"), "float32", terms=27)


@pytest.mark.parametrize("dtype", [">f4", ">f2", ">i4", "<f8", "uint8", "int64"])
def test_data_movement_takes_any_byte_order_and_plain_types(dtype):
    x = np.arange(24).reshape(2, 3, 4).astype(dtype)
    np.testing.assert_array_equal(numerics.padding(x, [1, 0, 0, 2, 1, 1]), naive.padding(x, [1, 0, 0, 2, 1, 1]))
    np.testing.assert_array_equal(numerics.repeat(x, [1, 2, 1]), naive.repeat(x, [1, 2, 1]))
    np.testing.assert_array_equal(numerics.concat([x, x], 2), naive.concat([x, x], 2))
    np.testing.assert_array_equal(numerics.reorder(x, "NTC", "NCT"), naive.reorder(x, "NTC", "NCT"))
    assert numerics.split(x, [1, 2], 1)[1].dtype.kind == x.dtype.kind


def test_arithmetic_takes_big_endian_floats():
    x = np.linspace(-2, 2, 12, dtype=">f4").reshape(3, 4)
    np.testing.assert_allclose(numerics.activation(x, "relu"), np.maximum(x, 0))
    np.testing.assert_allclose(numerics.inner_product(x, x), naive.inner_product(x, x), rtol=1e-6)


# ---------------------------------------------------------------------------- NaN and infinities
def test_nan_and_inf_propagate_as_ieee_arithmetic_does():
    """relu(NaN) is NaN and a NaN in a pooling window is its maximum, as in PyTorch (issue 17: relu
    gave 0 and max pooling skipped NaN, so a network on an all-NaN input returned zeros)."""
    x = np.array([[np.nan, -1.0, 2.0, np.inf, -np.inf]], dtype=np.float32)
    y = numerics.activation(x, "relu")
    assert np.isnan(y[0, 0]) and y[0, 1] == 0 and y[0, 2] == 2 and y[0, 3] == np.inf and y[0, 4] == 0
    for fn in ("sigmoid", "tanh", "elu", "lrelu", "hard_tanh"):
        assert np.isnan(numerics.activation(x, fn)[0, 0]), fn
    img = np.zeros((1, 4, 4, 2), dtype=np.float32)
    img[0, 1, 1, 0] = np.nan
    img[0, 0, 0, 0] = 5.0  # a larger value after or before the NaN does not hide it
    pooled = numerics.max_pool(img, 2, stride=2, layout="NHWC")
    assert np.isnan(pooled[0, 0, 0, 0]) and pooled[0, 0, 0, 1] == 0
    assert np.isnan(numerics.max_pool(img.transpose(0, 3, 1, 2).copy(), 2, stride=2, layout="NCHW")[0, 0, 0, 0])


def test_a_network_on_an_all_nan_input_returns_nan():
    from smaug_fast import run_functional, zoo

    g = zoo.load("lenet5", dtype="float32")
    (name,) = [t.name for t in g.inputs]
    shape = g.inputs[0].shape
    out = run_functional(g, {name: np.full(shape, np.nan, dtype=np.float32)}, seed=0)
    assert all(np.isnan(v).all() for v in out.values())
