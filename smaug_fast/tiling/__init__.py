"""Tiling: cutting an operator's tensors into scratchpad-sized tiles, and the order they are sent in.

``tile_op(op, TilingParams(...))`` applies SMAUG's SMV tiling optimizer (:mod:`.smv`) and returns a
frozen, inspectable :class:`TilingPlan`; ``plan.schedule(num_accelerators)`` gives the invocations in
issue order (:class:`Schedule`, built by the loop nests of :mod:`.schedule`; plan imports schedule,
never the reverse). Roles, strategies and schedulers are the enums of :mod:`smaug_fast.choices`.
:func:`execute_tiled` runs an op tile by tile through its plan, the functional check that tiling
preserves the result.
"""

from __future__ import annotations

from .plan import STRATEGIES, Schedule, TensorTiling, TilingPlan, align_up, storage_elems
from .smv import SUPPORTED, TilingParams, best_strategy, clear_cache, supports, tile_op

__all__ = [
    "STRATEGIES",
    "SUPPORTED",
    "Schedule",
    "TensorTiling",
    "TilingParams",
    "TilingPlan",
    "align_up",
    "best_strategy",
    "clear_cache",
    "storage_elems",
    "supports",
    "tile_op",
]
