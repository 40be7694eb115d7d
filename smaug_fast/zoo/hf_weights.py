"""HuggingFace state dicts as the weights of a :func:`~smaug_fast.zoo.transformer` graph.

``transformer_weights(config, state_dict)`` maps the parameter names of a HuggingFace ``transformers``
model (``GPT2LMHeadModel``/``GPT2Model``, ``BertModel``, ``LlamaForCausalLM``/``LlamaModel``,
``ViTForImageClassification``) to the constant tensors of the graph that ``zoo.transformer(config)``
builds, in their layouts, so that ``run_functional(graph, weights=...)`` computes what the
``transformers`` model computes. NumPy only: the values may be NumPy arrays or anything with
``.detach().cpu().numpy()`` (torch tensors), so that a ``model.state_dict()`` can be passed as it is.

Layout conversions (HuggingFace -> ours):

- GPT-2's ``Conv1D`` weights are (in x out); our inner products take (out x in): transposed.
- ``nn.Linear`` weights are (out x in) already; biases (out,) become one row (1 x out).
- ViT's patch projection is a ``Conv2d`` (K x C x R x S); our NHWC convolution takes K x R x S x C.
- Layer-norm ``weight`` and ``bias`` are our ``gamma`` and ``beta``.

Keys are looked up bare (``h.0.ln_1.weight``) and with the prefix of a model with a head
(``transformer.``, ``model.``, ``bert.``, ``vit.``); ViT's keys of transformers 4.x
(``encoder.layer.N.attention.attention.query``) and of 5.x (``layers.N.attention.q_proj``) are both
accepted. The KV cache tensors of a decode graph are state, not weights: give them as ``weights``
too, from the model's ``past_key_values``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from ..choices import ModelFamily
from ..errors import WorkloadError, describe
from .transformer import Arch, load_config, parse_arch, transformer

#: Prefixes under which a model with a head holds the bare model's parameters.
_PREFIXES = {
    ModelFamily.GPT2: ("transformer.",),
    ModelFamily.BERT: ("bert.",),
    ModelFamily.LLAMA: ("model.",),
    ModelFamily.VIT: ("vit.",),
}

# transforms: "same", "T" (transpose), "row" (1 x n), "conv" (KCRS -> KRSC), "nhwc_bias" (1 x 1 x 1 x K)
_Entry = tuple[str, tuple[str, ...], str]


def _dense(ours: str, keys: tuple[str, ...], conv1d: bool = False, bias: bool = True) -> list[_Entry]:
    """Weights (and bias) of a linear layer: ours/weights (out x in), ours/bias (1 x out)."""
    out = [(f"{ours}/weights", tuple(f"{k}.weight" for k in keys), "T" if conv1d else "same")]
    if bias:
        out.append((f"{ours}/bias", tuple(f"{k}.bias" for k in keys), "row"))
    return out


def _norm(ours: str, keys: tuple[str, ...], beta: bool = True) -> list[_Entry]:
    out = [(f"{ours}/gamma", tuple(f"{k}.weight" for k in keys), "same")]
    if beta:
        out.append((f"{ours}/beta", tuple(f"{k}.bias" for k in keys), "same"))
    return out


def _gpt2(a: Arch) -> list[_Entry]:
    e: list[_Entry] = [("wte", ("wte.weight",), "same"), ("wpe", ("wpe.weight",), "same")]
    for i in range(a.layers):
        p, h = f"h{i}", f"h.{i}"
        e += _norm(f"{p}/ln_1", (f"{h}.ln_1",))
        e += _dense(f"{p}/attn/c_attn", (f"{h}.attn.c_attn",), conv1d=True)
        e += _dense(f"{p}/attn/o_proj", (f"{h}.attn.c_proj",), conv1d=True)
        e += _norm(f"{p}/ln_2", (f"{h}.ln_2",))
        e += _dense(f"{p}/mlp/c_fc", (f"{h}.mlp.c_fc",), conv1d=True)
        e += _dense(f"{p}/mlp/c_proj", (f"{h}.mlp.c_proj",), conv1d=True)
    e += _norm("ln_f", ("ln_f",))
    if not a.tie:
        e += _dense("lm_head", ("lm_head",), bias=False)
    return e


def _bert(a: Arch) -> list[_Entry]:
    e: list[_Entry] = [
        (name, (f"embeddings.{name}.weight",), "same")
        for name in ("word_embeddings", "position_embeddings", "token_type_embeddings")
    ]
    e += _norm("embeddings/layer_norm", ("embeddings.LayerNorm",))
    for i in range(a.layers):
        p, h = f"layer{i}", f"encoder.layer.{i}"
        for ours, theirs in (("q_proj", "query"), ("k_proj", "key"), ("v_proj", "value")):
            e += _dense(f"{p}/attention/{ours}", (f"{h}.attention.self.{theirs}",))
        e += _dense(f"{p}/attention/o_proj", (f"{h}.attention.output.dense",))
        e += _norm(f"{p}/attention/layer_norm", (f"{h}.attention.output.LayerNorm",))
        e += _dense(f"{p}/intermediate", (f"{h}.intermediate.dense",))
        e += _dense(f"{p}/output", (f"{h}.output.dense",))
        e += _norm(f"{p}/output/layer_norm", (f"{h}.output.LayerNorm",))
    e += _dense("pooler/dense", ("pooler.dense",))
    return e


def _llama(a: Arch) -> list[_Entry]:
    e: list[_Entry] = [("embed_tokens", ("embed_tokens.weight",), "same")]
    for i in range(a.layers):
        p, h = f"layers{i}", f"layers.{i}"
        e += _norm(f"{p}/input_layernorm", (f"{h}.input_layernorm",), beta=False)
        for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
            e += _dense(f"{p}/self_attn/{proj}", (f"{h}.self_attn.{proj}",), bias=False)
        e += _norm(f"{p}/post_attention_layernorm", (f"{h}.post_attention_layernorm",), beta=False)
        for proj in ("gate_proj", "up_proj", "down_proj"):
            e += _dense(f"{p}/mlp/{proj}", (f"{h}.mlp.{proj}",), bias=False)
    e += _norm("norm", ("norm",), beta=False)
    if not a.tie:
        e += _dense("lm_head", ("lm_head",), bias=False)
    return e


def _vit(a: Arch) -> list[_Entry]:
    proj = "embeddings.patch_embeddings.projection"
    e: list[_Entry] = [
        ("patch_embeddings/weights", (f"{proj}.weight",), "conv"),
        ("patch_embeddings/bias", (f"{proj}.bias",), "nhwc_bias"),
        ("cls_token", ("embeddings.cls_token",), "same"),
        ("position_embeddings", ("embeddings.position_embeddings",), "same"),
    ]
    for i in range(a.layers):
        p, new, old = f"layer{i}", f"layers.{i}", f"encoder.layer.{i}"
        e += _norm(f"{p}/layernorm_before", (f"{new}.layernorm_before", f"{old}.layernorm_before"))
        for ours, theirs in (("q_proj", "query"), ("k_proj", "key"), ("v_proj", "value")):
            e += _dense(f"{p}/attention/{ours}", (f"{new}.attention.{ours}", f"{old}.attention.attention.{theirs}"))
        e += _dense(f"{p}/attention/o_proj", (f"{new}.attention.o_proj", f"{old}.attention.output.dense"))
        e += _norm(f"{p}/layernorm_after", (f"{new}.layernorm_after", f"{old}.layernorm_after"))
        e += _dense(f"{p}/intermediate", (f"{new}.mlp.fc1", f"{old}.intermediate.dense"))
        e += _dense(f"{p}/output", (f"{new}.mlp.fc2", f"{old}.output.dense"))
    e += _norm("layernorm", ("layernorm",))
    e += _dense("classifier", ("classifier",))
    return e


_MAPS = {ModelFamily.GPT2: _gpt2, ModelFamily.BERT: _bert, ModelFamily.LLAMA: _llama, ModelFamily.VIT: _vit}


def _as_numpy(key: str, value: object) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor: no torch import needed
        value = value.detach().cpu().float().numpy()
    try:
        return np.asarray(value)
    except Exception as err:  # noqa: BLE001 - anything that is not array-like
        raise WorkloadError(f"transformer_weights: state_dict[{key!r}] = {describe(value)}: not an array ({err})") from None


def _convert(arr: np.ndarray, how: str) -> np.ndarray:
    if how == "T":
        return arr.T
    if how == "row":
        return arr.reshape(1, -1)
    if how == "conv":
        return arr.transpose(0, 2, 3, 1)
    if how == "nhwc_bias":
        return arr.reshape(1, 1, 1, -1)
    return arr


def hf_parameter_names(config: object) -> dict[str, tuple[str, ...]]:
    """For each weight of ``transformer(config)``: the HuggingFace parameter names it may come from
    (bare, without a head model's prefix; the first that a state dict has is used)."""
    a = parse_arch(load_config(config))
    return {ours: keys for ours, keys, _ in _MAPS[a.family](a)}


def transformer_weights(config: object, state_dict: Mapping[str, object], *, dtype: str = "float16") -> dict[str, np.ndarray]:
    """The weights of ``transformer(config)`` from a HuggingFace ``state_dict``, by our tensor names,
    as contiguous arrays of ``dtype`` ready for ``run_functional(graph, weights=...)``.

    ``config``: what :func:`~smaug_fast.zoo.transformer` takes (a dict, a config.json path or a shipped
    name). A missing key, or a shape that does not fit the config, is a WorkloadError naming the key.
    """
    cfg = load_config(config)
    a = parse_arch(cfg)
    if not isinstance(state_dict, Mapping):
        raise WorkloadError(f"transformer_weights: state_dict = {describe(state_dict)}: must be a mapping of "
                            "parameter name to array")
    if dtype not in ("float16", "float32"):
        raise WorkloadError(f"transformer_weights: dtype = {describe(dtype)}: must be float16 or float32")
    # a graph of one token has every weight, with the shapes the config gives them
    g = transformer(cfg, "prefill", seq_len=None if a.family is ModelFamily.VIT else 1, dtype="float32")
    shapes = {t.name: t.shape for t in g.constants}
    prefixes = ("",) + _PREFIXES[a.family]
    out: dict[str, np.ndarray] = {}
    for ours, keys, how in _MAPS[a.family](a):
        found = next((p + k for k in keys for p in prefixes if p + k in state_dict), None)
        if found is None:
            raise WorkloadError(f"transformer_weights: state_dict[{keys[0]!r}]: missing (weight {ours!r} of a "
                                f"{a.family.value} model with {a.layers} layers)")
        raw = _as_numpy(found, state_dict[found])
        if raw.size != math.prod(shapes[ours]):
            raise WorkloadError(f"transformer_weights: state_dict[{found!r}].shape = {raw.shape}: tensor {ours!r} "
                                f"of this config has shape {shapes[ours]}")
        arr = _convert(raw, how)
        if arr.shape != shapes[ours]:
            raise WorkloadError(f"transformer_weights: state_dict[{found!r}].shape = {raw.shape}: tensor {ours!r} "
                                f"of this config has shape {shapes[ours]}")
        out[ours] = np.ascontiguousarray(arr, dtype=dtype)
    return out
