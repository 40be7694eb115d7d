"""Transformer graphs against HuggingFace ``transformers`` (issue 19 validation; opt-in).

Run with ``python -m pytest --runtorch tests/test_transformers_hf.py`` after
``pip install -e '.[test,torch]'`` (torch CPU and transformers; no download: every model is built from
its config object with random weights).

What is checked:

- ``run_functional`` of GPT-2 small (the shipped config, 12 layers) and of a two-layer Llama-style
  config (GQA, rotary, RMS norm, SwiGLU, untied head), both a prefill and a decode step that reads the
  KV cache the ``transformers`` model built (attention's batched products both as BatchMatMul ops and
  unrolled into per-head inner products), plus small BERT and ViT configs: the ``transformers``
  model, its parameters redrawn from a seeded generator (norm gains and biases too, so that a swapped
  gamma and beta would show), gives its parameters to our graph through ``zoo.transformer_weights``.
  Every tensor of ours that has a counterpart in the ``transformers`` model is compared: each
  submodule's output (and the residual sums, as the input of the next norm), every layer's attention
  probabilities, the keys and values of its KV cache, the hidden states and the logits; each within
  1e-3 of the reference's largest magnitude (both sides float32; measured worst cases are printed by
  ``-s`` and are around 1e-6).
- ``Graph.num_params`` equals the ``transformers`` model's parameter count for every shipped config
  (the models are built on the ``meta`` device: no memory is allocated for their weights).

``transformers`` >= 5 depends on a PyPI package named ``kernels``, which this checkout's top-level
``kernels/`` folder (installed as ``smaug_fast.kernels``) shadows when the repository root is on
``sys.path`` (``python -m pytest`` puts it there): :func:`_import_transformers` imports it with the
root out of the path.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path

import numpy as np
import pytest

from smaug_fast import run_functional, zoo
from smaug_fast.zoo.transformer import load_config

pytestmark = pytest.mark.torch

TOLERANCE = 1e-3
REPO_ROOT = Path(__file__).resolve().parents[1]

#: The transformers class whose parameter count each shipped config's graph has (issue 19's
#: published counts: GPT-2 without the tied head, BERT with its pooler, TinyLlama with its head).
HF_CLASSES = {
    "gpt2": "GPT2LMHeadModel",
    "bert-base-uncased": "BertModel",
    "tinyllama-1.1b": "LlamaForCausalLM",
    "vit-b16": "ViTForImageClassification",
}

LLAMA_2L = {
    "model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "intermediate_size": 172, "vocab_size": 1000, "max_position_embeddings": 128,
    "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
}
BERT_2L = {
    "model_type": "bert", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
    "intermediate_size": 128, "vocab_size": 500, "max_position_embeddings": 64, "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
}
VIT_2L = {
    "model_type": "vit", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
    "intermediate_size": 128, "image_size": 32, "patch_size": 8, "num_channels": 3, "num_labels": 10,
    "layer_norm_eps": 1e-12,
}


def _import_transformers():
    """(torch, transformers), the latter imported with the repository root out of ``sys.path`` so that
    ``import kernels`` inside it finds the PyPI package, not this checkout's folder (module docstring)."""
    torch = pytest.importorskip("torch")
    mod = sys.modules.get("kernels")
    if mod is not None and REPO_ROOT in Path(getattr(mod, "__file__", None) or "/").resolve().parents:
        del sys.modules["kernels"]
    saved = list(sys.path)
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != REPO_ROOT]
    try:
        transformers = pytest.importorskip("transformers")
        for family in ("gpt2", "llama", "bert", "vit"):
            importlib.import_module(f"transformers.models.{family}.modeling_{family}")
    finally:
        sys.path[:] = saved
    return torch, transformers


@pytest.fixture(scope="module")
def hf():
    return _import_transformers()


def _hf_config(transformers, cfg: dict):
    kwargs = {k: v for k, v in cfg.items() if k not in ("model_type", "architectures")}
    return transformers.CONFIG_MAPPING[cfg["model_type"]](**kwargs)


