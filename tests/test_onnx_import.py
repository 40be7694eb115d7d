"""ONNX import: small models built with onnx.helper, run by ONNX's own reference evaluator and by a
naive NumPy interpreter of our graph (plain loops), in both layouts; structure, fusion, errors.

The opt-in ``torch`` tests export PyTorch definitions of zoo networks and check the imported graph
equals the zoo graph op for op.
"""

from __future__ import annotations

import io
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smaug_fast import WorkloadError, zoo
from smaug_fast.workload import CpuOp, OnnxImportWarning, from_onnx

onnx = pytest.importorskip("onnx", reason="the onnx package is not installed: pip install -e '.[onnx]'")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

OPSET = 17
LAYOUTS = ("NHWC", "NCHW")

# -- building models ----------------------------------------------------------------------------------


def make_model(nodes, inputs, outputs, inits=(), opset=OPSET, name="test"):
    """A checked ModelProto: ``inputs``/``outputs`` are (name, shape) pairs, ``inits`` name -> array."""
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
        [numpy_helper.from_array(np.asarray(v), n) for n, v in dict(inits).items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    return model


def rand(rng, *shape, positive=False):
    x = rng.standard_normal(shape).astype(np.float32)
    return np.abs(x) + 0.5 if positive else x


# -- a naive interpreter of our graphs (the reference for numerics) ---------------------------------


def _activation(x, function, params):
    if function == "relu":
        return np.maximum(x, 0)
    if function == "lrelu":
        return np.where(x > 0, x, params[0] * x)
    if function == "elu":
        return np.where(x > 0, x, params[0] * (np.exp(x) - 1))
    if function == "selu":
        return params[1] * np.where(x > 0, x, params[0] * (np.exp(x) - 1))
    if function == "tanh":
        return np.tanh(x)
    if function == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if function == "hard_tanh":
        return np.clip(x, params[0], params[1])
    if function == "softmax":
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    raise AssertionError(function)


def _to_nchw(x, layout):
    return x.transpose(0, 3, 1, 2) if layout == "NHWC" else x


def _from_nchw(x, layout):
    return x.transpose(0, 2, 3, 1) if layout == "NHWC" else x


def _conv(x, w, op):
    layout = op.inputs[0].layout
    x = _to_nchw(x, layout)
    w = w.transpose(0, 3, 1, 2) if layout == "NHWC" else w  # K x C/g x R x S
    t, b, left, right = op.pads
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (left, right)))
    k, cg, r, s = w.shape
    sh, sw = op.stride
    oh, ow = (xp.shape[2] - r) // sh + 1, (xp.shape[3] - s) // sw + 1
    out = np.zeros((x.shape[0], k, oh, ow))
    per_group = k // op.groups
    for kk in range(k):
        g = kk // per_group
        for i in range(oh):
            for j in range(ow):
                window = xp[:, g * cg : (g + 1) * cg, i * sh : i * sh + r, j * sw : j * sw + s]
                out[:, kk, i, j] = (window * w[kk]).sum(axis=(1, 2, 3))
    return _from_nchw(out, layout)


def _pool(x, op):
    layout = op.inputs[0].layout
    x = _to_nchw(x, layout)
    t, b, left, right = op.pads
    fill = -np.inf if op.mode == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (t, b), (left, right)), constant_values=fill)
    r, s = op.pool_size
    sh, sw = op.stride
    oh, ow = (xp.shape[2] - r) // sh + 1, (xp.shape[3] - s) // sw + 1
    out = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = xp[:, :, i * sh : i * sh + r, j * sw : j * sw + s]
            out[:, :, i, j] = window.max(axis=(2, 3)) if op.mode == "max" else window.sum(axis=(2, 3)) / (r * s)
    return _from_nchw(out, layout)


def run_graph(g, feeds):
    """Every tensor's value, computing each op of ``g`` in float64 from feeds and constant_values."""
    env = {name: np.asarray(v, dtype=np.float64) for name, v in g.constant_values.items()}
    env.update({name: np.asarray(v, dtype=np.float64) for name, v in feeds.items()})
    for op in g.topological_order():
        xs = [env[t.name] for t in op.inputs]
        kind = type(op).__name__
        if kind == "Convolution":
            y = _conv(xs[0], xs[1], op)
        elif kind == "InnerProduct":
            y = xs[0] @ xs[1].T
        elif kind in ("MaxPooling", "AvgPooling"):
            y = _pool(xs[0], op)
        elif kind == "BatchNorm":
            x = xs[0]
            axis = 1 if op.inputs[0].layout == "NCHW" else x.ndim - 1
            shape = [1] * x.ndim
            shape[axis] = -1
            mean, var, gamma, beta = (p.reshape(shape) for p in xs[1:])
            y = (x - mean) * var * gamma + beta
        elif kind == "Activation":
            y = _activation(xs[0], op.function, op.activation_params)
        elif kind == "Eltwise":
            y = xs[0] + xs[1] if op.function == "add" else xs[0] * xs[1]
        elif kind == "Concat":
            y = np.concatenate(xs, axis=op.axis)
        elif kind == "Reshape":
            y = xs[0].reshape(op.shape)
        elif kind == "Reorder":
            src = op.inputs[0].layout
            if op.target == "NC" and xs[0].ndim == 4:
                y = xs[0].reshape(xs[0].shape[0], -1)
            elif (src, op.target) == ("NCHW", "NHWC"):
                y = xs[0].transpose(0, 2, 3, 1)
            elif (src, op.target) == ("NHWC", "NCHW"):
                y = xs[0].transpose(0, 3, 1, 2)
            else:
                y = xs[0].T
        elif kind == "Padding":
            y = np.pad(xs[0], list(zip(op.pads[0::2], op.pads[1::2])))
        else:
            raise AssertionError(f"no naive model of {kind}")
        if getattr(op, "activation", None):
            y = _activation(y, op.activation, op.activation_params)
        assert y.shape == op.output.shape, (op.name, y.shape, op.output.shape)
        env[op.output.name] = y
    return env


