"""The interface every accelerator model implements, and the data it exchanges with the simulator.

An accelerator is a frozen dataclass (hashable, so that per-op results can be memoized) that
subclasses :class:`Accelerator` and answers four questions:

``supports(op) -> bool``
    Whether it has a kernel for the operator (everything else runs on the CPU).
``scratchpads() -> tuple[Scratchpad, ...]``
    Its local memories (name, size, banks), for reports and energy.
``tile(op) -> TilingPlan``
    How the operator is cut into tiles and the order they are sent in
    (:class:`~smaug_fast.tiling.TilingPlan`). The default applies SMAUG's SMV tiling rules with the
    numbers of :meth:`tiling_params`, so most accelerators only set their scratchpad size and
    datapath widths; raise :class:`~smaug_fast.errors.MappingError` when nothing fits.
``invocation_cost(work) -> TileCost``
    Cycles and energy of one invocation: the work of one tile (:class:`TileWork`: tile shapes,
    channels, window, stride, padding, whether tiles are loaded or resident, whether partial sums
    accumulate, whether the output tile is complete).

Everything else is provided: :meth:`Accelerator.schedule_costs` prices every invocation of a plan's
schedule (struct-of-arrays, ready for the simulator, memoized per distinct tile), and
:meth:`Accelerator.op_cost` sums them for a quick per-op estimate without the memory system.
Data transfers (DMA, ACP) are the simulator's: an invocation reports the bytes it loads and stores
and the accelerator-side cycles around them (unpacking fp16 into the scratchpads, activation and
packing before the store), not the transfer time.

Adapting a per-layer model (such as the SCALE-Sim-exact ``Systolic``) is a thin wrapper: its
``invocation_cost`` turns the tile into a layer (padded input rows ``input_shape[1] + pads[0] +
pads[1]``, columns likewise, ``channels``, ``kernels``, ``window``, ``stride`` for a convolution;
``out_rows x channels`` times ``channels x kernels`` for an inner product), calls the model, and
copies its cycles and access counts into a :class:`TileCost`; ``freq_hz`` and ``spad_bytes`` may be
properties that read the wrapped model.

A minimal user-defined accelerator (see ``examples/custom_accelerator.py``)::

    @dataclass(frozen=True)
    class Dot(Accelerator):
        kind: ClassVar[str] = "dot"
        freq_hz: float = 1e9
        macs_per_cycle: int = 64
        spad_bytes: int = 16 * 1024

        def supports(self, op):
            return op.kind in ("conv", "inner_product")

        def invocation_cost(self, work):
            cycles = -(-work.macs // self.macs_per_cycle)
            return TileCost(compute_cycles=cycles, energy_j=work.macs * 1e-12, macs=work.macs)
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from ..errors import MappingError
from ..memo import SIM_CACHE
from ..spec import POLYMORPHIC
from ..tiling.plan import Schedule, TilingPlan, storage_elems
from ..tiling.smv import TilingParams, tile_op
from ..tiling.smv import supports as smv_supports
from ..workload.core import Op


@dataclass(frozen=True)
class Scratchpad:
    """One local memory of an accelerator.

    Attributes:
        name: its role (``inputs``, ``weights``, ``outputs``, ...).
        size_bytes: capacity [B].
        banks: independently addressed banks (accesses per cycle per port).
        ports: ports per bank.
    """

    name: str
    size_bytes: int
    banks: int = 1
    ports: int = 1


@dataclass(frozen=True)
class TileWork:
    """One accelerator invocation as a cost model sees it (built from a plan and a schedule row).

    Shapes are logical tile shapes (NHWC or NC); storage adds alignment padding on the last dimension.

    Attributes:
        kind: the operator kind (``conv``, ``inner_product``, ``max_pool``, ``avg_pool``,
            ``batch_norm``, an activation name such as ``relu``, or an element-wise one such as ``add``).
        input_shape: the input tile.
        weight_shape: the weight tile, or () when the op has none.
        output_shape: the output tile.
        channels: reduction channels this invocation uses (conv and FC: the weight tile's; others:
            the input tile's).
        kernels: output maps (conv), neurons (FC) or channels (others) this invocation produces.
        out_rows: output rows it computes (conv, pooling; FC and element-wise: batch rows).
        out_cols: output columns it computes.
        window: (rows, cols) of the conv kernel or pool window; (1, 1) otherwise.
        stride: (rows, cols).
        pads: (top, bottom, left, right) zero padding at this tile's borders.
        read_input: the input tile(s) are loaded (False: resident).
        read_weights: the weight tile is loaded (False: resident).
        accumulate: partial sums in the output scratchpad are added to.
        send_output: the output tile is complete: activation, then store.
        activation: the fused activation applied on send (None for none).
        operands: input operands (2 for binary element-wise ops, else 1).
        alignment: last-dimension padding of tiles in the scratchpads [elements].
        itemsize: bytes per element in host memory (fp16: 2).
        dequantize: the weights are int8 in host memory (weight-only quantization, 1 B per element):
            the load path multiplies each by its output channel's scale as it writes the scratchpad.
    """

    kind: str
    input_shape: tuple[int, ...]
    weight_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    channels: int
    kernels: int
    out_rows: int
    out_cols: int
    window: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    read_input: bool = True
    read_weights: bool = True
    accumulate: bool = False
    send_output: bool = True
    activation: str | None = None
    operands: int = 1
    alignment: int = 8
    itemsize: int = 2
    dequantize: bool = False

    @property
    def batch(self) -> int:
        """Images (or rows) in the tile."""
        return self.output_shape[0] if self.output_shape else 1

    @property
    def macs(self) -> int:
        """Useful multiply-accumulates (conv, FC); 0 for other ops."""
        if self.kind == "conv":
            r, s = self.window
            return self.batch * self.out_rows * self.out_cols * self.kernels * self.channels * r * s
        if self.kind == "inner_product":
            return self.out_rows * self.kernels * self.channels
        return 0

    def storage(self, shape: tuple[int, ...]) -> int:
        """Scratchpad elements of a tile of ``shape`` (alignment padding included)."""
        return storage_elems(shape, self.alignment) if shape else 0

    @property
    def load_elems(self) -> int:
        """Elements loaded into the scratchpads by this invocation."""
        n = self.operands * self.storage(self.input_shape) if self.read_input else 0
        if self.read_weights and self.weight_shape:
            n += self.storage(self.weight_shape)
        return n

    @property
    def store_elems(self) -> int:
        """Elements stored from the output scratchpad by this invocation."""
        return self.storage(self.output_shape) if self.send_output else 0


@dataclass(frozen=True)
class TileCost:
    """Cycles and energy of one invocation, in the accelerator's clock.

    Attributes:
        compute_cycles: datapath time, pipeline fill and drain included [cycles].
        load_cycles: scratchpad-side time to take in the loaded tiles (e.g. fp16 unpacking) [cycles].
        store_cycles: time from the last partial sum to the store request (activation, packing) [cycles].
        energy_j: dynamic energy of the invocation (datapath, registers, scratchpads) [J]; leakage is
            not included (the simulator charges :attr:`Accelerator.static_power_w` over the whole time
            an accelerator is invoked, transfers included, as gem5-Aladdin does).
        spad_energy_j: the scratchpads' share of ``energy_j`` [J] (reported apart in the energy detail).
        macs: multiply-accumulate operations executed, padding lanes included.
        spad_reads: scratchpad words read.
        spad_writes: scratchpad words written.
    """

    compute_cycles: int = 0
    load_cycles: int = 0
    store_cycles: int = 0
    energy_j: float = 0.0
    spad_energy_j: float = 0.0
    macs: int = 0
    spad_reads: int = 0
    spad_writes: int = 0

    @property
    def cycles(self) -> int:
        """Total accelerator-side cycles (load processing + compute + store processing)."""
        return self.load_cycles + self.compute_cycles + self.store_cycles


@dataclass(frozen=True, eq=False)
class ScheduleCosts:
    """Per-invocation costs of a schedule (struct of arrays, one entry per schedule row).

    Attributes:
        compute_cycles, load_cycles, store_cycles: as in :class:`TileCost` [accelerator cycles].
        energy_j: dynamic energy [J] (no leakage).
        spad_energy_j: the scratchpads' share of ``energy_j`` [J].
        macs: MAC operations executed.
        load_bytes_input: bytes of input tiles loaded (0 when resident) [B].
        load_bytes_weights: bytes of weight tiles loaded [B].
        store_bytes: bytes of the output tile stored (0 unless the tile is complete) [B].
        work: index into ``works`` of each invocation's :class:`TileWork`.
        works: the distinct tile works of the schedule.
    """

    compute_cycles: np.ndarray
    load_cycles: np.ndarray
    store_cycles: np.ndarray
    energy_j: np.ndarray
    spad_energy_j: np.ndarray
    macs: np.ndarray
    load_bytes_input: np.ndarray
    load_bytes_weights: np.ndarray
    store_bytes: np.ndarray
    work: np.ndarray
    works: tuple[TileWork, ...]

    @property
    def cycles(self) -> np.ndarray:
        return self.load_cycles + self.compute_cycles + self.store_cycles


@dataclass(frozen=True)
class OpCost:
    """Accelerator-only summary of one operator (no memory system: transfers are not included).

    Attributes:
        cycles: cycles of the busiest accelerator, invocations back to back [accelerator cycles].
        seconds: ``cycles / freq_hz`` [s].
        energy_j: dynamic energy of every invocation plus the leakage over their cycles [J].
        macs: MAC operations executed.
        invocations: accelerator invocations.
        load_bytes: bytes loaded into scratchpads [B].
        store_bytes: bytes stored from scratchpads [B].
    """

    cycles: int
    seconds: float
    energy_j: float
    macs: int
    invocations: int
    load_bytes: int
    store_bytes: int


class Accelerator(ABC):
    """Base class of accelerator models (subclasses are frozen dataclasses; see the module docstring).

    Subclasses set the class attribute ``kind`` (their registry name, used in ``System.from_dict``) and
    have a ``freq_hz`` field. Provided methods may be overridden, for example ``schedule_costs`` with a
    vectorized implementation.
    """

    kind: ClassVar[str] = ""
    registry: ClassVar[dict[str, type]] = {}
    #: Leakage of one accelerator while it is invoked [W]; subclasses with a leakage model override
    #: it with a field or a property (the simulator charges it over every invocation's whole time).
    static_power_w: float = 0.0
    #: Clock [Hz]; every subclass sets it (a field or a property).
    freq_hz: float

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("kind"):
            Accelerator.registry[cls.kind] = cls

    # -- what every accelerator answers ------------------------------------------------------------

    @abstractmethod
    def supports(self, op: Op) -> bool:
        """Whether this accelerator runs ``op`` (else the CPU does)."""

    @abstractmethod
    def invocation_cost(self, work: TileWork) -> TileCost:
        """Cycles and energy of one invocation."""

    def scratchpads(self) -> tuple[Scratchpad, ...]:
        """The local memories; default: three of ``spad_bytes`` (inputs, weights, outputs), as in SMAUG."""
        size = int(getattr(self, "spad_bytes"))
        banks = int(getattr(self, "spad_banks", 1))
        return tuple(Scratchpad(name, size, banks) for name in ("inputs", "weights", "outputs"))

    def tiling_params(self) -> TilingParams:
        """The numbers the default tiler uses, from same-named fields when present (else SMV's)."""
        defaults = TilingParams()
        values = {f.name: getattr(self, f.name, getattr(defaults, f.name)) for f in fields(TilingParams)}
        return TilingParams(**values)

    def tile(self, op: Op) -> TilingPlan:
        """SMAUG's SMV tiling of ``op`` with this accelerator's scratchpads and widths."""
        if not self.supports(op):
            raise MappingError(f"op {op.name!r} ({op.kind}): not supported by accelerator {self.kind!r}")
        if not smv_supports(op):
            raise MappingError(
                f"op {op.name!r} ({op.kind}): accelerator {self.kind!r} supports it but the default SMAUG "
                f"tiler does not; override tile()"
            )
        return tile_op(op, self.tiling_params(), self.kind)

    # -- provided ----------------------------------------------------------------------------------

    def _cached_cost(self, work: TileWork) -> TileCost:
        """``invocation_cost(work)``, memoized per (accelerator, work): repeated layers are free."""
        return SIM_CACHE.get("tile_costs", (self, work), lambda: self.invocation_cost(work), _COST_CACHE_LIMIT)

    @property
    def seconds_per_cycle(self) -> float:
        return 1.0 / float(getattr(self, "freq_hz"))

    def schedule_costs(self, op: Op, plan: TilingPlan, schedule: Schedule) -> ScheduleCosts:
        """Cost of every invocation of ``schedule`` (memoized per distinct :class:`TileWork`)."""
        n = len(schedule)
        works, index = unique_tile_works(op, plan, schedule)
        costs = [self._cached_cost(w) for w in works]
        table = {
            name: np.array(
                [getattr(c, name) for c in costs] or [0], dtype=np.float64 if name.endswith("_j") else np.int64
            )
            for name in ("compute_cycles", "load_cycles", "store_cycles", "energy_j", "spad_energy_j", "macs")
        }
        itemsize = int(plan.param("itemsize", 2))
        w_itemsize = int(plan.param("weight_itemsize", itemsize))
        per_work = {
            "load_bytes_input": [
                w.operands * w.storage(w.input_shape) * itemsize if w.read_input else 0 for w in works
            ],
            "load_bytes_weights": [
                w.storage(w.weight_shape) * w_itemsize if (w.read_weights and w.weight_shape) else 0 for w in works
            ],
            "store_bytes": [w.store_elems * itemsize for w in works],
        }
        out = {name: arr[index] if n else arr[:0] for name, arr in table.items()}
        for name, values in per_work.items():
            arr = np.array(values or [0], dtype=np.int64)
            out[name] = arr[index] if n else arr[:0]
        return ScheduleCosts(work=index, works=works, **out)

    def op_cost(self, op: Op, num_accelerators: int = 1) -> OpCost:
        """Accelerator-side cost of ``op`` alone: invocations back to back on each accelerator."""
        plan = self.tile(op)
        sched = plan.schedule(num_accelerators)
        costs = self.schedule_costs(op, plan, sched)
        cycles = costs.cycles
        busiest = int(np.bincount(sched.accel, weights=cycles).max()) if len(sched) else 0
        return OpCost(
            cycles=busiest,
            seconds=busiest * self.seconds_per_cycle,
            energy_j=float(costs.energy_j.sum()) + self.static_power_w * float(cycles.sum()) / self.freq_hz,
            macs=int(costs.macs.sum()),
            invocations=len(sched),
            load_bytes=int(costs.load_bytes_input.sum() + costs.load_bytes_weights.sum()),
            store_bytes=int(costs.store_bytes.sum()),
        )


POLYMORPHIC[Accelerator] = Accelerator.registry

#: Bound of the memo of tile works already priced (SIM_CACHE table "tile_costs").
_COST_CACHE_LIMIT = 1 << 16


def tile_works(op: Op, plan: TilingPlan, schedule: Schedule) -> list[TileWork]:
    """The :class:`TileWork` of every invocation of ``schedule``."""
    works, index = unique_tile_works(op, plan, schedule)
    return [works[i] for i in index.tolist()]


def unique_tile_works(op: Op, plan: TilingPlan, schedule: Schedule) -> tuple[tuple[TileWork, ...], np.ndarray]:
    """The distinct :class:`TileWork` of ``schedule`` and, per invocation, the index of its work."""
    x, y = plan.input, plan.output
    w = plan.weights
    window = tuple(plan.param("kernel", (1, 1)))
    stride = tuple(plan.param("stride", (1, 1)))
    activation = plan.param("activation") if plan.kind in ("conv", "inner_product", "batch_norm") else None
    itemsize = int(plan.param("itemsize", 2))
    dequantize = int(plan.param("weight_itemsize", itemsize)) < itemsize
    operands = 2 if plan.has("input1") else 1
    x_shapes, y_shapes = x.shapes(), y.shapes()
    w_shapes = w.shapes() if w is not None else []
    no_weights: tuple[int, ...] = ()
    made: dict[tuple, int] = {}
    works: list[TileWork] = []
    index = np.empty(len(schedule), dtype=np.int32)
    cols = zip(
        schedule.input.tolist(), schedule.weights.tolist(), schedule.output.tolist(),
        schedule.pad_top.tolist(), schedule.pad_bottom.tolist(), schedule.pad_left.tolist(),
        schedule.pad_right.tolist(), schedule.read_input.tolist(), schedule.read_weights.tolist(),
        schedule.accumulate.tolist(), schedule.send_output.tolist(),
    )
    for i, (xi, wi, yi, pt, pb, pl, pr, ri, rw, acc, send) in enumerate(cols):
        # Keyed on shapes and flags, not tile indices: tiles of one shape cost the same.
        key = (x_shapes[xi], w_shapes[wi] if wi >= 0 and w is not None else no_weights, y_shapes[yi],
               pt, pb, pl, pr, ri, rw, acc, send)
        k = made.get(key)
        if k is None:
            k = len(works)
            made[key] = k
            works.append(_work(plan.kind, key[0], key[1], key[2], key[3:], window, stride, activation, operands,
                               x.alignment, itemsize, dequantize))
        index[i] = k
    return tuple(works), index


def _work(kind, in_shape, w_shape, out_shape, key, window, stride, activation, operands, alignment, itemsize,
          dequantize=False):
    if kind == "conv":
        channels, kernels = w_shape[3], out_shape[3]
        rows, ocols = out_shape[1], out_shape[2]
    elif kind == "inner_product":
        channels, kernels = w_shape[1], w_shape[0]
        rows, ocols = out_shape[0], 1
    elif len(in_shape) == 4:
        channels = kernels = in_shape[3]
        if kind.endswith("_pool"):
            rows, ocols = out_shape[1], out_shape[2]
        else:
            rows, ocols = in_shape[1], in_shape[2]
    else:
        channels = kernels = w_shape[1] if (kind == "batch_norm" and w_shape) else in_shape[-1]
        rows, ocols = in_shape[0], 1
    return TileWork(
        kind=kind,
        input_shape=in_shape,
        weight_shape=w_shape,
        output_shape=out_shape,
        channels=channels,
        kernels=kernels,
        out_rows=rows,
        out_cols=ocols,
        window=window,
        stride=stride,
        pads=key[0:4],
        read_input=bool(key[4]),
        read_weights=bool(key[5]) and bool(w_shape),
        accumulate=bool(key[6]),
        send_output=bool(key[7]),
        activation=activation,
        operands=operands,
        alignment=alignment,
        itemsize=itemsize,
        dequantize=dequantize,
    )


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def log2_ceil(n: int) -> int:
    """Levels of a binary reduction tree over ``n`` inputs."""
    return max(0, math.ceil(math.log2(n))) if n > 1 else 0


__all__ = [
    "Accelerator",
    "OpCost",
    "ScheduleCosts",
    "Scratchpad",
    "TileCost",
    "TileWork",
    "tile_works",
    "unique_tile_works",
]
