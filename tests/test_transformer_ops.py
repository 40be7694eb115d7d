"""Transformer operators (issue 19): shape inference and errors, the Numba kernels against slow NumPy
references (hypothesis shapes), run_functional of a small attention block, and their CPU mapping."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smaug_fast import Graph, nn, presets, run_functional, simulate
from smaug_fast import math as smath
from smaug_fast.errors import WorkloadError
from smaug_fast.numerics import transformer as tr
from smaug_fast.sim.timing import cpu_op_work_s
from smaug_fast.tiling import smv as smv_tiling
from smaug_fast.workload import tensor

# -- slow NumPy references (float64) -----------------------------------------------------------------


def ref_layer_norm(x, g, b, eps):
    x = x.astype(np.float64)
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * g + b


def ref_rms_norm(x, g, eps):
    x = x.astype(np.float64)
    return x / np.sqrt((x**2).mean(-1, keepdims=True) + eps) * g


def ref_pointwise(x, fn):
    x = x.astype(np.float64)
    if fn == "gelu":
        return np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.ravel()]).reshape(x.shape)
    if fn == "gelu_tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return x / (1 + np.exp(-x))


def ref_rotary(x, offset, theta):
    """HuggingFace Llama's rotate_half form, written out with loops."""
    x = x.astype(np.float64)
    t_n, d = x.shape[-2:]
    out = np.empty_like(x)
    for t in range(t_n):
        for i in range(d // 2):
            a = (offset + t) * theta ** (-2 * i / d)
            x1, x2 = x[..., t, i], x[..., t, i + d // 2]
            out[..., t, i] = x1 * math.cos(a) - x2 * math.sin(a)
            out[..., t, i + d // 2] = x2 * math.cos(a) + x1 * math.sin(a)
    return out


def ref_causal(x):
    tq, tk = x.shape[-2:]
    out = x.astype(np.float64).copy()
    for q in range(tq):
        for k in range(tk):
            if k > q + tk - tq:
                out[..., q, k] = -np.inf
    return out


def _close(got, want, tol=2e-5):
    scale = max(1.0, float(np.max(np.abs(want[np.isfinite(want)]), initial=0.0)))
    np.testing.assert_allclose(got.astype(np.float64), want, atol=tol * scale, rtol=tol)


shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)


@settings(max_examples=25, deadline=None)
@given(shape=shapes, c=st.integers(1, 33), seed=st.integers(0, 2**16))
def test_norms_match_reference(shape, c, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(*shape, c)).astype(np.float32) * 3 + 1
    g, b = rng.normal(size=c).astype(np.float32), rng.normal(size=c).astype(np.float32)
    _close(tr.layer_norm(x, g, b, 1e-5), ref_layer_norm(x, g, b, 1e-5))
    _close(tr.rms_norm(x, g, 1e-6), ref_rms_norm(x, g, 1e-6))


@settings(max_examples=25, deadline=None)
@given(shape=shapes, fn=st.sampled_from(["gelu", "gelu_tanh", "silu"]), seed=st.integers(0, 2**16))
def test_pointwise_matches_reference(shape, fn, seed):
    x = (np.random.default_rng(seed).normal(size=shape) * 6).astype(np.float32)
    _close(tr.pointwise(x, fn), ref_pointwise(x, fn))


def test_pointwise_extremes():
    x = np.array([-100.0, -20.0, 0.0, 20.0, 100.0], dtype=np.float32)
    for fn in ("gelu", "gelu_tanh", "silu"):
        y = tr.pointwise(x, fn)
        assert np.all(np.isfinite(y)), fn
        np.testing.assert_allclose(y[[0, 2, 4]], [0.0, 0.0, 100.0], atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(batch=st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple), m=st.integers(1, 9),
       k=st.integers(1, 9), n=st.integers(1, 9), transpose_b=st.booleans(), seed=st.integers(0, 2**16))
def test_batch_matmul_matches_reference(batch, m, k, n, transpose_b, seed):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(*batch, m, k)).astype(np.float32)
    b = rng.normal(size=(*batch, n, k) if transpose_b else (*batch, k, n)).astype(np.float32)
    bb = np.swapaxes(b, -1, -2) if transpose_b else b
    want = np.einsum("...mk,...kn->...mn", a.astype(np.float64), bb.astype(np.float64))
    _close(tr.batch_matmul(a, b, transpose_b), want)


@settings(max_examples=25, deadline=None)
@given(lead=st.integers(1, 2), kv_heads=st.integers(1, 3), group=st.integers(1, 4), m=st.integers(1, 5),
       k=st.integers(1, 6), n=st.integers(1, 6), transpose_b=st.booleans(), seed=st.integers(0, 2**16))
def test_grouped_batch_matmul_equals_repeated_heads(lead, kv_heads, group, m, k, n, transpose_b, seed):
    """GQA: b's last batch dimension divides a's; each KV head serves ``group`` consecutive query heads,
    as HuggingFace's repeat_kv copies them (repeat_interleave along the head axis)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(lead, kv_heads * group, m, k)).astype(np.float32)
    b = rng.normal(size=(lead, kv_heads, n, k) if transpose_b else (lead, kv_heads, k, n)).astype(np.float32)
    repeated = np.repeat(b.astype(np.float64), group, axis=1)
    bb = np.swapaxes(repeated, -1, -2) if transpose_b else repeated
    want = np.einsum("...mk,...kn->...mn", a.astype(np.float64), bb)
    _close(tr.batch_matmul(a, b, transpose_b), want)
    with Graph("gqa", dtype="float32") as g:
        y = nn.batch_matmul(g.input(a.shape, layout="X"), g.input(b.shape, layout="X"), transpose_b=transpose_b)
        assert y.shape == want.shape and g.op("batch_matmul").group == group
        assert g.op("batch_matmul").macs == lead * kv_heads * group * m * n * k  # GQA saves bytes, not MACs


def ref_attention(q, k, v, scale, causal):
    """Softmax attention written out head by head in float64; head h reads KV head h // group."""
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    group = q.shape[-3] // k.shape[-3]
    tq, tk = q.shape[-2], k.shape[-2]
    out = np.zeros((*q.shape[:-1], v.shape[-1]))
    for idx in np.ndindex(*q.shape[:-2]):
        kv = (*idx[:-1], idx[-1] // group)
        for i in range(tq):
            s = np.array([scale * float(q[idx][i] @ k[kv][j]) for j in range(tk)])
            if causal:
                s[i + tk - tq + 1:] = -np.inf
            p = np.exp(s - s.max())
            out[idx][i] = (p / p.sum()) @ v[kv]
    return out


@settings(max_examples=25, deadline=None)
@given(kv_heads=st.integers(1, 3), group=st.integers(1, 3), tq=st.integers(1, 5), extra=st.integers(0, 4),
       d=st.integers(1, 8), dv=st.integers(1, 6), causal=st.booleans(), scale=st.sampled_from([1.0, 0.35]),
       seed=st.integers(0, 2**16))
def test_fused_attention_matches_reference(kv_heads, group, tq, extra, d, dv, causal, scale, seed):
    rng = np.random.default_rng(seed)
    tk = tq + extra
    q = rng.normal(size=(2, kv_heads * group, tq, d)).astype(np.float32)
    k = rng.normal(size=(2, kv_heads, tk, d)).astype(np.float32)
    v = rng.normal(size=(2, kv_heads, tk, dv)).astype(np.float32)
    _close(tr.attention(q, k, v, scale, causal), ref_attention(q, k, v, scale, causal), tol=1e-4)
    with Graph("attention", dtype="float32") as g:
        y = nn.attention(*(g.input(x.shape, layout="X") for x in (q, k, v)), scale=scale, causal=causal)
    op = g.op("attention")
    assert y.shape == (2, kv_heads * group, tq, dv)
    assert op.scores == 2 * kv_heads * group * tq * tk and op.macs == op.scores * (d + dv)


def test_fused_attention_is_the_eager_chain():
    """One Attention op computes what the batched products, the causal mask and the softmax compute;
    on the CPU it costs both products' MACs and a register-resident softmax per score."""
    with Graph("both", dtype="float32") as g:
        q, k, v = g.input((1, 4, 3, 8), layout="X"), g.input((1, 2, 7, 8), layout="X"), g.input((1, 2, 7, 8), layout="X")
        nn.attention(q, k, v, scale=0.25, causal=True, name="fused")
        s = nn.causal_mask(nn.batch_matmul(q, k, transpose_b=True, scale=0.25))
        nn.batch_matmul(nn.activation(s, "softmax"), v, name="eager")
    _, vals = run_functional(g, seed=1, return_intermediates=True)
    _close(vals["fused"], vals["eager"].astype(np.float64), tol=1e-5)
    fused, scores = g.op("fused"), g.op("batch_matmul")
    assert fused.macs == scores.macs + g.op("eager").macs
    system = presets.load("smaug-table2")
    assert cpu_op_work_s(system, fused) > cpu_op_work_s(system, scores) + cpu_op_work_s(system, g.op("eager"))


def test_cache_append_writes_only_the_new_rows():
    """The KV cache append: a concatenation's values in the cache's own storage, only the new rows
    written (one run per head), and the ops after it read the whole cache from that storage."""
    from smaug_fast.sim.engine import memory_key, memory_record, network_plan

    heads, past, new, d = 3, 40, 2, 16
    with Graph("kv", dtype="float16") as g:
        cache = g.constant((1, heads, past, d), name="cache", layout="X")
        x = g.input((1, heads, new, d), name="x", layout="X")
        full = tensor.cache_append(cache, x, axis=2, name="append")
        nn.batch_matmul(x, full, transpose_b=True, name="scores")
    op = g.op("append")
    assert full.shape == (1, heads, past + new, d)
    runs, offset, stride = op.appended_runs()
    assert (runs, offset, stride) == (heads, past * d * 2, (past + new) * d * 2)
    rng = np.random.default_rng(0)
    c, xv = rng.normal(size=cache.shape).astype(np.float16), rng.normal(size=x.shape).astype(np.float16)
    _, v = run_functional(g, {"x": xv}, {"cache": c}, return_intermediates=True)
    np.testing.assert_array_equal(v["append"], np.concatenate([c, xv], axis=2))
    system = presets.load("smaug-table2")
    key = memory_key(g, system)
    rows = dict(zip((o.name for o in network_plan(key.plan).ops), memory_record(key).ops, strict=True))
    line = system.l1d.line_bytes
    append = rows["append"].cpu_copy
    # stores: the new rows of each head, a run of new * d * 2 bytes each (32 bytes per head here)
    written = heads * -(-(new * d * 2) // line)
    read = -(-x.nbytes // line)
    assert append.l1_accesses.sum() == read + written
    assert append.nbytes.sum() == x.nbytes  # the bytes written: the new rows only
    scores = rows["scores"].cpu_copy  # reads x and the whole cache, in the cache's storage
    assert scores.l1_accesses.sum() == read + -(-full.nbytes // line) + -(-g.tensor("scores").nbytes // line)
    # the cache's lines the append wrote hit in the L1 when the scores read them
    assert scores.l2_hits.sum() < -(-full.nbytes // line)


def test_cache_storage_holds_the_whole_context_whoever_touches_it_first():
    """An op that reads the cache before the append does not size its storage for the past alone: the
    append's rows must land inside it, not in the next tensor's pages."""
    from smaug_fast.sim.engine import memory_key, network_plan
    from smaug_fast.sim.memory_pass import MemoryPass, _records

    with Graph("kv2", dtype="float16") as g:
        cache = g.constant((1, 2, 40, 16), name="cache", layout="X")
        nn.transpose(cache, (0, 1, 3, 2), name="peek")  # reads the cache first
        x = g.input((1, 2, 1, 16), name="x", layout="X")
        tensor.cache_append(cache, x, axis=2, name="append")
    key = memory_key(g, presets.load("smaug-table2"))
    mp = MemoryPass(key.memory)
    _records(network_plan(key.plan), mp, [])
    _, size = mp.alloc.regions[("tensor", "cache")]
    assert size == g.tensor("append").nbytes and ("tensor", "append") not in mp.alloc.regions


@pytest.mark.parametrize(
    "build, words",
    [
        (lambda: tensor.cache_append(_inp((1, 2, 5, 4)), _inp((1, 3, 1, 4)), axis=2),
         ["'cache_append'", "inputs[1] shape", "(1, 3, 1, 4)"]),
        (lambda: tensor.cache_append(_inp((1, 2, 5, 4)), _inp((1, 2, 1, 4), dtype="float16"), axis=2),
         ["'cache_append'", "inputs[1] dtype", "float16"]),
        (lambda: tensor.cache_append(_inp((1, 2, 5, 4)), _inp((1, 2, 1, 4)), axis=4), ["'cache_append'", "axis", "4"]),
        (lambda: nn.batch_matmul(_inp((1, 4, 3, 8)), _inp((1, 3, 5, 8)), transpose_b=True),
         ["'batch_matmul'", "input shapes", "may divide"]),
        (lambda: nn.attention(_inp((1, 4, 3, 8)), _inp((1, 3, 5, 8)), _inp((1, 3, 5, 8))),
         ["'attention'", "input shapes", "dividing q's heads"]),
        (lambda: nn.attention(_inp((1, 4, 3, 8)), _inp((1, 2, 5, 6)), _inp((1, 2, 5, 8))),
         ["'attention'", "head sizes 8 and 6"]),
        (lambda: nn.attention(_inp((1, 4, 6, 8)), _inp((1, 2, 5, 8)), _inp((1, 2, 5, 8)), causal=True),
         ["'attention'", "queries <= keys"]),
        (lambda: nn.attention(_inp((1, 4, 3, 8)), _inp((1, 2, 5, 8)), _inp((1, 2, 5, 8)), scale=float("nan")),
         ["'attention'", "scale", "nan"]),
        (lambda: nn.attention(_inp((4, 3, 8)), _inp((2, 5, 8)), _inp((2, 4, 8))),
         ["'attention'", "input shapes"]),
    ],
)
def test_cache_append_and_gqa_errors(build, words):
    _graph_error(build, words)


@settings(max_examples=25, deadline=None)
@given(shape=shapes, v=st.integers(1, 20), h=st.integers(1, 8), seed=st.integers(0, 2**16))
def test_embedding_matches_reference(shape, v, h, seed):
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, v, size=shape).astype(np.int32)
    table = rng.normal(size=(v, h)).astype(np.float32)
    np.testing.assert_array_equal(tr.embedding(idx, table), table[idx])


@settings(max_examples=25, deadline=None)
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple), t=st.integers(1, 6),
       half=st.integers(1, 8), offset=st.integers(0, 3000), seed=st.integers(0, 2**16))
def test_rotary_matches_reference(lead, t, half, offset, seed):
    x = np.random.default_rng(seed).normal(size=(*lead, t, 2 * half)).astype(np.float32)
    _close(tr.rotary(x, offset, 10000.0), ref_rotary(x, offset, 10000.0), tol=1e-4)


@settings(max_examples=25, deadline=None)
@given(lead=st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple), tq=st.integers(1, 6),
       extra=st.integers(0, 5), seed=st.integers(0, 2**16))
def test_causal_mask_matches_reference(lead, tq, extra, seed):
    x = np.random.default_rng(seed).normal(size=(*lead, tq, tq + extra)).astype(np.float32)
    got = tr.causal_mask(x)
    np.testing.assert_array_equal(got, ref_causal(x).astype(np.float32))


def test_float16_rounds_once():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 8)).astype(np.float16)
    g, b = np.ones(8, np.float16), np.zeros(8, np.float16)
    y = tr.layer_norm(x, g, b)
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, tr.layer_norm(x.astype(np.float32), g.astype(np.float32),
                                                   b.astype(np.float32)).astype(np.float16))


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: tr.layer_norm(np.ones((2, 3), np.float32), np.ones(4, np.float32), np.ones(3, np.float32)),
         ["layer_norm", "gamma.shape", "(4,)"]),
        (lambda: tr.pointwise(np.ones(3, np.float32), "swish"), ["pointwise", "function", "swish"]),
        (lambda: tr.batch_matmul(np.ones((2, 3), np.float32), np.ones((4, 2), np.float32)), ["batch_matmul", "shapes"]),
        (lambda: tr.embedding(np.array([0, 7]), np.ones((5, 2), np.float32)), ["embedding", "indices", "7"]),
        (lambda: tr.rotary(np.ones((2, 3), np.float32)), ["rotary", "x.shape", "(2, 3)"]),
        (lambda: tr.causal_mask(np.ones((3, 2), np.float32)), ["causal_mask", "x.shape", "(3, 2)"]),
        (lambda: tr.attention(*(np.ones((1, 3, 2, 4), np.float32),) * 2, np.ones((1, 2, 2, 4), np.float32)),
         ["attention", "shapes"]),
        (lambda: tr.rms_norm(np.ones((2, 3), np.float32), np.ones(3, np.float32), eps=0.0), ["rms_norm", "eps", "0.0"]),
    ],
)
def test_array_errors_name_function_field_value(call, words):
    with pytest.raises(WorkloadError) as err:
        call()
    for w in words:
        assert w in str(err.value)


