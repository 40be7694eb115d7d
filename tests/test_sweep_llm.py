"""Sweeps with transformer axes (issue 19): seq_len, kv_len, batch and new_tokens next to System paths."""

from __future__ import annotations

import pytest

from smaug_fast import ConfigError, Graph, presets, simulate, simulate_generation, sweep, zoo

SYSTEM = presets.load("soc-2026-lpddr5")


def test_prefill_and_batch_axes_equal_simulate():
    ds = sweep("gpt2", SYSTEM, {"seq_len": [4, 8], "batch": [1, 2], "dram": ["LPDDR5-6400", "HBM3"]},
               executor="serial", progress=False)
    assert dict(ds.sizes) == {"network": 1, "seq_len": 2, "batch": 2, "dram": 2}
    for s in (4, 8):
        for b in (1, 2):
            for d in ("LPDDR5-6400", "HBM3"):
                want = simulate(zoo.transformer("gpt2", seq_len=s, batch=b), SYSTEM.replace(dram=d))
                got = ds["latency_s"].sel(network="gpt2", seq_len=s, batch=b, dram=d)
                assert float(got) == want.latency_s


def test_kv_len_axis_is_a_decode_step():
    ds = sweep("gpt2", SYSTEM, {"kv_len": [16, 32]}, executor="serial", progress=False)
    for k in (16, 32):
        want = simulate(zoo.transformer("gpt2", "decode", kv_len=k), SYSTEM).latency_s
        assert float(ds["latency_s"].sel(network="gpt2", kv_len=k)) == want


def test_new_tokens_axis_is_a_generation():
    ds = sweep("gpt2", SYSTEM, {"seq_len": [8], "new_tokens": [3, 6]}, executor="serial", progress=False)
    for n in (3, 6):
        g = simulate_generation("gpt2", SYSTEM, prompt_len=8, new_tokens=n)
        point = ds.sel(network="gpt2", seq_len=8, new_tokens=n)
        assert float(point["latency_s"]) == g.latency_s and float(point["tpot_s"]) == g.tpot_s
        assert float(point["ttft_s"]) == g.ttft_s and float(point["energy_per_token_j"]) == g.energy_per_token_j
    assert ds["tpot_s"].attrs["units"] == "s"


def test_batch_axis_on_a_zoo_network():
    ds = sweep("lenet5", presets.load("smaug-table2"), {"batch": [1, 2]}, executor="serial", progress=False)
    assert float(ds["latency_s"].sel(network="lenet5", batch=2)) == simulate(zoo.load("lenet5", batch=2), presets.load("smaug-table2")).latency_s


@pytest.mark.parametrize(
    ("networks", "axes", "kwargs", "message"),
    [
        ("lenet5", {"seq_len": [8]}, {}, r"axes\['seq_len'\]: zoo network 'lenet5' takes no seq_len"),
        ("gpt2", {"seq_len": [0]}, {}, r"axes\['seq_len'\] value 0: must be an integer >= 1"),
        ("gpt2", {"batch": [1.5]}, {}, r"axes\['batch'\] value 1.5: must be an integer >= 1"),
        ("gpt2", {"kv_len": [2], "new_tokens": [3]}, {}, r"'kv_len' .* and 'new_tokens' .* exclude each other"),
        ("gpt2", {"seq_len": [4, 8]}, {"per_op": True}, r"axes\['seq_len'\]: per_op=True needs one graph"),
    ],
)
def test_bad_workload_axes(networks, axes, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        sweep(networks, SYSTEM, axes, executor="serial", progress=False, **kwargs)


def test_batch_axis_on_a_graph_is_an_error():
    with Graph("mine") as g:
        g.input((1, 8), name="x")
    with pytest.raises(ConfigError, match=r"axes\['batch'\]: Graph 'mine' takes no batch"):
        sweep(g, SYSTEM, {"batch": [1, 2]}, executor="serial", progress=False)
