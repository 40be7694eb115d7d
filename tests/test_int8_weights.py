"""int8 weight-only quantization (issue 19): int8 weights under fp16 activations, 1 B per weight in memory,
DRAM and DMA; dequantized per output channel where used (numerics: run_functional; timing: SMV's load)."""

from __future__ import annotations

import numpy as np
import pytest

from smaug_fast import Graph, WorkloadError, nn, presets, run_functional, simulate, simulate_generation, zoo
from smaug_fast.accelerators.base import TileWork
from smaug_fast.numerics.transformer import dequantize_int8, quantize_int8
from smaug_fast.sim.lowering import lower

GPT2_TINY = {"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "vocab_size": 100, "n_positions": 64}
LLAMA_TINY = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 2, "intermediate_size": 96, "vocab_size": 100, "max_position_embeddings": 64,
              "tie_word_embeddings": False}


# -- quantization itself ------------------------------------------------------------------------------


def _slow_quantize(w: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray]:
    """Row by row, element by element."""
    q = np.zeros(w.shape, dtype=np.int8)
    scale = np.zeros(w.shape[0], dtype=dtype)
    for r in range(w.shape[0]):
        peak = max(abs(float(v)) for v in w[r])
        scale[r] = peak / 127 if peak > 0 else 1.0
        s = float(np.float32(scale[r]))
        for c in range(w.shape[1]):
            q[r, c] = int(min(127, max(-127, round(float(np.float32(w[r, c])) / s))))
    return q, scale


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_quantize_matches_slow_reference_and_bounds_the_error(dtype):
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((7, 33)) * rng.uniform(0.01, 3, size=(7, 1))).astype(np.float32)
    w[3] = 0.0  # an all-zero row: scale 1, codes 0
    q, scale = quantize_int8(w, dtype)
    q_ref, s_ref = _slow_quantize(w, dtype)
    assert q.dtype == np.int8 and scale.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(scale, s_ref)
    np.testing.assert_array_equal(q, q_ref)
    assert np.abs(q).max() <= 127 and scale[3] == 1 and not q[3].any()
    deq = dequantize_int8(q, scale, "float32")
    # |q s - w| <= s / 2 (+ the rounding of s to fp16 can push a code past the peak: clipped, within s)
    bound = scale.astype(np.float32)[:, None] * (0.5 if dtype == "float32" else 1.0) + 1e-7
    assert (np.abs(deq - w) <= bound).all()
    # weights that are exact multiples of the scale come back exactly
    exact = np.arange(-127, 128, dtype=np.float32)[None, :] * np.float32(0.5)
    q2, s2 = quantize_int8(exact, "float32")
    np.testing.assert_array_equal(dequantize_int8(q2, s2, "float32"), exact)


def test_quantize_bad_input_is_named():
    with pytest.raises(WorkloadError, match=r"quantize_int8: dtype = 'int32'"):
        quantize_int8(np.ones((2, 2), np.float32), "int32")
    with pytest.raises(WorkloadError, match=r"w.shape"):
        quantize_int8(np.ones(4, np.float32))
    with pytest.raises(WorkloadError, match=r"dequantize_int8: q.dtype = 'int16'"):
        dequantize_int8(np.ones((2, 2), np.int16), np.ones(2, np.float32), "float16")
    with pytest.raises(WorkloadError, match=r"scale.shape = \(3,\)"):
        dequantize_int8(np.ones((2, 2), np.int8), np.ones(3, np.float32), "float16")


# -- the graph ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["gpt2", "tinyllama-1.1b", "bert-base-uncased", "vit-b16"])
def test_int8_weights_halve_linear_bytes_and_keep_num_params(name):
    seq = None if name == "vit-b16" else 4
    fp16 = zoo.transformer(name, seq_len=seq)
    int8 = zoo.transformer(name, seq_len=seq, weight_dtype="int8")
    assert int8.num_params == fp16.num_params
    half = {t.name: t for t in fp16.constants}
    quantized = [t for t in int8.constants if t.dtype == "int8"]
    assert quantized
    for t in int8.constants:
        ref = half[t.name]
        assert t.shape == ref.shape
        if t.dtype == "int8":
            assert t.nbytes * 2 == ref.nbytes
        else:
            assert t.nbytes == ref.nbytes and t.dtype == "float16"
    # every linear layer's weights, and nothing an element-wise op or the KV cache reads
    ip_weights = {op.inputs[1].name for op in int8.ops if op.kind == "inner_product"}
    assert ip_weights <= {t.name for t in quantized}
    assert not any(t.name.endswith(("/gamma", "/beta", "/bias")) for t in quantized)
    assert all(t.dtype == "float16" for op in int8.ops for t in op.outputs)  # activations stay fp16


