"""Neural-network operators (SMAUG's ``sg.nn``): convolution, inner product, pooling, batch norm,
activations, and the recurrent layers LSTM, bidirectional LSTM and Bahdanau attention, which expand
into primitive operators exactly as SMAUG's Python API expands them (``python/ops/recurrent.py``,
``python/ops/attention.py``).

Weights are created as constants of the active graph when an integer size is given, or passed in as
tensors (for shared weights).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import WorkloadError, describe
from .core import (
    Activation,
    AvgPooling,
    BatchNorm,
    Convolution,
    InnerProduct,
    MaxPooling,
    Tensor,
    _pair,
    same_padding,
)
from .graph import current_graph
from . import math as _math
from . import tensor as _tensor


def _pads(owner: str, padding, kernel: tuple[int, int]) -> tuple[str, tuple[int, int, int, int]]:
    """Resolve a padding argument: "same" (SMAUG's rule), "valid", an int, (ph, pw) or (t, b, l, r)."""
    if isinstance(padding, str):
        if padding == "same":
            return "same", (*same_padding(kernel[0]), *same_padding(kernel[1]))
        if padding == "valid":
            return "valid", (0, 0, 0, 0)
        raise WorkloadError(f"{owner}: padding = {describe(padding)}: must be 'same', 'valid' or integers")
    if isinstance(padding, int) and not isinstance(padding, bool):
        if padding < 0:
            raise WorkloadError(f"{owner}: padding = {padding}: must be >= 0")
        return "explicit", (padding,) * 4
    items = tuple(padding)
    if len(items) == 2:
        items = (items[0], items[0], items[1], items[1])
    if len(items) != 4 or any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in items):
        raise WorkloadError(f"{owner}: padding = {describe(padding)}: must be (top, bottom, left, right) >= 0")
    return "explicit", items


def convolution(
    x: Tensor,
    filters: int | Tensor,
    kernel_size: int | Sequence[int] | None = None,
    stride: int | Sequence[int] = 1,
    padding: str | int | Sequence[int] = "same",
    *,
    groups: int = 1,
    activation: str | None = None,
    activation_params: Sequence[float] = (),
    name: str | None = None,
) -> Tensor:
    """2-D convolution of an NCHW or NHWC tensor.

    ``filters`` is the number of output maps (weights are created) or a weight tensor (K x R x S x
    C/groups for NHWC input, K x C/groups x R x S for NCHW). ``padding`` "same" follows SMAUG: k-1 in
    total, the extra row/column on top/left; "valid" is none.
    """
    g = current_graph()
    op_name = name or g.unique_name("conv")
    owner = f"op {op_name!r} (conv)"
    if x.layout not in ("NCHW", "NHWC"):
        raise WorkloadError(f"{owner}: input layout = {describe(x.layout)}: convolution needs NCHW or NHWC input")
    groups_ = groups if isinstance(groups, int) and groups >= 1 else None
    if groups_ is None or x.dim("C") % groups_:
        raise WorkloadError(f"{owner}: groups = {describe(groups)}: must be >= 1 and divide the {x.dim('C')} input channels")
    if isinstance(filters, Tensor):
        weights = filters
        kernel = (weights.shape[1], weights.shape[2]) if x.layout == "NHWC" else (weights.shape[2], weights.shape[3])
    else:
        if kernel_size is None:
            raise WorkloadError(f"{owner}: kernel_size = None: required when filters is a count")
        k = _pair(owner, "filters", (filters, 1))[0]
        kernel = _pair(owner, "kernel_size", kernel_size)
        c = x.dim("C") // groups_
        shape = (k, kernel[0], kernel[1], c) if x.layout == "NHWC" else (k, c, kernel[0], kernel[1])
        weights = g.constant(shape, name=f"{op_name}/weights", layout=x.layout, dtype=x.dtype)
    mode, pads = _pads(owner, padding, kernel)
    op = g.add(
        Convolution,
        [x, weights],
        name=op_name,
        stride=_pair(owner, "stride", stride),
        pads=pads,
        padding=mode,
        groups=groups_,
        activation=activation,
        activation_params=tuple(activation_params),
    )
    return op.output


