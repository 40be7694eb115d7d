"""The memory pass of a pipeline: every row each strip reads and writes, through private L1Ds and the shared LLC.

Buffers are laid out as Halide allocates them: the input and output frames and each root table once,
and every line-buffered stage once per thread (Halide allocates a stage's buffer at its ``store_at``
level, the strip, on the thread that runs it; a thread reuses it strip after strip). A line buffer
with ``fold_rows = k`` keeps row ``y`` in slot ``y mod k``.

For each strip (strip ``s`` runs on thread ``s mod threads``), in the plan's order, every computed row
of a stored stage reads the rows of the stored producers it needs (through inline stages; all the
producer's channels, each row whole) and then writes its own row, as cache-line accesses of the L1D
line size; a gather reads its whole table once per strip. So a consumer row reads its producer's rows
right after they were written: the producer-consumer reuse inside a strip shows up as cache hits, and
what spills (a frame larger than the LLC, eight threads' line buffers) as DRAM traffic.

Concurrency: the strips of one wave (``threads`` strips) run at once, so their steps go through the
caches interleaved, step by step; each thread has its own L1D (a one-level
:class:`~smaug_fast.memory.CacheHierarchy` whose fills and write-backs are recorded and replayed,
in order, into the shared LLC's hierarchy).

Steady state over frames: before the frame, every thread's line buffers have been written by the
previous frame (they start in the caches, dirty); the input frame arrives from DRAM (a camera's DMA);
the output frame's dirty lines are written back at the end of the frame (those bytes are charged to the
strips in proportion to their rows).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..choices import Storage
from ..kernels import cache as _kc
from ..memo import memoized
from ..memory import CacheConfig, CacheHierarchy
from .plan import PipelinePlan, plan_pipeline
from .stages import Pipeline

_ALIGN = 4096
_LH, _SH, _LM, _SM = _kc.N_LOAD_HITS, _kc.N_STORE_HITS, _kc.N_LOAD_MISSES, _kc.N_STORE_MISSES
_RB, _WB = _kc.M_READ_BYTES, _kc.M_WRITE_BYTES
_NONE = np.iinfo(np.int64).min  # a row that is not read (a duplicate)


@dataclass(frozen=True)
class PipelineMemoryKey:
    """What a pipeline's memory pass depends on: the pipeline, the caches and the thread count."""

    pipeline: Pipeline
    l1d: CacheConfig
    l2: CacheConfig
    threads: int


@dataclass(frozen=True, eq=False)
class PipelineMemory:
    """Per strip (arrays) and for the root phase (the ``root_`` scalars): LLC hits of L1D misses
    [lines], LLC lookups, and DRAM bytes read and written [B]; the counters of the whole frame."""

    l2_hits: np.ndarray
    l2_accesses: np.ndarray
    read_bytes: np.ndarray
    write_bytes: np.ndarray
    root_l2_hits: float
    root_l2_accesses: float
    root_read_bytes: float
    root_write_bytes: float
    cache_stats: dict[str, dict[str, int]]


