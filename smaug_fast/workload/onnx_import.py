"""Import an ONNX model as a smaug_fast :class:`~smaug_fast.workload.Graph` (needs the ``[onnx]`` extra).

::

    from smaug_fast.workload import from_onnx

    g = from_onnx("resnet50.onnx", dtype="float16")          # NHWC, as SMAUG's SMV backend
    weights = g.constant_values                               # tensor name -> ndarray, our layout

What the import does, and where it is not exact:

- **Layout.** ONNX tensors are NCHW. With ``layout="NCHW"`` every tensor keeps the ONNX order and
  conv weights stay K x C/g x R x S. With ``layout="NHWC"`` (the default, SMAUG's SMV layout) every
  4-D activation is held as N x H x W x C: the graph input too (feed it NHWC data), and 4-D graph
  outputs come out NHWC. Conv weights become K x R x S x C/g, constant operands of element-wise ops
  are transposed likewise, and axes of Concat, Softmax and Pad are mapped.
- **Flatten before an FC layer (NHWC).** Flattening an N x H x W x C tensor lists its elements in
  (h, w, c) order where ONNX lists them in (c, h, w) order. When H x W = 1 or C = 1 the orders agree
  and the flatten is a plain Reorder to NC. Otherwise, when every consumer of the flatten is a
  Gemm/MatMul with constant weights, the flatten stays a single Reorder to NC (SMAUG's flatten of an
  NHWC tensor) and the columns of those weights are permuted to the (h, w, c) order, so the graph
  matches a SMAUG network op for op and computes the same function. In every other case a Reorder to
  NCHW is inserted before the flatten, as SMAUG inserts layout transforms between operators.
  Reshapes that are not flattens, and ops of unknown layout semantics, see the ONNX order the same way.
- **Biases.** Our Convolution and InnerProduct, like SMAUG's, have no bias. A bias whose only
  consumer is a BatchNormalization is folded into it exactly (mean - bias); an all-zero bias is
  dropped; any other bias becomes an Eltwise ``add`` with a constant ``<op>/bias`` (so an activation
  after it is not fused). Gemm's ``alpha`` scales the weights; ``beta`` scales the bias.
- **BatchNormalization** becomes our BatchNorm with 1 x C constants ``<op>/mean``, ``<op>/var``
  (holding 1/sqrt(var + epsilon), SMAUG's form), ``<op>/gamma`` and ``<op>/beta``.
- **Activations.** Relu, LeakyRelu, Elu, Selu, Tanh, Sigmoid and Clip map exactly (Clip(0, inf) is a
  relu, other Clips a ``hard_tanh(min, max)``, so ReLU6 is ``hard_tanh(0, 6)``). With
  ``fuse_activations`` (default) such an activation that is the only consumer of a Conv, Gemm,
  MatMul or BatchNormalization output is fused into that op, as SMAUG's networks do. HardSigmoid
  (clamp(alpha x + beta, 0, 1)) is exact as three ops: mul by alpha, add beta, ``hard_tanh(0, 1)``.
  Softmax is supported when it normalizes over what is our last axis.
- **Approximations, with an :class:`OnnxImportWarning`:** AveragePool with padding and
  ``count_include_pad=0`` (our average pool counts padded zeros: the border outputs differ), and
  AveragePool with ``ceil_mode=1`` where it adds a window (modelled by extra end padding, exact for
  MaxPool). Unknown ops kept as CPU ops (below) have no numeric model.
- **Shape arithmetic** (Constant, Shape, Gather, Unsqueeze, Squeeze, Concat, Cast, Slice, Reshape,
  Transpose and Add/Sub/Mul/Div on constants) is evaluated at import time, so ``x.view(n, -1)``
  exported as Shape -> Gather -> Concat -> Reshape becomes one flatten. Identity and Dropout are no-ops;
  Squeeze and Unsqueeze of activations are Reshapes; Sub and Div by a constant are add and mul.
- **Transformer ops** (issue 19): LayerNormalization over the last axis (constant scale and bias; no
  Mean/InvStdDev outputs) is our LayerNorm; Gelu (opset 20, ``approximate`` "none" or "tanh") is our
  ``gelu`` or ``gelu_tanh``; MatMul of two operands with batch dimensions (attention's Q K^T and P V)
  is a BatchMatMul, size-1 batch dimensions broadcast by Reshape and Repeat; Transpose of an activation
  is our Transpose; Gather of runtime integer indices along axis 0 of a constant 2-D table is an
  Embedding (indices must lie in [0, rows); ONNX's negative indices are not). These see their inputs in
  the ONNX axis order (a 4-D NHWC input is reordered first).
- **Unknown ops** (or unsupported variants, e.g. dilated convs or reflect padding) raise
  :class:`~smaug_fast.errors.WorkloadError` naming the op type and node; with ``unknown_ops="cpu"``
  they become :class:`~smaug_fast.workload.CpuOp` with output shapes from ONNX shape inference and a
  warning. In NHWC mode a CPU op's 4-D outputs are assumed to follow the layout of its 4-D inputs.

Names: ops take the ONNX node names (or ``<OpType>_<index>`` for unnamed nodes); graph inputs keep
the ONNX input names; weights are ``<op>/weights`` (shared initializers are created once), and
``graph.constant_values`` maps every constant tensor name to its values, cast to the tensor's dtype.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import WorkloadError, describe
from .core import (
    DTYPES,
    Activation,
    AvgPooling,
    BatchMatMul,
    BatchNorm,
    Concat,
    Convolution,
    CpuOp,
    Eltwise,
    Embedding,
    InnerProduct,
    LayerNorm,
    MaxPooling,
    OutputSpec,
    Padding,
    Pointwise,
    Reorder,
    Repeat,
    Reshape,
    Tensor,
    Transpose,
    same_padding,
)
from .graph import Graph

__all__ = ["OnnxImportWarning", "from_onnx"]

LAYOUT_CHOICES = ("NHWC", "NCHW")
UNKNOWN_OPS_CHOICES = ("error", "cpu")
#: Axis permutations between ONNX's NCHW order and NHWC: our axis j holds ONNX axis _TO_NHWC[j].
_TO_NHWC = (0, 2, 3, 1)
_TO_NCHW = (0, 3, 1, 2)
#: Layouts of tensors kept in ONNX order, by rank.
_RANK_LAYOUT = {1: "N", 2: "NC", 4: "NCHW"}
#: Activation ops that fuse into conv, inner product and batch norm.
_FUSABLE = frozenset({"Relu", "LeakyRelu", "Elu", "Selu", "Tanh", "Sigmoid", "Clip"})
#: Ops evaluated at import time when all their inputs are constants (shape arithmetic).
_FOLDABLE = frozenset(
    {"Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Concat", "Cast", "Slice", "Reshape",
     "Transpose", "Identity", "Add", "Sub", "Mul", "Div", "ConstantOfShape", "Flatten"}
)
#: Default ONNX Selu constants (ONNX operator spec).
_SELU_ALPHA = 1.67326319217681884765625
_SELU_GAMMA = 1.05070102214813232421875


class OnnxImportWarning(UserWarning):
    """An ONNX construct imported approximately, or kept as a CPU op without a model."""


class _Unsupported(Exception):
    """A node this importer cannot model; an error, or a CPU op with ``unknown_ops="cpu"``."""


def _onnx():
    try:
        import onnx
        import onnx.numpy_helper  # noqa: F401
        import onnx.shape_inference  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "smaug_fast.workload.from_onnx needs the onnx package, which is not installed: "
            "pip install 'smaug-fast[onnx]'"
        ) from exc
    return onnx


def from_onnx(
    path_or_model,
    *,
    unknown_ops: str = "error",
    dtype: str | None = None,
    layout: str = "NHWC",
    fuse_activations: bool = True,
    batch: int = 1,
    name: str | None = None,
) -> Graph:
    """Build a :class:`Graph` from an ONNX model (a file path, serialized bytes or ``onnx.ModelProto``).

    ``unknown_ops``: "error" raises WorkloadError for an op type without a model; "cpu" keeps it as
    a CpuOp (with an OnnxImportWarning). ``dtype``: the graph's dtype (None: float16 if the model's
    inputs are float16, else float32). ``layout``: "NHWC" or "NCHW" (see the module docstring for
    what NHWC changes). ``fuse_activations``: fuse an activation into the Conv/Gemm/MatMul/BN it is
    the only consumer of. ``batch``: the value of a symbolic (dynamic) batch dimension of the inputs.
    ``name``: the graph's name (default: the ONNX graph's name).

    The initializers' values, converted to our layout and forms, are in ``graph.constant_values``.
    """
    if unknown_ops not in UNKNOWN_OPS_CHOICES:
        raise WorkloadError(f"from_onnx: unknown_ops = {describe(unknown_ops)}: must be 'error' or 'cpu'")
    if layout not in LAYOUT_CHOICES:
        raise WorkloadError(f"from_onnx: layout = {describe(layout)}: must be 'NHWC' or 'NCHW'")
    if dtype is not None and dtype not in DTYPES:
        raise WorkloadError(f"from_onnx: dtype = {describe(dtype)}: unknown; valid: {', '.join(DTYPES)}")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise WorkloadError(f"from_onnx: batch = {describe(batch)}: must be an integer >= 1")
    if name is not None and (not isinstance(name, str) or not name):
        raise WorkloadError(f"from_onnx: name = {describe(name)}: must be a non-empty string")
    onnx = _onnx()
    model, source = _load(onnx, path_or_model)
    return _Importer(onnx, model, source, unknown_ops, dtype, layout, bool(fuse_activations), batch, name).run()


def _load(onnx, path_or_model):
    """The ModelProto and a phrase naming where it came from; WorkloadError naming the file if bad."""
    if isinstance(path_or_model, onnx.ModelProto):
        model = path_or_model
        source = f"ONNX model {model.graph.name!r}"
    elif isinstance(path_or_model, (bytes, bytearray)):
        source = f"ONNX model bytes ({len(path_or_model)} B)"
        try:
            model = onnx.load_from_string(bytes(path_or_model))
        except Exception as exc:  # protobuf raises DecodeError and others
            raise WorkloadError(f"{source}: cannot be parsed as an ONNX model ({type(exc).__name__}: {exc})") from None
    elif isinstance(path_or_model, (str, os.PathLike)):
        path = os.fspath(path_or_model)
        source = f"ONNX file {path!r}"
        if not os.path.isfile(path):
            raise WorkloadError(f"{source}: no such file")
        try:
            model = onnx.load(path)
        except Exception as exc:
            raise WorkloadError(f"{source}: cannot be parsed as an ONNX model ({type(exc).__name__}: {exc})") from None
    else:
        raise WorkloadError(
            f"from_onnx: path_or_model = {describe(path_or_model)}: must be a file path, bytes or an onnx.ModelProto"
        )
    try:
        # Checking the file rather than the loaded proto also works for models over protobuf's 2 GB.
        onnx.checker.check_model(path if isinstance(path_or_model, (str, os.PathLike)) else model)
    except Exception as exc:
        raise WorkloadError(f"{source}: not a valid ONNX model ({type(exc).__name__}: {exc})") from None
    return model, source


@dataclass
class _Value:
    """An ONNX value as imported: our tensor and how its axes relate to the ONNX tensor's."""

    tensor: Tensor
    onnx_shape: tuple[int, ...]
    #: Our axes are the ONNX axes in NHWC order (rank-4 activations in NHWC mode).
    nhwc: bool = False
    #: A flatten of NHWC data: ONNX column index of each of our columns (consumers permute weights).
    columns: np.ndarray | None = None
    #: A per-channel bias not added yet: the one consumer, a BatchNormalization, folds it.
    bias: np.ndarray | None = None


