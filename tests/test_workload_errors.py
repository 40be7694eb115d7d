"""Every WorkloadError of the workload API names what was wrong and the value it had.

One case per raise site of smaug_fast/workload (the happy paths are in test_workload.py).
"""

from __future__ import annotations

import pytest

from smaug_fast import Graph, WorkloadError, nn, tensor
from smaug_fast.workload import (
    Activation,
    BatchNorm,
    Concat,
    Convolution,
    Eltwise,
    InnerProduct,
    MaxPooling,
    Padding,
    Repeat,
    Split,
    Tensor,
)

NHWC = Tensor("x", (1, 8, 8, 4), "NHWC")
NC = Tensor("v", (2, 6), "NC")
W4 = Tensor("w", (4, 3, 3, 4), "NHWC", constant=True)


def _add(op_class, inputs, **params):
    """Build a graph holding the inputs and add one op built directly (bypassing the builders)."""
    g = Graph("g")
    for t in inputs:
        if t.name not in g.tensors:
            (g.constant if t.constant else g.input)(t.shape, name=t.name, layout=t.layout, dtype=t.dtype)
    return g.add(op_class, inputs, name="op", **params)


def _in_graph(fn):
    with Graph("g", layout="NHWC") as g:
        x = g.input((1, 8, 8, 4), name="x")
        v = g.input((2, 6), name="v")
        fn(g, x, v)


