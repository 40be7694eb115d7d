"""Sweeps over the L2's size and associativity run the memory passes of the points that differ only there in
one walk (``memory_pass.run_memory_passes``: a MultiL2); every point equals ``simulate`` of it alone."""

from __future__ import annotations

import numpy as np
import pytest

import smaug_fast.sim.memory_pass as mp
from smaug_fast import presets, simulate, sweep, zoo
from smaug_fast.sim import VARIABLES, clear_caches
from smaug_fast.sweeps import points

BASE = presets.load("smaug-table2")
KiB = 1024


def _walks(monkeypatch) -> list[int]:
    """Record how many memory systems each MultiL2 pass serves."""
    served: list[int] = []
    original = mp._Record.__init__

    def spy(self, memsys, **kwargs):
        served.append(len(memsys))
        original(self, memsys, **kwargs)

    monkeypatch.setattr(mp._Record, "__init__", spy)
    return served


def _check_every_point(ds, networks, axes, zip_axes=()):
    pts, _, _ = points(networks, axes, zip_axes)
    for net, changes in pts:
        clear_caches()
        alone = simulate(zoo.load(net), BASE.replace(**changes), timeline=False).scalars()
        row = ds.sel(network=net, **{k: v for k, v in changes.items() if k in ds.dims})
        for name in VARIABLES:
            assert float(row[name].values) == alone[name], (net, changes, name)


@pytest.mark.parametrize("network", ["lenet5", "cnn10"])
def test_l2_sweep_equals_every_point_alone(network, monkeypatch):
    """Two L2 sizes x three associativities x two DRAMs x DMA or ACP (whose transfers go through the L2),
    serially: the walks serve the six L2s of each interface, and every point equals simulate alone."""
    served = _walks(monkeypatch)
    axes = {"l2.size_bytes": [128 * KiB, 512 * KiB], "l2.ways": [4, 8, 16], "dram": ["DDR4-3200", "HBM2"],
            "interface": ["dma", "acp"]}
    clear_caches()
    ds = sweep(network, BASE, axes, executor="serial", progress=False)
    assert sum(served) == 12 and min(served) >= 2  # every pass in a walk (per interface, per warm tail)
    _check_every_point(ds, [network], axes)


def test_policies_other_than_lru_fall_back_to_passes_alone(monkeypatch):
    """FIFO L2s cannot share a walk: each point gets its own pass, with the same results."""
    served = _walks(monkeypatch)
    axes = {"l2.size_bytes": [128 * KiB, 256 * KiB], "l2.ways": [4, 8], "l2.policy": ["lru", "fifo"]}
    clear_caches()
    ds = sweep("lenet5", BASE, axes, executor="serial", progress=False)
    assert served == [4]  # the four LRU L2s in one walk, the FIFO ones alone
    _check_every_point(ds, ["lenet5"], axes)


def test_process_pool_walks_equal_serial():
    axes = {"l2.size_bytes": [128 * KiB, 256 * KiB], "l2.ways": [4, 16], "l1d.line_bytes": [32, 64],
            "l2.line_bytes": [32, 64]}
    zipped = [["l1d.line_bytes", "l2.line_bytes"]]
    a = sweep("lenet5", BASE, axes, zip_axes=zipped, executor="processes", workers=2, progress=False)
    clear_caches()
    b = sweep("lenet5", BASE, axes, zip_axes=zipped, executor="serial", progress=False)
    for name in VARIABLES:
        assert np.array_equal(a[name].values, b[name].values), name


def test_a_network_too_large_for_the_event_record_runs_its_passes_alone(monkeypatch):
    """Above ``MAX_EVENT_BYTES`` (here: any network) no MultiL2 pass runs, and the records are the same."""
    from smaug_fast.sim.engine import memory_key, network_plan

    graph = zoo.load("lenet5")
    systems = [BASE.replace(**{"l2.ways": w}) for w in (4, 8)]
    plan = network_plan(memory_key(graph, systems[0]).plan)
    memsys = [mp.MemorySystem.of(s) for s in systems]
    shared = mp.run_memory_passes(plan, memsys)
    served = _walks(monkeypatch)
    monkeypatch.setattr(mp, "MAX_EVENT_BYTES", 1)
    alone = mp.run_memory_passes(plan, memsys)
    assert served == []
    for a, b in zip(shared, alone, strict=True):
        assert a.cache_stats == b.cache_stats
        for x, y in zip(a.ops, b.ops, strict=True):
            assert np.array_equal(x.prep.dram_bytes, y.prep.dram_bytes)
            assert np.array_equal(x.finalize.l2_hits, y.finalize.l2_hits)


def test_a_network_of_repeated_layers_runs_its_passes_alone(monkeypatch):
    """A transformer (repeated layers: at least half its ops) runs each memory pass alone, skipping
    repeated layers, not a MultiL2 walk, and its records equal ``run_memory_pass``'s of each system."""
    from smaug_fast.sim.engine import memory_key, network_plan

    cfg = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 4, "num_attention_heads": 4,
           "num_key_value_heads": 2, "intermediate_size": 96, "vocab_size": 100, "max_position_embeddings": 64}
    graph = zoo.transformer(cfg, "decode", kv_len=16)
    systems = [BASE.replace(**{"l2.ways": w}) for w in (4, 8, 16)]
    plan = network_plan(memory_key(graph, systems[0]).plan)
    assert sum(p * c for _, p, c in mp.repeated_blocks(plan)) * 2 >= len(plan.ops)
    memsys = [mp.MemorySystem.of(s) for s in systems]
    served = _walks(monkeypatch)
    records = mp.run_memory_passes(plan, memsys)
    assert served == []
    for record, ms in zip(records, memsys, strict=True):
        alone = mp.run_memory_pass(plan, ms)
        assert record.cache_stats == alone.cache_stats
        for x, y in zip(record.ops, alone.ops, strict=True):
            assert np.array_equal(x.cpu_copy.dram_bytes, y.cpu_copy.dram_bytes)
            assert np.array_equal(x.prep.l2_hits, y.prep.l2_hits)
