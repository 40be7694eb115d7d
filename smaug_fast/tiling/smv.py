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

from dataclasses import dataclass

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
) -> str:
    """SMAUG's ``findBestTilingDims``: the first strategy whose minimum tile fits (NHWC or NC shapes).

    The minimum along a dimension is ``min(min_shape[d], shape[d])``; the test for a strategy is
    ``per_batch_storage x prod(min_d / shape_d) <= spad_elems`` over the dimensions it tiles besides N
    (done here in exact integer arithmetic). Raises ``_NoFit`` when none fits.
    """
    total = storage_elems(shape, alignment)
    if total <= spad_elems:
        return "None"
    rank = len(shape)
    c = rank - 1
    per_n = total // shape[0]
    min_n = min(shape[0], min_shape[0])
    min_c = min(shape[c], min_shape[c])
    if per_n * min_n <= spad_elems:
        return "N"
    if per_n * min_c <= spad_elems * shape[c]:
        return "NC"
    if rank == 4:
        h, w = 1, 2
        min_h = min(shape[h], min_shape[h])
        min_w = min(shape[w], min_shape[w])
        if per_n * min_h <= spad_elems * shape[h]:
            return "NH"
        if per_n * min_w <= spad_elems * shape[w]:
            return "NW"
        if per_n * min_h * min_w <= spad_elems * shape[h] * shape[w]:
            return "NHW"
        if per_n * min_c * min_h <= spad_elems * shape[c] * shape[h]:
            return "NCH"
        if per_n * min_c * min_w <= spad_elems * shape[c] * shape[w]:
            return "NCW"
    smallest = tuple(min(s, m) for s, m in zip(shape, min_shape))
    smallest = (1, *smallest[1:])
    raise _NoFit(role, smallest, storage_elems(smallest, alignment))


def _has(strategy: str, dim: str) -> bool:
    """Whether ``strategy`` tiles dimension ``dim`` ("N", "C", "H" or "W"); N is tiled by every one but None."""
    if dim == "N":
        return strategy != "None"
    return strategy != "None" and dim in strategy[1:]


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


def _uniform(role: str, tensor: Tensor, layout: str, shape, strategy: str, tile, alignment: int) -> TensorTiling:
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
    tensor: Tensor, strategy: str, tile, window: tuple[int, int], stride: tuple[int, int], pads, alignment: int
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
        role="input",
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


