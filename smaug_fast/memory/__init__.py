"""Memory-system models: a set-associative cache hierarchy and a DRAM timing model.

``CacheConfig`` and ``DRAMConfig`` are frozen dataclasses (units in field names) that the hardware
description reuses; ``CacheHierarchy`` / ``simulate_caches`` and ``DRAM`` run traces through them.
"""

from __future__ import annotations

from .cache import CacheHierarchy, CacheStats, MemoryRequests, MemoryTraffic, simulate_caches
from .config import CacheConfig
from .dram import DRAM, PRESETS, DRAMConfig, DRAMStats, preset

__all__ = [
    "DRAM",
    "PRESETS",
    "CacheConfig",
    "DRAMConfig",
    "DRAMStats",
    "preset",
    "CacheHierarchy",
    "CacheStats",
    "MemoryRequests",
    "MemoryTraffic",
    "simulate_caches",
]
