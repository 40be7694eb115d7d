"""zoo.transformer (issue 19): shipped configs, published parameter counts, config sources, bad
configs, and a decode step with its KV cache equal to the prefill it continues."""

from __future__ import annotations

import json

import numpy as np
import pytest

from smaug_fast import run_functional, zoo
from smaug_fast.errors import WorkloadError

TINY_GPT2 = {"model_type": "gpt2", "n_embd": 16, "n_layer": 2, "n_head": 2, "vocab_size": 50, "n_positions": 32}
TINY_LLAMA = {"model_type": "llama", "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 2, "intermediate_size": 24, "vocab_size": 40, "max_position_embeddings": 32}


def test_shipped_configs_listed():
    assert zoo.transformer_configs() == ["gpt2", "bert-base-uncased", "tinyllama-1.1b", "vit-b16"]


@pytest.mark.parametrize(
    "name, published",
    [
        ("gpt2", 124_439_808),  # GPT-2 small without the tied LM head
        ("bert-base-uncased", 109_482_240),  # BERT-base with the pooler
        ("tinyllama-1.1b", 1_100_048_384),  # TinyLlama with its untied LM head
        ("vit-b16", 86_567_656),  # ViT-B/16 with its 1000-class classifier (ViTForImageClassification)
    ],
)
def test_published_parameter_counts(name, published):
    assert zoo.transformer(name).num_params == published
    if name in ("gpt2", "tinyllama-1.1b"):  # the KV cache is state, not parameters
        assert zoo.transformer(name, phase="decode", kv_len=64).num_params == published


def test_config_from_dict_and_path(tmp_path):
    from smaug_fast.zoo.transformer import load_config

    cfg = load_config("gpt2")
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    assert zoo.transformer(str(path)).num_params == zoo.transformer(cfg).num_params == 124_439_808
    assert zoo.transformer(path, seq_len=4).num_params == 124_439_808


@pytest.mark.parametrize(
    "change, kwargs, words",
    [
        ({"n_embd": None}, {}, ["'n_embd'", "missing"]),
        ({"n_head": 5}, {}, ["'n_head'", "5", "hidden size 16"]),
        ({"model_type": "t5"}, {}, ["'model_type'", "t5"]),
        ({}, {"seq_len": 0}, ["seq_len", "0"]),
        ({}, {"phase": "decode", "kv_len": 0}, ["kv_len", "0"]),
        ({}, {"phase": "decode", "kv_len": -3}, ["kv_len", "-3"]),
        ({}, {"seq_len": 33}, ["seq_len", "33", "maximum of 32"]),
        ({}, {"phase": "decode", "kv_len": 32}, ["kv_len", "32", "maximum of 32"]),
        ({}, {"phase": "train"}, ["phase", "train"]),
        ({}, {"batch": 0}, ["batch", "0"]),
    ],
)
def test_bad_gpt2_configs(change, kwargs, words):
    cfg = {**TINY_GPT2, **change}
    cfg = {k: v for k, v in cfg.items() if v is not None}
    with pytest.raises(WorkloadError) as err:
        zoo.transformer(cfg, **kwargs)
    for w in words:
        assert w in str(err.value), str(err.value)


def test_bad_llama_and_encoder_configs():
    with pytest.raises(WorkloadError, match=r"'num_key_value_heads'\] = 3: does not divide num_attention_heads = 4"):
        zoo.transformer({**TINY_LLAMA, "num_key_value_heads": 3})
    with pytest.raises(WorkloadError, match="'bert' is an encoder"):
        zoo.transformer("bert-base-uncased", phase="decode", kv_len=4)
    with pytest.raises(WorkloadError, match="config = 'gpt3'"):
        zoo.transformer("gpt3")
    with pytest.raises(WorkloadError, match="seq_len = 513"):
        zoo.transformer("bert-base-uncased", seq_len=513)


def _past(values, graph, tokens):
    """The KV cache a decode graph reads, from the prefill's keys and values of the first ``tokens``."""
    out = {}
    for t in graph.constants:
        if t.name in graph.state_tensors:  # "<layer>/key/past" <- the prefill's keys before the cache
            layer, kind = t.name.split("/")[:-2], t.name.split("/")[-2]
            src = "/".join(layer) + ("/k_rotary" if "/self_attn" in t.name else "/k/transpose")
            if kind == "value":
                src = "/".join(layer) + "/v/transpose"
            out[t.name] = np.ascontiguousarray(values[src][:, :, :tokens, :])
    return out


@pytest.mark.parametrize("cfg", [TINY_GPT2, TINY_LLAMA], ids=["gpt2", "llama"])
def test_decode_with_kv_cache_equals_prefill(cfg):
    t = 6
    pre = zoo.transformer(cfg, seq_len=t, batch=2, dtype="float32")
    rng = np.random.default_rng(0)
    ids = rng.integers(0, cfg.get("vocab_size"), size=(2, t)).astype(np.int32)
    inputs = {"input_ids": ids}
    if cfg["model_type"] == "gpt2":
        inputs["position_ids"] = np.tile(np.arange(t, dtype=np.int32), (2, 1))
    out, values = run_functional(pre, inputs, seed=1, return_intermediates=True)
    dec = zoo.transformer(cfg, phase="decode", kv_len=t - 1, batch=2, dtype="float32")
    dec_inputs = {k: np.ascontiguousarray(v[:, -1:]) for k, v in inputs.items()}
    dec_out = run_functional(dec, dec_inputs, weights=_past(values, dec, t - 1), seed=1)
    want, got = out["lm_head"], dec_out["lm_head"]
    assert want.shape == got.shape == (2, cfg["vocab_size"])
    np.testing.assert_allclose(got, want, atol=1e-5 * float(np.abs(want).max()))
