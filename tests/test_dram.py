"""The DRAM model: JEDEC arithmetic, physical limits, a slow row-buffer reference, errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smaug_fast.errors import ConfigError
from smaug_fast.memory import DRAM, PRESETS, DRAMConfig, preset
from smaug_fast.traces import Trace

DDR4 = PRESETS["DDR4-3200"]
LP4 = PRESETS["LPDDR4-3200-2ch-x16"]


def _row_and_bank(cfg: DRAMConfig, addr: int) -> tuple[int, tuple[int, ...]]:
    """Decode an address by the mapping string, written independently of DRAMConfig.field_bits."""
    widths = {
        "ch": cfg.channels.bit_length() - 1,
        "ra": cfg.ranks.bit_length() - 1,
        "bg": cfg.bank_groups.bit_length() - 1,
        "ba": cfg.banks_per_group.bit_length() - 1,
        "ro": cfg.rows.bit_length() - 1,
        "co": (cfg.columns // cfg.burst_length).bit_length() - 1,
    }
    rest = addr // cfg.burst_bytes
    fields = {}
    for tok in reversed([cfg.address_mapping[i : i + 2] for i in range(0, 12, 2)]):
        fields[tok] = rest % (1 << widths[tok])
        rest >>= widths[tok]
    return fields["ro"], (fields["ch"], fields["ra"], fields["bg"], fields["ba"])


def _unloaded_reference(cfg: DRAMConfig, addrs) -> list[float]:
    """Latency [ns] of reads issued far apart: only the row buffer of each bank matters."""
    open_rows: dict[tuple, int] = {}
    out = []
    for a in addrs:
        row, bank = _row_and_bank(cfg, int(a))
        cycles = cfg.cl_cycles + cfg.burst_length // 2
        if open_rows.get(bank) != row:
            cycles += cfg.t_rcd_cycles
            if bank in open_rows:
                cycles += cfg.t_rp_cycles
        open_rows[bank] = row
        out.append(cycles * cfg.tck_ns)
    return out


@given(
    name=st.sampled_from(sorted(PRESETS)),
    picks=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 2)), min_size=1, max_size=12),
)
def test_isolated_reads_match_row_buffer_reference(name, picks):
    cfg = PRESETS[name]
    fs, _ = cfg.field_bits()
    # a few rows, columns and banks: hits, misses and conflicts in some order
    addrs = np.array([(r << int(fs[4])) + (c << int(fs[5])) + (b << int(fs[3])) for r, c, b in picks], np.int64)
    # far apart (no queueing, every bank idle again), and all before the first refresh
    spacing = 4 * cfg.t_rc_cycles
    assert 12 * spacing < cfg.t_refi_cycles
    issue = np.arange(len(addrs), dtype=np.int64) * spacing
    d = DRAM(cfg)
    lat = []
    for k in range(len(addrs)):
        # latency of the k-th read = total of k+1 reads minus total of k reads
        s = d.simulate(addrs[: k + 1], issue_cycles=issue[: k + 1])
        lat.append(s.read_latency_mean_ns * (k + 1))
    got = np.diff([0.0, *lat])
    assert np.allclose(got, _unloaded_reference(cfg, addrs))


@pytest.mark.parametrize(
    ("name", "issue_ns"),
    [("DDR4-3200", (17, 31, 45)), ("LPDDR4-3200-2ch-x16", (26, 44, 62)), ("LPDDR4-3200-4ch-x32", (26, 44, 62))],
)
def test_unloaded_latencies_near_the_issue_numbers(name, issue_ns):
    cfg = PRESETS[name]
    fs, _ = cfg.field_bits()
    d = DRAM(cfg)
    closed = d.simulate(np.array([0]), issue_cycles=np.array([0])).read_latency_mean_ns
    two_hit = d.simulate(np.array([0, 1 << int(fs[5])]), issue_cycles=np.array([0, 400]))
    two_conf = d.simulate(np.array([0, 1 << int(fs[4])]), issue_cycles=np.array([0, 400]))
    hit = 2 * two_hit.read_latency_mean_ns - closed
    conflict = 2 * two_conf.read_latency_mean_ns - closed
    for got, want in zip((hit, closed, conflict), issue_ns, strict=True):
        assert abs(got / want - 1) < 0.10
    assert (two_hit.row_hits, two_conf.row_conflicts) == (1, 1)


@pytest.mark.parametrize(
    ("name", "peak_gb_s"),
    # memory_facts.md, "Physical anchors": rate x width / 8
    [("DDR4-3200", 25.6), ("LPDDR4-3200-2ch-x16", 12.8), ("LPDDR4-3200-4ch-x16", 25.6),
     ("LPDDR4-3200-2ch-x32", 25.6), ("LPDDR4-3200-4ch-x32", 51.2), ("HBM2", 256.0)],
)
def test_peak_bandwidth_and_sequential_efficiency(name, peak_gb_s):
    cfg = PRESETS[name]
    assert cfg.peak_bandwidth_bytes_per_s / 1e9 == pytest.approx(peak_gb_s)
    n = 20_000
    s = DRAM(cfg).simulate(np.arange(n, dtype=np.int64) * cfg.burst_bytes)
    # sequential reads reach 85-100 % of peak (memory_facts: 92-95 %; refresh costs ~4-7 %)
    assert 0.85 * cfg.peak_bandwidth_bytes_per_s <= s.bandwidth_bytes_per_s <= cfg.peak_bandwidth_bytes_per_s
    assert s.row_hit_rate > 0.9
    assert s.reads == n and s.rd == n and s.act == s.row_misses + s.row_conflicts


def test_random_reads_are_bounded_by_four_activates_per_faw():
    cfg = DDR4
    rng = np.random.default_rng(0)
    addrs = rng.integers(0, cfg.size_bytes // 64, 20_000) * 64
    s = DRAM(cfg).simulate(addrs)
    faw_bound = 4 * cfg.burst_bytes / (cfg.t_faw_cycles * cfg.tck_ns * 1e-9)
    assert s.bandwidth_bytes_per_s <= faw_bound * 1.001
    assert s.bandwidth_bytes_per_s > 0.5 * faw_bound
    assert s.row_hit_rate < 0.05
    assert s.read_latency_p99_ns >= s.read_latency_p50_ns >= 0


def test_refresh_count_follows_trefi():
    cfg = DDR4
    n = 200_000
    s = DRAM(cfg).simulate(np.arange(n, dtype=np.int64) * 64)
    expected = s.cycles // cfg.t_refi_cycles
    assert abs(s.ref - expected) <= 1


def test_close_page_has_no_row_hits_and_precharges_every_access():
    cfg = dataclasses.replace(DDR4, open_page=False)
    s = DRAM(cfg).simulate(np.arange(1000, dtype=np.int64) * 64)
    assert s.row_hits == 0 and s.act == 1000 and s.pre >= 1000


def test_writes_batch_and_reads_of_queued_writes_are_forwarded():
    d = DRAM(DDR4)
    s = d.simulate(np.array([0, 0]), np.array([True, False]))
    assert s.forwarded_reads == 1 and s.wr == 1 and s.rd == 0
    rng = np.random.default_rng(1)
    n = 4000
    addrs = np.arange(n, dtype=np.int64) * 64
    w = rng.random(n) < 0.5
    mixed = d.simulate(addrs, w)
    assert mixed.reads + mixed.writes == n and mixed.writes == int(w.sum())


def _copy_stream(cfg: DRAMConfig, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A burst read from one buffer, a burst written to another, alternately (a memcpy)."""
    src = np.arange(n, dtype=np.int64) * cfg.burst_bytes
    addrs = np.empty(2 * n, np.int64)
    addrs[0::2], addrs[1::2] = src, src + cfg.size_bytes // 2
    return addrs, np.tile(np.array([False, True]), n)


