"""End-to-end simulation: invariants that must hold whatever the calibration (property tests)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smaug_fast import ConfigError, Graph, WorkloadError, nn, presets, simulate, zoo
from smaug_fast.cli import main
from smaug_fast.kernels.timeline import run_timelines
from smaug_fast.sim import DETAIL_PHASES, ENERGY_COMPONENTS, ENERGY_DETAIL, PHASES, VARIABLES

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
    # Every weight reaches the accelerator from DRAM at least once, except what the LLC still holds
    # from the weights' pre-tiling before the run (at most its capacity); DMA always reads DRAM.
    held = 0 if system.interface == "dma" else system.l2.size_bytes
    assert r.dram_read_bytes >= g.weight_bytes - held


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
    from smaug_fast.sim import clear_caches

    g = zoo.load("lenet5")
    system = presets.load("smaug-table2", num_accelerators=2, cpu_threads=2)
    a = simulate(g, system)
    clear_caches()
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


def test_network_kernel_phases_follow_result_phases():
    from smaug_fast.kernels.network import PHASE_NAMES
    from smaug_fast.sim.result import DETAIL_PHASES

    assert PHASE_NAMES == tuple(DETAIL_PHASES)


@pytest.mark.parametrize("interface", ["dma", "acp", "acp_dma_weights"])
def test_one_accelerator_one_thread_timeline_is_the_breakdown(interface):
    """With one accelerator and one thread every interval lies on the critical path, so the
    timeline's time per phase (recorded per interval) equals the breakdown (accumulated per op)."""
    r = simulate(GRAPHS["cnn10"], presets.load("smaug-table2", interface=interface))
    tl = r.timeline
    for phase, total in r.detail_s.items():
        assert tl.end_s[tl.phase == phase].sum() - tl.start_s[tl.phase == phase].sum() == pytest.approx(
            total, rel=1e-9, abs=1e-15), phase
    for o, row in enumerate(r.ops):
        sel = tl.op == o
        assert (tl.end_s[sel] - tl.start_s[sel]).sum() == pytest.approx(row.latency_s, rel=1e-9)


def test_timeline_off_changes_nothing_else():
    g, s = GRAPHS["cnn10"], presets.load("smaug-table2", num_accelerators=3, cpu_threads=2)
    a, b = simulate(g, s), simulate(g, s, timeline=False)
    assert len(b.timeline) == 0 and len(a.timeline) > 0
    assert a.scalars() == b.scalars()
    assert a.ops == b.ops


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


@settings(max_examples=10)
@given(name=st.sampled_from(SMALL), changes=configs)
def test_energy_detail_refines_the_components(name, changes):
    r = simulate(GRAPHS[name], presets.load("smaug-table2", **changes))
    assert set(r.energy_detail_j) == set(ENERGY_DETAIL) and set(r.energy_breakdown_j) == set(ENERGY_COMPONENTS)
    for c in ENERGY_COMPONENTS:
        parts = sum(v for k, v in r.energy_detail_j.items() if ENERGY_DETAIL[k] == c)
        assert parts == pytest.approx(r.energy_breakdown_j[c], rel=1e-12, abs=1e-18)
    assert all(v >= 0 for v in r.energy_detail_j.values())
    # leakage and background power are charged over the run
    en = presets.load("smaug-table2").energy
    assert r.energy_detail_j["llc_leakage"] == pytest.approx(en.l2_leakage_w * r.latency_s)


def test_dma_flush_costs_its_lines():
    """gem5-Aladdin delays every DMA request by its lines x flush latency, one request after the
    other: the flush time on the critical path is at least the loaded lines x the latency spread over
    nothing else, and a costlier flush is never faster."""
    g = GRAPHS["minerva"]
    base = presets.load("smaug-table2")
    r = simulate(g, base)
    free = simulate(g, base.replace(**{"dma.ignore_cache_flush": True}))
    slow = simulate(g, base.replace(**{"dma.flush_ns_per_line": 24.0, "dma.invalidate_ns_per_line": 24.0}))
    assert free.detail_s["flush"] == 0 and free.latency_s < r.latency_s < slow.latency_s
    loaded_lines = sum(np.ceil(t.nbytes / base.l2.line_bytes) for t in g.tensors.values() if t.constant)
    # every weight line is loaded once (Minerva's FC weights are used once), each costs 12 ns
    assert r.detail_s["flush"] >= 0.9 * loaded_lines * 12e-9
    # without pipelining every transfer waits for every flush: never faster
    assert simulate(g, base.replace(**{"dma.pipelined": False})).latency_s >= r.latency_s


