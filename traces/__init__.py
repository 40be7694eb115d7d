"""Memory traces of tiled execution: the trace type, its builders, summaries and file formats.

Installed as ``smaug_fast.traces``. See :mod:`smaug_fast.traces.trace` for the fields and the
requester encoding.
"""

from __future__ import annotations

from .address_map import AddressMap, address_map, layout_tensors
from .builders import dma_stream, line_sweep, tiling_copy
from .io import load_npz, save_npz, to_dramsim3, to_pycachesim
from .trace import FLUSH, INVALIDATE, READ, WRITE, Trace, accel, concat, cpu, dma, requester_name

__all__ = [
    "FLUSH",
    "INVALIDATE",
    "READ",
    "WRITE",
    "AddressMap",
    "address_map",
    "Trace",
    "accel",
    "concat",
    "cpu",
    "dma",
    "dma_stream",
    "layout_tensors",
    "line_sweep",
    "load_npz",
    "requester_name",
    "save_npz",
    "tiling_copy",
    "to_dramsim3",
    "to_pycachesim",
]
