"""The workload API: shape inference against naive formulas, graph structure, and every error."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smaug_fast import Graph, WorkloadError, nn, tensor
from smaug_fast import math as smath
from smaug_fast.workload import (
    Convolution,
    Eltwise,
    InnerProduct,
    Reorder,
    Tensor,
    broadcast_shape,
    same_padding,
)

# -- naive formulas -----------------------------------------------------------------------------------


def naive_out(size: int, kernel: int, stride: int, pad_total: int) -> int:
    """Count window positions by walking them: the first at 0, then every stride, while it fits."""
    count, start = 0, 0
    while start + kernel <= size + pad_total:
        count += 1
        start += stride
    return count


def naive_same_pads(kernel: int) -> tuple[int, int]:
    """SMAUG SAME: k-1 padding in total, the odd one on top/left."""
    total = kernel - 1
    return (math.ceil(total / 2), math.floor(total / 2))


@given(
    n=st.integers(1, 3),
    c=st.integers(1, 9),
    h=st.integers(1, 20),
    w=st.integers(1, 20),
    k=st.integers(1, 7),
    r=st.integers(1, 6),
    s=st.integers(1, 6),
    sh=st.integers(1, 4),
    sw=st.integers(1, 4),
    padding=st.sampled_from(["same", "valid", "explicit"]),
    pads=st.tuples(*[st.integers(0, 3)] * 4),
    layout=st.sampled_from(["NHWC", "NCHW"]),
)
def test_conv_shape_inference(n, c, h, w, k, r, s, sh, sw, padding, pads, layout):
    if padding == "same":
        (t, b), (left, right) = naive_same_pads(r), naive_same_pads(s)
        arg = "same"
    elif padding == "valid":
        t = b = left = right = 0
        arg = "valid"
    else:
        t, b, left, right = pads
        arg = pads
    fits = r <= h + t + b and s <= w + left + right
    with Graph("g", layout=layout) as g:
        shape = (n, h, w, c) if layout == "NHWC" else (n, c, h, w)
        x = g.input(shape)
        if not fits:
            with pytest.raises(WorkloadError, match="larger than the padded input"):
                nn.convolution(x, k, (r, s), (sh, sw), arg)
            return
        y = nn.convolution(x, k, (r, s), (sh, sw), arg)
    oh, ow = naive_out(h, r, sh, t + b), naive_out(w, s, sw, left + right)
    assert y.shape == ((n, oh, ow, k) if layout == "NHWC" else (n, k, oh, ow))
    op = g.op("conv")
    assert op.pads == (t, b, left, right)
    assert op.macs == n * k * oh * ow * c * r * s
    if padding == "same":  # SMAUG's rule: out = (in - 1) // stride + 1 whatever the kernel
        assert (oh, ow) == ((h - 1) // sh + 1, (w - 1) // sw + 1)


@given(
    c=st.integers(2, 6),  # with one channel a "depthwise" conv is an ordinary one (groups 1)
    mult=st.integers(1, 3),
    h=st.integers(3, 12),
    stride=st.integers(1, 3),
)
def test_depthwise_conv_macs(c, mult, h, stride):
    with Graph("g") as g:
        x = g.input((2, h, h, c))
        y = nn.depthwise_convolution(x, 3, stride, multiplier=mult)
    op = g.ops[0]
    assert op.depthwise and op.groups == c
    assert op.inputs[1].shape == (c * mult, 3, 3, 1)
    out = (h - 1) // stride + 1
    assert y.shape == (2, out, out, c * mult)
    assert op.macs == 2 * c * mult * out * out * 9


@given(
    h=st.integers(1, 20),
    w=st.integers(1, 20),
    p=st.integers(1, 5),
    stride=st.integers(1, 4),
    pad=st.integers(0, 2),
)
def test_pool_shape_inference(h, w, p, stride, pad):
    with Graph("g") as g:
        x = g.input((1, h, w, 4))
        if p > h + 2 * pad or p > w + 2 * pad or pad >= p:
            with pytest.raises(WorkloadError):
                nn.max_pool(x, p, stride, padding=pad)
            return
        y = nn.max_pool(x, p, stride, padding=pad)
        z = nn.avg_pool(x, p, stride, padding=pad)
    expected = (1, naive_out(h, p, stride, 2 * pad), naive_out(w, p, stride, 2 * pad), 4)
    assert y.shape == z.shape == expected


@given(n=st.integers(1, 4), c=st.integers(1, 300), k=st.integers(1, 300))
def test_inner_product_shape_and_macs(n, c, k):
    with Graph("g") as g:
        x = g.input((n, c))
        y = nn.mat_mul(x, k, activation="relu")
    op = g.ops[0]
    assert y.shape == (n, k) and op.inputs[1].shape == (k, c)
    assert op.macs == n * c * k
    assert op.weight_bytes == 2 * k * c


@given(
    a=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    b=st.lists(st.integers(1, 4), min_size=1, max_size=4),
)
def test_broadcast_shape_matches_numpy(a, b):
    import numpy as np

    try:
        expected = np.broadcast_shapes(tuple(a), tuple(b))
    except ValueError:
        expected = None
    assert broadcast_shape(tuple(a), tuple(b)) == expected


def test_same_padding_puts_extra_on_top():
    assert same_padding(2) == (1, 0)
    assert same_padding(3) == (1, 1)
    assert same_padding(4) == (2, 1)
    assert same_padding(1) == (0, 0)


# -- graph structure ----------------------------------------------------------------------------------


def _residual_graph():
    with Graph("res") as g:
        x = g.input((1, 8, 8, 16), name="x")
        a = nn.convolution(x, 16, 3, name="a")
        b = nn.convolution(x, 16, 1, name="b")
        y = smath.add(a, b, name="sum")
        nn.relu(y, name="out")
    return g


def test_topological_walk_and_byte_counts():
    g = _residual_graph()
    order = [op.name for op in g.topological_order()]
    assert order == ["a", "b", "sum", "out"]
    a = g.op("a")
    assert a.input_bytes == 8 * 8 * 16 * 2
    assert a.weight_bytes == 16 * 3 * 3 * 16 * 2
    assert a.output_bytes == 8 * 8 * 16 * 2
    assert [p.name for p in g.consumers(g.tensor("x"))] == ["a", "b"]
    assert g.producer("sum").name == "sum"
    assert [t.name for t in g.outputs] == ["out"]
    assert [t.name for t in g.inputs] == ["x"]
    assert "total" in g.summary() and "EltwiseAdd" in g.summary()


def test_from_ops_sorts_any_order_and_detects_cycles():
    g = _residual_graph()
    shuffled = list(reversed(g.ops))
    g2 = Graph.from_ops("copy", [*g.inputs, *g.constants], shuffled)
    # Stable: independent ops keep the given order (b before a); dependencies come first.
    assert [op.name for op in g2.topological_order()] == ["b", "a", "sum", "out"]

    t1 = Tensor("p", (1, 4), "NC")
    t2 = Tensor("q", (1, 4), "NC")
    from smaug_fast.workload import Activation

    op1 = Activation(name="p", inputs=(t2,), outputs=(t1,), function="relu")
    op2 = Activation(name="q", inputs=(t1,), outputs=(t2,), function="relu")
    with pytest.raises(WorkloadError, match=r"cycle in the graph among ops \['p', 'q'\]"):
        Graph.from_ops("cyclic", [], [op1, op2])


def test_from_ops_rejects_unknown_inputs_and_duplicates():
    g = _residual_graph()
    with pytest.raises(WorkloadError, match="neither a source nor an op output"):
        Graph.from_ops("partial", [], g.ops)
    with pytest.raises(WorkloadError, match="duplicate op name 'a'"):
        Graph.from_ops("dup", [*g.inputs, *g.constants], [g.ops[0], g.ops[0]])


def test_nested_graph_contexts_and_no_active_graph():
    with Graph("outer") as outer:
        x = outer.input((1, 4))
        with Graph("inner") as inner:
            y = inner.input((1, 4))
            nn.relu(y)
        nn.relu(x)
    assert len(outer) == 1 and len(inner) == 1
    with pytest.raises(WorkloadError, match="no active graph"):
        nn.relu(x)


def test_a_graph_pickles_after_its_with_block():
    """A built graph crosses process boundaries (a sweep's worker processes): the ``with`` block's
    context token stays behind, and the copy has the same ops and still builds."""
    import pickle

    with Graph("p") as g:
        x = g.input((1, 8, 8, 4))
        nn.relu(nn.convolution(x, 8, 3))
    copy = pickle.loads(pickle.dumps(g))
    assert copy.name == "p" and copy.topological_order() == g.topological_order()
    with copy:
        nn.relu(copy.outputs[0])
    assert len(copy) == len(g) + 1


def test_lstm_expansion_shares_weights():
    with Graph("l", layout="NTC") as g:
        x = g.input((2, 5, 16), layout="NTC")
        outputs, state = nn.LSTM(8, name="l0")(x)
    assert len(outputs) == 5 and outputs[-1].shape == (2, 8) and state.shape == (2, 8)
    fcs = [op for op in g if isinstance(op, InnerProduct)]
    assert len(fcs) == 10
    assert g.weight_elems == 32 * 16 + 32 * 8 + 2 * 8  # W, U, and the constant c0 (batch 2 x 8 units)... per SMAUG
    assert g.macs == 5 * 2 * (16 * 32 + 8 * 32)


def test_bidirectional_lstm_concatenates_steps():
    with Graph("b", layout="NTC") as g:
        x = g.input((1, 3, 8), layout="NTC")
        outputs, _, _ = nn.BidirectionalLSTM(4)(x)
    assert [o.shape for o in outputs] == [(1, 8)] * 3


def test_bahdanau_attention_context_shape():
    with Graph("att", layout="NTC") as g:
        memory = g.input((2, 6, 8), layout="NTC", name="memory")
        query = g.input((2, 8), layout="NC", name="query")
        context = nn.BahdanauAttention(memory)(query)
    assert context.shape == (2, 8)
    kinds = {op.kind for op in g}
    assert {"inner_product", "tanh", "softmax", "add", "split", "reorder", "concat"} <= kinds


def test_data_movement_ops():
    with Graph("dm", layout="NCHW") as g:
        x = g.input((2, 3, 4, 5))
        nhwc = tensor.reorder(x, "NHWC")
        flat = tensor.flatten(x)
        parts = tensor.split(x, [1, 2], axis=1)
        cat = tensor.concat(parts, axis=1)
        rep = tensor.repeat(x, (1, 2, 1, 3))
        pad = tensor.padding(x, (0, 0, 0, 0, 1, 2, 3, 4))
        st_ = tensor.stack([flat, flat], 1)
        un = tensor.unstack(st_, 1)
        ex = tensor.expand_dims(flat, 0)
        sq = tensor.squeeze(ex, 0)
    assert nhwc.shape == (2, 4, 5, 3) and nhwc.layout == "NHWC"
    assert flat.shape == (2, 60) and flat.layout == "NC"
    assert [p.shape for p in parts] == [(2, 1, 4, 5), (2, 2, 4, 5)]
    assert cat.shape == x.shape
    assert rep.shape == (2, 6, 4, 15)
    assert pad.shape == (2, 3, 7, 12)
    assert st_.shape == (2, 2, 60) and [u.shape for u in un] == [(2, 60), (2, 60)]
    assert sq.shape == (2, 60)
    assert isinstance(g.producer(flat), Reorder)


def test_compare_ops_produce_bool():
    with Graph("cmp") as g:
        a = g.input((2, 3))
        b = g.input((1, 3))
        for fn in (smath.less, smath.less_equal, smath.greater, smath.greater_equal):
            assert fn(a, b).dtype == "bool"
        assert smath.mul(a, b).dtype == "float16"
    assert all(isinstance(op, Eltwise) for op in g)


# -- errors: each names the op (or tensor) and the field ----------------------------------------------


def _g():
    return Graph("err")


@pytest.mark.parametrize(
    "shape, match",
    [((1, 0, 4, 4), r"tensor 'x': shape\[1\] = 0: must be >= 1"), ((1, -3, 4, 4), r"shape\[1\] = -3: must be >= 1")],
)
def test_bad_dimensions(shape, match):
    with _g() as g, pytest.raises(WorkloadError, match=match):
        g.input(shape, name="x")


def test_layout_rank_mismatch_and_unknown_layout():
    with _g() as g:
        with pytest.raises(WorkloadError, match=r"tensor 'x': layout = 'NCHW': needs rank 4 but shape \(1, 4\) has rank 2"):
            g.input((1, 4), name="x", layout="NCHW")
        with pytest.raises(WorkloadError, match=r"layout = 'NWHC': unknown layout"):
            g.input((1, 4, 4, 4), name="y", layout="NWHC")
        with pytest.raises(WorkloadError, match=r"dtype = 'float64': unknown dtype"):
            g.input((1, 4), name="z", dtype="float64")


def test_zero_stride():
    with _g() as g:
        x = g.input((1, 8, 8, 4))
        with pytest.raises(WorkloadError, match=r"op 'c1' \(conv\): stride\[0\] = 0: must be >= 1"):
            nn.convolution(x, 4, 3, (0, 1), name="c1")
        with pytest.raises(WorkloadError, match=r"op 'p1' \(max_pool\): stride\[1\] = 0: must be >= 1"):
            nn.max_pool(x, 2, (1, 0), name="p1")


def test_kernel_larger_than_padded_input():
    with _g() as g:
        x = g.input((1, 4, 4, 4))
        with pytest.raises(
            WorkloadError, match=r"op 'big' \(conv\): kernel = \(7, 7\): larger than the padded input 4x4"
        ):
            nn.convolution(x, 4, 7, padding="valid", name="big")


def test_conv_groups_and_weight_shape_errors():
    with _g() as g:
        x = g.input((1, 8, 8, 6))
        with pytest.raises(WorkloadError, match=r"groups = 4: must be >= 1 and divide the 6 input channels"):
            nn.convolution(x, 8, 3, groups=4, name="grp")
        w = g.constant((8, 3, 3, 5), name="w")
        with pytest.raises(WorkloadError, match=r"op 'wc' \(conv\): weights shape = \(8, 3, 3, 5\): needs 6 channels"):
            nn.convolution(x, w, name="wc")
        with pytest.raises(WorkloadError, match=r"conv.*input layout = 'NC'"):
            nn.convolution(g.input((1, 6), name="flat"), 4, 3)


def test_inner_product_mismatch():
    with _g() as g:
        x = g.input((1, 10))
        w = g.constant((4, 12), name="w")
        with pytest.raises(WorkloadError, match=r"op 'fc' \(inner_product\): weights shape = \(4, 12\): needs 10 columns"):
            nn.mat_mul(x, w, name="fc")
        with pytest.raises(WorkloadError, match=r"needs 2-D \(NC\) input"):
            nn.mat_mul(g.input((1, 2, 2, 2), name="img"), 4)


def test_split_that_does_not_divide():
    with _g() as g:
        x = g.input((1, 10))
        with pytest.raises(WorkloadError, match=r"split of 'input': num_or_size_splits = 3: must divide the 10 of axis 1"):
            tensor.split(x, 3, axis=1)
        with pytest.raises(WorkloadError, match=r"op 's' \(split\): sizes = \(4, 4\): sum to 8, not the 10"):
            tensor.split(x, [4, 4], axis=1, name="s")


def test_eltwise_shape_mismatch_and_concat_mismatch():
    with _g() as g:
        a = g.input((2, 3), name="a")
        b = g.input((2, 4), name="b")
        with pytest.raises(WorkloadError, match=r"op 'add' \(add\): input shapes = \(\(2, 3\), \(2, 4\)\): do not broadcast"):
            smath.add(a, b)
        with pytest.raises(WorkloadError, match=r"op 'cat' \(concat\): inputs\[1\] shape = \(2, 4\): does not match"):
            tensor.concat([a, b], axis=0, name="cat")


def test_duplicate_names():
    with _g() as g:
        x = g.input((1, 4), name="x")
        nn.relu(x, name="r")
        with pytest.raises(WorkloadError, match="duplicate op name 'r'"):
            nn.relu(x, name="r")
        with pytest.raises(WorkloadError, match="duplicate tensor name 'x'"):
            g.input((1, 4), name="x")


def test_unknown_activation_and_bad_params():
    with _g() as g:
        x = g.input((1, 4))
        with pytest.raises(WorkloadError, match=r"activation = 'swish': unknown activation"):
            nn.mat_mul(x, 3, activation="swish")
        with pytest.raises(WorkloadError, match=r"activation_params = \(1.0, 2.0\): elu takes 1"):
            nn.activation(x, "elu", 1.0, 2.0)


def test_reshape_and_reorder_errors():
    with _g() as g:
        x = g.input((2, 6))
        with pytest.raises(WorkloadError, match=r"op 'reshape' \(reshape\): shape = \(5, 2\): has 10 elements"):
            tensor.reshape(x, (5, 2))
        with pytest.raises(WorkloadError, match=r"op 'reorder' \(reorder\): target = 'NHWC': cannot reorder a NC"):
            tensor.reorder(x, "NHWC")


def test_foreign_tensor_rejected():
    with Graph("a") as a:
        x = a.input((1, 4), name="x")
    with Graph("b") as b:
        b.input((1, 4), name="y")
        with pytest.raises(WorkloadError, match="tensor 'x', which is not in graph 'b'"):
            nn.relu(x)


def test_ops_are_hashable_and_equal_by_value():
    g1, g2 = _residual_graph(), _residual_graph()
    assert g1.ops == g2.ops
    assert len({*g1.ops, *g2.ops}) == 4
    assert isinstance(g1.op("a"), Convolution)
