"""Transformers from HuggingFace-style configs: GPT-2, BERT, Llama-style (GQA, RMS norm, SwiGLU,
rotary) and ViT, for a prefill or a decode step (issue 19).

``transformer(config, phase, seq_len, kv_len, batch)`` builds the graph of one forward pass from a
``config.json`` (a dict, a path, or a shipped name: :func:`transformer_configs`); no network access.
Linear layers are inner products on the accelerator (hidden states are (batch x tokens) x hidden, NC);
biases are constants of one row, repeated to the activations' shape first as SMAUG broadcasts
(SMV's element-wise kernels need equal shapes); attention, norms and the other transformer ops run
on the CPU. In a decode step the KV cache of each layer is a pair of persistent tensors
(batch x KV heads x kv_len x head size, stored with room for the whole context) read every step, the
new keys and values appended in place (a CacheAppend writes only them, as on-device runtimes keep
their caches); they are constants of the graph, listed in ``graph.state_tensors`` and left out of
``num_params``. Grouped-query attention reads each KV head for its group of query heads, without
copying it per query head (HuggingFace's eager ``repeat_kv`` copies; llama.cpp does not).
"""

from __future__ import annotations

import json
import math as _pymath
import os
from dataclasses import dataclass
from importlib import resources

from ..choices import BatchMatMulMapping, ModelFamily, Phase
from ..errors import WorkloadError, describe
from ..workload import Graph, Tensor, math, nn, tensor

_SHIPPED = {
    "gpt2": "gpt2.json",
    "bert-base-uncased": "bert-base-uncased.json",
    "tinyllama-1.1b": "tinyllama-1.1b.json",
    "vit-b16": "vit-b16.json",
}

#: HuggingFace key names of each field, per family (first the key, then its default or None: required).
_KEYS: dict[ModelFamily, dict[str, tuple[str, object]]] = {
    ModelFamily.GPT2: {"hidden": ("n_embd", None), "layers": ("n_layer", None), "heads": ("n_head", None),
                       "vocab": ("vocab_size", None), "max_pos": ("n_positions", None),
                       "intermediate": ("n_inner", None), "eps": ("layer_norm_epsilon", 1e-5)},
    ModelFamily.BERT: {"hidden": ("hidden_size", None), "layers": ("num_hidden_layers", None),
                       "heads": ("num_attention_heads", None), "vocab": ("vocab_size", None),
                       "max_pos": ("max_position_embeddings", None), "intermediate": ("intermediate_size", None),
                       "eps": ("layer_norm_eps", 1e-12), "type_vocab": ("type_vocab_size", 2)},
    ModelFamily.LLAMA: {"hidden": ("hidden_size", None), "layers": ("num_hidden_layers", None),
                        "heads": ("num_attention_heads", None), "vocab": ("vocab_size", None),
                        "max_pos": ("max_position_embeddings", None), "intermediate": ("intermediate_size", None),
                        "eps": ("rms_norm_eps", 1e-6), "kv_heads": ("num_key_value_heads", None),
                        "theta": ("rope_theta", 10000.0)},
    ModelFamily.VIT: {"hidden": ("hidden_size", None), "layers": ("num_hidden_layers", None),
                      "heads": ("num_attention_heads", None), "intermediate": ("intermediate_size", None),
                      "eps": ("layer_norm_eps", 1e-12), "image": ("image_size", None), "patch": ("patch_size", None),
                      "channels": ("num_channels", 3), "labels": ("num_labels", 1000)},
}


@dataclass(frozen=True)
class Arch:
    """The hyperparameters the builders use (sizes in elements; eps dimensionless; theta [1])."""

    family: ModelFamily
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    max_pos: int
    eps: float
    theta: float = 10000.0
    type_vocab: int = 0
    tie: bool = True
    image: int = 0
    patch: int = 0
    channels: int = 0
    labels: int = 0

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads


def transformer_configs() -> list[str]:
    """Names of the shipped configs (``transformer(name)`` takes them)."""
    return list(_SHIPPED)


