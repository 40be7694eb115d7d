"""``simulate(graph, system) -> Result``: SMAUG's end-to-end inference on an SoC, in SMAUG's order.

Per operator (topological order, one at a time, as SMAUG's scheduler runs them):

1. **CPU data preparation** (``cpu_prep``): the tiling copies of the activation inputs, split over
   ``cpu_threads`` threads as SMAUG's ``parallelCopyTileData`` does (ceil(tiles / threads) each).
   A thread's time is its copy loop (``CPU.copy_call_cycles`` per contiguous run, the bytes at
   ``copy_bytes_per_cycle``) plus the LLC hits its L1 misses wait for plus its DRAM traffic at the
   bandwidth its outstanding misses sustain; all threads share the DRAM bandwidth.
2. **Accelerator invocations**, round-robin over ``num_accelerators`` (the tiling plan's schedule):
   per invocation the loads of the tiles that are not resident, the compute, and the store of a
   completed output tile. DMA (``dma``): SMAUG moves tiles in 4 KiB requests and gem5-Aladdin
   delays each by ``lines x 12 ns`` for the flush of the CPU caches (or the invalidation before a
   store), one request after the other; with pipelined DMA each request's transfer and unpacking
   overlap the next request's flush (``kernels.network._dma_pipeline``). ACP (``acp``): the accelerator reads
   and writes lines through the LLC, hits at the ACP latency and misses (with the write-backs they
   cause) through DRAM, with the port's outstanding requests in flight. Every transfer of every
   accelerator shares the DRAM bandwidth (``kernels.timeline``); the accelerator that finishes last
   decides the time.
3. **CPU finalization** (``cpu_finalize``): untiling of the output tiles, split over threads
   (``TiledTensor::untile``), except the chunks of element-wise and unary ops, which SMAUG gathers
   on one thread (``flattenTiledTensor``; :attr:`.OpLowering.serial_finalize`).
4. **Framework overhead** (``cpu_overhead``): a fixed cost per operator. Operators the accelerator
   does not run (reorders, concat/split, reshapes, depthwise conv on SMV) execute on the CPU
   (``cpu_ops``).

The simulation is four pure stages, each a function of a small frozen key, memoized on that key in
:data:`~smaug_fast.memo.SIM_CACHE`:

===================  ==========================================  =======================================
stage                key                                         output
===================  ==========================================  =======================================
plan                 :class:`.PlanKey` (ops, accelerator)        :class:`.NetworkPlan` (lowerings)
memory pass          + :class:`.MemorySystem` (caches, interface, :class:`.MemoryRecord` (per-op cache
                     DMA flush/invalidate)                       and DRAM facts)
kernel inputs        + ``num_accelerators``                      :class:`.KernelInputs` (arrays)
timing               the whole System (not memoized: one kernel  :class:`.Result`
                     call)
===================  ==========================================  =======================================

so a sweep point over threads, DMA parameters or clocks costs one kernel call even for ResNet50.
:func:`clear_caches` forgets every memo (``SIM_CACHE.clear()``).

The constants no source gives (the CPU's copy costs and per-op overhead) are fitted to the paper's
Fig. 1 by ``validation/calibrate.py``; ``validation/smaug_paper.py`` compares the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError, MappingError, WorkloadError, describe
from ..hardware import System
from ..memo import SIM_CACHE
from ..workload.graph import Graph, OpsKey
from .lowering import KernelInputs, NetworkPlan, PlanKey, kernel_inputs, plan_network
from .memory_pass import MemoryRecord, MemorySystem, run_memory_pass, run_memory_passes
from .result import Result
from .timing import DramProfile, dram_profile, run_timing

#: Bounds of the stage tables (a ResNet50 memory record holds a few MB).
_PLANS, _RECORDS, _INPUTS = 64, 32, 32


@dataclass(frozen=True)
class MemoryKey:
    """What a memory pass depends on: the network's plan and the memory system."""

    plan: PlanKey
    memory: MemorySystem


@dataclass(frozen=True)
class InputsKey:
    """What the timing kernel's arrays depend on: the memory pass's key and the accelerator count."""

    memory: MemoryKey
    num_accelerators: int


def memory_key(graph: Graph, system: System) -> MemoryKey:
    """The key of ``graph``'s memory pass on ``system``: the points of a sweep that share it share the
    pass (sweeps group them on one worker)."""
    return MemoryKey(PlanKey(graph.ops_key(), system.accelerator), MemorySystem.of(system))


def network_plan(key: PlanKey) -> NetworkPlan:
    """Stage 1, memoized."""
    return SIM_CACHE.get("network_plan", key, lambda: plan_network(key), _PLANS)


def memory_record(key: MemoryKey) -> MemoryRecord:
    """Stage 2, memoized."""
    return SIM_CACHE.get("memory_record", key, lambda: run_memory_pass(network_plan(key.plan), key.memory), _RECORDS)


def is_memoized(key: MemoryKey) -> bool:
    """Whether the memory pass of ``key`` is memoized."""
    return key in SIM_CACHE.table("memory_record", _RECORDS).data


