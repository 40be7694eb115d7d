"""Halide's ``camera_pipe`` (``halide/Halide`` ``apps/camera_pipe/camera_pipe_generator.cpp``) as a Pipeline.

The algorithm, per the generator: the raw Bayer frame (``uint16``, shifted by 16, 12 into the sensor
image) goes through hot-pixel suppression (clamp each pixel to the max of its four neighbours two pixels
away), a deinterleave into the four half-resolution Bayer planes (gr, r, b, gb), a demosaic (green at red
and blue sites by the smaller of the horizontal and vertical gradients, ``g_r`` and ``g_b``; red and blue
at green sites corrected by green's second derivative; red at blue and blue at red by the better
diagonal), a 3x4 colour matrix in Q8.8 fixed point (``int32`` arithmetic), the tone curve (a 1024-entry
``uint8`` lookup table built once per frame from gamma and contrast, with ``powf``) and an unsharp-mask
sharpen (a 3x3 ``blur121`` in y then x, inlined, and the mask scaled by the strength in 3.5 fixed point).

The CPU schedule (the generator's non-GPU, non-HVX branch): ``vec`` = the target's natural vector size
for ``uint16`` (8 on SSE's 16-byte registers, which gem5's x86 has; no AVX), the output computed in strips
of 32 rows in parallel, 2 rows per step, vectorized ``2 * vec`` wide; ``denoised``, ``deinterleaved``,
``g_r`` and ``g_b`` computed per step into per-strip buffers folded to 4 rows; ``curved`` per step into a
per-strip buffer; ``corrected`` and the demosaic's output computed per vector of ``curved`` (in
registers: inline here); the tone curve at the root.

Work per element (loads are the distinct values a vectorized element reads; Halide and LLVM share
common loads and subexpressions across the unrolled channels and rows; ``tests/test_pipelines.py``
recounts every figure by running the pipeline with NumPy):

================  ==========================================================================
denoised          5 loads (centre, x+-2, y+-2), 3 max + 1 min (the clamp at 0 of an unsigned value
                  folds away), 1 store
deinterleaved     per plane element: 1 load, 1 shuffle (even/odd split), 1 store
g_r, g_b          4 loads, 2 avg, 2 absd, 1 compare, 1 select, 1 store
demosaic          per 2x2 block of 3 channels (12 elements): 18 loads, 16 avg, 16 add/sub, 4 absd,
                  2 compare, 2 select; 1 shuffle per element (interleave_x; interleave_y is free with
                  the rows unrolled)
corrected         per element: 3 mul, 3 add, 1 shift (/256), 2 casts (widen the 3 inputs, shared by 3
                  channels, narrow the result)
curve (root)      per entry: 6 add, 8 mul, 4 min/max, 2 casts, 3 compares, 3 selects, 1 powf, 1 store
curved            2 min/max (clamp to [0, 1023]), 1 LUT, 1 store
sharpen           9 loads, 8 avg (unsharp_y inlined at x-1, x, x+1: 6; unsharp: 2), 3 casts, 2 add/sub,
                  1 mul, 1 shift (/32), 1 store
================  ==========================================================================
"""

from __future__ import annotations

from ..choices import OpKind as K
from ..choices import Storage
from .stages import Pipeline, Read, Stage

#: The demosaic's taps in half-resolution coordinates, per plane it reads (see the generator).
DEMOSAIC_TAPS = {
    "deinterleaved": ((0, 0), (-1, 0), (0, 1), (-1, 1), (0, -1), (1, 0), (1, -1)),  # g_gr, g_gb, r_r, b_b
    "g_r": ((0, 0), (-1, 0), (0, 1), (-1, 1)),
    "g_b": ((0, 0), (0, -1), (1, 0), (1, -1)),
}

