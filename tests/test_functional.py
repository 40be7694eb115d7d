"""run_functional: whole graphs against compositions of the naive references, defaults, and errors."""

from __future__ import annotations

import numpy as np
import pytest

import naive
from smaug_fast import Graph, WorkloadError, math, nn, run_functional, tensor, zoo
from smaug_fast.numerics import functional

pytestmark = pytest.mark.boundscheck


def small_cnn(dtype="float32", layout="NHWC"):
    with Graph("small", dtype=dtype, layout=layout) as g:
        shape = (2, 7, 6, 3) if layout == "NHWC" else (2, 3, 7, 6)
        x = g.input(shape, name="image")
        y = nn.convolution(x, 4, 2, stride=1, padding="same", activation="relu", name="conv")
        y = nn.batch_norm(y, activation="lrelu", name="bn")
        y = nn.max_pool(y, 2, 2, name="pool")
        y = tensor.flatten(y, name="flat")
        y = nn.mat_mul(y, 5, activation="tanh", name="fc")
        nn.softmax(y, name="prob")
    return g


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_small_cnn_matches_naive_composition(layout):
    g = small_cnn(layout=layout)
    outputs, v = run_functional(g, seed=3, return_intermediates=True)
    assert set(outputs) == {"prob"}
    conv = naive.conv2d(v["image"], v["conv/weights"], (1, 1), (1, 0, 1, 0), 1, layout)  # SAME, 2x2: extra pad top/left
    y = naive.activation(conv, "relu")
    p = [v[f"bn/{f}"] for f in ("mean", "var", "gamma", "beta")]
    y = naive.activation(naive.batch_norm(y, *p, layout), "lrelu", (0.2,))
    y = naive.pool(y, (2, 2), (2, 2), (0, 0, 0, 0), layout, "max")
    y = y.reshape(2, -1)
    y = naive.activation(naive.inner_product(y, v["fc/weights"]), "tanh")
    y = naive.activation(y, "softmax")
    np.testing.assert_allclose(outputs["prob"], y, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v["flat"], naive.reorder(v["pool"], layout, "NC"))


def test_every_data_movement_and_eltwise_op_in_a_graph():
    with Graph("moves", dtype="float32", layout="NHWC") as g:
        x = g.input((1, 4, 4, 6), name="x")
        a, b = tensor.split(x, [2, 4], axis=3, name="split")
        c = tensor.concat([b, a], 3, name="cat")
        r = tensor.reorder(c, "NCHW", name="to_nchw")
        p = tensor.padding(r, [0, 0, 1, 0, 0, 2, 1, 1], name="pad")
        t = tensor.repeat(p, [2, 1, 1, 1], name="rep")
        s = tensor.reshape(t, (2, 7 * 6 * 6), "NC", name="rs")
        m = math.mul(s, s, name="sq")
        q = math.add(m, s, name="sum")
        math.greater_equal(q, m, name="ge")
        nn.avg_pool(x, 3, 1, padding="same", name="avg")
    outputs, v = run_functional(g, return_intermediates=True)
    xs = v["x"]
    ref_c = naive.concat([xs[..., 2:], xs[..., :2]], 3)
    ref_p = naive.padding(naive.reorder(ref_c, "NHWC", "NCHW"), [0, 0, 1, 0, 0, 2, 1, 1])
    ref_s = naive.repeat(ref_p, [2, 1, 1, 1]).reshape(2, -1)
    ref_q = naive.eltwise(naive.eltwise(ref_s, ref_s, "mul"), ref_s, "add")
    np.testing.assert_array_equal(v["rs"], ref_s)
    np.testing.assert_allclose(v["sum"], ref_q, rtol=1e-6)
    np.testing.assert_array_equal(outputs["ge"], v["sum"] >= v["sq"])
    ref_avg = naive.pool(xs, (3, 3), (1, 1), (1, 1, 1, 1), "NHWC", "avg", True)
    np.testing.assert_allclose(outputs["avg"], ref_avg, rtol=1e-6, atol=1e-7)


def _lstm_step(x, h, c, w, u):
    """One LSTM step as SMAUG's Python API writes it (gate order i, f, c, o; tanh)."""
    z = x @ w.T + h @ u.T
    zi, zf, zc, zo = np.split(z, 4, axis=1)
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    c = sig(zf) * c + sig(zi) * np.tanh(zc)
    return sig(zo) * np.tanh(c), c


def test_lstm_zoo_network_matches_numpy_recurrence():
    g = zoo.load("lstm", dtype="float32")
    outputs, v = run_functional(g, seed=1, return_intermediates=True)
    x = v["input"].astype(np.float64)
    seq = [x[:, t] for t in range(x.shape[1])]
    for layer in ("lstm0", "lstm1"):
        w, u = v[f"{layer}/kernel"], v[f"{layer}/recurrent_kernel"]
        h = c = np.zeros((x.shape[0], u.shape[1]))
        out = []
        for step in seq:
            h, c = _lstm_step(step, h, c, w, u)
            out.append(h)
        seq = out
    final = [o for name, o in outputs.items() if name.startswith("lstm1:step3:mul_h")]
    assert len(final) == 1
    np.testing.assert_allclose(final[0], seq[-1], rtol=1e-5, atol=1e-6)