def _hf_model(hf, cfg: dict, cls: str):
    """The transformers model of ``cfg``, eager attention (its probabilities are outputs), float32,
    every parameter redrawn from a seeded generator: matrices N(0, 0.05^2) (attention scores of order
    1, so that the softmax is far from uniform), 1-D gains U[0.5, 1.5), biases U[-0.1, 0.1)."""
    torch, transformers = hf
    conf = _hf_config(transformers, cfg)
    conf._attn_implementation = "eager"
    model = getattr(transformers, cls)(conf).eval().float()
    gen = torch.Generator().manual_seed(1234)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.ndim == 1 and name.endswith("weight"):
                p.copy_(torch.rand(p.shape, generator=gen) + 0.5)
            elif p.ndim == 1:
                p.copy_(torch.rand(p.shape, generator=gen) * 0.2 - 0.1)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    return model


class _Capture:
    """Inputs and outputs of every submodule of a model during one forward pass."""

    def __init__(self, model):
        self.out: dict[str, np.ndarray] = {}
        self.inp: dict[str, np.ndarray] = {}
        self.handles = [m.register_forward_hook(self._hook(name)) for name, m in model.named_modules() if name]

    def _hook(self, name):
        def hook(module, args, output):
            if args and hasattr(args[0], "detach"):
                self.inp[name] = args[0].detach().numpy().copy()
            first = output[0] if isinstance(output, tuple) else output
            if hasattr(first, "detach"):
                self.out[name] = first.detach().numpy().copy()

        return hook

    def close(self):
        for h in self.handles:
            h.remove()


def _kv(cache, i: int):
    """Keys and values of layer i of a transformers cache (5.x: .layers; 4.x: .key_cache)."""
    if hasattr(cache, "layers"):
        return cache.layers[i].keys.detach().numpy().copy(), cache.layers[i].values.detach().numpy().copy()
    return cache.key_cache[i].detach().numpy().copy(), cache.value_cache[i].detach().numpy().copy()


def _cache_of(res):
    """The KV cache a forward pass returned (``cache`` in transformers >= 5.x, ``past_key_values`` before)."""
    cache = res.get("cache", None)
    return cache if cache is not None else res["past_key_values"]


def _with_cache(model, cache) -> dict:
    """The keyword that gives ``model`` a KV cache (``cache``, or ``past_key_values`` before transformers 5.x)."""
    return {"cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values": cache}


def _error(ours: np.ndarray, ref: np.ndarray) -> float:
    scale = max(float(np.abs(ref).max()), 1e-30)
    return float(np.abs(ours.astype(np.float64) - ref.astype(np.float64)).max()) / scale


def _compare(values: dict, pairs: list[tuple[str, np.ndarray]]) -> dict[str, float]:
    """Normalized error of each (our tensor, reference) pair; the reference is reshaped to ours when the
    element counts agree (hidden states: ours (batch x tokens) x hidden, theirs batch x tokens x hidden)."""
    errors = {}
    for name, ref in pairs:
        ours = values[name]
        if ref.ndim == ours.ndim and ref.size < ours.size:  # positions: one row for the whole batch
            ref = np.broadcast_to(ref, ours.shape)
        assert ours.size == ref.size, f"{name}: ours {ours.shape}, reference {ref.shape}"
        errors[name] = _error(ours, ref.reshape(ours.shape))
    return errors


def _assert_close(errors: dict[str, float], what: str) -> None:
    bad = {k: v for k, v in errors.items() if not v <= TOLERANCE}
    worst = max(errors, key=errors.get)
    print(f"{what}: {len(errors)} tensors, worst {worst} {errors[worst]:.2e}")
    assert not bad, f"{what}: tensors off by more than {TOLERANCE} of their max: {bad}"


# -- decoders: GPT-2 and Llama ----------------------------------------------------------------------