#: Work per element of each stage (module docstring), by name.
WORK: dict[str, dict[K, float]] = {
    "denoised": {K.LOAD: 5, K.MINMAX: 4, K.STORE: 1},
    "deinterleaved": {K.LOAD: 1, K.SHUFFLE: 1, K.STORE: 1},
    "g_r": {K.LOAD: 4, K.AVG: 2, K.ABSD: 2, K.COMPARE: 1, K.SELECT: 1, K.STORE: 1},
    "g_b": {K.LOAD: 4, K.AVG: 2, K.ABSD: 2, K.COMPARE: 1, K.SELECT: 1, K.STORE: 1},
    "demosaic": {K.LOAD: 18 / 12, K.AVG: 16 / 12, K.ADD: 16 / 12, K.ABSD: 4 / 12, K.COMPARE: 2 / 12,
                 K.SELECT: 2 / 12, K.SHUFFLE: 1},
    "corrected": {K.MUL: 3, K.ADD: 3, K.SHIFT: 1, K.CAST: 2},
    "curve": {K.ADD: 6, K.MUL: 8, K.MINMAX: 4, K.CAST: 2, K.COMPARE: 3, K.SELECT: 3, K.CALL: 1, K.STORE: 1},
    "curved": {K.MINMAX: 2, K.LUT: 1, K.STORE: 1},
    "sharpen": {K.LOAD: 9, K.AVG: 8, K.CAST: 3, K.ADD: 2, K.MUL: 1, K.SHIFT: 1, K.STORE: 1},
}


def camera_pipe(width: int = 1280, height: int = 720, *, vector_bytes: int = 16, strip_rows: int = 32,
                threads: int | None = None) -> Pipeline:
    """Halide's camera pipeline producing a ``width`` x ``height`` RGB frame (``uint8``, 3 planes).

    Args:
        width, height: the output frame [pixels] (the raw input is the region the stencils read).
        vector_bytes: the SIMD register width the code is compiled for [B] (16: SSE; Halide's
            ``natural_vector_size(UInt(16))`` is ``vector_bytes / 2`` and the schedule vectorizes by twice that).
        strip_rows: output rows per parallel strip (the generator's ``strip_size``, 32).
        threads: cores the strips run on (None: every core of the system).
    """
    lanes = 2 * max(1, vector_bytes // 2)
    cross = ((-2, 0), (2, 0), (0, -2), (0, 2), (0, 0))
    stages = (
        Stage("denoised", WORK["denoised"], (Read("input", cross),), fold_rows=4, vector_lanes=lanes),
        Stage("deinterleaved", WORK["deinterleaved"], (Read("denoised", ((0, 0), (1, 0), (0, 1), (1, 1)), (2, 1)),),
              channels=4, fold_rows=4, vector_lanes=lanes),
        Stage("g_r", WORK["g_r"], (Read("deinterleaved", ((0, -1), (0, 0), (1, 0))),), fold_rows=4, vector_lanes=lanes),
        Stage("g_b", WORK["g_b"], (Read("deinterleaved", ((0, 0), (0, 1), (-1, 0))),), fold_rows=4, vector_lanes=lanes),
        Stage("demosaic", WORK["demosaic"], tuple(Read(p, t, (1, 2)) for p, t in DEMOSAIC_TAPS.items()),
              channels=3, storage=Storage.INLINE, vector_lanes=lanes),
        Stage("corrected", WORK["corrected"], (Read("demosaic"),), channels=3, lane_bytes=4,
              storage=Storage.INLINE, vector_lanes=lanes),
        Stage("curve", WORK["curve"], (), element_bytes=1, lane_bytes=4, storage=Storage.ROOT, extent=1024),
        Stage("curved", WORK["curved"], (Read("corrected"), Read("curve", (), gather=True)), channels=3,
              element_bytes=1, vector_lanes=lanes),
        Stage("sharpen", WORK["sharpen"], (Read("curved", tuple((dx, dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1))),),
              channels=3, element_bytes=1, storage=Storage.OUTPUT, vector_lanes=lanes),
    )
    return Pipeline("camera_pipe", width, height, stages, input_channels=1, input_element_bytes=2,
                    strip_rows=strip_rows, rows_per_step=2, threads=threads)


__all__ = ["DEMOSAIC_TAPS", "WORK", "camera_pipe"]