def tile_convolution(op: Convolution, params: TilingParams, accelerator: str = "smv") -> TilingPlan:
    """Tile a convolution with SMAUG's SMV rules (see the module docstring)."""
    _check_nhwc(op)
    if op.groups != 1:
        raise MappingError(
            f"op {op.name!r} (conv): groups = {op.groups}: the SMV convolution engine runs dense "
            f"convolutions only (SMAUG has no SMV depthwise kernel); run it on the CPU"
        )
    x, w = op.inputs
    y = op.output
    itemsize = x.itemsize
    spad = params.spad_elems(itemsize)
    al = params.alignment
    P, M = params.num_pes, params.maccs_per_pe
    N, H, W, C = x.shape
    K, R, S, _ = w.shape
    _, OH, OW, _ = y.shape
    sr, sc = op.stride
    top, bottom, left, right = op.pads
    try:
        in_dims = best_strategy(x.shape, spad, (1, R, W, M), al, "input")
        w_dims = best_strategy(w.shape, spad, (P, R, S, M), al, "weight")
        if _has(w_dims, "H") or _has(w_dims, "W"):
            smallest = (min(K, P), R, S, min(C, M))
            raise _NoFit("weight", smallest, storage_elems(smallest, al))
        out_dims = best_strategy(y.shape, spad, (1, 1, OW, P), al, "output")
    except _NoFit as err:
        raise _no_fit(op, err, spad, params, itemsize) from None
    if _has(w_dims, "N"):
        out_dims = "NC"
    if _has(in_dims, "H"):
        out_dims = "NCH" if _has(out_dims, "C") else "NH"

    # 1. Input tiles.
    if in_dims == "N":
        inputs = enum_4d(x.shape, spad, (1, H, W, C), (1, 1, 1, 1), al)
    elif in_dims == "NC":
        inputs = enum_4d(x.shape, spad, (1, H, W, M), (1, 1, 1, M), al)
    elif in_dims == "NH":
        inputs = enum_4d(x.shape, spad, (1, R, W, C), (1, sr, 1, 1), al)
    elif in_dims == "NCH":
        inputs = enum_4d(x.shape, spad, (1, R, W, M), (1, sr, 1, M), al)
    elif in_dims == "None":
        inputs = [tuple(x.shape)]
    else:  # NW, NHW, NCW cannot be chosen with a full-width minimum tile
        inputs = [tuple(x.shape)]
    in_c_tiled = _has(in_dims, "C")
    w_tiled = w_dims != "None"
    out_h = _has(out_dims, "H")

    best_total, best = -1, None
    any_weights = False
    for it in inputs:
        n_i, h_i, w_i, c_i = it
        in_size = n_i * h_i * w_i * align_up(c_i, al)
        # 2. Weight tiles compatible with this input tile.
        if w_dims == "None":
            weights = [(K, R, S, c_i if in_c_tiled else C)]
        elif w_dims == "N" or in_c_tiled:
            per = R * S * align_up(c_i, al)
            # DimN weights, or weights whose channels follow channel-tiled inputs.
            weights = [(n, R, S, c_i) for n in range(min(K, P), K + 1, P) if n * per <= spad]
        else:  # NC weights, inputs not channel-tiled: channels enumerated independently
            weights = []
            for n in range(min(K, P), K + 1, P):
                for c in range(min(C, M), C + 1, M):
                    if n * R * S * align_up(c, al) <= spad:
                        weights.append((n, R, S, c))
                    else:
                        break
        any_weights = any_weights or bool(weights)
        # 3. Output tiles.
        if out_h:
            rows = (h_i + top - R) // sr + 1
        for wt in weights:
            w_size = wt[0] * R * S * align_up(wt[3], al)
            for c in range(min(wt[0], P), K + 1, P):
                if out_h:
                    ot = (n_i, rows, OW, wt[0])
                elif w_tiled:
                    ot = (n_i, OH, OW, wt[0])
                elif out_dims != "None":
                    ot = (n_i, OH, OW, c)
                else:
                    ot = (n_i, OH, OW, K)
                o_size = ot[0] * ot[1] * OW * align_up(ot[3], al)
                if o_size <= spad:
                    total = in_size + w_size + o_size
                    if total > best_total:
                        best_total, best = total, (it, wt, ot)
                if w_tiled or out_dims == "None":
                    break
    if best is None:
        if not any_weights:
            smallest = (min(K, P), R, S, min(C, M))
            raise _no_fit(op, _NoFit("weight", smallest, storage_elems(smallest, al)), spad, params, itemsize)
        smallest = (1, 1, OW, min(K, P))
        raise _no_fit(op, _NoFit("output", smallest, storage_elems(smallest, al)), spad, params, itemsize)
    it, wt, ot = best

    pads = (top, bottom, left, right)
    in_tiling = _windowed_input(x, in_dims, it, (R, S), (sr, sc), pads, al)
    w_tiling = _uniform("weights", w, "NHWC", w.shape, w_dims, wt, al)
    if out_h:
        rows = window_outputs(in_tiling.sizes[1], R, sr, top, bottom)
        h_sizes, h_origins = _derived_split(rows)
        n_split = split(N, it[0])
        k_sizes = w_tiling.sizes[0]
        k_origins = w_tiling.origins[0]
        out_tiling = TensorTiling(
            role="output",
            name=y.name,
            layout="NHWC",
            shape=tuple(y.shape),
            strategy=out_dims,
            tile_shape=tuple(ot),
            sizes=(n_split[0], h_sizes, (OW,), k_sizes),
            origins=(n_split[1], h_origins, (0,), k_origins),
            alignment=al,
        )
    else:
        out_tiling = _uniform("output", y, "NHWC", y.shape, out_dims, ot, al)
    _check_cover(op, out_tiling)
    return TilingPlan(
        op=op.name,
        kind=op.kind,
        accelerator=accelerator,
        spad_elems=spad,
        tensors=(in_tiling, w_tiling, out_tiling),
        params=_params(op, itemsize),
        scheduler="conv",
    )


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
    x, w = op.inputs
    y = op.output
    itemsize = x.itemsize
    spad = params.spad_elems(itemsize)
    al = params.alignment
    P, M = params.num_pes, params.maccs_per_pe
    N, C = x.shape
    K = w.shape[0]
    try:
        in_dims = best_strategy(x.shape, spad, (1, M), al, "input")
        w_dims = best_strategy(w.shape, spad, (P, M), al, "weight")
        out_dims = best_strategy(y.shape, spad, (1, P), al, "output")
    except _NoFit as err:
        raise _no_fit(op, err, spad, params, itemsize) from None
    if w_dims != "None" and out_dims != "None":
        out_dims = "NC"
    if in_dims == "N":
        inputs = enum_2d(x.shape, spad, (1, C), (1, 1), al)
    elif in_dims == "NC":
        inputs = enum_2d(x.shape, spad, (1, M), (1, M), al)
    else:
        inputs = [tuple(x.shape)]
    in_c_tiled = _has(in_dims, "C")
    w_tiled = w_dims != "None"
    out_tiled = out_dims != "None"
    best_total, best = -1, None
    any_weights = False
    for it in inputs:
        n_i, c_i = it
        in_size = n_i * align_up(c_i, al)
        if w_dims == "None":
            weights = [(K, c_i if in_c_tiled else C)]
        elif w_dims == "N" or in_c_tiled:
            per = align_up(c_i, al)
            weights = [(n, c_i) for n in range(min(K, P), K + 1, P) if n * per <= spad]
        else:
            weights = []
            for n in range(min(K, P), K + 1, P):
                for c in range(min(C, M), C + 1, M):
                    if n * align_up(c, al) <= spad:
                        weights.append((n, c))
                    else:
                        break
        any_weights = any_weights or bool(weights)
        for wt in weights:
            w_size = storage_elems(wt, al)
            for c in range(min(wt[0], P), K + 1, P):
                if w_tiled and out_tiled:
                    ot = (n_i, wt[0])
                elif out_tiled:
                    ot = (n_i, c)
                else:
                    ot = (n_i, K)
                o_size = storage_elems(ot, al)
                if o_size <= spad:
                    total = in_size + w_size + o_size
                    if total > best_total:
                        best_total, best = total, (it, wt, ot)
                if w_tiled or not out_tiled:
                    break
    if best is None:
        if not any_weights:
            smallest = (min(K, P), min(C, M))
            raise _no_fit(op, _NoFit("weight", smallest, storage_elems(smallest, al)), spad, params, itemsize)
        smallest = (1, min(K, P))
        raise _no_fit(op, _NoFit("output", smallest, storage_elems(smallest, al)), spad, params, itemsize)
    it, wt, ot = best
    return TilingPlan(
        op=op.name,
        kind=op.kind,
        accelerator=accelerator,
        spad_elems=spad,
        tensors=(
            _uniform("input", x, "NC", x.shape, in_dims, it, al),
            _uniform("weights", w, "NC", w.shape, w_dims, wt, al),
            _uniform("output", y, "NC", y.shape, out_dims, ot, al),
        ),
        params=_params(op, itemsize),
        scheduler="inner_product",
    )