def _decoder_pairs(family: str, layers: int, cap: _Capture, attentions, cache, logits, *, decode: bool) -> list:
    """(our tensor, reference) for every tensor of a GPT-2 or Llama graph with a transformers counterpart."""
    pairs = []
    if family == "gpt2":
        for i in range(layers):
            m, p = f"transformer.h.{i}", f"h{i}"
            pairs += [
                (f"{p}/ln_1", cap.out[f"{m}.ln_1"]),
                (f"{p}/attn/c_attn/bias_add", cap.out[f"{m}.attn.c_attn"]),
                (f"{p}/attn/o_proj/bias_add", cap.out[f"{m}.attn.c_proj"]),
                (f"{p}/residual_1", cap.inp[f"{m}.ln_2"]),
                (f"{p}/ln_2", cap.out[f"{m}.ln_2"]),
                (f"{p}/mlp/c_fc/bias_add", cap.out[f"{m}.mlp.c_fc"]),
                (f"{p}/mlp/gelu", cap.out[f"{m}.mlp.act"]),
                (f"{p}/mlp/c_proj/bias_add", cap.out[f"{m}.mlp.c_proj"]),
                (f"{p}/residual_2", cap.out[m]),
            ]
        pairs += [("wte/lookup", cap.out["transformer.wte"]), ("wpe/lookup", cap.out["transformer.wpe"]),
                  ("wpe/add", cap.inp["transformer.drop"]), ("ln_f", cap.out["transformer.ln_f"])]
        kv_names = ("k/transpose", "v/transpose")
    else:
        for i in range(layers):
            m, p = f"model.layers.{i}", f"layers{i}"
            pairs += [
                (f"{p}/input_layernorm", cap.out[f"{m}.input_layernorm"]),
                (f"{p}/self_attn/q_proj", cap.out[f"{m}.self_attn.q_proj"]),
                (f"{p}/self_attn/k_proj", cap.out[f"{m}.self_attn.k_proj"]),
                (f"{p}/self_attn/v_proj", cap.out[f"{m}.self_attn.v_proj"]),
                (f"{p}/self_attn/o_proj", cap.out[f"{m}.self_attn.o_proj"]),
                (f"{p}/residual_1", cap.inp[f"{m}.post_attention_layernorm"]),
                (f"{p}/post_attention_layernorm", cap.out[f"{m}.post_attention_layernorm"]),
                (f"{p}/mlp/gate_proj", cap.out[f"{m}.mlp.gate_proj"]),
                (f"{p}/mlp/up_proj", cap.out[f"{m}.mlp.up_proj"]),
                (f"{p}/mlp/swiglu", cap.inp[f"{m}.mlp.down_proj"]),
                (f"{p}/mlp/down_proj", cap.out[f"{m}.mlp.down_proj"]),
                (f"{p}/residual_2", cap.out[m]),
            ]
        pairs += [("embed_tokens/lookup", cap.out["model.embed_tokens"]), ("norm", cap.out["model.norm"])]
        kv_names = ("k_rotary", "v/transpose")
    for i in range(layers):
        p = f"h{i}/attn" if family == "gpt2" else f"layers{i}/self_attn"
        keys, vals = _kv(cache, i)
        if attentions is not None:  # the probabilities (a fused attention op never writes them)
            pairs.append((f"{p}/softmax", attentions[i].detach().numpy()))
        if decode:  # the cache after the step: the past keys and values with the new ones appended
            pairs += [(f"{p}/key/append", keys), (f"{p}/value/append", vals)]
        else:
            pairs += [(f"{p}/{kv_names[0]}", keys), (f"{p}/{kv_names[1]}", vals)]
    pairs.append(("lm_head", logits[:, -1].detach().numpy()))
    return pairs


