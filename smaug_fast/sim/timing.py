"""Stage 4 of ``simulate``: timing and energy of a network prepared by the first three stages.

:func:`timing_params` turns the System's clocks, bandwidths and overheads (and the DRAM's profile,
:func:`dram_profile`) into the parameter vector of :func:`~smaug_fast.kernels.network.run_network`;
:func:`run_timing` calls the kernel once and assembles the :class:`~.result.Result`: per-op rows, the
phase breakdown, energy per component (the accelerator's own model, its leakage over its invocations,
cache accesses and leakage, DRAM commands and background power, the CPU while it runs the stack).

Requests smaller than a DRAM burst (the caches' lines on a 64-byte-burst interface) occupy a whole
burst, in time and in energy.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..choices import Interface, OpKind
from ..cpu_cost import loop_cycles
from ..hardware import System
from ..kernels import network as _kn
from ..kernels.network import run_network
from ..memo import memoized
from ..memory import DRAM
from . import warmup
from ..workload.core import (
    Attention,
    BatchMatMul,
    CacheAppend,
    CausalMask,
    Convolution,
    Embedding,
    LayerNorm,
    Op,
    Pointwise,
    Reorder,
    Reshape,
    RMSNorm,
    Rotary,
    Transpose,
)
from .lowering import KernelInputs
from .result import DETAIL_PHASES, ENERGY_COMPONENTS, ENERGY_DETAIL, PHASES, OpResult, OpRows, Result, Timeline


@dataclass(frozen=True)
class DramProfile:
    """What the DRAM model says about streaming traffic on one DRAM configuration.

    Attributes:
        bandwidth_bytes_per_s: achieved bandwidth of a long sequential read stream [B/s].
        read_j_per_byte, write_j_per_byte: command and burst energy per byte [J/B].
        background_w: background (standby and refresh) power [W].
        latency_s: latency of a lone read that finds its bank closed [s].
        burst_bytes: bytes of one burst; a smaller request still occupies a whole burst [B].
        write_k: DRAM occupancy of a written byte relative to a read byte [1], from a copy stream
            (a burst read from one region, a burst written to another, alternately; the tiling copies,
            flush write-backs and DMA stores write as much as they read): writes drained in batches,
            the bus turnarounds (tWTR after a write burst, CWL), write recovery (tWR) before a row can
            close and the conflicts of two open rows cost the mixed stream the bandwidth a read
            stream keeps. ``2 x read / copy bandwidth - 1``: 1.0 when mixing costs nothing.
        write_post_bytes: bytes of writes the controllers take ahead of the DRAM [B]: every
            channel's write queue less the writes it holds while no read waits (a write is answered
            once queued; the queue drains with no read waiting only past ``write_drain_min``
            entries: gem5 src/mem/dram_ctrl.cc, ``totalWriteQueueSize > writeLowThreshold``;
            DRAMsim3 src/controller.cc ScheduleTransaction, ``write_buffer_.size() > 8``), in whole
            bursts: the room a DMA store finds after the DRAM has idled.
    """

    bandwidth_bytes_per_s: float
    read_j_per_byte: float
    write_j_per_byte: float
    background_w: float
    latency_s: float
    burst_bytes: int = 32
    write_k: float = 1.0
    write_post_bytes: float = 0.0


@memoized("dram_profile", limit=64)
def dram_profile(config) -> DramProfile:
    """Run the DRAM model on 256 KiB sequential read, write and copy streams of ``config`` (memoized;
    longer streams change the figures by a few percent at most). On a first run, after the process
    :mod:`.warmup` forked to compile the DRAM model's kernels has finished."""
    warmup.wait()
    return _compute_dram_profile(config)