# --------------------------------------------------------------------------------------------------
# Pooling (smv_pooling_tiling.cpp)
# --------------------------------------------------------------------------------------------------


def tile_pooling(op: Pooling, params: TilingParams, accelerator: str = "smv") -> TilingPlan:
    """Tile a max or average pool with SMAUG's SMV rules."""
    _check_nhwc(op)
    (x,) = op.inputs
    y = op.output
    itemsize = x.itemsize
    spad = params.spad_elems(itemsize)
    al = params.alignment
    V = params.vector_width
    N, H, W, C = x.shape
    ph, pw = op.pool_size
    sh, sw = op.stride
    top, bottom, left, right = op.pads
    try:
        in_dims = best_strategy(x.shape, spad, (1, ph, pw, V), al, "input")
        out_dims = best_strategy(y.shape, spad, (1, 1, 1, V), al, "output")
    except _NoFit as err:
        raise _no_fit(op, err, spad, params, itemsize) from None
    if _has(in_dims, "H"):
        out_dims = "NCH" if _has(out_dims, "C") else ("NHW" if _has(out_dims, "W") else "NH")
    if _has(in_dims, "W"):
        out_dims = "NCW" if _has(out_dims, "C") else ("NHW" if _has(out_dims, "H") else "NW")
    table = {
        "N": ((1, H, W, C), (1, 1, 1, 1)),
        "NC": ((1, H, W, V), (1, 1, 1, V)),
        "NH": ((1, ph, W, C), (1, sh, 1, 1)),
        "NW": ((1, H, pw, C), (1, 1, sw, 1)),
        "NHW": ((1, ph, pw, C), (1, sh, sw, 1)),
        "NCH": ((1, ph, W, V), (1, sh, 1, V)),
        "NCW": ((1, H, pw, V), (1, 1, sw, V)),
    }
    if in_dims in table:
        inputs = enum_4d(x.shape, spad, *table[in_dims], al)
    else:
        inputs = [tuple(x.shape)]
    # Output tiles take the input tile's channels when both are channel-tiled, else all channels.
    in_c, out_c = _has(in_dims, "C"), _has(out_dims, "C")
    best_total, best = -1, None
    _, OH, OW, _ = y.shape
    for it in inputs:
        n_i, h_i, w_i, c_i = it
        oh = (h_i + top - ph) // sh + 1 if _has(out_dims, "H") else OH
        ow = (w_i + left - pw) // sw + 1 if _has(out_dims, "W") else OW
        oc = c_i if (in_c and out_c) else C
        ot = (n_i, oh, ow, oc)
        o_size = storage_elems(ot, al)
        if o_size <= spad:
            total = storage_elems(it, al) + o_size
            if total > best_total:
                best_total, best = total, (it, ot)
    if best is None:
        smallest = (1, 1, 1, min(C, V))
        raise _no_fit(op, _NoFit("output", smallest, storage_elems(smallest, al)), spad, params, itemsize)
    it, ot = best
    pads = (top, bottom, left, right)
    in_tiling = _windowed_input(x, in_dims, it, (ph, pw), (sh, sw), pads, al)
    rows = window_outputs(in_tiling.sizes[1], ph, sh, top, bottom)
    cols = window_outputs(in_tiling.sizes[2], pw, sw, left, right)
    h_sizes, h_origins = _derived_split(rows)
    w_sizes, w_origins = _derived_split(cols)
    if len(h_sizes) != len(rows) or len(w_sizes) != len(cols):
        raise MappingError(
            f"op {op.name!r} ({op.kind}): a row or column tile of the input yields no output "
            f"(pool {op.pool_size}, stride {op.stride}); this tiling is not supported"
        )
    n_split = in_tiling.sizes[0], in_tiling.origins[0]
    c_split = (in_tiling.sizes[3], in_tiling.origins[3]) if (in_c and out_c) else ((C,), (0,))
    out_tiling = TensorTiling(
        role="output",
        name=y.name,
        layout="NHWC",
        shape=tuple(y.shape),
        strategy=out_dims,
        tile_shape=tuple(ot),
        sizes=(n_split[0], h_sizes, w_sizes, c_split[0]),
        origins=(n_split[1], h_origins, w_origins, c_split[1]),
        alignment=al,
    )
    _check_cover(op, out_tiling)
    return TilingPlan(
        op=op.name,
        kind=op.kind,
        accelerator=accelerator,
        spad_elems=spad,
        tensors=(in_tiling, out_tiling),
        params=_params(op, itemsize),
        scheduler="pool",
    )


