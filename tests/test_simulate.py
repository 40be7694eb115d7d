"""End-to-end simulation: invariants that must hold whatever the calibration (property tests)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smaug_fast import ConfigError, WorkloadError, presets, simulate, zoo
from smaug_fast.cli import main
from smaug_fast.kernels.timeline import run_timelines
from smaug_fast.sim import DETAIL_PHASES, PHASES, VARIABLES

SMALL = ("minerva", "lenet5", "cnn10", "lstm")
GRAPHS = {name: zoo.load(name) for name in SMALL}

configs = st.fixed_dictionaries(
    {
        "interface": st.sampled_from(["dma", "acp", "acp_dma_weights"]),
        "num_accelerators": st.sampled_from([1, 2, 3, 8]),
        "cpu_threads": st.sampled_from([1, 2, 8]),
    }
)


@settings(max_examples=20)
@given(name=st.sampled_from(SMALL), changes=configs)
def test_breakdowns_partition_the_latency(name, changes):
    r = simulate(GRAPHS[name], presets.load("smaug-table2", **changes))
    assert sum(r.breakdown_s.values()) == pytest.approx(r.latency_s, rel=1e-12)
    assert sum(r.detail_s.values()) == pytest.approx(r.latency_s, rel=1e-12)
    assert set(r.breakdown_s) == set(PHASES) and set(r.detail_s) == set(DETAIL_PHASES)
    assert all(v >= 0 for v in r.detail_s.values())
    assert sum(op.latency_s for op in r.ops) == pytest.approx(r.latency_s, rel=1e-9)
    for op in r.ops:
        assert sum(op.breakdown_s.values()) == pytest.approx(op.latency_s, rel=1e-9, abs=1e-15)
    assert sum(r.energy_breakdown_j.values()) == pytest.approx(r.energy_j)


@settings(max_examples=20)
@given(name=st.sampled_from(SMALL), changes=configs)
def test_latency_bounded_by_peak_compute_and_dram_by_footprint(name, changes):
    system = presets.load("smaug-table2", **changes)
    g = GRAPHS[name]
    r = simulate(g, system)
    acc = system.accelerator
    peak_macs_per_s = acc.num_pes * acc.maccs_per_pe * acc.freq_hz * system.num_accelerators
    assert r.latency_s >= g.macs / peak_macs_per_s
    # Every weight reaches the accelerator from DRAM at least once (cold caches), and every
    # accelerator input is read at least once.
    assert r.dram_read_bytes >= g.weight_bytes


def test_more_bandwidth_is_never_slower():
    for name in ("lenet5", "cnn10"):
        g = GRAPHS[name]
        base = presets.load("smaug-table2")
        slow = base.replace(dram="LPDDR4-3200-2ch-x16")
        fast = base.replace(dram="HBM2")
        r_slow, r_base, r_fast = (simulate(g, s).latency_s for s in (slow, base, fast))
        assert r_slow >= r_base >= r_fast
        more_dma = base.replace(**{"dma.max_outstanding": 64})
        assert simulate(g, more_dma).latency_s <= r_base


def test_determinism_across_fresh_memo():
    import smaug_fast.sim.engine as engine

    g = zoo.load("lenet5")
    system = presets.load("smaug-table2", num_accelerators=2, cpu_threads=2)
    a = simulate(g, system)
    engine._MEMORY_CACHE.clear()
    b = simulate(zoo.load("lenet5"), system)
    assert a.scalars() == b.scalars()
    np.testing.assert_array_equal(a.timeline.start_s, b.timeline.start_s)


def test_timeline_is_consistent():
    r = simulate(GRAPHS["cnn10"], presets.load("smaug-table2", num_accelerators=2, cpu_threads=2))
    tl = r.timeline
    assert len(tl) > 0
    assert (tl.end_s >= tl.start_s).all()
    assert tl.start_s.min() >= 0 and tl.end_s.max() <= r.latency_s * (1 + 1e-12)
    for resource in np.unique(tl.resource):
        sel = tl.resource == resource
        order = np.argsort(tl.start_s[sel], kind="stable")
        starts, ends = tl.start_s[sel][order], tl.end_s[sel][order]
        assert (starts[1:] >= ends[:-1] - 1e-15).all(), resource
    assert {"accel0", "accel1", "thread0", "thread1"} <= set(tl.resource)


def test_multiple_accelerators_and_threads_help_big_layers():
    g = zoo.load("vgg16")
    base = simulate(g, presets.load("smaug-table2"))
    many = simulate(g, presets.load("smaug-table2", num_accelerators=8, cpu_threads=8))
    assert many.breakdown_s["accel_compute"] < base.breakdown_s["accel_compute"]
    assert many.detail_s["cpu_prep"] < base.detail_s["cpu_prep"]


def test_acp_avoids_flushes():
    g = GRAPHS["lenet5"]
    dma = simulate(g, presets.load("smaug-table2", interface="dma"))
    acp = simulate(g, presets.load("smaug-table2", interface="acp"))
    assert dma.detail_s["flush"] > 0 and acp.detail_s["flush"] == 0
    assert acp.detail_s["dma_transfer"] == 0 and acp.detail_s["acp_transfer"] > 0


def test_ops_rows_and_dataset():
    r = simulate(GRAPHS["lenet5"], presets.load("smaug-table2"))
    kinds = [op.kind for op in r.ops]
    assert kinds == [op.kind for op in GRAPHS["lenet5"].topological_order()]
    conv = r.ops[0]
    assert conv.device == "accel" and "input=" in conv.tiling and conv.invocations > 0
    reorder = next(op for op in r.ops if op.kind == "reorder")
    assert reorder.device == "cpu" and reorder.tiling == ""
    ds = r.to_dataset()
    assert float(ds["latency_s"]) == r.latency_s
    assert ds["latency_s"].attrs["units"] == "s"
    assert list(ds["op"].values) == [op.name for op in r.ops]
    assert set(r.scalars()) == set(VARIABLES)


def test_bad_inputs():
    with pytest.raises(WorkloadError, match="graph = 'lenet5': must be a smaug_fast Graph"):
        simulate("lenet5")
    with pytest.raises(ConfigError, match="system = 3: must be a smaug_fast System"):
        simulate(GRAPHS["lenet5"], 3)


def test_timelines_kernel_shares_bandwidth_fairly():
    # Two resources each move 100 B with a 50 B/s cap on a 60 B/s bus: 30 B/s each until done.
    starts = np.array([0, 1, 2], dtype=np.int64)
    begin, end = run_timelines(starts, np.zeros(2), np.array([100.0, 100.0]), np.array([50.0, 50.0]), np.zeros(2), 60.0)
    assert end == pytest.approx([100 / 30, 100 / 30])
    # One alone is capped by its own limit; a min duration stretches a short transfer.
    begin, end = run_timelines(np.array([0, 2], dtype=np.int64), np.array([1.0, 0.5]), np.array([100.0, 1.0]),
                               np.array([50.0, 10.0]), np.array([0.0, 3.0]), 1000.0)
    assert begin == pytest.approx([0.0, 3.0]) and end == pytest.approx([3.0, 6.5])
    # A capped requester leaves its unused share to the other (water-filling).
    _, end = run_timelines(starts, np.zeros(2), np.array([10.0, 100.0]), np.array([10.0, 1000.0]), np.zeros(2), 100.0)
    assert end[0] == pytest.approx(1.0) and end[1] == pytest.approx(1.0 + (100 - 90) / 100)


def test_cli_run_json_and_errors(capsys):
    assert main(["run", "minerva", "--json", "--set", "num_accelerators=2"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"latency_s", "breakdown_s", "energy_j", "dram_bytes"} <= set(data)
    assert sum(data["breakdown_s"].values()) == pytest.approx(data["latency_s"])
    assert main(["run", "minerva", "--set", "l2.sise_bytes=4MiB"]) == 2
    assert "l2.sise_bytes" in capsys.readouterr().err
    assert main(["run", "minerva", "--set", "interface"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err
    assert main(["run", "minerva", "--ops"]) == 0
    assert "mat_mul" in capsys.readouterr().out
