"""SMAUG's tiling optimizer for its SMV backend, reproduced from the facts of its source.

Sources (harvard-acc/smaug @8fd68e6, ``smaug/operators/smv/``): ``smv_tiling_base.cpp``
(``findBestTilingDims``, ``enum{2,4}DTensorTilingConfigs``), ``smv_{convolution,inner_product,
pooling,batch_norm}_tiling.cpp``, ``smv_unary_op_common.cpp``, ``smv_eltwise_*_op.cpp``,
``smv_softmax_op.cpp`` and ``core/tensor_utils.cpp`` (``generateTiledTensorWithStrideAndPadding``).
The code here is our own; the rules are SMAUG's:

1. **Strategy per tensor.** For each of the inputs, weights and outputs, the first strategy of
   None, N, NC, NH, NW, NHW, NCH, NCW (2-D tensors: None, N, NC) whose minimum tile fits one scratchpad:
   ``per_batch_elements x prod(min_d / dim_d over the tiled dims d) <= spad elements``.
2. **Per-op minimum tiles** (``P`` = PEs = 8, ``M`` = MACs per PE = 32, ``V`` = vector width = 8):
   conv inputs ``{1, R, W, M}``, weights ``{P, R, S, M}``, outputs ``{1, 1, W, P}``; inner product
   inputs ``{1, M}``, weights ``{P, M}``, outputs ``{1, P}``; pooling inputs ``{1, ph, pw, V}``,
   outputs ``{1, 1, 1, V}``; batch norm inputs ``{1, V, V, V}`` (post-FC ``{1, V}``), weights
   ``{4, V}``; unary and element-wise ops are cut into contiguous chunks of at most one scratchpad.
3. **Compatibility.** N-tiled conv weights force NC outputs; H-tiled conv inputs force NH (or NCH)
   outputs; tiled FC weights force NC outputs (when the outputs are tiled at all); H- or W-tiled
   pooling inputs force H- or W-tiled outputs; conv weights are never H-tiled; when inputs are tiled
   along channels, the weight tiles take the same channels.
4. **Enumeration and choice.** Every basic tile shape along the chosen dimensions, in steps of the
   hardware (channels by ``M``, output maps by ``P``, rows by the stride, vectors by ``V``), for inputs,
   then compatible weights, then outputs; the configuration with the largest total scratchpad
   storage wins, the first one in enumeration order on ties.
5. **Halos.** Row-tiled inputs of convolutions and pools overlap by ``kernel - stride`` rows; the
   first tile is shortened so that the top padding plus its rows is a whole number of strides.

Sizes count elements as stored: the last dimension is zero-padded to the backend's alignment (8),
as in SMAUG's ``TensorShape::storageSize()``. Where SMAUG would stop with an assertion, we raise
:class:`~smaug_fast.errors.MappingError` naming the op, the smallest tile and the scratchpad size.

Two deliberate generalizations, both identical to SMAUG on its own networks: explicit pads (SMAUG has
only SAME/VALID) are honoured everywhere SMAUG uses its SAME padding, and output row tiles are derived
per input row tile (so that strided or padded pools and convs always cover the output exactly).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..choices import Role, Scheduler, TilingStrategy
from ..choices import TilingStrategy as S
from ..errors import ConfigError, MappingError, describe
from ..memo import SIM_CACHE
from ..workload.core import (
    Activation,
    BatchNorm,
    Convolution,
    Eltwise,
    InnerProduct,
    Op,
    Pooling,
    Tensor,
)
from .plan import TensorTiling, TilingPlan, align_up, storage_elems


@dataclass(frozen=True)
class TilingParams:
    """The hardware numbers SMAUG's tiling rules depend on (defaults: SMV, ``backend.h``/``kernels/params.h``).

    Attributes:
        spad_bytes: size of each of the three scratchpads (inputs, weights, outputs) [B]
            (SMAUG ``SmvBackend::SpadSize()`` = 32 KiB).
        num_pes: processing elements; output maps are tiled in steps of this (``kNumPEs`` = 8).
        maccs_per_pe: MACs per PE; input channels are tiled in steps of this (``kNumMaccsPerPE`` = 32).
        vector_width: lanes of the vector units; pooling and batch-norm channels step by this
            (``VECTOR_SIZE`` = 8).
        alignment: the innermost dimension is zero-padded to a multiple of this in memory and in the
            scratchpads (``SmvBackend::Alignment`` = 8).
    """

    spad_bytes: int = 32 * 1024
    num_pes: int = 8
    maccs_per_pe: int = 32
    vector_width: int = 8
    alignment: int = 8

    def __post_init__(self) -> None:
        for name in ("spad_bytes", "num_pes", "maccs_per_pe", "vector_width"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"tiling.{name} = {describe(value)}: must be an integer >= 1")
        if isinstance(self.alignment, bool) or not isinstance(self.alignment, int) or self.alignment < 0:
            raise ConfigError(f"tiling.alignment = {describe(self.alignment)}: must be an integer >= 0")

    def spad_elems(self, itemsize: int) -> int:
        """Elements of ``itemsize`` bytes one scratchpad holds (SMAUG's ``maxTileSize``)."""
        return self.spad_bytes // itemsize


class _NoFit(Exception):
    """Internal: no strategy or configuration fits; converted to MappingError with context."""

    def __init__(self, role: str, smallest: tuple[int, ...], elems: int) -> None:
        super().__init__(role)
        self.role = role
        self.smallest = smallest
        self.elems = elems


def _no_fit(op: Op, err: _NoFit, spad_elems: int, params: TilingParams, itemsize: int) -> MappingError:
    return MappingError(
        f"op {op.name!r} ({op.kind}): the smallest {err.role} tile {err.smallest} needs {err.elems} "
        f"elements, more than one {params.spad_bytes}-byte scratchpad holds ({spad_elems} elements of "
        f"{itemsize} B); use larger scratchpads"
    )


class _NoProgress(Exception):
    """Internal: a dimension cannot be split (first tile empty); converted to MappingError."""


# --------------------------------------------------------------------------------------------------
# Strategy choice and enumeration (smv_tiling_base.cpp)
# --------------------------------------------------------------------------------------------------


def best_strategy(
    shape: tuple[int, ...], spad_elems: int, min_shape: tuple[int, ...], alignment: int, role: str = "tensor"
) -> TilingStrategy:
    """SMAUG's ``findBestTilingDims``: the first strategy whose minimum tile fits (NHWC or NC shapes).

    The minimum along a dimension is ``min(min_shape[d], shape[d])``; the test for a strategy is
    ``per_batch_storage x prod(min_d / shape_d) <= spad_elems`` over the dimensions it tiles besides N
    (done here in exact integer arithmetic). Raises ``_NoFit`` when none fits.
    """
    total = storage_elems(shape, alignment)
    if total <= spad_elems:
        return S.NONE
    rank = len(shape)
    c = rank - 1
    per_n = total // shape[0]
    min_n = min(shape[0], min_shape[0])
    min_c = min(shape[c], min_shape[c])
    if per_n * min_n <= spad_elems:
        return S.N
    if per_n * min_c <= spad_elems * shape[c]:
        return S.NC
    if rank == 4:
        h, w = 1, 2
        min_h = min(shape[h], min_shape[h])
        min_w = min(shape[w], min_shape[w])
        if per_n * min_h <= spad_elems * shape[h]:
            return S.NH
        if per_n * min_w <= spad_elems * shape[w]:
            return S.NW
        if per_n * min_h * min_w <= spad_elems * shape[h] * shape[w]:
            return S.NHW
        if per_n * min_c * min_h <= spad_elems * shape[c] * shape[h]:
            return S.NCH
        if per_n * min_c * min_w <= spad_elems * shape[c] * shape[w]:
            return S.NCW
    smallest = tuple(min(s, m) for s, m in zip(shape, min_shape))
    smallest = (1, *smallest[1:])
    raise _NoFit(role, smallest, storage_elems(smallest, alignment))


def enum_4d(
    shape: tuple[int, ...], spad_elems: int, min_shape: tuple[int, ...], steps: tuple[int, ...], alignment: int
) -> list[tuple[int, int, int, int]]:
    """SMAUG's ``enum4DTensorTilingConfigs`` for NHWC: every (n, h, w, c) tile that fits, in its order.

    Loops n, c, h, w (outermost first) from the minimum in the given steps; the innermost loop stops
    at the first tile that does not fit (sizes grow with w, so the fitting w form a prefix).
    """
    N, H, W, C = shape
    mn, mh, mw, mc = (min(m, s) for m, s in zip(min_shape, shape))
    sn, sh, sw, sc = steps
    out = []
    for n in range(mn, N + 1, sn):
        for c in range(mc, C + 1, sc):
            ca = align_up(c, alignment)
            for h in range(mh, H + 1, sh):
                per_w = n * h * ca
                if per_w * mw > spad_elems:
                    continue
                w_max = min(W, spad_elems // per_w)
                for w in range(mw, w_max + 1, sw):
                    out.append((n, h, w, c))
    return out


def enum_2d(
    shape: tuple[int, int], spad_elems: int, min_shape: tuple[int, int], steps: tuple[int, int], alignment: int
) -> list[tuple[int, int]]:
    """SMAUG's ``enum2DTensorTilingConfigs``: every (n, c) tile that fits; c stops at the first misfit."""
    N, C = shape
    mn, mc = min(min_shape[0], N), min(min_shape[1], C)
    out = []
    for n in range(mn, N + 1, steps[0]):
        for c in range(mc, C + 1, steps[1]):
            if n * align_up(c, alignment) <= spad_elems:
                out.append((n, c))
            else:
                break
    return out


# --------------------------------------------------------------------------------------------------
# Splitting a tensor into tiles (tensor_utils.cpp generateTiledTensorWithStrideAndPadding)
# --------------------------------------------------------------------------------------------------


def padded_first_tile(tile: int, pad: int, field: int, stride: int) -> int:
    """Rows of the first tile of a padded, strided window op: top pad + rows = field + k * stride.

    SMAUG's ``computePaddedTileDim``: so that the next tile starts exactly where the next output row's
    window does. One deliberate difference: when no whole stride fits beside the first window
    (``tile + pad - field < stride``), SMAUG keeps the tile unchanged, which misplaces the second tile
    whenever ``pad > 0`` and ``stride > 1``; we shorten it to ``field - pad`` rows (one window). SMAUG's
    networks never reach that case (their row tiles are long enough).
    """
    strides = (tile + pad - field) // stride
    if strides < 0:
        return tile
    return field + stride * strides - pad


def split(
    extent: int, tile: int, *, halo: int = 0, pad: int = 0, field: int = 0, stride: int = 1
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(sizes, origins) of the tiles of one dimension of ``extent`` cut in pieces of ``tile``.

    Consecutive tiles overlap by ``halo`` (negative: rows skipped). With ``field`` > 0 the first tile
    (when it is not also the last) is shortened by :func:`padded_first_tile`.
    """
    if halo == 0 and (field == 0 or extent <= tile or (pad == 0 and tile >= field and (tile - field) % stride == 0)):
        full, rest = divmod(extent, tile)
        sizes_t = (tile,) * full + ((rest,) if rest else ())
        return sizes_t, tuple(range(0, extent, tile))
    sizes: list[int] = []
    origins: list[int] = []
    remaining, origin = extent, 0
    while remaining > 0:
        size = min(tile, remaining)
        if field and not sizes and remaining > tile:
            size = padded_first_tile(size, pad, field, stride)
        if size <= 0 or (remaining > size and size - halo <= 0):
            raise _NoProgress(f"tiles of {tile} rows with halo {halo} and pad {pad} cannot cover {extent} rows")
        sizes.append(size)
        origins.append(origin)
        remaining -= size
        if remaining > 0:
            remaining += halo
        origin += size - halo
    return tuple(sizes), tuple(origins)


def _uniform(role: Role, tensor: Tensor, layout: str, shape, strategy: TilingStrategy, tile,
             alignment: int) -> TensorTiling:
    pieces = [split(extent, t) for extent, t in zip(shape, tile)]
    return TensorTiling(
        role=role,
        name=tensor.name,
        layout=layout,
        shape=tuple(shape),
        strategy=strategy,
        tile_shape=tuple(tile),
        sizes=tuple(p[0] for p in pieces),
        origins=tuple(p[1] for p in pieces),
        alignment=alignment,
    )


def _windowed_input(
    tensor: Tensor, strategy: TilingStrategy, tile, window: tuple[int, int], stride: tuple[int, int], pads,
    alignment: int,
) -> TensorTiling:
    """Input tiling of a conv or pool: rows/cols overlap by window - stride (halos), first tile padded."""
    shape = tensor.shape
    top, _bottom, left, _right = pads
    n_split = split(shape[0], tile[0])
    h_split = split(shape[1], tile[1], halo=window[0] - stride[0], pad=top, field=window[0], stride=stride[0])
    w_split = split(shape[2], tile[2], halo=window[1] - stride[1], pad=left, field=window[1], stride=stride[1])
    c_split = split(shape[3], tile[3])
    parts = (n_split, h_split, w_split, c_split)
    return TensorTiling(
        role=Role.INPUT,
        name=tensor.name,
        layout="NHWC",
        shape=tuple(shape),
        strategy=strategy,
        tile_shape=tuple(tile),
        sizes=tuple(p[0] for p in parts),
        origins=tuple(p[1] for p in parts),
        alignment=alignment,
    )


def window_outputs(sizes, window: int, stride: int, pad_before: int, pad_after: int) -> tuple[int, ...]:
    """Output extent each input tile of a windowed op yields (first tile padded before, last after)."""
    n = len(sizes)
    out = []
    for i, size in enumerate(sizes):
        padded = size + (pad_before if i == 0 else 0) + (pad_after if i == n - 1 else 0)
        out.append((padded - window) // stride + 1 if padded >= window else 0)
    return tuple(out)


def _derived_split(counts: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(sizes, origins) of output tiles with the given extents (tiles yielding nothing dropped)."""
    sizes = tuple(c for c in counts if c > 0)
    origins, at = [], 0
    for s in sizes:
        origins.append(at)
        at += s
    return sizes, tuple(origins)


# --------------------------------------------------------------------------------------------------
# Convolution (smv_convolution_tiling.cpp)
# --------------------------------------------------------------------------------------------------


def _check_nhwc(op: Op) -> None:
    x = op.inputs[0]
    if x.layout != "NHWC":
        raise MappingError(
            f"op {op.name!r} ({op.kind}): input layout {x.layout}: the SMV backend runs NHWC "
            f"(build the graph with layout='NHWC', as SMAUG's reorder insertion does)"
        )


@dataclass(frozen=True)
class _Tiler:
    """What every per-op tiler shares: the op, its scratchpad size in elements, the alignment, the
    strategy choice with its error, and the plan it returns."""

    op: Op
    params: TilingParams
    accelerator: str
    itemsize: int
    spad: int  # elements of one scratchpad (SMAUG's maxTileSize)
    al: int  # alignment of the innermost dimension [elements]

    @classmethod
    def of(cls, op: Op, params: TilingParams, accelerator: str) -> _Tiler:
        itemsize = op.inputs[0].itemsize
        return cls(op, params, accelerator, itemsize, params.spad_elems(itemsize), params.alignment)

    def no_fit(self, role: str, smallest: tuple[int, ...], elems: int | None = None) -> MappingError:
        """The error for a tensor whose smallest tile does not fit one scratchpad."""
        elems = storage_elems(smallest, self.al) if elems is None else elems
        return _no_fit(self.op, _NoFit(role, smallest, elems), self.spad, self.params, self.itemsize)

    def strategies(self, *tensors: tuple[tuple[int, ...], tuple[int, ...], str]) -> tuple[TilingStrategy, ...]:
        """:func:`best_strategy` of each (shape, minimum tile, role), or the MappingError of the first misfit."""
        try:
            return tuple(best_strategy(shape, self.spad, mins, self.al, role) for shape, mins, role in tensors)
        except _NoFit as err:
            raise _no_fit(self.op, err, self.spad, self.params, self.itemsize) from None

    def inputs(self, shape: tuple[int, ...], strategy: TilingStrategy, channel_step: int,
               window: tuple[int, int] = (1, 1), stride: tuple[int, int] = (1, 1)) -> list[tuple[int, ...]]:
        """SMAUG's enumeration of the input tiles that fit, for ``strategy``: the minimum tile takes the
        window's rows and columns and ``channel_step`` channels along the tiled dimensions, and grows in
        steps of the stride (rows, columns) and of ``channel_step`` (channels)."""
        if len(shape) == 2:
            table2 = {S.N: ((1, shape[1]), (1, 1)), S.NC: ((1, channel_step), (1, channel_step))}
            return enum_2d(shape, self.spad, *table2[strategy], self.al) if strategy in table2 else [tuple(shape)]
        _, H, W, C = shape
        (r, c), (sr, sc), v = window, stride, channel_step
        table = {
            S.N: ((1, H, W, C), (1, 1, 1, 1)),
            S.NC: ((1, H, W, v), (1, 1, 1, v)),
            S.NH: ((1, r, W, C), (1, sr, 1, 1)),
            S.NW: ((1, H, c, C), (1, 1, sc, 1)),
            S.NHW: ((1, r, c, C), (1, sr, sc, 1)),
            S.NCH: ((1, r, W, v), (1, sr, 1, v)),
            S.NCW: ((1, H, c, v), (1, 1, sc, v)),
        }
        return enum_4d(shape, self.spad, *table[strategy], self.al) if strategy in table else [tuple(shape)]

    def plan(self, tensors, scheduler: Scheduler) -> TilingPlan:
        op = self.op
        return TilingPlan(op=op.name, kind=op.kind, accelerator=self.accelerator, spad_elems=self.spad,
                          tensors=tuple(tensors), params=_params(op, self.itemsize), scheduler=scheduler)


def _weight_tiles(t: _Tiler, K: int, C: int, c_i: int, w_dims: TilingStrategy, in_c_tiled: bool,
                  window: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The weight tiles ``(kernels, *window, channels)`` compatible with an input tile of ``c_i``
    channels (conv: window (R, S); inner product: none), in SMAUG's order."""
    P, M = t.params.num_pes, t.params.maccs_per_pe
    area = math.prod(window)
    if w_dims is S.NONE:
        return [(K, *window, c_i if in_c_tiled else C)]
    if w_dims is S.N or in_c_tiled:
        # DimN weights, or weights whose channels follow channel-tiled inputs.
        per = area * align_up(c_i, t.al)
        return [(n, *window, c_i) for n in range(min(K, P), K + 1, P) if n * per <= t.spad]
    weights = []  # NC weights, inputs not channel-tiled: channels enumerated independently
    for n in range(min(K, P), K + 1, P):
        for c in range(min(C, M), C + 1, M):
            if n * area * align_up(c, t.al) <= t.spad:
                weights.append((n, *window, c))
            else:
                break
    return weights


def _best_triple(t: _Tiler, inputs, weights_of, output_of, w_tiled: bool, out_tiled: bool, K: int):
    """SMAUG's search over (input, weight, output) tiles of a conv or FC: the combination that fills
    the three scratchpads most (``smv_convolution_tiling.cpp``/``smv_inner_product_tiling.cpp``).

    ``weights_of(input tile)`` lists weight tiles, ``output_of(input, weight, channels)`` the output
    tile; output channels grow in steps of the PEs unless weights or outputs are not tiled.
    Returns ((input, weight, output) or None, whether any weight tile fit)."""
    P = t.params.num_pes
    best_total, best, any_weights = -1, None, False
    for it in inputs:
        in_size = storage_elems(it, t.al)
        weights = weights_of(it)
        any_weights = any_weights or bool(weights)
        for wt in weights:
            w_size = storage_elems(wt, t.al)
            for c in range(min(wt[0], P), K + 1, P):
                ot = output_of(it, wt, c)
                o_size = storage_elems(ot, t.al)
                if o_size <= t.spad:
                    total = in_size + w_size + o_size
                    if total > best_total:
                        best_total, best = total, (it, wt, ot)
                if w_tiled or not out_tiled:
                    break
    return best, any_weights


# --------------------------------------------------------------------------------------------------
# Convolution (smv_convolution_tiling.cpp)
# --------------------------------------------------------------------------------------------------


def _conv_strategies(t: _Tiler, op: Convolution) -> tuple[TilingStrategy, TilingStrategy, TilingStrategy]:
    x, w = op.inputs
    y = op.output
    P, M = t.params.num_pes, t.params.maccs_per_pe
    K, R, S_, C = w.shape
    in_dims, w_dims = t.strategies((x.shape, (1, R, x.shape[2], M), "input"), (w.shape, (P, R, S_, M), "weight"))
    if w_dims.tiles("H") or w_dims.tiles("W"):
        raise t.no_fit("weight", (min(K, P), R, S_, min(C, M)))
    (out_dims,) = t.strategies((y.shape, (1, 1, y.shape[2], P), "output"))
    if w_dims.tiles("N"):
        out_dims = S.NC
    if in_dims.tiles("H"):
        out_dims = S.NCH if out_dims.tiles("C") else S.NH
    return in_dims, w_dims, out_dims


def tile_convolution(op: Convolution, params: TilingParams, accelerator: str = "smv") -> TilingPlan:
    """Tile a convolution with SMAUG's SMV rules (see the module docstring)."""
    _check_nhwc(op)
    if op.groups != 1:
        raise MappingError(
            f"op {op.name!r} (conv): groups = {op.groups}: the SMV convolution engine runs dense "
            f"convolutions only (SMAUG has no SMV depthwise kernel); run it on the CPU"
        )
    t = _Tiler.of(op, params, accelerator)
    x, w = op.inputs
    y = op.output
    P, M = params.num_pes, params.maccs_per_pe
    K, R, S_, C = w.shape
    _, OH, OW, _ = y.shape
    sr, sc = op.stride
    top, bottom, left, right = op.pads
    in_dims, w_dims, out_dims = _conv_strategies(t, op)
    in_c_tiled, w_tiled, out_h = in_dims.tiles("C"), w_dims is not S.NONE, out_dims.tiles("H")

    def output_of(it, wt, c):
        if out_h:
            return (it[0], (it[1] + top - R) // sr + 1, OW, wt[0])
        return (it[0], OH, OW, wt[0] if w_tiled else (c if out_dims is not S.NONE else K))

    best, any_weights = _best_triple(
        t, t.inputs(x.shape, in_dims, M, (R, x.shape[2]), (sr, 1)),
        lambda it: _weight_tiles(t, K, C, it[3], w_dims, in_c_tiled, (R, S_)),
        output_of, w_tiled, out_dims is not S.NONE, K,
    )
    if best is None:
        if not any_weights:
            raise t.no_fit("weight", (min(K, P), R, S_, min(C, M)))
        raise t.no_fit("output", (1, 1, OW, min(K, P)))
    it, wt, ot = best
    in_tiling = _windowed_input(x, in_dims, it, (R, S_), (sr, sc), op.pads, t.al)
    w_tiling = _uniform(Role.WEIGHTS, w, "NHWC", w.shape, w_dims, wt, t.al)
    if out_h:
        h_sizes, h_origins = _derived_split(window_outputs(in_tiling.sizes[1], R, sr, top, bottom))
        n_sizes, n_origins = split(x.shape[0], it[0])
        out_tiling = TensorTiling(
            role=Role.OUTPUT, name=y.name, layout="NHWC", shape=tuple(y.shape), strategy=out_dims,
            tile_shape=tuple(ot), sizes=(n_sizes, h_sizes, (OW,), w_tiling.sizes[0]),
            origins=(n_origins, h_origins, (0,), w_tiling.origins[0]), alignment=t.al,
        )
    else:
        out_tiling = _uniform(Role.OUTPUT, y, "NHWC", y.shape, out_dims, ot, t.al)
    _check_cover(op, out_tiling)
    return t.plan((in_tiling, w_tiling, out_tiling), Scheduler.CONV)


def _check_cover(op: Op, tiling: TensorTiling) -> None:
    """Internal consistency: the tiles of a derived output tiling cover the tensor exactly."""
    for d, (sizes, origins, extent) in enumerate(zip(tiling.sizes, tiling.origins, tiling.shape)):
        if origins[-1] + sizes[-1] != extent or any(o + s != n for o, s, n in zip(origins, sizes, origins[1:])):
            raise MappingError(
                f"op {op.name!r} ({op.kind}): output tiles along dimension {d} ({sizes} at {origins}) do not "
                f"cover its {extent} elements; this tiling is not supported"
            )


def _params(op: Op, itemsize: int) -> tuple[tuple[str, object], ...]:
    out: dict[str, object] = {"itemsize": itemsize}
    if isinstance(op, InnerProduct) and op.inputs[1].itemsize != itemsize:
        # int8 weights (weight-only quantization): 1 B per element in host memory and in transfers; the
        # scratchpads hold them dequantized, so the tiling counts elements of ``itemsize`` as for any op
        out["weight_itemsize"] = op.inputs[1].itemsize
    if isinstance(op, Convolution):
        out.update(kernel=op.kernel, stride=op.stride, pads=op.pads)
    if isinstance(op, Pooling):
        out.update(kernel=op.pool_size, stride=op.stride, pads=op.pads, mode=op.mode)
    activation = getattr(op, "activation", None)
    if isinstance(op, Activation):
        activation = op.function
    if activation is not None:
        out["activation"] = activation
        out["activation_params"] = tuple(getattr(op, "activation_params", ()))
    if isinstance(op, Eltwise):
        out["function"] = op.function
    return tuple(sorted(out.items()))


# --------------------------------------------------------------------------------------------------
# Inner product (smv_inner_product_tiling.cpp)
# --------------------------------------------------------------------------------------------------


def tile_inner_product(op: InnerProduct, params: TilingParams, accelerator: str = "smv") -> TilingPlan:
    """Tile an inner product (NC inputs, K x C weights, NC outputs) with SMAUG's SMV rules."""
    t = _Tiler.of(op, params, accelerator)
    x, w = op.inputs
    y = op.output
    P, M = params.num_pes, params.maccs_per_pe
    C, K = x.shape[1], w.shape[0]
    in_dims, w_dims, out_dims = t.strategies(
        (x.shape, (1, M), "input"), (w.shape, (P, M), "weight"), (y.shape, (1, P), "output")
    )
    if w_dims is not S.NONE and out_dims is not S.NONE:
        out_dims = S.NC
    in_c_tiled, w_tiled, out_tiled = in_dims.tiles("C"), w_dims is not S.NONE, out_dims is not S.NONE

    def output_of(it, wt, c):
        return (it[0], wt[0] if (w_tiled and out_tiled) else (c if out_tiled else K))

    best, any_weights = _best_triple(
        t, t.inputs(x.shape, in_dims, M), lambda it: _weight_tiles(t, K, C, it[1], w_dims, in_c_tiled, ()),
        output_of, w_tiled, out_tiled, K,
    )
    if best is None:
        if not any_weights:
            raise t.no_fit("weight", (min(K, P), min(C, M)))
        raise t.no_fit("output", (1, min(K, P)))
    it, wt, ot = best
    return t.plan(
        (_uniform(Role.INPUT, x, "NC", x.shape, in_dims, it, t.al),
         _uniform(Role.WEIGHTS, w, "NC", w.shape, w_dims, wt, t.al),
         _uniform(Role.OUTPUT, y, "NC", y.shape, out_dims, ot, t.al)),
        Scheduler.INNER_PRODUCT,
    )


# --------------------------------------------------------------------------------------------------
# Pooling (smv_pooling_tiling.cpp)
# --------------------------------------------------------------------------------------------------


def _pool_tiles(t: _Tiler, op: Pooling, in_dims: TilingStrategy, out_dims: TilingStrategy):
    """The (input, output) tile pair that fills the scratchpads most."""
    x, y = op.inputs[0], op.output
    V = t.params.vector_width
    C = x.shape[3]
    ph, pw = op.pool_size
    sh, sw = op.stride
    top, _, left, _ = op.pads
    _, OH, OW, _ = y.shape
    # Output tiles take the input tile's channels when both are channel-tiled, else all channels.
    both_c = in_dims.tiles("C") and out_dims.tiles("C")
    best_total, best = -1, None
    for it in t.inputs(x.shape, in_dims, V, (ph, pw), (sh, sw)):
        n_i, h_i, w_i, c_i = it
        oh = (h_i + top - ph) // sh + 1 if out_dims.tiles("H") else OH
        ow = (w_i + left - pw) // sw + 1 if out_dims.tiles("W") else OW
        ot = (n_i, oh, ow, c_i if both_c else C)
        o_size = storage_elems(ot, t.al)
        if o_size <= t.spad:
            total = storage_elems(it, t.al) + o_size
            if total > best_total:
                best_total, best = total, (it, ot)
    if best is None:
        raise t.no_fit("output", (1, 1, 1, min(C, V)))
    return best


def tile_pooling(op: Pooling, params: TilingParams, accelerator: str = "smv") -> TilingPlan:
    """Tile a max or average pool with SMAUG's SMV rules."""
    _check_nhwc(op)
    t = _Tiler.of(op, params, accelerator)
    (x,) = op.inputs
    y = op.output
    V = params.vector_width
    C = x.shape[3]
    ph, pw = op.pool_size
    sh, sw = op.stride
    top, bottom, left, right = op.pads
    in_dims, out_dims = t.strategies((x.shape, (1, ph, pw, V), "input"), (y.shape, (1, 1, 1, V), "output"))
    if in_dims.tiles("H"):
        out_dims = S.NCH if out_dims.tiles("C") else (S.NHW if out_dims.tiles("W") else S.NH)
    if in_dims.tiles("W"):
        out_dims = S.NCW if out_dims.tiles("C") else (S.NHW if out_dims.tiles("H") else S.NW)
    it, ot = _pool_tiles(t, op, in_dims, out_dims)
    in_tiling = _windowed_input(x, in_dims, it, (ph, pw), (sh, sw), op.pads, t.al)
    rows = window_outputs(in_tiling.sizes[1], ph, sh, top, bottom)
    cols = window_outputs(in_tiling.sizes[2], pw, sw, left, right)
    h_sizes, h_origins = _derived_split(rows)
    w_sizes, w_origins = _derived_split(cols)
    if len(h_sizes) != len(rows) or len(w_sizes) != len(cols):
        raise MappingError(
            f"op {op.name!r} ({op.kind}): a row or column tile of the input yields no output "
            f"(pool {op.pool_size}, stride {op.stride}); this tiling is not supported"
        )
    both_c = in_dims.tiles("C") and out_dims.tiles("C")
    c_sizes, c_origins = (in_tiling.sizes[3], in_tiling.origins[3]) if both_c else ((C,), (0,))
    out_tiling = TensorTiling(
        role=Role.OUTPUT, name=y.name, layout="NHWC", shape=tuple(y.shape), strategy=out_dims,
        tile_shape=tuple(ot), sizes=(in_tiling.sizes[0], h_sizes, w_sizes, c_sizes),
        origins=(in_tiling.origins[0], h_origins, w_origins, c_origins), alignment=t.al,
    )
    _check_cover(op, out_tiling)
    return t.plan((in_tiling, out_tiling), Scheduler.POOL)


# --------------------------------------------------------------------------------------------------
# Batch norm (smv_batch_norm_tiling.cpp)
# --------------------------------------------------------------------------------------------------


def _bn_conv_tiles(t: _Tiler, x: Tensor, w: Tensor, in_dims: TilingStrategy, w_dims: TilingStrategy):
    """After a conv: the input tile (the output's too) that fills the scratchpads most; parameters whole."""
    V = t.params.vector_width
    if w_dims is not S.NONE:
        raise t.no_fit("weight", (4, x.shape[3]))
    inputs = t.inputs(x.shape, in_dims, V, (V, V), (V, V))
    if not inputs:
        raise t.no_fit("input", (1, 1, 1, V), V)
    w_size = storage_elems(w.shape, t.al)
    best_total, best = -1, None
    for it in inputs:
        total = 2 * storage_elems(it, t.al) + w_size
        if total > best_total:
            best_total, best = total, it
    return best, w.shape


def _bn_fc_tiles(t: _Tiler, x: Tensor, in_dims: TilingStrategy, w_dims: TilingStrategy):
    """After an FC: the (input, parameter) tiles that fill the scratchpads most."""
    V = t.params.vector_width
    C = x.shape[-1]
    best_total, best = -1, None
    for it in t.inputs(x.shape, in_dims, V):
        if w_dims == S.NC and in_dims.tiles("C"):
            cands = [(4, it[1])] if storage_elems((4, it[1]), t.al) <= t.spad else []
        elif w_dims == S.NC:
            cands = []
            for c in range(min(C, V), C + 1, V):
                if storage_elems((4, c), t.al) <= t.spad:
                    cands.append((4, c))
                else:
                    break
        else:
            cands = [(4, C)]
        for wt in cands:
            total = 2 * storage_elems(it, t.al) + storage_elems(wt, t.al)
            if total > best_total:
                best_total, best = total, (it, wt)
    if best is None:
        raise t.no_fit("weight", (4, V))
    return best


def tile_batch_norm(op: BatchNorm, params: TilingParams, accelerator: str = "smv") -> TilingPlan:
    """Tile a batch norm (after a conv: NHWC; after an FC: NC); its 4 parameter vectors form a 4 x C tensor."""
    t = _Tiler.of(op, params, accelerator)
    x = op.inputs[0]
    y = op.output
    V = params.vector_width
    if x.layout not in ("NHWC", "NC"):
        _check_nhwc(op)
    w = Tensor(f"{op.name}/params", (4, x.shape[-1]), "NC", x.dtype, constant=True)
    post_conv = x.rank == 4
    in_dims, w_dims = t.strategies(
        (x.shape, (1, V, V, V) if post_conv else (1, V), "input"), (w.shape, (4, V), "weight")
    )
    if post_conv:
        it, wt = _bn_conv_tiles(t, x, w, in_dims, w_dims)
        layout, scheduler = "NHWC", Scheduler.BATCH_NORM_CONV
    else:
        it, wt = _bn_fc_tiles(t, x, in_dims, w_dims)
        layout, scheduler = "NC", Scheduler.BATCH_NORM_FC
    return t.plan(
        (_uniform(Role.INPUT, x, layout, x.shape, in_dims, it, t.al),
         _uniform(Role.WEIGHTS, w, "NC", w.shape, w_dims, wt, t.al),
         _uniform(Role.OUTPUT, y, layout, y.shape, in_dims, it, t.al)),
        scheduler,
    )


# --------------------------------------------------------------------------------------------------
# Unary, element-wise and softmax (smv_unary_op_common.cpp, smv_eltwise_*_op.cpp, smv_softmax_op.cpp)
# --------------------------------------------------------------------------------------------------


def _flat(role: Role, tensor: Tensor, chunk: int, alignment: int) -> TensorTiling:
    total = storage_elems(tensor.shape, alignment)
    sizes, origins = split(total, chunk)
    return TensorTiling(
        role=role,
        name=tensor.name,
        layout="NC",
        shape=(1, total),
        strategy=S.NONE if len(sizes) == 1 else S.NC,
        tile_shape=(1, chunk),
        sizes=((1,), sizes),
        origins=((0,), origins),
        alignment=alignment,
        flat=True,
    )


def tile_elementwise(op: Op, params: TilingParams, accelerator: str = "smv") -> TilingPlan:
    """Tile a unary activation or binary element-wise op: contiguous chunks of one scratchpad each.

    SMAUG's ``generateTiledTensorPerBatchNC`` with tile ``{1, min(spad elements, storage size)}``;
    both inputs of a binary op must have the same shape (SMAUG inserts a repeat op otherwise).
    """
    t = _Tiler.of(op, params, accelerator)
    x = op.inputs[0]
    if isinstance(op, Eltwise) and op.inputs[0].shape != op.inputs[1].shape:
        raise MappingError(
            f"op {op.name!r} ({op.kind}): input shapes {op.inputs[0].shape} and {op.inputs[1].shape} differ; "
            f"the SMV element-wise kernels need equal shapes (broadcast with tensor.repeat first)"
        )
    chunk = min(t.spad, storage_elems(x.shape, t.al))
    tensors = [_flat(Role.INPUT, x, chunk, t.al)]
    if isinstance(op, Eltwise):
        tensors.append(_flat(Role.INPUT1, op.inputs[1], chunk, t.al))
    tensors.append(_flat(Role.OUTPUT, op.output, chunk, t.al))
    return t.plan(tensors, Scheduler.ELEMENTWISE)


def tile_softmax(op: Activation, params: TilingParams, accelerator: str = "smv") -> TilingPlan:
    """Tile a softmax over the last dimension: whole rows, as many as fit (SMAUG tiles only N)."""
    t = _Tiler.of(op, params, accelerator)
    x = op.inputs[0]
    y = op.output
    rows = x.size // x.shape[-1]
    width = x.shape[-1]
    row_elems = align_up(width, t.al)
    if row_elems > t.spad:
        raise MappingError(
            f"op {op.name!r} (softmax): the smallest input tile (1, {width}) needs {row_elems} elements, "
            f"more than one {params.spad_bytes}-byte scratchpad holds ({t.spad} elements of {t.itemsize} B); "
            f"use larger scratchpads"
        )
    per = min(t.spad // row_elems, rows)
    strategy = S.NONE if per >= rows else S.N
    xs = Tensor(x.name, (rows, width), "NC", x.dtype)
    ys = Tensor(y.name, (rows, width), "NC", y.dtype)
    return t.plan(
        (_uniform(Role.INPUT, xs, "NC", xs.shape, strategy, (per, width), t.al),
         _uniform(Role.OUTPUT, ys, "NC", ys.shape, strategy, (per, width), t.al)),
        Scheduler.ELEMENTWISE,
    )


# --------------------------------------------------------------------------------------------------
# Dispatch
# --------------------------------------------------------------------------------------------------

#: Operator kinds the SMV backend runs (SMAUG ``core/backend.h``); everything else runs on the CPU.
SUPPORTED = (
    "conv",
    "inner_product",
    "max_pool",
    "avg_pool",
    "batch_norm",
    "relu",
    "lrelu",
    "elu",
    "selu",
    "tanh",
    "hard_tanh",
    "sigmoid",
    "softmax",
    "add",
    "mul",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
)


def supports(op: Op) -> bool:
    """Whether the SMV backend has a kernel for ``op`` (depthwise convolutions it has not; nor
    anything on rank-0 tensors, which SMAUG's tilers cannot cut)."""
    if any(t.rank == 0 for t in (*op.inputs, *op.outputs)):
        return False
    if isinstance(op, Convolution):
        return op.groups == 1
    return op.kind in SUPPORTED


_PLANS_LIMIT = 4096


def _signature(op: Op, params: TilingParams, accelerator: str) -> tuple:
    """What a plan depends on: the op's signature (not names), the tiling parameters, the accelerator."""
    return (*op.signature, params, accelerator)


def _role_names(op: Op) -> dict[str, str]:
    """The tensor name of each role of ``op``'s plan (what a memoized plan of another op must be renamed to)."""
    names = {"input": op.inputs[0].name, "output": op.outputs[0].name}
    if len(op.inputs) > 1:
        names["input1"] = op.inputs[1].name
        names["weights"] = op.inputs[1].name
    if isinstance(op, BatchNorm):
        names["weights"] = f"{op.name}/params"
    return names


def _renamed(plan: TilingPlan, op: Op) -> TilingPlan:
    """``plan`` (memoized for an op of the same signature) for ``op``: its op and tensor names; ``plan``
    itself when they already match (two networks can hold ops of one name on tensors of other names,
    and the memory pass places tensors by name)."""
    names = _role_names(op)
    if plan.op == op.name and all(t.name == names.get(t.role, t.name) for t in plan.tensors):
        return plan
    tensors = tuple(
        t if t.name == names.get(t.role, t.name) else _copy_with(t, name=names[t.role]) for t in plan.tensors
    )
    return _copy_with(plan, op=op.name, tensors=tensors)  # schedules hold no names: shared


def _copy_with(obj, **changes):
    """A copy of a frozen dataclass with some fields changed, without re-running __init__ (fast)."""
    new = object.__new__(type(obj))
    new.__dict__.update(obj.__dict__)
    new.__dict__.update(changes)
    return new


def tile_op(op: Op, params: TilingParams = TilingParams(), accelerator: str = "smv") -> TilingPlan:
    """The SMAUG SMV tiling plan of ``op``; MappingError if the SMV backend cannot run it.

    Plans are memoized on what they depend on (shapes and parameters, not names), so the repeated
    blocks of a ResNet are tiled once.
    """
    if not isinstance(op, Op):
        raise MappingError(f"tile_op: {describe(op)} is not an operator")
    if not op.outputs:
        raise MappingError(f"op {op.name!r} ({op.kind}): has no outputs (add it to a graph first)")
    key = _signature(op, params, accelerator)
    plan = SIM_CACHE.get("tiling_plans", key, lambda: _tile_uncached(op, params, accelerator), _PLANS_LIMIT)
    return _renamed(plan, op)


def clear_cache() -> None:
    """Forget memoized plans (for benchmarks that time cold tiling)."""
    SIM_CACHE.table("tiling_plans", _PLANS_LIMIT).clear()


def _tile_uncached(op: Op, params: TilingParams, accelerator: str) -> TilingPlan:
    try:
        return _dispatch(op, params, accelerator)
    except _NoProgress as err:
        raise MappingError(
            f"op {op.name!r} ({op.kind}): {err}; pads larger than the window are not supported"
        ) from None


def _dispatch(op: Op, params: TilingParams, accelerator: str) -> TilingPlan:
    if isinstance(op, Convolution):
        return tile_convolution(op, params, accelerator)
    if isinstance(op, InnerProduct):
        return tile_inner_product(op, params, accelerator)
    if isinstance(op, Pooling):
        return tile_pooling(op, params, accelerator)
    if isinstance(op, BatchNorm):
        return tile_batch_norm(op, params, accelerator)
    if isinstance(op, Activation) and op.function == "softmax":
        return tile_softmax(op, params, accelerator)
    if isinstance(op, (Activation, Eltwise)):
        return tile_elementwise(op, params, accelerator)
    raise MappingError(
        f"op {op.name!r} ({op.kind}): the SMV backend has no kernel for it (it runs on the CPU); "
        f"supported: {', '.join(SUPPORTED)}"
    )


__all__ = [
    "SUPPORTED",
    "TilingParams",
    "best_strategy",
    "clear_cache",
    "enum_2d",
    "enum_4d",
    "padded_first_tile",
    "split",
    "supports",
    "tile_op",
    "window_outputs",
]
