"""Accelerator models: the :class:`Accelerator` interface, SMAUG's :class:`SMV` and the SCALE-Sim-exact
:class:`Systolic` array."""

from __future__ import annotations

from .base import Accelerator, OpCost, ScheduleCosts, Scratchpad, TileCost, TileWork
from .smv import SMV
from .systolic import Systolic
from .systolic_array import DRAMModelInterface, SystolicArray

__all__ = ["SMV", "Accelerator", "OpCost", "ScheduleCosts", "Scratchpad", "DRAMModelInterface", "Systolic", "SystolicArray", "TileCost", "TileWork"]