def check_numerics(model, feeds, layout, *, rtol=1e-4, atol=1e-5, **kwargs):
    """Import ``model`` in ``layout``; its single output must equal ONNX's reference evaluator's."""
    expected = ReferenceEvaluator(model).run(None, feeds)[0]
    g = from_onnx(model, layout=layout, dtype="float32", **kwargs)
    ours = {}
    for name, x in feeds.items():
        t = g.tensor(name)
        ours[name] = x.transpose(0, 2, 3, 1) if t.layout == "NHWC" and x.ndim == 4 else x
    (out,) = g.outputs
    y = run_graph(g, ours)[out.name]
    if out.layout == "NHWC":
        y = y.transpose(0, 3, 1, 2)
    np.testing.assert_allclose(y, expected, rtol=rtol, atol=atol)
    return g


def kinds(g):
    return [op.kind for op in g.topological_order()]


# -- a small CNN: conv + relu + pool + flatten + gemm ------------------------------------------------


def small_cnn(rng, *, gemm_bias=True, softmax=True, conv_bias=False):
    inits = {
        "w1": rand(rng, 4, 3, 3, 3),
        "w2": rand(rng, 5, 4 * 3 * 3),  # Gemm B with transB=1: K x C, as torch.nn.Linear
    }
    conv_inputs = ["x", "w1"]
    if conv_bias:
        inits["b1"] = rand(rng, 4)
        conv_inputs.append("b1")
    gemm_inputs = ["f", "w2"]
    if gemm_bias:
        inits["b2"] = rand(rng, 5)
        gemm_inputs.append("b2")
    nodes = [
        helper.make_node("Conv", conv_inputs, ["c"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu1"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flat", axis=1),
        helper.make_node("Gemm", gemm_inputs, ["y" if softmax else "out"], name="fc", transB=1),
    ]
    if softmax:
        nodes.append(helper.make_node("Softmax", ["y"], ["out"], name="softmax", axis=-1))
    return make_model(nodes, [("x", [1, 3, 6, 6])], [("out", [1, 5])], inits)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_small_cnn_structure_and_numerics(layout):
    rng = np.random.default_rng(0)
    model = small_cnn(rng)
    g = check_numerics(model, {"x": rand(rng, 1, 3, 6, 6)}, layout)
    assert kinds(g) == ["conv", "max_pool", "reorder", "inner_product", "add", "softmax"]
    conv = g.op("conv1")
    assert conv.activation == "relu"  # Relu fused, as SMAUG's networks do
    assert conv.padding == "same" and conv.pads == (1, 1, 1, 1)
    assert g.inputs[0].layout == layout
    if layout == "NHWC":
        assert g.inputs[0].shape == (1, 6, 6, 3)
        assert conv.inputs[1].shape == (4, 3, 3, 3) and conv.inputs[1].layout == "NHWC"  # K x R x S x C
        # The flatten reads 3x3x4 NHWC data: one Reorder to NC, the FC weight columns permuted.
        w = g.constant_values["fc/weights"]
        onnx_w = numpy_helper.to_array(next(i for i in model.graph.initializer if i.name == "w2"))
        perm = np.arange(36).reshape(4, 3, 3).transpose(1, 2, 0).ravel()
        np.testing.assert_array_equal(w, onnx_w[:, perm])
    else:
        assert g.inputs[0].shape == (1, 3, 6, 6)
    bias = g.op("fc/add_bias")
    assert g.constant_values[bias.inputs[1].name].shape == (1, 5)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_fusion_can_be_turned_off(layout):
    rng = np.random.default_rng(1)
    model = small_cnn(rng, gemm_bias=False, softmax=False)
    g = check_numerics(model, {"x": rand(rng, 1, 3, 6, 6)}, layout, fuse_activations=False)
    assert kinds(g) == ["conv", "relu", "max_pool", "reorder", "inner_product"]
    assert g.op("conv1").activation is None


def test_initializer_values_are_keyed_by_our_tensor_names():
    rng = np.random.default_rng(2)
    g = from_onnx(small_cnn(rng), dtype="float16")
    names = {t.name for t in g.constants}
    assert set(g.constant_values) == names
    for t in g.constants:
        v = g.constant_values[t.name]
        assert v.shape == t.shape and v.dtype == np.float16
    assert g.dtype == "float16" and all(t.dtype == "float16" for t in g.tensors.values())


def test_one_reorder_serves_every_consumer():
    """A 4-D reshape result in ONNX order feeds two convs in NHWC mode: converted once."""
    rng = np.random.default_rng(25)
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["r"], name="reshape"),
        helper.make_node("Conv", ["r", "w1"], ["a"], name="c1"),
        helper.make_node("Conv", ["r", "w2"], ["b"], name="c2"),
        helper.make_node("Add", ["a", "b"], ["out"], name="add"),
    ]
    inits = {"shape": np.array([1, 2, 3, 4], np.int64), "w1": rand(rng, 3, 2, 1, 1), "w2": rand(rng, 3, 2, 1, 1)}
    model = make_model(nodes, [("x", [1, 24])], [("out", [1, 3, 3, 4])], inits)
    g = check_numerics(model, {"x": rand(rng, 1, 24)}, "NHWC")
    assert kinds(g) == ["reshape", "reorder", "conv", "conv", "add"]


