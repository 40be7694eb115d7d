"""End-to-end SoC simulation: ``simulate(graph, system) -> Result``."""

from .engine import DramProfile, dram_profile, simulate
from .result import DETAIL_PHASES, ENERGY_COMPONENTS, PHASES, VARIABLES, OpResult, Result, Timeline

__all__ = [
    "DramProfile",
    "dram_profile",
    "simulate","DETAIL_PHASES", "ENERGY_COMPONENTS", "PHASES", "VARIABLES", "OpResult", "Result", "Timeline"]
