"""Systolic arrays (output, weight or input stationary) with SCALE-Sim 3.0.0 parity.

``Systolic`` describes the array and its three scratchpads; ``Systolic.conv_layer`` and
``Systolic.gemm_layer`` return a ``SystolicLayerReport`` with every number SCALE-Sim's three reports
carry (``COMPUTE_REPORT.csv``, ``BANDWIDTH_REPORT.csv``, ``DETAILED_ACCESS_REPORT.csv``).

The model is SCALE-Sim's (github.com/scalesim-project/scale-sim-v2, v3.0.0), learned from its source
and rewritten as closed forms plus two small jitted state machines (``kernels/systolic.py``):

- **Compute** (``compute/systolic_compute_{os,ws,is}.py``). A layer is the im2col GEMM
  IFMAP (Npx x K) x FILTER (K x N). The dataflow maps (Sr, Sc, T) = OS (Npx, N, K),
  WS (K, N, Npx), IS (K, Npx, N) onto R x C; there are ``ceil(Sr/R) * ceil(Sc/C)`` folds, each
  padded to the full array and lasting ``T + R + C - 2`` cycles (OS: operands skewed in, results
  skewed out) or ``2R + C + T - 2`` (WS, IS: an R-cycle preload of the stationary operand first).
- **Scratchpads** (``memory/``). Each SRAM is split into two halves. In CALC mode (no DRAM
  bandwidth given) reads never stall; DRAM reads are the demanded addresses that were not demanded
  since the last half-buffer boundary (a tumbling window of ``50 * floor(words / 100)`` new words,
  ``read_buffer_estimate_bw.py``); the first half is fetched before cycle 0 at 10 words/cycle; the
  OFMAP buffer drains half-buffers at ``cols`` words/cycle (``write_buffer.py``).

Corrected behaviour (default) against ``scalesim_compat=True``:

=====================================  ======================================  ====================
quantity                               default (corrected)                     scalesim_compat=True
=====================================  ======================================  ====================
output size                            ``floor((H - F) / s) + 1``              ``ceil((H - F + s) / s)``
                                                                               (an extra, partial
                                                                               window when s does
                                                                               not divide H - F)
Total Cycles                           folds x fold cycles                     one less (issue #125)
Total Cycles (incl. prefetch)          last drain - first prefetch + 1         one less (same)
OS OFMAP SRAM writes                   Npx x N                                 + folds x (R + C)
                                                                               (os:403 adds the
                                                                               padded block's shape)
OFMAP DRAM writes                      words really drained                    whole lines drained,
                                                                               less the empty slots
                                                                               of each chunk's last
                                                                               line only
=====================================  ======================================  ====================

USER mode (``dram_bandwidth_words_per_cycle`` set) is our own model, not SCALE-Sim's: SCALE-Sim's
USER-mode read buffer double-counts stalls (issue #130, ``read_buffer.py:362-364``) and refetches
whole prefetch lines, so its DRAM counts are up to 41x the footprint. Ours keeps CALC's DRAM
traffic and asks how long it takes through one interface of the given bandwidth, shared by the
IFMAP, FILTER and OFMAP streams (SCALE-Sim gives each operand its own; ``DramInterface``):

- before cycle 0, the first half-buffer of IFMAP and FILTER is loaded (``prefetch`` cycles);
- during compute, the rest of the reads and every OFMAP drain but the last share the interface;
  the array stalls for whatever that transfer time exceeds the compute cycles (double buffering
  hides the rest);
- after compute, the last OFMAP half-buffer drains.

So stall cycles fall to 0 once the bandwidth covers the average traffic, and a layer never runs
faster than CALC. Only the stall, total and incl.-prefetch cycles change in USER mode; the DRAM
counts and the start/stop cycles of the detailed report are CALC's demand schedule. ``DramInterface`` is the hook for a detailed DRAM model: anything with
``transfer_cycles(read_words, write_words) -> float`` can replace the constant bandwidth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ..choices import Dataflow
from ..errors import ConfigError, WorkloadError, describe
from ..kernels import systolic as _k
from ..spec import Spec, param

DATAFLOWS = Dataflow.values()
_DF_CODE = {Dataflow.OS: _k.OS, Dataflow.WS: _k.WS, Dataflow.IS: _k.IS}

#: CALC mode fills the first half-buffer at 10 words/cycle before cycle 0; SCALE-Sim calls the number
#: arbitrary (``single_layer_sim.py``, "The number 10 elems per cycle is arbitrary").
CALC_PREFETCH_WORDS_PER_CYCLE = 10
#: Each read SRAM is cut into 100 sets of ``floor(words / 100)`` words, half of them active
#: (``read_buffer_estimate_bw.py``: ``num_items_per_set``, ``num_sets_active_buffer``).
SETS_PER_SRAM = 100
ACTIVE_SETS = 50


@runtime_checkable
class DramInterface(Protocol):
    """What the USER-mode stall model needs from a DRAM: the time to move some words [cycles]."""

    def transfer_cycles(self, read_words: int, write_words: int) -> float:
        """Cycles [array cycles] to read ``read_words`` and write ``write_words`` words."""
        ...


@dataclass(frozen=True)
class ConstantBandwidth:
    """A DRAM interface that moves ``words_per_cycle`` words each array cycle, reads and writes alike."""

    words_per_cycle: float

    def __post_init__(self) -> None:
        if not (isinstance(self.words_per_cycle, (int, float)) and self.words_per_cycle > 0
                and math.isfinite(self.words_per_cycle)):
            raise ConfigError(
                f"dram_bandwidth_words_per_cycle = {describe(self.words_per_cycle)}: must be a "
                "positive finite number of words per cycle (or None for SCALE-Sim's CALC mode)"
            )

    def transfer_cycles(self, read_words: int, write_words: int) -> float:
        return (read_words + write_words) / self.words_per_cycle


@dataclass(frozen=True)
class SystolicLayerReport:
    """Everything SCALE-Sim reports for one layer, plus the layer's shape.

    Counts are in words, cycles in array cycles. Start/stop cycles follow SCALE-Sim: SRAM reads are
    stamped one cycle after the demand (the SRAM hit latency), DRAM prefetches before cycle 0 have
    negative cycles.
    """

    name: str
    dataflow: str
    rows: int
    cols: int
    npx: int  # output pixels (batch x E_h x E_w), the GEMM's M
    k: int  # window size Fh x Fw x C, the GEMM's K
    n: int  # filters, the GEMM's N
    folds: int
    fold_cycles: int
    total_cycles_incl_prefetch: int
    total_cycles: int
    stall_cycles: int
    overall_util_percent: float
    mapping_efficiency_percent: float
    compute_util_percent: float
    ifmap_sram_reads: int
    filter_sram_reads: int
    ofmap_sram_writes: int
    ifmap_dram_reads: int
    filter_dram_reads: int
    ofmap_dram_writes: int
    ifmap_sram_start_cycle: int
    ifmap_sram_stop_cycle: int
    filter_sram_start_cycle: int
    filter_sram_stop_cycle: int
    ofmap_sram_start_cycle: int
    ofmap_sram_stop_cycle: int
    ifmap_dram_start_cycle: int
    ifmap_dram_stop_cycle: int
    filter_dram_start_cycle: int
    filter_dram_stop_cycle: int
    ofmap_dram_start_cycle: int
    ofmap_dram_stop_cycle: int

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the layer (SCALE-Sim's ``num_compute``)."""
        return self.npx * self.k * self.n

    # SCALE-Sim's BANDWIDTH_REPORT: SRAM words per compute cycle, DRAM words per active DRAM cycle.
    @property
    def avg_ifmap_sram_bw(self) -> float:
        return self.ifmap_sram_reads / self.total_cycles

    @property
    def avg_filter_sram_bw(self) -> float:
        return self.filter_sram_reads / self.total_cycles

    @property
    def avg_ofmap_sram_bw(self) -> float:
        return self.ofmap_sram_writes / self.total_cycles

    @property
    def avg_ifmap_dram_bw(self) -> float:
        return self.ifmap_dram_reads / (self.ifmap_dram_stop_cycle - self.ifmap_dram_start_cycle + 1)

    @property
    def avg_filter_dram_bw(self) -> float:
        return self.filter_dram_reads / (self.filter_dram_stop_cycle - self.filter_dram_start_cycle + 1)

    @property
    def avg_ofmap_dram_bw(self) -> float:
        return self.ofmap_dram_writes / (self.ofmap_dram_stop_cycle - self.ofmap_dram_start_cycle + 1)


