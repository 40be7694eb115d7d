"""Tiled execution equals untiled execution (issue 4, item 4).

Every op is run tile by tile through its SMAUG SMV plan (copy each tile out with its halo, compute
with the numeric kernels, accumulate partial sums over channel tiles, copy back; see
smaug_fast.tiling.execute) and compared with one call of the same kernel on the whole tensors, over
random shapes, strides, paddings, scratchpad sizes and accelerator counts. The untiled kernels
themselves are checked against naive loops in the numerics tests; here a small NumPy reference
checks the untiled convolution too, so that a bug shared by both paths cannot hide.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smaug_fast import Graph, math, nn, tensor, zoo
from smaug_fast.errors import MappingError, WorkloadError
from smaug_fast.tiling import TilingParams, supports, tile_op
from smaug_fast.tiling.execute import execute_tiled, execute_untiled

SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # examples: the profile (conftest)
SPADS = st.sampled_from([256, 512, 1024, 2048, 4096, 32768])


def _arrays(op, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(t.shape).astype(np.float32) for t in op.inputs]
    if op.kind == "batch_norm":
        arrays[2] = np.abs(arrays[2]) + 0.1
    return arrays


def _check(op, spad_bytes, accels, seed=0):
    try:
        plan = tile_op(op, TilingParams(spad_bytes=spad_bytes))
    except MappingError:
        return None  # nothing fits these scratchpads: tested in test_tiling
    arrays = _arrays(op, seed)
    tiled = execute_tiled(op, plan, arrays, num_accelerators=accels)
    whole = execute_untiled(op, arrays)
    assert not np.isnan(tiled).any(), plan.describe()
    if tiled.dtype == np.bool_:
        np.testing.assert_array_equal(tiled, whole)
    else:
        scale = max(1.0, float(np.abs(whole).max()))
        np.testing.assert_allclose(tiled, whole, rtol=1e-4, atol=1e-4 * scale, err_msg=plan.describe())
    return plan


def _naive_conv(x, w, stride, pads):
    """Direct-loop NHWC convolution (obviously correct, slow)."""
    n, h, wi, c = x.shape
    k, r, s, _ = w.shape
    t, b, left, right = pads
    xp = np.zeros((n, h + t + b, wi + left + right, c), np.float64)
    xp[:, t : t + h, left : left + wi] = x
    oh = (h + t + b - r) // stride[0] + 1
    ow = (wi + left + right - s) // stride[1] + 1
    out = np.zeros((n, oh, ow, k))
    for i in range(oh):
        for j in range(ow):
            window = xp[:, i * stride[0] : i * stride[0] + r, j * stride[1] : j * stride[1] + s, :]
            out[:, i, j, :] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))
    return out


@st.composite
def conv_case(draw):
    h, w = draw(st.integers(1, 18)), draw(st.integers(1, 18))
    r, s = draw(st.integers(1, min(h, 5))), draw(st.integers(1, min(w, 5)))
    pads = tuple(draw(st.integers(0, k - 1)) for k in (r, r, s, s))
    return dict(
        n=draw(st.integers(1, 2)),
        h=h,
        w=w,
        c=draw(st.integers(1, 72)),
        k=draw(st.integers(1, 40)),
        kernel=(r, s),
        stride=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        pads=pads,
        act=draw(st.sampled_from([None, "relu", "elu"])),
    )


@SETTINGS
@given(case=conv_case(), spad=SPADS, accels=st.integers(1, 3), seed=st.integers(0, 1000))
def test_conv_tiled_equals_untiled(case, spad, accels, seed):
    with Graph("g") as g:
        x = g.input((case["n"], case["h"], case["w"], case["c"]))
        nn.convolution(
            x, case["k"], case["kernel"], stride=case["stride"], padding=case["pads"], activation=case["act"]
        )
    op = g.topological_order()[-1]
    _check(op, spad, accels, seed)


@SETTINGS
@given(
    n=st.integers(1, 3), c=st.integers(1, 700), k=st.integers(1, 300), spad=SPADS, accels=st.integers(1, 3),
    act=st.sampled_from([None, "relu", "sigmoid"]),
)
def test_inner_product_tiled_equals_untiled(n, c, k, spad, accels, act):
    with Graph("g") as g:
        x = g.input((n, c), layout="NC")
        nn.mat_mul(x, k, activation=act)
    _check(g.topological_order()[-1], spad, accels)


@SETTINGS
@given(
    n=st.integers(1, 2), h=st.integers(1, 20), w=st.integers(1, 20), c=st.integers(1, 70),
    data=st.data(), spad=SPADS, mode=st.sampled_from(["max", "avg"]),
)
def test_pool_tiled_equals_untiled(n, h, w, c, data, spad, mode):
    r, s = data.draw(st.integers(1, min(h, 4))), data.draw(st.integers(1, min(w, 4)))
    stride = (data.draw(st.integers(1, 3)), data.draw(st.integers(1, 3)))
    pads = (data.draw(st.integers(0, r - 1)), data.draw(st.integers(0, r - 1)),
            data.draw(st.integers(0, s - 1)), data.draw(st.integers(0, s - 1)))
    with Graph("g") as g:
        x = g.input((n, h, w, c))
        (nn.max_pool if mode == "max" else nn.avg_pool)(x, (r, s), stride, padding=pads)
    _check(g.topological_order()[-1], spad, 1)


@SETTINGS
@given(
    shape=st.one_of(
        st.tuples(st.integers(1, 2), st.integers(1, 20), st.integers(1, 20), st.integers(1, 80)),
        st.tuples(st.integers(1, 4), st.integers(1, 3000)),
    ),
    spad=SPADS, accels=st.integers(1, 3),
)
def test_batch_norm_tiled_equals_untiled(shape, spad, accels):
    with Graph("g") as g:
        x = g.input(shape, layout="NHWC" if len(shape) == 4 else "NC")
        nn.batch_norm(x, activation="relu")
    _check(g.topological_order()[-1], spad, accels)


@SETTINGS
@given(
    shape=st.lists(st.integers(1, 40), min_size=1, max_size=4).map(tuple),
    spad=SPADS,
    fn=st.sampled_from(["relu", "elu", "tanh", "sigmoid", "softmax", "add", "mul", "less", "greater_equal"]),
)
def test_elementwise_tiled_equals_untiled(shape, spad, fn):
    layout = {1: "N", 2: "NC", 3: "NTC", 4: "NHWC"}[len(shape)]
    with Graph("g") as g:
        x = g.input(shape, layout=layout)
        if fn in ("add", "mul", "less", "greater_equal"):
            y = g.input(shape, layout=layout)
            getattr(math, fn)(x, y)
        else:
            getattr(nn, fn)(x)
    _check(g.topological_order()[-1], spad, 1)


@settings(max_examples=25, deadline=None)
@given(case=conv_case(), seed=st.integers(0, 100))
def test_untiled_conv_matches_naive_loops(case, seed):
    with Graph("g") as g:
        x = g.input((case["n"], case["h"], case["w"], case["c"]))
        nn.convolution(x, case["k"], case["kernel"], stride=case["stride"], padding=case["pads"])
    op = g.topological_order()[-1]
    arrays = _arrays(op, seed)
    ref = _naive_conv(arrays[0], arrays[1], case["stride"], case["pads"])
    np.testing.assert_allclose(execute_untiled(op, arrays), ref, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("network", ["lenet5", "cnn10", "minerva", "lstm"])
def test_zoo_ops_tiled_equal_untiled(network):
    """Every SMV op of the small zoo networks, with SMAUG's 32 KiB scratchpads, on 2 accelerators."""
    g = zoo.load(network)
    checked = 0
    for op in g.topological_order():
        if supports(op):
            assert _check(op, 32 * 1024, 2) is not None
            checked += 1
    assert checked > 0