# --------------------------------------------------------------------------------------------------
# Batch norm (smv_batch_norm_tiling.cpp)
# --------------------------------------------------------------------------------------------------


def tile_batch_norm(op: BatchNorm, params: TilingParams, accelerator: str = "smv") -> TilingPlan:
    """Tile a batch norm (after a conv: NHWC; after an FC: NC); its 4 parameter vectors form a 4 x C tensor."""
    x = op.inputs[0]
    y = op.output
    itemsize = x.itemsize
    spad = params.spad_elems(itemsize)
    al = params.alignment
    V = params.vector_width
    if x.layout not in ("NHWC", "NC"):
        _check_nhwc(op)
    C = x.shape[-1]
    w = Tensor(f"{op.name}/params", (4, C), "NC", x.dtype, constant=True)
    post_conv = x.rank == 4
    try:
        if post_conv:
            in_dims = best_strategy(x.shape, spad, (1, V, V, V), al, "input")
        else:
            in_dims = best_strategy(x.shape, spad, (1, V), al, "input")
        w_dims = best_strategy(w.shape, spad, (4, V), al, "weight")
    except _NoFit as err:
        raise _no_fit(op, err, spad, params, itemsize) from None
    if post_conv:
        if w_dims != "None":
            smallest = (4, C)
            raise _no_fit(op, _NoFit("weight", smallest, storage_elems(smallest, al)), spad, params, itemsize)
        N, H, W, _ = x.shape
        table = {
            "N": ((1, H, W, C), (1, 1, 1, 1)),
            "NC": ((1, H, W, V), (1, 1, 1, V)),
            "NH": ((1, V, W, C), (1, V, 1, 1)),
            "NW": ((1, H, V, C), (1, 1, V, 1)),
            "NHW": ((1, V, V, C), (1, V, V, 1)),
            "NCH": ((1, V, W, V), (1, V, 1, V)),
            "NCW": ((1, H, V, V), (1, 1, V, V)),
        }
        inputs = enum_4d(x.shape, spad, *table[in_dims], al) if in_dims in table else [tuple(x.shape)]
        if not inputs:
            raise _no_fit(op, _NoFit("input", (1, 1, 1, V), V), spad, params, itemsize)
        w_size = storage_elems(w.shape, al)
        best_total, best = -1, None
        for it in inputs:
            total = 2 * storage_elems(it, al) + w_size
            if total > best_total:
                best_total, best = total, it
        it, wt = best, w.shape
        layout = "NHWC"
        scheduler = "batch_norm_conv"
    else:
        N = x.shape[0]
        if in_dims == "N":
            inputs = enum_2d(x.shape, spad, (1, C), (1, 1), al)
        elif in_dims == "NC":
            inputs = enum_2d(x.shape, spad, (1, V), (1, V), al)
        else:
            inputs = [tuple(x.shape)]
        best_total, best = -1, None
        for it in inputs:
            if w_dims == "NC" and _has(in_dims, "C"):
                cands = [(4, it[1])] if storage_elems((4, it[1]), al) <= spad else []
            elif w_dims == "NC":
                cands = []
                for c in range(min(C, V), C + 1, V):
                    if storage_elems((4, c), al) <= spad:
                        cands.append((4, c))
                    else:
                        break
            else:
                cands = [(4, C)]
            for wt in cands:
                total = 2 * storage_elems(it, al) + storage_elems(wt, al)
                if total > best_total:
                    best_total, best = total, (it, wt)
        if best is None:
            raise _no_fit(op, _NoFit("weight", (4, V), storage_elems((4, V), al)), spad, params, itemsize)
        it, wt = best
        layout = "NC"
        scheduler = "batch_norm_fc"
    return TilingPlan(
        op=op.name,
        kind=op.kind,
        accelerator=accelerator,
        spad_elems=spad,
        tensors=(
            _uniform("input", x, layout, x.shape, in_dims, it, al),
            _uniform("weights", w, "NC", w.shape, w_dims, wt, al),
            _uniform("output", y, layout, y.shape, in_dims, it, al),
        ),
        params=_params(op, itemsize),
        scheduler=scheduler,
    )


