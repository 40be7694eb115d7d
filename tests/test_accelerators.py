"""The SMV cycle and energy model against closed forms, and the Accelerator interface.

The closed forms restate the dataflow of SMAUG's kernels (smaug/operators/smv/kernels/*.c): a
convolution pass per (8 output maps, kernel row, kernel column, 32 channels) loads 8 x 32 weights into
registers and streams every output pixel through a pipeline at one pixel per cycle.
"""

from __future__ import annotations

import importlib.util
import math
import pathlib
import sys
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smaug_fast import Graph, System, nn, zoo
from smaug_fast.accelerators import SMV, Accelerator, Scratchpad, TileCost, TileWork
from smaug_fast.errors import ConfigError, MappingError

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _conv(h, w, c, k, kernel=1, stride=1, padding="valid"):
    with Graph("g") as g:
        nn.convolution(g.input((1, h, w, c)), k, kernel, stride=stride, padding=padding)
    return g.topological_order()[-1]


def _fc(n, c, k):
    with Graph("g") as g:
        nn.mat_mul(g.input((n, c), layout="NC"), k)
    return g.topological_order()[-1]


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 4), m=st.integers(1, 4), hw=st.integers(1, 11))
def test_one_by_one_conv_is_macs_over_256_plus_fill_drain(k, m, hw):
    """1x1 conv, 32k channels, 8m maps, one tile: m*k passes, each a weight load and, per output row,
    a pipeline that fills and drains (depth + pixels of the row - 1; SMAUG's smv-accel.cfg pipelines
    conv3d_col, not conv3d_row).

    With 32 words per cycle from each scratchpad the datapath takes one pixel per cycle (the default
    8 banks take one per 4 cycles: test_default_banks_set_the_initiation_intervals)."""
    smv = SMV(spad_banks=32)
    op = _conv(hw, hw, 32 * k, 8 * m)
    plan = smv.tile(op)
    assert all(t.num_tiles == 1 for t in plan.tensors)
    cost = smv.op_cost(op)
    (work,) = smv.schedule_costs(op, plan, plan.schedule()).works
    tile = smv.invocation_cost(work)
    passes = m * k
    weight_load = 256 // 32 + 1  # 8 x 32 weights over 32 banks, plus the read latency
    depth = 1 + 4 + (2 + 3 + 1) * 5 + 1  # read, multiply, 4-vector and 8-lane trees, accumulate, write
    assert op.macs == hw * hw * 32 * k * 8 * m
    assert tile.compute_cycles == op.macs // 256 + passes * (weight_load + hw * (depth - 1))
    # an SMV whose pipeline streams across rows fills it once a pass
    rows_on = SMV(spad_banks=32, pipeline_conv_rows=True).invocation_cost(work)
    assert rows_on.compute_cycles == op.macs // 256 + passes * (weight_load + depth - 1)
    assert tile.macs == op.macs  # no padding lanes when channels and maps are multiples of 32 and 8
    # Loads (unpacking) and stores (packing) at 32 words per cycle around the compute.
    elems_in = hw * hw * 32 * k + 8 * m * 32 * k
    assert tile.load_cycles == math.ceil(elems_in / 32)
    assert tile.store_cycles == math.ceil(hw * hw * 8 * m / 32)
    assert cost.cycles == tile.cycles


def test_large_tiles_approach_peak():
    """The weight loads are per pass and the pipeline fills and drains per output row: with long rows,
    256 MACs per cycle (when the scratchpads deliver 32 words per cycle); an SMV that pipelines across
    rows gets there with many pixels in any shape."""
    smv = SMV(spad_banks=32)
    for cols, bound in ((64, 1.75), (1024, 1.05), (16384, 1.003)):
        work = TileWork("conv", (1, 4, cols + 2, 64), (16, 3, 3, 64), (1, 2, cols, 16), 64, 16, 2, cols, (3, 3))
        ratio = smv.invocation_cost(work).compute_cycles / (work.macs / 256)
        assert 1.0 <= ratio < bound
    rows_on = SMV(spad_banks=32, pipeline_conv_rows=True)
    for pixels, bound in ((64, 1.75), (1024, 1.05), (16384, 1.003)):
        side = int(pixels**0.5)
        work = TileWork(
            "conv", (1, side + 2, side + 2, 64), (16, 3, 3, 64), (1, side, side, 16), 64, 16, side, side, (3, 3)
        )
        ratio = rows_on.invocation_cost(work).compute_cycles / (work.macs / 256)
        assert 1.0 <= ratio < bound


