"""Inner product (fully connected layer) as one BLAS GEMM.

Input N x C, weights K x C (SMAUG stores FC weights in NC order, one row per output), output
N x K = x @ w.T, float32 accumulation, with a fused activation applied to the output rows.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from .activation import activate_rows


@jit
def inner_product(x, w, act, p0, p1):
    """x (N x C) times w (K x C) transposed, float32, then activation ``act`` (p0, p1) in place.

    The caller guarantees 2-D C-contiguous float32 arrays with matching C.
    """
    out = np.dot(x, np.ascontiguousarray(w.T))
    activate_rows(out, act, p0, p1)
    return out