@pytest.mark.parametrize("mapping", ["fused", "cpu", "inner_products"])
@pytest.mark.parametrize("family", ["gpt2", "llama"])
def test_decoder_prefill_and_decode_equal_transformers(hf, family, mapping):
    torch, _ = hf
    cfg = load_config("gpt2") if family == "gpt2" else dict(LLAMA_2L)
    cls = "GPT2LMHeadModel" if family == "gpt2" else "LlamaForCausalLM"
    model = _hf_model(hf, cfg, cls)
    weights = zoo.transformer_weights(cfg, model.state_dict(), dtype="float32")
    layers = cfg.get("n_layer", cfg.get("num_hidden_layers"))
    batch, prompt, new = 2, 6, 2
    rng = np.random.default_rng(5)
    tokens = rng.integers(0, cfg["vocab_size"], size=(batch, prompt + new)).astype(np.int32)

    def inputs(ids: np.ndarray, start: int) -> dict:
        out = {"input_ids": ids}
        if family == "gpt2":
            out["position_ids"] = np.broadcast_to(np.arange(start, start + ids.shape[1], dtype=np.int32), ids.shape).copy()
        return out

    # prefill: the prompt
    cap = _Capture(model)
    with torch.no_grad():
        res = model(torch.from_numpy(tokens[:, :prompt].astype(np.int64)), use_cache=True, output_attentions=True,
                    output_hidden_states=True)
    cap.close()
    g = zoo.transformer(cfg, "prefill", seq_len=prompt, batch=batch, dtype="float32", batch_matmul=mapping)
    _, values = run_functional(g, inputs(tokens[:, :prompt], 0), weights, return_intermediates=True)
    probs = None if mapping == "fused" else res.attentions
    pairs = _decoder_pairs(family, layers, cap, probs, _cache_of(res), res.logits, decode=False)
    _assert_close(_compare(values, pairs), f"{family} prefill ({mapping})")
    past = [_kv(_cache_of(res), i) for i in range(layers)]

    # decode: `new` tokens after the prompt's KV cache (the causal mask's offset is exercised: new > 1)
    cap = _Capture(model)
    with torch.no_grad():
        res = model(torch.from_numpy(tokens[:, prompt:].astype(np.int64)), **_with_cache(model, _cache_of(res)),
                    use_cache=True, output_attentions=True)
    cap.close()
    g = zoo.transformer(cfg, "decode", seq_len=new, kv_len=prompt, batch=batch, dtype="float32",
                        batch_matmul=mapping)
    state = {}
    for i, (k, v) in enumerate(past):
        p = f"h{i}/attn" if family == "gpt2" else f"layers{i}/self_attn"
        state[f"{p}/key/past"], state[f"{p}/value/past"] = k, v
    _, values = run_functional(g, inputs(tokens[:, prompt:], prompt), {**weights, **state}, return_intermediates=True)
    probs = None if mapping == "fused" else res.attentions
    pairs = _decoder_pairs(family, layers, cap, probs, _cache_of(res), res.logits, decode=True)
    _assert_close(_compare(values, pairs), f"{family} decode ({mapping})")


# -- encoders: BERT and ViT -------------------------------------------------------------------------


def test_bert_equals_transformers(hf):
    torch, _ = hf
    model = _hf_model(hf, BERT_2L, "BertModel")
    weights = zoo.transformer_weights(BERT_2L, model.state_dict(), dtype="float32")
    batch, seq = 2, 7
    rng = np.random.default_rng(6)
    ids = rng.integers(0, BERT_2L["vocab_size"], size=(batch, seq)).astype(np.int32)
    types = rng.integers(0, 2, size=(batch, seq)).astype(np.int32)
    pos = np.broadcast_to(np.arange(seq, dtype=np.int32), (batch, seq)).copy()
    cap = _Capture(model)
    with torch.no_grad():
        res = model(torch.from_numpy(ids.astype(np.int64)), token_type_ids=torch.from_numpy(types.astype(np.int64)),
                    position_ids=torch.from_numpy(pos.astype(np.int64)), output_attentions=True)
    cap.close()
    g = zoo.transformer(BERT_2L, seq_len=seq, batch=batch, dtype="float32", batch_matmul="cpu")  # probabilities too
    _, values = run_functional(g, {"input_ids": ids, "position_ids": pos, "token_type_ids": types}, weights,
                               return_intermediates=True)
    pairs = [("embeddings/layer_norm", cap.out["embeddings"]), ("pooler/tanh", res.pooler_output.numpy())]
    for i in range(BERT_2L["num_hidden_layers"]):
        m, p = f"encoder.layer.{i}", f"layer{i}"
        pairs += [
            (f"{p}/attention/q_proj/bias_add", cap.out[f"{m}.attention.self.query"]),
            (f"{p}/attention/k_proj/bias_add", cap.out[f"{m}.attention.self.key"]),
            (f"{p}/attention/v_proj/bias_add", cap.out[f"{m}.attention.self.value"]),
            (f"{p}/attention/softmax", res.attentions[i].numpy()),
            (f"{p}/attention/o_proj/bias_add", cap.out[f"{m}.attention.output.dense"]),
            (f"{p}/attention/layer_norm", cap.out[f"{m}.attention.output"]),
            (f"{p}/intermediate/bias_add", cap.out[f"{m}.intermediate.dense"]),
            (f"{p}/gelu", cap.out[f"{m}.intermediate"]),
            (f"{p}/output/bias_add", cap.out[f"{m}.output.dense"]),
            (f"{p}/output/layer_norm", cap.out[m]),
        ]
    _assert_close(_compare(values, pairs), "bert")


