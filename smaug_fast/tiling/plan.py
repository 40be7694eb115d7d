"""The result of tiling an operator: frozen, inspectable tilings and a lowered schedule.

A :class:`TensorTiling` says how one tensor (inputs, weights, outputs) is cut: its tiling strategy
(SMAUG's ``TilingDims``), the *basic* tile shape (the shape of every tile but the last along a
dimension), and the extent and origin of every tile along every dimension, halos included.

A :class:`TilingPlan` bundles the tilings of an operator's tensors with the parameters the schedule
needs. ``plan.schedule(num_accelerators)`` lowers it to a :class:`Schedule`: one row per accelerator
invocation, in the order SMAUG sends them, with the tile of each tensor, which tiles must be (re)loaded
and which stay resident in the scratchpads, where partial sums accumulate, and when an output tile is
complete and stored. Schedules are struct-of-arrays of plain integers, ready to hand to the jitted
simulator.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..choices import Role, Scheduler, TilingStrategy
from ..errors import WorkloadError
from ..memo import memoized
from .schedule import Schedule, build_schedule

#: SMAUG's tiling strategies (``smv_tiling_common.h`` ``TilingDims``), in the order they are tried.
STRATEGIES: tuple[str, ...] = TilingStrategy.values()


def align_up(value: int, alignment: int) -> int:
    """``value`` rounded up to a multiple of ``alignment`` (no change when alignment is 0 or 1)."""
    if alignment <= 1:
        return value
    return -(-value // alignment) * alignment


def storage_elems(shape: tuple[int, ...], alignment: int) -> int:
    """Elements a tile of ``shape`` occupies: its last dimension zero-padded to ``alignment``.

    SMAUG's ``TensorShape::storageSize()``: the SMV backend pads the innermost dimension to a multiple
    of its 8-wide vectors (``SmvBackend::Alignment``), and the padding occupies scratchpad space.
    """
    if not shape:
        return 0
    return math.prod(shape[:-1]) * align_up(shape[-1], alignment)


@dataclass(frozen=True)
class TensorTiling:
    """How one tensor is cut into tiles.

    Attributes:
        role: :class:`~smaug_fast.choices.Role`: input, input1 (second operand of an element-wise op),
            weights or output.
        name: the tensor's name in the graph.
        layout: the layout the tiles are cut in (``NHWC`` or ``NC``; ``NC`` with ``flat`` for
            element-wise ops, whose tiles are contiguous chunks of the flattened storage).
        shape: the full tensor shape in that layout (for flat tilings: ``(1, storage elements)``).
        strategy: a :class:`~smaug_fast.choices.TilingStrategy`.
        tile_shape: the basic tile shape (every tile but possibly the last along each dimension).
        sizes: per dimension, the extent of each tile along it.
        origins: per dimension, the start of each tile along it; a tile overlaps the previous one
            (halo) where ``origins[d][i] < origins[d][i-1] + sizes[d][i-1]``.
        alignment: last-dimension zero padding in the scratchpad (see :func:`storage_elems`).
        flat: True when tiles are chunks of the flattened, alignment-padded storage.
    """

    role: Role
    name: str
    layout: str
    shape: tuple[int, ...]
    strategy: TilingStrategy
    tile_shape: tuple[int, ...]
    sizes: tuple[tuple[int, ...], ...]
    origins: tuple[tuple[int, ...], ...]
    alignment: int = 8
    flat: bool = False

    @functools.cached_property
    def grid(self) -> tuple[int, ...]:
        """Number of tiles along each dimension (computed once: the schedulers ask for it per tile)."""
        return tuple(len(s) for s in self.sizes)

    @functools.cached_property
    def num_tiles(self) -> int:
        return math.prod(self.grid)

    @property
    def tile_elems(self) -> int:
        """Scratchpad elements of the basic tile (alignment padding included)."""
        return storage_elems(self.tile_shape, self.alignment)

    @property
    def halo(self) -> tuple[int, ...]:
        """Overlap of consecutive tiles along each dimension (negative: rows skipped by the stride)."""
        out = []
        for size, origin in zip(self.sizes, self.origins):
            out.append(origin[0] + size[0] - origin[1] if len(origin) > 1 else 0)
        return tuple(out)

    def index(self, *coords: int) -> int:
        """Flat (row-major over the grid) index of the tile at grid coordinates ``coords``."""
        idx = 0
        for c, n in zip(coords, self.grid):
            idx = idx * n + c
        return idx

    def coords(self, index: int) -> tuple[int, ...]:
        """Grid coordinates of flat tile ``index``."""
        out = []
        for n in reversed(self.grid):
            index, c = divmod(index, n)
            out.append(c)
        return tuple(reversed(out))

    def tile(self, index: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(origin, shape) of flat tile ``index`` in the tensor's coordinates."""
        c = self.coords(index)
        return (
            tuple(self.origins[d][c[d]] for d in range(len(c))),
            tuple(self.sizes[d][c[d]] for d in range(len(c))),
        )

    def tiles(self) -> Iterator[tuple[int, tuple[int, ...], tuple[int, ...]]]:
        """Every tile as (index, origin, shape), in index order."""
        for i in range(self.num_tiles):
            yield (i, *self.tile(i))

    def shape_of(self, index: int) -> tuple[int, ...]:
        return self.shapes()[index]

    def shapes(self) -> list[tuple[int, ...]]:
        """The shape of every tile, in index order (cached)."""
        return _tile_shapes(self)

    def storage_of(self, index: int) -> int:
        """Scratchpad elements of tile ``index`` (alignment padding included)."""
        return storage_elems(self.shape_of(index), self.alignment)

    def describe(self) -> str:
        grid = "x".join(map(str, self.grid))
        return (
            f"{self.role:8s} {self.name}: {self.layout} {self.shape} strategy {self.strategy}, "
            f"tile {self.tile_shape} ({self.tile_elems} elems), grid {grid} = {self.num_tiles} tiles"
        )