def _store_by_pages(nbytes, ns, page, line, dma_cap, room):
    """A pipelined DMA store, request by request (the slow reference of ``_dma_pipeline``): each
    request of at most ``page`` bytes waits for the invalidation of its own lines after the previous
    request's, then moves what the write queues' ``room`` [B] does not take at once at ``dma_cap``
    [B/s] (the queues drained during the invalidations); the store ends with its last byte [s]."""
    t_inval = 0.0
    end = 0.0
    left = nbytes
    while left > 0:
        b = min(page, left)
        t_inval += np.ceil(b / line) * ns * 1e-9
        end = max(end, t_inval + max(b - room, 0.0) / dma_cap)
        left -= b
    return end


@settings(max_examples=60, deadline=None)
@given(nbytes=st.integers(1, 40_000), room=st.sampled_from([0.0, 64.0, 2048.0, 4096.0, 1e9]),
       ns=st.sampled_from([6.0, 12.0, 24.0]), line=st.sampled_from([32, 64]))
def test_posted_dma_store_matches_request_by_request_reference(nbytes, room, ns, line):
    """A DMA store's writes are posted into the DRAM controllers' write queues: the store's time is
    its invalidations, one request after the other, each request's bytes that find no room in the
    queues moving at the DMA's rate once its own invalidation is done. At this rate a whole
    request's transfer (4 KiB at 10 GB/s, 0.41 us) hides under the next whole request's
    invalidation (at least 0.77 us), but not under a short last request's."""
    from smaug_fast.kernels.network import _dma_pipeline

    page, cap = 4096, 10e9
    first, rest, flush = _dma_pipeline(float(nbytes), 0.0, ns, True, float(page), float(line), cap, min(room, nbytes))
    assert first + rest == pytest.approx(_store_by_pages(nbytes, ns, page, line, cap, room), rel=1e-9, abs=1e-15)
    assert flush == pytest.approx(np.ceil(nbytes / line) * ns * 1e-9)


def test_dma_stores_post_into_the_write_queues():
    """The writes a controller keeps while the DRAM idles (``write_drain_min``) take room from the
    next DMA store: more of them is never faster, and strictly slower where stores outgrow the room
    (gem5's one-channel LPDDR4 with a 64-entry queue); every byte still reaches the DRAM."""
    g = GRAPHS["cnn10"]
    runs = [simulate(g, presets.load("smaug-table2", dram=presets.LPDDR4_3200_GEM5_2X16,
                                     **{"dram.write_drain_min": m})) for m in (8, 32, 63)]
    assert runs[0].latency_s < runs[1].latency_s < runs[2].latency_s
    assert len({(r.dram_write_bytes, r.dram_read_bytes) for r in runs}) == 1


def test_prefilled_weights_stay_in_the_llc_for_acp():
    """SMAUG tiles the weights just before the timed run: the last ones written are still in the LLC,
    so ACP finds Minerva's weights there; DMA reads DRAM whatever the caches hold."""
    g = GRAPHS["minerva"]
    acp = simulate(g, presets.load("smaug-table2", interface="acp"))
    dma = simulate(g, presets.load("smaug-table2"))
    assert acp.dram_read_bytes < 0.1 * g.weight_bytes
    assert dma.dram_read_bytes >= g.weight_bytes


def test_acp_outputs_land_in_the_llc():
    """With ACP the accelerator writes output tiles into the LLC, where the untiling copies find them;
    with DMA (invalidating the CPU's copies) the untiling reads DRAM: ACP's untiling is faster."""
    g = GRAPHS["cnn10"]
    dma = simulate(g, presets.load("smaug-table2"))
    acp = simulate(g, presets.load("smaug-table2", interface="acp"))
    assert acp.detail_s["cpu_finalize"] < dma.detail_s["cpu_finalize"]


@pytest.mark.parametrize("interface", ["dma", "acp"])
@pytest.mark.parametrize("name", ["lenet5", "cnn10"])
def test_dram_reads_and_writes_match_the_cache_counters(name, interface):
    """DRAM traffic splits into the LLC's fills (reads) and its write-backs (writes), plus what DMA
    moves past the caches: the cache model's own counters over the run bound both from below, and
    with ACP (no DMA) they account for all of it (loads of resident tiles are scaled to the bytes
    the invocation loads, hence the slack above)."""
    system = presets.load("smaug-table2", interface=interface, **{"l2.size_bytes": "64KiB"})
    r = simulate(GRAPHS[name], system)
    line = system.l2.line_bytes
    l1, l2 = r.cache_stats["l1d"], r.cache_stats["l2"]
    for c in (l1, l2):
        assert c["load_hits"] + c["load_misses"] >= c["loads"] > 0
    fetched, written = l2["fetches"] * line, l2["writebacks"] * line
    assert written > 0  # a 64 KiB LLC evicts dirty tiles
    assert r.dram_read_bytes >= fetched and r.dram_write_bytes >= written
    if interface == "acp":
        assert r.dram_read_bytes <= 1.1 * fetched and r.dram_write_bytes <= 1.1 * written
    # the per-op rows add up to the totals
    assert sum(o.dram_read_bytes for o in r.ops) == pytest.approx(r.dram_read_bytes, abs=len(r.ops))
    assert sum(o.dram_write_bytes for o in r.ops) == pytest.approx(r.dram_write_bytes, abs=len(r.ops))


