"""The hardware description: documented fields, validation, dicts, dotted replace, presets."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smaug_fast import presets
from smaug_fast.accelerators import SMV
from smaug_fast.errors import ConfigError
from smaug_fast.hardware import ACP, CPU, DMA, Energy, System
from smaug_fast.memory import PRESETS as DRAM_PRESETS
from smaug_fast.accelerators import Systolic, SystolicArray
from smaug_fast.memory import CacheConfig, DRAMConfig
from smaug_fast.spec import field_doc

#: Every hardware dataclass: one style (spec.param: default, description, constraints next to the field).
OUR_SPECS = (CPU, DMA, ACP, Energy, System, SMV, CacheConfig, DRAMConfig, Systolic, SystolicArray)


@pytest.mark.parametrize("cls", OUR_SPECS)
def test_every_field_has_a_default_a_description_and_a_unit_where_needed(cls):
    for f in dataclasses.fields(cls):
        assert f.default is not dataclasses.MISSING, f.name
        doc = f.metadata.get("doc", "")
        assert doc and "\n" not in doc, f.name
    # Quantities with physical units name them (size_bytes, freq_hz, energy_j, latency_cycles, ...).
    for f in dataclasses.fields(cls):
        if f.type in ("float", float):  # a quantity, or a rate per cycle / line / element
            assert re.search(r"_(hz|j|w|s|ns|v|ma|bytes_per_s|pct|per_cycle|per_line|per_elem)$", f.name), f.name


def test_describe_covers_every_leaf_with_text():
    rows = System().describe()
    paths = [p for p, _, _ in rows]
    assert len(paths) == len(set(paths))
    for path in ("cpu.freq_hz", "l2.size_bytes", "dram.channels", "dma.setup_cycles", "accelerator.spad_bytes"):
        assert path in paths
    for path, _, doc in rows:  # every leaf documented, the DRAM's and the caches' included
        assert doc, path
    assert field_doc(CacheConfig, "line_bytes").startswith("line size [B]")


def test_defaults_are_table2():
    s = System()
    assert (s.cpu.cores, s.cpu.freq_hz, s.cpu.issue_width) == (8, 2.5e9, 8)
    assert (s.l1d.size_bytes, s.l1d.ways, s.l1d.line_bytes, s.l1d.latency_cycles) == (65536, 4, 32, 2)
    assert (s.l2.size_bytes, s.l2.ways, s.l2.latency_cycles) == (2 << 20, 16, 20)
    assert s.dram.channels == 4 and s.dram.peak_bandwidth_bytes_per_s == pytest.approx(25.6e9)
    assert s.accelerator == SMV() and s.num_accelerators == 1 and s.cpu_threads == 1 and s.interface == "dma"
    assert (s.dma.setup_cycles, s.dma.max_outstanding, s.dma.chunk_bytes) == (100, 16, 64)


def _mb(text):
    return float(text) * (1 << 20)


def test_smaug_table2_preset_matches_published_table(reference_dir):
    table = json.loads((reference_dir / "smaug_published.json").read_text())["table2_soc"]
    s = presets.load("smaug-table2")
    cores, ghz = re.search(r"(\d+) out-of-order x86 cores @([\d.]+) GHz", table["cpu"]).groups()
    assert s.cpu.cores == int(cores) and s.cpu.freq_hz == float(ghz) * 1e9
    assert s.cpu.issue_width == int(re.search(r"(\d+)-uop issue", table["cpu"]).group(1))
    # Table 2's 192-entry ROB is not a field: no modelled mechanism reads it (issue 15: a field that moves
    # nothing is removed); the copy loop's memory-level parallelism is cpu.outstanding_misses
    assert re.search(r"(\d+)-entry ROB", table["cpu"])
    kb, ways, line, lat = re.search(r"(\d+) KB D, (\d+)-way, (\d+) B lines, LRU, (\d+)-cycle", table["l1"]).groups()
    l1 = (s.l1d.size_bytes, s.l1d.ways, s.l1d.line_bytes, s.l1d.latency_cycles)
    assert l1 == (int(kb) * 1024, int(ways), int(line), int(lat))
    assert s.l1d.policy == "lru" == s.l2.policy
    mb, ways, lat = re.search(r"([\d.]+) MB, (\d+)-way, LRU, MESI, (\d+)-cycle", table["l2"]).groups()
    assert (s.l2.size_bytes, s.l2.ways, s.l2.latency_cycles) == (_mb(mb), int(ways), int(lat))
    mhz, gb, ch, bw = re.search(r"LPDDR4 @(\d+) MHz, (\d+) GB, (\d+) channels, ([\d.]+) GB/s", table["dram"]).groups()
    assert s.dram.tck_ns == pytest.approx(1e3 / float(mhz))
    assert s.dram.size_bytes == int(gb) << 30 and s.dram.channels == int(ch)
    assert s.dram.peak_bandwidth_bytes_per_s == pytest.approx(float(bw) * 1e9)
    ghz, kb = re.search(r"([\d.]+) GHz, every scratchpad (\d+) KB", table["accelerators"]).groups()
    assert s.accelerator.freq_hz == float(ghz) * 1e9 and s.accelerator.spad_bytes == int(kb) * 1024
    assert (s.num_accelerators, s.interface, s.cpu_threads) == (1, "dma", 1)  # "baseline"


def test_smv_matches_published_accelerator(reference_dir):
    smv_ref = json.loads((reference_dir / "smaug_published.json").read_text())["smv_accelerator"]
    smv = SMV()
    assert smv.num_pes == smv_ref["pes"] and smv.maccs_per_pe == smv_ref["macs_per_pe"]
    assert smv.macs_per_cycle == smv_ref["macs_per_cycle"] and smv.vector_width == smv_ref["vector_width"]
    assert smv.freq_hz == smv_ref["clock_hz"]
    assert smv.spad_bytes // 2 == smv_ref["spad_max_tile_elements"]


def test_other_presets():
    repo = presets.load("smaug-repo")
    assert repo.cpu.cores == 1 and repo.cpu.freq_hz == 2.5e9
    assert (repo.l2.size_bytes, repo.l2.ways, repo.l2.line_bytes) == (2097152, 16, 32)  # run.sh
    # gem5-aladdin DRAMCtrl.py LPDDR4_3200_2x16: one x32 interface (2 x16 devices), 2 ranks
    assert repo.dram.peak_bandwidth_bytes_per_s == pytest.approx(12.8e9) and repo.dram.tck_ns == 0.625
    assert (repo.dram.channels, repo.dram.ranks, repo.dram.burst_bytes) == (1, 2, 64)
    sweep = presets.load("smaug-sweep")
    assert (sweep.l1d.size_bytes, sweep.l1d.latency_cycles, sweep.l2.size_bytes, sweep.l2.latency_cycles) == (
        32768, 1, 4 << 20, 5)
    assert sweep.cpu.freq_hz == 2e9
    assert presets.names() == ["smaug-table2", "smaug-repo", "smaug-sweep", "soc-2026-lpddr5", "soc-2026-hbm3"]
    for name in presets.names():
        info = presets.info(name)
        assert info.description and info.sources
        assert System.from_dict(presets.load(name).to_dict()) == presets.load(name)


def test_preset_changes_and_errors():
    s = presets.load("smaug-repo", num_accelerators=2, l2__size_bytes="4MiB", **{"accelerator.spad_bytes": "64KiB"})
    assert (s.num_accelerators, s.l2.size_bytes, s.accelerator.spad_bytes) == (2, 4 << 20, 65536)
    message = r"preset = 'smaug-paper': unknown; valid: smaug-table2, smaug-repo, smaug-sweep, soc-2026-lpddr5"
    with pytest.raises(ConfigError, match=message):
        presets.load("smaug-paper")
    with pytest.raises(ConfigError, match=r"l2.sise_bytes: unknown field of CacheConfig"):
        presets.load("smaug-table2", l2__sise_bytes=1)


def test_replace_dotted_and_whole_parts():
    s = System()
    t = s.replace(**{"l2.size_bytes": "4MiB", "cpu.freq_hz": "3GHz", "interface": "acp", "dram": "HBM2"})
    assert t.l2.size_bytes == 4 << 20 and t.l2.ways == 16 and t.cpu.freq_hz == 3e9 and t.dram.name == "HBM2"
    assert s.l2.size_bytes == 2 << 20  # frozen: the original is unchanged
    u = s.replace(l2={"ways": 8}, accelerator=SMV(freq_hz=2e9))
    assert u.l2.ways == 8 and u.l2.size_bytes == 2 << 20 and u.accelerator.freq_hz == 2e9
    v = s.replace(accelerator={"kind": "smv", "num_pes": 16})
    assert v.accelerator.num_pes == 16 and v.accelerator.maccs_per_pe == 32
    assert s.replace() is s
    same = {"l2.size_bytes": 4 << 20, "cpu.freq_hz": 3e9, "interface": "acp", "dram": "HBM2"}
    assert hash(t) != hash(s) and t == s.replace(**same)


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"l2.size_bytes": 3000}, r"^l2.size_bytes = 3000: must be a multiple of ways \* line_bytes"),
        ({"l2.sise_bytes": 1}, r"^l2.sise_bytes: unknown field of CacheConfig \(known: .*size_bytes"),
        ({"cpu.freq_hz": "1mHz"}, r"^cpu.freq_hz = 0.001: must be >= 1e\+06"),
        ({"cpu.freq_hz": "2.5GB"}, r"^cpu.freq_hz = '2.5GB': unit 'GB' is not a Hz quantity"),
        ({"cpu.cores": 0}, r"^cpu.cores = 0: must be >= 1"),
        ({"cpu.copy_bytes_per_cycle": 0}, r"^cpu.copy_bytes_per_cycle = 0: must be >= 0.001"),
        ({"num_accelerators": 9}, r"^num_accelerators = 9: must be <= 8"),
        ({"num_accelerators": 0}, r"^num_accelerators = 0: must be >= 1"),
        ({"cpu_threads": 9}, r"^cpu_threads = 9: must be <= 8"),
        ({"cpu_threads": 4, "cpu.cores": 2}, r"^cpu_threads = 4: more than the cpu.cores = 2"),
        ({"interface": "pcie"}, r"^interface = 'pcie': must be one of 'dma', 'acp', 'acp_dma_weights'"),
        ({"accelerator.spad_bytes": "32KB"}, r"^accelerator.spad_bytes = '32KB': unknown size prefix"),
        ({"accelerator.kind": "tpu"}, r"^accelerator.kind: unknown field of SMV"),
        ({"accelerator": {"kind": "tpu"}}, r"^accelerator.kind = 'tpu': unknown accelerator kind; known: .*smv"),
        ({"accelerator": "smv"}, r"^accelerator = 'smv': must be an Accelerator"),
        ({"dma.chunk_bytes": 48}, r"^dma.chunk_bytes = 48: must be a power of two"),
        ({"dma.pipelined": 1}, r"^dma.pipelined = 1: must be True or False"),
        ({"acp.line_bytes": 0}, r"^acp.line_bytes = 0: must be >= 1"),
        ({"dram": "XDR"}, r"^dram = 'XDR': unknown DRAM preset; known: DDR4-3200"),
        ({"dram.t_rc_cycles": 1}, r"^dram.t_rc_cycles = 1: less than t_ras_cycles"),
        ({"l1d.size_bytes": "4MiB"}, r"^l1d.size_bytes = 4194304: larger than l2.size_bytes = 2097152"),
        ({"l1d.line_bytes": 64}, r"^l1d.line_bytes = 64: larger than l2.line_bytes = 32"),
        ({"cpu": 3}, r"^cpu = 3: must be a CPU"),
        ({"cpu.freq_hz.x": 1}, r"^cpu.freq_hz.x: cpu.freq_hz has no fields"),
        ({"gpu": 1}, r"^gpu: unknown field of System"),
    ],
)
def test_replace_errors_name_the_path_and_value(changes, message):
    with pytest.raises(ConfigError, match=message):
        System().replace(**changes)


@pytest.mark.parametrize(
    "data,message",
    [
        ({"l2": {"size_bytes": "1MiB", "foo": 1}}, r"^l2.foo: unknown field of CacheConfig"),
        ({"cpu": {"cores": 2, "freq": 1}}, r"^cpu.freq: unknown field of CPU"),
        ({"cpu": 7}, r"^cpu = 7: must be a CPU"),
        ({"accelerator": {"kind": "smv", "num_pe": 4}}, r"^accelerator.num_pe: unknown field of SMV"),
        ([1, 2], r"System = \[1, 2\]: must be a mapping"),
    ],
)
def test_from_dict_errors(data, message):
    with pytest.raises(ConfigError, match=message):
        System.from_dict(data)


def test_dicts_round_trip_and_are_json_friendly():
    s = presets.load("smaug-repo", num_accelerators=3, interface="acp_dma_weights")
    d = s.to_dict()
    assert d["accelerator"]["kind"] == "smv" and d["l2"]["size_bytes"] == 2097152
    text = json.dumps(d)
    assert System.from_dict(json.loads(text)) == s
    partial = System.from_dict({"l2": {"size_bytes": "1MiB"}, "cpu": {"cores": 2}, "dram": "DDR4-3200"})
    assert partial.l2.size_bytes == 1 << 20 and partial.l2.ways == 16 and partial.cpu.freq_hz == 2.5e9
    assert partial.dram == DRAM_PRESETS["DDR4-3200"]


@given(
    accels=st.integers(1, 8),
    threads=st.integers(1, 8),
    interface=st.sampled_from(["dma", "acp", "acp_dma_weights"]),
    l2_kib=st.sampled_from([256, 512, 1024, 2048, 4096]),
    spad_kib=st.sampled_from([8, 16, 32, 64]),
    freq=st.sampled_from(["500MHz", "1GHz", "2GHz"]),
)
def test_random_systems_round_trip_and_hash(accels, threads, interface, l2_kib, spad_kib, freq):
    s = System().replace(
        num_accelerators=accels,
        cpu_threads=threads,
        interface=interface,
        l2__size_bytes=f"{l2_kib}KiB",
        accelerator__spad_bytes=f"{spad_kib}KiB",
        accelerator__freq_hz=freq,
    )
    again = System.from_dict(s.to_dict())
    assert again == s and hash(again) == hash(s)
    assert {s: 1}[again] == 1


def test_specs_are_frozen():
    s = System()
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.num_accelerators = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.cpu.cores = 1  # type: ignore[misc]


def test_direct_construction_parses_units_and_validates():
    assert CPU(freq_hz="3GHz").freq_hz == 3e9
    assert DMA(chunk_bytes="128B").chunk_bytes == 128
    with pytest.raises(ConfigError, match=r"^setup_cycles = -1: must be >= 0"):
        DMA(setup_cycles=-1)
    with pytest.raises(ConfigError, match=r"^latency_cycles = 1.5: must be an integer"):
        ACP(latency_cycles=1.5)
    with pytest.raises(ConfigError, match=r"^issue_width = 65: must be <= 64"):
        CPU(issue_width=65)
    assert System().accelerator_seconds_per_cycle == 1e-9 and System().cpu_seconds_per_cycle == 0.4e-9


# Found by fuzzing (issue 17): every one of these crashed, hung or was accepted before.
@pytest.mark.parametrize(
    "changes,message",
    [
        ({"l2.name": []}, r"^l2.name = \[\]: must be a string"),
        ({"l2.size_bytes": "1TiB"}, r"^l2.size_bytes = 1099511627776: must be <= 1073741824"),
        ({"l2.size_bytes": 1e30}, r"^l2.size_bytes = 1[0-9]{30}: must be <= 1073741824"),
        ({"dram.tck_ns": float("nan")}, r"^dram.tck_ns = nan: must be finite"),
        ({"dram.tck_ns": float("inf")}, r"^dram.tck_ns = inf: must be finite"),
        ({"dram.tck_ns": 5e-324}, r"^dram.tck_ns = 5e-324: must be >= 0.05"),  # fuzzed: a denormal divided by 0
        ({"dram.vdd_v": float("nan")}, r"^dram.vdd_v = nan: must be finite"),
        ({"dram.idd4r_ma": float("nan")}, r"^dram.idd4r_ma = nan"),
        ({"dram.t_rcd_cycles": 2**31}, r"^dram.t_rcd_cycles = 2147483648: must be <= 100000"),
        ({"dram.t_ccd_l_cycles": 2**31}, r"^dram.t_ccd_l_cycles = 2147483648: must be <= 100000"),
        ({"dram.channels": 2**20}, r"^dram.channels = 1048576: must be <= 64"),
        ({"dram.read_queue_size": 2**31 - 1}, r"^dram.read_queue_size = 2147483647: must be <= 4096"),
        ({"cpu.copy_bytes_per_cycle": 5e-324}, r"^cpu.copy_bytes_per_cycle = 5e-324"),
        ({"cpu.freq_hz": "1e3GHz"}, r"^cpu.freq_hz = 1000000000000.0: must be <= 1e\+10"),
        ({"accelerator.freq_hz": "100GHz"}, r"^accelerator.freq_hz = 100000000000.0: must be <= 1e\+10"),
    ],
)
def test_fuzzed_values_are_named_errors(changes, message):
    with pytest.raises(ConfigError, match=message):
        System().replace(**changes)


def test_numpy_numbers_are_accepted_as_python_numbers():
    import numpy as np

    s = System().replace(**{"l2.ways": np.int32(16), "l2.seed": np.int64(3), "cpu.freq_hz": np.float32(2e9),
                            "num_accelerators": np.int16(2)})
    assert (s.l2.ways, s.l2.seed, s.num_accelerators) == (16, 3, 2) and s.cpu.freq_hz == 2e9
    assert all(type(v) in (int, float) for v in (s.l2.ways, s.l2.seed, s.cpu.freq_hz, s.num_accelerators))
    assert s == System().replace(**{"l2.ways": 16, "l2.seed": 3, "cpu.freq_hz": 2e9, "num_accelerators": 2})


def test_systolic_arrays_are_bounded():
    from smaug_fast.accelerators import Systolic

    with pytest.raises(ConfigError, match=r"^rows = 2147483648: must be <= 4096"):
        Systolic(rows=2**31)
