"""The order in which SMAUG's SMV operators send their tiles to the accelerators.

Each function reproduces the loop nest of one SMAUG operator's ``run`` (harvard-acc/smaug @8fd68e6,
``smaug/operators/smv/smv_*_op.cpp``) and emits one row per kernel invocation:

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
"""

from __future__ import annotations

from .plan import Schedule, TilingPlan

# Row layout: Schedule.COLUMNS order.
#   input, input1, weights, output, group, accel, read_input, read_weights, accumulate,
#   send_output, ifmap_start, kern_start, pad_top, pad_bottom, pad_left, pad_right


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


def _mark_sends(rows: list[list]) -> list[tuple]:
    """Set send_output on the last invocation writing each output tile on each accelerator."""
    seen: set[tuple[int, int]] = set()
    for row in reversed(rows):
        key = (row[3], row[5])
        row[9] = key not in seen
        seen.add(key)
    return [tuple(r) for r in rows]


def _conv(plan: TilingPlan, accels: int) -> Schedule:
    x, w, y = plan.input, plan.weights, plan.output
    assert w is not None
    top, bottom, left, right = plan.param("pads")
    in_n, in_h, _, in_c = x.grid
    w_k, _, _, w_c = w.grid
    out_n, out_h, _, out_c = y.grid
    iterate_outputs = w_k < out_c
    invocations = out_c if iterate_outputs else 1
    res = _Residency(accels)
    rows: list[list] = []
    group = 0
    for n in range(in_n):
        for h in range(out_h):
            pt = top if (in_h == 1 or h == 0) else 0
            pb = bottom if (in_h == 1 or h == in_h - 1) else 0
            for k in range(w_k):
                accel = group % accels
                kern_start = 0
                for oc in range(invocations):
                    out_tile = y.index(n, h, 0, k + oc)
                    out_channels = y.sizes[3][k + oc]
                    ic = wc = 0
                    ifmap_offset = 0
                    while ic < in_c and wc < w_c:
                        in_tile = x.index(n, h, 0, ic)
                        w_tile = w.index(k, 0, 0, wc)
                        rows.append(
                            [
                                in_tile,
                                -1,
                                w_tile,
                                out_tile,
                                group,
                                accel,
                                res.read_input(accel, in_tile),
                                res.read_weights(accel, w_tile),
                                wc > 0,
                                False,
                                0 if ic == wc else ifmap_offset,
                                kern_start,
                                pt,
                                pb,
                                left,
                                right,
                            ]
                        )
                        ifmap_offset += w.sizes[3][wc]
                        if in_c == w_c:
                            ic += 1
                            wc += 1
                        else:  # inputs not channel-tiled: weight channel tiles share one input tile
                            wc += 1
                    if iterate_outputs:
                        kern_start += out_channels
                group += 1
    return Schedule.from_rows(_mark_sends(rows))


def _inner_product(plan: TilingPlan, accels: int) -> Schedule:
    x, w, y = plan.input, plan.weights, plan.output
    assert w is not None
    in_n, in_c = x.grid
    w_k, w_c = w.grid
    out_tiled = y.grid[1] > 1
    res = _Residency(accels)
    rows: list[list] = []
    group = 0
    for n in range(in_n):
        finished = 0
        for k in range(w_k):
            accel = group % accels
            out_tile = y.index(n, k if out_tiled else 0)
            ic = wc = 0
            offset = 0
            while ic < in_c and wc < w_c:
                in_tile = x.index(n, ic)
                w_tile = w.index(k, wc)
                rows.append(
                    [
                        in_tile,
                        -1,
                        w_tile,
                        out_tile,
                        group,
                        accel,
                        res.read_input(accel, in_tile),
                        True,  # the FC kernel loads its weight tile on every invocation
                        wc > 0,
                        False,
                        0 if ic == wc else offset,
                        0 if out_tiled else finished,
                        0,
                        0,
                        0,
                        0,
                    ]
                )
                offset += w.sizes[1][wc]
                if in_c == w_c:
                    ic += 1
                    wc += 1
                else:
                    wc += 1
            finished += w.sizes[0][k]
            group += 1
    return Schedule.from_rows(_mark_sends(rows))


