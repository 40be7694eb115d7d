"""Physics of transformer inference on the SoC (issue 19): FLOP counts against the analytic formulas,
decode time bounded below by the DRAM bandwidth and by the peak compute on every preset, and the
crossover from memory-bound decode to compute-bound prefill."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smaug_fast import presets, simulate, zoo
from smaug_fast.accelerators.systolic_array import SystolicArray

# published parameter counts (the first part of issue 19 checks num_params against them)
TINYLLAMA_PARAMS = 1_100_048_384
GPT2_PARAMS = 124_439_808


def tinyllama_flops(phase: str, tokens: int, kv_len: int = 0) -> int:
    """TinyLlama 1.1B from its config (hidden 2048, 22 layers, 32 heads of 64, 4 KV heads, MLP 5632,
    vocab 32000): 2 FLOPs per MAC of every linear layer per token (q, k, v, o, gate, up, down), the LM
    head on the last token only, and attention: scores q.k and context p.v, each hidden x context MACs
    per token and layer (the KV heads are repeated to the 32 query heads: GQA saves memory, not MACs)."""
    h, layers, kv_width, inter, vocab = 2048, 22, 4 * 64, 5632, 32000
    per_layer = h * h + 2 * h * kv_width + h * h + 3 * h * inter
    context = kv_len + tokens  # decode: the cache and the new token; prefill: the whole prompt (no causal skip)
    attention = layers * 2 * h * context * tokens
    return 2 * (layers * per_layer * tokens + h * vocab + attention)


def gpt2_flops(phase: str, tokens: int, kv_len: int = 0) -> int:
    """GPT-2 small (768, 12 layers, 12 heads, MLP 3072, vocab 50257): c_attn, attention projection, c_fc,
    c_proj per token, the tied LM head on the last token, attention as for TinyLlama."""
    h, layers, inter, vocab = 768, 12, 3072, 50257
    per_layer = h * 3 * h + h * h + 2 * h * inter
    attention = layers * 2 * h * (kv_len + tokens) * tokens
    return 2 * (layers * per_layer * tokens + h * vocab + attention)


@pytest.mark.parametrize(("config", "formula"), [("tinyllama-1.1b", tinyllama_flops), ("gpt2", gpt2_flops)])
@pytest.mark.parametrize(("phase", "tokens", "kv_len"), [("decode", 1, 1), ("decode", 1, 511), ("prefill", 7, 0),
                                                         ("prefill", 128, 0)])
def test_flops_equal_the_analytic_count(config, formula, phase, tokens, kv_len):
    g = zoo.transformer(config, phase, seq_len=tokens, kv_len=kv_len or None)
    assert g.flops == 2 * g.macs == formula(phase, tokens, kv_len)


@pytest.mark.parametrize(("config", "params", "embeddings", "layers", "hidden"),
                         [("tinyllama-1.1b", TINYLLAMA_PARAMS, 32000 * 2048, 22, 2048),
                          ("gpt2", GPT2_PARAMS, 1024 * 768, 12, 768)])
def test_decode_flops_are_two_per_parameter_plus_attention(config, params, embeddings, layers, hidden):
    """Per token, a decoder costs 2 FLOPs per parameter (Kaplan et al. 2020: C_forward = 2N + 2 n_layer
    n_ctx d_attn, N without embeddings), exactly: 2 x (parameters - the input embeddings the lookup
    only indexes (GPT-2: its position table; its token table is the tied LM head, used in full) - norm
    and bias parameters (element-wise, no MACs)) + 4 x layers x hidden x context (Kaplan's term counts
    the scores; the context product is as many again)."""
    for kv in (1, 100, 1000):
        g = zoo.transformer(config, "decode", kv_len=kv)
        elementwise = params - embeddings - g.macs + 2 * layers * hidden * (kv + 1)  # norms and biases
        assert 0 < elementwise < 0.001 * params
        assert g.flops == 2 * (params - embeddings - elementwise) + 4 * layers * hidden * (kv + 1)
        assert 0.93 < g.flops / (2 * params) < 1.0 + 4 * layers * hidden * (kv + 1) / (2 * params)


def _peak_macs_per_s(system) -> float:
    """Every MAC unit of the SoC at once: the accelerators (a systolic array and its vector units) and
    every CPU core [MAC/s]."""
    acc = system.accelerator
    if isinstance(acc, SystolicArray):
        per = acc.array.rows * acc.array.cols + acc.vector.macs_per_cycle
    else:
        per = acc.macs_per_cycle
    # a core at its SIMD peak: every SIMD micro-op slot doing fp32 multiply-adds (a multiply and an add
    # micro-op per simd_bytes_per_uop / 4 lanes), above the scalar loops the model runs
    cpu = system.cpu
    core = cpu.simd_uops_per_cycle * cpu.simd_bytes_per_uop / 4 / 2
    return system.num_accelerators * per * acc.freq_hz + cpu.cores * core * cpu.freq_hz


def _bounds(g, system) -> tuple[float, float]:
    """(memory bound, compute bound) of one forward pass [s]: the weights every linear layer reads
    and the KV cache, less what the LLC may hold, at the DRAM's peak bandwidth; the MACs at the
    SoC's peak."""
    weights = {t.name: t.nbytes for op in g.topological_order() if op.kind == "inner_product" for t in op.weights}
    kv = sum(t.nbytes for t in g.constants if t.name in g.state_tensors)
    read = sum(weights.values()) + kv - system.l2.size_bytes
    return read / system.dram.peak_bandwidth_bytes_per_s, g.macs / _peak_macs_per_s(system)


