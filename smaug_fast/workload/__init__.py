"""The workload API: tensors, operators and graphs (SMAUG's concepts, written our own way).

``Graph`` is a context manager; inside it, ``nn``, ``math`` and ``tensor`` add operators;
``from_onnx`` imports an ONNX model (the ``[onnx]`` extra). Every
operator infers its output shapes and validates its inputs, raising ``WorkloadError`` that names the
op, the field and the value.
"""

from . import math, nn, tensor
from .core import (
    ACTIVATIONS,
    DTYPES,
    ELTWISE,
    LAYOUTS,
    OP_CLASSES,
    Activation,
    AvgPooling,
    BatchNorm,
    Concat,
    Convolution,
    CpuOp,
    Eltwise,
    InnerProduct,
    MaxPooling,
    Op,
    OutputSpec,
    Padding,
    Pooling,
    Reorder,
    Repeat,
    Reshape,
    Split,
    Tensor,
    broadcast_shape,
    same_padding,
    smaug_type,
)
from .graph import Graph, current_graph
from .onnx_import import OnnxImportWarning, from_onnx

__all__ = [
    "ACTIVATIONS",
    "DTYPES",
    "ELTWISE",
    "LAYOUTS",
    "OP_CLASSES",
    "Activation",
    "AvgPooling",
    "BatchNorm",
    "Concat",
    "Convolution",
    "CpuOp",
    "Eltwise",
    "Graph",
    "InnerProduct",
    "MaxPooling",
    "OnnxImportWarning",
    "Op",
    "OutputSpec",
    "Padding",
    "Pooling",
    "Reorder",
    "Repeat",
    "Reshape",
    "Split",
    "Tensor",
    "broadcast_shape",
    "current_graph",
    "from_onnx",
    "math",
    "nn",
    "same_padding",
    "smaug_type",
    "tensor",
]
