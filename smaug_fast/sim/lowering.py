"""Stages 1 and 3 of ``simulate``: the network's plan, and the arrays the timing kernel takes.

Stage 1, :func:`plan_network` (key :class:`PlanKey`: the ops and the accelerator): every op in SMAUG's
order and, for the ops the accelerator runs, its :class:`OpLowering` (tiling plan and the roles its
runtime copies and sends).

Stage 3, :func:`kernel_inputs` (key: the plan's, the :class:`~.memory_pass.MemorySystem` and the
accelerator count): the plan and the memory pass's record as the flat arrays of
:func:`~smaug_fast.kernels.network.run_network` (:class:`KernelInputs`): per tile and per invocation,
everything of the run that does not depend on clocks, bandwidths, thread counts or overheads.

Both are pure functions of frozen values; the engine memoizes them on their keys in
:data:`~smaug_fast.memo.SIM_CACHE`, so a sweep over threads, clocks or DMA parameters reuses them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..choices import Role, TransferMode
from ..kernels import network as _kn
from ..memo import SIM_CACHE, memoized
from ..tiling.plan import TensorTiling, TilingPlan
from ..workload.core import Op
from ..workload.graph import OpsKey


@dataclass(frozen=True, eq=False)
class OpLowering:
    """An accelerated op's plan and the roles of its tensors.

    Attributes:
        op: the operator.
        plan: the accelerator's tiling plan.
        itemsize: bytes per element of the host tensors [B] (the weights' may differ:
            :meth:`itemsize_of`).
        loaded_roles: roles whose tiles are loaded into scratchpads (input, input1, weights).
        prep_roles: roles the CPU copies into tile buffers before the op (the activations that
            :meth:`copied`, weights computed at run time included; constant weights and other
            constants are tiled once before timing, as SMAUG does).
        constant_roles: roles whose tensor is a constant (weights, parameters, constant states).
    """

    op: Op
    plan: TilingPlan
    itemsize: int
    loaded_roles: tuple[Role, ...]
    prep_roles: tuple[Role, ...]
    constant_roles: frozenset[Role]

    def itemsize_of(self, role: Role) -> int:
        """Bytes per element of the host tensor of ``role`` [B]: ``itemsize``, or 1 for int8 weights
        (weight-only quantization; the plan's ``weight_itemsize``)."""
        if role == Role.WEIGHTS:
            return int(self.plan.param("weight_itemsize", self.itemsize))
        return self.itemsize

    def tensor_bytes(self, role: Role) -> int:
        """Size of the host tensor of ``role`` [B]."""
        return math.prod(self.plan.tensor(role).shape) * self.itemsize_of(role)

    def tensor_name(self, role: Role) -> str:
        return self.plan.tensor(role).name

    def copied(self, role: Role) -> bool:
        """The runtime copies ``role``'s tensor to or from tile buffers (else the accelerator moves
        the host tensor itself); see :func:`_copied`."""
        return _copied(self.plan.tensor(role))

    @property
    def serial_finalize(self) -> bool:
        """The output tiles are gathered by one thread. SMAUG untiles the outputs of tiled ops with
        ``TiledTensor::untile``, which splits the tiles over the thread pool, but gathers the
        contiguous chunks of element-wise and unary ops with ``flattenTiledTensor``
        (``core/tensor_utils.cpp``, used by ``smv_unary_op_common.cpp`` and the
        ``smv_eltwise_*``/``smv_less``/``smv_greater`` ops), a plain loop on the calling thread."""
        return self.plan.output.flat

    @property
    def tiling(self) -> str:
        """The strategy of each tensor, as the per-op rows report it (``input=NC weights=None ...``)."""
        return " ".join(f"{t.role}={t.strategy}" for t in self.plan.tensors)


def _copied(tiling: TensorTiling) -> bool:
    """SMAUG uses a tensor as its own tile when its tiling has one tile
    (``generateTiledTensorWithStrideAndPadding``), but the contiguous chunks of element-wise and
    unary ops are always new tensors (``generateTiledTensorPerBatchNC``), copied even when one chunk
    holds the whole tensor."""
    return tiling.num_tiles > 1 or tiling.flat


_LOADED = (Role.INPUT, Role.INPUT1, Role.WEIGHTS)


@memoized("lowering", limit=8192)
def lower(op: Op, accelerator) -> OpLowering:
    """The lowering of ``op`` on ``accelerator`` (MappingError if it cannot be tiled)."""
    plan = accelerator.tile(op)
    itemsize = int(plan.param("itemsize", op.inputs[0].itemsize))
    roles = [t.role for t in plan.tensors]
    loaded = tuple(r for r in _LOADED if r in roles)
    constant = set()
    if Role.WEIGHTS in roles and op.inputs[1].constant:
        constant.add(Role.WEIGHTS)
    if Role.INPUT1 in roles and len(op.inputs) > 1 and op.inputs[1].constant:
        constant.add(Role.INPUT1)
    if op.inputs[0].constant:
        constant.add(Role.INPUT)
    # weights computed at run time (an inner product of two activations: SMAUG's unrolled attention,
    # ops/attention.py, or a batched matmul unrolled per item) are tiled by the CPU before the op, as
    # activations are; constant weights were tiled once, before timing
    prep = tuple(
        r for r in (Role.INPUT, Role.INPUT1, Role.WEIGHTS) if r in roles and r not in constant
        and _copied(plan.tensor(r))
    )
    return OpLowering(op, plan, itemsize, loaded, prep, frozenset(constant))


# --------------------------------------------------------------------------------------------------
# Stage 1: the network's plan
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanKey:
    """What a network's plan depends on: its ops (in order, names included) and the accelerator."""

    ops: OpsKey
    accelerator: object


@dataclass(frozen=True, eq=False)
class NetworkPlan:
    """Stage 1's output: the ops in SMAUG's order and each accelerated op's lowering (None: on the CPU)."""

    key: PlanKey
    lowerings: tuple[OpLowering | None, ...]

    @property
    def ops(self) -> tuple[Op, ...]:
        return self.key.ops.ops

    @property
    def accelerator(self):
        return self.key.accelerator

    def accelerated(self) -> list[tuple[Op, OpLowering]]:
        """The (op, lowering) pairs of the ops the accelerator runs."""
        return [(op, low) for op, low in zip(self.ops, self.lowerings) if low is not None]


def plan_network(key: PlanKey) -> NetworkPlan:
    """Stage 1: lower every op the accelerator supports (MappingError when one cannot be tiled)."""
    acc = key.accelerator
    return NetworkPlan(key, tuple(lower(op, acc) if acc.supports(op) else None for op in key.ops.ops))


# --------------------------------------------------------------------------------------------------
# Stage 3: the arrays of the timing kernel
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class KernelInputs:
    """A network on one accelerator, memory system and accelerator count, as arrays for
    :func:`~smaug_fast.kernels.network.run_network` (see that kernel for the layout)."""

    accel: np.ndarray  # bool[O]
    copy_ptr: np.ndarray  # int64[2 O + 1]
    copies: np.ndarray  # float64[C, COPY_N]
    acc_ptr: np.ndarray  # int64[O, nacc + 1]
    inv: np.ndarray  # float64[I, INV_N]
    out_dma: np.ndarray  # bool[O]
    serial_fin: np.ndarray  # bool[O], the output is untiled by one thread (OpLowering.serial_finalize)
    macs: np.ndarray  # MACs the accelerators execute, per op
    energy_j: np.ndarray  # the accelerator model's dynamic energy [J]
    spad_j: np.ndarray  # scratchpad share of energy_j [J]
    cycles: np.ndarray  # accelerator cycles of the op's invocations
    invocations: np.ndarray
    l1_accesses: np.ndarray  # L1D accesses of the CPU copies or the CPU op
    l2_accesses: np.ndarray  # LLC accesses (CPU copies and ACP)
    tiling: tuple[str, ...]
    names: tuple[str, ...]
    kinds: tuple[str, ...]
    devices: tuple[str, ...]  # "accel" or "cpu"
    op_macs: tuple[int, ...]  # the op's own MACs (Op.macs)
    cache_stats: dict  # the CPU caches' counters over the run, per level


def schedule_costs(op: Op, accelerator, num_accelerators: int):
    """(schedule, its costs) of ``op`` on ``num_accelerators`` accelerators, memoized on the op's
    signature: neither holds a name, so ops of one signature (a network's repeated layers) share them."""
    def compute():
        low = lower(op, accelerator)
        sched = low.plan.schedule(num_accelerators)
        return sched, accelerator.schedule_costs(op, low.plan, sched)

    return SIM_CACHE.get("schedule_costs", (op.signature, accelerator, num_accelerators), compute, 16384)


def _load_rows(inv, low: OpLowering, mem, modes, sched, costs, line: int) -> tuple:
    """Fill the DMA columns of ``inv``; return the ACP (hits, DRAM bytes, write-backs) per invocation."""
    n = len(sched)
    acp = np.zeros((3, n))
    loads = ((Role.INPUT, costs.load_bytes_input.astype(float), sched.input),
             (Role.WEIGHTS, costs.load_bytes_weights.astype(float), sched.weights))
    for role, bytes_, tiles in loads:
        if not bytes_.any():
            continue
        # per-tile facts of the memory pass (input1 rides with input: the same invocations load it)
        roles = [role] + ([Role.INPUT1] if role is Role.INPUT and Role.INPUT1 in low.loaded_roles else [])
        t = np.where(tiles >= 0, tiles, 0)
        on = bytes_ > 0
        tr = mem.transfer
        if modes[role] is TransferMode.DMA:
            inv[:, _kn.I_DMA_BYTES] += bytes_
            inv[:, _kn.I_DIRTY] += np.where(on, sum(tr.flush_dirty_bytes[r][t] for r in roles), 0.0)
            continue
        hits = sum(tr.acp_hit_lines[r][t] for r in roles)
        misses = sum(tr.acp_miss_lines[r][t] for r in roles)
        # scale the first-load facts to this load's size (reloads of resident data are not loads)
        scale = np.where(on, np.ceil(bytes_ / line) / np.maximum(hits + misses, 1.0), 0.0)
        acp[0] += hits * scale
        acp[1] += sum(tr.acp_dram_bytes[r][t] for r in roles) * scale
        acp[2] += sum(tr.acp_dram_write_bytes[r][t] for r in roles) * scale
    return acp


def _invocation_rows(op: Op, low: OpLowering, mem, memsys, nacc: int, accelerator):
    """(acc_ptr int64[nacc + 1], inv float64[n, INV_N], costs): an op's invocations grouped by
    accelerator, issue order kept within each (SMAUG dispatches tiles round-robin). Where every tile
    moves by DMA and the flushes are delays only, nothing of the memory pass enters them: they are
    memoized on the op's signature (a network's repeated layers share them)."""
    modes = memsys.modes
    if not memsys.flush_writes_back and all(m is TransferMode.DMA for m in modes.values()):
        key = (op.signature, accelerator, nacc, memsys)
        return SIM_CACHE.get("invocation_rows", key, lambda: _rows(op, low, mem, memsys, nacc, accelerator), 4096)
    return _rows(op, low, mem, memsys, nacc, accelerator)


def _rows(op: Op, low: OpLowering, mem, memsys, nacc: int, accelerator):
    modes = memsys.modes
    sched, costs = schedule_costs(op, accelerator, nacc)
    inv = np.zeros((len(sched), _kn.INV_N))
    load_in = costs.load_bytes_input.astype(float)
    load_w = costs.load_bytes_weights.astype(float)
    acp_hits, acp_dram, acp_wb = _load_rows(inv, low, mem, modes, sched, costs, memsys.l2.line_bytes)
    inv[:, _kn.I_LOAD_CYCLES] = costs.load_cycles
    inv[:, _kn.I_BUSY_CYCLES] = costs.compute_cycles + costs.store_cycles
    inv[:, _kn.I_ACP_HITS] = acp_hits
    inv[:, _kn.I_ACP_DRAM] = acp_dram
    inv[:, _kn.I_ACP_DRAM_WB] = acp_wb
    inv[:, _kn.I_ACP_BYTES] = load_in + load_w - inv[:, _kn.I_DMA_BYTES]
    store = costs.store_bytes.astype(float)
    inv[:, _kn.I_STORE_BYTES] = store
    if modes[Role.OUTPUT] is not TransferMode.DMA:
        out_t = np.where(sched.output >= 0, sched.output, 0)
        inv[:, _kn.I_STORE_DRAM] = np.where(store > 0, mem.transfer.acp_store_dram_bytes[out_t], 0.0)
        inv[:, _kn.I_STORE_DRAM_WB] = np.where(store > 0, mem.transfer.acp_store_dram_write_bytes[out_t], 0.0)
    order = np.argsort(sched.accel, kind="stable")
    acc_ptr = np.concatenate([[0], np.cumsum(np.bincount(sched.accel, minlength=nacc))]).astype(np.int64)
    return acc_ptr, inv[order], costs


class _Builder:
    """Accumulates the per-op rows of :class:`KernelInputs`. What it derives from a record or a cost
    object it derives once per object: the memory pass hands the copies of a repeated block it skipped
    the records of the copy they repeat, and ops of one signature share their costs."""

    PER_OP = ("macs", "energy_j", "spad_j", "cycles", "invocations", "l1_accesses", "l2_accesses")

    def __init__(self, n_ops: int, nacc: int) -> None:
        self.accel = np.zeros(n_ops, dtype=bool)
        self.serial_fin = np.zeros(n_ops, dtype=bool)
        self.copy_parts: list[np.ndarray] = []
        self.copy_ptr = np.zeros(2 * n_ops + 1, dtype=np.int64)
        self.acc_ptr = np.zeros((n_ops, nacc + 1), dtype=np.int64)
        self.inv_parts: list[np.ndarray] = []
        self.n_inv = 0
        self.f = {name: np.zeros(n_ops) for name in self.PER_OP}
        self.tiling: list[str] = []
        self._once: dict[tuple[int, str], object] = {}  # (id of the object, what) -> what derives from it

    def _of(self, obj, what: str, derive):
        key = (id(obj), what)
        got = self._once.get(key)
        if got is None:
            got = self._once[key] = (derive(obj), obj)  # holding obj keeps its id unique meanwhile
        return got[0]

    def copies(self, slot: int, stats) -> None:
        rows = self._of(stats, "rows", lambda c: np.column_stack([c.runs, c.nbytes, c.l2_hits, c.dram_bytes,
                                                                  c.dram_write_bytes]))
        self.copy_parts.append(rows)
        self.copy_ptr[slot + 1] = self.copy_ptr[slot] + len(rows)

    def accelerated(self, o: int, op: Op, low: OpLowering, mem, memsys, nacc: int, accelerator) -> None:
        self.accel[o] = True
        self.serial_fin[o] = low.serial_finalize
        self.tiling.append(low.tiling)
        self.copies(2 * o, mem.prep)
        self.copies(2 * o + 1, mem.finalize)
        ptr, inv, costs = _invocation_rows(op, low, mem, memsys, nacc, accelerator)
        self.acc_ptr[o] = ptr + self.n_inv
        self.n_inv += len(inv)
        self.inv_parts.append(inv)
        f = self.f
        f["macs"][o], f["energy_j"][o], f["spad_j"][o], f["cycles"][o] = self._of(
            costs, "sums", lambda c: (c.macs.sum(), c.energy_j.sum(), c.spad_energy_j.sum(), c.cycles.sum()))
        f["invocations"][o] = len(inv)
        f["l1_accesses"][o], f["l2_accesses"][o] = self._of(
            mem, "accesses", lambda m: (m.prep.l1_accesses.sum() + m.finalize.l1_accesses.sum(),
                                        m.prep.l2_accesses.sum() + m.finalize.l2_accesses.sum() + m.acp_lines))

    def on_cpu(self, o: int, mem) -> None:
        self.tiling.append("")
        c = mem.cpu_copy
        self.copies(2 * o, c)  # one row: the op's reads and writes
        self.copy_ptr[2 * o + 2] = self.copy_ptr[2 * o + 1]
        self.acc_ptr[o] = self.n_inv
        self.f["l1_accesses"][o], self.f["l2_accesses"][o] = self._of(
            c, "accesses", lambda c: (c.l1_accesses.sum(), c.l2_accesses.sum()))


def kernel_inputs(plan: NetworkPlan, record, memsys, num_accelerators: int) -> KernelInputs:
    """Stage 3: the plan and the memory pass's ``record`` (on ``memsys``) as the timing kernel's arrays."""
    ops = plan.ops
    b = _Builder(len(ops), num_accelerators)
    for o, (op, low, mem) in enumerate(zip(ops, plan.lowerings, record.ops)):
        if low is not None:
            b.accelerated(o, op, low, mem, memsys, num_accelerators, plan.accelerator)
        else:
            b.on_cpu(o, mem)
    return KernelInputs(
        accel=b.accel,
        copy_ptr=b.copy_ptr,
        copies=np.concatenate(b.copy_parts) if b.copy_parts else np.zeros((0, _kn.COPY_N)),
        acc_ptr=b.acc_ptr,
        inv=np.concatenate(b.inv_parts) if b.inv_parts else np.zeros((0, _kn.INV_N)),
        out_dma=np.full(len(ops), memsys.modes[Role.OUTPUT] is TransferMode.DMA),
        serial_fin=b.serial_fin,
        tiling=tuple(b.tiling),
        names=tuple(op.name for op in ops),
        kinds=tuple(op.kind for op in ops),
        devices=tuple("accel" if a else "cpu" for a in b.accel),
        op_macs=tuple(op.macs for op in ops),
        cache_stats=record.cache_stats,
        **b.f,
    )


__all__ = ["KernelInputs", "NetworkPlan", "OpLowering", "PlanKey", "kernel_inputs", "lower", "plan_network",
           "schedule_costs"]
