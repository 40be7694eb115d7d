"""Lowering of one operator for one accelerator: its tiling plan and what the runtime copies and sends.

Everything here depends only on the op and the accelerator (not on caches, DRAM, threads or the SoC
interface), so it is memoized on (op, accelerator) and shared by every sweep point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from ..tiling.plan import TensorTiling, TilingPlan
from ..workload.core import Op


@dataclass(frozen=True, eq=False)
class OpLowering:
    """An accelerated op's plan and the roles of its tensors.

    Attributes:
        op: the operator.
        plan: the accelerator's tiling plan.
        itemsize: bytes per element of the host tensors [B].
        loaded_roles: roles whose tiles are loaded into scratchpads (input, input1, weights).
        prep_roles: roles the CPU copies into tile buffers before the op (the activations that
            :meth:`copied`; weights and other constants are tiled once before timing, as SMAUG does).
        constant_roles: roles whose tensor is a constant (weights, parameters, constant states).
    """

    op: Op
    plan: TilingPlan
    itemsize: int
    loaded_roles: tuple[str, ...]
    prep_roles: tuple[str, ...]
    constant_roles: frozenset[str]

    def tensor_bytes(self, role: str) -> int:
        """Size of the host tensor of ``role`` [B]."""
        return math.prod(self.plan.tensor(role).shape) * self.itemsize

    def tensor_name(self, role: str) -> str:
        return self.plan.tensor(role).name

    def copied(self, role: str) -> bool:
        """The runtime copies ``role``'s tensor to or from tile buffers (else the accelerator moves
        the host tensor itself); see :func:`_copied`."""
        return _copied(self.plan.tensor(role))

    @property
    def serial_finalize(self) -> bool:
        """The output tiles are gathered by one thread. SMAUG untiles the outputs of tiled ops with
        ``TiledTensor::untile``, which splits the tiles over the thread pool, but gathers the
        contiguous chunks of element-wise and unary ops with ``flattenTiledTensor``
        (``core/tensor_utils.cpp``, used by ``smv_unary_op_common.cpp`` and the
        ``smv_eltwise_*``/``smv_less``/``smv_greater`` ops), a plain loop on the calling thread."""
        return self.plan.output.flat


def _copied(tiling: TensorTiling) -> bool:
    """SMAUG uses a tensor as its own tile when its tiling has one tile
    (``generateTiledTensorWithStrideAndPadding``), but the contiguous chunks of element-wise and
    unary ops are always new tensors (``generateTiledTensorPerBatchNC``), copied even when one chunk
    holds the whole tensor."""
    return tiling.num_tiles > 1 or tiling.flat


@lru_cache(maxsize=8192)
def lower(op: Op, accelerator) -> OpLowering:
    """The lowering of ``op`` on ``accelerator`` (MappingError if it cannot be tiled)."""
    plan = accelerator.tile(op)
    itemsize = int(plan.param("itemsize", op.inputs[0].itemsize))
    roles = [t.role for t in plan.tensors]
    loaded = tuple(r for r in ("input", "input1", "weights") if r in roles)
    constant = set()
    if "weights" in roles:
        constant.add("weights")
    if "input1" in roles and len(op.inputs) > 1 and op.inputs[1].constant:
        constant.add("input1")
    if op.inputs[0].constant:
        constant.add("input")
    prep = tuple(r for r in ("input", "input1") if r in roles and r not in constant and _copied(plan.tensor(r)))
    return OpLowering(op, plan, itemsize, loaded, prep, frozenset(constant))