def _compute_dram_profile(config) -> DramProfile:
    dram = DRAM(config)
    n = 1 << 18
    burst = config.burst_bytes
    addrs = np.arange(0, n, burst, dtype=np.int64)
    rd = dram.simulate(addrs, False)
    wr = dram.simulate(addrs, True)
    # the copy stream: each burst read from the first third of the DRAM is written to the second
    copy = np.empty(2 * len(addrs), dtype=np.int64)
    copy[0::2], copy[1::2] = addrs, addrs + config.size_bytes // 3 // burst * burst
    cp = dram.simulate(copy, np.tile(np.array([False, True]), len(addrs)))
    write_k = max(1.0, 2.0 * rd.bandwidth_bytes_per_s / cp.bandwidth_bytes_per_s - 1.0)
    bg_w = rd.energy_breakdown_j.get("background", 0.0) / rd.time_s if rd.time_s else 0.0
    dyn = lambda st: sum(v for k, v in st.energy_breakdown_j.items() if k != "background")  # noqa: E731
    return DramProfile(
        bandwidth_bytes_per_s=rd.bandwidth_bytes_per_s,
        read_j_per_byte=dyn(rd) / n,
        write_j_per_byte=dyn(wr) / n,
        background_w=bg_w,
        latency_s=config.unloaded_latency_ns()["closed"] * 1e-9,
        burst_bytes=int(burst),
        write_k=write_k,
        write_post_bytes=float(config.channels * (config.write_entries - config.write_drain_min) * burst),
    )



def timing_params(system: System, dram: DramProfile) -> np.ndarray:
    """The system's timing parameters for :func:`~smaug_fast.kernels.network.run_network`."""
    cpu, acc, dma, acp = system.cpu, system.accelerator, system.dma, system.acp
    f_cpu = float(cpu.freq_hz)
    f_acc = float(acc.freq_hz)
    line = system.l2.line_bytes
    # an L1 miss is sent on after the L1's own lookup (gem5 Ruby MESI_Two_Level: the L1 controller's
    # l1_request_latency, 2 cycles, precedes the request to the L2), so both latencies are paid
    miss_cycles = system.l1d.latency_cycles + system.l2.latency_cycles
    mem_lat = miss_cycles / f_cpu + dram.latency_s
    flush_ns = 0.0 if dma.ignore_cache_flush else dma.flush_ns_per_line
    invalidate_ns = 0.0 if dma.ignore_cache_flush or not dma.invalidate_on_store else dma.invalidate_ns_per_line
    p = np.zeros(_kn.N_PARAMS)
    p[_kn.F_CPU] = f_cpu
    p[_kn.F_ACC] = f_acc
    p[_kn.COPY_CALL_CYCLES] = cpu.copy_call_cycles
    p[_kn.COPY_BYTES_PER_CYCLE] = cpu.copy_bytes_per_cycle
    # the unhidden time of one LLC hit after an L1 miss [s]
    p[_kn.L2_STALL_S] = miss_cycles / f_cpu / cpu.outstanding_misses
    # one core's DRAM bandwidth under its outstanding misses [B/s]
    p[_kn.CORE_CAP] = cpu.outstanding_misses * line / mem_lat
    # DRAM occupancy per useful byte: a request smaller than a burst still takes a whole burst
    # (gem5's DRAMCtrl, and our DRAM model, move whole bursts), so line-sized requests on a
    # 64-byte-burst interface use half of its bandwidth and pay a whole burst's energy.
    p[_kn.LINE_K] = max(1.0, dram.burst_bytes / line)
    p[_kn.DMA_K] = max(1.0, dram.burst_bytes / dma.chunk_bytes)
    p[_kn.DMA_CAP] = dma.max_outstanding * dma.chunk_bytes / dram.latency_s
    p[_kn.ACP_CAP] = acp.max_outstanding * acp.line_bytes / (dram.latency_s + acp.latency_cycles / f_acc)
    p[_kn.DRAM_BW] = dram.bandwidth_bytes_per_s
    p[_kn.DMA_SETUP_CYCLES] = dma.setup_cycles
    p[_kn.FLUSH_NS] = flush_ns
    p[_kn.INVALIDATE_NS] = invalidate_ns
    p[_kn.PAGE_BYTES] = dma.page_bytes
    p[_kn.LINE_BYTES] = line
    p[_kn.ACP_LATENCY_CYCLES] = acp.latency_cycles
    p[_kn.ACP_OUTSTANDING] = acp.max_outstanding
    p[_kn.OVERHEAD_S] = cpu.op_overhead_cycles / f_cpu
    p[_kn.PIPELINED] = float(dma.pipelined)
    # unpacking overlaps the transfer under pipelined DMA and under ACP
    p[_kn.OVERLAP] = float(dma.pipelined or system.interface is not Interface.DMA)
    # a written byte occupies the DRAM longer than a read one (turnarounds, write recovery, drains)
    p[_kn.WRITE_K] = dram.write_k
    # a DMA store's first bytes wait in the DRAM controllers' write queues, for no DRAM time
    p[_kn.POST_BYTES] = dram.write_post_bytes
    return p