def test_partial_channel_and_map_blocks_waste_lanes():
    """3 input channels still occupy a 32-channel pass (all 32 lanes multiply), but the kernel loads
    only the vectors that exist (convolution_simd.c max_ch_grp: one of 8 channels) for the 5 PEs of
    5 maps (kEffNumPeInsts): 5 x 8 weight words over 32 banks, then one pixel per cycle."""
    smv = SMV(spad_banks=32)
    op = _conv(8, 8, 3, 5)
    plan = smv.tile(op)
    (work,) = smv.schedule_costs(op, plan, plan.schedule()).works
    tile = smv.invocation_cost(work)
    assert tile.macs == 8 * 8 * 5 * 32
    assert op.macs == 8 * 8 * 5 * 3
    weight_load = math.ceil(5 * 8 / 32) + 1
    assert tile.compute_cycles == 1 * (weight_load + 8 * (36 + 7))  # 8 rows of 8 pixels


def test_same_padding_pixels_and_missing_channels_load_nothing():
    """1 input channel, 3x3 SAME, 32 filters, 28x28 (default 8 banks: one vector per scratchpad per
    cycle). Per pixel the output scratchpad reads and writes a vector of partial sums (2 cycles), the
    input one loads one activation vector, or none in the padding: 2 cycles a pixel, 1 in the first
    pass of each block (nothing to read back). Per block of 8 maps, 9 passes each load 8 PEs x 1
    weight vector (8 cycles + the read latency), then each of the 28 rows fills and drains the
    36-cycle pipeline (27 intervals and the depth)."""
    smv = SMV()
    work = TileWork("conv", (1, 28, 28, 1), (32, 3, 3, 1), (1, 28, 28, 32), 1, 32, 28, 28, (3, 3), (1, 1),
                    (1, 1, 1, 1))
    per_block = 9 * (8 + 1) + 9 * 28 * 36 + 8 * 28 * 27 * 2 + 28 * 27 * 1
    assert smv.invocation_cost(work).compute_cycles == 4 * per_block
    rows_on = SMV(pipeline_conv_rows=True)  # one fill a pass
    per_block = 9 * ((8 + 1) + 36) + 8 * 783 * 2 + 783 * 1
    assert rows_on.invocation_cost(work).compute_cycles == 4 * per_block
    # the same layer with 32 channels loads four vectors a pixel, except in the padding
    full = TileWork("conv", (1, 28, 28, 32), (32, 3, 3, 32), (1, 28, 28, 32), 32, 32, 28, 28, (3, 3), (1, 1),
                    (1, 1, 1, 1))
    loaded = (27 + 28 + 27) ** 2  # output pixels whose input is not padding, over the 9 kernel offsets
    first = 27 * 27
    # (each pass: the pipeline's depth after its first pixel, which loads, then the others' intervals)
    per_block = 9 * ((32 + 1) + 36 - 4) + loaded * 4 + (9 * 784 - loaded) * 2 - (784 - first) * 1
    assert rows_on.invocation_cost(full).compute_cycles == 4 * per_block
    # draining every row: the pixel-by-pixel reference
    assert smv.invocation_cost(full).compute_cycles == _conv_cycles_by_pixel(smv, full)