def depthwise_convolution(
    x: Tensor,
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: str | int | Sequence[int] = "same",
    *,
    multiplier: int = 1,
    activation: str | None = None,
    activation_params: Sequence[float] = (),
    name: str | None = None,
) -> Tensor:
    """Depthwise convolution: a convolution with groups = C and ``multiplier`` maps per channel."""
    c = x.dim("C")
    return convolution(
        x,
        c * multiplier,
        kernel_size,
        stride,
        padding,
        groups=c,
        activation=activation,
        activation_params=activation_params,
        name=name or current_graph().unique_name("depthwise_conv"),
    )


def mat_mul(
    x: Tensor,
    units: int | Tensor,
    *,
    activation: str | None = None,
    activation_params: Sequence[float] = (),
    name: str | None = None,
) -> Tensor:
    """Inner product: N x C input times K x C weights (``units`` = K, or a weight tensor)."""
    g = current_graph()
    op_name = name or g.unique_name("mat_mul")
    if isinstance(units, Tensor):
        weights = units
    else:
        if x.rank != 2:
            raise WorkloadError(f"op {op_name!r} (inner_product): input shape = {x.shape}: needs 2-D (NC) input")
        k = _pair(f"op {op_name!r} (inner_product)", "units", (units, 1))[0]
        weights = g.constant((k, x.shape[1]), name=f"{op_name}/weights", layout="NC", dtype=x.dtype)
    op = g.add(
        InnerProduct,
        [x, weights],
        name=op_name,
        activation=activation,
        activation_params=tuple(activation_params),
    )
    return op.output


inner_product = mat_mul


def _pool(cls, base: str, x: Tensor, pool_size, stride, padding, name: str | None) -> Tensor:
    g = current_graph()
    op_name = name or g.unique_name(base)
    owner = f"op {op_name!r} ({base})"
    size = _pair(owner, "pool_size", pool_size)
    _, pads = _pads(owner, padding, size)
    stride = size if stride is None else _pair(owner, "stride", stride)
    return g.add(cls, [x], name=op_name, pool_size=size, stride=stride, pads=pads).output


def max_pool(x: Tensor, pool_size, stride=None, padding="valid", *, name: str | None = None) -> Tensor:
    """Max pooling (SMAUG pools are VALID; stride defaults to the pool size)."""
    return _pool(MaxPooling, "max_pool", x, pool_size, stride, padding, name)


def avg_pool(x: Tensor, pool_size, stride=None, padding="valid", *, name: str | None = None) -> Tensor:
    """Average pooling (the divisor is the full window)."""
    return _pool(AvgPooling, "avg_pool", x, pool_size, stride, padding, name)


def global_avg_pool(x: Tensor, *, name: str | None = None) -> Tensor:
    """Average over the whole H x W plane (an average pool whose window is the input)."""
    return avg_pool(x, (x.dim("H"), x.dim("W")), 1, name=name)


def batch_norm(
    x: Tensor,
    *,
    activation: str | None = None,
    activation_params: Sequence[float] = (),
    params: Sequence[Tensor] | None = None,
    name: str | None = None,
) -> Tensor:
    """Inference batch norm with per-channel (mean, 1/sqrt(var+eps), gamma, beta), each 1 x C.

    The parameter tensors are created unless ``params`` gives all four.
    """
    g = current_graph()
    op_name = name or g.unique_name("batch_norm")
    if params is None:
        if x.layout not in ("NCHW", "NHWC", "NC"):
            raise WorkloadError(f"op {op_name!r} (batch_norm): input layout = {describe(x.layout)}: needs NCHW, NHWC or NC")
        c = x.dim("C")
        params = [
            g.constant((1, c), name=f"{op_name}/{p}", layout="NC", dtype=x.dtype) for p in ("mean", "var", "gamma", "beta")
        ]
    params = list(params)
    if len(params) != 4:
        raise WorkloadError(f"op {op_name!r} (batch_norm): params = {len(params)} tensors: needs (mean, var, gamma, beta)")
    op = g.add(
        BatchNorm, [x, *params], name=op_name, activation=activation, activation_params=tuple(activation_params)
    )
    return op.output