def test_gem5_write_switching_turns_the_bus_around_more_often():
    """gem5's DRAMCtrl turns back to waiting reads after min_writes_per_switch writes: on a copy, reads
    switch rows (source and destination share banks) and the bus turns around more often than with
    DRAMsim3's whole-buffer drains: fewer row hits, fewer bytes per second."""
    dramsim3 = dataclasses.replace(LP4, read_queue_size=32, write_queue_size=64)
    gem5 = dataclasses.replace(dramsim3, write_high_thresh_pct=85.0, write_drain_min=32, min_writes_per_switch=16)
    addrs, w = _copy_stream(LP4, 20_000)
    a, b = DRAM(dramsim3).simulate(addrs, w), DRAM(gem5).simulate(addrs, w)
    assert (a.reads, a.writes) == (b.reads, b.writes) == (20_000, 20_000)
    assert b.bandwidth_bytes_per_s < 0.97 * a.bandwidth_bytes_per_s
    assert b.row_hit_rate < a.row_hit_rate


@given(seed=st.integers(0, 2**16), frac=st.floats(0.1, 0.9), wq=st.sampled_from([4, 16, 64]))
def test_switching_after_a_full_queue_of_writes_is_dramsim3s_policy(seed, frac, wq):
    """min_writes_per_switch = write_queue_size can never end a drain early (a drain covers at most
    a full queue), so it must give exactly the results of 0 (no early switch)."""
    rng = np.random.default_rng(seed)
    n = 600
    addrs = rng.integers(0, 1 << 16, n).astype(np.int64) * DDR4.burst_bytes
    w = rng.random(n) < frac
    base = dataclasses.replace(DDR4, write_queue_size=wq, write_drain_min=min(8, wq - 1))
    same = dataclasses.replace(base, min_writes_per_switch=wq)
    assert DRAM(base).simulate(addrs, w) == DRAM(same).simulate(addrs, w)