def test_tied_table_is_int8_and_its_lookup_stays_fp16():
    g = zoo.transformer("gpt2", seq_len=4, weight_dtype="int8")
    assert g.tensor("wte").dtype == "int8" and g.tensor("wpe").dtype == "float16"
    assert g.op("wte/lookup").outputs[0].dtype == "float16"
    llama = zoo.transformer("tinyllama-1.1b", seq_len=4, weight_dtype="int8")  # untied: the table stays fp16
    assert llama.tensor("embed_tokens").dtype == "float16" and llama.tensor("lm_head/weights").dtype == "int8"
    dec = zoo.transformer("gpt2", "decode", kv_len=8, weight_dtype="int8")
    assert all(dec.tensor(n).dtype == "float16" for n in dec.state_tensors)  # the KV cache


def test_bad_weight_dtype_is_named():
    for bad in ("int4", "float32", "bfloat16", 8):
        with pytest.raises(WorkloadError, match=f"weight_dtype = {bad!r}"):
            zoo.transformer("gpt2", seq_len=4, weight_dtype=bad)
    with pytest.raises(WorkloadError, match="weight_dtype = 'int8'"):
        zoo.transformer("gpt2", seq_len=4, dtype="int32", weight_dtype="int8")
    with pytest.raises(WorkloadError, match="weight_dtype = 'int4'"):
        simulate_generation("gpt2", prompt_len=4, new_tokens=2, weight_dtype="int4")
    with Graph("g", layout="NC") as g:
        x = g.input((2, 8))
        w = g.constant((4, 8), dtype="int32")
        with pytest.raises(WorkloadError, match=r"weights dtype = 'int32'"):
            nn.mat_mul(x, w)
        a = g.input((4, 8), dtype="int8")  # int8 weights that are not constants: not weight-only quantization
        with pytest.raises(WorkloadError, match=r"weights dtype = 'int8'"):
            nn.mat_mul(x, a)
        ids = g.input((2, 3), dtype="int32", layout="X")
        table = g.constant((10, 8), dtype="int8", layout="X")
        with pytest.raises(WorkloadError, match=r"out_dtype = None"):
            nn.embedding(ids, table)
        with pytest.raises(WorkloadError, match=r"out_dtype = 'float32'"):
            nn.embedding(ids, g.constant((10, 8), layout="X"), out_dtype="float32")


# -- numerics ----------------------------------------------------------------------------------------


def test_run_functional_dequantizes_per_channel():
    """An int8 inner product against the slow reference: x @ (q x scale)^T in float64."""
    rng = np.random.default_rng(1)
    with Graph("fc", layout="NC") as g:
        x = g.input((3, 40), name="x")
        w = g.constant((6, 40), name="w", dtype="int8")
        nn.mat_mul(x, w, name="fc")
    xv = rng.uniform(-1, 1, (3, 40)).astype(np.float16)
    wv = (rng.standard_normal((6, 40)) * 0.3).astype(np.float32)
    out, values = run_functional(g, {"x": xv}, {"w": wv}, return_intermediates=True)
    q, scale = _slow_quantize(wv, np.float16)
    np.testing.assert_array_equal(values["w"], q)  # the tensor's value: its int8 codes
    deq = (q.astype(np.float64) * scale.astype(np.float64)[:, None]).astype(np.float16).astype(np.float64)
    want = xv.astype(np.float64) @ deq.T
    assert out["fc"].dtype == np.float16
    np.testing.assert_allclose(out["fc"].astype(np.float64), want, rtol=2e-3, atol=2e-3)
    # within the quantization error of the fp16 layer: |y_q - y| <= sum_c |x_c| scale_k / 2 (+ fp16 rounding)
    exact = xv.astype(np.float64) @ wv.astype(np.float16).astype(np.float64).T
    bound = np.abs(xv.astype(np.float64)) @ np.broadcast_to(scale.astype(np.float64)[:, None] / 2, (6, 40)).T
    assert (np.abs(out["fc"] - exact) <= bound + 4e-3 * np.abs(exact).max()).all()
    with pytest.raises(WorkloadError, match=r"weights\['w'\].dtype = int8"):
        run_functional(g, {"x": xv}, {"w": q})


@pytest.mark.parametrize("cfg", [GPT2_TINY, LLAMA_TINY], ids=["gpt2", "llama"])
def test_int8_model_within_quantization_error_of_fp16(cfg):
    """The same weights, fp16 and int8: the int8 model's logits differ by the quantization error, a few
    per cent of their range (each weight moves by <= scale / 2 = max |row| / 254), and not more."""
    fp16 = zoo.transformer(cfg, seq_len=6, batch=2)
    int8 = zoo.transformer(cfg, seq_len=6, batch=2, weight_dtype="int8")
    w = {k: v.astype(np.float32) for k, v in zoo_defaults(fp16).items()}
    out16 = run_functional(fp16, weights={k: v.astype(np.float16) for k, v in w.items()})
    out8 = run_functional(int8, weights={k: (v if int8.tensor(k).dtype == "int8" else v.astype(np.float16))
                                         for k, v in w.items()})
    ref = out16["lm_head"].astype(np.float64)
    err = np.abs(out8["lm_head"] - ref).max() / np.abs(ref).max()
    assert 0 < err < 0.05


