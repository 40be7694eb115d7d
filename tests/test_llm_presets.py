"""The LLM-era hardware presets (issue 19): LPDDR5, LPDDR5X and HBM3 DRAMs, the NVDLA-sized SMV, the
128 x 128 systolic array and the 2026 SoC presets. Peak bandwidths are checked against the JEDEC
arithmetic (data rate x bus width), timings against the nanosecond values they were converted from."""

from __future__ import annotations

import math

import numpy as np
import pytest

from smaug_fast import ConfigError, System, presets
from smaug_fast.memory import DRAM, PRESETS, preset

GIB = 1 << 30


@pytest.mark.parametrize(
    ("name", "rate_mts", "bus_bits", "size_gib"),
    [
        ("LPDDR5-6400", 6400.0, 64, 16),  # four x16 channels
        ("LPDDR5X-8533", 8533.0 + 1.0 / 3.0, 64, 16),
        ("HBM3", 6400.0, 1024, 16),  # 16 channels x 64 bits (32 pseudo-channels x 32)
    ],
)
def test_peak_bandwidth_is_the_jedec_arithmetic(name, rate_mts, bus_bits, size_gib):
    cfg = PRESETS[name]
    want = rate_mts * 1e6 * bus_bits / 8  # transfers per second x bytes per transfer
    assert cfg.peak_bandwidth_bytes_per_s == pytest.approx(want, rel=1e-12)
    assert cfg.channels * cfg.bus_width_bits == bus_bits
    assert cfg.size_bytes == size_gib * GIB
    # one burst takes burst_length beats at the data rate
    assert cfg.burst_cycles * cfg.tck_ns == pytest.approx(cfg.burst_length * 1e3 / rate_mts)


@pytest.mark.parametrize("name", ["LPDDR5-6400", "LPDDR5X-8533"])
def test_lpddr5_timings_round_up_the_jedec_nanoseconds(name):
    cfg = PRESETS[name]
    # gem5 LPDDR5_6400_1x16_BG_BL16 (JESD209-5) [ns]
    for field, ns in (("cl_cycles", 21.25), ("t_rcd_cycles", 18), ("t_rp_cycles", 18), ("t_ras_cycles", 42),
                      ("t_wr_cycles", 34), ("t_faw_cycles", 20), ("t_wtr_l_cycles", 12), ("t_rfc_cycles", 280),
                      ("t_refi_cycles", 3900)):
        cycles = getattr(cfg, field)
        assert cycles == math.ceil(ns / cfg.tck_ns - 1e-9), field
        assert ns - 1e-9 <= cycles * cfg.tck_ns < ns + cfg.tck_ns, field
    assert cfg.t_rc_cycles == cfg.t_ras_cycles + cfg.t_rp_cycles
    assert cfg.t_ccd_s_cycles == cfg.burst_cycles  # BL16 in BG mode: 2 CK, one burst
    assert cfg.t_ccd_l_cycles == 2 * cfg.burst_cycles  # 4 CK


def test_hbm3_timings_are_hbm2s_nanoseconds():
    hbm3, hbm2 = PRESETS["HBM3"], PRESETS["HBM2"]
    for field in ("cl_cycles", "t_rcd_cycles", "t_rp_cycles", "t_ras_cycles", "t_rc_cycles", "t_faw_cycles", "t_wr_cycles"):
        ns = getattr(hbm2, field) * hbm2.tck_ns
        assert getattr(hbm3, field) == math.ceil(ns / hbm3.tck_ns - 1e-9), field


@pytest.mark.parametrize(("name", "efficiency"), [("LPDDR5-6400", 0.85), ("LPDDR5X-8533", 0.85), ("HBM3", 0.75)])
def test_sequential_reads_near_peak(name, efficiency):
    """A sequential read stream reaches most of the peak (HBM3's 1 KiB pages make tFAW and tRRD bound the
    activations of a stream over 16 banks: about 79 %)."""
    cfg = PRESETS[name]
    s = DRAM(cfg).simulate(np.arange(20_000, dtype=np.int64) * cfg.burst_bytes)
    assert efficiency * cfg.peak_bandwidth_bytes_per_s <= s.bandwidth_bytes_per_s <= cfg.peak_bandwidth_bytes_per_s
    assert s.row_hit_rate > 0.9


def test_accelerator_presets():
    assert presets.SMV_LARGE.macs_per_cycle == 1024  # NVDLA nv_full: 1024 fp16 MACs
    assert presets.SMV_LARGE.spad_bytes == 512 * 1024
    a = presets.SYSTOLIC_128.array
    assert (a.rows, a.cols, a.dataflow.value, a.word_size_bytes) == (128, 128, "ws", 2)
    assert presets.SYSTOLIC_128.spad_bytes == 1 << 20


@pytest.mark.parametrize(("name", "dram", "accelerator"),
                         [("soc-2026-lpddr5", "LPDDR5-6400", "SMV"), ("soc-2026-hbm3", "HBM3", "SystolicArray")])
def test_soc_presets(name, dram, accelerator):
    s = presets.load(name)
    assert s.dram.name == dram and type(s.accelerator).__name__ == accelerator
    assert s.dram.size_bytes >= 8 * GIB  # TinyLlama's 512-token prefill needs 4.3 GiB of tensors
    assert s.dma.ignore_cache_flush
    info = presets.info(name)
    assert info.description and info.sources
    assert System.from_dict(s.to_dict()) == s


def test_bad_names_are_config_errors():
    with pytest.raises(ConfigError, match=r"dram = 'LPDDR5-9999': unknown DRAM preset; known: .*LPDDR5-6400"):
        System(dram="LPDDR5-9999")
    with pytest.raises(ConfigError, match=r"dram preset 'HBM4': unknown"):
        preset("HBM4")
    with pytest.raises(ConfigError, match=r"preset = 'soc-2026-lpdr5': unknown; valid: .*soc-2026-lpddr5"):
        presets.load("soc-2026-lpdr5")
    assert System(dram="LPDDR5X-8533").dram is PRESETS["LPDDR5X-8533"]


@pytest.mark.parametrize("field", ["idd4r_ma", "idd4w_ma", "idd5_ma"])
def test_burst_currents_below_active_standby_are_config_errors(field):
    """DRAMPower's method charges IDD4R/IDD4W/IDD5 above IDD3N: below it a read would give energy back
    (found by tests/test_fuzz.py: idd4r_ma = 0 made the DRAM's dynamic energy negative)."""
    with pytest.raises(ConfigError, match=rf"dram.{field} = 10: less than idd3n_ma = 47"):
        System().replace(dram=PRESETS["LPDDR5-6400"]).replace(**{f"dram.{field}": 10})