def test_vit_equals_transformers(hf):
    torch, _ = hf
    model = _hf_model(hf, VIT_2L, "ViTForImageClassification")
    weights = zoo.transformer_weights(VIT_2L, model.state_dict(), dtype="float32")
    batch, size = 2, VIT_2L["image_size"]
    pixels = np.random.default_rng(7).uniform(-1, 1, size=(batch, 3, size, size)).astype(np.float32)
    cap = _Capture(model)
    with torch.no_grad():
        res = model(torch.from_numpy(pixels), output_attentions=True)
    cap.close()
    g = zoo.transformer(VIT_2L, batch=batch, dtype="float32", batch_matmul="cpu")  # probabilities too
    nhwc = np.ascontiguousarray(pixels.transpose(0, 2, 3, 1))
    _, values = run_functional(g, {"pixel_values": nhwc}, weights, return_intermediates=True)
    patches = cap.out["vit.embeddings.patch_embeddings.projection"]  # B x K x n x n
    pairs = [
        ("patch_embeddings/bias_add", patches.transpose(0, 2, 3, 1)),
        ("embeddings/add", cap.out["vit.embeddings"]),
        ("layernorm", cap.out["vit.layernorm"]),
        ("classifier/bias_add", res.logits.numpy()),
    ]
    new = "vit.layers.0.layernorm_before" in cap.out  # transformers 5.x module names
    for i in range(VIT_2L["num_hidden_layers"]):
        m, p = (f"vit.layers.{i}" if new else f"vit.encoder.layer.{i}"), f"layer{i}"
        q, k, v, o = (("attention.q_proj", "attention.k_proj", "attention.v_proj", "attention.o_proj") if new else
                      ("attention.attention.query", "attention.attention.key", "attention.attention.value",
                       "attention.output.dense"))
        fc1, fc2 = ("mlp.fc1", "mlp.fc2") if new else ("intermediate.dense", "output.dense")
        pairs += [
            (f"{p}/layernorm_before", cap.out[f"{m}.layernorm_before"]),
            (f"{p}/attention/q_proj/bias_add", cap.out[f"{m}.{q}"]),
            (f"{p}/attention/k_proj/bias_add", cap.out[f"{m}.{k}"]),
            (f"{p}/attention/v_proj/bias_add", cap.out[f"{m}.{v}"]),
            (f"{p}/attention/softmax", res.attentions[i].numpy()),
            (f"{p}/attention/o_proj/bias_add", cap.out[f"{m}.{o}"]),
            (f"{p}/residual_1", cap.inp[f"{m}.layernorm_after"]),
            (f"{p}/layernorm_after", cap.out[f"{m}.layernorm_after"]),
            (f"{p}/intermediate/bias_add", cap.out[f"{m}.{fc1}"]),
            (f"{p}/output/bias_add", cap.out[f"{m}.{fc2}"]),
            (f"{p}/residual_2", cap.out[m]),
        ]
    _assert_close(_compare(values, pairs), "vit")


# -- parameter counts -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(HF_CLASSES))
def test_num_params_equals_transformers(hf, name):
    torch, transformers = hf
    cfg = load_config(name)
    with torch.device("meta"):  # shapes only: TinyLlama's 1.1 B parameters are not allocated
        model = getattr(transformers, HF_CLASSES[name])(_hf_config(transformers, cfg))
    theirs = sum(p.numel() for p in model.parameters())  # shared (tied) parameters once
    assert zoo.transformer(name).num_params == theirs
    assert set(HF_CLASSES) == set(zoo.transformer_configs())