def _conv_cycles_by_pixel(smv: SMV, w: TileWork) -> int:
    """Slow reference of one ``smv_conv3d_nhwc_vec_fxp`` invocation's compute cycles, pass by pass and
    pixel by pixel, in the kernel's loop order (convolution_simd.c: ofmap blocks, kernel rows and
    columns, channel blocks, then output rows and columns). A pass loads its PEs' weight vectors,
    then streams pixels: a pixel's interval is the busier scratchpad's, its activation vectors (none
    in the padding) or its partial sums' read and write (the write only in a fresh output's first
    pass); a pipeline ends ``depth`` cycles after its last pixel starts. SMAUG's Aladdin
    configuration drains the pipeline after every output row; ``pipeline_conv_rows`` once a pass."""
    P, M, V, B = smv.num_pes, smv.maccs_per_pe, smv.vector_width, smv.words_per_cycle
    r, s = w.window
    sr, sc = w.stride
    top, _, left, _ = w.pads
    in_rows, in_cols = w.input_shape[1], w.input_shape[2]
    depth = smv.conv_depth_cycles
    total = 0
    for block in range(math.ceil(w.kernels / P)):
        pes = min(P, w.kernels - block * P)
        for kr in range(r):
            for kc in range(s):
                for cb in range(math.ceil(w.channels / M)):
                    vectors = math.ceil(min(M, w.channels - cb * M) / V)
                    first = cb == 0 and kr == 0 and kc == 0 and not w.accumulate
                    psums = math.ceil((1 if first else 2) * V / B)
                    t = math.ceil(pes * vectors * V / B) + smv.spad_latency_cycles
                    rows = []
                    for o in range(w.out_rows):
                        row = []
                        for q in range(w.out_cols):
                            loads = 0 <= o * sr - top + kr < in_rows and 0 <= q * sc - left + kc < in_cols
                            row.append(max(1, math.ceil(vectors * V / B) if loads else 0, psums))
                        rows.append(row)
                    pipelines = [sum(rows, [])] if smv.pipeline_conv_rows else rows
                    t += sum(sum(p) - p[-1] + depth for p in pipelines)
                    total += t
    return total * w.batch


@settings(max_examples=60, deadline=None)
@given(rows=st.integers(1, 9), cols=st.integers(1, 9), channels=st.integers(1, 80), kernels=st.integers(1, 20),
       window=st.sampled_from([(1, 1), (3, 3), (2, 3), (5, 5)]), stride=st.sampled_from([1, 2]),
       pad=st.booleans(), accumulate=st.booleans(), banks=st.sampled_from([8, 32]))