def test_lstm_initial_states_default_to_zero():
    g = zoo.load("lstm", dtype="float32")
    _, v = run_functional(g, return_intermediates=True)
    states = [t.name for t in g.constants if t.name.split("/")[-1].split("_")[0] in ("h", "c")]
    assert states and all(not v[name].any() for name in states)


def test_float16_network_tracks_float32_with_the_same_weights():
    g16, g32 = zoo.load("lenet5", dtype="float16"), zoo.load("lenet5", dtype="float32")
    out16, v16 = run_functional(g16, return_intermediates=True)
    as32 = {name: a.astype(np.float32) for name, a in v16.items()}
    out32 = run_functional(
        g32,
        inputs={t.name: as32[t.name] for t in g32.inputs},
        weights={t.name: as32[t.name] for t in g32.constants},
    )
    for name, y16 in out16.items():
        assert y16.dtype == np.float16
        scale = np.abs(out32[name]).max()
        # fp16 storage between layers: a few fp16 roundings (2^-11 each) per layer, 4 layers.
        np.testing.assert_allclose(y16.astype(np.float32), out32[name], atol=2e-2 * scale, rtol=2e-2)


def test_defaults_are_seeded_and_per_tensor():
    g = small_cnn()
    a = run_functional(g, seed=5, return_intermediates=True)[1]
    b = run_functional(g, seed=5, return_intermediates=True)[1]
    c = run_functional(g, seed=6, return_intermediates=True)[1]
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["conv/weights"], c["conv/weights"])
    # Giving one weight leaves every other default unchanged.
    w = np.zeros_like(a["fc/weights"])
    d = run_functional(g, seed=5, weights={"fc/weights": w}, return_intermediates=True)[1]
    np.testing.assert_array_equal(d["conv/weights"], a["conv/weights"])
    assert not d["fc"].any()


def test_default_distributions():
    g = zoo.load("resnet50_imagenet", dtype="float32")
    roles = functional._roles(g)
    values = {name: functional._default_value(g.tensor(name), roles[name][0], 0, "he")
              for name in ("conv0/weights", "fc/weights", "bn0/var")}
    assert [roles[n][0] for n in values] == ["conv", "fc", "bn:var"]
    assert roles["bn2a_2c/gamma"][0] == "bn:gamma_residual" and roles["bn2a_2b/gamma"][0] == "bn:gamma"
    w = values["conv0/weights"]
    bound = np.sqrt(6.0 / (7 * 7 * 3))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert abs(w.mean()) < 0.05 * bound
    var = values["bn0/var"]  # 1/sqrt(v + eps), v in [0.5, 1.5)
    assert var.min() > 1 / np.sqrt(1.5 + 1e-5) - 1e-6 and var.max() <= 1 / np.sqrt(0.5) + 1e-6
    smaug = functional._default_value(g.tensor("conv0/weights"), "conv", 0, "smaug")
    assert smaug.min() >= 0 and smaug.max() < 0.005


@pytest.mark.parametrize("name", ["minerva", "lenet5", "cnn10", "bidi_lstm", "elu16"])
def test_zoo_networks_run_and_stay_finite(name):
    outputs = run_functional(zoo.load(name, batch=2, dtype="float32"))
    assert outputs
    for y in outputs.values():
        assert y.shape[0] == 2 and np.isfinite(y).all()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vgg16", "elu24", "resnet50", "resnet50_imagenet", "mobilenet_v1"])
@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_big_zoo_networks_stay_finite(name, dtype):
    """The default weights keep activations in range, in float16 too (no overflow to inf)."""
    outputs, values = run_functional(zoo.load(name, dtype=dtype), return_intermediates=True)
    for v in values.values():
        assert v.dtype == np.bool_ or np.isfinite(v).all()


# --------------------------------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------------------------------