# -- graph API -------------------------------------------------------------------------------------


def _graph_error(build, words):
    with pytest.raises(WorkloadError) as err, Graph("bad", dtype="float32"):
        build()
    for w in words:
        assert w in str(err.value), str(err.value)


def test_shape_inference_and_errors():
    with Graph("ok", dtype="float32") as g:
        q = g.input((2, 4, 6, 8), layout="X")
        k = g.input((2, 4, 7, 8), layout="X")
        s = nn.batch_matmul(q, k, transpose_b=True)
        assert s.shape == (2, 4, 6, 7)
        assert g.op("batch_matmul").macs == 2 * 4 * 6 * 7 * 8
        assert nn.causal_mask(s).shape == (2, 4, 6, 7)
        assert nn.rotary(q, offset=5).shape == q.shape
        ids = g.input((3, 5), dtype="int32", layout="X")
        assert nn.embedding(ids, (11, 4)).shape == (3, 5, 4)
        assert nn.layer_norm(q).shape == q.shape and nn.rms_norm(q).shape == q.shape
        assert nn.swiglu(q, q).shape == q.shape


def _inp(shape, dtype="float32"):
    from smaug_fast.workload import current_graph

    return current_graph().input(shape, layout="X", dtype=dtype)


@pytest.mark.parametrize(
    "build, words",
    [
        (lambda: nn.batch_matmul(_inp((2, 3, 4)), _inp((2, 5, 4))), ["'batch_matmul'", "input shapes", "4 and 5"]),
        (lambda: nn.batch_matmul(_inp((2, 3, 4)), _inp((3, 4, 5))), ["input shapes", "batch dimensions"]),
        (lambda: nn.causal_mask(_inp((5, 3))), ["'causal_mask'", "input shape", "(5, 3)"]),
        (lambda: nn.rotary(_inp((2, 3))), ["'rotary'", "input shape", "(2, 3)"]),
        (lambda: nn.rotary(_inp((2, 4)), offset=-1), ["'rotary'", "offset", "-1"]),
        (lambda: nn.embedding(_inp((2, 3)), (5, 4)), ["'embedding'", "indices dtype", "float32"]),
        (lambda: nn.layer_norm(_inp((2, 3)), eps=2.0), ["'layer_norm'", "eps", "2.0"]),
        (lambda: nn.layer_norm(_inp((2, 3)), params=[_inp((4,)), _inp((3,))]), ["gamma shape", "(4,)"]),
        (lambda: nn.rms_norm(_inp((2, 3)), params=[_inp((2,))]), ["'rms_norm'", "gamma shape", "(2,)"]),
    ],
)
def test_graph_errors_name_op_field_value(build, words):
    _graph_error(build, words)