def test_flatten_feeding_a_non_fc_op_inserts_a_reorder_to_nchw():
    rng = np.random.default_rng(3)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Flatten", ["c"], ["f"], name="flat"),
        helper.make_node("Softmax", ["f"], ["out"], name="sm", axis=1),
    ]
    model = make_model(nodes, [("x", [2, 2, 4, 4])], [("out", [2, 3 * 3 * 3])], {"w": rand(rng, 3, 2, 2, 2)})
    g = check_numerics(model, {"x": rand(rng, 2, 2, 4, 4)}, "NHWC")
    assert kinds(g) == ["conv", "reorder", "reorder", "softmax"]
    assert g.op("flat/to_nchw").output.layout == "NCHW"


# -- residual add, concat, depthwise, pad, batch norm --------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_residual_block_with_batch_norm(layout):
    rng = np.random.default_rng(4)
    c = 4
    inits = {"w": rand(rng, c, c, 3, 3), "g": rand(rng, c), "b": rand(rng, c), "m": rand(rng, c), "v": rand(rng, c, positive=True)}
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["bn"], name="bn", epsilon=1e-3),
        helper.make_node("Relu", ["bn"], ["r"], name="relu"),
        helper.make_node("Add", ["r", "x"], ["s"], name="add"),
        helper.make_node("Relu", ["s"], ["out"], name="relu_out"),
    ]
    model = make_model(nodes, [("x", [1, c, 5, 5])], [("out", [1, c, 5, 5])], inits)
    g = check_numerics(model, {"x": rand(rng, 1, c, 5, 5)}, layout)
    assert kinds(g) == ["conv", "batch_norm", "add", "relu"]
    bn = g.op("bn")
    assert bn.activation == "relu"
    np.testing.assert_allclose(g.constant_values["bn/var"].ravel(), 1 / np.sqrt(inits["v"] + 1e-3), rtol=1e-6)
    assert all(t.shape == (1, c) for t in bn.inputs[1:])


