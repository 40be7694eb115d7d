"""What one element of a loop costs the CPU: micro-ops per operation kind, and cycles per element.

One model for every loop the CPU runs: the image pipelines' stages (:mod:`smaug_fast.pipelines.cost`)
and the DNN ops without an accelerator kernel (:func:`smaug_fast.sim.timing.cpu_op_work_s`).

The SoC's CPU is a gem5 O3 x86 core (SMAUG's Table 2). gem5's x86 implements SSE but not AVX, and
its microcode splits every 128-bit SSE instruction into two micro-ops of 64 bits each
(``src/arch/x86/isa/insts/simd128/``: ``PADDW_XMM_XMM`` is two ``maddi``, a 128-bit load two 8-byte
``ldfp``), so a vectorized operation costs one micro-op per ``CPU.simd_bytes_per_uop`` bytes of lanes.
:data:`UOPS` gives, per :class:`~smaug_fast.choices.OpKind`, the SIMD and memory micro-ops of one
such 64-bit chunk (or of one element, for operations that are scalar per element: gathers and
library calls), with its source in :data:`SOURCES`.

A loop's cycles per element are the throughput bound of the core on its unrolled, vectorized loop:
``max(simd / simd_uops_per_cycle, memory / mem_uops_per_cycle, all / issue_width)``. Assumption: the
out-of-order core (192-entry ROB) finds enough independent work in these loops to keep its units busy;
real code reaches 50-100 % of this bound, so the compute time could be up to 2x longer. A scalar
loop costs one micro-op per operation per element.
"""

from __future__ import annotations

from .choices import OpKind
from .hardware import CPU

#: Per kind: (SIMD micro-ops, memory micro-ops, per_element). per_element False: per 64-bit chunk of
#: lanes when vectorized (per element when scalar); True: per element always.
UOPS: dict[OpKind, tuple[float, float, bool]] = {
    OpKind.ADD: (1.0, 0.0, False),
    OpKind.AVG: (1.0, 0.0, False),
    OpKind.ABSD: (3.0, 0.0, False),
    OpKind.MINMAX: (1.0, 0.0, False),
    OpKind.MUL: (1.0, 0.0, False),
    OpKind.SHIFT: (1.0, 0.0, False),
    OpKind.COMPARE: (1.0, 0.0, False),
    OpKind.SELECT: (3.0, 0.0, False),
    OpKind.CAST: (1.0, 0.0, False),
    OpKind.SHUFFLE: (1.0, 0.0, False),
    OpKind.LUT: (4.0, 1.0, True),
    OpKind.CALL: (40.0, 0.0, True),
    OpKind.LOAD: (0.0, 1.0, False),
    OpKind.STORE: (0.0, 1.0, False),
}

_X = "gem5 src/arch/x86/isa/insts/simd128/integer"
#: Where each cost comes from.
SOURCES: dict[OpKind, str] = {
    OpKind.ADD: f"PADDW/PSUBW: two 64-bit micro-ops per 128 bits ({_X}/arithmetic/addition.py, subtraction.py)",
    OpKind.AVG: f"PAVGW/PAVGB, rounding average (Halide lowers avg to it): {_X}/arithmetic/average.py",
    OpKind.ABSD: f"SSE2 has no 16-bit absolute difference: PSUBUSW twice and POR ({_X}/arithmetic/subtraction.py, "
                 "logical/por.py)",
    OpKind.MINMAX: f"PMAXSW/PMINSW ({_X}/compare/compare_and_write_minimum_or_maximum.py); assumption for the "
                   "unsigned 16-bit forms, which SSE2 lacks (1-2 micro-ops)",
    OpKind.MUL: f"PMULLW, or PMADDWD for a 16x16->32-bit product ({_X}/arithmetic/multiplication.py, "
                "multiply_add.py); 32x32-bit products would take 1-3",
    OpKind.SHIFT: f"PSRAW/PSRAD (a signed division by a power of two is a floor shift in Halide): {_X}/shift/",
    OpKind.COMPARE: f"PCMPGTW ({_X}/compare/compare_and_write_mask.py)",
    OpKind.SELECT: f"SSE2 blends with PAND, PANDN and POR ({_X}/logical/pand.py, por.py)",
    OpKind.CAST: f"PUNPCKLWD to widen, PACKSSDW/PACKUSWB to narrow ({_X}/data_reordering/unpack_and_interleave.py, "
                 "pack_with_saturation.py)",
    OpKind.SHUFFLE: f"PSHUFD/PUNPCK ({_X}/data_reordering/shuffle.py, unpack_and_interleave.py)",
    OpKind.LUT: f"SSE has no gather: per element PEXTRW (2 micro-ops), a scalar load and PINSRW (2 micro-ops) "
                f"({_X}/data_reordering/extract_and_insert.py)",
    OpKind.CALL: "assumption: a libm powf costs about 40 micro-ops (range 20-100)",
    OpKind.LOAD: "one 8-byte ldfp micro-op per 64 bits (every *_XMM_M macro-op of gem5's SSE microcode)",
    OpKind.STORE: "one 8-byte stfp micro-op per 64 bits (MOVDQA/MOVDQU to memory: gem5 data_transfer/move.py)",
}


def loop_uops(work, cpu: CPU, lane_bytes: int, vectorized: bool) -> tuple[float, float]:
    """(SIMD micro-ops, memory micro-ops) of one element of a loop doing ``work`` ((OpKind, count)
    pairs per element) in ``lane_bytes``-wide arithmetic, vectorized or scalar, on ``cpu``."""
    per_chunk = lane_bytes / cpu.simd_bytes_per_uop if vectorized else 1.0
    simd = mem = 0.0
    for kind, count in work:
        s, m, per_element = UOPS[kind]
        f = 1.0 if per_element else per_chunk
        simd += count * s * f
        mem += count * m * f
    return simd, mem


def loop_cycles(work, cpu: CPU, lane_bytes: int = 4, vectorized: bool = False) -> float:
    """Cycles of one element of a loop doing ``work``: the throughput bound of the module docstring
    [cycles]. The image pipelines' stages and the DNN ops the CPU runs both use it."""
    simd, mem = loop_uops(work, cpu, lane_bytes, vectorized)
    return max(simd / cpu.simd_uops_per_cycle, mem / cpu.mem_uops_per_cycle, (simd + mem) / cpu.issue_width)


__all__ = ["SOURCES", "UOPS", "loop_cycles", "loop_uops"]