class _Layout:
    """Addresses of every buffer (module docstring): ``base[(node, thread)]``, thread -1 for shared ones."""

    def __init__(self, plan: PipelinePlan, threads: int) -> None:
        self.plan = plan
        self.next = _ALIGN
        self.base: dict[tuple[int, int], int] = {}
        for i, n in enumerate(plan.nodes):
            if n.storage is Storage.LINE_BUFFER:
                for t in range(threads):
                    self.base[(i, t)] = self._take(self.nbytes(i))
            elif n.storage is not Storage.INLINE:
                self.base[(i, -1)] = self._take(self.nbytes(i))

    def _take(self, nbytes: int) -> int:
        base = self.next
        self.next += -(-max(nbytes, 1) // _ALIGN) * _ALIGN + _ALIGN
        return base

    def plane_rows(self, node: int) -> int:
        n = self.plan.nodes[node]
        if n.storage is Storage.LINE_BUFFER:
            return n.alloc_rows
        return 1 if n.storage is Storage.ROOT else max(n.y_hi - n.y_lo + 1, 0)

    def nbytes(self, node: int) -> int:
        n = self.plan.nodes[node]
        return n.channels * self.plane_rows(node) * n.row_bytes

    def slots(self, node: int, rows: np.ndarray, first: int) -> np.ndarray:
        """The row slot of each row of ``node`` in its buffer."""
        n = self.plan.nodes[node]
        if n.storage is Storage.LINE_BUFFER:
            return rows % n.alloc_rows
        return rows - n.y_lo

    def rows(self, node: int, rows: np.ndarray, thread: int, first: int) -> np.ndarray:
        """int64[..., channels]: the address of each row of every channel of ``node``."""
        n = self.plan.nodes[node]
        base = self.base[(node, thread if n.storage is Storage.LINE_BUFFER else -1)]
        planes = np.arange(n.channels, dtype=np.int64) * self.plane_rows(node)
        return base + (planes + self.slots(node, rows, first)[..., None]) * n.row_bytes


def _chains(plan: PipelinePlan) -> dict[int, dict[int, list[tuple]]]:
    """Per stored stage, per stored producer: the chains of (num, den, dys) reads that reach it
    through inline stages."""
    names = [n.name for n in plan.nodes]

    def walk(node: int, prefix: tuple) -> list[tuple[int, tuple]]:
        out = []
        for r in plan.pipeline.stages[node - 1].reads:
            if r.gather:
                continue
            p = names.index(r.producer)
            link = prefix + ((r.scale[0], r.scale[1], np.array(sorted({t[1] for t in r.taps}), np.int64)),)
            out.extend(walk(p, link) if plan.nodes[p].storage is Storage.INLINE else [(p, link)])
        return out

    found: dict[int, dict[int, list[tuple]]] = {}
    for i, n in enumerate(plan.nodes):
        if i and n.storage in (Storage.LINE_BUFFER, Storage.OUTPUT):
            per: dict[int, list[tuple]] = {}
            for p, chain in walk(i, ()):
                per.setdefault(p, []).append(chain)
            found[i] = per
    return found


def _producer_rows(ys: np.ndarray, chains: list[tuple]) -> np.ndarray:
    """int64[K, m]: the rows of one producer read for each row in ``ys``; duplicates are _NONE."""
    parts = []
    for chain in chains:
        r = ys[:, None]
        for num, den, dys in chain:
            r = ((r * num // den)[:, :, None] + dys).reshape(len(ys), -1)
        parts.append(r)
    r = np.sort(np.concatenate(parts, axis=1), axis=1)
    r[:, 1:][r[:, 1:] == r[:, :-1]] = _NONE
    return r


def _strip_segments(plan, layout, chains, s: int, thread: int):
    """(step, address, bytes, write) arrays of strip ``s``'s accesses, in order."""
    strip = plan.strips[s]
    node, row, step = strip.steps[:, 0], strip.steps[:, 1], strip.steps[:, 2]
    order = np.arange(len(node), dtype=np.int64)
    keys, addrs, sizes, writes, steps = [], [], [], [], []

    def add(key, step_of, addr, nbytes, write):
        keys.append(key.ravel()), addrs.append(addr.ravel()), steps.append(step_of.ravel())
        sizes.append(np.full(addr.size, nbytes, np.int64)), writes.append(np.full(addr.size, write, np.int64))

    for i, per in chains.items():
        sel = node == i
        ys, at, st = row[sel], order[sel], step[sel]
        for p, ch in per.items():
            r = _producer_rows(ys, ch)
            ok = r != _NONE
            a = layout.rows(p, np.where(ok, r, layout.plan.nodes[p].y_lo), thread, int(strip.first[p]))
            keep = np.broadcast_to(ok[..., None], a.shape)
            add(np.broadcast_to((2 * at)[:, None, None], a.shape)[keep],
                np.broadcast_to(st[:, None, None], a.shape)[keep], a[keep], plan.nodes[p].row_bytes, 0)
        a = layout.rows(i, ys, thread, int(strip.first[i]))
        add(np.broadcast_to((2 * at + 1)[:, None], a.shape), np.broadcast_to(st[:, None], a.shape), a,
            plan.nodes[i].row_bytes, 1)
    key = np.concatenate(keys)
    idx = np.argsort(key, kind="stable")
    return (np.concatenate(steps)[idx], np.concatenate(addrs)[idx], np.concatenate(sizes)[idx],
            np.concatenate(writes)[idx])


def _lines(addr: np.ndarray, nbytes: np.ndarray, write: np.ndarray, line: int):
    """Cache-line addresses and write flags of (address, bytes, write) segments, in order."""
    first = addr // line
    count = (addr + nbytes - 1) // line - first + 1
    offsets = np.arange(int(count.sum()), dtype=np.int64) - np.repeat(np.cumsum(count) - count, count)
    return (np.repeat(first, count) + offsets) * line, np.repeat(write, count).astype(np.uint8)


class _Caches:
    """Private L1Ds (one per thread) in front of one shared LLC (module docstring)."""

    def __init__(self, key: PipelineMemoryKey) -> None:
        self.l1 = [CacheHierarchy((key.l1d,)) for _ in range(key.threads)]
        self.l2 = CacheHierarchy((key.l2,))
        self.line = key.l1d.line_bytes

    def access(self, thread: int, addr: np.ndarray, write: np.ndarray) -> None:
        if len(addr):
            req = self.l1[thread].access(addr, write, self.line, record=True)
            if len(req):
                self.l2.access(req.addr, req.rw, req.nbytes)

    def drain(self, base: int, nbytes: int) -> None:
        """Write back the dirty lines of ``[base, base + nbytes)`` from every L1D, then from the LLC."""
        shift = self.line.bit_length() - 1
        for h in self.l1:
            lines = h._tags[(h._dirty == 1) & (h._tags >= base >> shift) & (h._tags < (base + nbytes) >> shift)]
            h.flush(base, nbytes)
            if len(lines):
                self.l2.access(np.sort(lines) << shift, True, self.line)
        self.l2.flush(base, nbytes)

    def counters(self) -> np.ndarray:
        """int64[3, CNT_N]: the L1Ds' counters summed, the LLC's, memory."""
        return np.stack([sum(h._cnt[0] for h in self.l1), self.l2._cnt[0], self.l2._cnt[1]])


def _delta(after: np.ndarray, before: np.ndarray) -> tuple[float, float, float, float]:
    d = after - before
    return (float(d[1, _LH] + d[1, _SH]), float(d[1, [_LH, _SH, _LM, _SM]].sum()), float(d[2, _RB]), float(d[2, _WB]))


def run_pipeline_memory(key: PipelineMemoryKey) -> PipelineMemory:
    """The memory pass of ``key.pipeline`` (module docstring)."""
    plan = plan_pipeline(key.pipeline)
    layout, caches, line = _Layout(plan, key.threads), _Caches(key), key.l1d.line_bytes
    one = np.ones(1, np.int64)
    for (node, t), base in sorted(layout.base.items()):
        if t >= 0:  # the previous frame left every thread's line buffers in the caches
            caches.access(t, *_lines(np.array([base]), np.array([layout.nbytes(node)]), one, line))
    start = caches.counters()
    roots = [(layout.base[(i, -1)], layout.nbytes(i)) for i, n in enumerate(plan.nodes) if n.storage is Storage.ROOT]
    if roots:
        caches.access(0, *_lines(np.array([r[0] for r in roots]), np.array([r[1] for r in roots]),
                                 np.ones(len(roots), np.int64), line))
    root = _delta(caches.counters(), start)
    gathers = [(layout.base[(i, -1)], layout.nbytes(i)) for i, n in enumerate(plan.nodes) if n.storage is Storage.ROOT
               and any(r.gather and r.producer == n.name for st in key.pipeline.stages for r in st.reads)]
    stats = _strips(plan, layout, caches, _chains(plan), key.threads, gathers)
    out = plan.index(key.pipeline.output.name)
    snap = caches.counters()
    caches.drain(layout.base[(out, -1)], layout.nbytes(out))  # the frame's dirty output lines are written back
    rows = np.array([st.rows for st in plan.strips], dtype=float)
    stats[:, 3] += _delta(caches.counters(), snap)[3] * rows / rows.sum()
    return PipelineMemory(stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3], *root,
                          _cache_stats(caches.counters() - start))


def _strips(plan, layout, caches: _Caches, chains, threads: int, gathers) -> np.ndarray:
    """Run every wave of strips, their steps interleaved; per strip the _delta of its accesses."""
    n = len(plan.strips)
    stats = np.zeros((n, 4))
    line = caches.line
    for w0 in range(0, n, threads):
        wave = list(range(w0, min(n, w0 + threads)))
        segs = {s: _strip_segments(plan, layout, chains, s, s - w0) for s in wave}
        for s in wave:  # each strip starts by reading its lookup tables
            for base, nbytes in gathers:
                snap = caches.counters()
                caches.access(s - w0, *_lines(np.array([base]), np.array([nbytes]), np.zeros(1, np.int64), line))
                stats[s] += _delta(caches.counters(), snap)
        last = max(int(segs[s][0].max()) if len(segs[s][0]) else 0 for s in wave)
        bounds = {s: np.searchsorted(segs[s][0], np.arange(last + 2)) for s in wave}
        for k in range(last + 1):
            for s in wave:
                lo, hi = bounds[s][k], bounds[s][k + 1]
                if hi > lo:
                    _, a, b, wr = (x[lo:hi] for x in segs[s])
                    snap = caches.counters()
                    caches.access(s - w0, *_lines(a, b, wr, line))
                    stats[s] += _delta(caches.counters(), snap)
    return stats


def _cache_stats(d: np.ndarray) -> dict[str, dict[str, int]]:
    names = ("loads", "stores", "load_hits", "load_misses", "store_hits", "store_misses", "dirty_evictions",
             "clean_evictions", "writebacks", "fetches", "back_invalidations", "invalidations")
    return {level: {k: int(v) for k, v in zip(names, d[i])} for i, level in enumerate(("l1d", "l2"))}


@memoized("pipeline_memory", limit=32)
def pipeline_memory(key: PipelineMemoryKey) -> PipelineMemory:
    """:func:`run_pipeline_memory`, memoized on its key."""
    return run_pipeline_memory(key)


__all__ = ["PipelineMemory", "PipelineMemoryKey", "pipeline_memory", "run_pipeline_memory"]