def activation(x: Tensor, function: str, *params: float, name: str | None = None) -> Tensor:
    """Apply an activation function by name (relu, lrelu, elu, selu, tanh, hard_tanh, sigmoid, softmax)."""
    return current_graph().add(Activation, [x], name=name, function=function, activation_params=tuple(params)).output


def relu(x: Tensor, *, name: str | None = None) -> Tensor:
    return activation(x, "relu", name=name)


def lrelu(x: Tensor, slope: float = 0.2, *, name: str | None = None) -> Tensor:
    return activation(x, "lrelu", slope, name=name)


def elu(x: Tensor, alpha: float = 0.1, *, name: str | None = None) -> Tensor:
    return activation(x, "elu", alpha, name=name)


def selu(x: Tensor, alpha: float = 1.6733, lambda_: float = 1.0507, *, name: str | None = None) -> Tensor:
    return activation(x, "selu", alpha, lambda_, name=name)


def tanh(x: Tensor, *, name: str | None = None) -> Tensor:
    return activation(x, "tanh", name=name)


def hard_tanh(x: Tensor, min: float = -1.0, max: float = 1.0, *, name: str | None = None) -> Tensor:  # noqa: A002
    return activation(x, "hard_tanh", min, max, name=name)


def sigmoid(x: Tensor, *, name: str | None = None) -> Tensor:
    return activation(x, "sigmoid", name=name)


def softmax(x: Tensor, *, name: str | None = None) -> Tensor:
    return activation(x, "softmax", name=name)


# --------------------------------------------------------------------------------------------------
# Recurrent layers and attention (expanded into primitive ops, as SMAUG's Python API does)
# --------------------------------------------------------------------------------------------------