def test_gem5_dram_bursts_halve_line_bandwidth():
    """On gem5's LPDDR4_3200_2x16 (64-byte bursts) a 32-byte line occupies a whole burst: with 8
    accelerators reading through the ACP the transfers take longer than on Table 2's x16 channels."""
    g = GRAPHS["cnn10"]
    many = {"interface": "acp", "num_accelerators": 8, "cpu_threads": 8}
    table2 = simulate(g, presets.load("smaug-table2", **many))
    gem5 = simulate(g, presets.load("smaug-table2", dram=presets.LPDDR4_3200_GEM5_2X16, **many))
    assert gem5.breakdown_s["data_transfer"] > 1.2 * table2.breakdown_s["data_transfer"]


def _relu_after_conv(hw: int):
    """A conv (NHWC tiles, gathered by TiledTensor::untile) feeding a standalone relu (flat chunks,
    gathered by flattenTiledTensor); ``hw`` sets the activation size."""
    with Graph("g", layout="NHWC") as g:
        x = g.input((1, hw, hw, 32), name="x")
        w = g.constant((32, 3, 3, 32), name="w")
        y = nn.convolution(x, w, stride=1, padding="same", name="conv")
        nn.relu(y, name="relu")
    return g


def test_flat_outputs_are_untiled_by_one_thread():
    """SMAUG splits the untiling of a conv's output tiles over the thread pool but gathers an
    element-wise op's chunks in one loop (flattenTiledTensor): with 8 threads the relu's
    finalization takes as long as with one, its tiling copies and the conv's untiling do not."""
    g = _relu_after_conv(64)  # 64*64*32 fp16 = 8 chunks of one 32 KiB scratchpad
    one, eight = (simulate(g, presets.load("smaug-table2", cpu_threads=n)) for n in (1, 8))
    row1, row8 = ({o.name: o for o in r.ops} for r in (one, eight))
    assert row1["relu"].invocations == 8
    assert row8["relu"].detail_s["cpu_finalize"] == pytest.approx(row1["relu"].detail_s["cpu_finalize"], rel=1e-9)
    assert row8["relu"].detail_s["cpu_prep"] < 0.5 * row1["relu"].detail_s["cpu_prep"]
    assert row8["conv"].detail_s["cpu_finalize"] < 0.5 * row1["conv"].detail_s["cpu_finalize"]


def test_one_chunk_elementwise_ops_still_copy():
    """A conv whose tensors fit in one tile uses them in place (SMAUG's tile is the tensor), but an
    element-wise op's one chunk is a new tensor that the CPU fills and gathers."""
    g = _relu_after_conv(8)  # 8*8*32 fp16 = 4 KiB: one tile, one chunk
    r = simulate(g, presets.load("smaug-table2"))
    rows = {o.name: o for o in r.ops}
    assert rows["relu"].invocations == 1
    assert rows["relu"].detail_s["cpu_prep"] > 0 and rows["relu"].detail_s["cpu_finalize"] > 0
    assert rows["conv"].detail_s["cpu_prep"] == 0 and rows["conv"].detail_s["cpu_finalize"] == 0


def test_op_rows_are_made_when_first_read_and_act_as_their_tuple():
    """``Result.ops`` builds its rows on first read (totals alone never pay for them), then is the tuple
    of its rows: indexing, length, iteration, equality, pickling (as the tuple), the Result with it."""
    import pickle

    r = simulate(zoo.load("lenet5"))
    assert r.ops._rows is None
    rows = tuple(r.ops)
    assert r.ops._rows == rows and len(r.ops) == len(rows) > 3
    assert r.ops == rows and r.ops[1] is rows[1] and r.ops[-2:] == rows[-2:]
    assert sum(o.latency_s for o in r.ops) == pytest.approx(r.latency_s, rel=1e-9)
    assert pickle.loads(pickle.dumps(r.ops)) == rows
    again = pickle.loads(pickle.dumps(r))
    assert again.ops == rows and again.latency_s == r.latency_s
    assert r.ops != rows[:-1]
