"""Run an operator tile by tile through its plan: the functional check that tiling preserves results.

:func:`execute_tiled` follows a :class:`~smaug_fast.tiling.plan.Schedule` the way the accelerator
does: each accelerator has an input, a weight and an output scratchpad; an invocation copies its
input and weight tiles in (halo rows included) only when the schedule says they are not resident,
computes on them with the numeric kernels (:mod:`smaug_fast.kernels`), writes or accumulates partial
sums into the output scratchpad, and, when the output tile is complete, applies the fused activation
and copies the tile back. A new output tile starts as NaN, so any element a plan forgets to compute
shows up in the result.

Comparing the result with the untiled kernel (:func:`execute_untiled`) checks the tile shapes,
halos, padding per tile, channel offsets, partial-sum accumulation and residency of a plan at once.
Arithmetic is float32 (the SMV datapath computes in fp32 in its scratchpads).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import WorkloadError
from ..kernels import activation as kact
from ..kernels import conv as kconv
from ..kernels import elementwise as kelt
from ..kernels import gemm as kgemm
from ..kernels import norm as knorm
from ..kernels import pool as kpool
from ..workload.core import ACTIVATIONS, Activation, BatchNorm, Convolution, Eltwise, InnerProduct, Op, Pooling
from .plan import TilingPlan, align_up


def _activation_args(name: str | None, params: tuple[float, ...]) -> tuple[int, float, float]:
    if name is None:
        return kact.NONE, 0.0, 0.0
    values = tuple(params) or tuple(v for _, v in ACTIVATIONS[name])
    values = (*values, 0.0, 0.0)
    return kact.CODES[name], float(values[0]), float(values[1])


def _fused(op: Op) -> tuple[int, float, float]:
    if isinstance(op, (Convolution, InnerProduct, BatchNorm)):
        return _activation_args(op.activation, op.activation_params)
    return kact.NONE, 0.0, 0.0


def _region(array: np.ndarray, origin, shape) -> tuple[slice, ...]:
    return tuple(slice(o, o + s) for o, s in zip(origin, shape))


def _flat_storage(array: np.ndarray, alignment: int) -> np.ndarray:
    """The array with its last dimension zero-padded to ``alignment``, flattened (SMAUG's storage)."""
    last = array.shape[-1] if array.ndim else 1
    padded = align_up(last, alignment)
    if padded != last:
        widths = [(0, 0)] * (array.ndim - 1) + [(0, padded - last)]
        array = np.pad(array, widths)
    return np.ascontiguousarray(array).reshape(1, -1)


def _check_inputs(op: Op, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    if len(inputs) != len(op.inputs):
        raise WorkloadError(f"op {op.name!r}: got {len(inputs)} arrays for {len(op.inputs)} inputs")
    out = []
    for i, (array, tensor) in enumerate(zip(inputs, op.inputs)):
        array = np.asarray(array)
        if array.shape != tensor.shape:
            raise WorkloadError(f"op {op.name!r}: inputs[{i}] has shape {array.shape}, expected {tensor.shape}")
        out.append(np.ascontiguousarray(array, dtype=np.float32))
    return out


class _Accelerator:
    """Scratchpad contents of one accelerator during tiled execution."""

    def __init__(self) -> None:
        self.input_tile = -1
        self.input: np.ndarray | None = None
        self.input1: np.ndarray | None = None
        self.weight_tile = -1
        self.weights: np.ndarray | None = None
        self.output_tile = -1
        self.output: np.ndarray | None = None


def execute_tiled(op: Op, plan: TilingPlan, inputs: Sequence[np.ndarray], num_accelerators: int = 1) -> np.ndarray:
    """The output of ``op`` computed tile by tile following ``plan.schedule(num_accelerators)``."""
    arrays = _check_inputs(op, inputs)
    sched = plan.schedule(num_accelerators)
    x_t, y_t = plan.input, plan.output
    w_t = plan.weights
    flat = x_t.flat
    act_code, a0, a1 = _fused(op)
    # Source tensors in the layout the plan tiles them in.
    x = arrays[0]
    if flat:
        x = _flat_storage(x, x_t.alignment)
        x1 = _flat_storage(arrays[1], x_t.alignment) if plan.has("input1") else None
    elif x_t.shape != x.shape:  # softmax rows
        x = x.reshape(x_t.shape)
    if isinstance(op, BatchNorm):
        w = np.stack([a.reshape(-1) for a in arrays[1:]]).astype(np.float32)
    elif w_t is not None:
        w = arrays[1]
    out_dtype = np.bool_ if op.output.dtype == "bool" else np.float32
    y = np.full(y_t.shape, np.nan, dtype=np.float32)
    accels = [_Accelerator() for _ in range(int(sched.accel.max()) + 1 if len(sched) else 1)]
    for row in sched.rows():
        acc = accels[row["accel"]]
        if row["read_input"]:
            origin, shape = x_t.tile(row["input"])
            acc.input = x[_region(x, origin, shape)].copy()
            acc.input_tile = row["input"]
            if flat and x1 is not None:
                acc.input1 = x1[_region(x1, origin, shape)].copy()
        if row["weights"] >= 0 and row["read_weights"]:
            assert w_t is not None
            origin, shape = w_t.tile(row["weights"])
            acc.weights = w[_region(w, origin, shape)].copy()
            acc.weight_tile = row["weights"]
        if acc.input is None or (row["weights"] >= 0 and acc.weights is None):
            raise WorkloadError(f"plan for op {op.name!r}: an invocation uses a tile that was never loaded")
        if row["output"] != acc.output_tile:
            acc.output_tile = row["output"]
            acc.output = np.full(y_t.shape_of(row["output"]), np.nan, dtype=np.float32)
        _compute(op, plan, row, acc)
        if row["send_output"]:
            result = acc.output
            assert result is not None
            # Store what this accelerator computed (with several accelerators, an FC output tile
            # is written in slices by each of them).
            computed = ~np.isnan(result)
            if act_code != kact.NONE:
                result = result.copy()
                kact.activate_rows(result.reshape(-1, result.shape[-1]), act_code, a0, a1)
            origin, shape = y_t.tile(row["output"])
            y[_region(y, origin, shape)][computed] = result[computed]
    if flat:
        total = op.output.size // op.output.shape[-1]
        last = op.output.shape[-1]
        y = y.reshape(total, align_up(last, y_t.alignment))[:, :last].reshape(op.output.shape)
    else:
        y = y.reshape(op.output.shape)
    return y.astype(out_dtype) if out_dtype is np.bool_ else y


def _compute(op: Op, plan: TilingPlan, row: dict, acc: _Accelerator) -> None:
    """One invocation: compute on the scratchpad tiles, write or accumulate into the output tile."""
    out = acc.output
    xin = acc.input
    assert out is not None and xin is not None
    if isinstance(op, Convolution):
        wt = acc.weights
        assert wt is not None
        channels = wt.shape[3]
        xs = np.ascontiguousarray(xin[..., row["ifmap_start"] : row["ifmap_start"] + channels])
        ws = np.ascontiguousarray(wt[row["kern_start"] : row["kern_start"] + out.shape[3]])
        sr, sc = op.stride
        res = kconv.conv2d_nhwc(
            xs, ws, sr, sc, row["pad_top"], row["pad_bottom"], row["pad_left"], row["pad_right"], 1, kact.NONE, 0.0, 0.0
        )
        _store(op, out, (slice(None),) * 4, res, row["accumulate"])
    elif isinstance(op, InnerProduct):
        wt = acc.weights
        assert wt is not None
        xs = np.ascontiguousarray(xin[:, row["ifmap_start"] : row["ifmap_start"] + wt.shape[1]])
        res = kgemm.inner_product(xs, np.ascontiguousarray(wt), kact.NONE, 0.0, 0.0)
        ks = row["kern_start"]
        _store(op, out, (slice(None), slice(ks, ks + wt.shape[0])), res, row["accumulate"])
    elif isinstance(op, Pooling):
        r, s = op.pool_size
        sr, sc = op.stride
        pads = (row["pad_top"], row["pad_bottom"], row["pad_left"], row["pad_right"])
        if op.mode == "max":
            res = kpool.max_pool_nhwc(xin, r, s, sr, sc, *pads)
        else:
            res = kpool.avg_pool_nhwc(xin, r, s, sr, sc, *pads, True)
        ks = row["kern_start"]
        _store(op, out, (Ellipsis, slice(ks, ks + res.shape[3])), res, False)
    elif isinstance(op, BatchNorm):
        wt = acc.weights
        assert wt is not None
        start = row["ifmap_start"]
        if xin.ndim == 4:  # post-conv: the whole 4 x C parameter tile, channels at the input tile's offset
            c = xin.shape[3]
            params = [np.ascontiguousarray(wt[i, start : start + c]) for i in range(4)]
            res = knorm.batch_norm_last_axis(np.ascontiguousarray(xin.reshape(-1, c)), *params, kact.NONE, 0.0, 0.0)
            _store(op, out, (Ellipsis,), res.reshape(xin.shape), False)
        else:  # post-FC: the weight tile's channels, at its offset into the input tile
            c = wt.shape[1]
            xs = np.ascontiguousarray(xin[:, start : start + c])
            params = [np.ascontiguousarray(wt[i]) for i in range(4)]
            res = knorm.batch_norm_last_axis(xs, *params, kact.NONE, 0.0, 0.0)
            _store(op, out, (slice(None), slice(start, start + c)), res, False)
    elif isinstance(op, Activation):
        code, p0, p1 = _activation_args(op.function, op.activation_params)
        res = kact.activation(np.ascontiguousarray(xin), code, p0, p1)
        _store(op, out, (Ellipsis,), res, False)
    elif isinstance(op, Eltwise):
        other = acc.input1
        assert other is not None
        code = kelt.CODES[op.function]
        a, b = np.ascontiguousarray(xin.reshape(-1)), np.ascontiguousarray(other.reshape(-1))
        if op.function in ("add", "mul"):
            res = kelt.arith_same_shape(a, b, code)
        else:
            res = kelt.compare_same_shape(a, b, code).astype(np.float32)
        _store(op, out, (Ellipsis,), res.reshape(xin.shape), False)
    else:  # pragma: no cover - the tiler rejects every other op
        raise WorkloadError(f"op {op.name!r} ({op.kind}): no tiled execution")


def _store(op: Op, out: np.ndarray, region: tuple, result: np.ndarray, accumulate: bool) -> None:
    view = out[region]
    if view.shape != result.shape:
        raise WorkloadError(
            f"plan for op {op.name!r}: an invocation produced {result.shape} for an output region {view.shape}"
        )
    if accumulate:
        out[region] = view + result
    else:
        out[region] = result


def execute_untiled(op: Op, inputs: Sequence[np.ndarray]) -> np.ndarray:
    """The output of ``op`` from one call of its numeric kernel on whole tensors (the reference)."""
    arrays = _check_inputs(op, inputs)
    act = _fused(op)
    if isinstance(op, Convolution):
        sr, sc = op.stride
        return kconv.conv2d_nhwc(arrays[0], arrays[1], sr, sc, *op.pads, op.groups, *act)
    if isinstance(op, InnerProduct):
        return kgemm.inner_product(arrays[0], arrays[1], *act)
    if isinstance(op, Pooling):
        r, s = op.pool_size
        sr, sc = op.stride
        if op.mode == "max":
            return kpool.max_pool_nhwc(arrays[0], r, s, sr, sc, *op.pads)
        return kpool.avg_pool_nhwc(arrays[0], r, s, sr, sc, *op.pads, True)
    if isinstance(op, BatchNorm):
        x = arrays[0]
        c = x.shape[-1]
        params = [np.ascontiguousarray(a.reshape(-1)) for a in arrays[1:]]
        return knorm.batch_norm_last_axis(np.ascontiguousarray(x.reshape(-1, c)), *params, *act).reshape(x.shape)
    if isinstance(op, Activation):
        x = arrays[0]
        code, p0, p1 = _activation_args(op.function, op.activation_params)
        return kact.activation(np.ascontiguousarray(x.reshape(-1, x.shape[-1])), code, p0, p1).reshape(x.shape)
    if isinstance(op, Eltwise):
        a, b = (np.ascontiguousarray(v.reshape(-1)) for v in arrays)
        code = kelt.CODES[op.function]
        if op.function in ("add", "mul"):
            return kelt.arith_same_shape(a, b, code).reshape(op.output.shape)
        return kelt.compare_same_shape(a, b, code).reshape(op.output.shape)
    raise WorkloadError(f"op {op.name!r} ({op.kind}): no untiled kernel here")


__all__ = ["execute_tiled", "execute_untiled"]
