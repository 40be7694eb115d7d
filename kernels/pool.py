"""Max and average pooling over NHWC and NCHW float32 arrays with explicit (top, bottom, left, right) pads.

Max pooling treats padding as -inf (padding never wins) and a NaN in the window as the maximum (IEEE
and PyTorch propagate it). Average pooling sums the in-bounds elements
and divides either by the full window R*S (``count_include_pad`` true: padding counts as zeros; this
is what SMAUG's average pool and PyTorch's default do) or by the number of in-bounds elements.
The output extent along each axis is (size + pads - window) // stride + 1.
"""

from __future__ import annotations

import numpy as np

from ._jit import jit
from .conv import output_extent


@jit
def max_pool_nhwc(x, r_n, s_n, sh, sw, pt, pb, pl, pr):
    """Max pooling of N x H x W x C ``x``: returns N x OH x OW x C float32."""
    n_n, h, w, c_n = x.shape
    oh_n = output_extent(h, r_n, sh, pt, pb)
    ow_n = output_extent(w, s_n, sw, pl, pr)
    out = np.empty((n_n, oh_n, ow_n, c_n), dtype=np.float32)
    acc = np.empty(c_n, dtype=np.float32)
    for n in range(n_n):
        for oh in range(oh_n):
            for ow in range(ow_n):
                for c in range(c_n):
                    acc[c] = -np.inf
                for r in range(r_n):
                    ih = oh * sh - pt + r
                    if ih < 0 or ih >= h:
                        continue
                    for s in range(s_n):
                        iw = ow * sw - pl + s
                        if iw < 0 or iw >= w:
                            continue
                        for c in range(c_n):
                            v = x[n, ih, iw, c]
                            if v > acc[c] or v != v:  # a NaN in the window is the maximum (PyTorch)
                                acc[c] = v
                for c in range(c_n):
                    out[n, oh, ow, c] = acc[c]
    return out


@jit
def avg_pool_nhwc(x, r_n, s_n, sh, sw, pt, pb, pl, pr, count_include_pad):
    """Average pooling of N x H x W x C ``x``: returns N x OH x OW x C float32 (divisor: module doc)."""
    n_n, h, w, c_n = x.shape
    oh_n = output_extent(h, r_n, sh, pt, pb)
    ow_n = output_extent(w, s_n, sw, pl, pr)
    out = np.empty((n_n, oh_n, ow_n, c_n), dtype=np.float32)
    acc = np.empty(c_n, dtype=np.float32)
    for n in range(n_n):
        for oh in range(oh_n):
            for ow in range(ow_n):
                for c in range(c_n):
                    acc[c] = 0.0
                count = 0
                for r in range(r_n):
                    ih = oh * sh - pt + r
                    if ih < 0 or ih >= h:
                        continue
                    for s in range(s_n):
                        iw = ow * sw - pl + s
                        if iw < 0 or iw >= w:
                            continue
                        count += 1
                        for c in range(c_n):
                            acc[c] += x[n, ih, iw, c]
                divisor = r_n * s_n if count_include_pad else count
                inv = np.float32(1.0 / divisor)
                for c in range(c_n):
                    out[n, oh, ow, c] = acc[c] * inv
    return out


@jit
def max_pool_nchw(x, r_n, s_n, sh, sw, pt, pb, pl, pr):
    """Max pooling of N x C x H x W ``x``: returns N x C x OH x OW float32."""
    n_n, c_n, h, w = x.shape
    oh_n = output_extent(h, r_n, sh, pt, pb)
    ow_n = output_extent(w, s_n, sw, pl, pr)
    out = np.empty((n_n, c_n, oh_n, ow_n), dtype=np.float32)
    for n in range(n_n):
        for c in range(c_n):
            for oh in range(oh_n):
                for ow in range(ow_n):
                    best = np.float32(-np.inf)
                    for r in range(r_n):
                        ih = oh * sh - pt + r
                        if ih < 0 or ih >= h:
                            continue
                        for s in range(s_n):
                            iw = ow * sw - pl + s
                            if 0 <= iw < w and (x[n, c, ih, iw] > best or x[n, c, ih, iw] != x[n, c, ih, iw]):
                                best = x[n, c, ih, iw]  # a NaN in the window is the maximum (PyTorch)
                    out[n, c, oh, ow] = best
    return out


@jit
def avg_pool_nchw(x, r_n, s_n, sh, sw, pt, pb, pl, pr, count_include_pad):
    """Average pooling of N x C x H x W ``x``: returns N x C x OH x OW float32 (divisor: module doc)."""
    n_n, c_n, h, w = x.shape
    oh_n = output_extent(h, r_n, sh, pt, pb)
    ow_n = output_extent(w, s_n, sw, pl, pr)
    out = np.empty((n_n, c_n, oh_n, ow_n), dtype=np.float32)
    for n in range(n_n):
        for c in range(c_n):
            for oh in range(oh_n):
                for ow in range(ow_n):
                    total = np.float32(0.0)
                    count = 0
                    for r in range(r_n):
                        ih = oh * sh - pt + r
                        if ih < 0 or ih >= h:
                            continue
                        for s in range(s_n):
                            iw = ow * sw - pl + s
                            if 0 <= iw < w:
                                total += x[n, c, ih, iw]
                                count += 1
                    divisor = r_n * s_n if count_include_pad else count
                    out[n, c, oh, ow] = total * np.float32(1.0 / divisor)
    return out