class LSTM:
    """An LSTM layer unrolled over time steps (gate order i, f, c, o; zero initial state).

    ``weights`` is ``(W, U)``, each 4*units x depth in NC layout, or None to create them for ``units``
    on the first call. Each step is: z = x W^T + h U^T, split into (i, f, c, o); c' = sigmoid(f) * c +
    sigmoid(i) * act(c); h' = sigmoid(o) * act(c'), with the ops and names of SMAUG's ``LSTM.step``.
    """

    def __init__(
        self,
        units: int | None = None,
        *,
        weights: tuple[Tensor, Tensor] | None = None,
        activation: str = "tanh",
        name: str = "lstm",
    ) -> None:
        if weights is None and (not isinstance(units, int) or isinstance(units, bool) or units < 1):
            raise WorkloadError(f"LSTM {name!r}: units = {describe(units)}: must be a positive integer")
        if weights is not None:
            w, u = weights
            if w.rank != 2 or u.rank != 2 or w.shape[0] % 4 or u.shape[0] != w.shape[0] or u.shape[1] * 4 != u.shape[0]:
                raise WorkloadError(
                    f"LSTM {name!r}: weights = {(w.shape, u.shape)}: need W (4U x depth) and U (4U x U)"
                )
            units = w.shape[0] // 4
        self.units = units
        self.weights = weights
        self.activation = activation
        self.name = name
        self.h: Tensor | None = None
        self.c: Tensor | None = None

    def _prepare(self, depth: int, batch: int, dtype: str) -> None:
        g = current_graph()
        if self.weights is None:
            w = g.constant((4 * self.units, depth), name=f"{self.name}/kernel", layout="NC", dtype=dtype)
            u = g.constant((4 * self.units, self.units), name=f"{self.name}/recurrent_kernel", layout="NC", dtype=dtype)
            self.weights = (w, u)
        elif self.weights[0].shape[1] != depth:
            raise WorkloadError(
                f"LSTM {self.name!r}: input depth = {depth}: the kernel {self.weights[0].shape} needs {self.weights[0].shape[1]}"
            )
        self.h = g.constant((batch, self.units), name=g.unique_name(f"{self.name}/h"), layout="NC", dtype=dtype)
        self.c = g.constant((batch, self.units), name=g.unique_name(f"{self.name}/c"), layout="NC", dtype=dtype)

    def __call__(self, x: Tensor | Sequence[Tensor]) -> tuple[list[Tensor], Tensor]:
        """Run over an N x T x C tensor (unstacked first) or a list of N x C steps.

        Returns (outputs per step, final cell state).
        """
        steps = _tensor.unstack(x, 1, name=f"{self.name}:unstack") if isinstance(x, Tensor) else list(x)
        if not steps:
            raise WorkloadError(f"LSTM {self.name!r}: no time steps")
        self._prepare(steps[0].shape[1], steps[0].shape[0], steps[0].dtype)
        outputs = [self.step(s, t) for t, s in enumerate(steps)]
        return outputs, self.c

    def step(self, x: Tensor, t: int) -> Tensor:
        g = current_graph()
        w, u = self.weights
        pfx = f"{self.name}:step{t}:"
        z = mat_mul(x, w, name=pfx + "mm_f")
        z = _math.add(z, mat_mul(self.h, u, name=g.unique_name("mm_u")), name=pfx + "add_z")
        zi, zf, zc, zo = _tensor.split(z, 4, axis=1, name=g.unique_name("split"))
        i = sigmoid(zi, name=pfx + "sigmoid_i")
        f = sigmoid(zf, name=pfx + "sigmoid_f")
        mul_f = _math.mul(f, self.c, name=pfx + "mul_f")
        mul_i = _math.mul(i, activation(zc, self.activation, name=pfx + "act0"), name=pfx + "mul_i")
        c = _math.add(mul_f, mul_i, name=pfx + "add_c")
        o = sigmoid(zo, name=pfx + "sigmoid_o")
        h = _math.mul(o, activation(c, self.activation, name=pfx + "act1"), name=pfx + "mul_h")
        self.c, self.h = c, h
        return h


class BidirectionalLSTM:
    """Forward and backward LSTMs; per step, the outputs are concatenated along the feature axis.

    As in SMAUG, the backward LSTM runs over the reversed steps and its step t output is concatenated
    with the forward step t output (the backward outputs are not reversed back).
    """

    def __init__(
        self,
        units: int | None = None,
        *,
        fwd_weights: tuple[Tensor, Tensor] | None = None,
        bwd_weights: tuple[Tensor, Tensor] | None = None,
        activation: str = "tanh",
        name: str = "bidir_lstm",
    ) -> None:
        self.name = name
        self.fwd = LSTM(units, weights=fwd_weights, activation=activation, name=f"{name}:fwd_lstm")
        self.bwd = LSTM(units, weights=bwd_weights, activation=activation, name=f"{name}:bwd_lstm")

    def __call__(self, x: Tensor | Sequence[Tensor]) -> tuple[list[Tensor], Tensor, Tensor]:
        fwd_out, fwd_state = self.fwd(x)
        steps = _tensor.unstack(x, 1) if isinstance(x, Tensor) else list(x)
        bwd_out, bwd_state = self.bwd(list(reversed(steps)))
        g = current_graph()
        outputs = [
            _tensor.concat([f, b], 1, name=g.unique_name(f"{self.name}:concat")) for f, b in zip(fwd_out, bwd_out)
        ]
        return outputs, fwd_state, bwd_state


