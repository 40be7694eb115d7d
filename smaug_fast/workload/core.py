"""Tensors and operators: the nouns of the workload API, with validation and shape inference.

A :class:`Tensor` is a frozen description (name, shape, layout, dtype) without data, so that tensors
and operators are hashable and per-op results can be memoized. An :class:`Op` is a frozen dataclass
with its inputs, outputs and parameters; each operator class infers its output shapes and checks its
inputs in :meth:`Op.infer`, raising :class:`~smaug_fast.errors.WorkloadError` that names the op, the
field and the value.

Weights are not a separate field: following SMAUG's graph files, an input at position 1 or later whose
tensor is a constant (weights, batch-norm parameters, constant states) is a *weight* of the op; every
other input is an *activation* input (see ``Op.weights`` / ``Op.activations``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import ClassVar

from ..errors import WorkloadError, describe

#: Data types and their size [B]. SMAUG's SMV backend keeps fp16 in host memory; Reference uses fp32.
DTYPES: dict[str, int] = {"float16": 2, "float32": 4, "int8": 1, "int32": 4, "bool": 1}

#: The most elements a tensor may have: the simulator addresses memory with 64-bit byte addresses and
#: no DRAM comes near 2**48 elements (a larger shape is a typo or a fuzzer's, not a workload).
MAX_ELEMENTS = 2**48

#: Layouts and their rank (None: any rank). SMAUG's DataLayout enum (core/types.proto) plus NCT.
LAYOUTS: dict[str, int | None] = {
    "NCHW": 4,
    "NHWC": 4,
    "NC": 2,
    "CN": 2,
    "NTC": 3,
    "NCT": 3,
    "N": 1,
    "X": None,
}

#: Activation functions that can be fused into conv, inner product and batch norm, with the
#: parameter names and SMAUG's defaults (python/ops/activation_ops.py).
ACTIVATIONS: dict[str, tuple[tuple[str, float], ...]] = {
    "relu": (),
    "lrelu": (("slope", 0.2),),
    "elu": (("alpha", 0.1),),
    "selu": (("alpha", 1.6733), ("lambda", 1.0507)),
    "tanh": (),
    "hard_tanh": (("min", -1.0), ("max", 1.0)),
    "sigmoid": (),
    "softmax": (),
}

#: SMAUG OpType names (core/types.proto) of the activation functions.
SMAUG_ACTIVATION_NAMES = {
    "relu": "ReLU",
    "lrelu": "LReLU",
    "elu": "ELU",
    "selu": "SELU",
    "tanh": "Tanh",
    "hard_tanh": "HardTanh",
    "sigmoid": "Sigmoid",
    "softmax": "Softmax",
}


def _fail(owner: str, field: str, value: object, problem: str) -> WorkloadError:
    return WorkloadError(f"{owner}: {field} = {describe(value)}: {problem}")


def _positive_int(owner: str, field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int,)) and not hasattr(value, "__index__"):
        raise _fail(owner, field, value, "must be an integer")
    ivalue = int(value)
    if ivalue < 1:
        raise _fail(owner, field, value, "must be >= 1")
    return ivalue


def _nonnegative_int(owner: str, field: str, value: object) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise _fail(owner, field, value, "must be an integer")
    ivalue = int(value)
    if ivalue < 0:
        raise _fail(owner, field, value, "must be >= 0")
    return ivalue


def _pair(owner: str, field: str, value: object, *, allow_zero: bool = False) -> tuple[int, int]:
    """A (rows, cols) pair from an int or a 2-sequence of ints."""
    check = _nonnegative_int if allow_zero else _positive_int
    if hasattr(value, "__index__") and not isinstance(value, bool):
        v = check(owner, field, value)
        return (v, v)
    try:
        items = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        raise _fail(owner, field, value, "must be an integer or a pair of integers") from None
    if len(items) != 2:
        raise _fail(owner, field, value, "must be an integer or a pair of integers")
    return (check(owner, f"{field}[0]", items[0]), check(owner, f"{field}[1]", items[1]))


# --------------------------------------------------------------------------------------------------
# Tensor
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tensor:
    """A tensor of the graph: its description, not its data.

    ``constant`` marks tensors whose values exist before the run (weights, batch-norm parameters,
    constant states); SMAUG calls these Data nodes. Their bytes are "parameter bytes".
    """

    name: str
    shape: tuple[int, ...]
    layout: str = "X"
    dtype: str = "float16"
    constant: bool = False

    def __post_init__(self) -> None:
        owner = f"tensor {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise WorkloadError(f"tensor name = {describe(self.name)}: must be a non-empty string")
        try:
            shape = tuple(self.shape)
        except TypeError:
            raise _fail(owner, "shape", self.shape, "must be a sequence of positive integers") from None
        shape = tuple(_positive_int(owner, f"shape[{i}]", d) for i, d in enumerate(shape))
        if math.prod(shape) > MAX_ELEMENTS:
            raise _fail(owner, "shape", shape, f"has {math.prod(shape):.3g} elements; at most 2**48")
        object.__setattr__(self, "shape", shape)
        if self.layout not in LAYOUTS:
            raise _fail(owner, "layout", self.layout, f"unknown layout; valid: {', '.join(LAYOUTS)}")
        rank = LAYOUTS[self.layout]
        if rank is not None and rank != len(shape):
            raise _fail(
                owner, "layout", self.layout, f"needs rank {rank} but shape {shape} has rank {len(shape)}"
            )
        if self.dtype not in DTYPES:
            raise _fail(owner, "dtype", self.dtype, f"unknown dtype; valid: {', '.join(DTYPES)}")

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    @property
    def itemsize(self) -> int:
        """Bytes per element [B]."""
        return DTYPES[self.dtype]

    @property
    def nbytes(self) -> int:
        """Size [B]."""
        return self.size * self.itemsize

    def dim(self, letter: str) -> int:
        """The extent of dimension ``letter`` ("N", "C", "H", "W", "T") of a named layout."""
        if self.layout == "X" or letter not in self.layout:
            raise WorkloadError(f"tensor {self.name!r}: layout {self.layout} has no dimension {letter!r}")
        return self.shape[self.layout.index(letter)]

    def with_(self, **changes) -> Tensor:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


# --------------------------------------------------------------------------------------------------
# Op base class
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputSpec:
    """What shape inference produces for one output: shape, layout and dtype."""

    shape: tuple[int, ...]
    layout: str
    dtype: str


@dataclass(frozen=True)
class Op:
    """An operator: name, input and output tensors, and (in subclasses) its parameters.

    Subclasses set ``kind`` (our name, lower case) and ``smaug_type`` (SMAUG's OpType) and implement
    :meth:`infer`, which validates inputs and parameters and returns one :class:`OutputSpec` per output.
    """

    name: str
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...] = ()

    kind: ClassVar[str] = ""
    smaug_type: ClassVar[str] = ""
    #: Base name of unnamed ops (SMAUG's names: conv, mat_mul, max_pool, ...).
    default_name: ClassVar[str] = "op"
    #: Allowed numbers of inputs (min, max); max None for any.
    arity: ClassVar[tuple[int, int | None]] = (1, 1)

    # -- construction ------------------------------------------------------------------------------

    def infer(self) -> list[OutputSpec]:  # pragma: no cover - abstract
        raise NotImplementedError

    def check_arity(self) -> None:
        lo, hi = self.arity
        n = len(self.inputs)
        if n < lo or (hi is not None and n > hi):
            want = f"{lo}" if lo == hi else f"{lo}..{hi if hi is not None else 'any'}"
            raise WorkloadError(f"op {self.name!r} ({self.kind}): takes {want} inputs, got {n}")

    def fail(self, field: str, value: object, problem: str) -> WorkloadError:
        """A WorkloadError naming this op, the field and the value."""
        return _fail(f"op {self.name!r} ({self.kind})", field, value, problem)

    # -- derived quantities ------------------------------------------------------------------------

    @property
    def weights(self) -> tuple[Tensor, ...]:
        """Constant inputs after the first: weights and parameters (SMAUG's folded Data nodes)."""
        return tuple(t for t in self.inputs[1:] if t.constant)

    @property
    def activations(self) -> tuple[Tensor, ...]:
        """Inputs that are not weights (the first input is always an activation input)."""
        weights = {id(t) for t in self.weights}
        return tuple(t for t in self.inputs if id(t) not in weights)

    @property
    def macs(self) -> int:
        """Multiply-accumulates (conv and inner product; 0 for every other op)."""
        return 0

    @property
    def input_bytes(self) -> int:
        """Activation input bytes [B]."""
        return sum(t.nbytes for t in self.activations)

    @property
    def weight_bytes(self) -> int:
        """Weight and parameter bytes [B]."""
        return sum(t.nbytes for t in self.weights)

    @property
    def output_bytes(self) -> int:
        """Output bytes [B]."""
        return sum(t.nbytes for t in self.outputs)

    @property
    def output(self) -> Tensor:
        """The single output (error for multi-output ops)."""
        if len(self.outputs) != 1:
            raise WorkloadError(f"op {self.name!r} has {len(self.outputs)} outputs; use .outputs")
        return self.outputs[0]

    def params(self) -> dict[str, object]:
        """The operator's parameters (every dataclass field but name, inputs and outputs)."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("name", "inputs", "outputs")
        }

    @property
    def signature(self) -> tuple:
        """What the op computes, without names: its type, its tensors' shapes, layouts and dtypes
        (and which inputs are constants), its parameters. Ops of equal signature tile, schedule and
        cost alike (the repeated layers of a network). Kept once the op has its outputs (the
        simulator asks for it several times per op)."""
        sig = self.__dict__.get("_signature")
        if sig is None:
            sig = (
                type(self),
                tuple((t.shape, t.layout, t.dtype, t.constant) for t in self.inputs),
                tuple((t.shape, t.layout, t.dtype) for t in self.outputs),
                tuple(self.params().items()),
            )
            if self.outputs:
                self.__dict__["_signature"] = sig  # a frozen dataclass: its fields, not this, define it
        return sig


def _check_window(op: Op, stride: object, pads: object) -> None:
    """Validate a (rows, cols) stride and (top, bottom, left, right) pads of a windowed op."""
    owner = f"op {op.name!r} ({op.kind})"
    if not isinstance(stride, tuple) or len(stride) != 2:
        raise op.fail("stride", stride, "must be a pair of integers")
    for i, v in enumerate(stride):
        _positive_int(owner, f"stride[{i}]", v)
    if not isinstance(pads, tuple) or len(pads) != 4:
        raise op.fail("pads", pads, "must be (top, bottom, left, right)")
    for i, v in enumerate(pads):
        _nonnegative_int(owner, f"pads[{i}]", v)


def _check_activation(op: Op, activation: str | None, params: tuple[float, ...]) -> tuple[float, ...]:
    """Validate a fused activation and fill SMAUG's default parameters."""
    if activation is None:
        if params:
            raise op.fail("activation_params", params, "given without an activation")
        return ()
    if activation not in ACTIVATIONS:
        raise op.fail("activation", activation, f"unknown activation; valid: {', '.join(ACTIVATIONS)}")
    defaults = ACTIVATIONS[activation]
    if not params:
        return tuple(v for _, v in defaults)
    if len(params) != len(defaults):
        names = [n for n, _ in defaults]
        raise op.fail("activation_params", params, f"{activation} takes {len(defaults)} ({names})")
    return tuple(float(p) for p in params)


# --------------------------------------------------------------------------------------------------
# Convolution, inner product, pooling, batch norm
# --------------------------------------------------------------------------------------------------


def same_padding(kernel: int) -> tuple[int, int]:
    """SMAUG's SAME padding along one axis: total k-1, the extra element before (FRAC_CEIL).

    From SMAUG's convolution (smv_convolution_op, ``FRAC_CEIL(k - 1, 2)`` on top/left); the output
    size is then ``(in - 1) // stride + 1`` whatever the stride.
    """
    total = kernel - 1
    before = (total + 1) // 2
    return before, total - before


@dataclass(frozen=True)
class Convolution(Op):
    """2-D convolution over NCHW or NHWC input (SMAUG's Convolution3d; depthwise when groups == C).

    Weights are K x R x S x C/groups for NHWC input and K x C/groups x R x S for NCHW input, as in
    SMAUG's SMV and Reference backends. ``pads`` is (top, bottom, left, right) [elements].
    """

    stride: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    padding: str = "valid"  # "same", "valid" or "explicit": how pads were chosen
    groups: int = 1
    activation: str | None = None
    activation_params: tuple[float, ...] = ()

    kind: ClassVar[str] = "conv"
    smaug_type: ClassVar[str] = "Convolution3d"
    default_name: ClassVar[str] = "conv"
    arity: ClassVar[tuple[int, int | None]] = (2, 2)

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        x, w = self.inputs
        if x.layout not in ("NCHW", "NHWC"):
            raise self.fail("input layout", x.layout, "convolution needs NCHW or NHWC input")
        _check_window(self, self.stride, self.pads)
        _check_activation(self, self.activation, self.activation_params)
        if w.rank != 4:
            raise self.fail("weights shape", w.shape, "must have rank 4")
        n, c, h, wi = (x.dim("N"), x.dim("C"), x.dim("H"), x.dim("W"))
        if x.layout == "NHWC":
            k, r, s, cg = w.shape
        else:
            k, cg, r, s = w.shape
        groups = _positive_int(f"op {self.name!r} (conv)", "groups", self.groups)
        if c % groups:
            raise self.fail("groups", groups, f"must divide the {c} input channels")
        if k % groups:
            raise self.fail("groups", groups, f"must divide the {k} output channels")
        if cg != c // groups:
            raise self.fail(
                "weights shape", w.shape, f"needs {c // groups} channels per group (input has {c}, groups {groups})"
            )
        t, b, left, right = self.pads
        ph, pw = h + t + b, wi + left + right
        if r > ph or s > pw:
            raise self.fail(
                "kernel", (r, s), f"larger than the padded input {ph}x{pw} (input {h}x{wi}, pads {self.pads})"
            )
        sh, sw = self.stride
        oh, ow = (ph - r) // sh + 1, (pw - s) // sw + 1
        shape = (n, oh, ow, k) if x.layout == "NHWC" else (n, k, oh, ow)
        return [OutputSpec(shape, x.layout, x.dtype)]

    @property
    def kernel(self) -> tuple[int, int]:
        """(R, S): kernel rows and columns."""
        w = self.inputs[1].shape
        return (w[1], w[2]) if self.inputs[0].layout == "NHWC" else (w[2], w[3])

    @property
    def in_channels(self) -> int:
        return self.inputs[0].dim("C")

    @property
    def out_channels(self) -> int:
        return self.inputs[1].shape[0]

    @property
    def depthwise(self) -> bool:
        return self.groups > 1 and self.groups == self.in_channels

    @property
    def macs(self) -> int:
        y = self.outputs[0]
        r, s = self.kernel
        return y.dim("N") * y.dim("C") * y.dim("H") * y.dim("W") * (self.in_channels // self.groups) * r * s


#: Float dtypes of activations that may take int8 weights (weight-only quantization).
FLOAT_DTYPES = ("float16", "float32")
#: The dtype of weight-only quantized weights: int8 with one scale per output channel (row).
QUANTIZED_WEIGHT_DTYPE = "int8"


def _check_weight_dtype(op: Op, x: Tensor, w: Tensor) -> None:
    """Weights in the activations' dtype, or int8 under float activations (weight-only quantization:
    int8 in memory, dequantized with a per-row scale where they are used)."""
    if w.dtype == x.dtype:
        return
    if w.dtype == QUANTIZED_WEIGHT_DTYPE and x.dtype in FLOAT_DTYPES and w.constant:
        return
    raise op.fail("weights dtype", w.dtype, f"must be the input's {x.dtype}, or int8 constants (weight-only "
                  f"quantization) under float16/float32 inputs")


@dataclass(frozen=True)
class InnerProduct(Op):
    """Fully connected layer: input N x C, weights K x C (SMAUG stores FC weights as NC), output N x K."""

    activation: str | None = None
    activation_params: tuple[float, ...] = ()

    kind: ClassVar[str] = "inner_product"
    smaug_type: ClassVar[str] = "InnerProduct"
    default_name: ClassVar[str] = "mat_mul"
    arity: ClassVar[tuple[int, int | None]] = (2, 2)

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        x, w = self.inputs
        _check_activation(self, self.activation, self.activation_params)
        if x.rank != 2:
            raise self.fail("input shape", x.shape, "inner product needs a 2-D (NC) input; flatten first")
        if w.rank != 2:
            raise self.fail("weights shape", w.shape, "must be 2-D (K x C)")
        if w.shape[1] != x.shape[1]:
            raise self.fail("weights shape", w.shape, f"needs {x.shape[1]} columns to match the input {x.shape}")
        _check_weight_dtype(self, x, w)
        return [OutputSpec((x.shape[0], w.shape[0]), "NC", x.dtype)]

    @property
    def in_features(self) -> int:
        return self.inputs[0].shape[1]

    @property
    def out_features(self) -> int:
        return self.inputs[1].shape[0]

    @property
    def macs(self) -> int:
        return self.inputs[0].shape[0] * self.in_features * self.out_features


@dataclass(frozen=True)
class Pooling(Op):
    """Max or average pooling over NCHW/NHWC input. SMAUG pools are VALID; ``pads`` allows others.

    Max pooling pads with -inf; average pooling divides by the full window (zeros counted).
    """

    pool_size: tuple[int, int] = (2, 2)
    stride: tuple[int, int] = (2, 2)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    mode: str = "max"

    smaug_type: ClassVar[str] = "Pooling"
    default_name: ClassVar[str] = "pool"

    @property
    def kind(self) -> str:  # type: ignore[override]
        return f"{self.mode}_pool"

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        if self.mode not in ("max", "avg"):
            raise self.fail("mode", self.mode, "must be 'max' or 'avg'")
        (x,) = self.inputs
        if x.layout not in ("NCHW", "NHWC"):
            raise self.fail("input layout", x.layout, "pooling needs NCHW or NHWC input")
        _check_window(self, self.stride, self.pads)
        _pair(f"op {self.name!r} ({self.kind})", "pool_size", self.pool_size)
        h, w = x.dim("H"), x.dim("W")
        t, b, left, right = self.pads
        ph, pw = h + t + b, w + left + right
        r, s = self.pool_size
        if r > ph or s > pw:
            raise self.fail("pool_size", self.pool_size, f"larger than the padded input {ph}x{pw}")
        if max(t, b) >= r or max(left, right) >= s:
            raise self.fail("pads", self.pads, "each pad must be smaller than the pool window")
        sh, sw = self.stride
        oh, ow = (ph - r) // sh + 1, (pw - s) // sw + 1
        n, c = x.dim("N"), x.dim("C")
        shape = (n, oh, ow, c) if x.layout == "NHWC" else (n, c, oh, ow)
        return [OutputSpec(shape, x.layout, x.dtype)]


@dataclass(frozen=True)
class MaxPooling(Pooling):
    mode: str = "max"
    smaug_type: ClassVar[str] = "MaxPooling"
    default_name: ClassVar[str] = "max_pool"


@dataclass(frozen=True)
class AvgPooling(Pooling):
    mode: str = "avg"
    smaug_type: ClassVar[str] = "AvgPooling"
    default_name: ClassVar[str] = "avg_pool"


@dataclass(frozen=True)
class BatchNorm(Op):
    """Inference batch norm: inputs (x, mean, var, gamma, beta), each parameter 1 x C (NC).

    As in SMAUG, ``var`` holds the precomputed 1/sqrt(var + eps), so y = (x - mean) * var * gamma + beta.
    """

    activation: str | None = None
    activation_params: tuple[float, ...] = ()

    kind: ClassVar[str] = "batch_norm"
    smaug_type: ClassVar[str] = "BatchNorm"
    default_name: ClassVar[str] = "batch_norm"
    arity: ClassVar[tuple[int, int | None]] = (5, 5)

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        x = self.inputs[0]
        _check_activation(self, self.activation, self.activation_params)
        if x.layout in ("NCHW", "NHWC", "NC"):
            c = x.dim("C")
        else:
            raise self.fail("input layout", x.layout, "batch norm needs NCHW, NHWC or NC input")
        for field, p in zip(("mean", "var", "gamma", "beta"), self.inputs[1:]):
            if p.size != c:
                raise self.fail(f"{field} shape", p.shape, f"needs {c} elements (one per channel)")
        return [OutputSpec(x.shape, x.layout, x.dtype)]


# --------------------------------------------------------------------------------------------------
# Element-wise operators
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Activation(Op):
    """A unary activation function (relu, lrelu, elu, selu, tanh, hard_tanh, sigmoid, softmax).

    Softmax normalizes over the last dimension.
    """

    function: str = "relu"
    activation_params: tuple[float, ...] = ()

    smaug_type: ClassVar[str] = "Activation"
    default_name: ClassVar[str] = "activation"

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.function

    @property
    def smaug_name(self) -> str:
        return SMAUG_ACTIVATION_NAMES.get(self.function, self.function)

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        _check_activation(self, self.function, self.activation_params)
        x = self.inputs[0]
        return [OutputSpec(x.shape, x.layout, x.dtype)]


def broadcast_shape(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    """NumPy broadcasting of two shapes, or None when they do not broadcast."""
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        da = a[-i] if i <= len(a) else 1
        db = b[-i] if i <= len(b) else 1
        if da != db and 1 not in (da, db):
            return None
        out.append(max(da, db))
    return tuple(reversed(out))


#: Binary element-wise operators: our kind -> SMAUG OpType.
ELTWISE = {
    "add": "EltwiseAdd",
    "mul": "EltwiseMul",
    "less": "Less",
    "less_equal": "LessEqual",
    "greater": "Greater",
    "greater_equal": "GreaterEqual",
}


@dataclass(frozen=True)
class Eltwise(Op):
    """A binary element-wise operator with NumPy broadcasting; compares produce ``bool``."""

    function: str = "add"

    smaug_type: ClassVar[str] = "Eltwise"
    default_name: ClassVar[str] = "eltwise"
    arity: ClassVar[tuple[int, int | None]] = (2, 2)

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.function

    @property
    def smaug_name(self) -> str:
        return ELTWISE.get(self.function, self.function)

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        if self.function not in ELTWISE:
            raise self.fail("function", self.function, f"unknown; valid: {', '.join(ELTWISE)}")
        a, b = self.inputs
        shape = broadcast_shape(a.shape, b.shape)
        if shape is None:
            raise self.fail("input shapes", (a.shape, b.shape), "do not broadcast")
        big = a if len(a.shape) >= len(b.shape) and a.shape == shape else (b if b.shape == shape else a)
        layout = big.layout if LAYOUTS.get(big.layout) in (None, len(shape)) else "X"
        dtype = a.dtype if self.function in ("add", "mul") else "bool"
        return [OutputSpec(shape, layout, dtype)]


# --------------------------------------------------------------------------------------------------
# Data movement
# --------------------------------------------------------------------------------------------------


def _axis(op: Op, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise op.fail("axis", axis, f"out of range for rank {rank}")
    return axis % rank


@dataclass(frozen=True)
class Concat(Op):
    """Concatenate tensors along ``axis``."""

    axis: int = 0

    kind: ClassVar[str] = "concat"
    smaug_type: ClassVar[str] = "Concat"
    default_name: ClassVar[str] = "concat"
    arity: ClassVar[tuple[int, int | None]] = (1, None)

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        first = self.inputs[0]
        return [OutputSpec(_joined_shape(self, self.inputs, self.axis), first.layout, first.dtype)]


def _joined_shape(op: Op, tensors, axis: int) -> tuple[int, ...]:
    """The shape of ``tensors`` joined along ``axis`` (each must match the first off that axis)."""
    first = tensors[0]
    axis = _axis(op, axis, first.rank)
    total = 0
    for i, t in enumerate(tensors):
        if t.rank != first.rank or any(d != e for j, (d, e) in enumerate(zip(t.shape, first.shape)) if j != axis):
            raise op.fail(f"inputs[{i}] shape", t.shape, f"does not match {first.shape} off axis {axis}")
        total += t.shape[axis]
    shape = list(first.shape)
    shape[axis] = total
    return tuple(shape)


@dataclass(frozen=True)
class CacheAppend(Op):
    """Append rows to a persistent cache in place: inputs (cache, new), equal off ``axis``; the output
    is the cache with the new rows after its own along ``axis`` (the values of a :class:`Concat`), in
    the cache's own storage, which holds the whole context: only the new rows are written, one
    contiguous run per index of the dimensions before ``axis`` (:meth:`appended_runs`). This is how
    on-device runtimes keep a KV cache: llama.cpp's ``llama_kv_cache`` allocates each layer's K and V
    for the whole context and copies the new token's keys and values into a view of them
    (``src/llama-kv-cache.cpp``: ``cpy_k``/``cpy_v``), as HuggingFace's ``StaticCache.update`` does
    with ``index_copy_``; nothing rereads or rewrites the past entries to append."""

    axis: int = 0

    kind: ClassVar[str] = "cache_append"
    smaug_type: ClassVar[str] = "CacheAppend"
    default_name: ClassVar[str] = "cache_append"
    arity: ClassVar[tuple[int, int | None]] = (2, 2)

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        cache, new = self.inputs
        shape = _joined_shape(self, self.inputs, self.axis)
        if new.dtype != cache.dtype:
            raise self.fail("inputs[1] dtype", new.dtype, f"must be the cache's {cache.dtype}")
        return [OutputSpec(shape, cache.layout, cache.dtype)]

    def appended_runs(self) -> tuple[int, int, int]:
        """(runs, offset of the first run in the output [B], stride between runs [B]): run r writes
        the new rows' bytes (``inputs[1].nbytes // runs`` [B]) at offset + r * stride."""
        cache, new = self.inputs
        out = self.outputs[0]
        axis = self.axis % cache.rank
        runs = math.prod(out.shape[:axis])
        inner = math.prod(out.shape[axis + 1 :]) * out.itemsize
        return runs, cache.shape[axis] * inner, out.shape[axis] * inner


@dataclass(frozen=True)
class Split(Op):
    """Split a tensor along ``axis`` into pieces of the given ``sizes``."""

    axis: int = 0
    sizes: tuple[int, ...] = ()

    kind: ClassVar[str] = "split"
    smaug_type: ClassVar[str] = "Split"
    default_name: ClassVar[str] = "split"

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        (x,) = self.inputs
        axis = _axis(self, self.axis, x.rank)
        if not self.sizes:
            raise self.fail("sizes", self.sizes, "must not be empty")
        for i, s in enumerate(self.sizes):
            _positive_int(f"op {self.name!r} (split)", f"sizes[{i}]", s)
        if sum(self.sizes) != x.shape[axis]:
            raise self.fail("sizes", self.sizes, f"sum to {sum(self.sizes)}, not the {x.shape[axis]} of axis {axis}")
        specs = []
        for s in self.sizes:
            shape = list(x.shape)
            shape[axis] = s
            specs.append(OutputSpec(tuple(shape), x.layout, x.dtype))
        return specs


@dataclass(frozen=True)
class Reshape(Op):
    """Reinterpret the elements (row-major order kept) with a new shape and layout."""

    shape: tuple[int, ...] = ()
    layout: str = "X"

    kind: ClassVar[str] = "reshape"
    smaug_type: ClassVar[str] = "Reshape"
    default_name: ClassVar[str] = "reshape"

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        (x,) = self.inputs
        shape = tuple(_positive_int(f"op {self.name!r} (reshape)", f"shape[{i}]", d) for i, d in enumerate(self.shape))
        if math.prod(shape) != x.size:
            raise self.fail("shape", self.shape, f"has {math.prod(shape)} elements, input {x.shape} has {x.size}")
        return [OutputSpec(shape, self.layout, x.dtype)]


#: Layouts a reorder can convert between (same rank), plus flattening to NC.
_REORDERABLE = {"NCHW": "NHWC", "NHWC": "NCHW", "NC": "CN", "CN": "NC", "NTC": "NCT", "NCT": "NTC"}


@dataclass(frozen=True)
class Reorder(Op):
    """Layout transform (NCHW <-> NHWC, NC <-> CN, NTC <-> NCT) or flatten of a 4-D tensor to NC.

    SMAUG inserts these automatically between operators with different layouts; a flatten is a
    Reorder to NC whose element order follows the source layout.
    """

    target: str = "NC"

    kind: ClassVar[str] = "reorder"
    smaug_type: ClassVar[str] = "Reorder"
    default_name: ClassVar[str] = "reorder"

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        (x,) = self.inputs
        if self.target == "NC" and x.rank == 4 and x.layout in ("NCHW", "NHWC"):
            return [OutputSpec((x.shape[0], x.size // x.shape[0]), "NC", x.dtype)]
        if _REORDERABLE.get(x.layout) != self.target:
            raise self.fail("target", self.target, f"cannot reorder a {x.layout} tensor to it")
        shape = tuple(x.dim(letter) for letter in self.target)
        return [OutputSpec(shape, self.target, x.dtype)]

    @property
    def is_flatten(self) -> bool:
        return self.target == "NC" and self.inputs[0].rank == 4


@dataclass(frozen=True)
class Repeat(Op):
    """Tile a tensor ``multiples[i]`` times along each dimension i (SMAUG's repeat)."""

    multiples: tuple[int, ...] = ()

    kind: ClassVar[str] = "repeat"
    smaug_type: ClassVar[str] = "Repeat"
    default_name: ClassVar[str] = "repeat"

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        (x,) = self.inputs
        if len(self.multiples) != x.rank:
            raise self.fail("multiples", self.multiples, f"needs {x.rank} entries for shape {x.shape}")
        m = [_positive_int(f"op {self.name!r} (repeat)", f"multiples[{i}]", v) for i, v in enumerate(self.multiples)]
        return [OutputSpec(tuple(d * k for d, k in zip(x.shape, m)), x.layout, x.dtype)]


@dataclass(frozen=True)
class Padding(Op):
    """Zero padding: ``pads`` holds (before, after) per dimension, flattened (SMAUG's padding op)."""

    pads: tuple[int, ...] = ()

    kind: ClassVar[str] = "padding"
    smaug_type: ClassVar[str] = "Padding"
    default_name: ClassVar[str] = "padding"

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        (x,) = self.inputs
        if len(self.pads) != 2 * x.rank:
            raise self.fail("pads", self.pads, f"needs 2 x {x.rank} = {2 * x.rank} entries (before, after per dim)")
        p = [_nonnegative_int(f"op {self.name!r} (padding)", f"pads[{i}]", v) for i, v in enumerate(self.pads)]
        shape = tuple(d + p[2 * i] + p[2 * i + 1] for i, d in enumerate(x.shape))
        return [OutputSpec(shape, x.layout, x.dtype)]


# --------------------------------------------------------------------------------------------------
# Operators without a model of their own
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CpuOp(Op):
    """An operator smaug_fast has no model for, kept so that the graph stays whole; it runs on the CPU.

    Made by the ONNX importer for unknown op types when asked to (``unknown_ops="cpu"``). Its outputs
    cannot be inferred, so they are given: ``output_specs`` holds one (shape, layout, dtype) per output
    (from ONNX shape inference). ``op_type`` names the original operator, e.g. ``"Resize"``.
    """

    op_type: str = ""
    output_specs: tuple[OutputSpec, ...] = ()

    kind: ClassVar[str] = "cpu_op"
    smaug_type: ClassVar[str] = "CpuOp"
    default_name: ClassVar[str] = "cpu_op"
    arity: ClassVar[tuple[int, int | None]] = (0, None)

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        if not isinstance(self.op_type, str) or not self.op_type:
            raise self.fail("op_type", self.op_type, "must be a non-empty string")
        if not isinstance(self.output_specs, tuple) or not self.output_specs:
            raise self.fail("output_specs", self.output_specs, "must be a non-empty tuple of OutputSpec")
        for i, spec in enumerate(self.output_specs):
            if not isinstance(spec, OutputSpec):
                raise self.fail(f"output_specs[{i}]", spec, "must be an OutputSpec")
            # Validated as a tensor would be (positive dims, known layout of the right rank, dtype).
            Tensor(f"{self.name}:{i}", spec.shape, spec.layout, spec.dtype)
        return list(self.output_specs)


# --------------------------------------------------------------------------------------------------
# Transformer operators (issue 19): normalizations, batched matmul, embedding, rotary, causal mask
# --------------------------------------------------------------------------------------------------


def _eps(op: Op, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0.0 < float(value) < 1.0):
        raise op.fail("eps", value, "must be a number in (0, 1)")
    return float(value)


def _last_axis_params(op: Op, fields: tuple[str, ...]) -> None:
    """Check that each parameter input (after x) has one element per entry of x's last axis."""
    x = op.inputs[0]
    if x.rank < 1:
        raise op.fail("input shape", x.shape, "needs rank >= 1")
    c = x.shape[-1]
    for field, p in zip(fields, op.inputs[1:]):
        if p.size != c:
            raise op.fail(f"{field} shape", p.shape, f"needs {c} elements (the last axis of {x.shape})")


@dataclass(frozen=True)
class LayerNorm(Op):
    """Layer norm over the last axis: inputs (x, gamma, beta), gamma and beta with one element per
    entry of the last axis; y = (x - mean) / sqrt(var + eps) * gamma + beta (``eps`` dimensionless)."""

    eps: float = 1e-5

    kind: ClassVar[str] = "layer_norm"
    smaug_type: ClassVar[str] = "LayerNorm"
    default_name: ClassVar[str] = "layer_norm"
    arity: ClassVar[tuple[int, int | None]] = (3, 3)

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        _eps(self, self.eps)
        _last_axis_params(self, ("gamma", "beta"))
        x = self.inputs[0]
        return [OutputSpec(x.shape, x.layout, x.dtype)]


@dataclass(frozen=True)
class RMSNorm(Op):
    """RMS norm over the last axis (Llama): inputs (x, gamma); y = x / sqrt(mean(x^2) + eps) * gamma."""

    eps: float = 1e-6

    kind: ClassVar[str] = "rms_norm"
    smaug_type: ClassVar[str] = "RMSNorm"
    default_name: ClassVar[str] = "rms_norm"
    arity: ClassVar[tuple[int, int | None]] = (2, 2)

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        _eps(self, self.eps)
        _last_axis_params(self, ("gamma",))
        x = self.inputs[0]
        return [OutputSpec(x.shape, x.layout, x.dtype)]


#: Pointwise activations of transformers (not fusable into SMAUG's conv, FC or batch norm).
POINTWISE = ("gelu", "gelu_tanh", "silu")


@dataclass(frozen=True)
class Pointwise(Op):
    """A transformer activation, element by element: gelu (erf form), gelu_tanh (GPT-2) or silu."""

    function: str = "gelu"

    smaug_type: ClassVar[str] = "Pointwise"
    default_name: ClassVar[str] = "activation"

    @property
    def kind(self) -> str:  # type: ignore[override]
        return self.function

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        if self.function not in POINTWISE:
            raise self.fail("function", self.function, f"unknown; valid: {', '.join(POINTWISE)}")
        x = self.inputs[0]
        return [OutputSpec(x.shape, x.layout, x.dtype)]


@dataclass(frozen=True)
class BatchMatMul(Op):
    """Batched matrix multiply of two activations: a (..., M, K) @ b (..., K, N), or b (..., N, K)
    with ``transpose_b`` (attention scores Q K^T). The batch dimensions must be equal, except the last
    one, where b's may divide a's: item j of b then serves items j * g .. j * g + g - 1 of a
    (g = a's / b's), grouped-query attention without copying the KV heads (:attr:`group`), as
    ggml's ``mul_mat`` broadcasts its first operand (``ggml/src/ggml.c``: ``ggml_can_mul_mat``,
    "verify t0 is broadcastable") and HuggingFace's ``repeat_kv`` numbers the repeated heads. The
    product is multiplied by ``scale`` (dimensionless; 1/sqrt(head size) for attention scores)."""

    transpose_b: bool = False
    scale: float = 1.0

    kind: ClassVar[str] = "batch_matmul"
    smaug_type: ClassVar[str] = "BatchMatMul"
    default_name: ClassVar[str] = "batch_matmul"
    arity: ClassVar[tuple[int, int | None]] = (2, 2)

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        a, b = self.inputs
        if not isinstance(self.transpose_b, bool):
            raise self.fail("transpose_b", self.transpose_b, "must be True or False")
        if isinstance(self.scale, bool) or not isinstance(self.scale, (int, float)) or not math.isfinite(self.scale):
            raise self.fail("scale", self.scale, "must be a finite number")
        if a.rank < 2 or b.rank != a.rank:
            raise self.fail("input shapes", (a.shape, b.shape), "need equal ranks >= 2")
        if a.shape[:-3] != b.shape[:-3] or (a.rank > 2 and a.shape[-3] % b.shape[-3] != 0):
            raise self.fail("input shapes", (a.shape, b.shape),
                            "batch dimensions differ (b's last one may divide a's, no other)")
        k_b, n = (b.shape[-1], b.shape[-2]) if self.transpose_b else (b.shape[-2], b.shape[-1])
        if a.shape[-1] != k_b:
            raise self.fail("input shapes", (a.shape, b.shape), f"inner dimensions {a.shape[-1]} and {k_b} differ")
        return [OutputSpec((*a.shape[:-1], n), "X", a.dtype)]

    @property
    def macs(self) -> int:
        return math.prod(self.outputs[0].shape) * self.inputs[0].shape[-1]

    @property
    def group(self) -> int:
        """Items of a per item of b (1: equal batch dimensions; the query heads per KV head in GQA)."""
        a, b = self.inputs
        return a.shape[-3] // b.shape[-3] if a.rank > 2 else 1


@dataclass(frozen=True)
class Transpose(Op):
    """Permute the axes: output axis d is input axis ``perm[d]`` (e.g. (B, T, heads, D) -> (B, heads, T, D))."""

    perm: tuple[int, ...] = ()

    kind: ClassVar[str] = "transpose"
    smaug_type: ClassVar[str] = "Transpose"
    default_name: ClassVar[str] = "transpose"

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        (x,) = self.inputs
        if not isinstance(self.perm, tuple) or sorted(self.perm) != list(range(x.rank)):
            raise self.fail("perm", self.perm, f"must be a permutation of 0..{x.rank - 1}")
        return [OutputSpec(tuple(x.shape[p] for p in self.perm), "X", x.dtype)]


@dataclass(frozen=True)
class Embedding(Op):
    """Embedding lookup: inputs (indices, table); int32 indices of any shape, a V x H table; the
    output has the indices' shape plus H, in the table's dtype, or in ``out_dtype`` (float16 or
    float32) for an int8 table (weight-only quantization: rows dequantized with their scale)."""

    out_dtype: str | None = None

    kind: ClassVar[str] = "embedding"
    smaug_type: ClassVar[str] = "Embedding"
    default_name: ClassVar[str] = "embedding"
    arity: ClassVar[tuple[int, int | None]] = (2, 2)

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        idx, table = self.inputs
        if idx.dtype != "int32":
            raise self.fail("indices dtype", idx.dtype, "must be int32")
        if table.rank != 2:
            raise self.fail("table shape", table.shape, "must be 2-D (vocab x hidden)")
        dtype = table.dtype
        if table.dtype == QUANTIZED_WEIGHT_DTYPE:
            if self.out_dtype not in FLOAT_DTYPES:
                raise self.fail("out_dtype", self.out_dtype, "an int8 table needs float16 or float32")
            dtype = self.out_dtype
        elif self.out_dtype not in (None, table.dtype):
            raise self.fail("out_dtype", self.out_dtype, f"must be None or the table's {table.dtype}")
        return [OutputSpec((*idx.shape, table.shape[1]), "X", dtype)]


@dataclass(frozen=True)
class Rotary(Op):
    """Rotary position embedding (Llama's rotate-half form) of x (..., T, D), D even: position
    ``offset`` + t for row t, frequencies ``theta`` ** (-2i / D) [rad per position]."""

    offset: int = 0
    theta: float = 10000.0

    kind: ClassVar[str] = "rotary"
    smaug_type: ClassVar[str] = "Rotary"
    default_name: ClassVar[str] = "rotary"

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        (x,) = self.inputs
        _nonnegative_int(f"op {self.name!r} (rotary)", "offset", self.offset)
        if isinstance(self.theta, bool) or not isinstance(self.theta, (int, float)) or not self.theta > 1.0:
            raise self.fail("theta", self.theta, "must be a number > 1")
        if x.rank < 2 or x.shape[-1] % 2:
            raise self.fail("input shape", x.shape, "needs rank >= 2 and an even last dimension")
        return [OutputSpec(x.shape, x.layout, x.dtype)]


@dataclass(frozen=True)
class CausalMask(Op):
    """Causal masking of attention scores (..., Tq, Tk), Tq <= Tk: adds -inf where key k > q + Tk - Tq
    (the queries are the last Tq positions of the context)."""

    kind: ClassVar[str] = "causal_mask"
    smaug_type: ClassVar[str] = "CausalMask"
    default_name: ClassVar[str] = "causal_mask"

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        (x,) = self.inputs
        if x.rank < 2 or x.shape[-2] > x.shape[-1]:
            raise self.fail("input shape", x.shape, "needs rank >= 2 and queries <= keys (..., Tq, Tk)")
        return [OutputSpec(x.shape, x.layout, x.dtype)]


@dataclass(frozen=True)
class Attention(Op):
    """Scaled dot-product attention in one op, as flash-attention kernels run it: inputs q (..., H, Tq,
    D), k (..., KVH, Tk, D), v (..., KVH, Tk, Dv), Tq <= Tk, KVH dividing H (each KV head serves
    H / KVH consecutive query heads: grouped-query attention); output softmax(scale * q k^T [+ causal
    mask]) v, (..., H, Tq, Dv). The scores and probabilities never reach memory: the op reads q, k and
    v and writes the output (llama.cpp's ``ggml_flash_attn_ext``: its ``--flash-attn`` defaults to
    ``auto``, which turns it on for the CPU backend, ggml-org/llama.cpp issue 27086; PyTorch's
    ``scaled_dot_product_attention``). ``causal``: query i sees keys j <= i + Tk - Tq (the
    queries are the last Tq positions of the context, as :class:`CausalMask`)."""

    scale: float = 1.0
    causal: bool = False

    kind: ClassVar[str] = "attention"
    smaug_type: ClassVar[str] = "Attention"
    default_name: ClassVar[str] = "attention"
    arity: ClassVar[tuple[int, int | None]] = (3, 3)

    def infer(self) -> list[OutputSpec]:
        self.check_arity()
        q, k, v = self.inputs
        if isinstance(self.scale, bool) or not isinstance(self.scale, (int, float)) or not math.isfinite(self.scale):
            raise self.fail("scale", self.scale, "must be a finite number")
        if not isinstance(self.causal, bool):
            raise self.fail("causal", self.causal, "must be True or False")
        shapes = (q.shape, k.shape, v.shape)
        if q.rank < 3 or k.rank != q.rank or v.rank != q.rank:
            raise self.fail("input shapes", shapes, "need equal ranks >= 3 (..., heads, tokens, head size)")
        if q.shape[:-3] != k.shape[:-3] or k.shape[:-1] != v.shape[:-1] or q.shape[-3] % k.shape[-3]:
            raise self.fail("input shapes", shapes, "k and v need equal heads and tokens, dividing q's heads")
        if q.shape[-1] != k.shape[-1]:
            raise self.fail("input shapes", shapes, f"head sizes {q.shape[-1]} and {k.shape[-1]} differ")
        if self.causal and q.shape[-2] > k.shape[-2]:
            raise self.fail("input shapes", shapes, "causal attention needs queries <= keys")
        return [OutputSpec((*q.shape[:-1], v.shape[-1]), "X", q.dtype)]

    @property
    def scores(self) -> int:
        """Query-key pairs scored (the softmax's elements; the causal ones included)."""
        q, k, _ = self.inputs
        return math.prod(q.shape[:-1]) * k.shape[-2]

    @property
    def macs(self) -> int:
        """Both products: q k^T and the probabilities times v (masked pairs included, as the batched
        products count them)."""
        q, k, v = self.inputs
        return self.scores * (q.shape[-1] + v.shape[-1])


#: Every operator class, by kind (pooling, activations and eltwise share a class each).
OP_CLASSES: tuple[type[Op], ...] = (
    Convolution,
    InnerProduct,
    MaxPooling,
    AvgPooling,
    BatchNorm,
    Activation,
    Eltwise,
    Concat,
    CacheAppend,
    Split,
    Reshape,
    Reorder,
    Repeat,
    Padding,
    LayerNorm,
    RMSNorm,
    Pointwise,
    BatchMatMul,
    Attention,
    Transpose,
    Embedding,
    Rotary,
    CausalMask,
    CpuOp,
)


def smaug_type(op: Op) -> str:
    """SMAUG's OpType name for an op (e.g. ``Convolution3d``, ``EltwiseAdd``, ``ReLU``)."""
    name = getattr(op, "smaug_name", None)
    if name:
        return name
    if isinstance(op, Convolution) and op.depthwise:
        return "ConvolutionDepthwise"
    return op.smaug_type
