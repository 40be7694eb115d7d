"""The systolic array as an accelerator of a :class:`~smaug_fast.hardware.System`.

SMAUG's second backend is a systolic array (the paper's 8 x 8 output-stationary array at 1 GHz with
32 KB scratchpads, Table 2); SMAUG sends only convolutions to it and runs every other operator on
the SMV datapath (``smv_convolution_op.cpp`` with ``--use-systolic-array``; facts file section 1.7),
with the same SMV tiling. :class:`SystolicArray` does the same: it wraps a SCALE-Sim-exact
:class:`~smaug_fast.accelerators.systolic.Systolic` for convolutions and inner products (the paper's
Fig. 19 shows FC time scaling with the array too), and an :class:`~smaug_fast.accelerators.smv.SMV`
for pooling, batch norm and element-wise operators. Each tile of the plan is one SCALE-Sim layer:
the tile's padded input rows and columns, its channels and output maps, the op's window and stride.

Energy: every MAC costs the SMV model's multiply and add; every scratchpad word read or written
costs the SMV model's scratchpad access (the systolic array has no energy model of its own).

int8 weights (weight-only quantization, ``TileWork.dequantize``): the tiles reach the array's SRAMs
through the SMV load path (its load cycles are the tile's), which dequantizes them as SMV does
(:meth:`~smaug_fast.accelerators.smv.SMV.dequantize_cost`, an assumption cited in ``smv.py``): the
multiply's pipeline fill is in the load cycles, and one SMV multiply's energy per weight element is
added to a convolution's or inner product's energy. The array then multiplies float weights, so its
cycles (SCALE-Sim's, which counts words, not bits) do not change.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import ConfigError, describe
from ..memo import memoized
from ..memory import DRAM, DRAMConfig
from ..spec import Spec, param
from ..tiling.smv import TilingParams
from ..workload.core import Op
from .base import Accelerator, TileCost, TileWork
from .smv import SMV
from .systolic import Systolic

#: The paper's array (Table 2 and section 5.3): 8 x 8 PEs, output stationary, 32 KB scratchpads,
#: 1 GHz; fp16 words as SMAUG's host data.
PAPER_ARRAY = Systolic(
    rows=8, cols=8, dataflow="os", ifmap_sram_size_bytes=32 * 1024, filter_sram_size_bytes=32 * 1024,
    ofmap_sram_size_bytes=32 * 1024, word_size_bytes=2, freq_hz=1e9,
)


@dataclass(frozen=True)
class SystolicArray(Spec, Accelerator):
    """A systolic array for convolutions and inner products, SMV's vector units for the rest."""

    kind: ClassVar[str] = "systolic"

    array: Systolic = param(PAPER_ARRAY, "the systolic array (SCALE-Sim 3.0.0 model, CALC mode)")
    vector: SMV = param(SMV(), "the SMV datapath that runs pooling, batch norm and element-wise ops")

    def validate(self) -> None:
        if not isinstance(self.array, Systolic):
            raise ConfigError(f"array = {describe(self.array)}: must be a Systolic")
        if not isinstance(self.vector, SMV):
            raise ConfigError(f"vector = {describe(self.vector)}: must be an SMV")
        if self.array.freq_hz != self.vector.freq_hz:
            raise ConfigError(
                f"array.freq_hz = {self.array.freq_hz:g}: must equal vector.freq_hz = {self.vector.freq_hz:g} "
                "(one clock for the accelerator)"
            )

    # -- what the simulator reads ------------------------------------------------------------------

    @property
    def freq_hz(self) -> float:
        return self.array.freq_hz

    @property
    def spad_bytes(self) -> int:
        """Scratchpad size the tiler uses [B]: the smallest of the array's three SRAMs."""
        a = self.array
        return min(a.ifmap_sram_size_bytes, a.filter_sram_size_bytes, a.ofmap_sram_size_bytes)

    @property
    def static_power_w(self) -> float:
        """Leakage while invoked [W]: the vector units' scratchpads (the array's SRAMs are not modeled)."""
        return self.vector.static_power_w

    def supports(self, op: Op) -> bool:
        return self.vector.supports(op)

    def tiling_params(self) -> TilingParams:
        """SMAUG tiles for the systolic array with SMV's rules and the array's scratchpad size."""
        return dataclasses.replace(self.vector.tiling_params(), spad_bytes=self.spad_bytes)

    def invocation_cost(self, work: TileWork) -> TileCost:
        vec = self.vector.invocation_cost(work)
        if work.kind == "conv":
            t, b, left, right = work.pads
            report = self.array.conv_layer(
                work.input_shape[1] + t + b, work.input_shape[2] + left + right, work.window[0], work.window[1],
                work.channels, work.kernels, work.stride[0], work.stride[1], batch=work.input_shape[0],
            )
        elif work.kind == "inner_product":
            report = self.array.gemm_layer(work.out_rows, work.kernels, work.channels)
        else:
            return vec
        reads = report.ifmap_sram_reads + report.filter_sram_reads
        writes = report.ofmap_sram_writes
        v = self.vector
        spad = reads * v.spad_read_energy_j + writes * v.spad_write_energy_j
        dequant_j = v.dequantize_cost(work)[1]  # int8 weights: the load's multiplies (its cycles: in vec's)
        return TileCost(
            compute_cycles=report.total_cycles,
            load_cycles=vec.load_cycles,
            store_cycles=vec.store_cycles,
            energy_j=report.macs * (v.mul_energy_j + v.add_energy_j) + spad + dequant_j,
            spad_energy_j=spad,
            macs=report.macs,
            spad_reads=reads,
            spad_writes=writes,
        )


@memoized("dram_stream_bandwidth", limit=32)
def _stream_bandwidth_bytes_per_s(config: DRAMConfig) -> float:
    """Achieved bandwidth of the DRAM model on a 1 MiB sequential read+write stream [B/s]."""
    n = 1 << 20
    addrs = np.arange(0, n, config.burst_bytes, dtype=np.int64)
    writes = np.zeros(addrs.shape[0], dtype=bool)
    writes[1::2] = True  # half reads, half writes, as the array's IFMAP/FILTER reads and OFMAP drains
    return DRAM(config).simulate(addrs, writes).bandwidth_bytes_per_s


@dataclass(frozen=True)
class DRAMModelInterface:
    """USER-mode DRAM interface of a :class:`Systolic` driven by the DRAM model.

    ``Systolic.conv_layer(..., dram=DRAMModelInterface(preset("HBM2"), freq_hz, word_size_bytes))``:
    the layer's DRAM words move at the bandwidth the DRAM model achieves on a mixed sequential stream
    of that configuration (the array's traffic is streaming), converted to words per array cycle.
    """

    config: DRAMConfig
    freq_hz: float = 1e9
    word_size_bytes: int = 1

    def words_per_cycle(self) -> float:
        return _stream_bandwidth_bytes_per_s(self.config) / self.freq_hz / self.word_size_bytes

    def transfer_cycles(self, read_words: int, write_words: int) -> float:
        return (read_words + write_words) / self.words_per_cycle()