def _pool(plan: TilingPlan, accels: int) -> Schedule:
    x, y = plan.input, plan.output
    top, bottom, left, right = plan.param("pads")
    in_n, in_h, in_w, in_c = x.grid
    out_c = y.grid[3]
    rows: list[list] = []
    for n in range(in_n):
        for h in range(in_h):
            pt = top if h == 0 else 0
            pb = bottom if h == in_h - 1 else 0
            for w_ in range(in_w):
                pl = left if w_ == 0 else 0
                pr = right if w_ == in_w - 1 else 0
                ic = oc = 0
                offset = 0
                while ic < in_c and oc < out_c:
                    rows.append(
                        [
                            x.index(n, h, w_, ic),
                            -1,
                            -1,
                            y.index(n, h, w_, oc),
                            0,
                            0,
                            True,
                            False,
                            False,
                            False,
                            0,
                            0 if ic == oc else offset,
                            pt,
                            pb,
                            pl,
                            pr,
                        ]
                    )
                    offset += x.sizes[3][ic]
                    if in_c == out_c:
                        ic += 1
                        oc += 1
                    else:
                        ic += 1
    return Schedule.from_rows(_mark_sends(rows))


def _batch_norm_conv(plan: TilingPlan, accels: int) -> Schedule:
    x, y = plan.input, plan.output
    rows: list[list] = []
    group = 0
    in_n, in_h, in_w, in_c = x.grid
    loaded = [False] * accels
    for n in range(in_n):
        for h in range(in_h):
            for w_ in range(in_w):
                offset = 0
                for c in range(in_c):
                    accel = group % accels
                    tile = x.index(n, h, w_, c)
                    # SMAUG reloads the parameters with every first channel tile; an accelerator
                    # that has never held them loads them too (SMAUG assumed one accelerator here).
                    read_w = offset == 0 or not loaded[accel]
                    loaded[accel] = True
                    rows.append(
                        [tile, -1, 0, y.index(n, h, w_, c), group, accel, True, read_w,
                         False, False, offset, 0, 0, 0, 0, 0]
                    )
                    offset += x.sizes[3][c]
                    group += 1
    return Schedule.from_rows(_mark_sends(rows))


def _batch_norm_fc(plan: TilingPlan, accels: int) -> Schedule:
    x, w, y = plan.input, plan.weights, plan.output
    assert w is not None
    in_n, in_c = x.grid
    w_c = w.grid[1]
    rows: list[list] = []
    for n in range(in_n):
        ic = wc = 0
        offset = 0
        while ic < in_c and wc < w_c:
            start = 0 if ic == wc else offset
            rows.append(
                [x.index(n, ic), -1, w.index(0, wc), y.index(n, ic), 0, 0, start == 0, True,
                 False, False, start, 0, 0, 0, 0, 0]
            )
            offset += w.sizes[1][wc]
            if in_c == w_c:
                ic += 1
                wc += 1
            else:
                wc += 1
    return Schedule.from_rows(_mark_sends(rows))


def _elementwise(plan: TilingPlan, accels: int) -> Schedule:
    x, y = plan.input, plan.output
    binary = plan.has("input1")
    rows = [
        [i, i if binary else -1, -1, i, 0, 0, True, False, False, False, 0, 0, 0, 0, 0, 0]
        for i in range(x.num_tiles)
    ]
    if y.num_tiles != x.num_tiles:  # pragma: no cover - the tiler makes them equal
        raise AssertionError("element-wise input and output tilings differ")
    return Schedule.from_rows(_mark_sends(rows))


SCHEDULERS = {
    "conv": _conv,
    "inner_product": _inner_product,
    "pool": _pool,
    "batch_norm_conv": _batch_norm_conv,
    "batch_norm_fc": _batch_norm_fc,
    "elementwise": _elementwise,
}

#: Schedulers that spread their groups over several accelerators (SMAUG: conv, FC, post-conv BN).
MULTI_ACCELERATOR = ("conv", "inner_product", "batch_norm_conv")


def build_schedule(plan: TilingPlan, num_accelerators: int) -> Schedule:
    """The :class:`Schedule` of ``plan`` on ``num_accelerators`` accelerators.

    Operators that SMAUG runs on a single accelerator (pooling, post-FC batch norm, element-wise)
    ignore the count.
    """
    fn = SCHEDULERS[plan.scheduler]
    accels = num_accelerators if plan.scheduler in MULTI_ACCELERATOR else 1
    return fn(plan, accels)


__all__ = ["MULTI_ACCELERATOR", "SCHEDULERS", "build_schedule"]