def test_conv_cycles_match_the_pixel_by_pixel_reference(rows, cols, channels, kernels, window, stride, pad,
                                                        accumulate, banks):
    """The closed form of ``SMV._conv`` against the slow reference: exact when every row drains
    (SMAUG's configuration); streaming across rows, the closed form takes each pass's last pixel as
    one that loads, so it may differ by the difference of two intervals, once a pass."""
    r, c = window
    pads = ((r - 1) // 2, r // 2, (c - 1) // 2, c // 2) if pad else (0, 0, 0, 0)
    in_rows = (rows - 1) * stride + r - pads[0] - pads[1]
    in_cols = (cols - 1) * stride + c - pads[2] - pads[3]
    if in_rows < 1 or in_cols < 1:
        return
    work = TileWork("conv", (1, in_rows, in_cols, channels), (kernels, r, c, channels), (1, rows, cols, kernels),
                    channels, kernels, rows, cols, window, (stride, stride), pads, accumulate=accumulate)
    smv = SMV(spad_banks=banks)
    assert smv.invocation_cost(work).compute_cycles == _conv_cycles_by_pixel(smv, work)
    on = SMV(spad_banks=banks, pipeline_conv_rows=True)
    passes = math.ceil(kernels / 8) * r * c * math.ceil(channels / 32)
    got, ref = on.invocation_cost(work).compute_cycles, _conv_cycles_by_pixel(on, work)
    assert abs(got - ref) <= passes * 4  # an interval is 1 to 4 cycles


@settings(max_examples=30, deadline=None)
@given(h=st.integers(2, 30))
def test_conv_cycles_are_linear_in_pixels(h):
    """An output row adds, per pass, its pixels' intervals and one pipeline fill (SMAUG's configuration
    drains every row); streaming across rows, only its pixels."""
    def compute(smv, rows):
        work = TileWork("conv", (1, rows + 2, 8, 32), (8, 3, 3, 32), (1, rows, 6, 8), 32, 8, rows, 6, (3, 3))
        return smv.invocation_cost(work).compute_cycles

    passes, depth = 9, 36
    smv = SMV(spad_banks=32)
    assert compute(smv, h + 1) - compute(smv, h) == passes * (6 - 1 + depth)
    on = SMV(spad_banks=32, pipeline_conv_rows=True)
    assert compute(on, h + 1) - compute(on, h) == passes * 6


def test_inner_product_is_weight_bandwidth_bound():
    """Each pipelined FC iteration reads 8 x 32 weights, 8 words per cycle: one iteration per 32 cycles."""
    smv = SMV()
    op = _fc(1, 1024, 16)
    plan = smv.tile(op)
    assert plan.weights.num_tiles == 1
    (work,) = smv.schedule_costs(op, plan, plan.schedule()).works
    iters = 1 * (16 // 8) * (1024 // 32)
    depth = 1 + 4 + (2 + 3 + 2) * 5 + 1
    assert smv.invocation_cost(work).compute_cycles == depth + (iters - 1) * 32
    assert SMV(spad_banks=32).invocation_cost(work).compute_cycles == depth + (iters - 1) * 8
    wide = SMV(spad_banks=256)  # enough banks for all 256 weights per cycle: one iteration per cycle
    assert wide.invocation_cost(work).compute_cycles == depth + (iters - 1)


def test_default_banks_set_the_initiation_intervals():
    """smv-accel.cfg: 8 cyclic banks per scratchpad; Aladdin serves an 8-wide vector from the one bank
    of its address, so a scratchpad moves 8 words per cycle: a conv pixel reads 32 activations (4
    cycles), a pass loads 8 x 32 weights (32 cycles), unpacking moves 8 words per cycle."""
    smv = SMV()
    assert smv.words_per_cycle == 8
    rows, cols = 5, 6
    work = TileWork("conv", (1, rows + 2, cols + 2, 32), (8, 3, 3, 32), (1, rows, cols, 8), 32, 8, rows, cols, (3, 3))
    cost = smv.invocation_cost(work)
    passes = 9
    depth = 1 + 4 + (2 + 3 + 1) * 5 + 1
    assert cost.compute_cycles == passes * ((256 // 8 + 1) + rows * (depth + (cols - 1) * 4))
    assert cost.load_cycles == math.ceil(work.load_elems / 8)


def test_energy_is_the_sum_of_its_parts():
    smv = SMV()
    op = _conv(16, 16, 64, 16, kernel=3, padding="same")
    plan = smv.tile(op)
    costs = smv.schedule_costs(op, plan, plan.schedule())
    for work in costs.works:
        t = smv.invocation_cost(work)
        spad = t.spad_reads * smv.spad_read_energy_j + t.spad_writes * smv.spad_write_energy_j
        expected = t.macs * (smv.mul_energy_j + smv.add_energy_j + 3 * smv.reg_energy_j) + spad
        assert t.energy_j == pytest.approx(expected) and t.spad_energy_j == pytest.approx(spad)
        # leakage is the simulator's to charge (over the whole invocation), not the tile's
        assert SMV(static_power_w=1.0).invocation_cost(work) == t
        assert t.spad_reads > t.macs / 8  # 32 activations and 8 partial sums per 256 MACs at least
    quiet = SMV(spad_read_energy_j=0.0, spad_write_energy_j=0.0, reg_energy_j=0.0, static_power_w=0.0)
    macs = costs.macs.sum()
    assert quiet.op_cost(op).energy_j == pytest.approx(macs * (smv.mul_energy_j + smv.add_energy_j))
    cold, hot = SMV(static_power_w=0.0), SMV(static_power_w=1.0)
    assert hot.op_cost(op).energy_j == pytest.approx(cold.op_cost(op).energy_j + cold.op_cost(op).seconds * 1.0)


def test_every_op_kind_has_a_positive_cost():
    smv = SMV()
    seen = set()
    for net in ("lenet5", "cnn10", "lstm", "resnet50"):
        for op in zoo.load(net).topological_order():
            if smv.supports(op) and op.kind not in seen:
                seen.add(op.kind)
                cost = smv.op_cost(op)
                assert cost.cycles > 0 and cost.energy_j > 0 and cost.invocations > 0, op.kind
    assert {"conv", "inner_product", "max_pool", "batch_norm", "relu", "add", "mul", "sigmoid", "tanh"} <= seen
    with Graph("g") as g:
        x = g.input((4, 100), layout="NC")
        nn.softmax(x)
        nn.avg_pool(g.input((1, 8, 8, 16)), 2)
        nn.elu(x)
    for op in g.topological_order():
        assert smv.op_cost(op).cycles > 0


def test_more_accelerators_share_the_groups():
    smv = SMV()
    op = zoo.load("vgg16").topological_order()[1]  # 30 independent groups
    one, two = smv.op_cost(op, 1), smv.op_cost(op, 2)
    # Round-robin over (row tile, weight tile) groups: the 8-map last weight tile always lands on
    # the second accelerator, so the split is not perfectly even.
    assert one.cycles / 2 <= two.cycles < 0.6 * one.cycles
    assert two.energy_j == pytest.approx(one.energy_j, rel=0.05)


def test_schedule_costs_bytes():
    smv = SMV()
    op = zoo.load("lenet5").topological_order()[1]  # row-tiled conv: 2 input tiles, 1 weight tile
    plan = smv.tile(op)
    sched = plan.schedule()
    costs = smv.schedule_costs(op, plan, sched)
    assert len(costs.cycles) == len(sched) == 2
    assert costs.load_bytes_input.tolist() == [2 * 19 * 26 * 32, 2 * 9 * 26 * 32]
    assert costs.load_bytes_weights.tolist() == [2 * 32 * 9 * 32, 0]
    assert costs.store_bytes.tolist() == [2 * 17 * 24 * 32, 2 * 7 * 24 * 32]


def test_smv_defaults_and_scratchpads():
    smv = SMV()
    assert smv.macs_per_cycle == 256 and smv.freq_hz == 1e9
    assert smv.scratchpads() == tuple(Scratchpad(n, 32768, 8) for n in ("inputs", "weights", "outputs"))
    assert smv.tiling_params().spad_bytes == 32768
    assert SMV(spad_bytes="64KiB").tile(_conv(8, 8, 8, 8)).spad_elems == 32768
    assert hash(SMV()) == hash(SMV()) and SMV() != SMV(num_pes=16)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"freq_hz": 1000}, r"freq_hz = 1000: must be >= 1e\+06"),
        ({"num_pes": 0}, r"num_pes = 0: must be >= 1"),
        ({"maccs_per_pe": 12}, r"maccs_per_pe = 12: must be a multiple of vector_width = 8"),
        ({"spad_bytes": 16}, r"spad_bytes = 16: must be >= 64"),
        ({"spad_bytes": "32KB"}, r"spad_bytes = '32KB': unknown size prefix"),
        ({"mul_energy_j": -1.0}, r"mul_energy_j = -1.0: must be >= 0"),
        ({"spad_banks": 2.5}, r"spad_banks = 2.5: must be an integer"),
        ({"alignment": -1}, r"alignment = -1: must be >= 0"),
        ({"add_latency_cycles": True}, r"add_latency_cycles = True: must be an integer"),
    ],
)
def test_smv_validation(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SMV(**kwargs)


def test_smv_rejects_ops_it_cannot_run():
    with Graph("g") as g:
        x = g.input((1, 8, 8, 16))
        nn.depthwise_convolution(x, 3, name="dw")
    with pytest.raises(MappingError, match="dw"):
        SMV().tile(g.topological_order()[-1])


# --------------------------------------------------------------------------------------------------
# A user-defined accelerator through the interface
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Roofline(Accelerator):
    kind: ClassVar[str] = "test_roofline"
    freq_hz: float = 2e9
    macs_per_cycle: int = 100
    spad_bytes: int = 8 * 1024

    def supports(self, op):
        return op.kind == "conv"

    def invocation_cost(self, work):
        return TileCost(compute_cycles=-(-work.macs // self.macs_per_cycle), macs=work.macs, energy_j=1e-12 * work.macs)


def test_user_accelerator_uses_the_default_tiler_and_registry():
    acc = _Roofline()
    op = _conv(32, 32, 64, 64, kernel=3, padding="same")
    plan = acc.tile(op)
    assert plan.accelerator == "test_roofline" and plan.spad_elems == 4096
    cost = acc.op_cost(op)
    assert cost.macs == op.macs  # the tiles together do exactly the op's work
    assert cost.seconds == pytest.approx(cost.cycles / 2e9)
    assert Accelerator.registry["test_roofline"] is _Roofline
    system = System(accelerator=acc)
    assert System.from_dict(system.to_dict()) == system
    with pytest.raises(MappingError, match="not supported by accelerator 'test_roofline'"):
        acc.tile(_fc(1, 8, 8))
    assert acc.scratchpads()[0] == Scratchpad("inputs", 8192, 1)


def test_interface_requires_the_abstract_methods():
    @dataclass(frozen=True)
    class Incomplete(Accelerator):
        freq_hz: float = 1e9

    with pytest.raises(TypeError):
        Incomplete()  # type: ignore[abstract]


def test_example_custom_accelerator_runs(capsys):
    spec = importlib.util.spec_from_file_location("custom_accelerator", ROOT / "examples" / "custom_accelerator.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    module.main()
    out = capsys.readouterr().out
    assert "conv_1" in out and "accelerator time for LeNet5" in out


def test_tile_work_properties():
    w = TileWork("conv", (1, 10, 10, 12), (8, 3, 3, 12), (1, 8, 8, 8), 12, 8, 8, 8, (3, 3))
    assert w.macs == 8 * 8 * 8 * 12 * 9
    assert w.load_elems == 10 * 10 * 16 + 8 * 9 * 16  # channels padded to 8
    assert w.store_elems == 8 * 8 * 8
    fc = TileWork("inner_product", (2, 64), (16, 64), (2, 16), 64, 16, 2, 1, read_weights=False, send_output=False)
    assert fc.macs == 2 * 16 * 64 and fc.load_elems == 128 and fc.store_elems == 0
    assert np.isclose(SMV().invocation_cost(fc).energy_j, SMV().invocation_cost(fc).energy_j)


@settings(max_examples=30, deadline=None)
@given(vectors=st.integers(1, 300), banks=st.sampled_from([8, 16, 64]))
def test_elementwise_add_unrolls_and_the_others_do_not(vectors, banks):
    """eltwise_add.c's loop, unrolled 8 times (smv-accel.cfg eltwise_add_loop): per group of 8 vectors
    the longer of the add's latency (read, add, write) and each scratchpad's 8 vectors; the multiply
    (no directive) takes one vector an iteration, each its whole latency."""
    smv = SMV(spad_banks=banks)
    elems = vectors * 8

    def cycles(kind):
        work = TileWork(kind, (1, elems), (), (1, elems), elems, elems, 1, elems, operands=2)
        return smv.invocation_cost(work).compute_cycles

    add_latency = 1 + 5 + 1
    assert cycles("add") == math.ceil(vectors / 8) * max(add_latency, math.ceil(64 / banks))
    assert cycles("mul") == vectors * (1 + 4 + 1)
    assert SMV(spad_banks=banks, add_unroll=1).invocation_cost(
        TileWork("add", (1, elems), (), (1, elems), elems, elems, 1, elems, operands=2)).compute_cycles \
        == vectors * add_latency
