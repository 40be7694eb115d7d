"""The order in which SMAUG's SMV operators send their tiles to the accelerators.

Each scheduler reproduces the loop nest of one SMAUG operator's ``run`` (harvard-acc/smaug @8fd68e6,
``smaug/operators/smv/smv_*_op.cpp``) and emits one :class:`Invocation` per kernel invocation:

- convolution (``runNHWC``): batch tiles, output row tiles and weight (output-map) tiles form
  independent groups that go round-robin to the accelerators; inside a group, output-channel
  iterations, then input/weight channel tiles accumulate serially into one output tile;
- inner product (``runNWA``): batch tiles x weight (neuron) tiles form the groups; activation tiles
  accumulate;
- pooling (``runNHWC``), one accelerator: every input tile, channel tiles writing into the output
  tile's channel range;
- batch norm after a conv (``runNHWC``): every input tile is its own group, round-robin; after an FC
  (``runNA``), one accelerator;
- unary, element-wise and softmax (``runX``), one accelerator: tile by tile.

Residency follows SMAUG: a conv input or weight tile, or an FC input tile, is not reloaded when the
accelerator's previous invocation used the same one (``lastRead*TileIdx``); pooling, batch-norm inputs
and element-wise operands are loaded every time; batch-norm parameters are loaded with the first
channel tile (``weights_start == 0``) and by any accelerator that does not hold them yet. An output
tile is stored by the last invocation that writes it on an accelerator.

This module needs only a plan's tilings (duck-typed), so :mod:`.plan` imports it and not the reverse.
"""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING

import numpy as np

from ..choices import Role, Scheduler

if TYPE_CHECKING:  # pragma: no cover
    from .plan import TilingPlan


@dataclass(slots=True)
class Invocation:
    """One accelerator invocation as a scheduler emits it (a row of :class:`Schedule`; see there)."""

    input: int
    output: int
    input1: int = -1
    weights: int = -1
    group: int = 0
    accel: int = 0
    read_input: bool = True
    read_weights: bool = False
    accumulate: bool = False
    send_output: bool = False
    ifmap_start: int = 0
    kern_start: int = 0
    pad_top: int = 0
    pad_bottom: int = 0
    pad_left: int = 0
    pad_right: int = 0


@dataclass(frozen=True, eq=False)
class Schedule:
    """The invocations of an operator on the accelerator(s), in issue order (struct of arrays).

    Every array has one entry per invocation. Tile indices are flat indices into the plan's
    :class:`~.plan.TensorTiling` of that role (-1 when the op has no such tensor).

    Attributes:
        input: input tile.
        input1: second input tile (element-wise ops), else -1.
        weights: weight tile, else -1.
        output: output tile.
        group: independent unit of work; a group runs on one accelerator, groups go round-robin
            (SMAUG's ``SmvAcceleratorPool``).
        accel: the accelerator that runs the invocation (0-based).
        read_input: the input tile(s) must be loaded; False when the same tile is already resident in
            that accelerator's input scratchpad from its previous invocation (SMAUG's lastRead*TileIdx).
        read_weights: the weight tile must be loaded (False: resident).
        accumulate: partial sums already in the output scratchpad are added to (channel tiles after
            the first).
        send_output: the output tile is complete: the fused activation runs and the tile is stored.
        ifmap_start: first channel of the input tile this invocation uses (inputs not channel-tiled
            while weights are).
        kern_start: first kernel (or neuron, for inner products) of the weight tile this invocation
            uses, or the output offset it writes to.
        pad_top, pad_bottom, pad_left, pad_right: zero padding at this input tile's borders.
    """

    input: np.ndarray
    input1: np.ndarray
    weights: np.ndarray
    output: np.ndarray
    group: np.ndarray
    accel: np.ndarray
    read_input: np.ndarray
    read_weights: np.ndarray
    accumulate: np.ndarray
    send_output: np.ndarray
    ifmap_start: np.ndarray
    kern_start: np.ndarray
    pad_top: np.ndarray
    pad_bottom: np.ndarray
    pad_left: np.ndarray
    pad_right: np.ndarray

    COLUMNS = ("input", "input1", "weights", "output", "group", "accel", "read_input", "read_weights", "accumulate",
               "send_output", "ifmap_start", "kern_start", "pad_top", "pad_bottom", "pad_left", "pad_right")
    _BOOL = ("read_input", "read_weights", "accumulate", "send_output")

    def __len__(self) -> int:
        return len(self.input)

    @classmethod
    def of(cls, invocations: list[Invocation]) -> Schedule:
        """The invocations as columns (read-only arrays)."""
        rows = list(map(attrgetter(*cls.COLUMNS), invocations))
        columns = list(zip(*rows)) if rows else [()] * len(cls.COLUMNS)
        arrays = {}
        for name, col in zip(cls.COLUMNS, columns):
            arr = np.array(col, dtype=np.bool_ if name in cls._BOOL else np.int32)
            arr.setflags(write=False)
            arrays[name] = arr
        return cls(**arrays)

    def rows(self) -> list[dict[str, int | bool]]:
        """The invocations as dicts (for inspection and tests)."""
        cols = {name: getattr(self, name).tolist() for name in self.COLUMNS}
        return [{name: cols[name][i] for name in self.COLUMNS} for i in range(len(self))]

    @property
    def num_groups(self) -> int:
        return int(self.group.max()) + 1 if len(self) else 0


