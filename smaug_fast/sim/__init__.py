"""End-to-end SoC simulation: ``simulate(graph, system) -> Result``."""

from .result import DETAIL_PHASES, ENERGY_COMPONENTS, PHASES, VARIABLES, OpResult, Result, Timeline

__all__ = ["DETAIL_PHASES", "ENERGY_COMPONENTS", "PHASES", "VARIABLES", "OpResult", "Result", "Timeline"]
