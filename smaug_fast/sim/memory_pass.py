"""The memory pass: every CPU copy, flush, DMA and ACP transfer of a network through the cache model.

SMAUG's runtime (``core/scheduler.cpp``, ``core/tensor.cpp``, ``smv_*_op.cpp``) runs the ops one at
a time in topological order; for each op accelerated on SMV it

1. copies the activation inputs into tile buffers when they have more than one tile (weights were
   tiled once before timing started; a tensor of one tile is used in place);
2. for every invocation, sends the input and weight tiles it must (re)load and receives the output
   tile when it is complete: by DMA (the source lines are flushed from the CPU caches first and the
   destination lines invalidated, gem5-Aladdin's DMA model) or through the ACP port (coherent
   accesses to the last-level cache);
3. copies the output tiles back into the output tensor (untiling) when there are several.

Ops the accelerator does not run execute on the CPU, reading their inputs and writing their
outputs. This pass replays that sequence on one persistent :class:`~smaug_fast.memory.CacheHierarchy`
(the L1D of the thread doing the copies and the shared LLC), so that every op sees the cache state the
previous ones left, and records per op what the timing model needs: per tile of the CPU copies the
L1D misses that hit the LLC, the lines fetched from and written back to DRAM; per loaded tile the
ACP hits and misses; and the DRAM traffic of the DMA streams. It does not depend on the number of
threads or accelerators, so sweeps over those reuse it (it is memoized on the graph, the accelerator
and the memory system).

Simplifications (documented, deliberate): all CPU threads' copies go through one L1D (each thread's
copies stream, with little reuse, so private L1s change little); reloads of the same tile by
another accelerator see the cache state of its first load.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

import numpy as np

from ..memory import CacheHierarchy
from ..traces.builders import tiling_copy
from ..workload.core import Op, Tensor
from .lowering import OpLowering

_ALIGN = 4096


class Allocator:
    """Bump allocation of host buffers, each page aligned (SMAUG allocates every tensor and every
    tile buffer separately, all before the timed run)."""

    def __init__(self) -> None:
        self.next = _ALIGN
        self.regions: dict[object, tuple[int, int]] = {}

    def get(self, key: object, nbytes: int) -> int:
        region = self.regions.get(key)
        if region is None:
            base = self.next
            self.next = base + (int(nbytes) + _ALIGN - 1) // _ALIGN * _ALIGN + _ALIGN
            region = (base, int(nbytes))
            self.regions[key] = region
        return region[0]


@dataclass
class CopyStats:
    """Per-tile facts of a CPU copy (tiling or untiling), one entry per tile."""

    runs: np.ndarray  # contiguous runs copied (one memcpy call each)
    nbytes: np.ndarray  # bytes copied [B]
    l2_hits: np.ndarray  # L1D misses served by the LLC [lines]
    dram_bytes: np.ndarray  # bytes fetched from and written back to DRAM [B]
    l1_accesses: np.ndarray
    l2_accesses: np.ndarray

    @staticmethod
    def empty() -> CopyStats:
        z = np.zeros(0)
        return CopyStats(z, z, z, z, z, z)

    @staticmethod
    def concat(parts: list[CopyStats]) -> CopyStats:
        if not parts:
            return CopyStats.empty()
        return CopyStats(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(CopyStats)))


@dataclass
class TransferStats:
    """Per role and tile: the facts of loading it (first load) or storing it."""

    flush_dirty_bytes: dict[str, np.ndarray] = field(default_factory=dict)  # written back by the flush [B]
    acp_hit_lines: dict[str, np.ndarray] = field(default_factory=dict)
    acp_miss_lines: dict[str, np.ndarray] = field(default_factory=dict)
    acp_store_lines: int = 0


@dataclass
class OpMemory:
    """What the memory pass records for one op."""

    prep: CopyStats
    finalize: CopyStats
    transfer: TransferStats
    cpu_copy: CopyStats  # ops on the CPU: one entry
    acp_lines: int = 0  # LLC lookups made through the ACP


def _nhwc(tensor_shape: tuple[int, ...], layout: str, origin, size):
    """Map a tile of an NHWC, NC or flat tensor onto the NHWC box the trace generator takes."""
    if layout == "NHWC" and len(tensor_shape) == 4:
        return tuple(tensor_shape), tuple(origin), tuple(size)
    if len(tensor_shape) == 2:  # NC, or flat (1, elements)
        n, c = tensor_shape
        return (n, 1, 1, c), (origin[0], 0, 0, origin[1]), (size[0], 1, 1, size[1])
    total = math.prod(tensor_shape)
    return (1, 1, 1, total), (0, 0, 0, 0), (1, 1, 1, total)


def _runs(shape, size) -> int:
    """Contiguous runs of a box copy (each a memcpy call in SMAUG's copyTensorRegion)."""
    span = 1
    total = 1
    merging = True
    for full, part in zip(reversed(shape), reversed(size)):
        total *= part
        if merging:
            span *= part
            merging = part == full
    return max(1, total // max(1, span))


class MemoryPass:
    """Replays a network's memory behaviour through one cache hierarchy (see the module docstring)."""

    def __init__(self, system) -> None:
        self.system = system
        self.h = CacheHierarchy((system.l1d, system.l2))
        self.alloc = Allocator()
        self.l1_line = system.l1d.line_bytes
        self.l2_line = system.l2.line_bytes

    # -- counters ------------------------------------------------------------------------------------

    def _snap(self) -> np.ndarray:
        return self.h._cnt.copy()

    def _delta(self, before: np.ndarray) -> tuple[int, int, int, int, int]:
        """(LLC hits from L1 misses, DRAM bytes moved, L1 lookups, LLC lookups, DRAM write bytes)."""
        d = self.h._cnt - before
        l1, l2, mem = d[0], d[1], d[2]
        # Level rows follow CacheStats' counters (loads, stores, load_hits, load_misses, store_hits,
        # store_misses, ...); the memory row follows MemoryTraffic (reads, writes, read/write bytes).
        lh, lm, sh, sm = 2, 3, 4, 5
        l2_hits = int(l2[lh] + l2[sh])
        l1_lookups = int(l1[lh] + l1[lm] + l1[sh] + l1[sm])
        l2_lookups = int(l2[lh] + l2[lm] + l2[sh] + l2[sm])
        return l2_hits, int(mem[2] + mem[3]), l1_lookups, l2_lookups, int(mem[3])

    # -- addresses -----------------------------------------------------------------------------------

    def tensor_base(self, t: Tensor) -> int:
        return self.alloc.get(("tensor", t.name), t.nbytes)

    def tile_base(self, op: Op, role: str, index: int, nbytes: int) -> int:
        return self.alloc.get(("tile", op.name, role, index), nbytes)

    # -- copies --------------------------------------------------------------------------------------

    def _copy_tiles(self, op: Op, low: OpLowering, role: str, untile: bool) -> CopyStats:
        tiling = low.plan.tensor(role)
        itemsize = low.itemsize
        n = tiling.num_tiles
        runs = np.zeros(n)
        copied = np.zeros(n)
        hits = np.zeros(n)
        dram = np.zeros(n)
        l1a = np.zeros(n)
        l2a = np.zeros(n)
        host = self.alloc.get(("tensor", tiling.name), low.tensor_bytes(role))
        for i, origin, size in tiling.tiles():
            shape4, origin4, size4 = _nhwc(tiling.shape, tiling.layout, origin, size)
            nbytes = math.prod(size4) * itemsize
            buf = self.tile_base(op, role, i, tiling.storage_of(i) * itemsize)
            before = self._snap()
            trace = tiling_copy(
                host, shape4, origin4, size4, buf, layout="NHWC", elem_bytes=itemsize,
                access_bytes=self.l1_line, tile=i, untile=untile,
            )
            self.h.run(trace)
            h2, db, a1, a2, _ = self._delta(before)
            runs[i], copied[i] = _runs(shape4, size4), nbytes
            hits[i], dram[i], l1a[i], l2a[i] = h2, db, a1, a2
        return CopyStats(runs, copied, hits, dram, l1a, l2a)

    def cpu_op(self, op: Op) -> CopyStats:
        """An op on the CPU: read every activation input, write every output (line by line)."""
        before = self._snap()
        for t in op.activations:
            base = self.tensor_base(t)
            self.h.access(np.arange(base, base + t.nbytes, self.l1_line, dtype=np.int64), False, self.l1_line)
        for t in op.outputs:
            base = self.tensor_base(t)
            self.h.access(np.arange(base, base + t.nbytes, self.l1_line, dtype=np.int64), True, self.l1_line)
        h2, db, a1, a2, _ = self._delta(before)
        nbytes = sum(t.nbytes for t in op.outputs)
        return CopyStats(*(np.array([float(v)]) for v in (len(op.activations), nbytes, h2, db, a1, a2)))

    # -- transfers -----------------------------------------------------------------------------------

    def _source(self, op: Op, low: OpLowering, role: str, index: int) -> tuple[int, int]:
        """Address and size [B] of what a load of tile ``index`` of ``role`` reads (or a store writes)."""
        tiling = low.plan.tensor(role)
        if tiling.num_tiles == 1:
            nbytes = low.tensor_bytes(role)
            return self.alloc.get(("tensor", tiling.name), nbytes), nbytes
        nbytes = tiling.storage_of(index) * low.itemsize
        return self.tile_base(op, role, index, nbytes), nbytes

    def _transfers(self, op: Op, low: OpLowering, modes: dict[str, str]) -> TransferStats:
        out = TransferStats()
        sched = low.plan.schedule(1)
        seen: set[tuple[str, int]] = set()
        for role in low.loaded_roles:
            n = low.plan.tensor(role).num_tiles
            out.flush_dirty_bytes[role] = np.zeros(n)
            out.acp_hit_lines[role] = np.zeros(n)
            out.acp_miss_lines[role] = np.zeros(n)
        out.flush_dirty_bytes["output"] = np.zeros(low.plan.output.num_tiles)
        column = {"input": sched.input, "input1": sched.input1, "weights": sched.weights}
        read = {"input": sched.read_input, "input1": sched.read_input, "weights": sched.read_weights}
        for i in range(len(sched)):
            for role in low.loaded_roles:
                t = int(column[role][i])
                if t < 0 or not read[role][i] or (role, t) in seen:
                    continue
                seen.add((role, t))
                base, nbytes = self._source(op, low, role, t)
                before = self._snap()
                if modes[role] == "dma":
                    if not self.system.dma.ignore_cache_flush:
                        self.h.flush(base, nbytes)
                    *_, wb = self._delta(before)
                    out.flush_dirty_bytes[role][t] = wb
                else:
                    lines = np.arange(base - base % self.l2_line, base + nbytes, self.l2_line, dtype=np.int64)
                    self.h.acp(lines, False, self.l2_line)
                    d = self.h._cnt - before
                    out.acp_hit_lines[role][t] = d[1][2]  # LLC load hits
                    out.acp_miss_lines[role][t] = d[1][3]  # LLC load misses
            if sched.send_output[i]:
                t = int(sched.output[i])
                base, nbytes = self._source(op, low, "output", t)
                if modes["output"] == "dma":
                    if self.system.dma.invalidate_on_store:
                        self.h.invalidate(base, nbytes)
                else:
                    lines = np.arange(base - base % self.l2_line, base + nbytes, self.l2_line, dtype=np.int64)
                    self.h.acp(lines, True, self.l2_line)
                    out.acp_store_lines += len(lines)
        return out

    # -- one op --------------------------------------------------------------------------------------

    def accelerated(self, op: Op, low: OpLowering, modes: dict[str, str]) -> OpMemory:
        prep_parts = [self._copy_tiles(op, low, r, False) for r in low.prep_roles]
        transfer = self._transfers(op, low, modes)
        fin = self._copy_tiles(op, low, "output", True) if low.plan.output.num_tiles > 1 else CopyStats.empty()
        acp_lines = transfer.acp_store_lines + int(
            sum(transfer.acp_hit_lines[r].sum() + transfer.acp_miss_lines[r].sum() for r in transfer.acp_hit_lines)
        )
        return OpMemory(CopyStats.concat(prep_parts), fin, transfer, CopyStats.empty(), acp_lines)

    def on_cpu(self, op: Op) -> OpMemory:
        e = CopyStats.empty()
        return OpMemory(e, e, TransferStats(), self.cpu_op(op))