class _Residency:
    """Which input and weight tile each accelerator holds (SMAUG's lastRead*TileIdx)."""

    def __init__(self, n: int) -> None:
        self.inputs = [-1] * n
        self.weights = [-1] * n

    def read_input(self, accel: int, tile: int) -> bool:
        if self.inputs[accel] == tile:
            return False
        self.inputs[accel] = tile
        return True

    def read_weights(self, accel: int, tile: int) -> bool:
        if self.weights[accel] == tile:
            return False
        self.weights[accel] = tile
        return True


def _channel_steps(fixed_tiles: int, moving_sizes: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """SMAUG's channel loop over two tensors: ``(fixed tile, moving tile, channel offset)`` per step.

    When both are cut into as many channel tiles, they advance together; otherwise the ``fixed`` one
    is not channel-tiled (one tile) and the moving one's tiles all pair with it. The offset is the
    channels of the moving tiles before this one (``ifmap_start``/``kern_start`` of the kernels).
    """
    together = fixed_tiles == len(moving_sizes)
    steps, offset = [], 0
    for j, size in enumerate(moving_sizes):
        steps.append((j if together else 0, j, offset))
        offset += size
    return steps


def _mark_sends(rows: list[Invocation]) -> Schedule:
    """Set send_output on the last invocation writing each output tile on each accelerator."""
    seen: set[tuple[int, int]] = set()
    for row in reversed(rows):
        key = (row.output, row.accel)
        row.send_output = key not in seen
        seen.add(key)
    return Schedule.of(rows)


def _conv(plan: TilingPlan, accels: int) -> Schedule:
    x, w, y = plan.input, plan.weights, plan.output
    top, bottom, left, right = plan.param("pads")
    in_n, in_h, _, in_c = x.grid
    w_k = w.grid[0]
    out_c = y.grid[3]
    iterate_outputs = w_k < out_c
    steps = _channel_steps(in_c, w.sizes[3])
    res = _Residency(accels)
    rows: list[Invocation] = []
    group = 0
    for n in range(in_n):
        for h in range(y.grid[1]):
            pt = top if (in_h == 1 or h == 0) else 0
            pb = bottom if (in_h == 1 or h == in_h - 1) else 0
            for k in range(w_k):
                accel = group % accels
                kern_start = 0
                for oc in range(out_c if iterate_outputs else 1):
                    out_tile = y.index(n, h, 0, k + oc)
                    for ic, wc, offset in steps:
                        in_tile, w_tile = x.index(n, h, 0, ic), w.index(k, 0, 0, wc)
                        rows.append(Invocation(
                            input=in_tile, weights=w_tile, output=out_tile, group=group, accel=accel,
                            read_input=res.read_input(accel, in_tile), read_weights=res.read_weights(accel, w_tile),
                            accumulate=wc > 0, ifmap_start=0 if ic == wc else offset, kern_start=kern_start,
                            pad_top=pt, pad_bottom=pb, pad_left=left, pad_right=right,
                        ))
                    if iterate_outputs:
                        kern_start += y.sizes[3][k + oc]
                group += 1
    return _mark_sends(rows)


def _inner_product(plan: TilingPlan, accels: int) -> Schedule:
    x, w, y = plan.input, plan.weights, plan.output
    out_tiled = y.grid[1] > 1
    steps = _channel_steps(x.grid[1], w.sizes[1])
    res = _Residency(accels)
    rows: list[Invocation] = []
    group = 0
    for n in range(x.grid[0]):
        finished = 0
        for k in range(w.grid[0]):
            accel = group % accels
            out_tile = y.index(n, k if out_tiled else 0)
            for ic, wc, offset in steps:
                in_tile = x.index(n, ic)
                rows.append(Invocation(
                    input=in_tile, weights=w.index(k, wc), output=out_tile, group=group, accel=accel,
                    read_input=res.read_input(accel, in_tile),
                    read_weights=True,  # the FC kernel loads its weight tile on every invocation
                    accumulate=wc > 0, ifmap_start=0 if ic == wc else offset,
                    kern_start=0 if out_tiled else finished,
                ))
            finished += w.sizes[0][k]
            group += 1
    return _mark_sends(rows)


def _pool(plan: TilingPlan, accels: int) -> Schedule:
    x, y = plan.input, plan.output
    top, bottom, left, right = plan.param("pads")
    in_n, in_h, in_w, _ = x.grid
    steps = _channel_steps(y.grid[3], x.sizes[3])
    rows: list[Invocation] = []
    for n in range(in_n):
        for h in range(in_h):
            for w_ in range(in_w):
                for oc, ic, offset in steps:
                    rows.append(Invocation(
                        input=x.index(n, h, w_, ic), output=y.index(n, h, w_, oc),
                        kern_start=0 if ic == oc else offset,
                        pad_top=top if h == 0 else 0, pad_bottom=bottom if h == in_h - 1 else 0,
                        pad_left=left if w_ == 0 else 0, pad_right=right if w_ == in_w - 1 else 0,
                    ))
    return _mark_sends(rows)


def _batch_norm_conv(plan: TilingPlan, accels: int) -> Schedule:
    x, y = plan.input, plan.output
    rows: list[Invocation] = []
    group = 0
    in_n, in_h, in_w, in_c = x.grid
    loaded = [False] * accels
    for n in range(in_n):
        for h in range(in_h):
            for w_ in range(in_w):
                offset = 0
                for c in range(in_c):
                    accel = group % accels
                    # SMAUG reloads the parameters with every first channel tile; an accelerator
                    # that has never held them loads them too (SMAUG assumed one accelerator here).
                    read_w = offset == 0 or not loaded[accel]
                    loaded[accel] = True
                    rows.append(Invocation(
                        input=x.index(n, h, w_, c), weights=0, output=y.index(n, h, w_, c), group=group,
                        accel=accel, read_weights=read_w, ifmap_start=offset,
                    ))
                    offset += x.sizes[3][c]
                    group += 1
    return _mark_sends(rows)


def _batch_norm_fc(plan: TilingPlan, accels: int) -> Schedule:
    x, w, y = plan.input, plan.weights, plan.output
    rows: list[Invocation] = []
    for n in range(x.grid[0]):
        for ic, wc, offset in _channel_steps(x.grid[1], w.sizes[1]):
            start = 0 if ic == wc else offset
            rows.append(Invocation(
                input=x.index(n, ic), weights=w.index(0, wc), output=y.index(n, ic), read_input=start == 0,
                read_weights=True, ifmap_start=start,
            ))
    return _mark_sends(rows)


def _elementwise(plan: TilingPlan, accels: int) -> Schedule:
    x, y = plan.input, plan.output
    binary = plan.has(Role.INPUT1)
    if y.num_tiles != x.num_tiles:  # pragma: no cover - the tiler makes them equal
        raise AssertionError("element-wise input and output tilings differ")
    return _mark_sends([Invocation(input=i, input1=i if binary else -1, output=i) for i in range(x.num_tiles)])


SCHEDULERS = {
    Scheduler.CONV: _conv,
    Scheduler.INNER_PRODUCT: _inner_product,
    Scheduler.POOL: _pool,
    Scheduler.BATCH_NORM_CONV: _batch_norm_conv,
    Scheduler.BATCH_NORM_FC: _batch_norm_fc,
    Scheduler.ELEMENTWISE: _elementwise,
}

#: Schedulers that spread their groups over several accelerators (SMAUG: conv, FC, post-conv BN).
MULTI_ACCELERATOR = (Scheduler.CONV, Scheduler.INNER_PRODUCT, Scheduler.BATCH_NORM_CONV)


def build_schedule(plan: TilingPlan, num_accelerators: int) -> Schedule:
    """The :class:`Schedule` of ``plan`` on ``num_accelerators`` accelerators.

    Operators that SMAUG runs on a single accelerator (pooling, post-FC batch norm, element-wise)
    ignore the count.
    """
    accels = num_accelerators if plan.scheduler in MULTI_ACCELERATOR else 1
    return SCHEDULERS[plan.scheduler](plan, accels)


__all__ = ["MULTI_ACCELERATOR", "SCHEDULERS", "Invocation", "Schedule", "build_schedule"]
