"""SMAUG's SMV tiling rules: strategies, basic tile shapes, tile grids, halos, schedules and errors.

The expected values of the zoo layers below are worked out by hand in the comments, from the rules
(smaug_facts.md 1.4 and smaug_fast/tiling/smv.py's docstring), not by running the code. A second set
comes from SMAUG's own unit tests (``smaug/operators/smv/smv_*_tiling_test.cpp`` @8fd68e6), and the
shortcuts of the implementation are checked against literal transcriptions of SMAUG's loops.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smaug_fast import Graph, nn, tensor, zoo
from smaug_fast.errors import MappingError
from smaug_fast.tiling import STRATEGIES, TilingParams, best_strategy, storage_elems, supports, tile_op
from smaug_fast.tiling.smv import enum_4d, split


def _op(graph, kind, index=0, **shape):
    """The index-th op of ``kind`` in ``graph`` (optionally with the given input shape)."""
    ops = [o for o in graph.topological_order() if o.kind == kind]
    if "input" in shape:
        ops = [o for o in ops if o.inputs[0].shape == shape["input"]]
    if "out_channels" in shape:
        ops = [o for o in ops if o.output.shape[-1] == shape["out_channels"]]
    return ops[index]


# --------------------------------------------------------------------------------------------------
# LeNet5
# --------------------------------------------------------------------------------------------------


def test_lenet5_first_conv():
    # Input 28x28x1 stores 28*28*8 = 6272 <= 16384 elements (C padded to 8): None.
    # Weights 32x3x3x1: 32*9*8 = 2304: None.
    # Output 26x26x32 = 21632 > 16384; N: 21632 > 16384; NC: 21632 * 8/32 = 5408 fits: NC.
    # Weights untiled, outputs NC: channels 8, 16, 24, 32 -> 676*c <= 16384 for c <= 24: best 24.
    # Total 6272 + 2304 + 16224 = 24800; output channel tiles 24 + 8.
    plan = tile_op(_op(zoo.load("lenet5"), "conv", 0))
    assert plan.strategies == {"input": "None", "weights": "None", "output": "NC"}
    assert plan.tile_shapes == {"input": (1, 28, 28, 1), "weights": (32, 3, 3, 1), "output": (1, 26, 26, 24)}
    assert plan.output.sizes[3] == (24, 8)
    assert plan.total_tile_elems == 24800
    # One weight tile for two output tiles: two invocations, the second with kern_start 24, nothing reloaded.
    rows = plan.schedule().rows()
    assert [r["kern_start"] for r in rows] == [0, 24]
    flags = [(r["read_input"], r["read_weights"], r["send_output"]) for r in rows]
    assert flags == [(True, True, True), (False, False, True)]


def test_lenet5_second_conv_row_tiles_with_halo():
    # Input 26x26x32 = 21632; N fails; NC: min C = 32 = C, fails; NH: 21632*3/26 = 2496 fits: NH.
    # Weights 32x3x3x32 = 9216: None. Output 24x24x32 = 18432: NC (18432*8/32 = 4608); input H -> NCH.
    # Input tiles h = 3..19 (26*32*h <= 16384); output rows h - 2; total 832h + 9216 + 768(h-2): h = 19.
    # Rows: first tile 19 (3 + 16 strides), halo 2: tiles [0,19) and [17,26); output rows 17 and 7.
    plan = tile_op(_op(zoo.load("lenet5"), "conv", 1))
    assert plan.strategies == {"input": "NH", "weights": "None", "output": "NCH"}
    assert plan.tile_shapes == {"input": (1, 19, 26, 32), "weights": (32, 3, 3, 32), "output": (1, 17, 24, 32)}
    assert plan.input.sizes[1] == (19, 9) and plan.input.origins[1] == (0, 17)
    assert plan.input.halo[1] == 2
    assert plan.output.sizes[1] == (17, 7)
    assert plan.total_tile_elems == 15808 + 9216 + 13056


def test_lenet5_pool_and_fc():
    g = zoo.load("lenet5")
    # Pool input 24x24x32 = 18432: NC (4608 fits). Output 12x12x32 = 4608: None, so all 32 channels.
    # Input channel tiles 8, 16, 24 (576c <= 16384): best 24 -> 13824 + 4608.
    pool = tile_op(_op(g, "max_pool"))
    assert pool.strategies == {"input": "NC", "output": "None"}
    assert pool.tile_shapes == {"input": (1, 24, 24, 24), "output": (1, 12, 12, 32)}
    assert [r["kern_start"] for r in pool.schedule().rows()] == [0, 24]  # second tile writes channels 24..31
    # FC 4608 -> 128: weights 128x4608; N: 4608*8 > 16384; NC: 4608*32/4608 = 32 fits: NC.
    # Input 1x4608 fits: None. Neurons n = 8, 16, ... and channels c in 32-steps with n*c <= 16384:
    # 16384 is reached first at n = 8, c = 2048 (ties later are not taken). Grid 16 x (2048, 2048, 512).
    fc = tile_op(_op(g, "inner_product", 0))
    assert fc.strategies == {"input": "None", "weights": "NC", "output": "None"}
    assert fc.tile_shapes == {"input": (1, 4608), "weights": (8, 2048), "output": (1, 128)}
    assert fc.weights.grid == (16, 3) and fc.weights.sizes[1] == (2048, 2048, 512)
    sched = fc.schedule()
    assert len(sched) == 48
    assert sched.read_input.sum() == 1 and sched.read_weights.all()
    assert sched.send_output.tolist() == [False] * 47 + [True]
    assert sched.ifmap_start[:3].tolist() == [0, 2048, 4096]
    assert sched.kern_start[::3].tolist() == list(range(0, 128, 8))


# --------------------------------------------------------------------------------------------------
# VGG16 (CIFAR-10)
# --------------------------------------------------------------------------------------------------


def test_vgg16_first_conv():
    # Input 32x32x3 stores 32*32*8 = 8192: None. Weights 64x3x3x3: 64*9*8 = 4608: None.
    # Output 32x32x64 = 65536: NC (65536*8/64 = 8192). Output channels c with 1024c <= 16384: 16.
    plan = tile_op(_op(zoo.load("vgg16"), "conv", 0))
    assert plan.strategies == {"input": "None", "weights": "None", "output": "NC"}
    assert plan.tile_shapes["output"] == (1, 32, 32, 16)
    assert plan.total_tile_elems == 8192 + 4608 + 16384
    assert plan.schedule().kern_start.tolist() == [0, 16, 32, 48]


def test_vgg16_second_conv():
    # Input 32x32x64 = 65536: NC gives 65536*32/64 = 32768 > 16384; NH: 65536*3/32 = 6144: NH.
    # Weights 128x3x3x64: N (9*64*8 = 4608 fits). Output 32x32x128: NC; weights N -> NC; input H -> NCH.
    # Input h = 3..8 (2048h <= 16384), weight maps n = 8, 16, 24 (576n <= 16384), output rows h - 1
    # (SAME, top pad 1): total 2048h + 576n + 32n(h-1) is largest at h = 8, n = 24.
    # Rows: first tile 3 + 6 - 1 = 8, halo 2 -> origins 0, 6, 12, 18, 24 (all 8 rows);
    # output rows 7, 6, 6, 6, 7. Weight maps 24 x 5 + 8 -> 6 tiles; 30 invocations, one per group.
    plan = tile_op(_op(zoo.load("vgg16"), "conv", 1))
    assert plan.strategies == {"input": "NH", "weights": "N", "output": "NCH"}
    assert plan.tile_shapes == {"input": (1, 8, 32, 64), "weights": (24, 3, 3, 64), "output": (1, 7, 32, 24)}
    assert plan.input.sizes[1] == (8, 8, 8, 8, 8)
    assert plan.input.origins[1] == (0, 6, 12, 18, 24)
    assert plan.output.sizes[1] == (7, 6, 6, 6, 7)
    assert plan.weights.sizes[0] == (24, 24, 24, 24, 24, 8)
    sched = plan.schedule()
    assert len(sched) == 30 and sched.num_groups == 30
    assert sched.read_input.sum() == 5  # each row tile once: the six weight tiles iterate inside
    assert [(r["pad_top"], r["pad_bottom"]) for r in sched.rows()[::6]] == [(1, 0), (0, 0), (0, 0), (0, 0), (0, 1)]


def test_vgg16_deep_conv_channel_tiled_weights():
    # 4x4x512 -> 512, 3x3: input 8192 fits (None). Weights 512x3x3x512: N needs 8*9*512 = 36864 > 16384;
    # NC: 4608*32/512 = 288 fits: NC, with channels enumerated independently (inputs untiled):
    # n=8: c=224 (16128); n=16: 96; n=24: 64; n=32..56: 32 (n=56: 16128); n>=64: nothing fits.
    # Outputs follow the weights: (1,4,4,n). Totals: (8,224) 8192+16128+128; (56,32) 8192+16128+896 wins.
    g = zoo.load("vgg16")
    plan = tile_op(_op(g, "conv", input=(1, 4, 4, 512)))
    assert plan.strategies == {"input": "None", "weights": "NC", "output": "NC"}
    assert plan.tile_shapes == {"input": (1, 4, 4, 512), "weights": (56, 3, 3, 32), "output": (1, 4, 4, 56)}
    assert plan.weights.grid == (10, 1, 1, 16)
    sched = plan.schedule()
    assert len(sched) == 160 and sched.num_groups == 10
    assert sched.ifmap_start[:16].tolist() == list(range(0, 512, 32))
    assert sched.accumulate[:16].tolist() == [False] + [True] * 15
    assert sched.send_output[:16].tolist() == [False] * 15 + [True]
    assert sched.read_input.sum() == 1


# --------------------------------------------------------------------------------------------------
# ResNet50 (SMAUG's 225x225 variant)
# --------------------------------------------------------------------------------------------------


def test_resnet50_first_conv():
    # Input 225x225x3 stores 225*225*8 = 405000. N fails; NC (min C = 3 = C) fails;
    # NH: 405000*7/225 = 12600 fits. Weights 64x7x7x3: 25088 > 16384; N: 392*8 fits: N.
    # Output 113x113x64: NC gives 102152 > 16384, NH 7232 fits; weights N -> NC; input H -> NCH.
    # Input rows h = 7, 9 (step = stride 2; 1800h <= 16384); weight maps n <= 40 (392n);
    # output rows (h + 3 - 7)//2 + 1 = 3 for h = 9. Best h = 9, n = 40: 16200 + 15680 + 13560.
    # Rows: first tile 7 + 2*2 - 3 = 8, halo 5, then 9-row tiles every 4 rows, last one 6 rows:
    # 56 tiles; output rows 3, 2 x 54, 2 = 113.
    g = zoo.load("resnet50")
    plan = tile_op(_op(g, "conv", 0))
    assert plan.strategies == {"input": "NH", "weights": "N", "output": "NCH"}
    assert plan.tile_shapes == {"input": (1, 9, 225, 3), "weights": (40, 7, 7, 3), "output": (1, 3, 113, 40)}
    sizes = plan.input.sizes[1]
    assert len(sizes) == 56 and sizes[0] == 8 and set(sizes[1:-1]) == {9} and sizes[-1] == 6
    assert plan.input.origins[1][:3] == (0, 3, 7)
    assert plan.output.sizes[1] == (3,) + (2,) * 55
    assert plan.output.sizes[3] == (40, 24)
    one = plan.schedule(1)
    assert len(one) == 112 and one.read_weights.all()  # weight tiles alternate on one accelerator
    two = plan.schedule(2)
    assert two.accel.tolist() == [0, 1] * 56  # groups (row, weight tile) round-robin
    assert two.read_weights.sum() == 2  # each accelerator keeps its weight tile resident
    assert two.read_input.sum() == 112  # ... and loads every row tile


def test_resnet50_expansion_conv():
    # 1x1 conv 56x56x64 -> 256: input 200704: NC 100352 > 16384; NH 3584 fits.
    # Weights 256x1x1x64 = 16384: exactly one scratchpad: None. Output 56x56x256: NH (14336 fits).
    # Input rows h = 1..4 (3584h); outputs (1, h, 56, 256) fit only for h = 1 (14336h).
    plan = tile_op(_op(zoo.load("resnet50"), "conv", input=(1, 56, 56, 64), out_channels=256))
    assert plan.strategies == {"input": "NH", "weights": "None", "output": "NH"}
    assert plan.tile_shapes == {"input": (1, 1, 56, 64), "weights": (256, 1, 1, 64), "output": (1, 1, 56, 256)}
    sched = plan.schedule()
    assert len(sched) == 56 and sched.read_weights.sum() == 1


def test_resnet50_max_pool():
    # Pool 3x3/2 valid on 113x113x64 = 817216: NC 102152, NH and NW 21696 (> 16384); NHW 576 fits.
    # Output 56x56x64: NH; input H and W -> NHW. Input tiles (h, w) odd from 3 with 64hw <= 16384;
    # total 64(hw + oh*ow) with oh = (h-3)//2 + 1: the largest is 15x17 and 17x15 (255 + 56); 15x17 comes
    # first (h is the outer loop). Rows 15 every 14 (8 tiles), columns 17 every 16 (7 tiles).
    plan = tile_op(_op(zoo.load("resnet50"), "max_pool"))
    assert plan.strategies == {"input": "NHW", "output": "NHW"}
    assert plan.tile_shapes == {"input": (1, 15, 17, 64), "output": (1, 7, 8, 64)}
    assert plan.input.grid == (1, 8, 7, 1) and plan.output.grid == (1, 8, 7, 1)
    assert plan.input.origins[1] == tuple(range(0, 99, 14)) and plan.input.origins[2] == tuple(range(0, 97, 16))


def test_resnet50_first_batch_norm():
    # BN on 113x113x64: NC (min 8) 102152, NH and NW (min 8) 57856, NHW 4096 fits. Tiles (8k, 8m, 64)
    # with 64 * h * w <= 16384: hw = 256 at 8x32, 16x16 and 32x8; 8x32 is first. Weights 4x64: None.
    plan = tile_op(_op(zoo.load("resnet50"), "batch_norm", 0))
    assert plan.strategies == {"input": "NHW", "weights": "None", "output": "NHW"}
    assert plan.tile_shapes == {"input": (1, 8, 32, 64), "weights": (4, 64), "output": (1, 8, 32, 64)}
    assert plan.input.grid == (1, 15, 4, 1)
    sched = plan.schedule(3)
    assert sched.accel.tolist() == [i % 3 for i in range(60)]


# --------------------------------------------------------------------------------------------------
# SMAUG's own unit tests (expected values from smaug/operators/smv/smv_*_tiling_test.cpp)
# --------------------------------------------------------------------------------------------------

SAME, VALID = "same", "valid"
CONV_CASES = [
    # input NHWC, (R, S, K), stride, padding, expected (inputs, weights, outputs) basic tiles
    ((1, 32, 32, 8), (5, 5, 8), 1, SAME, ((1, 32, 32, 8), (8, 5, 5, 8), (1, 32, 32, 8))),
    ((1, 32, 64, 16), (3, 3, 8), 1, SAME, ((1, 16, 64, 16), (8, 3, 3, 16), (1, 15, 64, 8))),
    ((1, 16, 16, 128), (3, 3, 16), 1, SAME, ((1, 16, 16, 64), (16, 3, 3, 64), (1, 16, 16, 16))),
    ((1, 32, 32, 192), (4, 4, 32), 1, SAME, ((1, 16, 32, 32), (32, 4, 4, 32), (1, 15, 32, 32))),
    ((1, 64, 64, 192), (2, 2, 32), 1, SAME, ((1, 8, 64, 32), (32, 2, 2, 32), (1, 8, 64, 32))),
    ((1, 128, 128, 192), (2, 2, 32), 1, SAME, ((1, 4, 128, 32), (32, 2, 2, 32), (1, 4, 128, 32))),
    ((1, 8, 8, 192), (3, 3, 256), 1, SAME, ((1, 8, 8, 192), (8, 3, 3, 192), (1, 8, 8, 8))),
    ((1, 8, 8, 256), (3, 3, 256), 1, SAME, ((1, 8, 8, 256), (56, 3, 3, 32), (1, 8, 8, 56))),
    ((1, 32, 32, 8), (1, 1, 128), 1, SAME, ((1, 32, 32, 8), (128, 1, 1, 8), (1, 32, 32, 16))),
    ((1, 32, 64, 32), (2, 2, 1024), 1, SAME, ((1, 2, 64, 32), (128, 2, 2, 32), (1, 2, 64, 128))),
    ((1, 64, 32, 32), (5, 5, 32), 1, SAME, ((1, 16, 32, 32), (16, 5, 5, 32), (1, 14, 32, 16))),
    ((1, 56, 56, 256), (1, 1, 512), 2, SAME, ((1, 1, 56, 256), (64, 1, 1, 256), (1, 1, 28, 64))),
    ((1, 64, 64, 32), (3, 3, 16), 2, VALID, ((1, 7, 64, 32), (16, 3, 3, 32), (1, 3, 31, 16))),
    ((1, 225, 225, 3), (7, 7, 64), 2, SAME, ((1, 9, 225, 3), (40, 7, 7, 3), None)),
    ((1, 64, 64, 32), (5, 5, 16), 3, VALID, ((1, 8, 64, 32), (16, 5, 5, 32), (1, 2, 20, 16))),
]


@pytest.mark.parametrize("shape,weights,stride,padding,expected", CONV_CASES)
def test_smaug_conv_tiling_cases(shape, weights, stride, padding, expected):
    r, s, k = weights
    with Graph("g") as g:
        nn.convolution(g.input(shape), k, (r, s), stride=stride, padding=padding)
    plan = tile_op(g.topological_order()[-1])
    got = (plan.tile_shapes["input"], plan.tile_shapes["weights"], plan.tile_shapes["output"])
    for have, want in zip(got, expected):
        if want is not None:
            assert have == want


def test_smaug_conv_halo_case():
    # smv_convolution_tiling_test.cpp "5x5 kernels": rows 0-15, 12-27, 24-39, 36-51, 48-63; output rows
    # 14 at both ends and 12 inside; 2 weight tiles of 16 maps.
    with Graph("g") as g:
        nn.convolution(g.input((1, 64, 32, 32)), 32, 5, padding="same")
    plan = tile_op(g.topological_order()[-1])
    assert plan.input.origins[1] == (0, 12, 24, 36, 48) and set(plan.input.sizes[1]) == {16}
    assert plan.output.sizes[1] == (14, 12, 12, 12, 14)
    assert plan.weights.num_tiles == 2 and plan.output.num_tiles == 10


FC_CASES = [
    # input, outputs, expected (inputs, weights, outputs), tiles (inputs, weights)
    ((1, 256), 32, ((1, 256), (32, 256), (1, 32)), (1, 1)),
    ((1, 256), 128, ((1, 256), (64, 256), (1, 128)), (1, 2)),
    ((1, 4096), 128, ((1, 4096), (8, 2048), (1, 128)), (1, 32)),
    ((1, 32768), 256, ((1, 2048), (8, 2048), (1, 256)), (16, 512)),
]


@pytest.mark.parametrize("shape,outputs,expected,tiles", FC_CASES)
def test_smaug_inner_product_tiling_cases(shape, outputs, expected, tiles):
    with Graph("g") as g:
        nn.mat_mul(g.input(shape, layout="NC"), outputs)
    plan = tile_op(g.topological_order()[-1])
    assert (plan.tile_shapes["input"], plan.tile_shapes["weights"], plan.tile_shapes["output"]) == expected
    assert (plan.input.num_tiles, plan.weights.num_tiles, plan.output.num_tiles) == (*tiles, 1)


POOL_CASES = [
    # input, pool = stride, expected (inputs, outputs), tiles (inputs, outputs)
    ((1, 32, 32, 8), 2, ((1, 32, 32, 8), (1, 16, 16, 8)), (1, 1)),
    ((1, 32, 32, 32), 2, ((1, 32, 32, 16), (1, 16, 16, 32)), (2, 1)),
    ((1, 32, 32, 128), 2, ((1, 32, 32, 16), (1, 16, 16, 16)), (8, 8)),
    ((1, 64, 64, 32), 2, ((1, 8, 64, 32), (1, 4, 32, 32)), (8, 8)),
    ((1, 68, 68, 32), 2, ((1, 6, 68, 32), (1, 3, 34, 32)), (12, 12)),
    ((1, 512, 1024, 16), 2, ((1, 512, 2, 16), (1, 256, 1, 16)), (512, 512)),
    ((1, 512, 512, 32), 2, ((1, 2, 256, 32), (1, 1, 128, 32)), (512, 512)),
    ((1, 64, 64, 128), 16, ((1, 32, 64, 8), (1, 2, 4, 128)), (32, 2)),
    ((1, 64, 256, 128), 16, ((1, 64, 32, 8), (1, 4, 2, 128)), (128, 8)),
]


@pytest.mark.parametrize("shape,pool,expected,tiles", POOL_CASES)
def test_smaug_pooling_tiling_cases(shape, pool, expected, tiles):
    with Graph("g") as g:
        nn.max_pool(g.input(shape), pool, pool)
    plan = tile_op(g.topological_order()[-1])
    assert (plan.tile_shapes["input"], plan.tile_shapes["output"]) == expected
    assert (plan.input.num_tiles, plan.output.num_tiles) == tiles


BN_CASES = [
    ((1, 32, 32, 16), (1, 32, 32, 16), 1),
    ((1, 16, 16, 128), (1, 16, 16, 64), 2),
    ((1, 64, 64, 32), (1, 8, 64, 32), 8),
    ((1, 64, 1024, 32), (1, 64, 8, 32), 128),
    ((1, 128, 128, 64), (1, 8, 32, 64), 64),
    ((1, 64, 64, 512), (1, 32, 64, 8), 2 * 64),
    ((1, 64, 512, 512), (1, 64, 32, 8), 16 * 64),
]


@pytest.mark.parametrize("shape,tile,tiles", BN_CASES)
def test_smaug_batch_norm_tiling_cases(shape, tile, tiles):
    with Graph("g") as g:
        nn.batch_norm(g.input(shape))
    plan = tile_op(g.topological_order()[-1])
    assert plan.tile_shapes["input"] == tile == plan.tile_shapes["output"]
    assert plan.tile_shapes["weights"] == (4, shape[-1])
    assert plan.input.num_tiles == tiles and plan.weights.num_tiles == 1


# --------------------------------------------------------------------------------------------------
# Strategy choice, enumeration and splitting against literal transcriptions of SMAUG's loops
# --------------------------------------------------------------------------------------------------


def _literal_best(shape, spad, min_shape, alignment):
    """findBestTilingDims transcribed with floating-point ratios, as SMAUG computes them."""
    total = storage_elems(shape, alignment)
    if total <= spad:
        return "None"
    c = len(shape) - 1
    per_n = total // shape[0]
    mins = [min(a, b) for a, b in zip(shape, min_shape)]
    if per_n * mins[0] <= spad:
        return "N"
    if per_n * (mins[c] / shape[c]) <= spad:
        return "NC"
    if len(shape) == 2:
        return None
    h, w = 1, 2
    for name, dims in (("NH", (h,)), ("NW", (w,)), ("NHW", (h, w)), ("NCH", (c, h)), ("NCW", (c, w))):
        value = per_n
        for d in dims:
            value *= mins[d] / shape[d]
        if value <= spad:
            return name
    return None


@settings(max_examples=300, deadline=None)
@given(
    shape=st.one_of(st.tuples(*[st.integers(1, 300)] * 4), st.tuples(st.integers(1, 8), st.integers(1, 40000))),
    data=st.data(),
    spad=st.sampled_from([64, 1024, 16384]),
)
def test_best_strategy_matches_literal(shape, data, spad):
    mins = tuple(data.draw(st.integers(1, 64)) for _ in shape)
    want = _literal_best(shape, spad, mins, 8)
    if want is None:
        with pytest.raises(Exception):
            best_strategy(shape, spad, mins, 8)
    else:
        assert best_strategy(shape, spad, mins, 8) == want
        assert want in STRATEGIES


def _literal_enum4d(shape, spad, mins, steps, alignment):
    out = []
    N, H, W, C = shape
    mn, mh, mw, mc = (min(a, b) for a, b in zip(mins, shape))
    for n in range(mn, N + 1, steps[0]):
        for c in range(mc, C + 1, steps[3]):
            for h in range(mh, H + 1, steps[1]):
                for w in range(mw, W + 1, steps[2]):
                    if storage_elems((n, h, w, c), alignment) <= spad:
                        out.append((n, h, w, c))
                    else:
                        break
    return out


@settings(max_examples=200, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 40), st.integers(1, 40), st.integers(1, 70)),
    mins=st.tuples(st.integers(1, 3), st.integers(1, 8), st.integers(1, 8), st.integers(1, 40)),
    steps=st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(1, 3), st.sampled_from([1, 8, 32])),
    spad=st.sampled_from([512, 4096, 16384]),
)
def test_enum_4d_matches_literal(shape, mins, steps, spad):
    assert enum_4d(shape, spad, mins, steps, 8) == _literal_enum4d(shape, spad, mins, steps, 8)


def _literal_split(extent, tile, halo, pad, field, stride):
    """generateTiledTensorWithStrideAndPadding along one dimension, with our first-tile rule."""
    sizes, origins, remaining, origin = [], [], extent, 0
    while remaining > 0:
        size = min(tile, remaining)
        if field and not sizes and remaining > tile:
            k = (size + pad - field) // stride
            if k >= 0:
                size = field + stride * k - pad
        sizes.append(size)
        origins.append(origin)
        remaining -= size
        if remaining > 0:
            remaining += halo
        origin += size - halo
    return tuple(sizes), tuple(origins)


@settings(max_examples=300, deadline=None)
@given(extent=st.integers(1, 300), field=st.integers(1, 7), stride=st.integers(1, 3), data=st.data())
def test_split_matches_literal(extent, field, stride, data):
    tile = field + stride * data.draw(st.integers(0, 20))
    pad = data.draw(st.integers(0, field - 1))
    halo = field - stride
    assert split(extent, tile, halo=halo, pad=pad, field=field, stride=stride) == _literal_split(
        extent, tile, halo, pad, field, stride
    )
    assert split(extent, tile) == _literal_split(extent, tile, 0, 0, 0, 1)


# --------------------------------------------------------------------------------------------------
# Plans: coverage, fits, schedules; errors
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("network", zoo.PAPER_NETWORKS + ("lstm", "bidi_lstm", "resnet50_imagenet"))
def test_every_zoo_plan_fits_and_covers(network):
    for op in zoo.load(network).topological_order():
        if not supports(op):
            continue
        plan = tile_op(op)
        for t in plan.tensors:
            assert t.tile_elems <= plan.spad_elems, (op.name, t.role)
            assert all(t.storage_of(i) <= plan.spad_elems for i in range(t.num_tiles))
            # Tiles cover every element (a strided 1x1 window may skip the rows it never reads).
            for d, (sizes, origins, extent) in enumerate(zip(t.sizes, t.origins, t.shape)):
                assert origins[0] == 0
                assert 0 <= extent - (origins[-1] + sizes[-1]) <= max(0, -t.halo[d]), (op.name, t.role, d)
        sched = plan.schedule()
        sent = set(sched.output[sched.send_output].tolist())
        assert sent == set(range(plan.output.num_tiles)), op.name


def test_plans_are_frozen_hashable_and_memoized():
    op = _op(zoo.load("vgg16"), "conv", 1)
    a, b = tile_op(op), tile_op(op)
    assert a == b and hash(a) == hash(b)
    with pytest.raises(Exception):
        a.op = "x"  # type: ignore[misc]
    # Same shapes, another name: an equal plan under the new name.
    g = zoo.load("resnet50")
    convs = [o for o in g.topological_order() if o.kind == "conv"]
    last = convs[-1]
    twins = [o for o in convs if o.inputs[0].shape == last.inputs[0].shape and o.inputs[1].shape == last.inputs[1].shape]
    assert len(twins) >= 2
    p, q = tile_op(twins[0]), tile_op(twins[1])
    assert p.op == twins[0].name and q.op == twins[1].name and p.tile_shapes == q.tile_shapes
    assert q.output.name == twins[1].output.name


def test_a_memoized_plan_takes_the_tensor_names_of_an_op_of_the_same_name():
    # lstm and bidi_lstm both hold an op "mm_u" of one signature on tensors of other names; the memory
    # pass places tensors by name, so bidi_lstm's plan must name its own tensors whichever ran first.
    def mm_u(network):
        return next(o for o in zoo.load(network).topological_order() if o.name == "mm_u")

    from smaug_fast.tiling import smv

    lstm_op, bidi_op = mm_u("lstm"), mm_u("bidi_lstm")
    assert {t.name for t in lstm_op.inputs} != {t.name for t in bidi_op.inputs}
    smv.clear_cache()
    fresh = tile_op(bidi_op)
    smv.clear_cache()
    tile_op(lstm_op)
    after = tile_op(bidi_op)
    assert after == fresh
    assert {t.name for t in after.tensors} == {t.name for t in fresh.tensors} >= {bidi_op.inputs[0].name}


def test_schedule_columns_and_accelerators():
    plan = tile_op(_op(zoo.load("vgg16"), "conv", 1))
    for n in (1, 2, 3, 8):
        s = plan.schedule(n)
        assert set(np.unique(s.accel)) <= set(range(n))
        assert (s.accel == s.group % n).all()
        assert all(len(getattr(s, c)) == len(s) for c in s.COLUMNS)
    with pytest.raises(Exception, match="num_accelerators"):
        plan.schedule(0)


def test_single_accelerator_ops_ignore_the_count():
    plan = tile_op(_op(zoo.load("resnet50"), "max_pool"))
    assert (plan.schedule(4).accel == 0).all()


def test_mapping_error_names_op_smallest_tile_and_spad():
    with Graph("g") as g:
        nn.convolution(g.input((1, 32, 32, 64)), 64, 9, padding="same", name="big")
    op = g.topological_order()[-1]
    # Smallest weight tile 8 x 9 x 9 x 32 = 20736 elements > 16384.
    message = r"op 'big' \(conv\).*smallest weight tile \(8, 9, 9, 32\).*20736.*32768-byte.*16384 elements"
    with pytest.raises(MappingError, match=message):
        tile_op(op)
    # With 64 KiB scratchpads it fits.
    assert tile_op(op, TilingParams(spad_bytes=64 * 1024)).spad_elems == 32768


def test_mapping_error_for_tiny_scratchpads_and_unsupported_ops():
    with Graph("g") as g:
        x = g.input((1, 8, 8, 64))
        nn.max_pool(x, 2, 2, name="p")
        nn.depthwise_convolution(x, 3, padding="same", name="dw")
        tensor.reshape(x, (1, 4096), name="r")
    ops = {o.name: o for o in g.topological_order()}
    with pytest.raises(MappingError, match=r"op 'p' \(max_pool\): the smallest input tile \(1, 2, 2, 8\) needs 32"):
        tile_op(ops["p"], TilingParams(spad_bytes=32))
    with pytest.raises(MappingError, match=r"op 'dw' \(conv\): groups = 64.*dense"):
        tile_op(ops["dw"])
    with pytest.raises(MappingError, match=r"op 'r' \(reshape\): the SMV backend has no kernel"):
        tile_op(ops["r"])
    assert not supports(ops["dw"]) and not supports(ops["r"]) and supports(ops["p"])


def test_mapping_error_for_nchw_and_broadcast():
    with Graph("g", layout="NCHW", dtype="float32") as g:
        nn.convolution(g.input((1, 3, 8, 8)), 4, 3, name="c")
    with pytest.raises(MappingError, match=r"op 'c' \(conv\): input layout NCHW"):
        tile_op(g.topological_order()[-1])
    from smaug_fast import math as smath

    with Graph("h") as h:
        a = h.input((2, 8), layout="NC")
        b = h.input((1, 8), layout="NC")
        smath.add(a, b, name="bc")
    with pytest.raises(MappingError, match=r"op 'bc' \(add\): input shapes \(2, 8\) and \(1, 8\) differ"):
        tile_op(h.topological_order()[-1])


def test_tiling_params_validation():
    with pytest.raises(Exception, match=r"tiling.spad_bytes = 0: must be an integer >= 1"):
        TilingParams(spad_bytes=0)
    with pytest.raises(Exception, match=r"tiling.alignment = -1"):
        TilingParams(alignment=-1)


def test_describe_mentions_every_tensor():
    text = tile_op(_op(zoo.load("lenet5"), "conv", 1)).describe()
    assert "strategy NH" in text and "strategy NCH" in text and "total basic-tile storage 38080" in text