class BahdanauAttention:
    """Bahdanau (additive) attention over an N x T x D memory, expanded as SMAUG's ``attention.py``.

    keys = memory W_enc; score = tanh(keys + query W_dec) w_align; alignment = softmax(score);
    context = alignment . memory (one inner product per batch element).
    """

    def __init__(
        self,
        memory: Tensor,
        *,
        w_encoder: Tensor | None = None,
        w_decoder: Tensor | None = None,
        w_alignment: Tensor | None = None,
        name: str = "bahdanau_attention",
    ) -> None:
        if memory.rank != 3:
            raise WorkloadError(f"attention {name!r}: memory shape = {memory.shape}: needs N x T x D (NTC)")
        g = current_graph()
        self.name = name + ":"
        self.batch, self.steps, self.depth = memory.shape
        d = self.depth
        self.w_encoder = w_encoder or g.constant((d, d), name=f"{name}/w_encoder", layout="NC", dtype=memory.dtype)
        self.w_decoder = w_decoder or g.constant((d, d), name=f"{name}/w_decoder", layout="NC", dtype=memory.dtype)
        self.w_alignment = w_alignment or g.constant((1, d), name=f"{name}/w_alignment", layout="NC", dtype=memory.dtype)
        self.memory = memory
        pfx = self.name + ":mem_layer:"
        flat = _tensor.reshape(memory, (self.batch * self.steps, d), "NC", name=g.unique_name(pfx + "reshape0"))
        keys = mat_mul(flat, self.w_encoder, name=g.unique_name(pfx + "mm"))
        self.keys = _tensor.reshape(keys, (self.batch, self.steps, d), "NTC", name=g.unique_name(pfx + "reshape1"))

    def __call__(self, query: Tensor) -> Tensor:
        """The context vector (N x D) for an N x D query."""
        g = current_graph()
        n, t, d = self.batch, self.steps, self.depth
        q = mat_mul(query, self.w_decoder, name=g.unique_name(self.name + "query_layer"))
        pfx = self.name + ":score:"
        q = _tensor.expand_dims(q, 1, name=g.unique_name(pfx + "expand"))
        act = tanh(_math.add(self.keys, q, name=g.unique_name(pfx + "add")), name=g.unique_name(pfx + "stack"))
        act = _tensor.reshape(act, (n * t, d), "NC", name=g.unique_name(pfx + "reshape0"))
        scores = mat_mul(act, self.w_alignment, name=g.unique_name(pfx + "mm"))
        scores = _tensor.reshape(scores, (n, t), "NC", name=g.unique_name(pfx + "reshape1"))
        alignment = softmax(scores, name=g.unique_name(self.name + "softmax"))
        rows = _tensor.split(alignment, n, axis=0, name=g.unique_name(self.name + "split"))
        values = _tensor.unstack(
            _tensor.reorder(self.memory, "NCT", name=g.unique_name(self.name + "reorder")), 0, name=self.name + "unstack"
        )
        context = [mat_mul(rows[i], values[i], name=g.unique_name(self.name + "mm")) for i in range(n)]
        return context[0] if n == 1 else _tensor.concat(context, 0, name=g.unique_name(self.name + "concat"))


# --------------------------------------------------------------------------------------------------
# Transformer layers (issue 19)
# --------------------------------------------------------------------------------------------------


def _norm_params(g, x: Tensor, op_name: str, fields: tuple[str, ...], params) -> list[Tensor]:
    if params is None:
        return [g.constant((x.shape[-1],), name=f"{op_name}/{f}", layout="X", dtype=x.dtype) for f in fields]
    params = list(params)
    if len(params) != len(fields):
        raise WorkloadError(f"op {op_name!r}: params = {len(params)} tensors: needs {fields}")
    return params


def layer_norm(x: Tensor, *, eps: float = 1e-5, params: Sequence[Tensor] | None = None,
               name: str | None = None) -> Tensor:
    """Layer norm over the last axis; (gamma, beta) constants of the last axis' size are created
    unless ``params`` gives both. ``eps`` is added to the variance (dimensionless)."""
    from .core import LayerNorm

    g = current_graph()
    op_name = name or g.unique_name("layer_norm")
    ps = _norm_params(g, x, op_name, ("gamma", "beta"), params)
    return g.add(LayerNorm, [x, *ps], name=op_name, eps=eps).output