#: Floating-point operations per output element of the transformer ops SMV has no kernel for, run on
#: the CPU as scalar fp32 code (counted from kernels/transformer.py, with glibc's single-precision
#: libm costed by its evaluation: expf (sysdeps/ieee754/flt-32/e_expf.c: range reduction and a degree-3
#: polynomial in double, ~12 operations), erff and tanhf (s_erff.c, s_tanhf.c: rational approximations,
#: ~20 operations)). Layer norm: mean and variance (3 per element) and the normalization (4); RMS norm:
#: square-accumulate (2) and two multiplies; gelu: erf plus 4; gelu_tanh: tanh plus 7; silu: exp, an
#: add and a divide (~4 cycles counted as 4 operations); rotary: 2 multiplies and an add per output
#: plus its cos/sin per position and frequency amortized over the batch (counted as 3).
CPU_FLOPS_PER_ELEM: dict[type, dict[str, float] | float] = {
    LayerNorm: 7.0,
    RMSNorm: 4.0,
    Pointwise: {"gelu": 24.0, "gelu_tanh": 27.0, "silu": 17.0},
    Rotary: 6.0,
}

#: One multiply-accumulate of the CPU's convolution and matrix-multiply loops: SMAUG's reference
#: kernels are scalar fp32 C (smaug/operators/ref/ref_depthwise_convolution_op.cpp: ``partial_sum +=
#: img_val * kern_val`` over the kernel window, ref_inner_product_op.cpp alike): two loads, a multiply
#: and an add per MAC, costed by the CPU's loop model (:mod:`smaug_fast.cpu_cost`).
CPU_MAC_WORK = ((OpKind.LOAD, 2.0), (OpKind.MUL, 1.0), (OpKind.ADD, 1.0))


#: One score of a fused attention's softmax, kept in registers (no load or store: the scores never
#: reach memory): the score's scaling, a compare for the running maximum, a subtraction, the
#: exponential (12 operations, as expf in CPU_FLOPS_PER_ELEM), the running sum and the rescale of the
#: accumulator: 17.
_SOFTMAX_WORK = ((OpKind.ADD, 17.0),)


def _elementwise_work(flops: float) -> tuple:
    """One output element of an fp32 loop of ``flops`` operations: a load, the operations, a store."""
    return ((OpKind.LOAD, 1.0), (OpKind.ADD, flops), (OpKind.STORE, 1.0))


#: How the CPU runs a transformer's ops: an LLM runtime's SIMD kernels in fp32 lanes (4 B), not
#: SMAUG's scalar reference kernels. ggml, llama.cpp's CPU backend, vectorizes its dot products, norms,
#: softmax and activations with whatever SIMD the core has (with only SSE3, as gem5's x86 core:
#: ``GGML_SIMD`` on ``__m128``, 4 fp32 lanes, ``GGML_F32_EPR 4``, in ggml's SIMD mappings), and so do
#: PyTorch's CPU kernels. The CPU loop model then charges a micro-op per ``CPU.simd_bytes_per_uop``
#: bytes of lanes (:mod:`smaug_fast.cpu_cost`).
_RUNTIME_SIMD = {"lane_bytes": 4, "vectorized": True}


