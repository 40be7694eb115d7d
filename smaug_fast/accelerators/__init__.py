"""Accelerator models: the :class:`Accelerator` interface, SMAUG's :class:`SMV` and the SCALE-Sim-exact
:class:`Systolic` array.

The names load on first use (PEP 562), so that a module that needs one of them (``smaug-fast scalesim``
needs only ``systolic`` and ``scalesim_io``) does not import the others and their kernels.
"""

from __future__ import annotations

import importlib

_NAMES = {
    "Accelerator": ".base", "OpCost": ".base", "ScheduleCosts": ".base", "Scratchpad": ".base", "TileCost": ".base",
    "TileWork": ".base", "SMV": ".smv", "Systolic": ".systolic", "DRAMModelInterface": ".systolic_array",
    "SystolicArray": ".systolic_array",
}


def __getattr__(name: str):
    if name not in _NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_NAMES[name], __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = ["SMV", "Accelerator", "OpCost", "ScheduleCosts", "Scratchpad", "DRAMModelInterface", "Systolic", "SystolicArray", "TileCost", "TileWork"]