@pytest.mark.parametrize("layout", LAYOUTS)
def test_conv_bias_folds_into_a_following_batch_norm(layout):
    rng = np.random.default_rng(5)
    inits = {"w": rand(rng, 3, 2, 1, 1), "cb": rand(rng, 3), "g": rand(rng, 3), "b": rand(rng, 3), "m": rand(rng, 3),
             "v": rand(rng, 3, positive=True)}
    nodes = [
        helper.make_node("Conv", ["x", "w", "cb"], ["c"], name="conv"),
        helper.make_node("BatchNormalization", ["c", "g", "b", "m", "v"], ["out"], name="bn"),
    ]
    model = make_model(nodes, [("x", [1, 2, 3, 3])], [("out", [1, 3, 3, 3])], inits)
    g = check_numerics(model, {"x": rand(rng, 1, 2, 3, 3)}, layout)
    assert kinds(g) == ["conv", "batch_norm"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_conv_bias_without_batch_norm_is_an_add_and_blocks_fusion(layout):
    rng = np.random.default_rng(6)
    model = small_cnn(rng, conv_bias=True, gemm_bias=False, softmax=False)
    g = check_numerics(model, {"x": rand(rng, 1, 3, 6, 6)}, layout)
    assert kinds(g) == ["conv", "add", "relu", "max_pool", "reorder", "inner_product"]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_concat_along_channels(layout):
    rng = np.random.default_rng(7)
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], name="c1"),
        helper.make_node("Conv", ["x", "w2"], ["b"], name="c2"),
        helper.make_node("Concat", ["a", "b", "x"], ["out"], name="cat", axis=1),
    ]
    inits = {"w1": rand(rng, 2, 3, 1, 1), "w2": rand(rng, 5, 3, 1, 1)}
    model = make_model(nodes, [("x", [1, 3, 4, 4])], [("out", [1, 10, 4, 4])], inits)
    g = check_numerics(model, {"x": rand(rng, 1, 3, 4, 4)}, layout)
    assert g.op("cat").axis == (3 if layout == "NHWC" else 1)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_depthwise_conv(layout):
    rng = np.random.default_rng(8)
    c = 6
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["d"], name="dw", group=c, strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["d", "lo", "hi"], ["out"], name="relu6"),
    ]
    inits = {"w": rand(rng, c, 1, 3, 3), "lo": np.array(0.0, np.float32), "hi": np.array(6.0, np.float32)}
    model = make_model(nodes, [("x", [1, c, 7, 7])], [("out", [1, c, 4, 4])], inits)
    g = check_numerics(model, {"x": 3 * rand(rng, 1, c, 7, 7)}, layout)
    op = g.op("dw")
    assert op.depthwise and op.groups == c
    assert op.activation == "hard_tanh" and op.activation_params == (0.0, 6.0)  # ReLU6, fused
    assert op.inputs[1].shape == ((c, 3, 3, 1) if layout == "NHWC" else (c, 1, 3, 3))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_pad_maps_axes(layout):
    rng = np.random.default_rng(9)
    nodes = [
        helper.make_node("Pad", ["x", "pads"], ["p"], name="pad"),
        helper.make_node("MaxPool", ["p"], ["out"], name="pool", kernel_shape=[2, 2], strides=[1, 1]),
    ]
    pads = np.array([0, 0, 1, 2, 0, 1, 3, 0], np.int64)  # (N, C, H, W) begins, then ends
    model = make_model(nodes, [("x", [1, 2, 3, 3])], [("out", [1, 3, 6, 4])], {"pads": pads})
    g = check_numerics(model, {"x": rand(rng, 1, 2, 3, 3)}, layout)
    expected = (0, 0, 1, 3, 2, 0, 0, 1) if layout == "NHWC" else (0, 0, 0, 1, 1, 3, 2, 0)
    assert g.op("pad").pads == expected


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "op_type, attrs, function",
    [
        ("LeakyRelu", {"alpha": 0.3}, "lrelu"),
        ("Elu", {"alpha": 0.7}, "elu"),
        ("Selu", {}, "selu"),
        ("Tanh", {}, "tanh"),
        ("Sigmoid", {}, "sigmoid"),
        ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}, "hard_tanh"),
    ],
)
def test_activations_are_exact(layout, op_type, attrs, function):
    rng = np.random.default_rng(10)
    nodes = [
        helper.make_node("MaxPool", ["x"], ["p"], name="pool", kernel_shape=[1, 1]),
        helper.make_node(op_type, ["p"], ["a"], name="act", **attrs),
        helper.make_node("Mul", ["a", "scale"], ["out"], name="mul"),
    ]
    scale = rand(rng, 1, 3, 1, 1)
    model = make_model(nodes, [("x", [1, 3, 2, 2])], [("out", [1, 3, 2, 2])], {"scale": scale})
    g = check_numerics(model, {"x": 3 * rand(rng, 1, 3, 2, 2)}, layout)
    assert g.op("act").kind == function
    if op_type == "HardSigmoid":
        assert kinds(g) == ["max_pool", "mul", "add", "hard_tanh", "mul"]
    mul_const = g.op("mul").inputs[1]
    assert mul_const.shape == ((1, 1, 1, 3) if layout == "NHWC" else (1, 3, 1, 1))


def test_fused_activation_after_gemm_and_batch_norm_1d():
    rng = np.random.default_rng(11)
    nodes = [
        helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="fc", alpha=0.5, beta=2.0),
        helper.make_node("BatchNormalization", ["y", "g", "bb", "m", "v"], ["n"], name="bn"),
        helper.make_node("Elu", ["n"], ["out"], name="elu", alpha=0.5),
    ]
    inits = {"w": rand(rng, 6, 4), "b": rand(rng, 4), "g": rand(rng, 4), "bb": rand(rng, 4), "m": rand(rng, 4),
             "v": rand(rng, 4, positive=True)}
    model = make_model(nodes, [("x", [3, 6])], [("out", [3, 4])], inits)
    g = check_numerics(model, {"x": rand(rng, 3, 6)}, "NHWC")
    assert kinds(g) == ["inner_product", "batch_norm"]  # the bias folded into the BN, the ELU fused
    assert g.op("bn").activation == "elu" and g.op("bn").activation_params == (0.5,)


