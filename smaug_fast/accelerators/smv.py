"""SMV: SMAUG's NVDLA-like accelerator (8 PEs x 32 MACs, 8-wide vector units, 3 x 32 KB scratchpads).

Sources: SMAUG (harvard-acc/smaug @8fd68e6) kernels ``smaug/operators/smv/kernels/*.c`` and
``kernels/params.h`` (the dataflow), ``smv_convolution_op.cpp`` (kNumPEs = 8, kNumMaccsPerPE = 32),
``core/backend.h`` (32 KB scratchpads, alignment 8); the experiments repository's ``smv-accel.cfg``
(loop pipelining and unrolling, scratchpads cyclically partitioned into 8 banks of 4-byte words)
and ``gem5.cfg`` (1 ns cycle, one port per scratchpad bank); Aladdin's ``common/power_func.h``
(harvard-acc/ALADDIN @8fa3ec8: fp32 multiply 4 cycles, fp32 add 5 cycles, register 9.0 fJ per bit);
Horowitz, "Computing's energy problem", ISSCC 2014 (45 nm: fp16 multiply 1.1 pJ, fp16 add 0.4 pJ, for
the paper's 16-bit datapath; the paper's energies used a 16 nm library, Aladdin's own 40 nm fp32
tables are about thirty times higher);
CACTI-P as ALADDIN runs it for scratchpad banks (22 nm). The paper (Xi et al., TACO 2020) reports the
SMV model within 10 % of RTL cycles.

Cycle model (one invocation; B = banks x ports = scratchpad words per cycle):

- **Convolution** (weight-stationary at the innermost level, each PE one output map, reducing 32
  channels per cycle; ``convolution_simd.c``, loops pipelined and flattened as the ``smv-accel.cfg``
  SMAUG pins says (yaoyuannnn/experiments @4357477): ``pipeline`` on ``conv3d_col`` only (the
  ``conv3d_row`` directive is commented out), ``flatten`` on the PE, MACC and reduction loops): for
  every block of 8 output maps, kernel row r, kernel column s and block of 32 input channels (a
  *pass*), the weights are loaded into registers, then, row by row, a pipeline streams the row's
  output pixels: it reads the activation vectors, multiplies them with the weights, reduces them in
  trees (4 vectors, then 8 lanes), adds the partial sum read from the output scratchpad and writes it
  back. A loop Aladdin does not pipeline ends each iteration when all its nodes have
  (``loop_unrolling.cpp``: every node of an iteration precedes the next boundary; per-loop pipelining
  never crosses a parent loop's boundaries, ``per_loop_pipelining.cpp``), so each output row fills and
  drains the pipeline (``pipeline_conv_rows=True`` streams across rows instead, one fill a pass).
  Pipeline depth ``spad + mul + (log2 4 + log2 8 + 1) x add + spad`` (36 cycles). The source's loads are
  conditional, so a pass loads only the channel vectors that exist (``max_ch_grp``) for the PEs that
  have maps (``kEffNumPeInsts``), and no activations for a SAME-padding pixel; a pixel's interval is
  the busier of the input scratchpad (its activation vectors) and the output one (the partial sums'
  read and write). For a 1x1 convolution with 32k channels and 8m maps on one tile of h rows this is
  ``MACs / 256 + m k (weight_load + h (depth - 1))`` at 32 words per cycle.
- **Inner product** (output-stationary, weights streamed): each cycle of the pipelined loop reads
  32 activations and 8 x 32 weights, so the weight scratchpad's bandwidth sets the initiation interval
  (``ceil(256 / B)`` = 32 cycles with 8 banks): ``depth + (rows x neuron blocks x channel blocks - 1) x II``.
- **Pooling**: per output pixel and group of 4 channel vectors (the unrolled channel loop), a pipeline
  over the window; **batch norm** after a conv: unpipelined, 8 channel vectors in parallel; after an FC:
  pipelined over vectors; **activations**: 8 vectors per iteration (unrolled), unpipelined;
  **element-wise**: one vector per iteration, the addition's loop unrolled 8 times (``add_unroll``).
- **Loads and stores**: unpacking fp16 into the fp32 scratchpads and packing back runs at B words per
  cycle; a fused activation runs over the output tile before the store.
- **int8 weights** (weight-only quantization, ``TileWork.dequantize``): the weights arrive as 1 byte per
  element (half the transfer of fp16) and the unpack multiplies each by its output channel's scale on
  its way into the scratchpad, one pipelined multiply per word at the same B words per cycle: a weight
  load costs ``mul_latency_cycles`` more (the multiply's pipeline fill) and one multiply's energy per
  weight. An assumption, not SMAUG's (SMV has no int8 path): it is how weight-only quantized GEMM
  kernels work, dequantizing on the fly as weights are loaded (Frantar et al., "GPTQ", ICLR 2023, §5;
  Lin et al., "AWQ", MLSys 2024, §4), here in the load unit, as NVDLA's convolution DMA scales its
  input feature data on load with a converter (CDMA registers D_CVT_OFFSET/SCALE/SHIFT; NVDLA applies
  it to feature data, not to weights). The scales
  (one fp16 per output channel, under 0.2 % of the int8 bytes for 1,024 or more input channels) are
  not counted as traffic.

Energy: every executed MAC costs a multiply and an add (the reduction trees add as many values as
they multiply), three register accesses of one word, and each scratchpad word read or written costs
one SRAM access. Static power (the scratchpads' leakage, ``static_power_w``) is not part of an
invocation's energy: the simulator charges it over the whole time an accelerator is invoked, transfers
included, as gem5-Aladdin does (:meth:`~.base.Accelerator.op_cost` over its own cycles).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..errors import ConfigError
from ..spec import Spec, param
from ..tiling.smv import supports as _smv_supports
from ..workload.core import Op
from .base import Accelerator, TileCost, TileWork, ceil_div, log2_ceil

#: Activations computed with an exponential (``activation_functions_simd.h``): ELU, SELU, sigmoid, tanh.
_EXP_FUNCTIONS = ("elu", "selu", "sigmoid", "tanh", "softmax")


@dataclass(frozen=True)
class SMV(Spec, Accelerator):
    """SMAUG's SMV accelerator: datapath, scratchpads, latencies and per-access energies."""

    kind: ClassVar[str] = "smv"

    freq_hz: float = param(1e9, "clock [Hz]; Table 2 and smv-accel.cfg cycle_time 1 ns", ge=1e6, le=10e9)
    num_pes: int = param(8, "processing elements, one output map each (smv_convolution_op.cpp kNumPEs)", ge=1, le=4096)
    maccs_per_pe: int = param(32, "MACs per PE per cycle: 4 MACC units x 8 lanes (kNumMaccsPerPE)", ge=1, le=4096)
    vector_width: int = param(8, "lanes of the vector units (kernels/params.h VECTOR_SIZE)", ge=1, le=4096)
    spad_bytes: int = param(
        32 * 1024, "size of each of the 3 scratchpads (inputs, weights, outputs) [B] (backend.h)",
        ge=64, le=1 << 30
    )
    spad_banks: int = param(
        8,
        "words a scratchpad port serves per cycle: smv-accel.cfg partitions each 64 KiB fp32 array "
        "cyclically into 8 banks of 4-byte words, and Aladdin maps an access, an 8-wide vector "
        "included, to the one bank of its start address (LogicalArray::getPartitionIndex), so "
        "a port moves 8 words (one vector) per cycle",
        ge=1, le=4096
    )
    spad_ports: int = param(1, "ports per scratchpad bank (gem5.cfg spad_ports)", ge=1, le=64)
    alignment: int = param(
        8, "innermost dimension padded to a multiple of this [elements] (SmvBackend::Alignment)",
        ge=0, le=4096
    )
    pool_unroll: int = param(
        4, "channel vectors a pooling iteration handles (smv-accel.cfg maxpool_chan_grp unroll 4)",
        ge=1, le=4096
    )
    bn_unroll: int = param(
        8, "channel vectors a post-conv batch-norm iteration handles (smv-accel.cfg bn_chan unroll 8)",
        ge=1, le=4096
    )
    act_unroll: int = param(8, "vectors an activation iteration handles (smv-accel.cfg relu_loop unroll 8)", ge=1, le=4096)
    pipeline_conv_rows: bool = param(
        False,
        "the convolution's pipeline streams on across output rows (smv-accel.cfg before yaoyuannnn/"
        "experiments commit b96478f, 2019-07-09, pipelined conv3d_row as well); False: each output row "
        "fills and drains it, as the Aladdin configuration SMAUG pins (@4357477, line 70: "
        "#pipeline,smv_conv3d_nhwc_vec_fxp,conv3d_row) does",
    )
    add_unroll: int = param(
        8, "vectors an element-wise addition iteration handles (smv-accel.cfg eltwise_add_loop unroll 8, "
        "yaoyuannnn/experiments @4357477 line 132; the multiply and compare loops have no directive: 1)",
        ge=1, le=4096
    )
    mul_latency_cycles: int = param(4, "fp32 multiply latency (Aladdin power_func.h FP_MUL_LATENCY_IN_CYCLES)", ge=0, le=10_000)
    add_latency_cycles: int = param(5, "fp32 add latency (Aladdin power_func.h FP_ADD_LATENCY_IN_CYCLES)", ge=0, le=10_000)
    exp_latency_cycles: int = param(
        16, "exponential latency (assumption: Aladdin's fp divide, FP_DIV_LATENCY_IN_CYCLES)",
        ge=0, le=10_000
    )
    spad_latency_cycles: int = param(1, "scratchpad read or write latency (Aladdin single-cycle scratchpads)", ge=0, le=10_000)
    mul_energy_j: float = param(
        1.1e-12,
        "multiply of the paper's 16-bit datapath [J] (Horowitz, ISSCC 2014, fp16 multiply at 45 nm, "
        "0.9 V; the paper's 16 nm library is lower still)",
        ge=0.0, le=1e-6
    )
    add_energy_j: float = param(0.4e-12, "add of the 16-bit datapath [J] (Horowitz, ISSCC 2014, fp16 add at 45 nm)", ge=0.0, le=1e-6)
    reg_energy_j: float = param(32 * 8.999e-15, "register access of one 32-bit word [J] (Aladdin REG_1ns 9.0 fJ/bit)", ge=0.0, le=1e-6)
    spad_read_energy_j: float = param(
        1.69e-12,
        "scratchpad read of one 32-bit word [J] (CACTI-P as ALADDIN's cactiWrapper runs it for one 8 KiB "
        "bank of 4-byte words, at 22 nm itrs-hp, 300 K: 1.69 pJ)",
        ge=0.0, le=1e-6
    )
    spad_write_energy_j: float = param(1.31e-12, "scratchpad write of one 32-bit word [J] (as the read: 1.31 pJ)", ge=0.0, le=1e-6)
    static_power_w: float = param(
        2.2e-3,
        "leakage of one accelerator while it runs [W]: its 3 x 8 scratchpad banks (CACTI-P 22 nm, 300 K, "
        "0.091 mW each); the datapath's leakage is not modeled (no 16 nm source)",
        ge=0.0, le=1e3
    )

    def validate(self) -> None:
        if self.maccs_per_pe % self.vector_width:
            raise ConfigError(
                f"maccs_per_pe = {self.maccs_per_pe}: must be a multiple of vector_width = {self.vector_width}"
            )

    # -- derived -----------------------------------------------------------------------------------

    @property
    def macs_per_cycle(self) -> int:
        """Peak MACs per cycle (256 for SMV)."""
        return self.num_pes * self.maccs_per_pe

    @property
    def words_per_cycle(self) -> int:
        """Words one scratchpad delivers per cycle (banks x ports)."""
        return self.spad_banks * self.spad_ports

    @property
    def conv_depth_cycles(self) -> int:
        """Pipeline depth of the conv datapath: read, multiply, two reduction trees, accumulate, write."""
        vectors = self.maccs_per_pe // self.vector_width
        adds = log2_ceil(vectors) + log2_ceil(self.vector_width) + 1
        return 2 * self.spad_latency_cycles + self.mul_latency_cycles + adds * self.add_latency_cycles

    def supports(self, op: Op) -> bool:
        return _smv_supports(op)

    # -- cost model --------------------------------------------------------------------------------

    def _transfer_cycles(self, elems: int) -> int:
        """Unpacking or packing ``elems`` words between fp16 host data and the fp32 scratchpads
        (load_store_fp16_data.c ``vector_fp16_to_fp32`` line 35, ``vector_fp32_to_fp16`` 68: unrolled
        8 times and pipelined, smv-accel.cfg @4357477 lines 148-155): ``words_per_cycle`` a cycle."""
        return ceil_div(elems, self.words_per_cycle) if elems else 0

    def _fn_latency(self, fn: str | None) -> int:
        if fn is None:
            return 0
        if fn in _EXP_FUNCTIONS:
            return self.exp_latency_cycles + self.add_latency_cycles
        return self.add_latency_cycles  # compare/select or one multiply-class op

    def _activation_cycles(self, elems: int, fn: str | None) -> int:
        """A vector activation pass over ``elems`` words (activation_functions_simd.h, e.g.
        ``relu_loop`` line 24; unrolled ``act_unroll`` = 8 times, not pipelined, smv-accel.cfg lines
        135-144): per group of 8 vectors the longer of the function's latency and the scratchpad's
        reads and writes of them."""
        if fn is None or elems == 0:
            return 0
        per_iter = self.act_unroll * self.vector_width
        bank_limited = ceil_div(2 * per_iter, self.words_per_cycle)
        latency = 2 * self.spad_latency_cycles + self._fn_latency(fn)
        return ceil_div(elems, per_iter) * max(latency, bank_limited)

    def dequantize_cost(self, work: TileWork) -> tuple[int, float]:
        """What int8 weights add to a tile's load (``work.dequantize``, weights loaded): (load cycles
        [cycles], energy [J]): the unpack's pipelined multiply by each output channel's scale fills
        once (``mul_latency_cycles``) and costs one multiply (``mul_energy_j``) per weight element
        written to the scratchpad (alignment padding included). An assumption (module docstring,
        "int8 weights"); (0, 0.0) for float weights or resident ones."""
        if not (work.dequantize and work.read_weights and work.weight_shape):
            return 0, 0.0
        return self.mul_latency_cycles, work.storage(work.weight_shape) * self.mul_energy_j

    def invocation_cost(self, work: TileWork) -> TileCost:
        kind = work.kind
        if kind == "conv":
            compute, macs, reads, writes = self._conv(work)
        elif kind == "inner_product":
            compute, macs, reads, writes = self._inner_product(work)
        elif kind in ("max_pool", "avg_pool"):
            compute, macs, reads, writes = self._pool(work)
        elif kind == "batch_norm":
            compute, macs, reads, writes = self._batch_norm(work)
        else:
            compute, macs, reads, writes = self._elementwise(work)
        load = work.load_elems
        store = work.store_elems
        store_cycles = self._transfer_cycles(store)
        if work.send_output and work.activation is not None:
            store_cycles += self._activation_cycles(store, work.activation)
            reads += store
            writes += store
        reads += store
        writes += load
        spad = reads * self.spad_read_energy_j + writes * self.spad_write_energy_j
        load_cycles = self._transfer_cycles(load)
        dequant_cycles, dequant_j = self.dequantize_cost(work)
        load_cycles += dequant_cycles
        return TileCost(
            compute_cycles=compute,
            load_cycles=load_cycles,
            store_cycles=store_cycles,
            energy_j=macs * (self.mul_energy_j + self.add_energy_j + 3 * self.reg_energy_j) + spad + dequant_j,
            spad_energy_j=spad,
            macs=macs,
            spad_reads=reads,
            spad_writes=writes,
        )

    @staticmethod
    def _valid(n_out: int, stride: int, pad: int, k: int, n_in: int) -> int:
        """Output rows (or columns) ``o`` < ``n_out`` whose input row ``o * stride - pad + k`` lies in
        the tile (``0 .. n_in - 1``): the ones that load activations at kernel offset ``k``."""
        lo = max(0, -((k - pad) // stride))  # ceil((pad - k) / stride)
        hi = min(n_out - 1, (n_in - 1 + pad - k) // stride)
        return max(0, hi - lo + 1)

    def _conv(self, w: TileWork) -> tuple[int, int, int, int]:
        """One ``smv_conv3d_nhwc_vec_fxp`` invocation (smaug/operators/smv/kernels/convolution_simd.c
        @8fd68e6).

        Loop nest: ofmap blocks of 8 maps (``ofmap_block_iteration``, line 169), kernel rows and
        columns (``k_row`` 176, ``k_col`` 178), channel blocks of 32 (``pe_iteration`` 183); in each
        (a *pass*), the weight registers are loaded (``load_kern_pe``/``load_kern_mu`` 210-212,
        flattened), then ``conv3d_row`` (226) walks the output rows and ``conv3d_col`` (235) streams
        each row's pixels through the datapath (``load_act_mu`` 256, ``pe_groups``/``mu_groups``
        274-277, ``reduction_1``/``reduction_2`` 285-293, the partial sum's write 303). The Aladdin
        configuration SMAUG pins (yaoyuannnn/experiments @4357477 ``sims/smv/smv-accel.cfg``, lines
        62-76) pipelines ``conv3d_col`` only: ``#pipeline,smv_conv3d_nhwc_vec_fxp,conv3d_row`` has
        been commented out since commit b96478f (2019-07-09, "due to recent change in the SMV CONV
        kernel"), so every output row fills and drains the pipeline: a row ends ``depth`` cycles
        after its last pixel starts, and the next row starts after it. Loads are conditional in the
        source, so only what exists is read: the last channel block loads ``max_ch_grp =
        ceil(remaining channels / 8)`` vectors of activations and of weights per PE (line 198), the
        last ofmap block ``kEffNumPeInsts`` PEs' weights (174), and a pixel whose input is SAME
        padding loads no activations (``is_padding ? zero : _a[...]``, 263). Per pixel the
        activation vectors share the input scratchpad's port and the partial sums' read (skipped by
        the first pass of a fresh output, ``start_from_zero``, 186 and 243) and write share the output
        scratchpad's; the busier one sets the pixel's initiation interval. Every lane still
        multiplies (zeros included), so the MAC count and its energy do not shrink.
        """
        P, M, V, B = self.num_pes, self.maccs_per_pe, self.vector_width, self.words_per_cycle
        r, s = w.window
        sr, sc = w.stride
        top, _, left, _ = w.pads
        in_rows, in_cols = w.input_shape[1], w.input_shape[2]
        rows = w.out_rows
        pixels = rows * w.out_cols
        # activation-loading pixels, summed over the kernel positions (rows and columns separate)
        vrows = [self._valid(rows, sr, top, k, in_rows) for k in range(r)]
        vcols = [self._valid(w.out_cols, sc, left, k, in_cols) for k in range(s)]
        # the rows' last pixels (where each row's pipeline drains) that load activations
        vends = [int(0 <= (w.out_cols - 1) * sc - left + k <= in_cols - 1) for k in range(s)]
        positions = r * s
        loaded_all = sum(vrows) * sum(vcols)
        loaded_first = vrows[0] * vcols[0]
        if self.pipeline_conv_rows:  # one pipeline a pass, its last pixel taken as one that loads
            drains, ends_all, ends_first = 1, positions, 1
        else:
            drains, ends_all, ends_first = rows, sum(vrows) * sum(vends), vrows[0] * vends[0]
        chan_blocks = ceil_div(w.channels, M)
        full_grp = M // V
        last_grp = ceil_div(w.channels - (chan_blocks - 1) * M, V)
        res_acc = ceil_div(2 * V, B)  # read and write one vector of 8 partial sums
        res_first = ceil_div(V, B)  # start_from_zero: the write only
        depth = self.conv_depth_cycles
        lat = self.spad_latency_cycles
        full, rest = divmod(w.kernels, P)

        def intervals(loaded, total, ends, row_ends, ii_l, ii_p):
            """``total`` pixels' intervals (``loaded`` of them load activations), the ``row_ends``
            pipelines' last ones (``ends`` of them loading) replaced by the pipeline's depth."""
            return loaded * ii_l + (total - loaded) * ii_p + row_ends * depth - (ends * ii_l + (row_ends - ends) * ii_p)

        compute = reads = writes = 0
        for pes, blocks in ((P, full), (rest, 1 if rest else 0)):
            if not blocks:
                continue
            for cb in range(chan_blocks):
                g = last_grp if cb == chan_blocks - 1 else full_grp
                ii_load, ii_pad = max(1, ceil_div(g * V, B), res_acc), max(1, res_acc)
                weight_load = ceil_div(pes * g * V, B) + lat
                c = positions * weight_load + intervals(loaded_all, positions * pixels, ends_all,
                                                        positions * drains, ii_load, ii_pad)
                rd = loaded_all * g * V + positions * pixels * V + positions * pes * g * V
                if cb == 0 and not w.accumulate:  # the first pass of a fresh output reads no partial sums
                    first_load, first_pad = max(1, ceil_div(g * V, B), res_first), max(1, res_first)
                    c += (intervals(loaded_first, pixels, ends_first, drains, first_load, first_pad)
                          - intervals(loaded_first, pixels, ends_first, drains, ii_load, ii_pad))
                    rd -= pixels * V
                compute += blocks * c
                reads += blocks * rd
                writes += blocks * positions * pixels * V
        # Every pass multiplies 32 lanes on each active PE for every output pixel.
        macs = r * s * chan_blocks * pixels * (full * P + rest) * M
        return w.batch * compute, w.batch * macs, w.batch * reads, w.batch * writes

    def _inner_product(self, w: TileWork) -> tuple[int, int, int, int]:
        """One ``smv_matrix_multiply_transpose_nc_vec_fxp`` invocation (matrix_multiply.c): ``a_act``
        (line 116), ``b_row`` (118, 8 neurons) and ``b_col`` (129, 32 channels) all pipelined
        (smv-accel.cfg lines 79-84), so one pipeline streams rows x neuron blocks x channel blocks
        iterations; ``a_reg_load``, ``pe_insts``, ``b_reg_load``, ``core_mul``, ``reduce_1``,
        ``reduce_2`` and ``copy_psums`` (142-186) are flattened. Each iteration reads 8 x 32 weights
        from one scratchpad (32 cycles at 8 words a cycle: the interval) and 32 activations from
        another; depth: read, multiply, the 4-vector and 8-lane trees, two accumulations, write."""
        P, M, B = self.num_pes, self.maccs_per_pe, self.words_per_cycle
        rows = w.out_rows
        neuron_blocks = ceil_div(w.kernels, P)
        chan_blocks = ceil_div(w.channels, M)
        iters = rows * neuron_blocks * chan_blocks
        ii = max(1, ceil_div(P * M, B), ceil_div(M, B))
        vectors = M // self.vector_width
        depth = (
            2 * self.spad_latency_cycles
            + self.mul_latency_cycles
            + (log2_ceil(vectors) + log2_ceil(self.vector_width) + 2) * self.add_latency_cycles
        )
        compute = depth + (iters - 1) * ii if iters else 0
        macs = iters * P * M
        reads = iters * (M + P * M) + rows * neuron_blocks * (P if w.accumulate else 0)
        writes = rows * neuron_blocks * P
        return compute, macs, reads, writes

    def _pool(self, w: TileWork) -> tuple[int, int, int, int]:
        """One ``smv_maxpooling_nhwc_vec_fxp`` / ``smv_avgpooling_nhwc_vec_fxp`` invocation
        (pooling.c lines 102-119 and 237-247): per output pixel and group of ``pool_unroll`` = 4 channel
        vectors (``maxpool_chan_grp`` unrolled 4 times), a pipeline over the window
        (``maxpool_pool_row``/``maxpool_pool_col`` pipelined; smv-accel.cfg lines 93-110)."""
        V, B = self.vector_width, self.words_per_cycle
        ph, pw = w.window
        groups = ceil_div(ceil_div(w.channels, V), self.pool_unroll)
        outer = w.batch * w.out_rows * w.out_cols * groups
        words = self.pool_unroll * V
        ii = max(1, ceil_div(words, B))
        op_latency = self.add_latency_cycles  # a compare (max) or an add (avg)
        depth = 2 * self.spad_latency_cycles + op_latency
        if w.kind == "avg_pool":
            depth += self.mul_latency_cycles  # the final scaling by 1 / window
        compute = outer * (depth + (ph * pw - 1) * ii)
        elems = w.batch * w.out_rows * w.out_cols * w.channels
        reads = elems * ph * pw
        writes = elems
        return compute, 0, reads, writes

    def _batch_norm(self, w: TileWork) -> tuple[int, int, int, int]:
        """One batch-norm invocation (batch_norm.c): after a convolution (NHWC, lines 250-260)
        ``bn_chan`` is unrolled ``bn_unroll`` = 8 times and nothing is pipelined (smv-accel.cfg lines
        121-124), each iteration a subtract, two multiplies and an add; after an FC (lines 70-72)
        ``bn_input`` is pipelined over the vectors (lines 127-129)."""
        V, B = self.vector_width, self.words_per_cycle
        latency = 2 * self.spad_latency_cycles + 2 * self.add_latency_cycles + 2 * self.mul_latency_cycles
        vectors = ceil_div(w.channels, V)
        if len(w.input_shape) == 4:  # post-conv: unpipelined, bn_unroll vectors per iteration
            pixels = w.batch * w.out_rows * w.out_cols
            iters = pixels * ceil_div(vectors, self.bn_unroll)
            per_iter = max(latency, ceil_div(2 * self.bn_unroll * V, B))
            compute = iters * per_iter
            elems = pixels * w.channels
        else:  # post-FC: pipelined over vectors
            iters = w.out_rows * vectors
            compute = latency + max(0, iters - 1) * max(1, ceil_div(2 * V, B))
            elems = w.out_rows * w.channels
        reads = elems + 4 * w.channels
        writes = elems
        return compute, 0, reads, writes

    def _elementwise(self, w: TileWork) -> tuple[int, int, int, int]:
        """Element-wise and activation ops: one vector of each input, one result vector per loop
        iteration (``eltwise_add.c`` ``eltwise_add_loop`` line 28, ``eltwise_mul.c`` 28,
        ``compare.c`` 34-121), unpipelined; the addition's loop is unrolled ``add_unroll`` times,
        its iterations bounded by the latency or by each scratchpad's port (the inputs and the
        result are three arrays, one vector each per cycle)."""
        elems = w.storage(w.input_shape)
        if w.kind in ("add", "mul", "less", "less_equal", "greater", "greater_equal"):
            latency = 2 * self.spad_latency_cycles + (
                self.mul_latency_cycles if w.kind == "mul" else self.add_latency_cycles
            )
            unroll = self.add_unroll if w.kind == "add" else 1
            per_iter = max(latency, ceil_div(unroll * self.vector_width, self.words_per_cycle))
            compute = ceil_div(ceil_div(elems, self.vector_width), unroll) * per_iter
            return compute, 0, 2 * elems, elems
        if w.kind == "softmax":
            # Three passes over the rows (max, exp and sum, scale), each a vector activation pass.
            compute = 3 * self._activation_cycles(elems, "softmax")
            return compute, 0, 3 * elems, 2 * elems
        return self._activation_cycles(elems, w.kind), 0, elems, elems


__all__ = ["SMV"]
