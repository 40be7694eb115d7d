"""Numerics: array-level operators (validated, Numba-jitted) and functional execution of graphs.

>>> import numpy as np
>>> from smaug_fast import numerics
>>> x = np.ones((1, 5, 5, 3), dtype=np.float32)
>>> w = np.ones((8, 3, 3, 3), dtype=np.float32)
>>> numerics.conv2d(x, w, pads=1, activation="relu").shape
(1, 5, 5, 8)
"""

from .arrays import (
    activation,
    add,
    avg_pool,
    batch_norm,
    concat,
    conv2d,
    eltwise,
    flatten,
    inner_product,
    max_pool,
    mul,
    padding,
    reorder,
    repeat,
    reshape,
    split,
)
from .functional import INITS, default_values, run_functional

__all__ = [
    "INITS",
    "activation",
    "add",
    "avg_pool",
    "batch_norm",
    "concat",
    "conv2d",
    "default_values",
    "eltwise",
    "flatten",
    "inner_product",
    "max_pool",
    "mul",
    "padding",
    "reorder",
    "repeat",
    "reshape",
    "run_functional",
    "split",
]
