"""Accelerator models: the :class:`Accelerator` interface and SMAUG's :class:`SMV`."""

from __future__ import annotations

from .base import Accelerator, OpCost, ScheduleCosts, Scratchpad, TileCost, TileWork
from .smv import SMV

__all__ = ["SMV", "Accelerator", "OpCost", "ScheduleCosts", "Scratchpad", "TileCost", "TileWork"]