CASES = [
    # tensors
    ("tensor name", lambda: Tensor("", (1,)), r"tensor name = '': must be a non-empty string"),
    ("tensor shape type", lambda: Tensor("t", 5), r"tensor 't': shape = 5: must be a sequence"),
    ("tensor dim type", lambda: Tensor("t", (1, "a")), r"tensor 't': shape\[1\] = 'a': must be an integer"),
    ("tensor dim letter", lambda: NC.dim("H"), r"tensor 'v': layout NC has no dimension 'H'"),
    # graphs
    ("graph name", lambda: Graph(""), r"graph name = '': must be a non-empty string"),
    ("graph dtype", lambda: Graph("g", dtype="fp8"), r"graph 'g': dtype = 'fp8': unknown"),
    ("graph layout", lambda: Graph("g", layout="HWC"), r"graph 'g': layout = 'HWC': unknown"),
    ("not a tensor", lambda: _in_graph(lambda g, x, v: g.add(Activation, [x, "y"], function="relu")),
     r"inputs\[1\] = 'y': not a Tensor"),
    ("stale tensor", lambda: _in_graph(lambda g, x, v: nn.relu(x.with_(shape=(1, 8, 8, 5)))),
     r"inputs\[0\] .* differs from the graph's tensor"),
    ("output name taken", lambda: _in_graph(lambda g, x, v: nn.relu(x, name="x")),
     r"op 'x': output name 'x' is already a tensor"),
    ("no such op", lambda: Graph("g").op("nope"), r"graph 'g' has no op 'nope'"),
    ("no such tensor", lambda: Graph("g").tensor("nope"), r"graph 'g' has no tensor 'nope'"),
    # arity and generic parameter checks
    ("arity", lambda: _add(Activation, [NC, NC], function="relu"), r"op 'op' \(relu\): takes 1 inputs, got 2"),
    ("arity range", lambda: _add(BatchNorm, [NC]), r"op 'op' \(batch_norm\): takes 5 inputs, got 1"),
    ("stride type", lambda: _add(Convolution, [NHWC, W4], stride=3), r"stride = 3: must be a pair"),
    ("pads shape", lambda: _add(Convolution, [NHWC, W4], pads=(1, 1)), r"pads = \(1, 1\): must be \(top, bottom"),
    ("negative pad", lambda: _add(Convolution, [NHWC, W4], pads=(0, -1, 0, 0)), r"pads\[1\] = -1: must be >= 0"),
    ("pad type", lambda: _add(Convolution, [NHWC, W4], pads=(0, 1.5, 0, 0)), r"pads\[1\] = 1.5: must be an integer"),
    ("params without activation", lambda: _add(InnerProduct, [NC, Tensor("fw", (3, 6), "NC", constant=True)],
                                              activation_params=(1.0,)),
     r"activation_params = \(1.0,\): given without an activation"),
    # convolution
    ("conv layout", lambda: _add(Convolution, [NC, W4]), r"op 'op' \(conv\): input layout = 'NC'"),
    ("conv weight rank", lambda: _add(Convolution, [NHWC, Tensor("w2", (4, 3), "NC", constant=True)]),
     r"weights shape = \(4, 3\): must have rank 4"),
    ("conv groups in", lambda: _add(Convolution, [NHWC, Tensor("w3", (6, 3, 3, 1), "NHWC", constant=True)], groups=3),
     r"groups = 3: must divide the 4 input channels"),
    ("conv groups out", lambda: _add(Convolution, [NHWC, Tensor("w5", (6, 3, 3, 1), "NHWC", constant=True)], groups=4),
     r"groups = 4: must divide the 6 output channels"),
    # inner product, pooling, batch norm, eltwise
    ("fc input rank", lambda: _add(InnerProduct, [NHWC, Tensor("fw", (3, 4), "NC", constant=True)]),
     r"input shape = \(1, 8, 8, 4\): inner product needs a 2-D"),
    ("fc weight rank", lambda: _add(InnerProduct, [NC, W4]), r"weights shape = \(4, 3, 3, 4\): must be 2-D"),
    ("pool mode", lambda: _add(MaxPooling, [NHWC], mode="min"), r"mode = 'min': must be 'max' or 'avg'"),
    ("pool layout", lambda: _add(MaxPooling, [NC]), r"op 'op' \(max_pool\): input layout = 'NC'"),
    ("bn layout", lambda: _add(BatchNorm, [Tensor("s", (2, 3, 4), "NTC")] + [Tensor(f"p{i}", (1, 4), "NC", constant=True) for i in range(4)]),
     r"input layout = 'NTC': batch norm needs"),
    ("bn params", lambda: _add(BatchNorm, [NHWC] + [Tensor(f"p{i}", (1, 3), "NC", constant=True) for i in range(4)]),
     r"mean shape = \(1, 3\): needs 4 elements"),
    ("eltwise function", lambda: _add(Eltwise, [NC, NC], function="pow"), r"function = 'pow': unknown"),
    # data movement
    ("concat axis", lambda: _add(Concat, [NC, NC], axis=2), r"axis = 2: out of range for rank 2"),
    ("split empty", lambda: _add(Split, [NC], axis=1, sizes=()), r"sizes = \(\): must not be empty"),
    ("split size", lambda: _add(Split, [NC], axis=1, sizes=(0, 6)), r"sizes\[0\] = 0: must be >= 1"),
    ("repeat entries", lambda: _add(Repeat, [NC], multiples=(2,)), r"multiples = \(2,\): needs 2 entries"),
    ("padding entries", lambda: _add(Padding, [NC], pads=(1, 1)), r"pads = \(1, 1\): needs 2 x 2 = 4 entries"),
    # builders
    ("padding word", lambda: _in_graph(lambda g, x, v: nn.convolution(x, 4, 3, padding="full")),
     r"padding = 'full': must be 'same', 'valid' or integers"),
    ("padding negative", lambda: _in_graph(lambda g, x, v: nn.convolution(x, 4, 3, padding=-1)),
     r"padding = -1: must be >= 0"),
    ("padding tuple", lambda: _in_graph(lambda g, x, v: nn.convolution(x, 4, 3, padding=(1, 2, 3))),
     r"padding = \(1, 2, 3\): must be \(top, bottom, left, right\)"),
    ("kernel missing", lambda: _in_graph(lambda g, x, v: nn.convolution(x, 4)),
     r"kernel_size = None: required when filters is a count"),
    ("kernel pair", lambda: _in_graph(lambda g, x, v: nn.convolution(x, 4, (3, 3, 3))),
     r"kernel_size = \(3, 3, 3\): must be an integer or a pair"),
    ("kernel type", lambda: _in_graph(lambda g, x, v: nn.convolution(x, 4, "3")),
     r"kernel_size = '3': must be an integer or a pair"),
    ("bn builder layout", lambda: _in_graph(lambda g, x, v: nn.batch_norm(g.input((1, 2, 3), name="s", layout="NTC"))),
     r"\(batch_norm\): input layout = 'NTC'"),
    ("bn builder params", lambda: _in_graph(lambda g, x, v: nn.batch_norm(x, params=[x])),
     r"params = 1 tensors: needs \(mean, var, gamma, beta\)"),
    ("lstm units", lambda: nn.LSTM(0), r"LSTM 'lstm': units = 0: must be a positive integer"),
    ("lstm weights", lambda: nn.LSTM(weights=(NC, NC)), r"LSTM 'lstm': weights = .*need W \(4U x depth\)"),
    ("lstm depth", lambda: _in_graph(lambda g, x, v: nn.LSTM(weights=(
        g.constant((8, 5), name="W"), g.constant((8, 2), name="U")))([v])),
     r"LSTM 'lstm': input depth = 6: the kernel \(8, 5\) needs 5"),
    ("lstm no steps", lambda: _in_graph(lambda g, x, v: nn.LSTM(4)([])), r"LSTM 'lstm': no time steps"),
    ("attention memory", lambda: _in_graph(lambda g, x, v: nn.BahdanauAttention(v)),
     r"attention 'bahdanau_attention': memory shape = \(2, 6\): needs N x T x D"),
    ("expand axis", lambda: _in_graph(lambda g, x, v: tensor.expand_dims(v, 5)), r"expand_dims of 'v': axis = 5"),
    ("squeeze axis", lambda: _in_graph(lambda g, x, v: tensor.squeeze(v, 4)), r"squeeze of 'v': axis = 4: out of range"),
    ("squeeze size", lambda: _in_graph(lambda g, x, v: tensor.squeeze(v, 1)), r"squeeze of 'v': axis = 1: has size 6, not 1"),
    ("split axis", lambda: _in_graph(lambda g, x, v: tensor.split(v, 2, axis=3)), r"split of 'v': axis = 3"),
    ("unstack axis", lambda: _in_graph(lambda g, x, v: tensor.unstack(v, 2)), r"unstack of 'v': axis = 2"),
]