def zoo_defaults(g: Graph) -> dict[str, np.ndarray]:
    """The seeded default weights of a graph (its constants), as run_functional draws them."""
    from smaug_fast.numerics import default_values

    return {t.name: v for t in g.constants for v in [default_values(g, 0)[t.name]]}


# -- timing ------------------------------------------------------------------------------------------


def test_dma_weight_bytes_halve_per_op():
    system = presets.load("soc-2026-lpddr5")
    acc = system.accelerator
    fp16 = zoo.transformer("gpt2", "decode", kv_len=16)
    int8 = zoo.transformer("gpt2", "decode", kv_len=16, weight_dtype="int8")
    for op16, op8 in zip(fp16.ops, int8.ops):
        if op16.kind != "inner_product":
            continue
        l16, l8 = lower(op16, acc), lower(op8, acc)
        assert l8.plan.tensors == l16.plan.tensors  # the scratchpads hold dequantized weights: same tiles
        assert l8.tensor_bytes("weights") * 2 == l16.tensor_bytes("weights")
        assert l8.tensor_bytes("input") == l16.tensor_bytes("input")
        c16 = acc.schedule_costs(op16, l16.plan, l16.plan.schedule(1))
        c8 = acc.schedule_costs(op8, l8.plan, l8.plan.schedule(1))
        assert int(c8.load_bytes_weights.sum()) * 2 == int(c16.load_bytes_weights.sum()) > 0
        np.testing.assert_array_equal(c8.load_bytes_input, c16.load_bytes_input)
        np.testing.assert_array_equal(c8.compute_cycles, c16.compute_cycles)


def test_smv_dequantize_cost():
    acc = presets.load("smaug-table2").accelerator
    work = TileWork(kind="inner_product", input_shape=(1, 64), weight_shape=(32, 64), output_shape=(1, 32),
                    channels=64, kernels=32, out_rows=1, out_cols=1)
    plain = acc.invocation_cost(work)
    deq = acc.invocation_cost(TileWork(**{**work.__dict__, "dequantize": True}))
    assert deq.load_cycles == plain.load_cycles + acc.mul_latency_cycles
    assert deq.energy_j == pytest.approx(plain.energy_j + 32 * 64 * acc.mul_energy_j)
    assert (deq.compute_cycles, deq.macs, deq.spad_energy_j) == (plain.compute_cycles, plain.macs, plain.spad_energy_j)
    resident = TileWork(**{**work.__dict__, "dequantize": True, "read_weights": False})
    assert acc.invocation_cost(resident) == acc.invocation_cost(TileWork(**{**work.__dict__, "read_weights": False}))


@pytest.mark.parametrize("preset", ["soc-2026-lpddr5", "smaug-table2"])
def test_decode_step_memory_bound_gets_faster(preset):
    system = presets.load(preset)
    r16 = simulate(zoo.transformer("gpt2", "decode", kv_len=32), system)
    r8 = simulate(zoo.transformer("gpt2", "decode", kv_len=32, weight_dtype="int8"), system)
    ip16 = sum(o.dram_read_bytes for o in r16.ops if o.kind == "inner_product")
    ip8 = sum(o.dram_read_bytes for o in r8.ops if o.kind == "inner_product")
    # the linear layers' DRAM reads are their weights (one token of activations): halved, to 1 %
    assert ip8 == pytest.approx(ip16 / 2, rel=0.01)
    # transfer time: the bytes halve, the fixed cost of each DMA (setup, flush) does not
    ratio = r8.breakdown_s["data_transfer"] / r16.breakdown_s["data_transfer"]
    assert 0.49 < ratio < 0.6
    assert r8.breakdown_s["accel_compute"] == pytest.approx(r16.breakdown_s["accel_compute"], rel=1e-9)
    assert r8.latency_s < r16.latency_s
    assert r8.energy_j < r16.energy_j  # DRAM reads dominate; the multiplies of the unpack cost less


def test_generation_takes_weight_dtype():
    system = presets.load("soc-2026-lpddr5")
    a = simulate_generation("gpt2", system, prompt_len=16, new_tokens=4)
    b = simulate_generation("gpt2", system, prompt_len=16, new_tokens=4, weight_dtype="int8")
    c = simulate_generation("gpt2", system, prompt_len=16, new_tokens=4, weight_dtype="float16")
    assert b.tokens_per_s > a.tokens_per_s and b.tpot_s < a.tpot_s
    assert c.tpot_s == a.tpot_s
    step = simulate(zoo.transformer("gpt2", "decode", kv_len=16, weight_dtype="int8"), system)
    assert b.step_s[0] == pytest.approx(step.latency_s)