def _transformer_cpu_cycles(system: System, op: Op) -> float | None:
    """CPU cycles of a transformer op's compute (None for other ops), as an LLM runtime's vectorized
    loops (:data:`_RUNTIME_SIMD`). Batched matmul and attention: their MACs (the MAC work of a
    convolution on the CPU), and attention's softmax per score; element-wise ops: CPU_FLOPS_PER_ELEM
    per output element; embedding and causal mask: copies (a memcpy call per gathered row; a copy pass
    over the scores)."""
    cpu = system.cpu
    mac = loop_cycles(CPU_MAC_WORK, cpu, **_RUNTIME_SIMD)
    if isinstance(op, BatchMatMul):
        return op.macs * mac
    if isinstance(op, Attention):  # both products, and the online softmax of every score
        return op.macs * mac + op.scores * loop_cycles(_SOFTMAX_WORK, cpu, **_RUNTIME_SIMD)
    if isinstance(op, Embedding):
        rows = op.inputs[0].size
        return rows * cpu.copy_call_cycles + op.output_bytes / cpu.copy_bytes_per_cycle
    if isinstance(op, CausalMask):
        return cpu.copy_call_cycles + op.output_bytes / cpu.copy_bytes_per_cycle
    flops = CPU_FLOPS_PER_ELEM.get(type(op))
    if flops is None:
        return None
    if isinstance(flops, dict):
        flops = flops[op.function]
    return op.outputs[0].size * loop_cycles(_elementwise_work(flops), cpu, **_RUNTIME_SIMD)


def cpu_op_work_s(system: System, op: Op) -> float:
    """Compute time of an op that runs on the CPU [s] (memory time is added from the memory pass)."""
    cpu = system.cpu
    f_cpu = float(cpu.freq_hz)
    if isinstance(op, Convolution):  # depthwise (SMV has no kernel for it), or any conv off-accelerator
        return op.macs * loop_cycles(CPU_MAC_WORK, cpu) / f_cpu
    cycles = _transformer_cpu_cycles(system, op)
    if cycles is not None:
        return cycles / f_cpu
    out_elems = sum(t.size for t in op.outputs)
    if isinstance(op, Reshape):
        return (cpu.copy_call_cycles + op.output_bytes / cpu.copy_bytes_per_cycle) / f_cpu
    if isinstance(op, CacheAppend):  # a memcpy of the new rows per run (one per head of a KV cache)
        runs = op.appended_runs()[0]
        return (runs * cpu.copy_call_cycles + op.inputs[1].nbytes / cpu.copy_bytes_per_cycle) / f_cpu
    if isinstance(op, (Reorder, Transpose)):
        return out_elems * cpu.gather_cycles_per_elem / f_cpu
    # concat, split, padding, repeat, element-wise and anything else: a copy per output element run
    return (len(op.outputs) * cpu.copy_call_cycles + op.output_bytes / cpu.copy_bytes_per_cycle) / f_cpu


def run_timing(inputs: KernelInputs, ops: tuple[Op, ...], system: System, network: str, timeline: bool) -> Result:
    """Stage 4: the timing kernel on ``inputs`` with ``system``'s parameters, as a Result."""
    dram = dram_profile(system.dram)
    cpu_work = np.zeros(len(ops))
    work: dict[tuple, float] = {}  # per op signature: a network's repeated layers cost alike
    for o in np.flatnonzero(~inputs.accel).tolist():
        sig = ops[o].signature
        w = work.get(sig)
        if w is None:
            w = work[sig] = cpu_op_work_s(system, ops[o])
        cpu_work[o] = w
    latency, detail, op_latency, traffic, accel_busy, cpu_busy, tl = run_network(
        inputs.accel, inputs.copy_ptr, inputs.copies, inputs.acc_ptr, system.num_accelerators, inputs.inv,
        inputs.out_dma, inputs.serial_fin, cpu_work, system.cpu_threads, timing_params(system, dram), timeline,
    )
    energy = _energy(inputs, system, dram, latency, traffic, accel_busy, cpu_busy)
    coarse = {c: 0.0 for c in ENERGY_COMPONENTS}
    for c, v in energy.items():
        coarse[ENERGY_DETAIL[c]] += v
    totals = dict(zip(DETAIL_PHASES, detail.sum(axis=0).tolist()))
    breakdown = {p: 0.0 for p in PHASES}
    for p, v in totals.items():
        breakdown[DETAIL_PHASES[p]] += v
    occ = traffic.sum(axis=0)
    return Result(
        network=network,
        latency_s=latency,
        breakdown_s=breakdown,
        detail_s=totals,
        energy_j=float(sum(coarse.values())),
        energy_breakdown_j=coarse,
        energy_detail_j=energy,
        dram_read_bytes=int(occ[_kn.T_READ]),
        dram_write_bytes=int(occ[_kn.T_WRITE]),
        macs=int(inputs.macs.sum()),
        ops=OpRows(functools.partial(_op_rows, inputs, detail, op_latency, traffic)),
        timeline=_timeline(tl),
        cache_stats={level: dict(c) for level, c in inputs.cache_stats.items()},
        system=system,
    )