def rms_norm(x: Tensor, *, eps: float = 1e-6, params: Sequence[Tensor] | None = None,
             name: str | None = None) -> Tensor:
    """RMS norm over the last axis; a gamma constant is created unless ``params`` gives it."""
    from .core import RMSNorm

    g = current_graph()
    op_name = name or g.unique_name("rms_norm")
    ps = _norm_params(g, x, op_name, ("gamma",), params)
    return g.add(RMSNorm, [x, *ps], name=op_name, eps=eps).output


def _pointwise(x: Tensor, function: str, name: str | None) -> Tensor:
    from .core import Pointwise

    g = current_graph()
    return g.add(Pointwise, [x], name=name or g.unique_name(function), function=function).output


def gelu(x: Tensor, *, approximate: bool = False, name: str | None = None) -> Tensor:
    """GELU: the exact erf form, or with ``approximate`` the tanh form (GPT-2's "gelu_new")."""
    return _pointwise(x, "gelu_tanh" if approximate else "gelu", name)


def silu(x: Tensor, *, name: str | None = None) -> Tensor:
    """SiLU (swish): x * sigmoid(x)."""
    return _pointwise(x, "silu", name)


def swiglu(gate: Tensor, up: Tensor, *, name: str | None = None) -> Tensor:
    """SwiGLU as its composition: silu(gate) * up (a Pointwise op and an element-wise multiply)."""
    base = name or current_graph().unique_name("swiglu")
    return _math.mul(silu(gate, name=f"{base}/silu"), up, name=base)


def batch_matmul(a: Tensor, b: Tensor, *, transpose_b: bool = False, scale: float = 1.0,
                 name: str | None = None) -> Tensor:
    """scale * a @ b over equal batch dimensions (a: ..., M, K; b: ..., K, N or ..., N, K with
    ``transpose_b``), except the last, where b's may divide a's (grouped-query attention: no copies
    of the KV heads; :class:`~smaug_fast.workload.core.BatchMatMul`); ``scale`` dimensionless."""
    from .core import BatchMatMul

    return current_graph().add(BatchMatMul, [a, b], name=name, transpose_b=transpose_b, scale=scale).output


def attention(q: Tensor, k: Tensor, v: Tensor, *, scale: float = 1.0, causal: bool = False,
              name: str | None = None) -> Tensor:
    """softmax(scale * q k^T, causally masked if ``causal``) v in one op that writes only its output
    (flash-attention style; grouped-query when k and v have fewer heads than q):
    :class:`~smaug_fast.workload.core.Attention`. ``scale`` dimensionless."""
    from .core import Attention

    return current_graph().add(Attention, [q, k, v], name=name, scale=scale, causal=causal).output