def test_matmul_batched_rows_and_activation_times_activation():
    rng = np.random.default_rng(12)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"], name="mm3d"),
        helper.make_node("Relu", ["h"], ["out"], name="relu"),
    ]
    model = make_model(nodes, [("x", [2, 3, 4])], [("out", [2, 3, 5])], {"w": rand(rng, 4, 5)})
    g = check_numerics(model, {"x": rand(rng, 2, 3, 4)}, "NHWC")
    assert kinds(g) == ["reshape", "inner_product", "reshape", "relu"]

    nodes = [helper.make_node("MatMul", ["a", "b"], ["out"], name="mm")]
    model = make_model(nodes, [("a", [2, 3]), ("b", [3, 4])], [("out", [2, 4])])
    expected = ReferenceEvaluator(model).run(None, feeds := {"a": rand(rng, 2, 3), "b": rand(rng, 3, 4)})[0]
    g = from_onnx(model)
    assert kinds(g) == ["reorder", "inner_product"]  # B (C x K) is reordered to K x C
    (out,) = g.outputs
    np.testing.assert_allclose(run_graph(g, feeds)[out.name], expected, rtol=1e-5)


@pytest.mark.parametrize("trans_a, trans_b", [(0, 0), (1, 0), (1, 1)])
def test_gemm_transposes_and_alpha(trans_a, trans_b):
    rng = np.random.default_rng(21)
    m, c, k = 2, 3, 4
    a_shape = [c, m] if trans_a else [m, c]
    w = rand(rng, k, c) if trans_b else rand(rng, c, k)
    node = helper.make_node("Gemm", ["a", "w", "bias"], ["out"], name="fc", transA=trans_a, transB=trans_b, alpha=1.5)
    model = make_model([node], [("a", a_shape)], [("out", [m, k])], {"w": w, "bias": rand(rng, 1, k)})
    g = check_numerics(model, {"a": rand(rng, *a_shape)}, "NHWC")
    assert kinds(g) == (["reorder"] if trans_a else []) + ["inner_product", "add"]


def test_gemm_with_runtime_weights():
    rng = np.random.default_rng(22)
    node = helper.make_node("Gemm", ["a", "b"], ["out"], name="fc")
    model = make_model([node], [("a", [2, 3]), ("b", [3, 4])], [("out", [2, 4])])
    feeds = {"a": rand(rng, 2, 3), "b": rand(rng, 3, 4)}
    expected = ReferenceEvaluator(model).run(None, feeds)[0]
    g = from_onnx(model)
    (out,) = g.outputs
    np.testing.assert_allclose(run_graph(g, feeds)[out.name], expected, rtol=1e-5)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_old_opset_attributes(layout):
    """Opset 10: Clip and Pad take attributes, Softmax flattens from its axis, Dropout has a ratio."""
    rng = np.random.default_rng(23)
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("Clip", ["c"], ["r"], name="relu6", min=0.0, max=6.0),
        helper.make_node("Pad", ["r"], ["p"], name="pad", pads=[0, 0, 1, 0, 0, 0, 0, 1]),
        helper.make_node("GlobalAveragePool", ["p"], ["gap"], name="gap"),
        helper.make_node("Dropout", ["gap"], ["d"], name="drop", ratio=0.5),
        helper.make_node("Identity", ["d"], ["i"], name="id"),
        helper.make_node("Softmax", ["i"], ["out"], name="sm", axis=1),
    ]
    model = make_model(nodes, [("x", [1, 2, 3, 3])], [("out", [1, 4, 1, 1])], {"w": rand(rng, 4, 2, 1, 1)}, opset=10)
    x = 3 * rand(rng, 1, 2, 3, 3)
    if layout == "NCHW":  # softmax over C x 1 x 1, but our softmax normalizes over W only
        with pytest.raises(WorkloadError, match=r"node 'sm' \(op type Softmax\): axis = 1 \(opset 10\)"):
            from_onnx(model, layout=layout)
        nodes.insert(-1, helper.make_node("Flatten", ["i"], ["f"], name="flat"))
        nodes[-1] = helper.make_node("Softmax", ["f"], ["out"], name="sm", axis=1)
        model = make_model(nodes, [("x", [1, 2, 3, 3])], [("out", [1, 4])], {"w": rand(rng, 4, 2, 1, 1)}, opset=10)
    g = check_numerics(model, {"x": x}, layout)
    assert kinds(g) == ["conv", "padding", "avg_pool"] + (["reorder"] if layout == "NCHW" else []) + ["softmax"]
    assert g.op("conv").activation == "hard_tanh"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_squeeze_unsqueeze_sub_div(layout):
    rng = np.random.default_rng(24)
    nodes = [
        helper.make_node("GlobalMaxPool", ["x"], ["g"], name="gmp"),
        helper.make_node("Squeeze", ["g", "axes"], ["s"], name="squeeze"),
        helper.make_node("Sub", ["s", "mean"], ["c"], name="center"),
        helper.make_node("Div", ["c", "std"], ["n"], name="scale"),
        helper.make_node("Unsqueeze", ["n", "axes1"], ["out"], name="unsqueeze"),
    ]
    inits = {"axes": np.array([2, 3], np.int64), "axes1": np.array([1], np.int64), "mean": rand(rng, 3),
             "std": rand(rng, 3, positive=True)}
    model = make_model(nodes, [("x", [2, 3, 4, 4])], [("out", [2, 1, 3])], inits)
    g = check_numerics(model, {"x": rand(rng, 2, 3, 4, 4)}, layout)
    assert kinds(g) == ["max_pool", "reorder", "add", "mul", "reshape"]


