"""zoo.transformer_weights: HuggingFace state dicts (NumPy arrays here; torch in test_transformers_hf.py)
as the weights of a transformer graph, with layouts converted and bad input named."""

from __future__ import annotations

import numpy as np
import pytest

from smaug_fast import WorkloadError, zoo

GPT2_TINY = {"model_type": "gpt2", "n_embd": 16, "n_layer": 2, "n_head": 2, "vocab_size": 50, "n_positions": 32}
LLAMA_TINY = {"model_type": "llama", "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 4,
              "num_key_value_heads": 2, "intermediate_size": 24, "vocab_size": 50, "max_position_embeddings": 32,
              "tie_word_embeddings": False}
VIT_TINY = {"model_type": "vit", "hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2,
            "intermediate_size": 24, "image_size": 16, "patch_size": 8, "num_channels": 3, "num_labels": 5}


def _hf_state_dict(config: dict, prefix: str, *, legacy_vit: bool = False) -> tuple[dict, dict]:
    """A state dict with HuggingFace's names and layouts, and the arrays our graph should get (written
    out slowly, layer by layer, from the HuggingFace module structure)."""
    g = zoo.transformer(config, dtype="float32", **({} if config["model_type"] == "vit" else {"seq_len": 1}))
    rng = np.random.default_rng(0)
    ours = {t.name: rng.standard_normal(t.shape).astype(np.float32) for t in g.constants}
    sd = {}
    for name, value in ours.items():
        if config["model_type"] == "gpt2":
            key = (name.replace("/", ".").replace("attn.o_proj", "attn.c_proj").replace(".gamma", ".weight")
                   .replace(".beta", ".bias").replace(".weights", ".weight"))
            key = key.replace("h0.", "h.0.").replace("h1.", "h.1.")
            if key in ("wte", "wpe"):
                key += ".weight"
            # Conv1D: (in x out) weights, (out,) biases
            value = value.T if key.endswith(".weight") and value.ndim == 2 and key not in ("wte.weight", "wpe.weight") else value
            value = value.reshape(-1) if key.endswith(".bias") else value
        elif config["model_type"] == "llama":
            key = (name.replace("layers0/", "layers.0.").replace("/", ".").replace(".gamma", ".weight")
                   .replace(".weights", ".weight"))
            if key == "embed_tokens":
                key += ".weight"
        else:
            key = {"patch_embeddings/weights": "embeddings.patch_embeddings.projection.weight",
                   "patch_embeddings/bias": "embeddings.patch_embeddings.projection.bias",
                   "cls_token": "embeddings.cls_token",
                   "position_embeddings": "embeddings.position_embeddings"}.get(name)
            if name == "patch_embeddings/weights":
                value = value.transpose(0, 3, 1, 2)  # K x R x S x C -> Conv2d's K x C x R x S
            if key is None:
                key = name.replace("/gamma", ".weight").replace("/beta", ".bias").replace("/weights", ".weight")
                key = key.replace("/bias", ".bias").replace("layer0/", "layers.0." if not legacy_vit else "encoder.layer.0.")
                if legacy_vit:
                    key = (key.replace("attention/q_proj", "attention.attention.query")
                           .replace("attention/k_proj", "attention.attention.key")
                           .replace("attention/v_proj", "attention.attention.value")
                           .replace("attention/o_proj", "attention.output.dense")
                           .replace("0.intermediate", "0.intermediate.dense").replace("0.output", "0.output.dense"))
                else:
                    key = (key.replace("attention/", "attention.").replace("0.intermediate", "0.mlp.fc1")
                           .replace("0.output", "0.mlp.fc2"))
            value = value.reshape(-1) if key.endswith(".bias") else value
        sd[(prefix if key != "classifier.weight" and not key.startswith("classifier") else "") + key] = value
    return sd, ours


@pytest.mark.parametrize(
    "config, prefix, legacy",
    [(GPT2_TINY, "transformer.", False), (GPT2_TINY, "", False), (LLAMA_TINY, "model.", False),
     (VIT_TINY, "vit.", False), (VIT_TINY, "vit.", True)],
)
def test_state_dict_maps_to_every_weight(config, prefix, legacy):
    sd, ours = _hf_state_dict(config, prefix, legacy_vit=legacy)
    if config["model_type"] == "llama":  # LlamaForCausalLM keeps its head outside model.
        sd["lm_head.weight"] = sd.pop("model.lm_head.weight")
    got = zoo.transformer_weights(config, sd, dtype="float32")
    assert set(got) == set(ours)
    for name, value in ours.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)
        assert got[name].flags.c_contiguous and got[name].dtype == np.float32


def test_float16_default_and_run_functional_takes_them():
    sd, _ = _hf_state_dict(GPT2_TINY, "transformer.")
    w = zoo.transformer_weights(GPT2_TINY, sd)
    assert all(v.dtype == np.float16 for v in w.values())
    g = zoo.transformer(GPT2_TINY, seq_len=3)
    from smaug_fast import run_functional

    out = run_functional(g, weights=w)
    assert out["lm_head"].shape == (1, 50)
    assert set(zoo.hf_parameter_names(GPT2_TINY)) == {t.name for t in g.constants}


def test_bad_input_is_named():
    sd, _ = _hf_state_dict(GPT2_TINY, "transformer.")
    missing = dict(sd)
    del missing["transformer.h.1.mlp.c_fc.bias"]
    with pytest.raises(WorkloadError, match=r"state_dict\['h.1.mlp.c_fc.bias'\]: missing"):
        zoo.transformer_weights(GPT2_TINY, missing)
    wrong = dict(sd)
    wrong["transformer.wpe.weight"] = np.zeros((31, 16), np.float32)
    with pytest.raises(WorkloadError, match=r"state_dict\['transformer.wpe.weight'\].shape = \(31, 16\)"):
        zoo.transformer_weights(GPT2_TINY, wrong)
    transposed = dict(sd)  # a Linear-style (out x in) weight where GPT-2's Conv1D (in x out) belongs
    transposed["transformer.h.0.mlp.c_fc.weight"] = sd["transformer.h.0.mlp.c_fc.weight"].T
    with pytest.raises(WorkloadError, match=r"c_fc.weight'\].shape = \(64, 16\)"):
        zoo.transformer_weights(GPT2_TINY, transposed)
    with pytest.raises(WorkloadError, match="dtype = 'int8'"):
        zoo.transformer_weights(GPT2_TINY, sd, dtype="int8")
    with pytest.raises(WorkloadError, match="state_dict = "):
        zoo.transformer_weights(GPT2_TINY, [1, 2])
    with pytest.raises(WorkloadError, match="model_type"):
        zoo.transformer_weights({"model_type": "t5"}, sd)