#: The most memory passes :func:`prepare_memory_records` runs in one call (they stay memoized together).
PREPARE_MAX = _RECORDS // 2


def prepare_memory_records(pairs: list[tuple[Graph, System]]) -> int:
    """Memoize the memory passes of the (graph, system) pairs that are not memoized yet, those of one
    network that differ only in the L2's size and associativity in one walk
    (:func:`~.memory_pass.run_memory_passes`): what a sweep does before simulating a batch of points, so
    that each of their ``simulate`` calls finds its pass done. The records are those ``simulate``
    computes alone. At most :data:`PREPARE_MAX` passes (the first ones); pairs whose plan fails or whose
    network does not fit the DRAM, and a network's only pass, are left to ``simulate``. Returns the number
    of passes memoized."""
    table = SIM_CACHE.table("memory_record", _RECORDS)
    todo: dict[PlanKey, list[MemoryKey]] = {}
    count = 0
    for graph, system in pairs:
        key = memory_key(graph, system)
        if key in table.data or key in todo.get(key.plan, ()):
            continue
        try:
            _check_fits(graph, key.plan.ops, system)
        except WorkloadError:
            continue
        if count == PREPARE_MAX:
            break
        todo.setdefault(key.plan, []).append(key)
        count += 1
    done = 0
    for plan_key, keys in todo.items():
        if len(keys) < 2:
            continue  # a pass of its own: simulate runs it as usual
        try:
            plan = network_plan(plan_key)
        except (ConfigError, MappingError, WorkloadError):
            continue
        for key, record in zip(keys, run_memory_passes(plan, [k.memory for k in keys]), strict=True):
            table.get(key, lambda r=record: r)
            done += 1
    return done


def prepared_inputs(key: InputsKey) -> KernelInputs:
    """Stage 3, memoized."""
    def compute() -> KernelInputs:
        m = key.memory
        return kernel_inputs(network_plan(m.plan), memory_record(m), m.memory, key.num_accelerators)

    return SIM_CACHE.get("kernel_inputs", key, compute, _INPUTS)


def clear_caches(tiling: bool = True) -> None:
    """Forget memoized results (compiled kernels stay), for benchmarks that time a simulation afresh.

    Every table of :data:`~smaug_fast.memo.SIM_CACHE`; with ``tiling=False`` the tables that depend
    on the ops and the accelerator only (lowerings, tiling plans, schedules, tile costs) are kept.
    """
    SIM_CACHE.clear(keep=() if tiling else _TILING_TABLES)


#: The tables that depend on the ops and the accelerator only.
_TILING_TABLES = ("lowering", "network_plan", "tiling_plans", "tile_shapes", "tile_costs", "schedule_costs",
                  "tile_boxes", "tile_storage_bytes", "tile_buffer_offsets")


def tensor_bytes(ops: OpsKey) -> int:
    """Bytes of every distinct tensor the ops read or write (weights included) [B] (memoized)."""
    def total() -> int:
        seen = {t.name: t.nbytes for op in ops.ops for t in (*op.inputs, *op.outputs)}
        return sum(seen.values())

    return SIM_CACHE.get("tensor_bytes", ops, total, _PLANS)


def _check_fits(graph: Graph, ops: OpsKey, system: System) -> None:
    """SMAUG allocates every tensor in main memory (and the memory pass gives each its own address
    range): a network whose tensors exceed the DRAM cannot run (and would take the pass hours)."""
    need, have = tensor_bytes(ops), system.dram.size_bytes
    if need > have:
        raise WorkloadError(
            f"network {graph.name!r}: its tensors need {need / 2**30:.3g} GiB, more than the "
            f"{have / 2**30:.3g} GiB of dram ({system.dram.name}); use a smaller batch or a larger DRAM"
        )


def simulate(graph: Graph, system: System | None = None, *, network: str | None = None,
             timeline: bool = True) -> Result:
    """The end-to-end inference of ``graph`` on ``system`` (default: the paper's Table 2 baseline).

    ``timeline=False`` leaves ``Result.timeline`` empty (sweeps need only the totals).

    Raises WorkloadError for a graph that is not a Graph, ConfigError for a system that is not a
    System, MappingError when an op cannot be tiled for the accelerator.
    """
    if not isinstance(graph, Graph):
        raise WorkloadError(f"graph = {describe(graph)}: must be a smaug_fast Graph (e.g. zoo.load('lenet5'))")
    if system is None:
        system = System()
    if not isinstance(system, System):
        raise ConfigError(
            f"system = {describe(system)}: must be a smaug_fast System (e.g. presets.load('smaug-table2'))"
        )
    key = InputsKey(memory_key(graph, system), system.num_accelerators)
    _check_fits(graph, key.memory.plan.ops, system)
    inputs = prepared_inputs(key)
    return run_timing(inputs, key.memory.plan.ops.ops, system, network or graph.name, timeline)


__all__ = ["DramProfile", "InputsKey", "MappingError", "MemoryKey", "clear_caches", "dram_profile", "memory_key",
           "is_memoized", "prepare_memory_records", "simulate"]