def test_shape_arithmetic_is_folded_into_one_flatten():
    """x.view(x.size(0), -1) as exported: Shape -> Gather -> Unsqueeze -> Concat -> Reshape."""
    rng = np.random.default_rng(13)
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["f"], name="view"),
        helper.make_node("MatMul", ["f", "w"], ["out"], name="fc"),
    ]
    inits = {"zero": np.array(0, np.int64), "axes": np.array([0], np.int64), "minus1": np.array([-1], np.int64),
             "w": rand(rng, 2 * 3 * 3, 4)}
    model = make_model(nodes, [("x", [1, 2, 3, 3])], [("out", [1, 4])], inits)
    g = check_numerics(model, {"x": rand(rng, 1, 2, 3, 3)}, "NHWC")
    assert kinds(g) == ["reorder", "inner_product"]


def test_symbolic_batch_dimension_takes_the_batch_argument():
    rng = np.random.default_rng(14)
    model = small_cnn(rng)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    g = from_onnx(model, batch=3)
    assert g.inputs[0].shape == (3, 6, 6, 3)
    assert g.op("fc").output.shape == (3, 5)
    model.graph.input[0].type.tensor_type.shape.dim[2].dim_param = "H"
    with pytest.raises(WorkloadError, match=r"input 'x': dim\[2\] = 'H': only the batch dimension"):
        from_onnx(model)


