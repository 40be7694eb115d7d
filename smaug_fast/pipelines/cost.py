"""What one element of a pipeline stage costs the CPU: the loop model of :mod:`smaug_fast.cpu_cost`
applied to a stage's work, arithmetic width and vectorization."""

from __future__ import annotations

from ..cpu_cost import SOURCES, UOPS, loop_cycles, loop_uops
from ..hardware import CPU
from .stages import Stage


def uops_per_element(stage: Stage, cpu: CPU) -> tuple[float, float]:
    """(SIMD micro-ops, memory micro-ops) of one element of ``stage`` on ``cpu``."""
    return loop_uops(stage.work, cpu, stage.lane_bytes, stage.vector_lanes > 1)


def cycles_per_element(stage: Stage, cpu: CPU) -> float:
    """Cycles of one element of ``stage``: the throughput bound of the module docstring [cycles]."""
    return loop_cycles(stage.work, cpu, stage.lane_bytes, stage.vector_lanes > 1)


__all__ = ["SOURCES", "UOPS", "cycles_per_element", "uops_per_element"]
