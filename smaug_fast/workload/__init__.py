"""The workload API: tensors, operators and graphs (SMAUG's concepts, written our own way).

``Graph`` is a context manager; inside it, ``nn``, ``math`` and ``tensor`` add operators. Every
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
    Eltwise,
    InnerProduct,
    MaxPooling,
    Op,
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
    "Eltwise",
    "Graph",
    "InnerProduct",
    "MaxPooling",
    "Op",
    "Padding",
    "Pooling",
    "Reorder",
    "Repeat",
    "Reshape",
    "Split",
    "Tensor",
    "broadcast_shape",
    "current_graph",
    "math",
    "nn",
    "same_padding",
    "smaug_type",
    "tensor",
]
