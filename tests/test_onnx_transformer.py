"""ONNX import of transformer ops (issue 19): LayerNormalization, Gelu (erf and tanh forms), Softmax over
the last axis, MatMul with batch dimensions, Transpose, Gather as an embedding lookup. Small models built
with onnx.helper; run_functional (our kernels) against ONNX's reference evaluator."""

from __future__ import annotations

import numpy as np
import pytest

from smaug_fast import WorkloadError, run_functional
from smaug_fast.workload import from_onnx

onnx = pytest.importorskip("onnx", reason="the onnx package is not installed: pip install -e '.[onnx]'")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

TOLERANCE = 1e-5  # float32 on both sides: max |ours - reference| / max |reference|


def make_model(nodes, inputs, outputs, inits=(), opset=20):
    """A checked ModelProto; ``inputs``: (name, shape) float32 or (name, shape, elem_type)."""
    def info(spec):
        name, shape, *elem = spec
        return helper.make_tensor_value_info(name, elem[0] if elem else TensorProto.FLOAT, shape)

    graph = helper.make_graph(nodes, "t", [info(i) for i in inputs], [info(o) for o in outputs],
                              [numpy_helper.from_array(np.asarray(v), n) for n, v in dict(inits).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    return model


def check(model, feeds, layout="NHWC"):
    """Import ``model``; run_functional of the graph equals ONNX's reference evaluator on every output."""
    expected = ReferenceEvaluator(model).run(None, feeds)
    g = from_onnx(model, layout=layout, dtype="float32")
    ours = {}
    for k, v in feeds.items():  # 4-D inputs are held NHWC in NHWC mode
        v = v.astype(np.int32) if v.dtype.kind == "i" else v
        ours[k] = np.ascontiguousarray(v.transpose(0, 2, 3, 1)) if g.tensor(k).layout == "NHWC" else v
    _, values = run_functional(g, ours, return_intermediates=True)
    names = [o.name for o in model.graph.output]
    for name, ref in zip(names, expected):
        t = g.tensor(_tensor_of(g, model, name))
        got = values[t.name].transpose(0, 3, 1, 2) if t.layout == "NHWC" else values[t.name]
        if got.size == ref.size and got.ndim != ref.ndim:  # a MatMul on 3-D rows: the op before the unflatten
            got = got.reshape(ref.shape)
        assert got.shape == ref.shape, (name, got.shape, ref.shape)
        err = np.abs(got.astype(np.float64) - ref).max() / max(np.abs(ref).max(), 1e-30)
        assert err <= TOLERANCE, (name, err)
    return g


def _tensor_of(g, model, onnx_name):
    """Our tensor holding ONNX value ``onnx_name`` (the op named after the node that produces it)."""
    node = next(n for n in model.graph.node if onnx_name in n.output)
    return g.op(node.name).outputs[0].name


def kinds(g):
    return [op.kind for op in g.topological_order()]


def rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


# -- one op at a time --------------------------------------------------------------------------------


@pytest.mark.parametrize("with_bias", [True, False])
def test_layer_normalization(with_bias):
    rng = np.random.default_rng(0)
    inits = {"scale": rand(rng, 16) + 1.0}
    inputs = ["x", "scale"]
    if with_bias:
        inits["bias"] = rand(rng, 16)
        inputs.append("bias")
    model = make_model([helper.make_node("LayerNormalization", inputs, ["y"], name="ln", axis=-1, epsilon=1e-3)],
                       [("x", [2, 5, 16])], [("y", [2, 5, 16])], inits, opset=17)
    g = check(model, {"x": rand(rng, 2, 5, 16) * 3 + 1})
    assert kinds(g) == ["layer_norm"] and g.op("ln").eps == pytest.approx(1e-3)


@pytest.mark.parametrize("approximate, ours", [("none", "gelu"), ("tanh", "gelu_tanh")])
def test_gelu(approximate, ours):
    rng = np.random.default_rng(1)
    model = make_model([helper.make_node("Gelu", ["x"], ["y"], name="gelu", approximate=approximate)],
                       [("x", [3, 4, 9])], [("y", [3, 4, 9])])
    g = check(model, {"x": rand(rng, 3, 4, 9) * 3})
    assert kinds(g) == [ours]


def test_softmax_last_axis_of_a_3d_tensor():
    rng = np.random.default_rng(2)
    model = make_model([helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=-1)],
                       [("x", [2, 4, 6])], [("y", [2, 4, 6])], opset=17)
    assert kinds(check(model, {"x": rand(rng, 2, 4, 6) * 4})) == ["softmax"]


@pytest.mark.parametrize(
    "a_shape, b_shape",
    [((2, 3, 4, 5), (2, 3, 5, 6)),  # attention: equal batch dims
     ((2, 1, 4, 5), (3, 5, 6)),  # size-1 and missing batch dims broadcast
     ((4, 5), (2, 5, 3))],  # a 2-D A against batched B
)
def test_batched_matmul_of_two_activations(a_shape, b_shape):
    rng = np.random.default_rng(3)
    out = tuple(np.broadcast_shapes(a_shape[:-2], b_shape[:-2])) + (a_shape[-2], b_shape[-1])
    model = make_model([helper.make_node("MatMul", ["a", "b"], ["y"], name="bmm")],
                       [("a", list(a_shape)), ("b", list(b_shape))], [("y", list(out))], opset=17)
    g = check(model, {"a": rand(rng, *a_shape), "b": rand(rng, *b_shape)})
    assert g.op("bmm").kind == "batch_matmul" and g.op("bmm").outputs[0].shape == out


def test_batched_matmul_with_a_constant_operand():
    rng = np.random.default_rng(4)
    model = make_model([helper.make_node("MatMul", ["a", "w"], ["y"], name="bmm")],
                       [("a", [3, 4, 5])], [("y", [3, 4, 2])], {"w": rand(rng, 3, 5, 2)}, opset=17)
    g = check(model, {"a": rand(rng, 3, 4, 5)})
    assert kinds(g) == ["batch_matmul"] and g.op("bmm").inputs[1].constant


def test_gather_is_an_embedding_lookup():
    rng = np.random.default_rng(5)
    model = make_model([helper.make_node("Gather", ["table", "ids"], ["y"], name="wte", axis=0)],
                       [("ids", [2, 5], TensorProto.INT64)], [("y", [2, 5, 8])], {"table": rand(rng, 20, 8)},
                       opset=17)
    g = check(model, {"ids": rng.integers(0, 20, size=(2, 5)).astype(np.int64)})
    assert kinds(g) == ["embedding"] and g.inputs[0].dtype == "int32"


# -- a whole block -----------------------------------------------------------------------------------


def attention_block(rng, batch=2, seq=5, hidden=16, heads=4, vocab=30, gelu="tanh"):
    """Embedding, pre-LN self-attention (Q K^T scaled, causal-free softmax, P V), residual, LN, GELU MLP:
    a GPT-2-style block as exporters write it (MatMul + Add biases, Reshape/Transpose for the heads)."""
    d = hidden // heads
    f = {"table": rand(rng, vocab, hidden), "pos": rand(rng, seq, hidden) * 0.1,
         "g1": rand(rng, hidden) * 0.1 + 1, "b1": rand(rng, hidden) * 0.1,
         "wq": rand(rng, hidden, hidden) * 0.3, "wk": rand(rng, hidden, hidden) * 0.3,
         "wv": rand(rng, hidden, hidden) * 0.3, "wo": rand(rng, hidden, hidden) * 0.3,
         "bq": rand(rng, hidden) * 0.1, "g2": rand(rng, hidden) * 0.1 + 1, "b2": rand(rng, hidden) * 0.1,
         "w1": rand(rng, hidden, 4 * hidden) * 0.3, "w2": rand(rng, 4 * hidden, hidden) * 0.2,
         "heads_shape": np.array([batch, seq, heads, d], dtype=np.int64),
         "merge_shape": np.array([batch, seq, hidden], dtype=np.int64),
         "scale": np.array(1 / np.sqrt(d), dtype=np.float32)}
    n = helper.make_node
    nodes = [
        n("Gather", ["table", "ids"], ["emb"], name="wte"),
        n("Add", ["emb", "pos"], ["x"], name="add_pos"),
        n("LayerNormalization", ["x", "g1", "b1"], ["h"], name="ln_1", epsilon=1e-5),
        n("MatMul", ["h", "wq"], ["q0"], name="q_proj"), n("Add", ["q0", "bq"], ["q1"], name="q_bias"),
        n("MatMul", ["h", "wk"], ["k1"], name="k_proj"), n("MatMul", ["h", "wv"], ["v1"], name="v_proj"),
        n("Reshape", ["q1", "heads_shape"], ["q2"], name="q_heads"),
        n("Reshape", ["k1", "heads_shape"], ["k2"], name="k_heads"),
        n("Reshape", ["v1", "heads_shape"], ["v2"], name="v_heads"),
        n("Transpose", ["q2"], ["q"], name="q_t", perm=[0, 2, 1, 3]),
        n("Transpose", ["k2"], ["kt"], name="k_t", perm=[0, 2, 3, 1]),  # K^T: (B, heads, d, T)
        n("Transpose", ["v2"], ["v"], name="v_t", perm=[0, 2, 1, 3]),
        n("MatMul", ["q", "kt"], ["s0"], name="scores"), n("Mul", ["s0", "scale"], ["s"], name="scale_scores"),
        n("Softmax", ["s"], ["p"], name="softmax", axis=-1),
        n("MatMul", ["p", "v"], ["c0"], name="context"),
        n("Transpose", ["c0"], ["c1"], name="merge_t", perm=[0, 2, 1, 3]),
        n("Reshape", ["c1", "merge_shape"], ["c"], name="merge"),
        n("MatMul", ["c", "wo"], ["o"], name="o_proj"),
        n("Add", ["x", "o"], ["r1"], name="residual_1"),
        n("LayerNormalization", ["r1", "g2", "b2"], ["h2"], name="ln_2", epsilon=1e-5),
        n("MatMul", ["h2", "w1"], ["m0"], name="fc"), n("Gelu", ["m0"], ["m1"], name="gelu", approximate=gelu),
        n("MatMul", ["m1", "w2"], ["m2"], name="proj"),
        n("Add", ["r1", "m2"], ["out"], name="residual_2"),
    ]
    model = make_model(nodes, [("ids", [batch, seq], TensorProto.INT64)], [("out", [batch, seq, hidden])], f)
    return model, rng.integers(0, vocab, size=(batch, seq)).astype(np.int64)


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
@pytest.mark.parametrize("gelu", ["none", "tanh"])
def test_attention_block_equals_reference_evaluator(layout, gelu):
    rng = np.random.default_rng(6)
    model, ids = attention_block(rng, gelu=gelu)
    g = check(model, {"ids": ids}, layout)
    ks = kinds(g)
    assert ks.count("batch_matmul") == 2 and ks.count("layer_norm") == 2 and ks.count("transpose") == 4
    assert ks.count("embedding") == 1 and ks.count("softmax") == 1
    assert ks.count("gelu" if gelu == "none" else "gelu_tanh") == 1
    assert g.op("scores").inputs[0].shape == (2, 4, 5, 4) and g.op("scores").outputs[0].shape == (2, 4, 5, 5)


def test_attention_block_intermediates():
    """Every named node's output against the reference evaluator's (ONNX graph outputs added for them)."""
    rng = np.random.default_rng(7)
    model, ids = attention_block(rng)
    names = ["emb", "h", "q", "kt", "s0", "p", "c0", "c", "o", "r1", "h2", "m1", "out"]
    shapes = {"emb": [2, 5, 16], "h": [2, 5, 16], "q": [2, 4, 5, 4], "kt": [2, 4, 4, 5], "s0": [2, 4, 5, 5],
              "p": [2, 4, 5, 5], "c0": [2, 4, 5, 4], "c": [2, 5, 16], "o": [2, 5, 16], "r1": [2, 5, 16],
              "h2": [2, 5, 16], "m1": [2, 5, 64], "out": [2, 5, 16]}
    del model.graph.output[:]
    model.graph.output.extend([helper.make_tensor_value_info(k, TensorProto.FLOAT, shapes[k]) for k in names])
    onnx.checker.check_model(model)
    check(model, {"ids": ids})


# -- what is not supported is named ------------------------------------------------------------------


def test_unsupported_variants_are_named():
    rng = np.random.default_rng(8)
    ln = make_model([helper.make_node("LayerNormalization", ["x", "s"], ["y"], name="ln", axis=1)],
                    [("x", [2, 5, 16])], [("y", [2, 5, 16])], {"s": rand(rng, 5, 16)}, opset=17)
    with pytest.raises(WorkloadError, match=r"node 'ln' \(op type LayerNormalization\): axis = 1"):
        from_onnx(ln)
    ln_runtime = make_model([helper.make_node("LayerNormalization", ["x", "s"], ["y"], name="ln")],
                            [("x", [2, 16]), ("s", [16])], [("y", [2, 16])], opset=17)
    with pytest.raises(WorkloadError, match=r"needs a constant scale"):
        from_onnx(ln_runtime)
    gather = make_model([helper.make_node("Gather", ["x", "ids"], ["y"], name="g", axis=0)],
                        [("x", [20, 8]), ("ids", [3], TensorProto.INT64)], [("y", [3, 8])], opset=17)
    with pytest.raises(WorkloadError, match=r"node 'g' \(op type Gather\): is supported as an embedding lookup only"):
        from_onnx(gather)
    gather1 = make_model([helper.make_node("Gather", ["t", "ids"], ["y"], name="g", axis=1)],
                         [("ids", [3], TensorProto.INT64)], [("y", [20, 3])], {"t": rand(rng, 20, 8)}, opset=17)
    with pytest.raises(WorkloadError, match=r"embedding lookup only"):
        from_onnx(gather1)
    bmm = make_model([helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")],
                     [("a", [2, 4, 5]), ("b", [3, 5, 6])], [("y", [2, 4, 6])], opset=17)
    with pytest.raises(WorkloadError, match=r"batch dimensions do not broadcast"):
        from_onnx(bmm, unknown_ops="error")
    sm = make_model([helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=1)],
                    [("x", [2, 4, 6])], [("y", [2, 4, 6])], opset=17)
    with pytest.raises(WorkloadError, match=r"axis = 1"):
        from_onnx(sm)