class _Importer:
    def __init__(self, onnx, model, source, unknown_ops, dtype, layout, fuse, batch, name) -> None:
        self.onnx = onnx
        self.model = model
        self.source = source
        self.unknown_ops = unknown_ops
        self.layout = layout
        self.fuse = fuse
        self.batch = batch
        gp = model.graph
        self.opset = 1
        for imp in model.opset_import:
            if imp.domain in ("", "ai.onnx"):
                self.opset = imp.version
        self.nodes = list(gp.node)
        self.consts: dict[str, np.ndarray] = {}
        for init in gp.initializer:
            self.consts[init.name] = onnx.numpy_helper.to_array(init)
        self.graph_outputs = {o.name for o in gp.output}
        self.consumers: dict[str, list[int]] = {}
        for i, node in enumerate(self.nodes):
            for inp in node.input:
                if inp:
                    self.consumers.setdefault(inp, []).append(i)
        self.dtype = dtype or self._model_dtype()
        self.g = Graph(name or gp.name or "onnx", dtype=self.dtype, layout=layout)
        self.values: dict[str, _Value] = {}
        self.skip: set[int] = set()
        self.shared: dict[tuple, Tensor] = {}
        self.converted: dict[tuple[str, str], _Value] = {}
        self._shapes: dict[str, tuple] | None = None

    # -- driver ------------------------------------------------------------------------------------

    def run(self) -> Graph:
        for inp in self.model.graph.input:
            if inp.name not in self.consts:
                self._add_input(inp)
        # Constants first: a fusion decision may need a later Constant (e.g. Clip's bounds).
        for index, node in enumerate(self.nodes):
            if node.op_type != "Shape" and self._fold(node):
                self.skip.add(index)
        for index, node in enumerate(self.nodes):
            if index in self.skip:
                continue
            if self._fold(node):
                continue
            name = self.g.unique_name(node.name or f"{node.op_type}_{index}")
            try:
                if node.domain not in ("", "ai.onnx"):
                    raise _Unsupported(f"is not a standard ONNX op (domain {node.domain!r})")
                convert = getattr(self, f"_op_{node.op_type}", None)
                if convert is None:
                    raise _Unsupported("has no model in smaug_fast")
                convert(node, name, index)
            except _Unsupported as exc:
                self._unknown(node, name, str(exc))
        return self.g

    def _where(self, node, name: str) -> str:
        op_type = node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}::{node.op_type}"
        return f"{self.source}: node {node.name or name!r} (op type {op_type})"

    # -- model-level facts -------------------------------------------------------------------------

    def _model_dtype(self) -> str:
        tp = self.onnx.TensorProto
        for inp in self.model.graph.input:
            if inp.name not in self.consts and inp.type.HasField("tensor_type"):
                elem = inp.type.tensor_type.elem_type
                if elem == tp.FLOAT16:
                    return "float16"
                if elem in (tp.FLOAT, tp.DOUBLE, tp.BFLOAT16):
                    return "float32"
        return "float32"

    def _dtype_of(self, elem_type: int) -> str:
        tp = self.onnx.TensorProto
        if elem_type in (tp.FLOAT, tp.DOUBLE, tp.FLOAT16, tp.BFLOAT16):
            return self.dtype
        if elem_type in (tp.INT8, tp.UINT8):
            return "int8"
        if elem_type == tp.BOOL:
            return "bool"
        return "int32"

    def _np_dtype(self, values: np.ndarray) -> tuple[str, type]:
        """Our dtype for a constant array and the NumPy type its values are stored as."""
        kind = values.dtype.kind
        if kind == "b":
            return "bool", np.bool_
        if kind in "iu":
            return ("int8", np.int8) if values.dtype.itemsize == 1 else ("int32", np.int32)
        # float16/32/64, and bfloat16 (an ml_dtypes type NumPy does not call "f")
        return self.dtype, np.float16 if self.dtype == "float16" else np.float32

    def _inferred_shapes(self, where: str) -> dict[str, tuple]:
        """ONNX shape inference on a copy of the model with symbolic input dims fixed to ``batch``."""
        if self._shapes is None:
            onnx = self.onnx
            m = onnx.ModelProto()
            m.CopyFrom(self.model)
            for inp in m.graph.input:
                if inp.type.HasField("tensor_type"):
                    for d in inp.type.tensor_type.shape.dim:
                        if not d.HasField("dim_value"):
                            d.dim_value = self.batch
            try:
                m = onnx.shape_inference.infer_shapes(m, strict_mode=False, data_prop=True)
            except Exception as exc:
                raise WorkloadError(f"{where}: ONNX shape inference failed ({type(exc).__name__}: {exc})") from None
            shapes = {}
            for vi in (*m.graph.value_info, *m.graph.output, *m.graph.input):
                tt = vi.type.tensor_type
                if vi.type.HasField("tensor_type") and tt.HasField("shape"):
                    dims = tuple(d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim)
                    known = shapes.get(vi.name)
                    # A declared graph output may be less precise than what inference found.
                    if known is None or sum(d is None for d in dims) < sum(d is None for d in known[0]):
                        shapes[vi.name] = (dims, tt.elem_type)
            self._shapes = shapes
        return self._shapes

    # -- sources and constants ---------------------------------------------------------------------

    def _add_input(self, inp) -> None:
        where = f"{self.source}: input {inp.name!r}"
        if not inp.type.HasField("tensor_type"):
            raise WorkloadError(f"{where}: is not a tensor")
        tt = inp.type.tensor_type
        dims = []
        for i, d in enumerate(tt.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                dims.append(d.dim_value)
            elif i == 0:
                dims.append(self.batch)
            else:
                raise WorkloadError(
                    f"{where}: dim[{i}] = {d.dim_param or '?'!r}: only the batch dimension (0) may be symbolic; "
                    "export the model with static shapes"
                )
        if not dims:
            raise WorkloadError(f"{where}: shape = (): scalar inputs are not supported")
        shape = tuple(dims)
        dtype = self._dtype_of(tt.elem_type)
        if len(shape) == 4 and self.layout == "NHWC":
            t = self.g.input(_perm(shape, _TO_NHWC), name=inp.name, layout="NHWC", dtype=dtype)
            self.values[inp.name] = _Value(t, shape, nhwc=True)
        else:
            t = self.g.input(shape, name=inp.name, layout=_RANK_LAYOUT.get(len(shape), "X"), dtype=dtype)
            self.values[inp.name] = _Value(t, shape)

    def _constant(self, values: np.ndarray, name: str, layout: str | None = None, key: tuple | None = None) -> Tensor:
        """A constant tensor of the graph holding ``values`` (shared when ``key`` was seen before)."""
        if key is not None and key in self.shared:
            return self.shared[key]
        values = np.asarray(values)
        if values.ndim == 0:
            values = values.reshape(1)
        dtype, np_type = self._np_dtype(values)
        if layout is None:
            layout = _RANK_LAYOUT.get(values.ndim, "X")
        t = self.g.constant(values.shape, name=self.g.unique_name(name), layout=layout, dtype=dtype)
        self.g.constant_values[t.name] = np.ascontiguousarray(values.astype(np_type, copy=False))
        if key is not None:
            self.shared[key] = t
        return t

    def _const(self, name: str) -> np.ndarray | None:
        return self.consts.get(name) if name else None

    def _require_const(self, node, i: int, what: str) -> np.ndarray:
        values = self._const(node.input[i]) if i < len(node.input) else None
        if values is None:
            raise _Unsupported(f"needs a constant {what} (input {i}), but it is computed at run time")
        return values

    def _value(self, onnx_name: str) -> _Value:
        """The imported value of an activation input, or a constant made a graph tensor."""
        v = self.values.get(onnx_name)
        if v is not None:
            return v
        values = self.consts.get(onnx_name)
        if values is None:  # the checker guarantees producers exist; a folded-away optional is absent
            raise _Unsupported(f"reads {onnx_name!r}, which has no value")
        t = self._constant(values, onnx_name, key=(onnx_name, "as-is"))
        return _Value(t, tuple(values.shape) or (1,))

    # -- layout conversions ------------------------------------------------------------------------

    def _add(self, cls, inputs, name: str, **params) -> Tensor:
        return self.g.add(cls, inputs, name=self.g.unique_name(name), **params).output

    def _to_onnx_order(self, v: _Value, name: str) -> _Value:
        """The value with the ONNX axis order (a Reorder to NCHW for NHWC data)."""
        if v.columns is not None:
            raise _Unsupported("reads a flatten of NHWC data in a way that needs the ONNX element order")
        if not v.nhwc:
            return v
        key = (v.tensor.name, "NCHW")
        if key not in self.converted:  # one Reorder per tensor, however many consumers need it
            t = self._add(Reorder, [v.tensor], f"{name}/to_nchw", target="NCHW")
            self.converted[key] = _Value(t, v.onnx_shape)
        return self.converted[key]

    def _to_graph_layout(self, v: _Value, name: str) -> _Value:
        """A 4-D value in the graph's layout (a Reorder to NHWC for ONNX-ordered data in NHWC mode)."""
        if len(v.onnx_shape) == 4 and self.layout == "NHWC" and not v.nhwc:
            key = (v.tensor.name, "NHWC")
            if key not in self.converted:
                x = v.tensor
                if x.layout != "NCHW":
                    x = self._add(Reshape, [x], f"{name}/as_nchw", shape=v.onnx_shape, layout="NCHW")
                t = self._add(Reorder, [x], f"{name}/to_nhwc", target="NHWC")
                self.converted[key] = _Value(t, v.onnx_shape, nhwc=True)
            return self.converted[key]
        return v

    def _spatial_input(self, node, name: str) -> _Value:
        """Input 0 of a conv/pool: a 4-D activation in the graph's layout."""
        v = self._value(node.input[0])
        if len(v.onnx_shape) != 4:
            raise _Unsupported(f"input shape {v.onnx_shape}: only 2-D spatial (N x C x H x W) inputs are supported")
        v = self._to_graph_layout(v, name)
        if v.tensor.layout not in ("NCHW", "NHWC"):
            v = _Value(self._add(Reshape, [v.tensor], f"{name}/as_nchw", shape=v.onnx_shape, layout="NCHW"),
                       v.onnx_shape)
        return v

    # -- graph-structure queries -------------------------------------------------------------------

    def _sole_consumer(self, out: str):
        """(index, node) of the only consumer of ``out``, or None (several, none, or a graph output)."""
        users = self.consumers.get(out, [])
        if out in self.graph_outputs or len(users) != 1 or users[0] in self.skip:
            return None
        return users[0], self.nodes[users[0]]

    def _fusable(self, node):
        """(index, function, params) of an activation to fuse into ``node``'s output, or None."""
        if not self.fuse:
            return None
        found = self._sole_consumer(node.output[0])
        if found is None:
            return None
        index, user = found
        if user.op_type not in _FUSABLE or user.domain not in ("", "ai.onnx") or user.input[0] != node.output[0]:
            return None
        try:
            function, params = self._activation(user)
        except _Unsupported:
            return None
        return index, function, params

    def _set_output(self, node, v: _Value, fused) -> None:
        self.values[node.output[0]] = v
        if fused is not None:
            index = fused[0]
            self.skip.add(index)
            self.values[self.nodes[index].output[0]] = v

    # -- attributes --------------------------------------------------------------------------------

    def _attrs(self, node) -> dict:
        out = {}
        for a in node.attribute:
            value = self.onnx.helper.get_attribute_value(a)
            if isinstance(value, bytes):
                value = value.decode()
            elif isinstance(value, self.onnx.TensorProto):
                value = self.onnx.numpy_helper.to_array(value)
            out[a.name] = value
        return out

    def _window(self, node, attrs: dict, in_hw: tuple[int, int], kernel: tuple[int, int]):
        """(stride, pads (top, bottom, left, right)) from ONNX strides/pads/auto_pad/dilations."""
        if any(d != 1 for d in attrs.get("dilations", (1, 1))):
            raise _Unsupported(f"dilations = {tuple(attrs['dilations'])}: only dilation 1 is supported")
        stride = tuple(attrs.get("strides", (1, 1)))
        if len(stride) != 2:
            raise _Unsupported(f"strides = {stride}: only 2-D windows are supported")
        auto = attrs.get("auto_pad", "NOTSET")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            pads = []
            for size, k, s in zip(in_hw, kernel, stride):
                total = max((-(-size // s) - 1) * s + k - size, 0)
                small = total // 2
                pads.append((small, total - small) if auto == "SAME_UPPER" else (total - small, small))
            return stride, (*pads[0], *pads[1])
        if auto == "VALID":
            return stride, (0, 0, 0, 0)
        p = tuple(attrs.get("pads", (0, 0, 0, 0)))
        if len(p) != 4:
            raise _Unsupported(f"pads = {p}: only 2-D windows are supported")
        return stride, (p[0], p[2], p[1], p[3])

    # -- operators ---------------------------------------------------------------------------------

    def _op_Conv(self, node, name: str, index: int) -> None:
        attrs = self._attrs(node)
        x = self._spatial_input(node, name)
        w = self._require_const(node, 1, "weight")
        if w.ndim != 4:
            raise _Unsupported(f"weights shape {w.shape}: only 2-D convolutions are supported")
        _, _, r, s = w.shape
        c, h, wi = x.onnx_shape[1:]
        stride, pads = self._window(node, attrs, (h, wi), (r, s))
        groups = int(attrs.get("group", 1))
        padding = "same" if pads == (*same_padding(r), *same_padding(s)) else ("valid" if not any(pads) else "explicit")
        ours = w.transpose(_TO_NHWC) if x.nhwc else w
        wt = self._constant(ours, f"{name}/weights", layout=x.tensor.layout, key=(node.input[1], "conv", x.nhwc))
        bias = self._bias(node, 2)
        fused = None if bias is not None else self._fusable(node)
        act, act_params = (fused[1], fused[2]) if fused else (None, ())
        y = self._add(Convolution, [x.tensor, wt], name, stride=stride, pads=pads, padding=padding,
                      groups=groups, activation=act, activation_params=act_params)
        out = _Value(y, _perm(y.shape, _TO_NCHW) if x.nhwc else y.shape, nhwc=x.nhwc)
        self._set_output(node, self._with_bias(node, name, out, bias), fused)

    def _bias(self, node, i: int) -> np.ndarray | None:
        """A per-output-channel bias input, or None when absent or all zeros."""
        if i >= len(node.input) or not node.input[i]:
            return None
        b = self._require_const(node, i, "bias")
        return None if not np.any(b) else b

    def _with_bias(self, node, name: str, v: _Value, bias: np.ndarray | None) -> _Value:
        """Fold ``bias`` into a following BatchNormalization, or add it with an Eltwise add."""
        if bias is None:
            return v
        channels = v.onnx_shape[1]
        per_channel = bias.size == channels and (bias.ndim <= 1 or bias.shape[-1] == channels)
        found = self._sole_consumer(node.output[0])
        if per_channel and found is not None and self._bn_folds(found[1]):
            v.bias = bias.reshape(channels)
            return v
        rank = len(v.onnx_shape)
        b = bias.reshape((1,) * max(rank - bias.ndim, 0) + bias.shape) if bias.ndim < rank else bias
        if rank == 4 and bias.ndim == 1:  # a conv bias: one value per output channel
            b = bias.reshape(1, channels, 1, 1)
        if v.nhwc:
            b = b.transpose(_TO_NHWC)
        bt = self._constant(b, f"{name}/bias", layout=v.tensor.layout if b.ndim == v.tensor.rank else None)
        y = self._add(Eltwise, [v.tensor, bt], f"{name}/add_bias", function="add")
        return _Value(y, v.onnx_shape, nhwc=v.nhwc)

    def _bn_folds(self, node) -> bool:
        """A BatchNormalization node that will become our BatchNorm (so it can fold a bias)."""
        return (
            node.op_type == "BatchNormalization"
            and node.domain in ("", "ai.onnx")
            and not self._attrs(node).get("training_mode", 0)
            and len([o for o in node.output if o]) == 1
            and all(self._const(n) is not None for n in node.input[1:5])
            and len(node.input) == 5
        )

    def _op_Gemm(self, node, name: str, index: int) -> None:
        attrs = self._attrs(node)
        alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
        a = self._value(node.input[0])
        if len(a.onnx_shape) != 2:
            raise _Unsupported(f"input A shape {a.onnx_shape}: must be 2-D")
        if attrs.get("transA", 0):
            a = self._transpose2d(self._to_onnx_order(a, name), name)
        b_const = self._const(node.input[1])
        if b_const is not None:
            w = b_const if attrs.get("transB", 0) else b_const.T  # K x C
            self._ip(node, name, a, w * alpha if alpha != 1.0 else w, key=(node.input[1], "gemm", attrs.get("transB", 0), alpha))
            return
        b = self._to_onnx_order(self._value(node.input[1]), name)
        if alpha != 1.0:
            raise _Unsupported(f"alpha = {alpha} with a weight computed at run time: only alpha = 1 is supported")
        if not attrs.get("transB", 0):
            b = self._transpose2d(b, name)
        self._ip(node, name, a, b, key=None)

    def _op_MatMul(self, node, name: str, index: int) -> None:
        a = self._value(node.input[0])
        b_const = self._const(node.input[1])
        b_shape = tuple(b_const.shape) if b_const is not None else self._value(node.input[1]).onnx_shape
        if len(b_shape) > 2:
            self._batch_matmul(node, name, a, b_const)
            return
        if len(b_shape) != 2 or len(a.onnx_shape) < 2:
            raise _Unsupported(f"shapes A {a.onnx_shape}, B {b_shape}: only (... x C) @ (C x K) with a 2-D B is supported")
        if len(a.onnx_shape) > 2:  # batched rows: flatten the leading dims, multiply, restore them
            lead = a.onnx_shape[:-1]
            a = self._to_onnx_order(a, name)
            flat = self._add(Reshape, [a.tensor], f"{name}/rows", shape=(math.prod(lead), a.onnx_shape[-1]), layout="NC")
            a = _Value(flat, flat.shape)
        else:
            lead = None
        if b_const is not None:
            w = b_const.T
            key = (node.input[1], "matmul")
        else:
            w = self._transpose2d(self._to_onnx_order(self._value(node.input[1]), name), name)
            key = None
        if lead is None:
            self._ip(node, name, a, w, key)
            return
        y = self._add(InnerProduct, [a.tensor, self._weights(w, name, a, key)], name)
        shape = (*lead, y.shape[1])
        y = self._add(Reshape, [y], f"{name}/unflatten", shape=shape, layout=_RANK_LAYOUT.get(len(shape), "X"))
        self.values[node.output[0]] = _Value(y, shape)

    def _batch_matmul(self, node, name: str, a: _Value, b_const: np.ndarray | None) -> None:
        """MatMul with batch dimensions: A (..., M, K) @ B (..., K, N) as a BatchMatMul, broadcast batch
        dimensions expanded (a Reshape adds leading 1s, a Repeat tiles size-1 dimensions)."""
        a = self._to_onnx_order(a, name)
        if b_const is not None:
            b = _Value(self._constant(b_const, f"{name}/b", layout="X", key=(node.input[1], "bmm")), tuple(b_const.shape))
        else:
            b = self._to_onnx_order(self._value(node.input[1]), name)
        if len(a.onnx_shape) < 2 or len(b.onnx_shape) < 2:
            raise _Unsupported(f"shapes A {a.onnx_shape}, B {b.onnx_shape}: 1-D operands are not supported")
        if a.onnx_shape[-1] != b.onnx_shape[-2]:
            raise _Unsupported(f"shapes A {a.onnx_shape}, B {b.onnx_shape}: inner dimensions differ")
        try:
            batch = tuple(np.broadcast_shapes(a.onnx_shape[:-2], b.onnx_shape[:-2]))
        except ValueError:
            raise _Unsupported(f"shapes A {a.onnx_shape}, B {b.onnx_shape}: batch dimensions do not broadcast") from None
        tensors = []
        for v, which in ((a, "a"), (b, "b")):
            t, shape = v.tensor, v.onnx_shape
            full = (1,) * (len(batch) + 2 - len(shape)) + tuple(shape)
            if full != tuple(t.shape):
                t = self._add(Reshape, [t], f"{name}/{which}_rank", shape=full, layout="X")
            multiples = tuple(n if d == 1 else 1 for d, n in zip(full[:-2], batch)) + (1, 1)
            if any(m > 1 for m in multiples):
                t = self._add(Repeat, [t], f"{name}/{which}_broadcast", multiples=multiples)
            tensors.append(t)
        y = self._add(BatchMatMul, tensors, name)
        self.values[node.output[0]] = _Value(y, y.shape)

    def _transpose2d(self, v: _Value, name: str) -> _Value:
        target = {"NC": "CN", "CN": "NC"}.get(v.tensor.layout)
        if target is None:
            raise _Unsupported(f"transposes a {v.tensor.layout} tensor; only NC/CN matrices are supported")
        t = self._add(Reorder, [v.tensor], f"{name}/transpose", target=target)
        return _Value(t, v.onnx_shape[::-1])

    def _weights(self, w, name: str, a: _Value, key) -> Tensor:
        """K x C weights of an inner product (columns permuted to a flattened NHWC input's order)."""
        if isinstance(w, _Value):
            if a.columns is not None:
                raise _Unsupported("multiplies a flatten of NHWC data by weights computed at run time")
            return w.tensor
        if a.columns is not None:
            w = w[:, a.columns]
            key = key + ("columns",) if key is not None else None
        return self._constant(w, f"{name}/weights", layout="NC", key=key)

    def _ip(self, node, name: str, a: _Value, w, key) -> None:
        """An inner product of ``a`` with K x C weights ``w``, plus Gemm's bias, with fusion."""
        bias = None
        if node.op_type == "Gemm" and len(node.input) > 2 and node.input[2]:
            beta = float(self._attrs(node).get("beta", 1.0))
            c = self._const(node.input[2])
            if c is None:
                if beta != 1.0:
                    raise _Unsupported(f"beta = {beta} with a bias computed at run time: only beta = 1 is supported")
                bias = self._value(node.input[2])
            elif np.any(c) and beta != 0.0:
                bias = c * beta
        fused = None if bias is not None else self._fusable(node)
        act, act_params = (fused[1], fused[2]) if fused else (None, ())
        wt = self._weights(w, name, a, key)
        y = self._add(InnerProduct, [a.tensor, wt], name, activation=act, activation_params=act_params)
        out = _Value(y, y.shape)
        if isinstance(bias, _Value):
            y = self._add(Eltwise, [y, self._to_onnx_order(bias, name).tensor], f"{name}/add_bias", function="add")
            out = _Value(y, y.shape)
        elif bias is not None:
            out = self._with_bias(node, name, out, bias)
        self._set_output(node, out, fused)

    def _op_BatchNormalization(self, node, name: str, index: int) -> None:
        attrs = self._attrs(node)
        if attrs.get("training_mode", 0) or len([o for o in node.output if o]) > 1:
            raise _Unsupported("is in training mode; only inference batch norm is supported")
        x = self._value(node.input[0])
        pending_bias = x.bias
        if len(x.onnx_shape) == 4:
            x = self._spatial_input(node, name)
        elif len(x.onnx_shape) != 2:
            raise _Unsupported(f"input shape {x.onnx_shape}: only N x C and N x C x H x W inputs are supported")
        gamma, beta, mean, var = (self._require_const(node, i, what) for i, what in
                                  ((1, "scale"), (2, "bias"), (3, "mean"), (4, "variance")))
        eps = float(attrs.get("epsilon", 1e-5))
        if pending_bias is not None:  # BN(x + b): (x + b - mean) * ... = (x - (mean - b)) * ...
            mean = mean - pending_bias
        inv_std = 1.0 / np.sqrt(var.astype(np.float64) + eps)
        params = [
            self._constant(np.asarray(p, dtype=np.float64).reshape(1, -1), f"{name}/{what}", layout="NC")
            for what, p in (("mean", mean), ("var", inv_std), ("gamma", gamma), ("beta", beta))
        ]
        fused = self._fusable(node)
        act, act_params = (fused[1], fused[2]) if fused else (None, ())
        y = self._add(BatchNorm, [x.tensor, *params], name, activation=act, activation_params=act_params)
        self._set_output(node, _Value(y, x.onnx_shape, nhwc=x.nhwc), fused)

    def _pool(self, node, name: str, cls, attrs: dict, kernel, global_: bool) -> None:
        if len([o for o in node.output if o]) > 1:
            raise _Unsupported("has an Indices output, which is not supported")
        x = self._spatial_input(node, name)
        n, c, h, w = x.onnx_shape
        if global_:
            kernel, stride, pads = (h, w), (1, 1), (0, 0, 0, 0)
        else:
            if len(kernel) != 2:
                raise _Unsupported(f"kernel_shape = {tuple(kernel)}: only 2-D pooling is supported")
            stride, pads = self._window(node, attrs, (h, w), tuple(kernel))
            if cls is AvgPooling and any(pads) and not attrs.get("count_include_pad", 0):
                warnings.warn(
                    f"{self._where(node, name)}: count_include_pad = 0 with pads {pads}: our average pool "
                    "divides by the full window, so border outputs are approximated",
                    OnnxImportWarning, stacklevel=5,
                )
            if attrs.get("ceil_mode", 0):
                pads = self._ceil_pads(node, name, cls, (h, w), tuple(kernel), stride, pads)
        y = self._add(cls, [x.tensor], name, pool_size=tuple(kernel), stride=tuple(stride), pads=tuple(pads))
        oh, ow = (y.shape[1], y.shape[2]) if x.nhwc else (y.shape[2], y.shape[3])
        self.values[node.output[0]] = _Value(y, (n, c, oh, ow), nhwc=x.nhwc)

    def _ceil_pads(self, node, name, cls, hw, kernel, stride, pads):
        """ceil_mode: extra end padding so that the floor rule yields the ceil rule's extra window."""
        extra = []
        for size, k, s, before, after in zip(hw, kernel, stride, pads[0::2], pads[1::2]):
            padded = size + before + after
            out_floor = (padded - k) // s + 1
            out_ceil = -(-(padded - k) // s) + 1
            if (out_ceil - 1) * s >= size + before:  # ONNX/PyTorch drop a window starting in the end pad
                out_ceil -= 1
            extra.append(max((out_ceil - 1) * s + k - padded, 0) if out_ceil > out_floor else 0)
        if any(extra) and cls is AvgPooling:
            warnings.warn(
                f"{self._where(node, name)}: ceil_mode = 1 adds a partial window; modelled with extra zero "
                "padding, so its average is approximated",
                OnnxImportWarning, stacklevel=6,
            )
        return (pads[0], pads[1] + extra[0], pads[2], pads[3] + extra[1])

    def _op_MaxPool(self, node, name: str, index: int) -> None:
        attrs = self._attrs(node)
        self._pool(node, name, MaxPooling, attrs, attrs.get("kernel_shape", ()), False)

    def _op_AveragePool(self, node, name: str, index: int) -> None:
        attrs = self._attrs(node)
        self._pool(node, name, AvgPooling, attrs, attrs.get("kernel_shape", ()), False)

    def _op_GlobalAveragePool(self, node, name: str, index: int) -> None:
        self._pool(node, name, AvgPooling, {}, None, True)

    def _op_GlobalMaxPool(self, node, name: str, index: int) -> None:
        self._pool(node, name, MaxPooling, {}, None, True)

    # -- activations -------------------------------------------------------------------------------

    def _activation(self, node) -> tuple[str, tuple[float, ...]]:
        """Our (function, params) of an exactly-mapped ONNX activation node."""
        attrs = self._attrs(node)
        t = node.op_type
        if t == "Relu":
            return "relu", ()
        if t == "LeakyRelu":
            return "lrelu", (float(attrs.get("alpha", 0.01)),)
        if t == "Elu":
            return "elu", (float(attrs.get("alpha", 1.0)),)
        if t == "Selu":
            return "selu", (float(attrs.get("alpha", _SELU_ALPHA)), float(attrs.get("gamma", _SELU_GAMMA)))
        if t == "Tanh":
            return "tanh", ()
        if t == "Sigmoid":
            return "sigmoid", ()
        if t == "Clip":
            if self.opset < 11:
                lo, hi = float(attrs.get("min", -np.inf)), float(attrs.get("max", np.inf))
            else:
                bounds = []
                for i, default in ((1, -np.inf), (2, np.inf)):
                    if i < len(node.input) and node.input[i]:
                        bounds.append(float(np.asarray(self._require_const(node, i, ("min", "max")[i - 1])).reshape(-1)[0]))
                    else:
                        bounds.append(default)
                lo, hi = bounds
            if lo == 0.0 and hi == np.inf:
                return "relu", ()
            return "hard_tanh", (lo, hi)
        raise _Unsupported("is not an activation")  # pragma: no cover - callers check op types

    def _unary(self, node, name: str, function: str, params: tuple[float, ...]) -> None:
        x = self._value(node.input[0])
        y = self._add(Activation, [x.tensor], name, function=function, activation_params=params)
        self.values[node.output[0]] = _Value(y, x.onnx_shape, nhwc=x.nhwc)

    def _op_activation(self, node, name: str, index: int) -> None:
        self._unary(node, name, *self._activation(node))

    _op_Relu = _op_LeakyRelu = _op_Elu = _op_Selu = _op_Tanh = _op_Sigmoid = _op_Clip = _op_activation

    def _op_Softmax(self, node, name: str, index: int) -> None:
        x = self._value(node.input[0])
        rank = len(x.onnx_shape)
        axis = int(self._attrs(node).get("axis", -1 if self.opset >= 13 else 1))
        if not -rank <= axis < rank:
            raise _Unsupported(f"axis = {axis}: out of range for rank {rank}")
        axis %= rank
        # Before opset 13 Softmax normalizes over all axes from `axis` on; ours over our last axis.
        axes = {axis} if self.opset >= 13 else set(range(axis, rank))
        last = _TO_NHWC[-1] if x.nhwc else rank - 1
        if {a for a in axes if x.onnx_shape[a] > 1} - {last}:
            raise _Unsupported(
                f"axis = {axis} (opset {self.opset}) on shape {x.onnx_shape}: our softmax normalizes over the "
                f"last axis of our {x.tensor.layout} tensor only"
            )
        self._unary(node, name, "softmax", ())

    def _op_LayerNormalization(self, node, name: str, index: int) -> None:
        attrs = self._attrs(node)
        if any(o and (self.consumers.get(o) or o in self.graph_outputs) for o in node.output[1:]):
            raise _Unsupported("has its Mean or InvStdDev output used; only the normalized output is supported")
        x = self._to_onnx_order(self._value(node.input[0]), name)
        rank = len(x.onnx_shape)
        axis = int(attrs.get("axis", -1))
        if not -rank <= axis < rank:
            raise _Unsupported(f"axis = {axis}: out of range for rank {rank}")
        if axis % rank != rank - 1:
            raise _Unsupported(f"axis = {axis} on shape {x.onnx_shape}: only the last axis is supported")
        c = x.onnx_shape[-1]
        scale = self._require_const(node, 1, "scale")
        if len(node.input) > 2 and node.input[2]:
            bias = self._require_const(node, 2, "bias")
        else:
            bias = np.zeros(c, dtype=np.float32)
        for what, p in (("scale", scale), ("bias", bias)):
            if p.size != c:
                raise _Unsupported(f"{what} shape {p.shape}: needs {c} elements (the last axis)")
        gamma = self._constant(scale.reshape(c), f"{name}/gamma", layout="N", key=(node.input[1], "ln"))
        beta = self._constant(bias.reshape(c), f"{name}/beta", layout="N",
                              key=(node.input[2], "ln") if len(node.input) > 2 and node.input[2] else None)
        y = self._add(LayerNorm, [x.tensor, gamma, beta], name, eps=float(attrs.get("epsilon", 1e-5)))
        self.values[node.output[0]] = _Value(y, x.onnx_shape)

    def _op_Gelu(self, node, name: str, index: int) -> None:
        approximate = self._attrs(node).get("approximate", "none")
        function = {"none": "gelu", "tanh": "gelu_tanh"}.get(approximate)
        if function is None:
            raise _Unsupported(f"approximate = {approximate!r}: must be 'none' or 'tanh'")
        x = self._value(node.input[0])
        y = self._add(Pointwise, [x.tensor], name, function=function)
        self.values[node.output[0]] = _Value(y, x.onnx_shape, nhwc=x.nhwc)

    def _op_Transpose(self, node, name: str, index: int) -> None:
        x = self._to_onnx_order(self._value(node.input[0]), name)
        rank = len(x.onnx_shape)
        perm = self._attrs(node).get("perm")
        perm = tuple(range(rank))[::-1] if perm is None else tuple(int(p) for p in perm)
        if sorted(perm) != list(range(rank)):
            raise _Unsupported(f"perm = {perm}: not a permutation of the {rank} axes")
        y = self._add(Transpose, [x.tensor], name, perm=perm)
        self.values[node.output[0]] = _Value(y, y.shape)

    def _op_Gather(self, node, name: str, index: int) -> None:
        table = self._const(node.input[0])
        axis = int(self._attrs(node).get("axis", 0))
        if table is None or table.ndim != 2 or axis not in (0, -2):
            raise _Unsupported("is supported as an embedding lookup only: runtime indices along axis 0 of a "
                               "constant 2-D table")
        if table.dtype.kind in "biu":
            raise _Unsupported(f"table dtype {table.dtype}: an embedding table must be floating point")
        ids = self._value(node.input[1])
        if ids.tensor.dtype != "int32":
            raise _Unsupported(f"indices dtype {ids.tensor.dtype}: must be an integer tensor")
        t = self._constant(table, f"{name}/table", layout="X", key=(node.input[0], "table"))
        ids = self._to_onnx_order(ids, name)
        y = self._add(Embedding, [ids.tensor, t], name)
        self.values[node.output[0]] = _Value(y, y.shape)

    def _op_HardSigmoid(self, node, name: str, index: int) -> None:
        attrs = self._attrs(node)
        alpha, beta = float(attrs.get("alpha", 0.2)), float(attrs.get("beta", 0.5))
        x = self._value(node.input[0])
        a = self._constant(np.array([alpha], dtype=np.float32), f"{name}/alpha")
        b = self._constant(np.array([beta], dtype=np.float32), f"{name}/beta")
        y = self._add(Eltwise, [x.tensor, a], f"{name}/scale", function="mul")
        y = self._add(Eltwise, [y, b], f"{name}/shift", function="add")
        y = self._add(Activation, [y], name, function="hard_tanh", activation_params=(0.0, 1.0))
        self.values[node.output[0]] = _Value(y, x.onnx_shape, nhwc=x.nhwc)

    # -- element-wise and data movement ------------------------------------------------------------

    def _op_eltwise(self, node, name: str, index: int) -> None:
        t = node.op_type
        a_name, b_name = node.input[0], node.input[1]
        b_const = self._const(b_name)
        if t in ("Sub", "Div"):
            if b_const is None or self._const(a_name) is not None:
                raise _Unsupported("is supported with a constant second operand only (as add/mul)")
            b_const = -b_const if t == "Sub" else 1.0 / b_const
        function = "add" if t in ("Add", "Sub") else "mul"
        operands = [self._const(a_name), b_const]
        values = [self.values.get(n) for n in (a_name, b_name)]
        if values[0] is None and values[1] is None:  # both constant (folding handles Add/Mul of constants)
            raise _Unsupported("has only constant operands")
        active = [v for v in values if v is not None]
        if len(active) == 2:
            ranks = {len(v.onnx_shape) for v in active}
            if ranks == {4}:
                active = [self._to_graph_layout(v, name) for v in active]
            elif any(v.nhwc for v in active):
                active = [self._to_onnx_order(v, name) for v in active]
            values = active
        nhwc = any(v.nhwc for v in values if v is not None)
        out_shape = np.broadcast_shapes(*[tuple(v.onnx_shape) if v is not None else np.shape(c)
                                          for v, c in zip(values, operands)])
        tensors = []
        for i, (v, c) in enumerate(zip(values, operands)):
            if v is not None:
                if v.columns is not None:
                    raise _Unsupported("reads a flatten of NHWC data in a way that needs the ONNX element order")
                tensors.append(v.tensor)
                continue
            c = np.asarray(c)
            if nhwc:  # broadcast against N x C x H x W, then hold it as N x H x W x C like the other side
                if c.ndim > 4:
                    raise _Unsupported(f"constant operand shape {c.shape}: more than 4 dims against NHWC data")
                c = c.reshape((1,) * (4 - c.ndim) + c.shape).transpose(_TO_NHWC)
                layout = "NHWC"
            else:
                layout = None
            key = (node.input[i], "eltwise", nhwc, t)
            tensors.append(self._constant(c, f"{name}/{('a', 'b')[i]}", layout=layout, key=key))
        y = self._add(Eltwise, tensors, name, function=function)
        self.values[node.output[0]] = _Value(y, tuple(out_shape), nhwc=nhwc and len(out_shape) == 4)

    _op_Add = _op_Sub = _op_Mul = _op_Div = _op_eltwise

    def _op_Concat(self, node, name: str, index: int) -> None:
        names = [n for n in node.input if n]
        values = [self.values.get(n) for n in names]
        if all(v is None for v in values):
            raise _Unsupported("has only constant inputs")
        rank = len(next(v for v in values if v is not None).onnx_shape)
        axis = int(self._attrs(node)["axis"])
        if not -rank <= axis < rank:
            raise _Unsupported(f"axis = {axis}: out of range for rank {rank}")
        axis %= rank
        nhwc = rank == 4 and self.layout == "NHWC"
        tensors, shapes = [], []
        for i, (n, v) in enumerate(zip(names, values)):
            if v is None:
                c = self.consts[n]
                c2 = c.transpose(_TO_NHWC) if nhwc else c
                tensors.append(self._constant(c2, f"{name}/input{i}", layout="NHWC" if nhwc else None,
                                              key=(n, "concat", nhwc)))
                shapes.append(c.shape)
            else:
                v = self._to_graph_layout(v, name) if nhwc else self._to_onnx_order(v, name)
                tensors.append(v.tensor)
                shapes.append(v.onnx_shape)
        our_axis = _TO_NHWC.index(axis) if nhwc else axis
        y = self._add(Concat, tensors, name, axis=our_axis)
        out = list(shapes[0])
        out[axis] = sum(s[axis] for s in shapes)
        self.values[node.output[0]] = _Value(y, tuple(out), nhwc=nhwc)

    def _op_Flatten(self, node, name: str, index: int) -> None:
        x = self._value(node.input[0])
        rank = len(x.onnx_shape)
        axis = int(self._attrs(node).get("axis", 1))
        if not -rank <= axis <= rank:
            raise _Unsupported(f"axis = {axis}: out of range for rank {rank}")
        axis %= rank + 1
        shape = (math.prod(x.onnx_shape[:axis]), math.prod(x.onnx_shape[axis:]))
        self._reshape(node, name, x, shape)

    def _op_Reshape(self, node, name: str, index: int) -> None:
        x = self._value(node.input[0])
        attrs = self._attrs(node)
        if self.opset < 5:
            target = attrs.get("shape")
        else:
            target = self._const(node.input[1])
        if target is not None:
            shape = _resolve_reshape(x.onnx_shape, [int(d) for d in np.asarray(target).reshape(-1)],
                                     bool(attrs.get("allowzero", 0)))
            if shape is None:
                raise _Unsupported(f"shape = {tuple(int(d) for d in np.asarray(target).reshape(-1))} does not fit "
                                   f"the input {x.onnx_shape}")
        else:
            dims, _ = self._inferred_shapes(self._where(node, name)).get(node.output[0], (None, None))
            if dims is None or any(d is None or d < 1 for d in dims):
                raise _Unsupported("has a shape computed at run time that shape inference cannot resolve")
            shape = tuple(dims)
        self._reshape(node, name, x, tuple(shape))

    def _reshape(self, node, name: str, x: _Value, shape: tuple[int, ...]) -> None:
        out = node.output[0]
        if shape == x.onnx_shape and x.columns is None:
            self.values[out] = x
            return
        if len(x.onnx_shape) == 4 and len(shape) == 2 and shape[0] == x.onnx_shape[0]:
            self.values[out] = self._flatten(node, name, x)
            return
        x = self._to_onnx_order(x, name)
        y = self._add(Reshape, [x.tensor], name, shape=shape, layout=_RANK_LAYOUT.get(len(shape), "X"))
        self.values[out] = _Value(y, shape)

    def _flatten(self, node, name: str, x: _Value) -> _Value:
        """N x C x H x W -> N x CHW: one Reorder to NC, with the NHWC element order handled (docstring)."""
        n, c, h, w = x.onnx_shape
        shape = (n, c * h * w)
        if not x.nhwc or h * w == 1 or c == 1:
            if x.tensor.layout not in ("NCHW", "NHWC"):
                x = _Value(self._add(Reshape, [x.tensor], f"{name}/as_nchw", shape=x.onnx_shape, layout="NCHW"),
                           x.onnx_shape)
            return _Value(self._add(Reorder, [x.tensor], name, target="NC"), shape)
        if self._weights_take_columns(node.output[0]):
            y = self._add(Reorder, [x.tensor], name, target="NC")
            columns = np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)
            return _Value(y, shape, columns=columns)
        x = self._to_onnx_order(x, name)
        return _Value(self._add(Reorder, [x.tensor], name, target="NC"), shape)

    def _weights_take_columns(self, out: str) -> bool:
        """Every consumer of ``out`` is a Gemm/MatMul reading it as A with constant weights."""
        users = self.consumers.get(out, [])
        if not users or out in self.graph_outputs:
            return False
        for i in users:
            user = self.nodes[i]
            if user.domain not in ("", "ai.onnx") or user.input[0] != out or out in user.input[1:]:
                return False
            if user.op_type == "Gemm":
                attrs = self._attrs(user)
                if attrs.get("transA", 0) or self._const(user.input[1]) is None:
                    return False
            elif user.op_type == "MatMul":
                b = self._const(user.input[1])
                if b is None or b.ndim != 2:
                    return False
            else:
                return False
        return True

    def _op_Squeeze(self, node, name: str, index: int) -> None:
        x = self._value(node.input[0])
        axes = self._axes(node)
        rank = len(x.onnx_shape)
        drop = {a % rank for a in axes} if axes is not None else {a for a, d in enumerate(x.onnx_shape) if d == 1}
        if any(x.onnx_shape[a] != 1 for a in drop):
            raise _Unsupported(f"axes = {sorted(drop)}: not all of size 1 in shape {x.onnx_shape}")
        self._reshape(node, name, x, tuple(d for a, d in enumerate(x.onnx_shape) if a not in drop))

    def _op_Unsqueeze(self, node, name: str, index: int) -> None:
        x = self._value(node.input[0])
        axes = self._axes(node)
        if axes is None:
            raise _Unsupported("has no axes")
        rank = len(x.onnx_shape) + len(axes)
        shape = list(x.onnx_shape)
        for a in sorted(a % rank for a in axes):
            shape.insert(a, 1)
        self._reshape(node, name, x, tuple(shape))

    def _axes(self, node) -> list[int] | None:
        """Squeeze/Unsqueeze axes: an attribute before opset 13, an optional constant input since."""
        if self.opset < 13:
            axes = self._attrs(node).get("axes")
            return None if axes is None else [int(a) for a in axes]
        if len(node.input) < 2 or not node.input[1]:
            return None
        return [int(a) for a in self._require_const(node, 1, "axes").reshape(-1)]

    def _op_Pad(self, node, name: str, index: int) -> None:
        attrs = self._attrs(node)
        mode = attrs.get("mode", "constant")
        if mode != "constant":
            raise _Unsupported(f"mode = {mode!r}: only zero (constant) padding is supported")
        x = self._value(node.input[0])
        rank = len(x.onnx_shape)
        if self.opset < 11:
            pads, value = list(attrs.get("pads", ())), float(attrs.get("value", 0.0))
        else:
            pads = [int(p) for p in self._require_const(node, 1, "pads").reshape(-1)]
            value = 0.0
            if len(node.input) > 2 and node.input[2]:
                value = float(np.asarray(self._require_const(node, 2, "constant_value")).reshape(-1)[0])
        if value != 0.0:
            raise _Unsupported(f"constant_value = {value}: only zero padding is supported")
        axes = list(range(rank))
        if len(node.input) > 3 and node.input[3]:
            axes = [int(a) % rank for a in self._require_const(node, 3, "axes").reshape(-1)]
        if len(pads) != 2 * len(axes):
            raise _Unsupported(f"pads = {tuple(pads)}: needs 2 x {len(axes)} entries")
        per_axis = {a: (0, 0) for a in range(rank)}
        for j, a in enumerate(axes):
            per_axis[a] = (pads[j], pads[j + len(axes)])
        if any(p < 0 for pair in per_axis.values() for p in pair):
            raise _Unsupported(f"pads = {tuple(pads)}: negative pads (cropping) are not supported")
        order = _TO_NHWC if x.nhwc else range(rank)
        ours = tuple(p for a in order for p in per_axis[a])
        y = self._add(Padding, [x.tensor], name, pads=ours)
        shape = tuple(d + sum(per_axis[a]) for a, d in enumerate(x.onnx_shape))
        self.values[node.output[0]] = _Value(y, shape, nhwc=x.nhwc)

    def _op_Identity(self, node, name: str, index: int) -> None:
        self.values[node.output[0]] = self._value(node.input[0])

    def _op_Dropout(self, node, name: str, index: int) -> None:
        if len(node.output) > 1 and node.output[1] and self.consumers.get(node.output[1]):
            raise _Unsupported("has its mask output used; only inference (no-op) dropout is supported")
        self._op_Identity(node, name, index)

    # -- unknown ops -------------------------------------------------------------------------------

    def _unknown(self, node, name: str, reason: str) -> None:
        where = self._where(node, name)
        if self.unknown_ops == "error":
            raise WorkloadError(f"{where}: {reason} (pass unknown_ops='cpu' to keep it as a CPU op)")
        shapes = self._inferred_shapes(where)
        try:
            inputs = [self._value(n) for n in node.input if n]
        except _Unsupported as exc:
            raise WorkloadError(f"{where}: {reason}, and it {exc}") from None
        nhwc = any(v.nhwc for v in inputs)
        specs = []
        outputs = [o for o in node.output if o]
        for o in outputs:
            dims, elem = shapes.get(o, (None, None))
            if dims is None or not dims or any(d is None or d < 1 for d in dims):
                raise WorkloadError(
                    f"{where}: {reason}, and its output {o!r} has no static shape after ONNX shape inference "
                    f"({dims}), so it cannot be kept as a CPU op"
                )
            dims = tuple(dims)
            if len(dims) == 4 and nhwc:
                specs.append(OutputSpec(_perm(dims, _TO_NHWC), "NHWC", self._dtype_of(elem)))
            else:
                specs.append(OutputSpec(dims, _RANK_LAYOUT.get(len(dims), "X"), self._dtype_of(elem)))
        warnings.warn(f"{where}: {reason}; kept as a CPU op without a model", OnnxImportWarning, stacklevel=4)
        op = self.g.add(CpuOp, [v.tensor for v in inputs], name=name, op_type=node.op_type,
                        output_specs=tuple(specs))
        for o, t, spec in zip(outputs, op.outputs, specs):
            dims = _perm(spec.shape, _TO_NCHW) if spec.layout == "NHWC" else spec.shape
            self.values[o] = _Value(t, dims, nhwc=spec.layout == "NHWC")

    # -- constant folding --------------------------------------------------------------------------

    def _fold(self, node) -> bool:
        """Evaluate a shape-arithmetic node whose inputs are all known constants; True if done."""
        if node.domain not in ("", "ai.onnx") or node.op_type not in _FOLDABLE:
            return False
        t = node.op_type
        ins = list(node.input)
        if t == "Shape":
            v = self.values.get(ins[0])
            shape = v.onnx_shape if v is not None else (self.consts[ins[0]].shape if ins[0] in self.consts else None)
            if shape is None:
                return False
            attrs = self._attrs(node)
            start, end = attrs.get("start", 0), attrs.get("end", len(shape))
            self.consts[node.output[0]] = np.array(shape[start:end] if "end" in attrs else shape[start:], dtype=np.int64)
            return True
        if any(n and n not in self.consts for n in ins):
            return False
        args = [self.consts[n] if n else None for n in ins]
        attrs = self._attrs(node)
        try:
            out = _evaluate(self.onnx, t, args, attrs, self.opset)
        except Exception:  # leave it to the converters, which report what is wrong
            return False
        if out is None:
            return False
        self.consts[node.output[0]] = np.asarray(out)
        return True


def _evaluate(onnx, t: str, args: list, attrs: dict, opset: int):
    """NumPy evaluation of a foldable op on constants (None when not foldable)."""
    if t == "Constant":
        for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
            if key in attrs:
                v = attrs[key]
                return np.asarray(v, dtype=np.int64 if key.startswith("value_int") else None)
        return None
    if t == "Identity":
        return args[0]
    if t == "Gather":
        return np.take(args[0], args[1], axis=int(attrs.get("axis", 0)))
    if t in ("Unsqueeze", "Squeeze"):
        axes = attrs.get("axes") if opset < 13 else (args[1] if len(args) > 1 else None)
        x = args[0]
        if t == "Squeeze":
            return np.squeeze(x) if axes is None else np.squeeze(x, axis=tuple(int(a) for a in np.ravel(axes)))
        out_rank = x.ndim + len(np.ravel(axes))
        for a in sorted(int(a) % out_rank for a in np.ravel(axes)):
            x = np.expand_dims(x, a)
        return x
    if t == "Concat":
        return np.concatenate([a.reshape(1) if a.ndim == 0 else a for a in args], axis=int(attrs["axis"]))
    if t == "Cast":
        return args[0].astype(onnx.helper.tensor_dtype_to_np_dtype(int(attrs["to"])))
    if t == "Slice":
        x = args[0]
        if opset < 10:
            starts, ends, axes, steps = attrs["starts"], attrs["ends"], attrs.get("axes"), None
        else:
            starts, ends = args[1], args[2]
            axes = args[3] if len(args) > 3 else None
            steps = args[4] if len(args) > 4 else None
        axes = list(range(len(starts))) if axes is None else [int(a) for a in np.ravel(axes)]
        steps = [1] * len(axes) if steps is None else [int(s) for s in np.ravel(steps)]
        index = [slice(None)] * x.ndim
        for a, s, e, st in zip(axes, np.ravel(starts), np.ravel(ends), steps):
            index[a] = slice(int(s), int(e), st)
        return x[tuple(index)]
    if t == "Reshape":
        shape = _resolve_reshape(args[0].shape, [int(d) for d in np.ravel(args[1])], bool(attrs.get("allowzero", 0)))
        return None if shape is None else args[0].reshape(shape)
    if t == "Flatten":
        axis = int(attrs.get("axis", 1)) % (args[0].ndim + 1)
        return args[0].reshape(math.prod(args[0].shape[:axis]), -1)
    if t == "Transpose":
        return np.transpose(args[0], attrs.get("perm"))
    if t == "ConstantOfShape":
        value = attrs.get("value", np.zeros(1, dtype=np.float32))
        return np.full(tuple(int(d) for d in np.ravel(args[0])), np.ravel(value)[0], dtype=np.asarray(value).dtype)
    a, b = args
    if t == "Add":
        return a + b
    if t == "Sub":
        return a - b
    if t == "Mul":
        return a * b
    if t == "Div":
        if a.dtype.kind in "iu" and b.dtype.kind in "iu":
            return np.trunc(a / b).astype(a.dtype)  # ONNX integer division truncates
        return a / b
    return None


def _resolve_reshape(shape: tuple[int, ...], target: list[int], allowzero: bool) -> tuple[int, ...] | None:
    """ONNX Reshape's target shape with 0 (copy) and -1 (infer) resolved; None if it does not fit."""
    out = []
    for i, d in enumerate(target):
        if d == 0 and not allowzero:
            if i >= len(shape):
                return None
            d = shape[i]
        out.append(d)
    total = math.prod(shape)
    if out.count(-1) == 1:
        rest = math.prod(d for d in out if d != -1)
        if rest == 0 or total % rest:
            return None
        out[out.index(-1)] = total // rest
    if any(d < 1 for d in out) or math.prod(out) != total:
        return None
    return tuple(out)


def _perm(shape, perm) -> tuple[int, ...]:
    return tuple(shape[p] for p in perm)
