"""Builders of traces for the data movement of tiled execution (wrappers over kernels/tracegen.py).

Each validates its arguments (ConfigError naming the argument) and returns a :class:`Trace`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from smaug_fast.errors import ConfigError, describe
from smaug_fast.kernels import tracegen as _k

from .trace import FLUSH, INVALIDATE, READ, WRITE, Trace, cpu, dma

#: Memory order of each supported layout's dimensions, by name.
LAYOUTS = {"NHWC": "NHWC", "NCHW": "NCHW"}


def _int(name: str, v, lo: int = 0) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ConfigError(f"{name} = {describe(v)}: must be an integer >= {lo}")
    return int(v)


def _box(layout: str, shape: Sequence[int], origin: Sequence[int], size: Sequence[int], halo: Sequence[int]):
    if layout not in LAYOUTS:
        raise ConfigError(f"layout = {describe(layout)}: must be one of {sorted(LAYOUTS)}")
    for name, v in (("shape", shape), ("origin", origin), ("size", size), ("halo", halo)):
        if len(v) != 4:
            raise ConfigError(f"{name} = {describe(v)}: needs 4 values (N, H, W, C)")
    dims = "NHWC"
    shp = [_int(f"shape[{d}]", v, 1) for d, v in zip(dims, shape, strict=True)]
    org = [_int(f"origin[{d}]", v) for d, v in zip(dims, origin, strict=True)]
    siz = [_int(f"size[{d}]", v, 1) for d, v in zip(dims, size, strict=True)]
    hal = [_int(f"halo[{d}]", v) for d, v in zip(dims, halo, strict=True)]
    lo, hi = [], []
    for i, d in enumerate(dims):
        if org[i] + siz[i] > shp[i]:
            raise ConfigError(
                f"origin[{d}] + size[{d}] = {org[i]} + {siz[i]}: exceeds shape[{d}] = {shp[i]}"
            )
        lo.append(max(org[i] - hal[i], 0))
        hi.append(min(org[i] + siz[i] + hal[i], shp[i]))
    order = [dims.index(c) for c in LAYOUTS[layout]]
    return (
        np.array([shp[i] for i in order], np.int64),
        np.array([lo[i] for i in order], np.int64),
        np.array([hi[i] for i in order], np.int64),
    )


def tiling_copy(
    host_base: int,
    shape: Sequence[int],
    tile_origin: Sequence[int],
    tile_size: Sequence[int],
    buffer_base: int,
    *,
    layout: str = "NHWC",
    elem_bytes: int = 2,
    halo: Sequence[int] = (0, 0, 0, 0),
    access_bytes: int = 8,
    requester: int | None = None,
    tile: int = -1,
    untile: bool = False,
) -> Trace:
    """The CPU's copy of one tile (plus a halo, clipped at the tensor's edges) between a host tensor
    and a contiguous tile buffer, as SMAUG's tiling/untiling threads do.

    Args:
        host_base: address of the host tensor [B].
        shape, tile_origin, tile_size, halo: in N, H, W, C order whatever the layout [elements].
        buffer_base: address of the contiguous tile buffer [B]; the tile keeps the host layout.
        layout: ``"NHWC"`` or ``"NCHW"`` (memory order of the host tensor and of the buffer).
        elem_bytes: element size [B] (SMAUG's SMV keeps fp16 in host memory: 2).
        access_bytes: size of each load and store of the copy loop [B].
        requester: requester code (default CPU thread 0), tile: tile id recorded in the trace.
        untile: False: gather the tile into the buffer (reads of the host tensor, writes of the
            buffer); True: scatter the buffer back into the tensor.

    Returns a trace alternating a read and a write of each chunk.
    """
    shp, lo, hi = _box(layout, shape, tile_origin, tile_size, halo)
    host_base, buffer_base = _int("host_base", host_base), _int("buffer_base", buffer_base)
    elem_bytes, access_bytes = _int("elem_bytes", elem_bytes, 1), _int("access_bytes", access_bytes, 1)
    requester = cpu(0) if requester is None else requester
    if untile:
        a, n, rw = _k.box_copy(shp, elem_bytes, buffer_base, lo, hi, host_base, access_bytes, False)
    else:
        a, n, rw = _k.box_copy(shp, elem_bytes, host_base, lo, hi, buffer_base, access_bytes, True)
    return Trace.from_arrays(a, n, rw, requester, _int("tile", tile, -1), validate=False)


def line_sweep(base: int, nbytes: int, *, line_bytes: int = 64, op: str = "flush",
               requester: int | None = None, tile: int = -1) -> Trace:
    """One request per cache line of ``[base, base + nbytes)``: ``op`` ``"flush"`` (write back and
    invalidate, before a DMA reads the buffer) or ``"invalidate"`` (drop, before a DMA writes it)."""
    ops = {"flush": FLUSH, "invalidate": INVALIDATE}
    if op not in ops:
        raise ConfigError(f"op = {describe(op)}: must be one of {sorted(ops)}")
    base, nbytes = _int("base", base), _int("nbytes", nbytes)
    line_bytes = _int("line_bytes", line_bytes, 1)
    if line_bytes & (line_bytes - 1):
        raise ConfigError(f"line_bytes = {line_bytes}: must be a power of two")
    a = _k.line_sweep(base, nbytes, line_bytes) if nbytes else np.zeros(0, np.int64)
    return Trace.from_arrays(a, line_bytes, ops[op], cpu(0) if requester is None else requester,
                             _int("tile", tile, -1), validate=False)


def dma_stream(base: int, nbytes: int, *, write: bool = False, burst_bytes: int = 64,
               start_cycle: int = 0, bytes_per_cycle: float | None = None, engine: int = 0,
               tile: int = -1) -> Trace:
    """A DMA engine's bursts over ``[base, base + nbytes)`` (reads: host to scratchpad; ``write``:
    scratchpad to host). With ``bytes_per_cycle`` [B/cycle] the bursts get issue cycles from
    ``start_cycle``; without, the trace has none (as fast as possible)."""
    base, nbytes = _int("base", base), _int("nbytes", nbytes)
    burst_bytes = _int("burst_bytes", burst_bytes, 1)
    start_cycle = _int("start_cycle", start_cycle)
    rate = 1.0 if bytes_per_cycle is None else bytes_per_cycle
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.number)) or not rate > 0:
        raise ConfigError(f"bytes_per_cycle = {describe(bytes_per_cycle)}: must be a positive number")
    if nbytes == 0:
        return Trace.empty(with_cycle=bytes_per_cycle is not None)
    a, n, cyc = _k.dma_bursts(base, nbytes, burst_bytes, start_cycle, float(rate))
    return Trace.from_arrays(a, n, WRITE if write else READ, dma(engine), _int("tile", tile, -1),
                             cyc if bytes_per_cycle is not None else None, validate=False)