def test_queues_default_to_what_dramsim3_reorders():
    """0 queue entries: DRAMsim3's 32-entry transaction queue plus its 8-entry command queue per bank."""
    assert (DDR4.read_entries, DDR4.write_entries) == (32 + 8 * 16, 32 + 8 * 16)
    assert LP4.read_entries == 32 + 8 * 8
    assert dataclasses.replace(LP4, ranks=2).read_entries == 32 + 8 * 16
    explicit = dataclasses.replace(LP4, read_queue_size=32, write_queue_size=64)
    assert (explicit.read_entries, explicit.write_entries, explicit.write_high_entries) == (32, 64, 64)
    assert dataclasses.replace(explicit, write_high_thresh_pct=85.0).write_high_entries == 55  # gem5: > 54.4


def test_long_requests_are_split_into_bursts():
    d = DRAM(DDR4)
    s = d.simulate(np.array([0, 1000]), False, np.array([256, 8]))
    # 256 B = 4 bursts; 8 bytes at 1000 stay within one burst
    assert s.reads == 5 and s.bytes == 5 * 64
    s2 = d.simulate(np.array([60]), False, 8)  # crosses a burst boundary
    assert s2.reads == 2


def test_issue_cycles_stretch_the_run():
    d = DRAM(DDR4)
    addrs = np.arange(100, dtype=np.int64) * 64
    fast = d.simulate(addrs)
    slow = d.simulate(addrs, issue_cycles=np.arange(100) * 100)
    assert slow.cycles >= 99 * 100 and slow.bandwidth_bytes_per_s < fast.bandwidth_bytes_per_s
    assert slow.read_latency_mean_ns < fast.read_latency_mean_ns


def test_energy_breakdown():
    d = DRAM(DDR4)
    rng = np.random.default_rng(2)
    seq = d.simulate(np.arange(5000, dtype=np.int64) * 64)
    rnd = d.simulate(rng.integers(0, 1 << 30, 5000) * 64)
    for s in (seq, rnd):
        assert s.energy_j == pytest.approx(sum(s.energy_breakdown_j.values()))
        assert all(v >= 0 for v in s.energy_breakdown_j.values())
    assert rnd.energy_breakdown_j["act"] > 10 * seq.energy_breakdown_j["act"]
    # DRAMPower-style read increment: (IDD4R - IDD3N) x VDD x burst time x devices
    per_rd = (DDR4.idd4r_ma - DDR4.idd3n_ma) * 1e-3 * DDR4.vdd_v * 4 * DDR4.tck_ns * 1e-9 * 8
    assert seq.energy_breakdown_j["rd"] == pytest.approx(per_rd * 5000)


def test_run_takes_a_trace_and_skips_cache_operations():
    t = Trace.from_arrays(np.array([0, 64, 128]), 64, np.array([0, 2, 1], np.uint8))
    s = DRAM("DDR4-3200").run(t)
    assert (s.reads, s.writes) == (1, 1)


def test_presets_and_lookup():
    assert preset("HBM2") is PRESETS["HBM2"]
    assert LP4.burst_bytes == 32 and DDR4.burst_bytes == 64
    hash(DDR4)  # frozen, usable as a memo key
    with pytest.raises(ConfigError, match="dram preset 'DDR5'"):
        preset("DDR5")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"channels": 3}, "DDR4-3200.channels = 3: must be a power of two"),
        ({"t_rc_cycles": 10}, "t_rc_cycles = 10: less than t_ras_cycles"),
        ({"address_mapping": "rorabgbachxx"}, "address_mapping = 'rorabgbachxx'"),
        ({"tck_ns": 0}, "tck_ns = 0"),
        ({"cl_cycles": 0}, "cl_cycles = 0: must be >= 1"),
        ({"t_refi_cycles": 100}, "t_refi_cycles = 100: must exceed t_rfc_cycles"),
        ({"write_drain_min": 200}, "write_drain_min = 200"),
        ({"read_queue_size": -1}, "read_queue_size = -1: must be >= 0"),
        ({"min_writes_per_switch": 161}, "min_writes_per_switch = 161: must be <= the write queue's 160 entries"),
        ({"write_queue_size": 8}, "write_drain_min = 8: must be < the write queue's 8 entries"),
        ({"write_high_thresh_pct": 0.0}, "write_high_thresh_pct = 0.0"),
        ({"rows": 1.5}, "rows = 1.5: must be an integer"),
    ],
)
def test_bad_config_names_the_field(change, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        dataclasses.replace(DDR4, **change)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda d: d.simulate(np.array([-64])), "addrs: negative address -64"),
        (lambda d: d.simulate(np.array([0, 64]), np.array([True])), r"is_write: length 1 != len\(addrs\) = 2"),
        (
            lambda d: d.simulate(np.array([0, 64]), issue_cycles=np.array([5, 1])),
            "issue_cycles: must be >= 0 and non-decreasing",
        ),
        (lambda d: d.simulate(np.array([0]), nbytes=0), "nbytes: sizes must be >= 1"),
        (lambda d: d.simulate(np.array([0]), issue_interval_cycles=-1), "issue_interval_cycles = -1"),
        (lambda d: DRAM(42), "config = 42"),
    ],
)
def test_bad_input_raises_config_error(call, message):
    with pytest.raises(ConfigError, match=message):
        call(DRAM(DDR4))