@pytest.mark.parametrize("preset", presets.names())
def test_gpt2_decode_obeys_the_roofline_on_every_preset(preset):
    system = presets.load(preset)
    g = zoo.transformer("gpt2", "decode", kv_len=128)
    r = simulate(g, system)
    memory, compute = _bounds(g, system)
    assert memory > 0 and r.latency_s >= memory and r.latency_s >= compute
    assert r.dram_read_bytes >= memory * system.dram.peak_bandwidth_bytes_per_s


TINY_LLAMA = st.builds(
    lambda layers, heads, group, head_dim, mult, vocab: {
        "model_type": "llama", "num_hidden_layers": layers, "num_attention_heads": heads * group,
        "num_key_value_heads": heads, "hidden_size": heads * group * head_dim,
        "intermediate_size": mult * heads * group * head_dim, "vocab_size": vocab, "max_position_embeddings": 512},
    st.integers(1, 2), st.integers(1, 4), st.sampled_from([1, 2, 4]), st.sampled_from([16, 32]),
    st.integers(2, 4), st.sampled_from([256, 1000]),
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TINY_LLAMA, st.sampled_from(presets.names()), st.integers(1, 400), st.integers(1, 3))
def test_decode_step_obeys_the_roofline(config, preset, kv_len, batch):
    """Any Llama-style decode step on any preset takes at least its bytes at peak bandwidth and its
    MACs at peak compute (the bytes bound only where the weights and cache outgrow the LLC)."""
    system = presets.load(preset)
    g = zoo.transformer(config, "decode", kv_len=kv_len, batch=batch)
    r = simulate(g, system, timeline=False)
    memory, compute = _bounds(g, system)
    assert r.latency_s >= max(memory, compute)


def _linear_ratio(system, phase, seq_len, kv_len, batch) -> float:
    """Accelerator compute over data transfer of the linear layers (their critical-path time)."""
    r = simulate(zoo.transformer("gpt2", phase, seq_len=seq_len, kv_len=kv_len, batch=batch), system, timeline=False)
    ops = [o for o in r.ops if o.kind == "inner_product"]
    return sum(o.breakdown_s["accel_compute"] for o in ops) / sum(o.breakdown_s["data_transfer"] for o in ops)


def test_decode_is_memory_bound_and_prefill_compute_bound():
    """On the phone SoC a decode step of one token spends its linear layers waiting for weights (DRAM),
    a long prefill computing: the compute/transfer ratio grows with the tokens a weight serves (batch x
    seq_len) and crosses 1 between a batch of 8 and a 16-token prefill (measured 0.10, 0.75, 1.05, 3.9)."""
    system = presets.load("soc-2026-lpddr5")
    ratios = [_linear_ratio(system, "decode", 1, 64, 1), _linear_ratio(system, "decode", 1, 64, 8),
              _linear_ratio(system, "prefill", 16, None, 1), _linear_ratio(system, "prefill", 64, None, 1)]
    assert ratios == sorted(ratios)
    assert ratios[0] < 0.2 and ratios[1] < 1.0 < ratios[2] and ratios[3] > 3.0