def _block(dtype="float32"):
    """Embedding, layer norm, rotary Q, causal attention, GELU/SwiGLU, RMS norm and a residual add."""
    with Graph("attn", dtype=dtype) as g:
        ids = g.input((2, 6), name="ids", dtype="int32", layout="X")
        x = nn.embedding(ids, (30, 16))
        h = nn.layer_norm(x)
        q = nn.rotary(tensor.reshape(h, (2, 6, 2, 8), layout="X"), offset=3)
        s = nn.causal_mask(nn.batch_matmul(q, q, transpose_b=True))
        c = nn.batch_matmul(nn.activation(s, "softmax"), q)
        y = nn.swiglu(nn.gelu(c, approximate=True), nn.rms_norm(c))
        smath.add(y, q, name="out")
    return g


def test_run_functional_block_matches_references():
    g = _block()
    _, v = run_functional(g, seed=3, return_intermediates=True)
    ids, table = v["ids"], v["embedding/table"]
    assert ids.min() >= 0 and ids.max() < 30
    x = table[ids].astype(np.float64)
    h = ref_layer_norm(x, v["layer_norm/gamma"], v["layer_norm/beta"], 1e-5)
    q = ref_rotary(h.reshape(2, 6, 2, 8), 3, 10000.0)
    s = ref_causal(q @ np.swapaxes(q, -1, -2))
    p = np.exp(s - s.max(-1, keepdims=True))
    c = (p / p.sum(-1, keepdims=True)) @ q
    y = ref_pointwise(ref_pointwise(c, "gelu_tanh"), "silu") * ref_rms_norm(c, v["rms_norm/gamma"], 1e-6)
    _close(v["out"], y + q, tol=1e-4)


