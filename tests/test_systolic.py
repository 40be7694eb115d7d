"""Systolic arrays: SCALE-Sim 3.0.0 facts, the kernels against a literal reference, and bad input."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import naive_systolic as nv
from smaug_fast import ConfigError, WorkloadError
from smaug_fast.accelerators import Systolic
from smaug_fast.accelerators.systolic import ConstantBandwidth

# --------------------------------------------------------------------------------------------------
# Facts: what SCALE-Sim 3.0.0 reported (32x32, 64/64/64 KB, CALC), produced here with
#   python3 -m venv v && v/bin/pip install scalesim==3.0.0 'numpy<2.4'
#   sed 's/^Dataflow : ws/Dataflow : DF/' shared/reference/scalesim/configs/scale.cfg > scale_DF.cfg
#   v/bin/python -m scalesim.scale -c scale_DF.cfg -t shared/reference/scalesim/topologies/test.csv \
#       -l shared/reference/scalesim/layouts/test.csv -p out      (and -i gemm with test_mnk_input.csv)
# (validation/scalesim/run_reference.py does the same). Columns: COMPUTE_REPORT (incl. prefetch,
# total, stalls, util %, mapping %, compute util %) then DETAILED_ACCESS_REPORT (SRAM start, stop,
# count for IFMAP, FILTER, OFMAP, then DRAM start, stop, count for the same).
# --------------------------------------------------------------------------------------------------
INC5B = (7, 7, 3, 3, 192, 384, 1)  # test.csv: Inc5b_3x3
FACTS = {
    ("conv", "os"): ((25053, 21479, 0, 75.42250570324504, 78.125, 75.41899441340782),
                     (1, 21442, 518400, 1, 21449, 663552, 1734, 21479, 10368,
                      -983, -1, 9408, -3275, 21167, 663552, 21479, 21778, 9600)),
    ("conv", "ws"): ((81226, 77111, 0, 21.008675805008366, 100.0, 16.666666666666803),
                     (33, 77081, 518400, 1, 77025, 663552, 63, 77111, 518400,
                      -983, -1, 9408, -3275, 76062, 663552, 4871, 77951, 518431)),
    ("conv", "is"): ((29894, 25811, 0, 62.76393785595289, 78.125, 58.93909626719063),
                     (1, 25366, 43200, 33, 25781, 663552, 63, 25804, 518400,
                      -983, -1, 9408, -3243, 25499, 663552, 1667, 26651, 518431)),
    ("gemm", "os"): ((14473, 10175, 0, 80.51105651105651, 100.0, 80.50314465408805),
                     (1, 10145, 262144, 1, 10145, 262144, 255, 10175, 34816,
                      -3275, 10129, 262144, -3275, 7914, 40942, 10175, 11198, 32768)),
    ("gemm", "ws"): ((15498, 11199, 0, 73.14938833824449, 100.0, 67.19160104986877),
                     (33, 11169, 262144, 1, 10882, 32768, 63, 11199, 262144,
                      -3243, 11153, 262144, -3275, 10882, 32768, 1463, 12223, 262175)),
    ("gemm", "is"): ((18506, 14207, 0, 57.66171605546562, 100.0, 50.59288537549411),
                     (1, 14018, 65536, 33, 14177, 262144, 63, 14207, 262144,
                      -3275, 14017, 65536, -3243, 14161, 262144, 1839, 15231, 262175)),
}
COMPUTE_FIELDS = ("total_cycles_incl_prefetch", "total_cycles", "stall_cycles", "overall_util_percent",
                  "mapping_efficiency_percent", "compute_util_percent")
DETAIL_FIELDS = tuple(
    f"{op}_{mem}_{what}"
    for mem in ("sram", "dram")
    for op in ("ifmap", "filter", "ofmap")
    for what in ("start_cycle", "stop_cycle",
                 ("reads" if op != "ofmap" else "writes"))
)

# ResNet18 layers of SCALE-Sim's Resnet18.csv, same config (validation/scalesim/compare.py
# --layers Conv4_s,Conv5_1b,Conv5_s,FC): Total Cycles (incl. prefetch), Total Cycles, OFMAP DRAM stop.
RESNET18 = {
    # name: (h, w, fh, fw, c, n, s), {df: (incl. prefetch, total, ofmap DRAM stop)}
    "Conv4_s": ((28, 28, 1, 1, 128, 256, 2), {"ws": (14458, 10207, 11183)}),
    "Conv5_1b": ((7, 7, 3, 3, 512, 512, 1), {"is": (91183, 87263, 87940)}),
}


@pytest.mark.parametrize("kind,df", sorted(FACTS))
def test_scalesim_facts_small_layers(kind, df):
    s = Systolic(32, 32, df, scalesim_compat=True)
    r = s.conv_layer(*INC5B) if kind == "conv" else s.gemm_layer(256, 128, 256)
    compute, detail = FACTS[(kind, df)]
    assert tuple(getattr(r, f) for f in COMPUTE_FIELDS) == pytest.approx(compute, rel=1e-12)
    assert tuple(getattr(r, f) for f in DETAIL_FIELDS) == detail


@pytest.mark.parametrize("name", sorted(RESNET18))
def test_scalesim_facts_resnet18_layers(name):
    shape, per_df = RESNET18[name]
    for df, (pre, total, of_stop) in per_df.items():
        r = Systolic(32, 32, df, scalesim_compat=True).conv_layer(*shape)
        assert (r.total_cycles_incl_prefetch, r.total_cycles, r.ofmap_dram_stop_cycle) == (pre, total, of_stop)


# --------------------------------------------------------------------------------------------------
# Against the literal reference (tests/naive_systolic.py)
# --------------------------------------------------------------------------------------------------
@st.composite
def cases(draw):
    h = draw(st.integers(1, 10))
    w = draw(st.integers(1, 10))
    layer = (h, w, draw(st.integers(1, h)), draw(st.integers(1, w)), draw(st.integers(1, 5)),
             draw(st.integers(1, 20)), draw(st.integers(1, 3)), draw(st.integers(1, 3)),
             draw(st.integers(1, 2)))
    return (draw(st.sampled_from(["os", "ws", "is"])), draw(st.integers(1, 6)), draw(st.integers(1, 6)),
            layer, [draw(st.integers(100, 500)) for _ in range(3)], draw(st.booleans()))


@given(cases())
def test_kernels_match_the_literal_reference(case):
    df, rows, cols, layer, words, compat = case
    expected = nv.simulate(df, rows, cols, layer, *words, compat)
    s = Systolic(rows, cols, df, *words, scalesim_compat=compat)
    h, w, fh, fw, c, nf, sh, sw, batch = layer
    r = s.conv_layer(h, w, fh, fw, c, nf, sh, sw, batch=batch)
    for key, value in expected.items():
        assert getattr(r, key) == pytest.approx(value, rel=1e-12), key


@given(st.integers(1, 40), st.integers(1, 40), st.integers(1, 40), st.sampled_from(["os", "ws", "is"]),
       st.integers(1, 9), st.integers(1, 9))
def test_gemm_is_a_one_by_k_convolution(m, n, k, df, rows, cols):
    s = Systolic(rows, cols, df, 200, 300, 400)
    assert dataclasses.replace(s.gemm_layer(m, n, k), name="") == s.conv_layer(m, k, 1, k, 1, n, 1)


def test_periodic_repetitions_are_extrapolated_exactly():
    """Many column folds with a window smaller than the IFMAP: the kernel stops walking after a few
    repetitions; the literal reference walks all of them."""
    layer = (12, 12, 3, 3, 4, 40, 1, 1, 1)
    for df in ("os", "ws"):
        expected = nv.simulate(df, 4, 2, layer, 150, 120, 300, True)
        r = Systolic(4, 2, df, 150, 120, 300, scalesim_compat=True).conv_layer(*layer[:8])
        assert (r.ifmap_dram_reads, r.ifmap_dram_stop_cycle, r.filter_dram_reads) == (
            expected["ifmap_dram_reads"], expected["ifmap_dram_stop_cycle"], expected["filter_dram_reads"])


# --------------------------------------------------------------------------------------------------
# Closed forms and corrected behaviour
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [4, 8, 16, 32])
def test_issue_125_square_os_matmul(n):
    """SCALE-Sim gives 3N - 3 cycles for an N x N OS matmul on N x N (issue #125: the RTL takes 3N - 2)."""
    assert Systolic(n, n, "os", scalesim_compat=True).gemm_layer(n, n, n).total_cycles == 3 * n - 3
    assert Systolic(n, n, "os").gemm_layer(n, n, n).total_cycles == 3 * n - 2


def test_corrected_output_size_and_ofmap_writes():
    compat = Systolic(8, 8, "os", scalesim_compat=True).conv_layer(224, 224, 7, 7, 3, 64, 2)
    fixed = Systolic(8, 8, "os").conv_layer(224, 224, 7, 7, 3, 64, 2)
    assert compat.npx == 110 * 110 and fixed.npx == 109 * 109  # ceil((224-7+2)/2) vs floor(217/2)+1
    assert compat.ofmap_sram_writes == 110 * 110 * 64 + compat.folds * (8 + 8)
    assert fixed.ofmap_sram_writes == 109 * 109 * 64


@given(st.integers(1, 12), st.integers(1, 12), st.sampled_from(["os", "ws", "is"]),
       st.integers(1, 30), st.integers(1, 30), st.integers(1, 30))
def test_fold_closed_forms(rows, cols, df, m, n, k):
    r = Systolic(rows, cols, df, 200, 200, 200).gemm_layer(m, n, k)
    sr, sc, t = {"os": (m, n, k), "ws": (k, n, m), "is": (k, m, n)}[df]
    folds = -(-sr // rows) * -(-sc // cols)
    per_fold = t + rows + cols - 2 if df == "os" else 2 * rows + cols + t - 2
    assert (r.folds, r.fold_cycles, r.total_cycles) == (folds, per_fold, folds * per_fold)
    assert r.mapping_efficiency_percent == pytest.approx(100 * sr * sc / (folds * rows * cols))
    assert r.overall_util_percent == pytest.approx(100 * m * n * k / (folds * per_fold * rows * cols))


def test_user_mode_stalls_fall_with_bandwidth():
    calc = Systolic(32, 32, "ws").conv_layer(*INC5B)
    last = None
    for bw in (1, 4, 16, 64, 1e9):
        r = Systolic(32, 32, "ws", dram_bandwidth_words_per_cycle=bw).conv_layer(*INC5B)
        assert r.total_cycles == calc.total_cycles + r.stall_cycles
        assert r.ifmap_dram_reads == calc.ifmap_dram_reads  # traffic is CALC's
        if last is not None:
            assert r.stall_cycles <= last.stall_cycles
            assert r.total_cycles_incl_prefetch <= last.total_cycles_incl_prefetch
        last = r
    assert last.stall_cycles == 0
    # through an interface of 1 word/cycle every DRAM word costs a cycle, overlapped with compute
    slow = Systolic(32, 32, "ws", dram_bandwidth_words_per_cycle=1).conv_layer(*INC5B)
    traffic = slow.ifmap_dram_reads + slow.filter_dram_reads + slow.ofmap_dram_writes
    assert traffic <= slow.total_cycles_incl_prefetch <= traffic + calc.total_cycles


def test_dram_hook_overrides_the_bandwidth():
    class Slow:
        def transfer_cycles(self, read_words, write_words):
            return 2.0 * (read_words + write_words)

    s = Systolic(16, 16, "os")
    assert s.conv_layer(*INC5B, dram=Slow()) == s.conv_layer(*INC5B, dram=ConstantBandwidth(0.5))


def test_spec_is_frozen_and_hashable():
    s = Systolic(8, 4, "is")
    assert hash(s) == hash(Systolic(8, 4, "is"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.rows = 2


# --------------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,message", [
    ({"rows": 0}, "rows = 0: must be >= 1"),
    ({"cols": 2.5}, "cols = 2.5"),
    ({"dataflow": "rs"}, "dataflow = 'rs': must be one of 'os', 'ws', 'is'"),
    ({"dataflow": "OS"}, "dataflow = 'OS'"),
    ({"ifmap_sram_size_bytes": 99}, "ifmap_sram_size_bytes = 99: must hold at least 100 words"),
    ({"ofmap_sram_size_bytes": 400, "word_size_bytes": 8}, "ofmap_sram_size_bytes = 400"),
    ({"word_size_bytes": 0}, "word_size_bytes = 0"),
    ({"dram_bandwidth_words_per_cycle": 0}, "dram_bandwidth_words_per_cycle = 0"),
    ({"dram_bandwidth_words_per_cycle": float("nan")}, "dram_bandwidth_words_per_cycle = nan"),
    ({"freq_hz": -1}, "freq_hz = -1"),
    ({"scalesim_compat": 1}, "scalesim_compat = 1"),
])
def test_bad_specs(kwargs, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Systolic(**kwargs)


@pytest.mark.parametrize("args,message", [
    ((3, 3, 4, 1, 1, 1), "filter 4x1 is larger than the input 3x3"),
    ((3, 3, 1, 1, 0, 1), "channels = 0"),
    ((3, 3, 1, 1, 1, 1, -1), "stride_h = -1"),
])
def test_bad_layers(args, message):
    with pytest.raises(WorkloadError, match=message):
        Systolic().conv_layer(*args)
    with pytest.raises(WorkloadError, match="k = 0"):
        Systolic().gemm_layer(1, 1, 0)


def test_demand_trace_kernel_matches_the_literal_matrices():
    from smaug_fast.accelerators.scalesim_io import TopologyLayer, demand_traces

    layer = TopologyLayer("x", 6, 5, 3, 2, 3, 7, 2)
    for df in ("os", "ws", "is"):
        s = Systolic(3, 4, df, scalesim_compat=True)
        ifm, fil, ofm = nv.operand_matrices(6, 5, 3, 2, 3, 7, 2, 2, 1, 3, 3)  # ceil((6-3+2)/2) = 3
        (i_d, f_d, o_d), _ = nv.demand_matrices(df, 3, 4, ifm, fil, ofm)
        got = demand_traces(s, layer, offsets=(0, 0, 0))
        for mine, ref in zip(got.values(), (i_d, f_d, o_d)):
            np.testing.assert_array_equal(mine, ref)


@given(st.sampled_from(["os", "ws", "is"]), st.integers(1, 5), st.integers(1, 5), st.integers(1, 12),
       st.integers(1, 12), st.integers(1, 12), st.integers(4, 60), st.integers(1, 3), st.booleans())
def test_write_buffer_kernel_with_stalls(df, rows, cols, m, n, k, words, bw, exact):
    """A tiny OFMAP buffer drained slowly makes the array stall; the kernel follows the literal model."""
    from smaug_fast.kernels import systolic as K

    ifm, fil, ofm = nv.operand_matrices(m, k, 1, k, 1, n, 1, 1, 1, m, 1)
    (_, _, o_d), _ = nv.demand_matrices(df, rows, cols, ifm, fil, ofm)
    wb = nv.WriteBufferCalc(words, bw, exact)
    stalls, served = 0, []
    for i in range(o_d.shape[0]):
        out = wb.row(i + stalls, int((o_d[i] != -1).sum()))
        stalls += out - (i + stalls)
        served.append(out)
    wb.finish(served[-1])
    sr, sc, t = {"os": (m, n, k), "ws": (k, n, m), "is": (k, m, n)}[df]
    per_fold = t + rows + cols - 2 if df == "os" else 2 * rows + cols + t - 2
    got = K.write_buffer_sim({"os": 0, "ws": 1, "is": 2}[df], rows, cols, sr, sc, t, per_fold, words, bw,
                             int(exact))
    assert list(got[:5]) == [wb.writes, min(d[0] for d in wb.drains), max(d[1] for d in wb.drains),
                             served[-1], stalls]


@pytest.mark.slow
@given(st.sampled_from(["os", "ws", "is"]), st.integers(1, 9), st.integers(1, 9), st.integers(6, 16),
       st.integers(1, 4), st.integers(1, 8), st.integers(8, 48), st.integers(1, 2),
       st.integers(100, 1500), st.booleans())
def test_larger_layers_against_the_literal_reference(df, rows, cols, h, f, c, nf, s, words, compat):
    layer = (h, h, min(f, h), min(f, h), c, nf, s, s, 1)
    expected = nv.simulate(df, rows, cols, layer, words, words, words, compat)
    r = Systolic(rows, cols, df, words, words, words, scalesim_compat=compat).conv_layer(*layer[:8])
    for key, value in expected.items():
        assert getattr(r, key) == pytest.approx(value, rel=1e-12), key