def load_config(config: object) -> dict:
    """The config dict of ``config``: a dict (copied), a shipped name, or the path of a config.json."""
    if isinstance(config, dict):
        return dict(config)
    if isinstance(config, str) and config in _SHIPPED:
        text = resources.files("smaug_fast.zoo").joinpath("configs", _SHIPPED[config]).read_text()
        return json.loads(text)
    if isinstance(config, (str, os.PathLike)) and os.path.isfile(config):
        try:
            with open(config, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError) as err:
            raise WorkloadError(f"transformer: config = {describe(str(config))}: not a readable JSON file ({err})") from None
        if not isinstance(data, dict):
            raise WorkloadError(f"transformer: config = {describe(str(config))}: must hold a JSON object")
        return data
    raise WorkloadError(
        f"transformer: config = {describe(config)}: not a dict, a config.json path or a shipped name "
        f"({', '.join(_SHIPPED)})"
    )


def _int_key(cfg: dict, key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise WorkloadError(f"transformer: config[{key!r}] = {describe(value)}: must be an integer >= 1")
    return value


def _get(cfg: dict, key: str, default: object) -> object:
    if key in cfg and cfg[key] is not None:
        return cfg[key]
    if default is None:
        raise WorkloadError(f"transformer: config[{key!r}]: missing (model_type {cfg.get('model_type')!r} needs it)")
    return default


def parse_arch(cfg: dict) -> Arch:
    """Validated :class:`Arch` of a config dict; WorkloadError naming the key and value of a bad one."""
    mt = cfg.get("model_type")
    if mt not in ModelFamily.values():
        raise WorkloadError(f"transformer: config['model_type'] = {describe(mt)}: must be one of "
                            f"{', '.join(ModelFamily.values())}")
    family = ModelFamily(mt)
    keys = dict(_KEYS[family])
    if family is ModelFamily.GPT2:  # n_inner null means 4 x n_embd
        keys["intermediate"] = ("n_inner", 4 * _int_key(cfg, "n_embd", _get(cfg, "n_embd", None)))
    vals: dict[str, object] = {}
    for field, (key, default) in keys.items():
        v = _get(cfg, key, default)
        if field in ("eps", "theta"):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0:
                raise WorkloadError(f"transformer: config[{key!r}] = {describe(v)}: must be a number > 0")
            vals[field] = float(v)
        else:
            vals[field] = _int_key(cfg, key, v)
    heads_key = keys["heads"][0]
    if vals["hidden"] % vals["heads"]:
        raise WorkloadError(f"transformer: config[{heads_key!r}] = {vals['heads']}: does not divide "
                            f"the hidden size {vals['hidden']}")
    kv = vals.pop("kv_heads", vals["heads"])
    if vals["heads"] % kv:
        raise WorkloadError(f"transformer: config['num_key_value_heads'] = {kv}: does not divide "
                            f"{heads_key} = {vals['heads']}")
    if family is ModelFamily.VIT:
        if vals["image"] % vals["patch"]:
            raise WorkloadError(f"transformer: config['patch_size'] = {vals['patch']}: does not divide "
                                f"image_size = {vals['image']}")
        vals["max_pos"] = (vals["image"] // vals["patch"]) ** 2 + 1
        vals["vocab"] = 0
    tie = cfg.get("tie_word_embeddings", True)
    return Arch(family=family, kv_heads=kv, tie=bool(tie), **vals)  # type: ignore[arg-type]


def _check_lengths(a: Arch, phase: Phase, seq_len: object, kv_len: object, batch: object) -> tuple[int, int, int]:
    """(seq_len, kv_len, batch), validated: positive, a context within the model's maximum."""
    if a.family is ModelFamily.VIT:
        seq_len = a.max_pos if seq_len is None else seq_len
    elif seq_len is None:
        seq_len = 1 if phase is Phase.DECODE else min(128, a.max_pos)
    kv_len = 0 if kv_len is None else kv_len
    for key, v, lo in (("seq_len", seq_len, 1), ("kv_len", kv_len, 0), ("batch", batch, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise WorkloadError(f"transformer: {key} = {describe(v)}: must be an integer >= {lo}")
    if phase is Phase.DECODE and kv_len < 1:
        raise WorkloadError(f"transformer: kv_len = {kv_len}: a decode step needs a KV cache of >= 1 tokens")
    if phase is Phase.PREFILL and kv_len:
        raise WorkloadError(f"transformer: kv_len = {kv_len}: a prefill has no KV cache (use phase='decode')")
    if a.family is ModelFamily.VIT and seq_len != a.max_pos:
        raise WorkloadError(f"transformer: seq_len = {seq_len}: ViT sees {a.max_pos} tokens (patches + class)")
    if seq_len + kv_len > a.max_pos:
        key, v = ("kv_len", kv_len) if kv_len else ("seq_len", seq_len)
        raise WorkloadError(f"transformer: {key} = {v}: context {seq_len + kv_len} exceeds the model's "
                            f"maximum of {a.max_pos} positions")
    return seq_len, kv_len, batch


@dataclass
class _Ctx:
    """What every builder step needs: the graph, the architecture and the shapes [tokens]."""

    g: Graph
    a: Arch
    batch: int
    seq: int
    kv: int
    phase: Phase
    wdtype: str  # dtype of the linear layers' weights (the graph's, or int8: weight-only quantization)
    bmm: BatchMatMulMapping = BatchMatMulMapping.FUSED  # attention: fused, batched products, or unrolled

    def batch_matmul(self, a: Tensor, b: Tensor, **kwargs) -> Tensor:
        """The batched product of attention, as one op (CPU) or one inner product per item."""
        if self.bmm is BatchMatMulMapping.INNER_PRODUCTS:
            return nn.unrolled_batch_matmul(a, b, **kwargs)
        return nn.batch_matmul(a, b, **kwargs)

    @property
    def rows(self) -> int:
        return self.batch * self.seq


def _linear(c: _Ctx, x: Tensor, out: int, name: str, bias: bool = True, weights: Tensor | None = None) -> Tensor:
    """x (rows x in) times a (out x in) weight constant, plus a bias row repeated to the rows (SMV needs
    equal shapes)."""
    if weights is None:
        weights = c.g.constant((out, x.shape[1]), name=f"{name}/weights", layout="NC", dtype=c.wdtype)
    y = nn.mat_mul(x, weights, name=name)
    if not bias:
        return y
    b = c.g.constant((1, out), name=f"{name}/bias", layout="NC")
    if x.shape[0] > 1:
        b = tensor.repeat(b, (x.shape[0], 1), name=f"{name}/bias_repeat")
    return math.add(y, b, name=f"{name}/bias_add")


def _heads(x: Tensor, c: _Ctx, n: int, name: str) -> Tensor:
    """(batch x seq) x (n x head) -> batch x n x seq x head."""
    x = tensor.reshape(x, (c.batch, c.seq, n, c.a.head_dim), "X", name=f"{name}/reshape")
    return nn.transpose(x, (0, 2, 1, 3), name=f"{name}/transpose")


def _kv(c: _Ctx, x: Tensor, name: str) -> Tensor:
    """Keys or values with the cached ones in front (decode): the new ones appended in place to the
    layer's persistent cache (:func:`~smaug_fast.workload.tensor.cache_append`). The KV heads are not
    copied to the query heads: the batched products group them (GQA, as ggml's ``mul_mat`` broadcasts;
    :class:`~smaug_fast.workload.core.BatchMatMul`)."""
    a = c.a
    if c.kv:
        past = c.g.constant((c.batch, a.kv_heads, c.kv, a.head_dim), name=f"{name}/past", layout="X")
        c.g.state_tensors.add(past.name)
        x = tensor.cache_append(past, x, axis=2, name=f"{name}/append")
    return x


def _attention(c: _Ctx, x: Tensor, p: str, *, fused: bool, bias: bool, causal: bool) -> Tensor:
    """Multi-head (grouped-query) self-attention of x ((batch x seq) x hidden); returns the same shape."""
    a = c.a
    kv_width = a.kv_heads * a.head_dim
    if fused:
        q, k, v = tensor.split(_linear(c, x, 3 * a.hidden, f"{p}/c_attn", bias), [a.hidden] * 3, axis=1,
                               name=f"{p}/split")
    else:
        q = _linear(c, x, a.hidden, f"{p}/q_proj", bias)
        k = _linear(c, x, kv_width, f"{p}/k_proj", bias)
        v = _linear(c, x, kv_width, f"{p}/v_proj", bias)
    q, k, v = _heads(q, c, a.heads, f"{p}/q"), _heads(k, c, a.kv_heads, f"{p}/k"), _heads(v, c, a.kv_heads, f"{p}/v")
    if a.family is ModelFamily.LLAMA:
        q = nn.rotary(q, offset=c.kv, theta=a.theta, name=f"{p}/q_rotary")
        k = nn.rotary(k, offset=c.kv, theta=a.theta, name=f"{p}/k_rotary")
    k, v = _kv(c, k, f"{p}/key"), _kv(c, v, f"{p}/value")
    scale = 1.0 / _pymath.sqrt(a.head_dim)
    if c.bmm is BatchMatMulMapping.FUSED:
        ctx = nn.attention(q, k, v, scale=scale, causal=causal and c.seq > 1, name=f"{p}/attention")
    else:
        s = c.batch_matmul(q, k, transpose_b=True, scale=scale, name=f"{p}/scores")
        if causal and c.seq > 1:
            s = nn.causal_mask(s, name=f"{p}/causal_mask")
        ctx = c.batch_matmul(nn.activation(s, "softmax", name=f"{p}/softmax"), v, name=f"{p}/context")
    ctx = nn.transpose(ctx, (0, 2, 1, 3), name=f"{p}/merge")
    ctx = tensor.reshape(ctx, (c.rows, a.hidden), "NC", name=f"{p}/merge_reshape")
    return _linear(c, ctx, a.hidden, f"{p}/o_proj", bias)


def _embed(c: _Ctx, names: tuple[tuple[str, str, int], ...]) -> Tensor:
    """Sum of embedding lookups (input name, table name, rows), as (batch x seq) x hidden. A table tied
    to the LM head (the first, when the config ties them) has the linear layers' weight dtype."""
    total = None
    for i, (inp, table, rows) in enumerate(names):
        ids = c.g.input((c.batch, c.seq), name=inp, dtype="int32", layout="X")
        tied = i == 0 and c.a.tie and c.a.family in (ModelFamily.GPT2, ModelFamily.LLAMA)
        t = c.g.constant((rows, c.a.hidden), name=table, layout="X", dtype=c.wdtype if tied else None)
        e = nn.embedding(ids, t, out_dtype=c.g.dtype if t.dtype != c.g.dtype else None, name=f"{table}/lookup")
        total = e if total is None else math.add(total, e, name=f"{table}/add")
    return tensor.reshape(total, (c.rows, c.a.hidden), "NC", name="embeddings/reshape")


def _token(c: _Ctx, x: Tensor, which: str, name: str) -> Tensor:
    """The first or last token of each sequence of x ((batch x seq) x hidden): batch x hidden."""
    if c.seq == 1:
        return x
    x3 = tensor.reshape(x, (c.batch, c.seq, c.a.hidden), "X", name=f"{name}/reshape")
    sizes = [1, c.seq - 1] if which == "first" else [c.seq - 1, 1]
    parts = tensor.split(x3, sizes, axis=1, name=f"{name}/split")
    t = parts[0] if which == "first" else parts[1]
    return tensor.reshape(t, (c.batch, c.a.hidden), "NC", name=f"{name}/select")


def _gpt2(c: _Ctx) -> None:
    """GPT-2 (GPT2LMHeadModel): pre-LN blocks, gelu_new MLP, LM head tied to wte, last token only."""
    a = c.a
    x = _embed(c, (("input_ids", "wte", a.vocab), ("position_ids", "wpe", a.max_pos)))
    for i in range(a.layers):
        p = f"h{i}"
        h = nn.layer_norm(x, eps=a.eps, name=f"{p}/ln_1")
        x = math.add(x, _attention(c, h, f"{p}/attn", fused=True, bias=True, causal=True), name=f"{p}/residual_1")
        h = nn.layer_norm(x, eps=a.eps, name=f"{p}/ln_2")
        h = nn.gelu(_linear(c, h, a.intermediate, f"{p}/mlp/c_fc"), approximate=True, name=f"{p}/mlp/gelu")
        x = math.add(x, _linear(c, h, a.hidden, f"{p}/mlp/c_proj"), name=f"{p}/residual_2")
    x = nn.layer_norm(x, eps=a.eps, name="ln_f")
    _lm_head(c, x, c.g.tensor("wte") if a.tie else None)


def _lm_head(c: _Ctx, x: Tensor, tied: Tensor | None) -> None:
    """Logits of the last token of each sequence (what generation needs), tied or own weights."""
    last = _token(c, x, "last", "last_token")
    if tied is None:
        tied = c.g.constant((c.a.vocab, c.a.hidden), name="lm_head/weights", layout="NC", dtype=c.wdtype)
    nn.mat_mul(last, tied, name="lm_head")


def _bert(c: _Ctx) -> None:
    """BERT (BertModel with its pooler): post-LN blocks, exact GELU, tanh pooler on the first token."""
    a = c.a
    x = _embed(c, (("input_ids", "word_embeddings", a.vocab), ("position_ids", "position_embeddings", a.max_pos),
                   ("token_type_ids", "token_type_embeddings", a.type_vocab)))
    x = nn.layer_norm(x, eps=a.eps, name="embeddings/layer_norm")
    for i in range(a.layers):
        p = f"layer{i}"
        h = _attention(c, x, f"{p}/attention", fused=False, bias=True, causal=False)
        x = nn.layer_norm(math.add(x, h, name=f"{p}/residual_1"), eps=a.eps, name=f"{p}/attention/layer_norm")
        h = nn.gelu(_linear(c, x, a.intermediate, f"{p}/intermediate"), name=f"{p}/gelu")
        h = _linear(c, h, a.hidden, f"{p}/output")
        x = nn.layer_norm(math.add(x, h, name=f"{p}/residual_2"), eps=a.eps, name=f"{p}/output/layer_norm")
    first = _token(c, x, "first", "pooler/first_token")
    nn.activation(_linear(c, first, a.hidden, "pooler/dense"), "tanh", name="pooler/tanh")


def _llama(c: _Ctx) -> None:
    """Llama (LlamaForCausalLM): pre-RMS-norm blocks, rotary, GQA, SwiGLU MLP, no biases."""
    a = c.a
    x = _embed(c, (("input_ids", "embed_tokens", a.vocab),))
    for i in range(a.layers):
        p = f"layers{i}"
        h = nn.rms_norm(x, eps=a.eps, name=f"{p}/input_layernorm")
        x = math.add(x, _attention(c, h, f"{p}/self_attn", fused=False, bias=False, causal=True),
                     name=f"{p}/residual_1")
        h = nn.rms_norm(x, eps=a.eps, name=f"{p}/post_attention_layernorm")
        gate = _linear(c, h, a.intermediate, f"{p}/mlp/gate_proj", bias=False)
        up = _linear(c, h, a.intermediate, f"{p}/mlp/up_proj", bias=False)
        h = _linear(c, nn.swiglu(gate, up, name=f"{p}/mlp/swiglu"), a.hidden, f"{p}/mlp/down_proj", bias=False)
        x = math.add(x, h, name=f"{p}/residual_2")
    x = nn.rms_norm(x, eps=a.eps, name="norm")
    _lm_head(c, x, c.g.tensor("embed_tokens") if a.tie else None)


def _broadcast_batch(c: _Ctx, t: Tensor, name: str) -> Tensor:
    return t if c.batch == 1 else tensor.repeat(t, (c.batch,) + (1,) * (t.rank - 1), name=name)


def _vit(c: _Ctx) -> None:
    """ViT (ViTForImageClassification): 16x16 patch convolution, class token, learned positions,
    pre-LN blocks with exact GELU, classifier on the class token."""
    a = c.a
    n = a.image // a.patch
    img = c.g.input((c.batch, a.image, a.image, a.channels), name="pixel_values", layout="NHWC")
    x = nn.convolution(img, a.hidden, a.patch, stride=a.patch, padding="valid", name="patch_embeddings")
    b = c.g.constant((1, 1, 1, a.hidden), name="patch_embeddings/bias", layout="NHWC")
    x = math.add(x, tensor.repeat(b, (c.batch, n, n, 1), name="patch_embeddings/bias_repeat"),
                 name="patch_embeddings/bias_add")
    x = tensor.reshape(x, (c.batch, n * n, a.hidden), "X", name="patch_embeddings/reshape")
    cls = _broadcast_batch(c, c.g.constant((1, 1, a.hidden), name="cls_token", layout="X"), "cls_token/repeat")
    x = tensor.concat([cls, x], axis=1, name="embeddings/concat")
    pos = c.g.constant((1, a.max_pos, a.hidden), name="position_embeddings", layout="X")
    x = math.add(x, _broadcast_batch(c, pos, "position_embeddings/repeat"), name="embeddings/add")
    x = tensor.reshape(x, (c.rows, a.hidden), "NC", name="embeddings/reshape")
    for i in range(a.layers):
        p = f"layer{i}"
        h = nn.layer_norm(x, eps=a.eps, name=f"{p}/layernorm_before")
        x = math.add(x, _attention(c, h, f"{p}/attention", fused=False, bias=True, causal=False),
                     name=f"{p}/residual_1")
        h = nn.layer_norm(x, eps=a.eps, name=f"{p}/layernorm_after")
        h = nn.gelu(_linear(c, h, a.intermediate, f"{p}/intermediate"), name=f"{p}/gelu")
        x = math.add(x, _linear(c, h, a.hidden, f"{p}/output"), name=f"{p}/residual_2")
    x = nn.layer_norm(x, eps=a.eps, name="layernorm")
    _linear(c, _token(c, x, "first", "cls_output"), a.labels, "classifier")


_BUILDERS = {ModelFamily.GPT2: _gpt2, ModelFamily.BERT: _bert, ModelFamily.LLAMA: _llama, ModelFamily.VIT: _vit}


def transformer(config: object, phase: str = "prefill", *, seq_len: int | None = None, kv_len: int | None = None,
                batch: int = 1, dtype: str = "float16", weight_dtype: str | None = None,
                batch_matmul: str = "fused", name: str | None = None) -> Graph:
    """The graph of one forward pass of a transformer.

    ``config``: a HuggingFace-style config dict, the path of a config.json, or a shipped name
    (:func:`transformer_configs`). ``phase``: "prefill" (``seq_len`` prompt tokens [tokens], default
    min(128, the model's maximum); ViT: its patches plus the class token) or "decode" (``seq_len`` new
    tokens, default 1, after a KV cache of ``kv_len`` >= 1 tokens; decoders only). ``batch`` sequences.
    ``dtype``: the activations' (and every parameter's) dtype. ``weight_dtype``: None (``dtype``) or
    "int8", weight-only quantization: the weights of every linear layer (attention and MLP projections,
    LM head, pooler, classifier) and an embedding table tied to the LM head are int8 in memory (1 B per
    parameter; ``num_params`` unchanged), dequantized with one scale per output channel where they are
    used (on the accelerator as its scratchpads take them in; see ``SMV``); norms, biases, untied and
    position embeddings, ViT's patch convolution and the KV cache stay in ``dtype``.
    ``batch_matmul``: how attention runs its batched products (scores Q K^T and context P V): "fused"
    (the default: one :class:`~smaug_fast.workload.core.Attention` op on the CPU that never writes the
    scores, as on-device runtimes run flash attention: llama.cpp's CPU backend by default), "cpu" (one
    BatchMatMul op each on the CPU, SMV having no batched kernel, with the causal mask and the softmax
    as ops of their own between them: HuggingFace's eager attention) or "inner_products" (as "cpu",
    the products unrolled into one inner product per batch x head item, which the accelerator runs:
    :func:`~smaug_fast.workload.nn.unrolled_batch_matmul`; the graph then holds one more one-element
    constant per layer, the score scale).
    Bad configs, lengths and dtypes are WorkloadErrors naming the key and value.
    """
    cfg = load_config(config)
    if weight_dtype is None:
        weight_dtype = dtype
    if batch_matmul not in BatchMatMulMapping.values():
        raise WorkloadError(f"transformer: batch_matmul = {describe(batch_matmul)}: must be one of "
                            f"{', '.join(BatchMatMulMapping.values())}")
    if weight_dtype not in (dtype, "int8") or (weight_dtype == "int8" and dtype not in ("float16", "float32")):
        raise WorkloadError(f"transformer: weight_dtype = {describe(weight_dtype)}: must be None, the dtype "
                            f"{dtype!r}, or 'int8' (weight-only quantization under float16/float32 activations)")
    if phase not in Phase.values():
        raise WorkloadError(f"transformer: phase = {describe(phase)}: must be one of {', '.join(Phase.values())}")
    ph = Phase(phase)
    a = parse_arch(cfg)
    if ph is Phase.DECODE and a.family in (ModelFamily.BERT, ModelFamily.VIT):
        raise WorkloadError(f"transformer: phase = 'decode': model_type {a.family.value!r} is an encoder "
                            "(no KV cache, no generation)")
    seq, kv, b = _check_lengths(a, ph, seq_len, kv_len, batch)
    label = name or (config if isinstance(config, str) and config in _SHIPPED else a.family.value)
    g = Graph(f"{label}-{ph.value}", dtype=dtype, layout="NC")
    with g:
        _BUILDERS[a.family](_Ctx(g, a, b, seq, kv, ph, weight_dtype, BatchMatMulMapping(batch_matmul)))
    return g
