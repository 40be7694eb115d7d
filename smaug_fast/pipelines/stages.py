"""How an image-processing pipeline is described: stages, what they read, and the schedule.

A :class:`Pipeline` is a list of :class:`Stage` in producer-before-consumer order, the last one its
output, and a Halide-style CPU schedule: the output is cut into horizontal strips of ``strip_rows``
rows that run in parallel on ``threads`` cores (``.split(y, yo, yi, strip).parallel(yo)``), computed
``rows_per_step`` rows at a time; every stage stored as a line buffer is computed, inside a strip,
just before the rows that need it (``compute_at(output, yi)``) into a per-strip buffer of a few rows
(``store_at(output, yo).fold_storage(y, k)``), so that a producer's rows are still in the caches when
their consumer reads them. Inline stages are recomputed wherever they are used; root stages (a lookup
table) are computed once per frame before the strips.

Each stage declares its work per element it computes (``work``: operations by
:class:`~smaug_fast.choices.OpKind`, loads and stores included) and its reads: a producer, the
stencil taps it reads (offsets in the producer's coordinates) and the ratio of the producer's
coordinates to its own (``scale = (2, 1)``: the producer has twice the resolution, as a Bayer
deinterleave reads the raw frame at 2x, 2y). Coordinates are (x, y) pixels; every stage has
``channels`` planes of ``element_bytes`` each, stored planar (x fastest, then y, then the channel),
as Halide's buffers are.

>>> from smaug_fast.pipelines import Pipeline, Read, Stage
>>> blur = Stage("blur", {"avg": 2, "load": 3, "store": 1}, reads=(Read("input", ((0, -1), (0, 0), (0, 1))),),
...              storage="output", vector_lanes=16)
>>> Pipeline("vblur", 640, 480, (blur,)).output.name
'blur'
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..choices import OpKind, Storage, parse
from ..errors import ConfigError, WorkloadError, describe

#: The name a read uses for the pipeline's input frame.
INPUT = "input"


def _int(owner: str, name: str, value: object, lo: int, hi: int = 1 << 30) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise WorkloadError(f"{owner}: {name} = {describe(value)}: must be an integer in [{lo}, {hi}]")
    return value


def _choice(kind, value: object, field: str):
    """``value`` as a member of enum ``kind``; a WorkloadError naming ``field`` otherwise."""
    try:
        return kind(parse(kind, value, field))
    except ConfigError as exc:
        raise WorkloadError(str(exc)) from None


@dataclass(frozen=True)
class Read:
    """What a stage reads of one producer.

    Attributes:
        producer: a stage's name, or ``"input"`` for the pipeline's input frame.
        taps: the (dx, dy) offsets read per element, in the producer's coordinates.
        scale: (num, den): the producer's coordinate of element x is ``x * num // den + dx``.
        gather: a data-dependent lookup into a root stage (a LUT); ``taps`` are then ignored.
    """

    producer: str
    taps: tuple[tuple[int, int], ...] = ((0, 0),)
    scale: tuple[int, int] = (1, 1)
    gather: bool = False

    def __post_init__(self) -> None:
        owner = f"read of {self.producer!r}"
        if not isinstance(self.producer, str) or not self.producer:
            raise WorkloadError(f"read: producer = {describe(self.producer)}: must be a stage name or 'input'")
        try:
            taps = tuple((int(dx), int(dy)) for dx, dy in self.taps)
        except (TypeError, ValueError):
            raise WorkloadError(f"{owner}: taps = {describe(self.taps)}: must be (dx, dy) integer pairs") from None
        if not taps and not self.gather:
            raise WorkloadError(f"{owner}: taps = (): a read needs at least one tap")
        object.__setattr__(self, "taps", tuple(sorted(set(taps))))
        if not (isinstance(self.scale, tuple) and len(self.scale) == 2):
            raise WorkloadError(f"{owner}: scale = {describe(self.scale)}: must be a (num, den) pair")
        for name, v in zip(("scale[0]", "scale[1]"), self.scale):
            _int(owner, name, v, 1, 64)
        if not isinstance(self.gather, bool):
            raise WorkloadError(f"{owner}: gather = {describe(self.gather)}: must be True or False")

    @property
    def footprint(self) -> tuple[int, int]:
        """The stencil's extent (columns, rows) in the producer's coordinates."""
        xs = [t[0] for t in self.taps] or [0]
        ys = [t[1] for t in self.taps] or [0]
        return max(xs) - min(xs) + 1, max(ys) - min(ys) + 1

    def rows(self, y: int) -> list[int]:
        """The producer's rows read for the consumer's row ``y``."""
        base = y * self.scale[0] // self.scale[1]
        return sorted({base + dy for _, dy in self.taps})

    def span(self, lo: int, hi: int, axis: int) -> tuple[int, int]:
        """The producer's interval (inclusive) read for the consumer's interval ``[lo, hi]`` along x (0) or y (1)."""
        offs = [t[axis] for t in self.taps]
        num, den = self.scale
        return lo * num // den + min(offs), hi * num // den + max(offs)


@dataclass(frozen=True)
class Stage:
    """One stage of a pipeline (see the module docstring).

    Attributes:
        name: unique within the pipeline.
        work: operations per element computed, by OpKind (or its string), loads and stores included.
        reads: the producers it reads.
        channels: planes it computes per pixel.
        element_bytes: bytes of one stored element [B].
        lane_bytes: width of its arithmetic [B] (2 for 16-bit math, 4 for 32-bit).
        storage: line_buffer, inline, root or output (:class:`~smaug_fast.choices.Storage`).
        fold_rows: rows a line buffer keeps (Halide ``fold_storage``); None: Halide's automatic storage
            folding, the smallest power of two that holds the rows its consumers read at once.
        vector_lanes: Halide's vectorization factor along x (1: scalar); rows are computed in whole vectors.
        extent: elements of a root stage (e.g. 1024 for a 10-bit lookup table).
    """

    name: str
    work: Mapping = field(default_factory=dict)
    reads: tuple[Read, ...] = ()
    channels: int = 1
    element_bytes: int = 2
    lane_bytes: int = 2
    storage: Storage = Storage.LINE_BUFFER
    fold_rows: int | None = None
    vector_lanes: int = 1
    extent: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or self.name == INPUT:
            raise WorkloadError(f"stage name = {describe(self.name)}: must be a non-empty string other than 'input'")
        owner = f"stage {self.name!r}"
        if not isinstance(self.work, (Mapping, tuple)):
            raise WorkloadError(f"{owner}: work = {describe(self.work)}: must map op kinds to counts per element")
        items = self.work.items() if isinstance(self.work, Mapping) else self.work
        work: dict[OpKind, float] = {}
        for kind, count in items:
            k = _choice(OpKind, kind, f"{owner}: work key")
            if isinstance(count, bool) or not isinstance(count, (int, float)) or not math.isfinite(count) or count < 0:
                raise WorkloadError(f"{owner}: work[{k.value!r}] = {describe(count)}: must be a finite number >= 0")
            work[k] = work.get(k, 0.0) + float(count)
        object.__setattr__(self, "work", tuple(sorted(work.items())))
        reads = tuple(self.reads) if isinstance(self.reads, (tuple, list)) else None
        if reads is None or not all(isinstance(r, Read) for r in reads):
            raise WorkloadError(f"{owner}: reads = {describe(self.reads)}: must be a tuple of Read")
        object.__setattr__(self, "reads", reads)
        object.__setattr__(self, "storage", _choice(Storage, self.storage, f"{owner}: storage"))
        for name, lo in (("channels", 1), ("element_bytes", 1), ("lane_bytes", 1), ("vector_lanes", 1)):
            _int(owner, name, getattr(self, name), lo, 1 << 16)
        if self.fold_rows is not None:
            _int(owner, "fold_rows", self.fold_rows, 1, 1 << 20)
            if self.storage is not Storage.LINE_BUFFER:
                raise WorkloadError(f"{owner}: fold_rows = {self.fold_rows}: only a line_buffer stage folds its rows")
        if self.storage is Storage.ROOT:
            _int(owner, "extent", self.extent, 1, 1 << 26)
        elif self.extent is not None:
            raise WorkloadError(f"{owner}: extent = {describe(self.extent)}: only a root stage has a fixed extent")

    @property
    def ops(self) -> dict[OpKind, float]:
        """Operations per element, by kind."""
        return dict(self.work)


@dataclass(frozen=True)
class Pipeline:
    """A pipeline of stages producing a ``width`` x ``height`` frame, with its CPU schedule.

    Attributes:
        name: a label.
        width, height: the output frame [pixels].
        stages: producers before consumers; exactly one, the last, has storage ``output``.
        input_channels, input_element_bytes: the input frame's planes and element size [B].
        strip_rows: output rows per parallel strip (Halide ``split(y, yo, yi, strip_rows).parallel(yo)``).
        rows_per_step: output rows computed per step inside a strip (the innermost row loop).
        threads: cores the strips run on; None: every core of the system's CPU (Halide's thread pool).
    """

    name: str
    width: int
    height: int
    stages: tuple[Stage, ...]
    input_channels: int = 1
    input_element_bytes: int = 2
    strip_rows: int = 32
    rows_per_step: int = 2
    threads: int | None = None

    def __post_init__(self) -> None:
        owner = f"pipeline {self.name!r}"
        for name in ("width", "height"):
            _int(owner, name, getattr(self, name), 1, 1 << 20)
        for name in ("input_channels", "input_element_bytes", "strip_rows", "rows_per_step"):
            _int(owner, name, getattr(self, name), 1, 1 << 16)
        if self.threads is not None:
            _int(owner, "threads", self.threads, 1, 1024)
        stages = tuple(self.stages) if isinstance(self.stages, (tuple, list)) else ()
        if not stages or not all(isinstance(s, Stage) for s in stages):
            raise WorkloadError(f"{owner}: stages = {describe(self.stages)}: must be a non-empty tuple of Stage")
        object.__setattr__(self, "stages", stages)
        self._check_graph()

    def _check_graph(self) -> None:
        owner = f"pipeline {self.name!r}"
        seen: dict[str, Stage] = {}
        for i, s in enumerate(self.stages):
            where = f"{owner}, stage {s.name!r}"
            if s.name in seen:
                raise WorkloadError(f"{where}: name: a second stage of this name")
            is_last = i == len(self.stages) - 1
            if (s.storage is Storage.OUTPUT) != is_last:
                raise WorkloadError(f"{where}: storage = {s.storage.value!r}: the last stage, and only it, is the output")
            for r in s.reads:
                self._check_read(where, s, r, seen)
            seen[s.name] = s

    def _check_read(self, where: str, stage: Stage, r: Read, seen: dict[str, Stage]) -> None:
        if r.producer != INPUT and r.producer not in seen:
            later = any(s.name == r.producer for s in self.stages)
            why = "is defined after it (list producers first)" if later else "is not a stage of this pipeline"
            raise WorkloadError(f"{where}: reads.producer = {r.producer!r}: {why}")
        producer = seen.get(r.producer)
        is_root = producer is not None and producer.storage is Storage.ROOT
        if r.gather != is_root:
            raise WorkloadError(
                f"{where}: reads[{r.producer!r}].gather = {r.gather}: a gather reads a root stage (a table), "
                "and a root stage is read only by gathers"
            )
        if stage.storage is Storage.ROOT and not r.gather:
            raise WorkloadError(f"{where}: reads.producer = {r.producer!r}: a root stage reads only other root stages")
        cols, rows = r.footprint
        if not r.gather and (cols > self.width or rows > self.height):
            raise WorkloadError(
                f"{where}: reads[{r.producer!r}].footprint = {cols} x {rows} pixels: larger than the frame "
                f"({self.width} x {self.height})"
            )

    @property
    def output(self) -> Stage:
        return self.stages[-1]

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise WorkloadError(f"pipeline {self.name!r}: no stage named {name!r}")

    @property
    def strips(self) -> int:
        """Parallel strips of the output."""
        return -(-self.height // self.strip_rows)

    def summary(self) -> str:
        """One line per stage: storage, channels, reads and work per element."""
        lines = [f"{self.name}: {self.width} x {self.height}, {self.strips} strips of {self.strip_rows} rows"]
        for s in self.stages:
            reads = ", ".join(f"{r.producer}{'[lut]' if r.gather else f' {r.footprint[0]}x{r.footprint[1]}'}"
                              for r in s.reads)
            work = " ".join(f"{k.value}={v:g}" for k, v in s.work)
            lines.append(f"  {s.name:<14} {s.storage.value:<11} c={s.channels} reads: {reads or '-'}; per element: {work}")
        return "\n".join(lines)


__all__ = ["INPUT", "Pipeline", "Read", "Stage"]
