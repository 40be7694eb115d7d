"""A graph's matrix products as GEMM simulators list them (smaug_fast.workload.gemm)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smaug_fast import Graph, zoo
from smaug_fast.workload import nn
from smaug_fast.workload.gemm import Gemm, gemms

#: GPT-2 with the sizes of SCALE-Sim's topologies/GEMM_mnk/gpt2.csv (validation/scalesim/gpt2_layer.py).
SCALESIM_GPT2 = {"model_type": "gpt2", "n_embd": 1600, "n_layer": 1, "n_head": 25, "n_inner": 3072,
                 "vocab_size": 50257, "n_positions": 1024}


def test_one_gpt2_layer_is_scalesims_gemm_list(reference_dir):
    """The layer built from a config has exactly SCALE-Sim's six M, N, K rows (one head each)."""
    rows = (reference_dir / "scalesim" / "topologies" / "gpt2.csv").read_text().splitlines()[1:]
    theirs = sorted(tuple(int(c) for c in r.split(",")[1:4]) for r in rows if r.strip())
    g = zoo.transformer(SCALESIM_GPT2, "prefill", seq_len=1024)
    layer = [x for x in gemms(g) if x.name.startswith("h0/")]
    assert sorted((x.m, x.n, x.k) for x in layer) == theirs
    assert {x.name.split("/")[-1]: x.batch for x in layer if x.batch > 1} == {"scores": 25, "context": 25}


@pytest.mark.parametrize("batch_matmul", ["fused", "cpu"])
def test_gemm_macs_are_the_graphs(batch_matmul):
    """Every MAC of a decoder's linear layers and attention products (fused or not) is in the GEMM list."""
    g = zoo.transformer("gpt2", "decode", kv_len=16, batch_matmul=batch_matmul)
    listed = sum(x.macs for x in gemms(g))
    assert listed == g.macs == sum(op.macs for op in g.ops
                                   if type(op).__name__ in ("InnerProduct", "BatchMatMul", "Attention"))


def test_fused_attention_lists_the_eager_products():
    """A fused attention op is listed as the two products the eager chain has, per query head (GQA)."""
    with Graph("g") as g:
        q, k, v = g.input((1, 6, 5, 8), layout="X"), g.input((1, 2, 9, 8), layout="X"), g.input((1, 2, 9, 4), layout="X")
        nn.attention(q, k, v, name="attn")
    assert gemms(g) == [Gemm("attn/scores", 5, 9, 8, 6), Gemm("attn/context", 5, 4, 9, 6)]


@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 40), k=st.integers(1, 40), n=st.integers(1, 40), heads=st.integers(1, 4),
       transpose=st.booleans())
def test_shapes_of_a_linear_layer_and_a_batched_product(m, k, n, heads, transpose):
    with Graph("g") as g:
        x = g.input((m, k), layout="NC")
        nn.inner_product(x, n, name="fc")
        a = g.input((1, heads, m, k), layout="NCHW")
        b = g.input((1, heads, n, k) if transpose else (1, heads, k, n), layout="NCHW")
        nn.batch_matmul(a, b, transpose_b=transpose, name="bmm")
    assert gemms(g) == [Gemm("fc", m, n, k), Gemm("bmm", m, n, k, heads)]
