"""Bounds inference and the row schedule of a pipeline: which rows of which stage each strip computes.

The output's strips are independent (each recomputes the halo rows its first rows need, as Halide's
per-strip storage does). Inside a strip the output advances ``rows_per_step`` rows at a time; for every
step, walking from the output back to the input, each line-buffered stage must hold the rows its
consumers read for the rows *they compute in this step*, and computes those it does not hold yet
(Halide's sliding window); an inline stage is evaluated wherever its consumers evaluate it. The columns
each stage computes are inferred once for the frame (the union of what its consumers read), rounded up
to whole vectors (``TailStrategy::RoundUp``).

:func:`plan_pipeline` returns, per strip, the (stage, row) computations in execution order and the
elements every stage computes, plus each line buffer's rows (checked against its ``fold_rows``: a fold
smaller than the window its consumers read is a WorkloadError, as Halide rejects it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..choices import Storage
from ..errors import WorkloadError
from ..memo import memoized
from .stages import INPUT, Pipeline, Read

_EMPTY = (0, -1)


@dataclass(frozen=True, eq=False)
class NodePlan:
    """One buffer-holding node of the plan: the input (index 0) or a stage (index i + 1).

    Attributes: ``x_lo``/``x_hi`` the columns computed (inclusive); ``row_pixels`` that width rounded
    up to whole vectors; ``row_bytes`` the bytes of one row of one channel [B]; ``y_lo``/``y_hi`` the rows
    computed over the frame (inclusive); ``alloc_rows`` the rows of a line buffer (its fold).
    """

    name: str
    storage: Storage | None  # None: the input frame
    channels: int
    element_bytes: int
    x_lo: int
    x_hi: int
    row_pixels: int
    row_bytes: int
    y_lo: int
    y_hi: int
    alloc_rows: int


@dataclass(frozen=True, eq=False)
class StripPlan:
    """One strip: its output rows, the (node, row, step) computations in order (``step``: the output
    step they belong to), the first row each line buffer computes (the slot of an unfolded buffer is
    ``row - first``) and the elements each node computes."""

    first_row: int
    rows: int
    steps: np.ndarray  # int64[K, 3]: node, row, step
    first: np.ndarray  # int64[nodes]
    elements: np.ndarray  # float64[nodes]


@dataclass(frozen=True, eq=False)
class PipelinePlan:
    """The plan of a pipeline (see the module docstring); ``nodes[0]`` is the input."""

    pipeline: Pipeline
    nodes: tuple[NodePlan, ...]
    strips: tuple[StripPlan, ...]
    root_elements: np.ndarray  # float64[nodes]: elements of root stages, computed once per frame

    def index(self, name: str) -> int:
        return [n.name for n in self.nodes].index(name)


def _consumers(p: Pipeline) -> list[list[tuple[int, Read]]]:
    names = [INPUT] + [s.name for s in p.stages]
    out: list[list[tuple[int, Read]]] = [[] for _ in names]
    for ci, s in enumerate(p.stages, start=1):
        for r in s.reads:
            out[names.index(r.producer)].append((ci, r))
    return out


def _columns(p: Pipeline, consumers) -> list[tuple[int, int]]:
    """Columns (inclusive) each node must provide over the frame, output first, backwards."""
    n = len(p.stages) + 1
    cols = [_EMPTY] * n
    cols[n - 1] = (0, p.width - 1)
    for node in range(n - 2, -1, -1):
        lo, hi = 1 << 60, -(1 << 60)
        for c, r in consumers[node]:
            if r.gather or cols[c][0] > cols[c][1]:
                continue
            a, b = r.span(*cols[c], axis=0)
            lo, hi = min(lo, a), max(hi, b)
        cols[node] = (lo, hi) if lo <= hi else _EMPTY
    return cols


class _StripWalker:
    """Runs the sliding-window row schedule of one strip (module docstring)."""

    def __init__(self, p: Pipeline, consumers, row_pixels: list[int]) -> None:
        self.p, self.consumers, self.row_pixels = p, consumers, row_pixels
        self.n = len(p.stages) + 1
        self.storage = [None] + [s.storage for s in p.stages]

    def run(self, first_row: int, last_row: int, y_bounds: list[list[int]]):
        n = self.n
        done = [-(1 << 60)] * n
        first = np.full(n, 1 << 60, dtype=np.int64)
        elements = np.zeros(n)
        steps: list[tuple[int, int, int]] = []
        window = [0] * n
        for k, y0 in enumerate(range(first_row, last_row + 1, self.p.rows_per_step)):
            y1 = min(y0 + self.p.rows_per_step - 1, last_row)
            # the window a fold must hold is that of the steady steps: the first step of a strip computes the
            # halo rows in order before its consumers need them (Halide's sliding-window warm-up)
            new, pixels = self._step(y0, y1, done, window if y0 > first_row else [0] * n, y_bounds)
            for node in range(1, n):
                lo, hi = new[node]
                if lo > hi:
                    continue
                if self.storage[node] is not Storage.INLINE:
                    first[node] = min(first[node], lo)
                    steps.extend((node, y, k) for y in range(lo, hi + 1))
                elements[node] += pixels[node] * ([1] + [s.channels for s in self.p.stages])[node]
        return steps, first, elements, window

    def _step(self, y0: int, y1: int, done: list[int], window: list[int], y_bounds):
        n, p = self.n, self.p
        new = [_EMPTY] * n
        pixels = [0.0] * n
        new[n - 1] = (y0, y1)
        pixels[n - 1] = float((y1 - y0 + 1) * self.row_pixels[n - 1])
        for node in range(n - 2, -1, -1):
            lo, hi, evals = 1 << 60, -(1 << 60), 0.0
            for c, r in self.consumers[node]:
                if r.gather or new[c][0] > new[c][1]:
                    continue
                a, b = r.span(*new[c], axis=1)
                lo, hi = min(lo, a), max(hi, b)
                evals += pixels[c] * len(r.taps)
            if lo > hi:
                continue
            y_bounds[node][0], y_bounds[node][1] = min(y_bounds[node][0], lo), max(y_bounds[node][1], hi)
            if node == 0:
                continue
            st = self.storage[node]
            if st is Storage.INLINE:
                new[node] = (lo, hi)
                pixels[node] = evals
                continue
            window[node] = max(window[node], hi - lo + 1)
            start = max(lo, done[node] + 1)
            done[node] = max(done[node], hi)
            if start <= hi:
                new[node] = (start, hi)
                pixels[node] = float((hi - start + 1) * self.row_pixels[node])
        return new, pixels


@memoized("pipeline_plan", limit=64)
def plan_pipeline(p: Pipeline) -> PipelinePlan:
    """The plan of ``p`` (memoized on the pipeline, a frozen value)."""
    consumers = _consumers(p)
    cols = _columns(p, consumers)
    specs = [(INPUT, None, p.input_channels, p.input_element_bytes, 1)] + [
        (s.name, s.storage, s.channels, s.element_bytes, s.vector_lanes) for s in p.stages
    ]
    row_pixels = []
    for (name, st, _, _, lanes), (lo, hi) in zip(specs, cols):
        width = hi - lo + 1 if st is not Storage.ROOT else 0
        row_pixels.append(-(-max(width, 0) // lanes) * lanes)
    walker = _StripWalker(p, consumers, row_pixels)
    y_bounds = [[1 << 60, -(1 << 60)] for _ in specs]
    strips, windows = [], [0] * len(specs)
    for s in range(p.strips):
        first_row = s * p.strip_rows
        last_row = min(p.height, first_row + p.strip_rows) - 1
        steps, first, elements, window = walker.run(first_row, last_row, y_bounds)
        windows = [max(a, b) for a, b in zip(windows, window)]
        arr = np.asarray(steps, dtype=np.int64).reshape(-1, 3)
        strips.append(StripPlan(first_row, last_row - first_row + 1, arr, first, elements))
    y_bounds[-1] = [0, p.height - 1]
    nodes = tuple(_node(p, i, spec, cols[i], row_pixels[i], y_bounds[i], windows[i]) for i, spec in enumerate(specs))
    root = np.zeros(len(specs))
    for i, s in enumerate(p.stages, start=1):
        if s.storage is Storage.ROOT:
            root[i] = float(s.extent)
    return PipelinePlan(p, nodes, tuple(strips), root)


def _node(p: Pipeline, i: int, spec, cols, row_pixels: int, ys, window: int) -> NodePlan:
    name, st, channels, ebytes, _ = spec
    alloc = 0
    if st is Storage.LINE_BUFFER:
        fold = p.stages[i - 1].fold_rows
        if fold is not None and window > fold:
            raise WorkloadError(
                f"pipeline {p.name!r}, stage {name!r}: fold_rows = {fold}: its consumers read {window} rows at once"
            )
        # without an explicit fold, Halide's storage folding (lowering pass StorageFolding) folds a buffer
        # computed along a serial loop to the smallest power of two holding the rows read at once
        alloc = fold if fold is not None else 1 << max(window - 1, 0).bit_length()
    if st is Storage.ROOT:
        stage = p.stages[i - 1]
        return NodePlan(name, st, channels, ebytes, 0, stage.extent - 1, stage.extent, stage.extent * ebytes, 0, 0, 1)
    y_lo, y_hi = (ys if ys[0] <= ys[1] else (0, -1))
    return NodePlan(name, st, channels, ebytes, cols[0], cols[1], row_pixels, row_pixels * ebytes, y_lo, y_hi, alloc)


__all__ = ["NodePlan", "PipelinePlan", "StripPlan", "plan_pipeline"]