def test_stale_residency_is_caught():
    """The executor really uses resident tiles: a schedule that skips a needed load gives a wrong result."""
    with Graph("g") as g:
        x = g.input((1, 26, 26, 32))
        nn.convolution(x, 32, 3, padding="valid")
    op = g.topological_order()[-1]
    plan = tile_op(op)
    sched = plan.schedule(1)
    assert sched.read_input.sum() > 1  # row-tiled input: several loads
    import dataclasses

    flags = sched.read_input.copy()
    flags[1:] = False
    broken = dataclasses.replace(sched, read_input=flags)
    plan._cache[1] = broken
    arrays = _arrays(op, 0)
    try:
        tiled = execute_tiled(op, plan, arrays)
    except WorkloadError as err:  # the stale tile has another shape: caught as a plan error
        assert "produced" in str(err)
    else:
        assert not np.allclose(tiled, execute_untiled(op, arrays), atol=1e-3)


def test_execution_and_plan_errors():
    with Graph("g") as g:
        x = g.input((1, 8, 8, 16))
        nn.convolution(x, 8, 3, name="c")
    op = g.topological_order()[-1]
    plan = tile_op(op)
    arrays = _arrays(op, 0)
    with pytest.raises(WorkloadError, match=r"op 'c': got 1 arrays for 2 inputs"):
        execute_tiled(op, plan, arrays[:1])
    with pytest.raises(WorkloadError, match=r"op 'c': inputs\[1\] has shape \(8, 3, 3, 15\), expected \(8, 3, 3, 16\)"):
        execute_untiled(op, [arrays[0], arrays[1][..., :15]])
    with pytest.raises(WorkloadError, match=r"plan for op 'c': no tensor with role 'input1'"):
        plan.tensor("input1")
    with pytest.raises(WorkloadError, match=r"plan for op 'c': num_accelerators = True: must be an integer >= 1"):
        plan.schedule(True)
    with pytest.raises(MappingError, match=r"tile_op: 3 is not an operator"):
        tile_op(3)  # type: ignore[arg-type]
