"""Functional execution of a whole graph: the real numbers, op by op, in topological order.

:func:`run_functional` plays the role of SMAUG's Reference backend: it computes every operator's
output with the Numba kernels (through the validating functions of :mod:`smaug_fast.numerics.arrays`),
in the graph's dtype (float16 tensors: fp16 storage between operators, fp32 arithmetic inside them,
as SMAUG's SMV backend does).

Default values (any tensor not given by the caller), drawn per tensor from a generator seeded with
``(seed, crc32(tensor name))`` so that a tensor's values depend only on the seed and its name, not on
which other tensors were given:

``init="he"`` (the default: activations keep their scale through deep networks)
    - graph inputs: uniform on [-1, 1)
    - convolution and inner-product weights: uniform on [-b, b), b = sqrt(6 / fan_in), fan_in = the
      weights per output (C/groups x R x S, or C), i.e. variance 2 / fan_in (He et al., ICCV 2015)
    - batch-norm parameters: mean uniform on [-0.1, 0.1); the variance input, which SMAUG's batch norm
      takes as 1 / sqrt(var + eps), is 1 / sqrt(v + 1e-5) with v uniform on [0.5, 1.5); gamma uniform
      on [0.5, 1.5), times 0.25 for a batch norm whose output feeds an element-wise add (the last of a
      residual branch, a projection shortcut), so that residual sums keep their scale over ResNet50's
      16 blocks instead of growing ~2x in variance per block (the same idea as the zero-gamma
      initialization of Goyal et al., 2017, without silencing the branches); beta uniform on [-0.1, 0.1)
``init="smaug"``
    - every input and parameter uniform on [0, 1) x 0.005, the distribution of the random data in
      SMAUG's model scripts (``np.random.RandomState(1234).rand(*shape) * 0.005``; not the same
      values, since the generator differs)

In both, constants that an operator reads as an activation rather than as a parameter (the zero
initial states of SMAUG's unrolled LSTMs: the first input of an inner product, an operand of an
element-wise operator, ...) are zeros.

int8 weights (weight-only quantization: an int8 constant that an inner product takes as weights or an
embedding as its table) take float values, given or drawn as above in float32: their full-precision
weights. run_functional quantizes them per row (``quantize_int8``: one scale per output channel,
absmax / 127, in the activations' dtype), keeps the int8 codes as the tensor's value, and the op
computes with the dequantized weights (``dequantize_int8``: codes x scale rounded to the activations'
dtype), as an accelerator that dequantizes weights on load does.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Collection, Mapping

import numpy as np

from ..errors import WorkloadError, describe
from ..workload import (
    Activation,
    Attention,
    BatchMatMul,
    CacheAppend,
    BatchNorm,
    CausalMask,
    Embedding,
    LayerNorm,
    Pointwise,
    RMSNorm,
    Rotary,
    Transpose,
    Concat,
    Convolution,
    Eltwise,
    Graph,
    InnerProduct,
    Op,
    Padding,
    Pooling,
    Reorder,
    Repeat,
    Reshape,
    Split,
    Tensor,
)
from . import arrays
from . import transformer as _tr

INITS = ("he", "smaug")

#: SMAUG's model scripts scale their uniform [0, 1) random data by this (models/*/*.py).
SMAUG_DATA_SCALE = 0.005
#: Added to the drawn variance before 1/sqrt (PyTorch's and Keras' batch-norm default, 1e-5 / 1e-3).
BN_EPS = 1e-5

#: gamma scale of batch norms that feed an element-wise add (residual branches and shortcuts).
RESIDUAL_GAMMA_SCALE = 0.25

_BN_FIELDS = ("mean", "var", "gamma", "beta")


def _roles(graph: Graph) -> dict[str, tuple[str, Op]]:
    """Role of each constant, from the first op that reads it: "conv", "fc", "bn:<field>" or "state"."""
    roles: dict[str, tuple[str, Op]] = {}

    def residual(op: Op) -> bool:
        return any(isinstance(c, Eltwise) and c.function == "add" for c in graph.consumers(op.outputs[0]))

    for op in graph.topological_order():
        for i, t in enumerate(op.inputs):
            if not t.constant or t.name in roles:
                continue
            if isinstance(op, Convolution) and i == 1:
                role = "conv"
            elif isinstance(op, InnerProduct) and i == 1:
                role = "fc"
            elif isinstance(op, (LayerNorm, RMSNorm)) and i >= 1:
                role = "bn:gamma" if i == 1 else "bn:beta"
            elif isinstance(op, Embedding) and i == 1:
                role = "input"
            elif isinstance(op, BatchNorm) and i >= 1:
                role = "bn:" + _BN_FIELDS[i - 1]
                if role == "bn:gamma" and residual(op):
                    role = "bn:gamma_residual"
            else:
                role = "state"
            roles[t.name] = (role, op)
    return roles


def _generator(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _default_value(t: Tensor, role: str, seed: int, init: str) -> np.ndarray:
    """Seeded values of tensor ``t`` in its role (see the module docstring)."""
    rng = _generator(seed, t.name)
    shape = t.shape
    if role == "state":
        return np.zeros(shape, dtype=t.dtype)
    if t.dtype == "bool":
        return rng.random(shape) < 0.5
    if t.dtype in ("int8", "int32"):
        return rng.integers(-8, 8, size=shape).astype(t.dtype)
    if init == "smaug":
        values = rng.random(shape, dtype=np.float32) * np.float32(SMAUG_DATA_SCALE)
    elif role == "input":
        values = rng.uniform(-1.0, 1.0, shape)
    elif role in ("conv", "fc"):
        fan_in = math.prod(shape[1:])
        bound = math.sqrt(6.0 / fan_in)
        values = rng.uniform(-bound, bound, shape)
    elif role == "bn:var":
        values = 1.0 / np.sqrt(rng.uniform(0.5, 1.5, shape) + BN_EPS)
    elif role == "bn:gamma":
        values = rng.uniform(0.5, 1.5, shape)
    elif role == "bn:gamma_residual":
        values = rng.uniform(0.5, 1.5, shape) * RESIDUAL_GAMMA_SCALE
    else:  # bn:mean, bn:beta
        values = rng.uniform(-0.1, 0.1, shape)
    return values.astype(t.dtype)


def _quantized(graph: Graph) -> dict[str, str]:
    """The int8 constants read as quantized weights (inner-product weights, embedding tables) and the
    float dtype each dequantizes to (its first such consumer's output dtype)."""
    out: dict[str, str] = {}
    for op in graph.topological_order():
        if isinstance(op, (InnerProduct, Embedding)) and len(op.inputs) > 1:
            t = op.inputs[1]
            if t.constant and t.dtype == "int8" and op.outputs[0].dtype in ("float16", "float32"):
                out.setdefault(t.name, op.outputs[0].dtype)
    return out


def _given(
    graph: Graph, kind: str, values: Mapping | None, allowed: dict[str, Tensor], noun: str,
    quantized: Collection[str] = (),
) -> dict[str, np.ndarray]:
    """Validate given ``inputs``, ``weights`` or ``graph.constant_values``: known names, exact shapes
    and dtypes (float16 or float32 for ``quantized`` int8 tensors: their full-precision values).
    ``noun`` says what the names must be ("input", "weight")."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise WorkloadError(f"run_functional: {kind} = {describe(values)}: must be a mapping of tensor name to array")
    out = {}
    for name, value in values.items():
        t = allowed.get(name)
        if t is None:
            valid = ", ".join(sorted(allowed)) or "none"
            raise WorkloadError(
                f"run_functional: {kind}[{name!r}]: graph {graph.name!r} has no such {noun} tensor; "
                f"valid: {describe(valid)}"
            )
        if not isinstance(value, np.ndarray):
            raise WorkloadError(f"run_functional: {kind}[{name!r}] = {describe(value)}: must be a NumPy array")
        if value.shape != t.shape:
            raise WorkloadError(
                f"run_functional: {kind}[{name!r}].shape = {value.shape}: tensor {name!r} has shape {t.shape}"
            )
        if name in quantized:
            if value.dtype.name not in ("float16", "float32"):
                raise WorkloadError(
                    f"run_functional: {kind}[{name!r}].dtype = {value.dtype.name}: tensor {name!r} holds int8 "
                    f"quantized weights and takes their float16 or float32 values (quantized per row here)"
                )
        elif value.dtype.name != t.dtype:
            raise WorkloadError(
                f"run_functional: {kind}[{name!r}].dtype = {value.dtype.name}: tensor {name!r} has dtype {t.dtype}"
            )
        out[name] = value
    return out


def _execute(op: Op, args: list[np.ndarray]) -> list[np.ndarray]:
    """Outputs of ``op`` for input values ``args`` (in the order of op.inputs)."""
    x = args[0]
    if isinstance(op, Convolution):
        return [
            arrays.conv2d(
                x,
                args[1],
                stride=op.stride,
                pads=op.pads,
                groups=op.groups,
                layout=op.inputs[0].layout,
                activation=op.activation,
                activation_params=op.activation_params,
            )
        ]
    if isinstance(op, InnerProduct):
        return [arrays.inner_product(x, args[1], activation=op.activation, activation_params=op.activation_params)]
    if isinstance(op, Pooling):
        kwargs = {"stride": op.stride, "pads": op.pads, "layout": op.inputs[0].layout}
        if op.mode == "max":
            return [arrays.max_pool(x, op.pool_size, **kwargs)]
        # SMAUG's average pool divides by the whole window (workload.core.Pooling).
        return [arrays.avg_pool(x, op.pool_size, count_include_pad=True, **kwargs)]
    if isinstance(op, BatchNorm):
        return [
            arrays.batch_norm(
                x,
                *args[1:],
                layout=op.inputs[0].layout,
                activation=op.activation,
                activation_params=op.activation_params,
            )
        ]
    if isinstance(op, Activation):
        return [arrays.activation(x, op.function, *op.activation_params)]
    if isinstance(op, Eltwise):
        return [arrays.eltwise(x, args[1], op.function)]
    if isinstance(op, (Concat, CacheAppend)):  # an append has a concatenation's values
        return [arrays.concat(args, op.axis)]
    if isinstance(op, Split):
        return arrays.split(x, list(op.sizes), op.axis)
    if isinstance(op, Reshape):
        return [arrays.reshape(x, op.shape)]
    if isinstance(op, Reorder):
        return [arrays.reorder(x, op.inputs[0].layout, op.target)]
    if isinstance(op, Repeat):
        return [arrays.repeat(x, list(op.multiples))]
    if isinstance(op, Padding):
        return [arrays.padding(x, list(op.pads))]
    transformer = _execute_transformer(op, args)
    if transformer is not None:
        return transformer
    what = f"{type(op).__name__} ({op.op_type})" if hasattr(op, "op_type") else type(op).__name__
    raise WorkloadError(f"run_functional: op {op.name!r}: type {what} has no numeric kernel")


def _execute_transformer(op: Op, args: list[np.ndarray]) -> list[np.ndarray] | None:
    """Outputs of a transformer op (issue 19), or None for any other op."""
    x = args[0]
    if isinstance(op, LayerNorm):
        return [_tr.layer_norm(x, args[1], args[2], op.eps)]
    if isinstance(op, RMSNorm):
        return [_tr.rms_norm(x, args[1], op.eps)]
    if isinstance(op, Pointwise):
        return [_tr.pointwise(x, op.function)]
    if isinstance(op, BatchMatMul):
        return [_tr.batch_matmul(x, args[1], op.transpose_b, op.scale)]
    if isinstance(op, Attention):
        return [_tr.attention(x, args[1], args[2], op.scale, op.causal)]
    if isinstance(op, Transpose):
        return [_tr.transpose(x, op.perm)]
    if isinstance(op, Embedding):
        return [_tr.embedding(x, args[1])]
    if isinstance(op, Rotary):
        return [_tr.rotary(x, op.offset, op.theta)]
    if isinstance(op, CausalMask):
        return [_tr.causal_mask(x)]
    return None


def _check_seed_init(seed: object, init: object) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise WorkloadError(f"run_functional: seed = {describe(seed)}: must be an integer >= 0")
    if init not in INITS:
        raise WorkloadError(f"run_functional: init = {describe(init)}: must be one of {', '.join(INITS)}")
    return int(seed)


def _vocab(graph: Graph, t: Tensor) -> int:
    """The smallest vocabulary of the embedding tables that ``t`` indexes (0: it indexes none)."""
    sizes = [op.inputs[1].shape[0] for op in graph.consumers(t) if isinstance(op, Embedding) and op.inputs[0].name == t.name]
    return min(sizes, default=0)


def default_values(
    graph: Graph, seed: int = 0, *, init: str = "he", skip: Collection[str] = ()
) -> dict[str, np.ndarray]:
    """The seeded default value of every graph input and constant (module docstring), by name.

    ``skip`` names tensors not to draw (run_functional passes the ones the caller gave).
    """
    if not isinstance(graph, Graph):
        raise WorkloadError(f"run_functional: graph = {describe(graph)}: must be a smaug_fast Graph")
    seed = _check_seed_init(seed, init)
    roles = _roles(graph)
    values = {}
    for t in graph.inputs:
        if t.name not in skip:
            values[t.name] = _default_value(t, "input", seed, init)
            vocab = _vocab(graph, t)
            if vocab:  # token ids: uniform over the vocabulary of the table they index
                values[t.name] = _generator(seed, t.name).integers(0, vocab, size=t.shape).astype(t.dtype)
    quantized = _quantized(graph)
    for t in graph.constants:
        if t.name not in skip:
            proxy = t.with_(dtype="float32") if t.name in quantized else t  # full-precision values
            values[t.name] = _default_value(proxy, roles.get(t.name, ("state", None))[0], seed, init)
    return values


def run_functional(
    graph: Graph,
    inputs: Mapping[str, np.ndarray] | None = None,
    weights: Mapping[str, np.ndarray] | None = None,
    seed: int = 0,
    return_intermediates: bool = False,
    *,
    init: str = "he",
):
    """Execute ``graph`` and return ``{output tensor name: array}`` for its outputs.

    ``inputs`` maps graph-input names and ``weights`` maps constant-tensor names to NumPy arrays of
    exactly the tensor's shape and dtype. Constants not in ``weights`` take the graph's own
    ``graph.constant_values`` (an ONNX import's initializers) when it has them; every tensor still
    without a value gets seeded defaults (module docstring: ``init`` "he" or "smaug", ``seed`` an
    integer >= 0). With ``return_intermediates``,
    returns ``(outputs, values)`` where ``values`` maps the name of every tensor of the graph
    (inputs, constants and each op's outputs) to its array.
    """
    if not isinstance(graph, Graph):
        raise WorkloadError(f"run_functional: graph = {describe(graph)}: must be a smaug_fast Graph")
    _check_seed_init(seed, init)
    values: dict[str, np.ndarray] = {}
    constants = {t.name: t for t in graph.constants}
    quantized = _quantized(graph)
    values.update(_given(graph, "inputs", inputs, {t.name: t for t in graph.inputs}, "input"))
    # Values that came with the graph (an ONNX import's initializers), unless the caller overrides them.
    stored = getattr(graph, "constant_values", None) or {}
    stored = {k: v for k, v in stored.items() if weights is None or k not in weights}
    values.update(_given(graph, "graph.constant_values", stored, constants, "constant", quantized))
    values.update(_given(graph, "weights", weights, constants, "weight", quantized))
    values.update(default_values(graph, seed, init=init, skip=values.keys()))
    # int8 weights: the codes are the tensor's value; the ops read the dequantized weights
    dequantized: dict[str, np.ndarray] = {}
    for name, dtype in quantized.items():
        q, scale = _tr.quantize_int8(values[name], dtype)
        values[name] = q
        dequantized[name] = _tr.dequantize_int8(q, scale, dtype)
    for op in graph.topological_order():
        try:
            results = _execute(op, [dequantized.get(t.name, values[t.name]) for t in op.inputs])
        except WorkloadError as err:
            raise WorkloadError(f"run_functional: op {op.name!r} ({op.kind}): {err}") from err
        for t, v in zip(op.outputs, results):
            values[t.name] = v
    outputs = {t.name: values[t.name] for t in graph.outputs}
    return (outputs, values) if return_intermediates else outputs