def _layer_int(name: str, value: object, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise WorkloadError(f"{name} = {describe(value)}: must be an integer >= {minimum}")
    return int(value)


@dataclass(frozen=True)
class Systolic(Spec):
    """A systolic array of ``rows`` x ``cols`` MACs with IFMAP, FILTER and OFMAP scratchpads
    (SCALE-Sim 3.0.0's model; ``scalesim_compat`` reproduces its known bugs, see the module docstring)."""

    rows: int = param(32, "array height, SCALE-Sim ArrayHeight [PEs]", ge=1, le=4096)
    cols: int = param(32, "array width, SCALE-Sim ArrayWidth [PEs]", ge=1, le=4096)
    dataflow: Dataflow = param(Dataflow.OS, "output (os), weight (ws) or input (is) stationary")
    ifmap_sram_size_bytes: int = param(
        64 * 1024, "IFMAP scratchpad [B] (SCALE-Sim IfmapSramSzkB x 1024); at least 100 words", ge=1, le=1 << 30
    )
    filter_sram_size_bytes: int = param(
        64 * 1024, "FILTER scratchpad [B] (SCALE-Sim FilterSramSzkB x 1024); at least 100 words", ge=1, le=1 << 30
    )
    ofmap_sram_size_bytes: int = param(
        64 * 1024, "OFMAP scratchpad [B] (SCALE-Sim OfmapSramSzkB x 1024); at least 100 words", ge=1, le=1 << 30
    )
    word_size_bytes: int = param(1, "bytes per word [B]; SCALE-Sim fixes 1 (single_layer_sim.py)", ge=1, le=64)
    dram_bandwidth_words_per_cycle: float | None = param(
        None, "None: SCALE-Sim's CALC mode (bandwidth is an output); else the DRAM interface bandwidth of "
        "the USER-mode stall model [words/cycle]", gt=0.0, le=1e12
    )
    freq_hz: float = param(1e9, "clock [Hz], used only to turn cycles into seconds", gt=0.0, le=10e9)
    scalesim_compat: bool = param(False, "reproduce SCALE-Sim 3.0.0's known bugs instead of the corrected behaviour")

    def validate(self) -> None:
        for name in ("ifmap_sram_size_bytes", "filter_sram_size_bytes", "ofmap_sram_size_bytes"):
            value = getattr(self, name)
            if value // self.word_size_bytes < SETS_PER_SRAM:
                raise ConfigError(
                    f"{name} = {value}: must hold at least {SETS_PER_SRAM} words of "
                    f"{self.word_size_bytes} B (the scratchpad model cuts it into {SETS_PER_SRAM} sets)"
                )

    # ---------------------------------------------------------------------------------------------
    @property
    def calc_mode(self) -> bool:
        """True in SCALE-Sim's CALC mode: no DRAM bandwidth limit, the bandwidth is reported."""
        return self.dram_bandwidth_words_per_cycle is None

    @property
    def dram(self) -> DramInterface | None:
        """The USER-mode DRAM interface (a constant bandwidth), or None in CALC mode."""
        if self.dram_bandwidth_words_per_cycle is None:
            return None
        return ConstantBandwidth(self.dram_bandwidth_words_per_cycle)

    def words(self, size_bytes: int) -> int:
        return size_bytes // self.word_size_bytes

    def output_size(self, size: int, filt: int, stride: int) -> int:
        """Output rows (or cols) of a valid convolution: SCALE-Sim's rule in compat mode."""
        if self.scalesim_compat:
            return -(-(size - filt + stride) // stride)  # topology_utils.py: ceil((H - F + s) / s)
        return (size - filt) // stride + 1

    def conv_layer(self, ifmap_h: int, ifmap_w: int, filter_h: int, filter_w: int, channels: int,
                   num_filters: int, stride_h: int = 1, stride_w: int | None = None, batch: int = 1,
                   name: str = "", dram: DramInterface | None = None) -> SystolicLayerReport:
        """A valid (unpadded) convolution, NHWC, as SCALE-Sim's topology rows describe it.

        Pad the input beforehand for a 'same' convolution. ``dram`` overrides the USER-mode DRAM
        interface for this call (the hook for a detailed DRAM model).
        """
        ifmap_h = _layer_int("ifmap_h", ifmap_h)
        ifmap_w = _layer_int("ifmap_w", ifmap_w)
        filter_h = _layer_int("filter_h", filter_h)
        filter_w = _layer_int("filter_w", filter_w)
        channels = _layer_int("channels", channels)
        num_filters = _layer_int("num_filters", num_filters)
        stride_h = _layer_int("stride_h", stride_h)
        stride_w = stride_h if stride_w is None else _layer_int("stride_w", stride_w)
        batch = _layer_int("batch", batch)
        if filter_h > ifmap_h or filter_w > ifmap_w:
            raise WorkloadError(
                f"layer {name!r}: filter {filter_h}x{filter_w} is larger than the input {ifmap_h}x{ifmap_w}"
            )
        e_h = self.output_size(ifmap_h, filter_h, stride_h)
        e_w = self.output_size(ifmap_w, filter_w, stride_w)
        return self._run(name, ifmap_h, ifmap_w, filter_h, filter_w, channels, num_filters,
                         stride_h, stride_w, batch, e_h, e_w, dram)

    def gemm_layer(self, m: int, n: int, k: int, name: str = "",
                   dram: DramInterface | None = None) -> SystolicLayerReport:
        """C[M x N] = A[M x K] B[K x N], as SCALE-Sim runs GEMM topologies (a 1 x K conv on M x K)."""
        m = _layer_int("m", m)
        n = _layer_int("n", n)
        k = _layer_int("k", k)
        return self._run(name, m, k, 1, k, 1, n, 1, 1, 1, m, 1, dram)

    def conv_demand_traces(self, ifmap_h: int, ifmap_w: int, filter_h: int, filter_w: int,
                           channels: int, num_filters: int, stride: int = 1,
                           offsets: tuple[int, int, int] = (0, 10_000_000, 20_000_000)) -> dict:
        """SRAM demand traces of a convolution, SCALE-Sim's ``*_SRAM_TRACE`` without the cycle column.

        Returns ``{"IFMAP": m, "FILTER": m, "OFMAP": m}``, each an int64 matrix with one row per
        cycle (CALC mode has no stalls) and one column per array lane (R for the OS/WS IFMAP and the
        IS FILTER, C otherwise): the word address plus the operand's offset [words], or -1.
        """
        for name, value in (("ifmap_h", ifmap_h), ("ifmap_w", ifmap_w), ("filter_h", filter_h),
                            ("filter_w", filter_w), ("channels", channels),
                            ("num_filters", num_filters), ("stride", stride)):
            _layer_int(name, value)
        if filter_h > ifmap_h or filter_w > ifmap_w:
            raise WorkloadError(f"filter {filter_h}x{filter_w} is larger than the input {ifmap_h}x{ifmap_w}")
        e_h = self.output_size(ifmap_h, filter_h, stride)
        e_w = self.output_size(ifmap_w, filter_w, stride)
        return self._traces(ifmap_h, ifmap_w, filter_h, filter_w, channels, num_filters, stride,
                            e_h, e_w, offsets)

    def gemm_demand_traces(self, m: int, n: int, k: int,
                           offsets: tuple[int, int, int] = (0, 10_000_000, 20_000_000)) -> dict:
        """SRAM demand traces of a GEMM (see ``conv_demand_traces``)."""
        for name, value in (("m", m), ("n", n), ("k", k)):
            _layer_int(name, value)
        return self._traces(m, k, 1, k, 1, n, 1, m, 1, offsets)

    def _mapping(self, npx: int, kdim: int, nf: int) -> tuple[int, int, int, int]:
        """(Sr, Sc, T, cycles of one fold): the operand matrix dimensions the dataflow maps onto the
        rows and columns of the array and streams in time (module docstring), and the cycles of one
        fold (SCALE-Sim ``systolic_compute_os.py``: T + rows + cols - 2; WS and IS also fill the
        array with the stationary operand first: 2 rows + cols + T - 2)."""
        sr, sc, t = {Dataflow.OS: (npx, nf, kdim), Dataflow.WS: (kdim, nf, npx),
                     Dataflow.IS: (kdim, npx, nf)}[self.dataflow]
        if self.dataflow is Dataflow.OS:
            return sr, sc, t, t + self.rows + self.cols - 2
        return sr, sc, t, 2 * self.rows + self.cols + t - 2

    def _traces(self, h, w, fh, fw, c, nf, stride, e_h, e_w, offsets):
        npx, kdim = e_h * e_w, fh * fw * c
        sr, sc, t, fold_cycles = self._mapping(npx, kdim, nf)
        pix, kk = _k.ifmap_axes(*self._lower(h, w, fh, fw, c, stride, stride, 1, e_h, e_w), h, w, fh, fw)
        out = {}
        for op, name in enumerate(("IFMAP", "FILTER", "OFMAP")):
            m = _k.demand_matrix(_DF_CODE[self.dataflow], op, self.rows, self.cols, sr, sc, t,
                                 fold_cycles, pix, kk, kdim, nf)
            out[name] = np.where(m >= 0, m + offsets[op], -1)
        return out

    def seconds(self, cycles: int) -> float:
        """Cycles [cycles] to time [s] at ``freq_hz``."""
        return cycles / self.freq_hz

    # ---------------------------------------------------------------------------------------------
    @staticmethod
    def _lower(h, w, fh, fw, c, sh, sw, batch, e_h, e_w):
        """im2col addressing of the IFMAP: three int64 arrays per axis (see ``ifmap_axes``)."""
        p = np.arange(batch * e_h * e_w, dtype=np.int64)
        img, pix = np.divmod(p, e_h * e_w)
        oh, ow = np.divmod(pix, e_w)
        p_h = oh * sh
        p_w = ow * sw
        p_base = img * (h * w * c) + (p_h * w + p_w) * c
        kk = np.arange(fh * fw * c, dtype=np.int64)
        k_r, rem = np.divmod(kk, fw * c)
        k_q, k_c = np.divmod(rem, c)
        k_off = (k_r * w + k_q) * c + k_c
        return p_base, p_h, p_w, k_off, k_r, k_q

    def _run(self, name, h, w, fh, fw, c, nf, sh, sw, batch, e_h, e_w, dram):
        rows, cols = self.rows, self.cols
        npx = batch * e_h * e_w
        kdim = fh * fw * c
        df = _DF_CODE[self.dataflow]
        sr, sc, t, fold_cycles = self._mapping(npx, kdim, nf)
        folds = -(-sr // rows) * -(-sc // cols)
        util_cycles = fold_cycles if self.dataflow is Dataflow.OS else fold_cycles + cols - 1
        map_eff, comp_util = _k.fold_means(rows, cols, sr, sc, t, util_cycles)
        compat = self.scalesim_compat
        if_sram, fl_sram, of_sram = self._sram_traffic(npx, kdim, nf, sr, sc, folds)
        if batch * h * w * c >= 2**31 or npx * kdim >= 2**31:
            raise WorkloadError(
                f"layer {name!r}: {batch}x{h}x{w}x{c} input with a {npx}x{kdim} im2col matrix exceeds "
                "the 2**31 words the systolic model addresses"
            )
        pix, kk = _k.ifmap_axes(*self._lower(h, w, fh, fw, c, sh, sw, batch, e_h, e_w), h, w, fh, fw)
        reads = [
            self._read_buffer(df, operand, size, footprint, sr, sc, t, fold_cycles, pix, kk, kdim)
            for operand, size, footprint in ((_k.IFMAP, self.ifmap_sram_size_bytes, batch * h * w * c),
                                             (_k.FILTER, self.filter_sram_size_bytes, kdim * nf))
        ]

        ofmap_words = self.words(self.ofmap_sram_size_bytes)
        wb = _k.write_buffer_sim(df, rows, cols, sr, sc, t, fold_cycles, ofmap_words, cols,
                                 0 if compat else 1)
        of_dram, of_dram_start, of_dram_stop, last_out, stalls, of_first, of_last = (int(x) for x in wb[:7])
        total_cycles = last_out if compat else last_out + 1
        prefetch_start = min(reads[0][1], reads[1][1])
        incl_prefetch = of_dram_stop - prefetch_start + (0 if compat else 1)

        dram_if = dram if dram is not None else self.dram
        if dram_if is not None:
            stalls, total_cycles, incl_prefetch = self._user_mode(
                dram_if, total_cycles, reads, of_dram, ofmap_words)

        return SystolicLayerReport(
            name=name, dataflow=self.dataflow, rows=rows, cols=cols, npx=npx, k=kdim, n=nf,
            folds=folds, fold_cycles=fold_cycles,
            total_cycles_incl_prefetch=incl_prefetch, total_cycles=total_cycles, stall_cycles=stalls,
            overall_util_percent=(npx * kdim * nf * 100) / (total_cycles * rows * cols),
            mapping_efficiency_percent=map_eff * 100, compute_util_percent=comp_util * 100,
            ifmap_sram_reads=if_sram, filter_sram_reads=fl_sram, ofmap_sram_writes=of_sram,
            ifmap_dram_reads=reads[0][0], filter_dram_reads=reads[1][0], ofmap_dram_writes=of_dram,
            ifmap_sram_start_cycle=reads[0][3], ifmap_sram_stop_cycle=reads[0][4],
            filter_sram_start_cycle=reads[1][3], filter_sram_stop_cycle=reads[1][4],
            ofmap_sram_start_cycle=of_first, ofmap_sram_stop_cycle=of_last,
            ifmap_dram_start_cycle=reads[0][1], ifmap_dram_stop_cycle=reads[0][2],
            filter_dram_start_cycle=reads[1][1], filter_dram_stop_cycle=reads[1][2],
            ofmap_dram_start_cycle=of_dram_start, ofmap_dram_stop_cycle=of_dram_stop,
        )

    def _sram_traffic(self, npx: int, kdim: int, nf: int, sr: int, sc: int, folds: int) -> tuple[int, int, int]:
        """SRAM words read (IFMAP, FILTER) and written (OFMAP): every demand slot of the used lanes,
        -1s included (SCALE-Sim ``systolic_compute_*.py``)."""
        row_folds, col_folds = -(-sr // self.rows), -(-sc // self.cols)
        if self.dataflow is Dataflow.OS:
            of_sram = npx * nf + (folds * (self.rows + self.cols) if self.scalesim_compat else 0)
            return col_folds * npx * kdim, row_folds * kdim * nf, of_sram
        if self.dataflow is Dataflow.WS:
            return col_folds * npx * kdim, kdim * nf, row_folds * npx * nf
        return npx * kdim, col_folds * kdim * nf, row_folds * npx * nf

    def _read_buffer(self, df, operand, size, footprint, sr, sc, t, fold_cycles, pix, kk, kdim) -> tuple:
        """(DRAM reads, first and last fetch cycle, first and last demand cycle + 1) of one read
        buffer: the tumbling window of CALC mode."""
        set_words = self.words(size) // SETS_PER_SRAM
        win = ACTIVE_SETS * set_words
        out = _k.read_window_sim(df, operand, self.rows, self.cols, sr, sc, t, fold_cycles, win, footprint,
                                 pix, kk, kdim)
        dram_reads, resets, last_reset, first_valid, last_valid = (int(x) for x in out[:5])
        if resets > 0:
            # the first half-buffer was fetched, at 10 words/cycle, to end just before the first
            # demand (read_buffer_estimate_bw.py: manage_prefetches); the rest streams in behind
            start = first_valid - math.ceil(win / CALC_PREFETCH_WORDS_PER_CYCLE)
            stop = last_reset + 1
        else:
            # everything fit in the first half: one fetch before cycle 0 (complete_all_prefetches)
            n_sets = -(-dram_reads // set_words)
            start = -math.ceil(n_sets * set_words / CALC_PREFETCH_WORDS_PER_CYCLE)
            stop = -1
        return dram_reads, start, stop, first_valid + 1, last_valid + 1

    def _user_mode(self, dram: DramInterface, compute_cycles: int, reads, of_dram: int, ofmap_words: int):
        """USER-mode stalls: CALC's traffic through a DRAM interface (module docstring)."""
        if_sets = self.words(self.ifmap_sram_size_bytes) // SETS_PER_SRAM
        fl_sets = self.words(self.filter_sram_size_bytes) // SETS_PER_SRAM
        first_if = min(reads[0][0], ACTIVE_SETS * if_sets)
        first_fl = min(reads[1][0], ACTIVE_SETS * fl_sets)
        last_of = min(of_dram, ofmap_words - (ofmap_words + 1) // 2)
        prefetch = math.ceil(dram.transfer_cycles(first_if + first_fl, 0))
        streamed = math.ceil(dram.transfer_cycles(reads[0][0] - first_if + reads[1][0] - first_fl,
                                                  of_dram - last_of))
        drain = math.ceil(dram.transfer_cycles(0, last_of))
        stalls = max(0, streamed - compute_cycles)
        total = compute_cycles + stalls
        return stalls, total, prefetch + total + drain