def unrolled_batch_matmul(a: Tensor, b: Tensor, *, transpose_b: bool = False, scale: float = 1.0,
                          name: str | None = None) -> Tensor:
    """``batch_matmul`` as SMAUG maps a batched product: one inner product per batch item, which the
    accelerator runs like any fully connected layer (SMAUG's Python API unrolls its attention the same
    way, one ``mat_mul`` per batch row: ``python/ops/attention.py``; each inner product is tiled by
    ``smv_inner_product_tiling.cpp`` and run by ``smv_inner_product_op.cpp``).

    Item i of the batch: a_i (M x K) is the inner product's input and b_i (N x K) its weights, computed
    at run time (so the CPU tiles them before the op, as it tiles activations). ``a`` and ``b`` are
    viewed as (items x M) x K and (items x N) x K matrices (reshapes) and split into the items along
    their rows (one split each); without ``transpose_b``, ``b`` (..., K, N) is transposed to
    (..., N, K) first by one CPU transpose (SMAUG reorders CN weights to NC). The M x N outputs are
    concatenated along the rows and reshaped to (..., M, N). With grouped batch items (b's last batch
    dimension a divisor of a's: grouped-query attention), item j of b is the weights of a's items
    j * g .. j * g + g - 1. ``scale`` (dimensionless) multiplies
    ``a`` first, element-wise by a one-element constant repeated to a's shape (SMV's element-wise
    kernels need equal shapes); its value is set in ``graph.constant_values``.
    """
    from .core import BatchMatMul, Transpose

    g = current_graph()
    base = name or g.unique_name("batch_matmul")
    # the shapes are checked as the batched op checks them (a WorkloadError naming this name)
    checked = BatchMatMul(name=base, inputs=(a, b), transpose_b=transpose_b, scale=scale)
    checked.infer()
    group = checked.group
    batch_shape, (m, k) = a.shape[:-2], a.shape[-2:]
    n = b.shape[-2] if transpose_b else b.shape[-1]
    items = 1
    for d in batch_shape:
        items *= d
    if scale != 1.0:
        s = g.constant((1,) * a.rank, name=f"{base}/scale", layout="X", dtype=a.dtype)
        g.constant_values[s.name] = np.full(s.shape, scale, dtype=a.dtype)
        a = _math.mul(a, _tensor.repeat(s, a.shape, name=f"{base}/scale_repeat"), name=f"{base}/scaled")
    if not transpose_b:
        perm = (*range(b.rank - 2), b.rank - 1, b.rank - 2)
        b = current_graph().add(Transpose, [b], name=f"{base}/b_transpose", perm=perm).output

    def rows(x: Tensor, n_items: int, r: int, which: str) -> list[Tensor]:
        x2 = _tensor.reshape(x, (n_items * r, k), "NC", name=f"{base}/{which}_rows")
        return _tensor.split(x2, n_items, axis=0, name=f"{base}/{which}_split") if n_items > 1 else [x2]

    a_rows, b_rows = rows(a, items, m, "a"), rows(b, items // group, n, "b")
    ys = [mat_mul(ai, b_rows[i // group], name=f"{base}/item{i}") for i, ai in enumerate(a_rows)]
    y = _tensor.concat(ys, axis=0, name=f"{base}/concat") if items > 1 else ys[0]
    return _tensor.reshape(y, (*batch_shape, m, n), "X", name=base)


def transpose(x: Tensor, perm: Sequence[int], *, name: str | None = None) -> Tensor:
    """Permute the axes of ``x``: output axis d is input axis perm[d]."""
    from .core import Transpose

    return current_graph().add(Transpose, [x], name=name, perm=tuple(perm)).output


def embedding(indices: Tensor, table: Tensor | tuple[int, int], *, out_dtype: str | None = None,
              name: str | None = None) -> Tensor:
    """Embedding lookup of int32 ``indices`` in ``table`` (a vocab x hidden tensor, or its shape: then a
    constant is created in the graph's dtype). An int8 table (weight-only quantization) needs
    ``out_dtype``, the float dtype its dequantized rows take."""
    from .core import Embedding

    g = current_graph()
    op_name = name or g.unique_name("embedding")
    if not isinstance(table, Tensor):
        table = g.constant(tuple(table), name=f"{op_name}/table", layout="X")
    return g.add(Embedding, [indices, table], name=op_name, out_dtype=out_dtype).output


def rotary(x: Tensor, *, offset: int = 0, theta: float = 10000.0, name: str | None = None) -> Tensor:
    """Rotary position embedding of x (..., T, D): positions offset .. offset + T - 1, base ``theta``."""
    from .core import Rotary

    return current_graph().add(Rotary, [x], name=name, offset=offset, theta=theta).output


def causal_mask(scores: Tensor, *, name: str | None = None) -> Tensor:
    """Add -inf above the (shifted) diagonal of attention scores (..., Tq, Tk)."""
    from .core import CausalMask

    return current_graph().add(CausalMask, [scores], name=name).output