@memoized("tile_shapes", limit=1024)
def _tile_shapes(tiling: TensorTiling) -> list[tuple[int, ...]]:
    return list(itertools.product(*tiling.sizes))


@dataclass(frozen=True)
class TilingPlan:
    """How an operator is tiled for an accelerator, and the order its tiles are sent in.

    Attributes:
        op: the operator's name.
        kind: the operator's kind (``conv``, ``inner_product``, ``max_pool``, ``relu``, ...).
        accelerator: the accelerator kind the plan is for (``smv``, ...).
        spad_elems: elements one scratchpad holds (SMAUG's maxTileSize = spad bytes / element size).
        tensors: the tiling of each tensor, inputs first, then weights, then the output.
        params: the operator parameters the schedule and cost models need, as sorted (name, value)
            pairs: kernel, stride, pads, pool window, activation, dtype bytes.
        scheduler: name of the loop nest that orders the invocations (SMAUG's ``runNHWC`` of each op).
    """

    op: str
    kind: str
    accelerator: str
    spad_elems: int
    tensors: tuple[TensorTiling, ...]
    params: tuple[tuple[str, object], ...] = ()
    scheduler: Scheduler = Scheduler.ELEMENTWISE
    _cache: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def tensor(self, role: Role) -> TensorTiling:
        for t in self.tensors:
            if t.role == role:
                return t
        raise WorkloadError(f"plan for op {self.op!r}: no tensor with role {role!r}")

    def has(self, role: Role) -> bool:
        return any(t.role == role for t in self.tensors)

    @property
    def input(self) -> TensorTiling:
        return self.tensor(Role.INPUT)

    @property
    def weights(self) -> TensorTiling | None:
        return self.tensor(Role.WEIGHTS) if self.has(Role.WEIGHTS) else None

    @property
    def output(self) -> TensorTiling:
        return self.tensor(Role.OUTPUT)

    @property
    def strategies(self) -> dict[str, str]:
        """Tiling strategy of each tensor, by role."""
        return {t.role: t.strategy for t in self.tensors}

    @property
    def tile_shapes(self) -> dict[str, tuple[int, ...]]:
        """Basic tile shape of each tensor, by role."""
        return {t.role: t.tile_shape for t in self.tensors}

    @property
    def total_tile_elems(self) -> int:
        """Scratchpad elements the basic tiles occupy together (what SMAUG's optimizer maximizes)."""
        return sum(t.tile_elems for t in self.tensors if t.role != Role.INPUT1)

    def param(self, name: str, default: object = None) -> object:
        for key, value in self.params:
            if key == name:
                return value
        return default

    def schedule(self, num_accelerators: int = 1) -> Schedule:
        """The invocations in issue order when ``num_accelerators`` accelerators share the op.

        Cached per plan and accelerator count.
        """
        if isinstance(num_accelerators, bool) or not isinstance(num_accelerators, int) or num_accelerators < 1:
            raise WorkloadError(
                f"plan for op {self.op!r}: num_accelerators = {num_accelerators!r}: must be an integer >= 1"
            )
        cached = self._cache.get(num_accelerators)
        if cached is None:
            cached = build_schedule(self, num_accelerators)
            self._cache[num_accelerators] = cached
        return cached

    def describe(self) -> str:
        """A few human-readable lines: strategy, basic tile and tile grid of each tensor."""
        lines = [f"op {self.op!r} ({self.kind}) on {self.accelerator}: {self.spad_elems}-element scratchpads"]
        lines += ["  " + t.describe() for t in self.tensors]
        lines.append(f"  total basic-tile storage {self.total_tile_elems} elements")
        return "\n".join(lines)


__all__ = ["STRATEGIES", "Schedule", "TensorTiling", "TilingPlan", "align_up", "storage_elems"]