def test_input_errors_name_the_tensor():
    g = small_cnn()
    message = r"inputs\['image'\].shape = \(2, 7, 6\): tensor 'image' has shape \(2, 7, 6, 3\)"
    with pytest.raises(WorkloadError, match=message):
        run_functional(g, inputs={"image": np.zeros((2, 7, 6), np.float32)})
    with pytest.raises(WorkloadError, match=r"inputs\['image'\].dtype = float64: tensor 'image' has dtype float32"):
        run_functional(g, inputs={"image": np.zeros((2, 7, 6, 3))})
    with pytest.raises(WorkloadError, match=r"inputs\['img'\]: graph 'small' has no such input tensor; valid: 'image'"):
        run_functional(g, inputs={"img": np.zeros((2, 7, 6, 3), np.float32)})
    with pytest.raises(WorkloadError, match=r"inputs\['image'\] = \[1, 2\]: must be a NumPy array"):
        run_functional(g, inputs={"image": [1, 2]})
    with pytest.raises(WorkloadError, match=r"inputs = \[1\]: must be a mapping"):
        run_functional(g, inputs=[1])
    message = r"weights\['conv/weights'\].shape = \(4, 2, 2, 2\): tensor 'conv/weights' has shape \(4, 2, 2, 3\)"
    with pytest.raises(WorkloadError, match=message):
        run_functional(g, weights={"conv/weights": np.zeros((4, 2, 2, 2), np.float32)})
    with pytest.raises(WorkloadError, match=r"weights\['image'\]: graph 'small' has no such weight tensor"):
        run_functional(g, weights={"image": np.zeros((2, 7, 6, 3), np.float32)})


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"seed": -1}, r"seed = -1: must be an integer >= 0"),
        ({"seed": 1.5}, r"seed = 1.5: must be an integer >= 0"),
        ({"init": "xavier"}, r"init = 'xavier': must be one of he, smaug"),
    ],
)
def test_argument_errors(kwargs, message):
    with pytest.raises(WorkloadError, match=message):
        run_functional(small_cnn(), **kwargs)


def test_graph_must_be_a_graph():
    with pytest.raises(WorkloadError, match=r"graph = 'lenet5': must be a smaug_fast Graph"):
        run_functional("lenet5")


def test_kernel_errors_name_the_op():
    """Ops the numerics cannot run (here: an int32 input to a conv) fail with the op's name."""
    with Graph("ints", dtype="int32", layout="NHWC") as g:
        x = g.input((1, 4, 4, 1), name="x")
        nn.convolution(x, 1, 1, name="c")
    with pytest.raises(WorkloadError, match=r"op 'c' \(conv\): conv2d: x.dtype = 'int32': must be one of float32"):
        run_functional(g)


def test_ops_without_numerics_are_named():
    from smaug_fast.workload.core import CpuOp, OutputSpec

    with Graph("cpu", dtype="float32", layout="NC") as g:
        x = g.input((1, 4), name="x")
        g.add(CpuOp, [x], name="resize", op_type="Resize", output_specs=(OutputSpec((1, 8), "NC", "float32"),))
    with pytest.raises(WorkloadError, match=r"op 'resize': type CpuOp \(Resize\) has no numeric kernel"):
        run_functional(g)


def test_graph_constant_values_are_used_unless_overridden():
    g = small_cnn()
    g.constant_values["fc/weights"] = np.zeros((5, 36), np.float32)
    assert not run_functional(g, return_intermediates=True)[1]["fc"].any()
    w = np.ones((5, 36), np.float32)
    _, v = run_functional(g, weights={"fc/weights": w}, return_intermediates=True)
    np.testing.assert_array_equal(v["fc/weights"], w)
    g.constant_values["fc/weights"] = np.zeros((5, 35), np.float32)
    with pytest.raises(WorkloadError, match=r"graph.constant_values\['fc/weights'\].shape = \(5, 35\)"):
        run_functional(g)


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_onnx_import_runs_like_the_onnx_reference_evaluator(layout):
    """An independent whole-model check: ONNX's own evaluator on the ONNX model, ours on the import."""
    onnx = pytest.importorskip("onnx", reason="the onnx package is not installed: pip install -e '.[onnx]'")
    from onnx import TensorProto, helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    from smaug_fast.workload import from_onnx

    rng = np.random.default_rng(0)
    r = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    inits = {"w1": r(6, 3, 3, 3), "b1": r(6), "scale": np.abs(r(6)) + 0.5, "bias": r(6), "mean": r(6),
             "var": np.abs(r(6)) + 0.5, "w2": r(6, 6, 1, 1), "w3": r(4, 6 * 3 * 3) * 0.05, "b3": r(4)}
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("BatchNormalization", ["c1", "scale", "bias", "mean", "var"], ["bn"], epsilon=1e-5),
        helper.make_node("Relu", ["bn"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"]),
        helper.make_node("Add", ["c2", "r1"], ["sum"]),
        helper.make_node("MaxPool", ["sum"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["y"], transB=1),
        helper.make_node("Sigmoid", ["y"], ["out"]),
    ]
    graph = helper.make_graph(
        nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 12, 12])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 4])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    x = r(2, 3, 12, 12)
    (expected,) = ReferenceEvaluator(model).run(None, {"x": x})
    g = from_onnx(model, layout=layout, dtype="float32")
    given = x if layout == "NCHW" else np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    (ours,) = run_functional(g, inputs={g.inputs[0].name: given}).values()
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-5)