def test_transformer_ops_run_on_the_cpu():
    g = _block()
    system = presets.load("smaug-table2")
    r = simulate(g, system)
    rows = {row.name: row for row in r.ops}
    for name in ("embedding", "layer_norm", "rotary", "causal_mask", "batch_matmul", "batch_matmul_1",
                 "gelu_tanh", "swiglu/silu", "rms_norm"):
        assert rows[name].device == "cpu", name
        assert not smv_tiling.supports(g.op(name))
    assert r.latency_s > 0
    # batched matmul costs its MACs as an LLM runtime's SIMD loops do (ggml on SSE: 4 fp32 lanes): per
    # MAC two loads, a multiply and an add, each a micro-op per simd_bytes_per_uop bytes of lanes (gem5
    # splits 128-bit SSE into 64-bit micro-ops: two lanes), bounded by the core's SIMD/ALU units,
    # load-store ports and issue width (4 MACs/cycle here)
    bmm = g.op("batch_matmul")
    c = system.cpu
    lanes = c.simd_bytes_per_uop / 4  # fp32 lanes per micro-op
    per_mac = max(2 / c.simd_uops_per_cycle, 2 / c.mem_uops_per_cycle, 4 / c.issue_width) / lanes
    assert per_mac == 0.25
    assert cpu_op_work_s(system, bmm) == pytest.approx(bmm.macs * per_mac / c.freq_hz)
    narrow = system.replace(**{"cpu.mem_uops_per_cycle": 1.0})
    assert cpu_op_work_s(narrow, bmm) == pytest.approx(bmm.macs * 2.0 / lanes / c.freq_hz)
    wide = system.replace(**{"cpu.simd_bytes_per_uop": 16})  # whole 128-bit micro-ops: twice the lanes
    assert cpu_op_work_s(wide, bmm) == pytest.approx(cpu_op_work_s(system, bmm) / 2)
    assert cpu_op_work_s(system, g.op("gelu_tanh")) > cpu_op_work_s(system, g.op("rms_norm")) > 0


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple), data=st.data())
def test_transpose_matches_numpy(shape, data):
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    x = np.arange(math.prod(shape), dtype=np.float32).reshape(shape)
    np.testing.assert_array_equal(tr.transpose(x, perm), np.transpose(x, perm))
    ids = np.arange(math.prod(shape), dtype=np.int32).reshape(shape)
    np.testing.assert_array_equal(tr.transpose(ids, perm), np.transpose(ids, perm))
    half = (x / 7).astype(np.float16)  # Numba has no float16: permuted as bits, exactly
    got = tr.transpose(half, perm)
    assert got.dtype == np.float16
    np.testing.assert_array_equal(got, np.transpose(half, perm))


def test_batch_matmul_scale_and_graph_transpose():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2, 3, 4)).astype(np.float32), rng.normal(size=(2, 5, 4)).astype(np.float32)
    _close(tr.batch_matmul(a, b, True, 0.125), 0.125 * (a.astype(np.float64) @ np.swapaxes(b, 1, 2)))
    with Graph("t", dtype="float32"):
        x = _inp((2, 3, 4, 5))
        assert nn.transpose(x, (0, 2, 1, 3)).shape == (2, 4, 3, 5)
    _graph_error(lambda: nn.transpose(_inp((2, 3)), (0, 0)), ["'transpose'", "perm", "(0, 0)"])
    _graph_error(lambda: nn.batch_matmul(_inp((2, 3)), _inp((3, 2)), scale=float("nan")), ["scale", "nan"])