@pytest.mark.parametrize("build, match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_error_names_field_and_value(build, match):
    with pytest.raises(WorkloadError, match=match):
        build()


def test_single_output_accessor_on_multi_output_op():
    with Graph("g") as g:
        v = g.input((2, 6))
        tensor.split(v, 2, axis=1, name="s")
    with pytest.raises(WorkloadError, match=r"op 's' has 2 outputs; use .outputs"):
        g.op("s").output


def test_flatten_of_other_ranks_and_misc_accessors():
    with Graph("g", layout="NTC") as g:
        s = g.input((2, 3, 4), layout="NTC")
        v = g.input((2, 5), layout="NC")
        assert tensor.flatten(v) is v  # already N x C
        assert tensor.flatten(s).shape == (2, 12)
        assert nn.lrelu(v).shape == nn.elu(v).shape == nn.selu(v).shape == nn.hard_tanh(v).shape == (2, 5)
    assert "Graph('g'" in repr(g) and set(g.tensors) >= {"input", "input_1"}
    conv = Convolution(name="c", inputs=(NHWC, W4))
    assert conv.out_channels == 4 and conv.params()["groups"] == 1


def test_graph_building_never_allocates_per_element():
    """Issue 17: a 7x4096x4096x16 depthwise convolution (3.7 GB of activations) builds from shapes alone."""
    import tracemalloc

    from smaug_fast import Graph, nn

    tracemalloc.start()
    with Graph("big") as g:
        x = g.input((7, 4096, 4096, 16))
        nn.depthwise_convolution(x, 3)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 1 << 20 and g.macs == 7 * 4096 * 4096 * 16 * 9


def test_a_tensor_beyond_any_memory_is_refused_at_construction():
    from smaug_fast import Graph

    with pytest.raises(WorkloadError, match=r"shape = \(1, 1099511627776, 1099511627776, 8\): has 9.67e\+24 elements"):
        with Graph("huge") as g:
            g.input((1, 2**40, 2**40, 8))


def test_an_onnx_model_with_a_huge_input_is_refused_before_allocating(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    from smaug_fast.workload import from_onnx

    dims = [1, 8, 1 << 30, 1 << 30]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, dims)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, dims)
    model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]))
    onnx.save(model, tmp_path / "huge.onnx")
    with pytest.raises(WorkloadError, match=r"at most 2\*\*48"):
        from_onnx(tmp_path / "huge.onnx")