# --------------------------------------------------------------------------------------------------
# Unary, element-wise and softmax (smv_unary_op_common.cpp, smv_eltwise_*_op.cpp, smv_softmax_op.cpp)
# --------------------------------------------------------------------------------------------------


def _flat(role: str, tensor: Tensor, chunk: int, alignment: int) -> TensorTiling:
    total = storage_elems(tensor.shape, alignment)
    sizes, origins = split(total, chunk)
    return TensorTiling(
        role=role,
        name=tensor.name,
        layout="NC",
        shape=(1, total),
        strategy="None" if len(sizes) == 1 else "NC",
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
    x = op.inputs[0]
    y = op.output
    itemsize = x.itemsize
    spad = params.spad_elems(itemsize)
    al = params.alignment
    if isinstance(op, Eltwise) and op.inputs[0].shape != op.inputs[1].shape:
        raise MappingError(
            f"op {op.name!r} ({op.kind}): input shapes {op.inputs[0].shape} and {op.inputs[1].shape} differ; "
            f"the SMV element-wise kernels need equal shapes (broadcast with tensor.repeat first)"
        )
    chunk = min(spad, storage_elems(x.shape, al))
    tensors = [_flat("input", x, chunk, al)]
    if isinstance(op, Eltwise):
        tensors.append(_flat("input1", op.inputs[1], chunk, al))
    tensors.append(_flat("output", y, chunk, al))
    return TilingPlan(
        op=op.name,
        kind=op.kind,
        accelerator=accelerator,
        spad_elems=spad,
        tensors=tuple(tensors),
        params=_params(op, itemsize),
        scheduler="elementwise",
    )


def tile_softmax(op: Activation, params: TilingParams, accelerator: str = "smv") -> TilingPlan:
    """Tile a softmax over the last dimension: whole rows, as many as fit (SMAUG tiles only N)."""
    x = op.inputs[0]
    y = op.output
    itemsize = x.itemsize
    spad = params.spad_elems(itemsize)
    al = params.alignment
    rows = x.size // x.shape[-1]
    width = x.shape[-1]
    row_elems = align_up(width, al)
    if row_elems > spad:
        raise MappingError(
            f"op {op.name!r} (softmax): the smallest input tile (1, {width}) needs {row_elems} elements, "
            f"more than one {params.spad_bytes}-byte scratchpad holds ({spad} elements of {itemsize} B); "
            f"use larger scratchpads"
        )
    per = min(spad // row_elems, rows)
    strategy = "None" if per >= rows else "N"
    xs = Tensor(x.name, (rows, width), "NC", x.dtype)
    ys = Tensor(y.name, (rows, width), "NC", y.dtype)
    return TilingPlan(
        op=op.name,
        kind=op.kind,
        accelerator=accelerator,
        spad_elems=spad,
        tensors=(
            _uniform("input", xs, "NC", xs.shape, strategy, (per, width), al),
            _uniform("output", ys, "NC", ys.shape, strategy, (per, width), al),
        ),
        params=_params(op, itemsize),
        scheduler="elementwise",
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
    """Whether the SMV backend has a kernel for ``op`` (depthwise convolutions it has not)."""
    if isinstance(op, Convolution):
        return op.groups == 1
    return op.kind in SUPPORTED


_PLANS_LIMIT = 4096


def _signature(op: Op, params: TilingParams, accelerator: str) -> tuple:
    """What a plan depends on: op type, tensor shapes/layouts/dtypes and parameters (not names)."""
    return (
        type(op),
        tuple((t.shape, t.layout, t.dtype, t.constant) for t in op.inputs),
        tuple((t.shape, t.layout, t.dtype) for t in op.outputs),
        tuple(op.params().items()),
        params,
        accelerator,
    )


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
    return _copy_with(plan, op=op.name, tensors=tensors, _cache={})


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