def test_average_pool_approximations_warn():
    nodes = [helper.make_node("AveragePool", ["x"], ["out"], name="avg", kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    model = make_model(nodes, [("x", [1, 2, 4, 4])], [("out", [1, 2, 4, 4])])
    with pytest.warns(OnnxImportWarning, match="'avg'.*count_include_pad = 0"):
        g = from_onnx(model)
    assert g.op("avg").pads == (1, 1, 1, 1)
    nodes = [helper.make_node("AveragePool", ["x"], ["out"], name="avg", kernel_shape=[2, 2], strides=[2, 2],
                              ceil_mode=1)]
    model = make_model(nodes, [("x", [1, 2, 5, 5])], [("out", [1, 2, 3, 3])])
    with pytest.warns(OnnxImportWarning, match="ceil_mode"):
        g = from_onnx(model, layout="NCHW")
    assert g.op("avg").output.shape == (1, 2, 3, 3)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_max_pool_ceil_mode_is_exact(layout):
    rng = np.random.default_rng(15)
    nodes = [helper.make_node("MaxPool", ["x"], ["out"], name="mp", kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)]
    model = make_model(nodes, [("x", [1, 2, 8, 8])], [("out", [1, 2, 4, 4])])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_numerics(model, {"x": rand(rng, 1, 2, 8, 8)}, layout)


@given(
    c=st.integers(1, 4),
    k_per_group=st.integers(1, 3),
    depthwise=st.booleans(),
    r=st.integers(1, 3),
    s=st.integers(1, 3),
    stride=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    pads=st.tuples(*[st.integers(0, 2)] * 4),
    auto_pad=st.sampled_from(["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]),
    bias=st.booleans(),
    layout=st.sampled_from(LAYOUTS),
    seed=st.integers(0, 2**16),
)
def test_random_convs_match_the_onnx_reference(c, k_per_group, depthwise, r, s, stride, pads, auto_pad, bias, layout, seed):
    rng = np.random.default_rng(seed)
    groups = c if depthwise else 1
    k = k_per_group * groups
    h = w = 5
    attrs = {"strides": list(stride), "group": groups}
    if auto_pad == "NOTSET":
        attrs["pads"] = [pads[0], pads[2], pads[1], pads[3]]
    else:
        attrs["auto_pad"] = auto_pad
    inits = {"w": rand(rng, k, c // groups, r, s)}
    inputs = ["x", "w"]
    if bias:
        inits["b"] = rand(rng, k)
        inputs.append("b")
    node = helper.make_node("Conv", inputs, ["out"], name="conv", **attrs)
    model = make_model([node], [("x", [1, c, h, w])], [("out", ["N", "K", "H", "W"])], inits)
    check_numerics(model, {"x": rand(rng, 1, c, h, w)}, layout)


# -- unknown ops ------------------------------------------------------------------------------------


def lrn_model(rng):
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
        helper.make_node("LRN", ["c"], ["l"], name="norm1", size=3),
        helper.make_node("Relu", ["l"], ["out"], name="relu"),
    ]
    return make_model(nodes, [("x", [1, 2, 5, 5])], [("out", [1, 4, 5, 5])], {"w": rand(rng, 4, 2, 1, 1)})


def test_unknown_op_is_an_error_naming_type_and_node():
    with pytest.raises(WorkloadError, match=r"node 'norm1' \(op type LRN\): has no model.*unknown_ops='cpu'"):
        from_onnx(lrn_model(np.random.default_rng(16)))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_unknown_op_kept_as_cpu_op_with_a_warning(layout):
    with pytest.warns(OnnxImportWarning, match=r"node 'norm1' \(op type LRN\).*kept as a CPU op"):
        g = from_onnx(lrn_model(np.random.default_rng(16)), unknown_ops="cpu", layout=layout)
    op = g.op("norm1")
    assert isinstance(op, CpuOp) and op.op_type == "LRN" and op.kind == "cpu_op"
    assert op.output.shape == ((1, 5, 5, 4) if layout == "NHWC" else (1, 4, 5, 5))
    assert op.output.layout == layout
    assert kinds(g) == ["conv", "cpu_op", "relu"]


def test_custom_domain_op_without_shape_cannot_be_kept():
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Mystery", ["r"], ["out"], name="secret", domain="com.example"),
    ]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", "M"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("com.example", 1)])
    with pytest.raises(WorkloadError, match=r"node 'secret' \(op type com.example::Mystery\): is not a standard"):
        from_onnx(model)
    with pytest.raises(WorkloadError, match="output 'out' has no static shape"):
        from_onnx(model, unknown_ops="cpu")


def test_unsupported_variants_name_the_problem():
    rng = np.random.default_rng(17)
    dilated = helper.make_node("Conv", ["x", "w"], ["out"], name="dil", dilations=[2, 2])
    model = make_model([dilated], [("x", [1, 1, 6, 6])], [("out", [1, 1, 2, 2])], {"w": rand(rng, 1, 1, 3, 3)})
    with pytest.raises(WorkloadError, match=r"node 'dil' \(op type Conv\): dilations = \(2, 2\): only dilation 1"):
        from_onnx(model)
    reflect = helper.make_node("Pad", ["x", "pads"], ["out"], name="pad", mode="reflect")
    model = make_model([reflect], [("x", [1, 1, 3, 3])], [("out", [1, 1, 5, 5])], {"pads": np.array([0, 0, 1, 1, 0, 0, 1, 1])})
    with pytest.raises(WorkloadError, match="mode = 'reflect': only zero"):
        from_onnx(model)
    softmax = helper.make_node("Softmax", ["x"], ["out"], name="sm", axis=2)
    model = make_model([softmax], [("x", [1, 3, 4, 4])], [("out", [1, 3, 4, 4])])
    with pytest.raises(WorkloadError, match=r"node 'sm' \(op type Softmax\): axis = 2"):
        from_onnx(model)
    runtime_w = helper.make_node("Conv", ["x", "w"], ["out"], name="conv")
    model = make_model([runtime_w], [("x", [1, 1, 3, 3]), ("w", [1, 1, 1, 1])], [("out", [1, 1, 3, 3])])
    with pytest.raises(WorkloadError, match="needs a constant weight"):
        from_onnx(model)


# -- bad files and arguments ------------------------------------------------------------------------


def test_corrupt_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x08\x07garbage\xff\xfe not a protobuf" * 10)
    with pytest.raises(WorkloadError, match=r"ONNX file '.*broken\.onnx'"):
        from_onnx(path)
    with pytest.raises(WorkloadError, match=r"ONNX file '.*missing\.onnx': no such file"):
        from_onnx(tmp_path / "missing.onnx")
    with pytest.raises(WorkloadError, match="ONNX model bytes"):
        from_onnx(b"\xff" * 7)


def test_file_bytes_and_model_give_the_same_graph(tmp_path):
    model = small_cnn(np.random.default_rng(18))
    path = tmp_path / "cnn.onnx"
    onnx.save(model, path)
    graphs = [from_onnx(path), from_onnx(str(path)), from_onnx(model.SerializeToString()), from_onnx(model)]
    first = [(op.kind, op.output.shape, op.params()) for op in graphs[0]]
    for g in graphs[1:]:
        assert [(op.kind, op.output.shape, op.params()) for op in g] == first


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"layout": "NCWH"}, "layout = 'NCWH': must be 'NHWC' or 'NCHW'"),
        ({"unknown_ops": "skip"}, "unknown_ops = 'skip': must be 'error' or 'cpu'"),
        ({"dtype": "float64"}, "dtype = 'float64': unknown"),
        ({"batch": 0}, "batch = 0: must be an integer >= 1"),
        ({"name": ""}, "name = '': must be a non-empty string"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(WorkloadError, match=match):
        from_onnx(small_cnn(np.random.default_rng(19)), **kwargs)


def test_not_a_model():
    with pytest.raises(WorkloadError, match="path_or_model = 42: must be a file path"):
        from_onnx(42)


def test_missing_onnx_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"needs the onnx package.*smaug-fast\[onnx\]"):
        from_onnx("whatever.onnx")


# -- PyTorch exports of zoo networks (opt-in: --runtorch) ----------------------------------------------


def _torch_export(module, shape):
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install -e '.[torch]'")
    module.eval()
    f = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        # TorchScript exporter (the dynamo one needs onnxscript); PRESERVE keeps batch norms unfolded.
        torch.onnx.export(module, (torch.zeros(shape),), f, dynamo=False, input_names=["input"],
                          training=torch.onnx.TrainingMode.PRESERVE)
    return onnx.load_from_string(f.getvalue())


def _same_graph(imported, reference):
    """Op for op: class, kind, output shape, weight shapes and every parameter."""
    ours = imported.topological_order()
    theirs = reference.topological_order()
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert (type(a), a.kind, a.output.shape, a.output.layout) == (type(b), b.kind, b.output.shape, b.output.layout), (a.name, b.name)
        assert [t.shape for t in a.weights] == [t.shape for t in b.weights], (a.name, b.name)
        assert a.params() == b.params(), (a.name, b.name)
    assert imported.macs == reference.macs and imported.weight_bytes == reference.weight_bytes


def _torch_modules():
    from torch import nn

    class LeNet5(nn.Module):
        """SMAUG's LeNet5 (zoo.lenet5): two 3x3 valid convs, 2x2 max pool, FC 128, FC 10; no biases."""

        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 32, 3, bias=False), nn.ReLU(), nn.Conv2d(32, 32, 3, bias=False), nn.ReLU(), nn.MaxPool2d(2)
            )
            self.fc1 = nn.Linear(32 * 12 * 12, 128, bias=False)
            self.fc2 = nn.Linear(128, 10, bias=False)

        def forward(self, x):
            return self.fc2(torch_relu(self.fc1(self.features(x).flatten(1))))

    def torch_relu(x):
        return nn.functional.relu(x)

    class Bottleneck(nn.Module):
        def __init__(self, cin, maps, stride):
            super().__init__()
            self.conv1, self.bn1 = nn.Conv2d(cin, maps, 1, bias=False), nn.BatchNorm2d(maps)
            self.conv2, self.bn2 = nn.Conv2d(maps, maps, 3, stride, 1, bias=False), nn.BatchNorm2d(maps)
            self.conv3, self.bn3 = nn.Conv2d(maps, 4 * maps, 1, bias=False), nn.BatchNorm2d(4 * maps)
            self.down = None
            if stride != 1 or cin != 4 * maps:
                self.down = nn.Sequential(nn.Conv2d(cin, 4 * maps, 1, stride, bias=False), nn.BatchNorm2d(4 * maps))

        def forward(self, x):
            y = torch_relu(self.bn1(self.conv1(x)))
            y = torch_relu(self.bn2(self.conv2(y)))
            y = self.bn3(self.conv3(y))
            return torch_relu(y + (x if self.down is None else self.down(x)))

    class ResNet50(nn.Module):
        """ResNet50 v1.5 written like torchvision's (stride on the 3x3 conv), FC without bias."""

        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(3, 2, 1))
            blocks, cin = [], 64
            for maps, count, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
                for b in range(count):
                    blocks.append(Bottleneck(cin, maps, stride if b == 0 else 1))
                    cin = 4 * maps
            self.blocks = nn.Sequential(*blocks)
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(2048, 1000, bias=False)

        def forward(self, x):
            return self.fc(self.pool(self.blocks(self.stem(x))).flatten(1))

    class MobileNetV1(nn.Module):
        def __init__(self):
            super().__init__()
            from smaug_fast.zoo.extra_networks import MOBILENET_V1_BLOCKS

            layers = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6()]
            cin = 32
            for maps, stride in MOBILENET_V1_BLOCKS:
                layers += [nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin), nn.ReLU6()]
                layers += [nn.Conv2d(cin, maps, 1, bias=False), nn.BatchNorm2d(maps), nn.ReLU6()]
                cin = maps
            self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
            self.fc = nn.Linear(1024, 1000, bias=False)

        def forward(self, x):
            return self.fc(self.features(x))

    return {"lenet5": (LeNet5, (1, 1, 28, 28)), "resnet50_imagenet": (ResNet50, (1, 3, 224, 224)),
            "mobilenet_v1": (MobileNetV1, (1, 3, 224, 224))}


@pytest.mark.torch
@pytest.mark.parametrize("network", ["lenet5", "resnet50_imagenet", "mobilenet_v1"])
def test_pytorch_export_equals_the_zoo_graph(network):
    pytest.importorskip("torch", reason="PyTorch is not installed: pip install -e '.[torch]'")
    cls, shape = _torch_modules()[network]
    model = _torch_export(cls(), shape)
    imported = from_onnx(model, dtype="float16")
    _same_graph(imported, zoo.load(network))


@pytest.mark.torch
def test_pytorch_lenet5_numerics_survive_the_nhwc_conversion():
    """Trained-like weights through NHWC conv weights and the permuted FC columns: same outputs as torch."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install -e '.[torch]'")
    cls, shape = _torch_modules()["lenet5"]
    torch.manual_seed(0)
    module = cls().eval()
    model = _torch_export(module, shape)
    x = np.random.default_rng(20).standard_normal(shape).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    g = from_onnx(model, dtype="float32")
    (out,) = g.outputs
    y = run_graph(g, {"input": x.transpose(0, 2, 3, 1)})[out.name]
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
