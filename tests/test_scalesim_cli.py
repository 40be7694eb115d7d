"""``smaug-fast scalesim``: SCALE-Sim's config and topology formats, its reports, traces, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from smaug_fast import ConfigError
from smaug_fast.accelerators.scalesim_io import read_config, read_topology
from smaug_fast.cli import main

CFG = """[general]
run_name = t

[architecture_presets]
ArrayHeight:    32
ArrayWidth:     32
IfmapSramSzkB:   64
FilterSramSzkB:  64
OfmapSramSzkB:   64
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : {df}
MemoryBanks:   1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
FilterCustomLayout: False

[sparsity]
SparsitySupport : false

[run_presets]
InterfaceBandwidth: {mode}
UseRamulatorTrace: False
"""
TOPO = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
        "Inc5b_3x3, 7, 7, 3, 3, 192, 384, 1,\n")
# What SCALE-Sim 3.0.0 wrote for test.csv with scale.cfg and Dataflow os (command in test_systolic.py).
SCALESIM_OS_LINES = {
    "COMPUTE_REPORT.csv": "0, 25053, 21479, 0, 75.42250570324504, 78.125, 75.41899441340782,",
    "BANDWIDTH_REPORT.csv": "0, 24.13520182503841, 30.893058336049165, 0.4827040365007682, "
                            "9.570701932858595, 27.146913226690668, 32.0,",
    "DETAILED_ACCESS_REPORT.csv": "0, 1.0, 21442.0, 518400, 1.0, 21449.0, 663552, 1734.0, 21479.0, 10368, "
                                  "-983.0, -1.0, 9408, -3275.0, 21167.0, 663552, 21479.0, 21778.0, 9600,",
}


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_reports_are_scalesims_to_the_byte(tmp_path, capsys):
    cfg = _write(tmp_path, "c.cfg", CFG.format(df="os", mode="CALC"))
    topo = _write(tmp_path, "t.csv", TOPO)
    assert main(["scalesim", "-c", str(cfg), "-t", str(topo), "-o", str(tmp_path / "out")]) == 0
    for name, line in SCALESIM_OS_LINES.items():
        header, row = (tmp_path / "out" / name).read_text().splitlines()
        assert row == line
        assert header.startswith("LayerID, ")


def test_corrected_flag_and_run_name_dir(tmp_path):
    cfg = _write(tmp_path, "c.cfg", CFG.format(df="os", mode="CALC"))
    topo = _write(tmp_path, "t.csv", TOPO)
    main(["scalesim", "-c", str(cfg), "-t", str(topo), "-o", str(tmp_path), "--run-name-dir", "--corrected"])
    row = (tmp_path / "t" / "COMPUTE_REPORT.csv").read_text().splitlines()[1].split(", ")
    # corrected: output 5x5 from floor((7-3)/1)+1 (same here), one more cycle than SCALE-Sim (#125)
    assert int(row[2]) == 21479 + 1


def test_gemm_topology_and_traces(tmp_path):
    cfg = _write(tmp_path, "c.cfg", CFG.format(df="ws", mode="CALC"))
    topo = _write(tmp_path, "g.csv", "Layer, M, N, K,\nG1, 5, 3, 4,\n\nG2, 2, 2, 2\n")
    out = tmp_path / "out"
    assert main(["scalesim", "-c", str(cfg), "-t", str(topo), "--gemm", "-o", str(out), "--traces"]) == 0
    assert len((out / "COMPUTE_REPORT.csv").read_text().splitlines()) == 3
    z = np.load(out / "layer0_demand_traces.npz")
    # G1 on 32x32 WS: every filter word read once, every partial sum written once per row fold
    assert len(z["FILTER_addr"]) == 4 * 3 and len(z["OFMAP_addr"]) == 5 * 3
    assert z["FILTER_addr"].min() == 10_000_000 and z["OFMAP_addr"].min() == 20_000_000
    main(["scalesim", "-c", str(cfg), "-t", str(topo), "--gemm", "-o", str(out), "--traces",
          "--trace-format", "csv"])
    rows = np.loadtxt(out / "layer1" / "IFMAP_SRAM_TRACE.csv", delimiter=",", dtype=np.int64, ndmin=2)
    assert rows.shape[1] == 1 + 32 and rows[0, 0] == 1  # cycle column, one column per array row
    assert sorted(rows[:, 1:][rows[:, 1:] >= 0]) == [0, 1, 2, 3]  # the 2x2 A, read once each


def test_user_mode_reads_the_bandwidth(tmp_path):
    cfg = read_config(_write(tmp_path, "c.cfg", CFG.format(df="is", mode="USER")))
    assert cfg.systolic.dram_bandwidth_words_per_cycle == 10
    assert cfg.systolic.dataflow == "is" and cfg.systolic.ifmap_sram_size_bytes == 64 * 1024


def test_shipped_configs_and_topologies_parse(reference_dir):
    for cfg in sorted((reference_dir / "scalesim" / "configs").glob("*.cfg")):
        read_config(cfg)
    gemm = {"test_mnk_input", "gnmt", "NCF", "vit_s", "gpt2"}
    for topo in sorted((reference_dir / "scalesim" / "topologies").glob("*.csv")):
        layers = read_topology(topo, gemm=topo.stem in gemm)
        assert layers and all(layer.gemm == (topo.stem in gemm) for layer in layers)
    r18 = read_topology(reference_dir / "scalesim" / "topologies" / "Resnet18.csv")
    assert [layer.name for layer in r18][:2] == ["Conv1", "Conv2_1a"] and len(r18) == 21


def test_depthwise_rows_split_per_channel(tmp_path):
    layers = read_topology(_write(tmp_path, "d.csv", TOPO.splitlines()[0] + "\nDP1, 5, 5, 3, 3, 4, 1, 1,\n"))
    assert [layer.name for layer in layers] == [f"DP1Channel_{i}" for i in range(4)]
    assert {layer.channels for layer in layers} == {1}


@pytest.mark.parametrize("edit,message", [
    (("Dataflow : os", "Dataflow : rs"), r"c.cfg:\d+: \[architecture_presets\] Dataflow = 'rs': must be os, ws or is"),
    (("ArrayHeight:    32", "ArrayHeight:    0"), r"c.cfg:\d+: \[architecture_presets\] arrayheight = '0'"),
    (("ArrayWidth:     32", "ArrayWidth:     x"), r"arraywidth = 'x': must be an integer >= 1"),
    (("ArrayWidth:     32", "ArrayWidht:     32"), r"c.cfg:6: unknown key 'ArrayWidht' in \[architecture_presets\]"),
    (("[layout]", "[layuot]"), r"c.cfg:\d+: unknown section \[layuot\]"),
    (("IfmapSramSzkB:   64\n", ""), r"c.cfg: missing key 'ifmapsramszkb' in \[architecture_presets\]"),
    (("InterfaceBandwidth: CALC", "InterfaceBandwidth: FAST"), r"InterfaceBandwidth = 'FAST': must be CALC or USER"),
    (("SparsitySupport : false", "SparsitySupport : true"), r"sparsity are not supported"),
    (("Dataflow : os", "Dataflow os"), r"c.cfg:14: cannot parse 'Dataflow os'"),
])
def test_bad_configs(tmp_path, edit, message):
    text = CFG.format(df="os", mode="CALC").replace(*edit)
    with pytest.raises(ConfigError, match=message):
        read_config(_write(tmp_path, "c.cfg", text))


def test_bad_user_bandwidth(tmp_path):
    text = CFG.format(df="os", mode="USER").replace("Bandwidth : 10", "Bandwidth : -3")
    with pytest.raises(ConfigError, match=r"c.cfg:13: \[architecture_presets\] Bandwidth = '-3'"):
        read_config(_write(tmp_path, "c.cfg", text))


@pytest.mark.parametrize("row,gemm,message", [
    ("L1, 7, 7, 3, 3, 192, 384,", False, r"t.csv:2: expected 8 columns"),
    ("L1, 7, 7, 3, x, 192, 384, 1,", False, r"t.csv:2: layer 'L1', column 'Filter Width' = 'x'"),
    ("L1, 7, 7, 9, 3, 192, 384, 1,", False, r"t.csv:2: layer 'L1': filter 9x3 is larger than the input 7x7"),
    ("L1, 7, 7, 3, 3, 192, 384, 1, 2:4,", False, r"sparsity ratio '2:4': only 1:1"),
    ("G, 4, 0, 2,", True, r"t.csv:2: layer 'G', column 'N' = '0'"),
])
def test_bad_topologies(tmp_path, row, gemm, message):
    with pytest.raises(ConfigError, match=message):
        read_topology(_write(tmp_path, "t.csv", "header\n" + row + "\n"), gemm=gemm)


def test_cli_prints_errors_without_traceback(tmp_path, capsys):
    cfg = _write(tmp_path, "c.cfg", CFG.format(df="xs", mode="CALC"))
    assert main(["scalesim", "-c", str(cfg), "-t", str(tmp_path / "missing.csv"), "-o", str(tmp_path)]) == 2
    assert "Dataflow = 'xs'" in capsys.readouterr().err
    cfg.write_text(CFG.format(df="os", mode="CALC"))
    assert main(["scalesim", "-c", str(cfg), "-t", str(tmp_path / "missing.csv"), "-o", str(tmp_path)]) == 2
    assert "missing.csv: cannot read the topology file" in capsys.readouterr().err


# Found by fuzzing (issue 17): each was accepted, crashed or hung before.
@pytest.mark.parametrize(
    "topology,message",
    [
        ("h\nc1, 1_0, 8, 3, 3, 2, 4, 1,\n", r"'IFMAP Height' = '1_0': must be an integer from 1 to 1048576"),
        ("h\nc1, \u0661\u0662, 8, 3, 3, 2, 4, 1,\n", r"'IFMAP Height' = '\u0661\u0662'"),
        ("h\nc1, 9223372036854775808, 8, 3, 3, 2, 4, 1,\n", r"must be an integer from 1 to 1048576"),
        ("h\nc1, 1000000000000000000, 8, 3, 3, 2, 4, 1,\n", r"must be an integer from 1 to 1048576"),
        ("h\nc1, 8, 8, 3, 3, 2, 4, 9,\n", r"stride 9 is larger than the input 8x8"),
        ("h\nDP1, 8, 8, 3, 3, 10000000, 1, 1,\n", r"'Channels' = '10000000'"),
        ("h\nDP1, 8, 8, 3, 3, 100000, 1, 1,\n", r"a depthwise layer of 100000 channels runs as 100000 layers"),
        ("h\nc\x001, 8, 8, 3, 3, 2, 4, 1,\n", r"NUL byte"),
    ],
)
def test_hostile_topologies_are_named_errors(tmp_path, topology, message):
    path = tmp_path / "t.csv"
    path.write_text(topology)
    with pytest.raises(ConfigError, match=message):
        read_topology(path)


@pytest.mark.parametrize(
    "edit,message",
    [
        (("run_name = t", "run_name = ../.."), r"run_name = '../..': must be a plain folder name"),
        (("run_name = t", "run_name = a/b"), r"run_name = 'a/b': must be a plain folder name"),
        (("ArrayHeight:    32", "ArrayHeight:    32\nArrayHeight: 8"), r"key 'ArrayHeight' repeats"),
        (("ArrayHeight:    32", "ArrayHeight:    1000000"), r"rows = 1000000: must be <= 4096"),
        (("IfmapSramSzkB:   64", "IfmapSramSzkB:   1000000000000"), r"ifmap_sram_size_bytes = 1024000000000000"),
    ],
)
def test_hostile_configs_are_named_errors(tmp_path, edit, message):
    path = tmp_path / "c.cfg"
    path.write_text(CFG.format(df="os", mode="CALC").replace(*edit))
    with pytest.raises(ConfigError, match=message):
        read_config(path)
    path.write_bytes(b"\xff" + path.read_bytes())
    with pytest.raises(ConfigError, match=r"is not UTF-8 text"):
        read_config(path)


def test_scalesim_loads_only_the_systolic_kernels(tmp_path):
    """Issue 16: `smaug-fast scalesim` starts fast because it imports the systolic model and its kernels
    only: not SMV, tiling, the workload API, the memory models, the simulator, xarray or pandas."""
    import subprocess
    import sys

    cfg = _write(tmp_path, "c.cfg", CFG.format(df="ws", mode="CALC"))
    topo = _write(tmp_path, "t.csv", TOPO)
    heavy = ("smaug_fast.accelerators.base", "smaug_fast.accelerators.smv", "smaug_fast.accelerators.systolic_array",
             "smaug_fast.tiling", "smaug_fast.workload", "smaug_fast.memory", "smaug_fast.sim",
             "smaug_fast.kernels.cache", "smaug_fast.kernels.dram", "xarray", "pandas")
    code = ("import sys, contextlib, io\n"
            "from smaug_fast.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            f"    assert main(['scalesim', '-c', {str(cfg)!r}, '-t', {str(topo)!r}, '-o', {str(tmp_path / 'out')!r}]) == 0\n"
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
            "print('smaug_fast.kernels.systolic' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["[]", "True"], out.stdout