def _op_rows(inputs: KernelInputs, detail: np.ndarray, op_latency: np.ndarray, traffic: np.ndarray):
    """The per-op rows; each phase of PHASES is the sum of its finer phases, in DETAIL_PHASES order."""
    coarse_of = np.zeros((len(inputs.names), len(PHASES)))
    for i, p in enumerate(DETAIL_PHASES.values()):
        coarse_of[:, PHASES.index(p)] += detail[:, i]
    return tuple(
        OpResult(
            name=name, kind=kind, device=device, latency_s=lat, breakdown_s=dict(zip(PHASES, coarse)),
            detail_s=dict(zip(DETAIL_PHASES, fine)), energy_j=e, macs=m, invocations=n, dram_read_bytes=rd,
            dram_write_bytes=wr, tiling=t,
        )
        for name, kind, device, lat, coarse, fine, e, m, n, rd, wr, t in zip(
            inputs.names, inputs.kinds, inputs.devices, op_latency.tolist(), coarse_of.tolist(), detail.tolist(),
            inputs.energy_j.tolist(), inputs.op_macs, inputs.invocations.astype(np.int64).tolist(),
            traffic[:, _kn.T_READ].astype(np.int64).tolist(), traffic[:, _kn.T_WRITE].astype(np.int64).tolist(),
            inputs.tiling,
        )
    )


def _energy(inputs: KernelInputs, system: System, dram: DramProfile, latency: float, traffic: np.ndarray,
            accel_busy: float, cpu_busy: float) -> dict[str, float]:
    """Energy per component of ENERGY_DETAIL [J]."""
    en = system.energy
    energy = {c: 0.0 for c in ENERGY_DETAIL}
    energy["spad_dynamic"] = float(inputs.spad_j.sum())
    energy["accel_fu_dynamic"] = float((inputs.energy_j - inputs.spad_j).sum())
    energy["l1_dynamic"] = float(inputs.l1_accesses.sum()) * en.l1d_access_energy_j
    energy["llc_dynamic"] = float(inputs.l2_accesses.sum()) * en.l2_access_energy_j
    energy["l1_leakage"] = en.l1d_leakage_w * system.cpu.cores * latency
    energy["llc_leakage"] = en.l2_leakage_w * latency
    occ = traffic.sum(axis=0)
    energy["dram_dynamic"] = occ[_kn.T_READ_OCC] * dram.read_j_per_byte + occ[_kn.T_WRITE_OCC] * dram.write_j_per_byte
    energy["dram_background"] = dram.background_w * latency
    energy["cpu"] = system.cpu.active_power_w * cpu_busy
    # gem5-Aladdin charges an accelerator's leakage over its invocations (cycles x leakage power)
    energy["accel_leakage"] = float(system.accelerator.static_power_w) * accel_busy
    return energy


def _timeline(tl) -> Timeline:
    """The kernel's timeline (resource and phase codes) with resource and phase names."""
    res, phase, op, start, end = tl
    codes = np.unique(res)
    names = np.array([f"accel{c}" if c < _kn.THREAD0 else f"thread{c - _kn.THREAD0}" for c in codes] or [""])
    return Timeline(
        resource=names[np.searchsorted(codes, res)], phase=np.array(_kn.PHASE_NAMES)[phase],
        op=op, start_s=start, end_s=end,
    )


__all__ = ["DramProfile", "cpu_op_work_s", "dram_profile", "run_timing", "timing_params"]
