"""End-to-end SoC simulation: ``simulate(graph, system) -> Result``."""

from .engine import DramProfile, clear_caches, dram_profile, memory_key, simulate
from .result import DETAIL_PHASES, ENERGY_COMPONENTS, ENERGY_DETAIL, PHASES, VARIABLES, OpResult, Result, Timeline

__all__ = [
    "DETAIL_PHASES",
    "ENERGY_COMPONENTS",
    "ENERGY_DETAIL",
    "PHASES",
    "VARIABLES",
    "DramProfile",
    "OpResult",
    "Result",
    "Timeline",
    "clear_caches",
    "dram_profile",
    "memory_key",
    "simulate",
]
