"""Batched matmuls on the accelerator (issue 19): nn.unrolled_batch_matmul maps each batch item to an inner
product, as SMAUG unrolls its attention (python/ops/attention.py), and zoo.transformer(batch_matmul=
"inner_products") builds attention that way; "cpu" keeps one BatchMatMul op each on the CPU; the default ("fused")
is one Attention op, the same function."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smaug_fast import Graph, WorkloadError, nn, presets, run_functional, simulate, zoo
from smaug_fast.choices import Role
from smaug_fast.sim.lowering import lower
from smaug_fast.tiling.smv import tile_inner_product

GPT2_TINY = {"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "vocab_size": 100, "n_positions": 64}
LLAMA_TINY = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 2, "intermediate_size": 96, "vocab_size": 100, "max_position_embeddings": 64}


def _both(batch, m, k, n, transpose_b, scale, dtype, group=1):
    """The batched and the unrolled product; b has 1/``group`` of a's items in its last batch dimension."""
    b_batch = (*batch[:-1], batch[-1] // group)
    with Graph("g", dtype=dtype, layout="NC") as g:
        a = g.input((*batch, m, k), layout="X", name="a")
        b = g.input((*b_batch, n, k) if transpose_b else (*b_batch, k, n), layout="X", name="b")
        nn.batch_matmul(a, b, transpose_b=transpose_b, scale=scale, name="ref")
        nn.unrolled_batch_matmul(a, b, transpose_b=transpose_b, scale=scale, name="unrolled")
    return g


@settings(max_examples=30, deadline=None)
@given(batch=st.lists(st.integers(1, 3), min_size=1, max_size=2).map(tuple), m=st.integers(1, 5),
       k=st.integers(1, 9), n=st.integers(1, 6), transpose_b=st.booleans(),
       scale=st.sampled_from([1.0, 0.125, 0.3]), group=st.sampled_from([1, 2, 3]), seed=st.integers(0, 1000))
def test_unrolled_equals_the_batched_product(batch, m, k, n, transpose_b, scale, group, seed):
    batch = (*batch[:-1], batch[-1] * group)  # grouped (GQA): b has batch[-1] / group items there
    g = _both(batch, m, k, n, transpose_b, scale, "float32", group)
    _, v = run_functional(g, seed=seed, return_intermediates=True)
    # slow reference: item by item, in float64; a's item h of the last batch dimension uses b's h // group
    a, b = v["a"].astype(np.float64), v["b"].astype(np.float64)
    want = np.zeros((*batch, m, n))
    for idx in np.ndindex(*batch):
        b_idx = (*idx[:-1], idx[-1] // group)
        bb = b[b_idx].T if transpose_b else b[b_idx]
        want[idx] = scale * (a[idx] @ bb)
    np.testing.assert_allclose(v["unrolled"], want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(v["unrolled"], v["ref"], rtol=1e-5, atol=1e-6)
    items = int(np.prod(batch))
    ips = [op for op in g.ops if op.kind == "inner_product"]
    assert len(ips) == items
    for op in ips:
        x, w = op.inputs
        assert x.shape == (m, k) and w.shape == (n, k) and not w.constant and op.outputs[0].shape == (m, n)
    assert g.macs == 2 * g.op("ref").macs  # the same multiply-accumulates, counted once per form


def test_unrolled_float16_and_bad_shapes_named():
    g = _both((2, 3), 4, 16, 5, True, 0.25, "float16")
    _, v = run_functional(g, seed=2, return_intermediates=True)
    ref = v["ref"].astype(np.float64)
    assert np.abs(v["unrolled"] - ref).max() <= 2e-3 * np.abs(ref).max()
    with Graph("bad", layout="NC") as bad:
        a = bad.input((2, 4, 5), layout="X")
        b = bad.input((3, 5, 6), layout="X")
        with pytest.raises(WorkloadError, match=r"op 'bmm' \(batch_matmul\): input shapes"):
            nn.unrolled_batch_matmul(a, b, name="bmm")


def test_each_item_is_tiled_as_smaug_tiles_an_inner_product():
    """An item's plan on SMV is SMAUG's inner-product tiling of its shapes (smv_inner_product_tiling.cpp),
    its runtime weights are tiled by the CPU before the op (a prep role), and constant weights are not."""
    acc = presets.load("smaug-table2").accelerator
    g = zoo.transformer("gpt2", "decode", kv_len=300, batch_matmul="inner_products")
    items = [op for op in g.ops if op.name.startswith("h0/attn/scores/item")]
    assert len(items) == 12
    for op in items:
        low = lower(op, acc)
        with Graph("one", layout="NC") as one:  # the same shapes with constant weights
            x = one.input(op.inputs[0].shape)
            w = one.constant(op.inputs[1].shape, name="w")
            ref = one.add(type(op), [x, w], name=op.name).outputs[0]
        ref_op = one.producer(ref)
        ref_plan = tile_inner_product(ref_op, acc.tiling_params(), acc.kind)
        assert low.plan.tensors == tuple(t.__class__(**{**t.__dict__, "name": low.plan.tensor(t.role).name})
                                         for t in ref_plan.tensors)
        assert low.plan.scheduler == ref_plan.scheduler
        assert Role.WEIGHTS not in low.constant_roles
        assert (Role.WEIGHTS in low.prep_roles) == low.copied(Role.WEIGHTS)
        ref_low = lower(ref_op, acc)
        assert Role.WEIGHTS in ref_low.constant_roles and Role.WEIGHTS not in ref_low.prep_roles
    # 300 cached keys of 64: 19,264 fp16 elements with the new one, more than one 16,384-element scratchpad
    assert lower(items[0], acc).plan.tensor(Role.WEIGHTS).num_tiles > 1


@pytest.mark.parametrize("cfg", [GPT2_TINY, LLAMA_TINY], ids=["gpt2", "llama"])
@pytest.mark.parametrize("phase", ["prefill", "decode"])
def test_transformer_mapping_choice(cfg, phase):
    kw = {"seq_len": 5, "batch": 2} if phase == "prefill" else {"kv_len": 5, "batch": 2}
    fused = zoo.transformer(cfg, phase, **kw)
    assert fused.ops_key() == zoo.transformer(cfg, phase, batch_matmul="fused", **kw).ops_key()  # the default
    cpu = zoo.transformer(cfg, phase, batch_matmul="cpu", **kw)
    ip = zoo.transformer(cfg, phase, batch_matmul="inner_products", **kw)
    assert not any(op.kind == "batch_matmul" for op in ip.ops)
    assert not any(op.kind in ("batch_matmul", "softmax", "causal_mask") for op in fused.ops)
    assert sum(op.kind == "attention" for op in fused.ops) == cfg.get("n_layer", cfg.get("num_hidden_layers"))
    assert ip.macs == cpu.macs == fused.macs
    assert ip.num_params == cpu.num_params + cfg.get("n_layer", cfg.get("num_hidden_layers"))
    assert fused.num_params == cpu.num_params
    # the same function: every tensor the graphs share, with the same weights and inputs
    out_cpu, v_cpu = run_functional(cpu, seed=4, return_intermediates=True)
    for other in (ip, fused):
        _, v_other = run_functional(other, seed=4, return_intermediates=True)
        shared = set(v_cpu) & set(v_other)
        context = "h0/attn/merge" if "n_layer" in cfg else "layers0/self_attn/merge"
        assert {"lm_head", context} <= shared
        if other is ip:
            assert ("h0/attn/softmax" if "n_layer" in cfg else "layers0/self_attn/softmax") in shared
        for name in shared:
            ref, got = v_cpu[name].astype(np.float64), v_other[name].astype(np.float64)
            masked = np.isinf(ref)  # the causal mask's -inf
            np.testing.assert_array_equal(np.isinf(got), masked, err_msg=name)
            ref, got = np.where(masked, 0, ref), np.where(masked, 0, got)
            assert np.abs(got - ref).max() <= 5e-3 * max(np.abs(ref).max(), 1e-3), name
    system = presets.load("soc-2026-lpddr5")
    r = simulate(ip, system)
    rows = [o for o in r.ops if "/scores/item" in o.name or "/context/item" in o.name]
    assert rows and all(o.device == "accel" and o.kind == "inner_product" for o in rows)
    assert sum(o.macs for o in rows) == sum(op.macs for op in cpu.ops if op.kind == "batch_matmul")


def test_bad_mapping_is_named():
    with pytest.raises(WorkloadError, match=r"batch_matmul = 'smv'"):
        zoo.transformer("gpt2", seq_len=4, batch_matmul="smv")
