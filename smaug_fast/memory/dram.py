"""DRAM timing and energy model: ``DRAMConfig`` (frozen, units in names, presets) and ``DRAM``.

The controller is an event-driven FR-FCFS model (``smaug_fast.kernels.dram``); energy follows
DRAMPower's IDD method: per-command increments over the active-standby current plus background
power. Presets cite their sources; ``validation/dramsim3_compare.py`` checks them against DRAMsim3.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import ConfigError, describe
from ..kernels import dram as _k
from ..spec import Spec, param

_FIELDS = ("ch", "ra", "bg", "ba", "ro", "co")


def _log2(owner: str, name: str, v: int) -> int:
    if v < 1 or v & (v - 1):
        raise ConfigError(f"{owner}.{name} = {v}: must be a power of two")
    return v.bit_length() - 1


@dataclass(frozen=True)
class DRAMConfig(Spec):
    """One DRAM memory system: organization, JEDEC timings [tCK cycles], currents, controller.

    Timing fields are in cycles of the DRAM clock (``tck_ns`` [ns] each); a DDR burst of
    ``burst_length`` beats takes ``burst_length / 2`` cycles. ``address_mapping`` lists the address
    fields from most to least significant bit as two-letter tokens (ro row, ra rank, bg bank group,
    ba bank, ch channel, co column), DRAMsim3's syntax; below them lie the bits of one burst
    (``bus_width_bits / 8 * burst_length`` bytes). The defaults are the paper's Table 2 DRAM, the
    ``LPDDR4-3200-4ch-x16`` preset (sources at the presets below); errors name the configuration by
    its ``name`` (``DDR4-3200.channels = 3: ...``).
    """

    _label: ClassVar[str] = "name"

    name: str = param("LPDDR4-3200-4ch-x16", "a label for reports and error messages")
    tck_ns: float = param(0.625, "clock period tCK [ns] (LPDDR4-3200: 1600 MHz); at least 0.05 ns, a 20 GHz "
                          "clock, faster than any DRAM interface's (LPDDR5X-8533: 0.234 ns)", ge=0.05, le=100.0)
    burst_length: int = param(16, "beats of one burst BL (LPDDR4: 16; DDR4: 8)", ge=2, pow2=True, le=64)
    cl_cycles: int = param(32, "read latency CL/RL, READ to first data [tCK]", ge=1, le=100_000)
    cwl_cycles: int = param(18, "write latency CWL/WL, WRITE to first data [tCK]", ge=1, le=100_000)
    t_rcd_cycles: int = param(29, "tRCD, ACTIVATE to READ/WRITE [tCK]", ge=1, le=100_000)
    t_rp_cycles: int = param(27, "tRP, PRECHARGE to ACTIVATE of the same bank [tCK]", ge=1, le=100_000)
    t_ras_cycles: int = param(68, "tRAS, ACTIVATE to PRECHARGE of the same bank [tCK]", ge=1, le=100_000)
    t_rc_cycles: int = param(95, "tRC, ACTIVATE to ACTIVATE of the same bank [tCK]", ge=1, le=100_000)
    t_ccd_s_cycles: int = param(8, "tCCD_S, column command to column command, other bank group [tCK]", ge=1, le=100_000)
    t_ccd_l_cycles: int = param(8, "tCCD_L, column command to column command, same bank group [tCK]", ge=1, le=100_000)
    t_rrd_s_cycles: int = param(16, "tRRD_S, ACTIVATE to ACTIVATE, other bank group [tCK]", ge=1, le=100_000)
    t_rrd_l_cycles: int = param(16, "tRRD_L, ACTIVATE to ACTIVATE, same bank group [tCK]", ge=1, le=100_000)
    t_faw_cycles: int = param(64, "tFAW, window of at most four ACTIVATEs per rank [tCK]", ge=1, le=100_000)
    t_wtr_s_cycles: int = param(16, "tWTR_S, end of write data to READ, other bank group [tCK]", ge=1, le=100_000)
    t_wtr_l_cycles: int = param(16, "tWTR_L, end of write data to READ, same bank group [tCK]", ge=1, le=100_000)
    t_wr_cycles: int = param(28, "tWR, write recovery: end of write data to PRECHARGE [tCK]", ge=1, le=100_000)
    t_rtp_cycles: int = param(14, "tRTP, READ to PRECHARGE [tCK]", ge=1, le=100_000)
    t_rfc_cycles: int = param(288, "tRFC, REFRESH to the next command of the rank [tCK]", ge=1, le=100_000)
    t_refi_cycles: int = param(6247, "tREFI, average interval between REFRESH commands [tCK]", ge=1, le=100_000)
    channels: int = param(4, "independent channels, each with its own bus and controller queue", ge=1, pow2=True, le=64)
    bank_groups: int = param(1, "bank groups per rank (LPDDR4: 1; DDR4: 4)", ge=1, pow2=True, le=16)
    banks_per_group: int = param(8, "banks per bank group", ge=1, pow2=True, le=64)
    rows: int = param(65536, "rows per bank", ge=1, pow2=True, le=1 << 20)
    columns: int = param(1024, "columns per row (device-width words)", ge=1, pow2=True, le=1 << 16)
    device_width_bits: int = param(16, "data width of one device [bit]", ge=1, pow2=True, le=1024)
    bus_width_bits: int = param(16, "data width of a channel [bit]; devices_per_rank = bus / device", ge=1,
                                pow2=True, le=1024)
    ranks: int = param(1, "ranks per channel", ge=1, pow2=True, le=16)
    t_rtrs_cycles: int = param(1, "tRTRS, rank-to-rank switching gap on the data bus [tCK]", ge=0, le=100_000)
    vdd_v: float = param(1.1, "supply voltage VDD [V] (DRAMPower's IDD method)", ge=0.0, le=5.0)
    idd0_ma: float = param(80.0, "IDD0, one-bank ACTIVATE-PRECHARGE current [mA]", ge=0.0, le=1e5)
    idd2n_ma: float = param(34.0, "IDD2N, precharge standby current [mA]", ge=0.0, le=1e5)
    idd3n_ma: float = param(47.0, "IDD3N, active standby current [mA]", ge=0.0, le=1e5)
    idd4r_ma: float = param(243.0, "IDD4R, burst read current [mA]", ge=0.0, le=1e5)
    idd4w_ma: float = param(228.0, "IDD4W, burst write current [mA]", ge=0.0, le=1e5)
    idd5_ma: float = param(280.0, "IDD5, refresh current [mA]", ge=0.0, le=1e5)
    address_mapping: str = param(
        "roracobabgch", "address fields from MSB to LSB as two-letter tokens (ro ra bg ba ch co; DRAMsim3 syntax)"
    )
    open_page: bool = param(True, "rows stay open after an access (open-page policy); False: close-page")
    read_queue_size: int = param(
        0, "entries of a channel's read queue; 0: DRAMsim3's controller, whose FR-FCFS sees its 32-entry "
        "transaction queue and an 8-entry command queue per bank (every configs/*.ini: trans_queue_size 32, "
        "cmd_queue_size 8, queue_structure PER_BANK): 32 + 8 x banks per channel", ge=0, le=4096)
    write_queue_size: int = param(
        0, "entries of a channel's write queue; 0: as read_queue_size, DRAMsim3's 32 + 8 x banks per channel",
        ge=0, le=4096)
    write_drain_min: int = param(
        8, "write drain start with no read waiting: writes drain once more than this many are queued "
        "[requests] (DRAMsim3 src/controller.cc ScheduleTransaction: 8; gem5 DRAMCtrl: write_low_thresh_perc "
        "50 % of write_buffer_size); so many writes stay queued while the DRAM idles, and a posted DMA "
        "store finds only the rest of the queue free", ge=0, le=4096)
    write_high_thresh_pct: float = param(
        100.0, "write drain start while reads wait: writes drain once the write queue holds more than this "
        "share of its entries, or is full [%] (DRAMsim3: 100, drains a full write buffer; gem5 DRAMCtrl.py "
        "write_high_thresh_perc: 85)", gt=0.0, le=100.0)
    min_writes_per_switch: int = param(
        0, "writes a drain issues before the bus turns back to waiting reads [requests]; 0: a drain issues "
        "every write queued when it started (DRAMsim3); gem5 DRAMCtrl.py min_writes_per_switch: 16, which "
        "also ends a drain once the writes left plus this fall below write_drain_min", ge=0, le=4096)

    # ---- derived quantities
    @property
    def burst_cycles(self) -> int:
        return self.burst_length // 2

    @property
    def burst_bytes(self) -> int:
        """Bytes moved by one column command on one channel [B]."""
        return self.bus_width_bits // 8 * self.burst_length

    @property
    def dramsim3_queue_entries(self) -> int:
        """What DRAMsim3's controller can reorder per channel [requests]: its transaction queue (32)
        and a command queue of 8 per bank (src/controller.cc, src/command_queue.cc; configs/*.ini)."""
        return 32 + 8 * self.ranks * self.bank_groups * self.banks_per_group

    @property
    def read_entries(self) -> int:
        """Entries of a channel's read queue [requests] (read_queue_size, or DRAMsim3's when 0)."""
        return self.read_queue_size or self.dramsim3_queue_entries

    @property
    def write_entries(self) -> int:
        """Entries of a channel's write queue [requests] (write_queue_size, or DRAMsim3's when 0)."""
        return self.write_queue_size or self.dramsim3_queue_entries

    @property
    def write_high_entries(self) -> int:
        """Queued writes that start a drain while reads wait: more than write_high_thresh_pct % of
        the queue (gem5: ``writeQueue.size() > writeHighThreshold``), at most a full queue [requests]."""
        return min(self.write_entries, int(self.write_entries * self.write_high_thresh_pct / 100.0) + 1)

    @property
    def devices_per_rank(self) -> int:
        return self.bus_width_bits // self.device_width_bits

    @property
    def peak_bandwidth_bytes_per_s(self) -> float:
        """All channels' data rate times width [B/s] (memory_facts.md, "Physical anchors")."""
        return self.channels * self.bus_width_bits / 8 * 2 / (self.tck_ns * 1e-9)

    @property
    def size_bytes(self) -> int:
        return (self.channels * self.ranks * self.bank_groups * self.banks_per_group * self.rows
                * self.columns * self.device_width_bits // 8 * self.devices_per_rank)

    def validate(self) -> None:
        o = self.name
        if self.columns < self.burst_length:
            raise ConfigError(f"{o}.columns = {self.columns}: fewer than one burst ({self.burst_length})")
        if self.bus_width_bits % self.device_width_bits:
            raise ConfigError(f"{o}.bus_width_bits = {self.bus_width_bits}: not a multiple of device_width_bits")
        if self.t_rc_cycles < self.t_ras_cycles:
            raise ConfigError(f"{o}.t_rc_cycles = {self.t_rc_cycles}: less than t_ras_cycles = {self.t_ras_cycles}")
        if self.t_refi_cycles <= self.t_rfc_cycles:
            raise ConfigError(
                f"{o}.t_refi_cycles = {self.t_refi_cycles}: must exceed t_rfc_cycles = {self.t_rfc_cycles}"
            )
        m = self.address_mapping
        tokens = [m[i : i + 2] for i in range(0, len(m), 2)]
        if sorted(tokens) != sorted(_FIELDS) or len(m) != 12:
            raise ConfigError(
                f"{o}.address_mapping = {describe(m)}: must list each of {_FIELDS} once (MSB first)"
            )
        for name in ("idd4r_ma", "idd4w_ma", "idd5_ma"):
            if getattr(self, name) < self.idd3n_ma:  # the energy model charges the current above IDD3N
                raise ConfigError(f"{o}.{name} = {getattr(self, name):g}: less than idd3n_ma = {self.idd3n_ma:g} "
                                  "(a burst or refresh draws the active-standby current and more)")
        if self.write_drain_min >= self.write_entries:
            raise ConfigError(f"{o}.write_drain_min = {self.write_drain_min}: must be < the write queue's "
                              f"{self.write_entries} entries")
        if self.min_writes_per_switch > self.write_entries:
            raise ConfigError(f"{o}.min_writes_per_switch = {self.min_writes_per_switch}: must be <= the write "
                              f"queue's {self.write_entries} entries")

    def field_bits(self) -> tuple[np.ndarray, np.ndarray]:
        """(shift, mask) of each address field in the order ch, ra, bg, ba, ro, co."""
        widths = {
            "ch": _log2(self.name, "channels", self.channels),
            "ra": _log2(self.name, "ranks", self.ranks),
            "bg": _log2(self.name, "bank_groups", self.bank_groups),
            "ba": _log2(self.name, "banks_per_group", self.banks_per_group),
            "ro": _log2(self.name, "rows", self.rows),
            "co": _log2(self.name, "columns", self.columns) - _log2(self.name, "burst_length", self.burst_length),
        }
        tokens = [self.address_mapping[i : i + 2] for i in range(0, 12, 2)]
        pos = self.burst_bytes.bit_length() - 1
        shifts = {}
        for tok in reversed(tokens):
            shifts[tok] = pos
            pos += widths[tok]
        return (np.array([shifts[f] for f in _FIELDS], np.int64),
                np.array([(1 << widths[f]) - 1 for f in _FIELDS], np.int64))

    def kernel_params(self) -> np.ndarray:
        p = np.zeros(_k.P_N, np.int64)
        p[_k.P_CHANNELS] = self.channels
        p[_k.P_RANKS] = self.ranks
        p[_k.P_BG] = self.bank_groups
        p[_k.P_BPG] = self.banks_per_group
        p[_k.P_BURST_CYC] = self.burst_cycles
        p[_k.P_CL] = self.cl_cycles
        p[_k.P_CWL] = self.cwl_cycles
        p[_k.P_RCD] = self.t_rcd_cycles
        p[_k.P_RP] = self.t_rp_cycles
        p[_k.P_RAS] = self.t_ras_cycles
        p[_k.P_RC] = self.t_rc_cycles
        p[_k.P_CCD_S] = self.t_ccd_s_cycles
        p[_k.P_CCD_L] = self.t_ccd_l_cycles
        p[_k.P_RRD_S] = self.t_rrd_s_cycles
        p[_k.P_RRD_L] = self.t_rrd_l_cycles
        p[_k.P_FAW] = self.t_faw_cycles
        p[_k.P_WTR_S] = self.t_wtr_s_cycles
        p[_k.P_WTR_L] = self.t_wtr_l_cycles
        p[_k.P_WR] = self.t_wr_cycles
        p[_k.P_RTP] = self.t_rtp_cycles
        p[_k.P_RFC] = self.t_rfc_cycles
        p[_k.P_REFI] = self.t_refi_cycles
        p[_k.P_RQ] = self.read_entries
        p[_k.P_WQ] = self.write_entries
        p[_k.P_DRAIN_MIN] = self.write_drain_min
        p[_k.P_OPEN_PAGE] = int(self.open_page)
        p[_k.P_RTRS] = self.t_rtrs_cycles
        p[_k.P_WHIGH] = self.write_high_entries
        p[_k.P_MIN_SWITCH] = self.min_writes_per_switch
        return p

    def unloaded_latency_ns(self) -> dict[str, float]:
        """Read latency of a lone request [ns]: row hit (CL + burst), closed bank (+ tRCD),
        conflict (+ tRP): the JEDEC arithmetic, for checking the simulator against."""
        hit = self.cl_cycles + self.burst_cycles
        return {
            "row_hit": hit * self.tck_ns,
            "closed": (hit + self.t_rcd_cycles) * self.tck_ns,
            "conflict": (hit + self.t_rcd_cycles + self.t_rp_cycles) * self.tck_ns,
        }


# ------------------------------------------------------------------ presets
# DDR4-3200AA (22-22-22), 8 Gb x8 devices, one x64 channel, one rank: timings of JEDEC JESD79-4
# as encoded in DRAMsim3's configs/DDR4_8Gb_x8_3200.ini (tCK rounded there to 0.63 ns) and
# Ramulator 2; IDD currents of the same DRAMsim3 file (Micron 8Gb DDR4 datasheet values).
DDR4_3200 = DRAMConfig(
    name="DDR4-3200", tck_ns=0.625, burst_length=8, cl_cycles=22, cwl_cycles=16, t_rcd_cycles=22,
    t_rp_cycles=22, t_ras_cycles=52, t_rc_cycles=74, t_ccd_s_cycles=4, t_ccd_l_cycles=8,
    t_rrd_s_cycles=4, t_rrd_l_cycles=8, t_faw_cycles=34, t_wtr_s_cycles=4, t_wtr_l_cycles=12,
    t_wr_cycles=24, t_rtp_cycles=12, t_rfc_cycles=560, t_refi_cycles=12480, channels=1,
    bank_groups=4, banks_per_group=4, rows=65536, columns=1024, device_width_bits=8,
    bus_width_bits=64, vdd_v=1.2, idd0_ma=57, idd2n_ma=37, idd3n_ma=52, idd4r_ma=168,
    idd4w_ma=150, idd5_ma=250,
)

# LPDDR4-3200, 8 Gb per x16 channel (8 banks, 2 KB pages, BL16): timings of Ramulator 1's
# LPDDR4.h speed bin LPDDR4_3200 (RL 32, WL 18, tRCD 29, tRPpb 27, tRAS 68, tRC 95, tCCD 8,
# tRRD 16, tFAW 64, tWTR 16, tWR 28, tRTP 14, tRFCab 288, tREFI 3.9 us), JEDEC JESD209-4; IDD
# currents of DRAMsim3's configs/LPDDR4_8Gb_x16_2400.ini. x32 channels gang two x16 dies.
_LPDDR4_X16 = DRAMConfig(
    name="LPDDR4-3200-2ch-x16", tck_ns=0.625, burst_length=16, cl_cycles=32, cwl_cycles=18,
    t_rcd_cycles=29, t_rp_cycles=27, t_ras_cycles=68, t_rc_cycles=95, t_ccd_s_cycles=8,
    t_ccd_l_cycles=8, t_rrd_s_cycles=16, t_rrd_l_cycles=16, t_faw_cycles=64, t_wtr_s_cycles=16,
    t_wtr_l_cycles=16, t_wr_cycles=28, t_rtp_cycles=14, t_rfc_cycles=288, t_refi_cycles=6247,
    channels=2, bank_groups=1, banks_per_group=8, rows=65536, columns=1024, device_width_bits=16,
    bus_width_bits=16, vdd_v=1.1, idd0_ma=80, idd2n_ma=34, idd3n_ma=47, idd4r_ma=243,
    idd4w_ma=228, idd5_ma=280,
)
LPDDR4_3200_2CH_X16 = _LPDDR4_X16
LPDDR4_3200_4CH_X16 = dataclasses.replace(_LPDDR4_X16, name="LPDDR4-3200-4ch-x16", channels=4)
LPDDR4_3200_2CH_X32 = dataclasses.replace(
    _LPDDR4_X16, name="LPDDR4-3200-2ch-x32", bus_width_bits=32
)
LPDDR4_3200_4CH_X32 = dataclasses.replace(LPDDR4_3200_2CH_X32, name="LPDDR4-3200-4ch-x32", channels=4)

# HBM2 at 2 Gb/s per pin, one 8-channel stack of 128-bit channels (4 bank groups x 4 banks):
# DRAMsim3's configs/HBM2_8Gb_x128.ini (JESD235), tRTP = tRTP_S; 2 KB pages (128 columns of 128
# bits; DRAMsim3 doubles the file's 64 columns for HBM's 2n prefetch); peak 256 GB/s.
HBM2 = DRAMConfig(
    name="HBM2", tck_ns=1.0, burst_length=4, cl_cycles=14, cwl_cycles=4, t_rcd_cycles=14,
    t_rp_cycles=14, t_ras_cycles=34, t_rc_cycles=48, t_ccd_s_cycles=1, t_ccd_l_cycles=2,
    t_rrd_s_cycles=4, t_rrd_l_cycles=6, t_faw_cycles=30, t_wtr_s_cycles=6, t_wtr_l_cycles=8,
    t_wr_cycles=16, t_rtp_cycles=4, t_rfc_cycles=260, t_refi_cycles=3900, channels=8,
    bank_groups=4, banks_per_group=4, rows=32768, columns=128, device_width_bits=128,
    bus_width_bits=128, vdd_v=1.2, idd0_ma=65, idd2n_ma=40, idd3n_ma=55, idd4r_ma=390,
    idd4w_ma=500, idd5_ma=250,
)

def _cycles(ns: float, tck_ns: float) -> int:
    """A JEDEC timing given in [ns] as whole clock cycles of ``tck_ns`` [ns], rounded up (as JEDEC rounds)."""
    return int(math.ceil(ns / tck_ns - 1e-9))


def _lpddr5(name: str, data_rate_mts: float) -> DRAMConfig:
    """LPDDR5/LPDDR5X at ``data_rate_mts`` [MT/s]: four x16 channels (a 64-bit phone package), two
    ranks of 16 Gb dies, 16 banks in four bank groups (BG mode, the only mode above 3.2 Gb/s), 2 KiB
    pages, BL16.

    The DDR model clocks at half the data rate (``tck_ns = 2000 / rate``: two beats per cycle, so a BL16
    burst takes 8 cycles = 2.5 ns at 6400, gem5's tBURST) and every JEDEC timing in ns is rounded up
    to those cycles. Timings [ns] are gem5's ``LPDDR5_6400_1x16_BG_BL16``
    (src/python/gem5/components/memory/dram_interfaces/lpddr5.py, "based on initial JEDEC
    specification" JESD209-5): RL 21.25 (17 CK at 800 MHz; gem5 takes WL = RL), tRCD 18, tRP 18,
    tRAS 42, tRC = tRAS + tRP, tWR 34, tRTP 4.59, tCCD_S = tBURST_MIN (2 CK, one BL16 burst: 8 cycles),
    tCCD_L = tBURST_MAX (4 CK: 16 cycles; with WCK:CK = 4:1 a CK holds 8 beats at any rate),
    tRRD 5, tFAW 20, tWTR_S 6.25, tWTR_L 12, tREFI 3.9 us; tRFCab 280 ns for a 16 Gb die
    (Ramulator 2, src/dram/impl/LPDDR5.cpp tRFCab table). LPDDR5X (JESD209-5C) raises the data rate
    and keeps these array timings in ns (an assumption for RL at 8533, which JEDEC sets in CK).
    Currents: no cited LPDDR5 IDD set is at hand, so LPDDR4's (DRAMsim3 LPDDR4_8Gb_x16_2400.ini) at
    LPDDR5's VDD2H of 1.05 V: DRAM energies of these presets are estimates.
    """
    tck = 2000.0 / data_rate_mts
    c = functools.partial(_cycles, tck_ns=tck)
    return DRAMConfig(
        name=name, tck_ns=tck, burst_length=16, cl_cycles=c(21.25), cwl_cycles=c(21.25), t_rcd_cycles=c(18),
        t_rp_cycles=c(18), t_ras_cycles=c(42), t_rc_cycles=c(42) + c(18), t_ccd_s_cycles=8,
        t_ccd_l_cycles=16, t_rrd_s_cycles=c(5), t_rrd_l_cycles=c(5), t_faw_cycles=c(20),
        t_wtr_s_cycles=c(6.25), t_wtr_l_cycles=c(12), t_wr_cycles=c(34), t_rtp_cycles=c(4.59),
        t_rfc_cycles=c(280), t_refi_cycles=c(3900), t_rtrs_cycles=c(2.5), channels=4, ranks=2,
        bank_groups=4, banks_per_group=4, rows=65536, columns=1024, device_width_bits=16, bus_width_bits=16,
        vdd_v=1.05, idd0_ma=80, idd2n_ma=34, idd3n_ma=47, idd4r_ma=243, idd4w_ma=228, idd5_ma=280,
    )


# LPDDR5-6400: 4 x16 channels, 51.2 GB/s peak, 16 GiB (Apple A17 Pro / Dimensity 9300-class phones).
LPDDR5_6400 = _lpddr5("LPDDR5-6400", 6400.0)
# LPDDR5X-8533 (JESD209-5C's top bin at release): 4 x16 channels, 68.3 GB/s peak, 16 GiB
# (Snapdragon 8 Gen 3-class phones).
LPDDR5X_8533 = _lpddr5("LPDDR5X-8533", 8533.0 + 1.0 / 3.0)

# HBM3 at 6.4 Gb/s per pin (JESD238), one 16 GiB stack: 16 channels of 64 bits, each two 32-bit
# pseudo-channels run here as 32 independent channels, BL8 (32-byte bursts), 4 bank groups x 4 banks
# and 1 KiB pages per pseudo-channel (Ramulator 2 src/dram/impl/HBM3.cpp organization: 2 pseudo-
# channels, 4 x 4 banks, 64 columns of 128 bits); 1024 bits x 6.4 Gb/s = 819.2 GB/s peak. The
# DDR model clocks at half the data rate (tCK 0.3125 ns). Array timings [ns] are HBM2's (DRAMsim3
# HBM2_8Gb_x128.ini, JESD235, tCK 1 ns: CL 14, CWL 4, tRCD 14, tRP 14, tRAS 34, tRC 48, tCCD_L 2,
# tRRD_S 4, tRRD_L 6, tFAW 30, tWTR_S 6, tWTR_L 8, tWR 16, tRTP 4, tREFI 3.9 us; Ramulator 2's HBM3
# preset is a placeholder at 2 Gb/s) with tRFC 350 ns (Ramulator 2 HBM3.cpp tRFC table, 8 Gb) and
# tCCD_S one burst; currents HBM2's at HBM3's VDD of 1.1 V (an assumption: energies are estimates).
_HBM3_TCK = 2000.0 / 6400.0
_h = functools.partial(_cycles, tck_ns=_HBM3_TCK)
HBM3 = DRAMConfig(
    name="HBM3", tck_ns=_HBM3_TCK, burst_length=8, cl_cycles=_h(14), cwl_cycles=_h(4), t_rcd_cycles=_h(14),
    t_rp_cycles=_h(14), t_ras_cycles=_h(34), t_rc_cycles=_h(48), t_ccd_s_cycles=4, t_ccd_l_cycles=_h(2),
    t_rrd_s_cycles=_h(4), t_rrd_l_cycles=_h(6), t_faw_cycles=_h(30), t_wtr_s_cycles=_h(6), t_wtr_l_cycles=_h(8),
    t_wr_cycles=_h(16), t_rtp_cycles=_h(4), t_rfc_cycles=_h(350), t_refi_cycles=_h(3900), channels=32,
    bank_groups=4, banks_per_group=4, rows=32768, columns=256, device_width_bits=32, bus_width_bits=32,
    vdd_v=1.1, idd0_ma=65, idd2n_ma=40, idd3n_ma=55, idd4r_ma=390, idd4w_ma=500, idd5_ma=250,
)

PRESETS: dict[str, DRAMConfig] = {
    c.name: c
    for c in (DDR4_3200, LPDDR4_3200_2CH_X16, LPDDR4_3200_4CH_X16, LPDDR4_3200_2CH_X32,
              LPDDR4_3200_4CH_X32, HBM2, LPDDR5_6400, LPDDR5X_8533, HBM3)
}


def preset(name: str) -> DRAMConfig:
    """A preset by name (``sorted(PRESETS)`` lists them)."""
    if name not in PRESETS:
        raise ConfigError(f"dram preset {name!r}: unknown (known: {sorted(PRESETS)})")
    return PRESETS[name]


# ------------------------------------------------------------------ results
@dataclass(frozen=True)
class DRAMStats:
    """What one run of the DRAM model reports.

    Attributes:
        reads, writes: transactions (bursts) served; ``forwarded_reads`` of the reads were answered
            from the write queue.
        bytes: bytes moved [B]; cycles: first admission to last data beat [tCK cycles];
        time_s: the same [s]; bandwidth_bytes_per_s: bytes / time_s.
        read_latency_mean_ns, read_latency_p50_ns, read_latency_p90_ns, read_latency_p99_ns:
            admission into the controller to the last data beat [ns].
        row_hits, row_misses (bank closed), row_conflicts (another row open), row_hit_rate.
        act, pre, rd, wr, ref: command counts.
        energy_j: total [J]; energy_breakdown_j: act, rd, wr, ref, background [J].
    """

    reads: int
    writes: int
    forwarded_reads: int
    bytes: int
    cycles: int
    time_s: float
    bandwidth_bytes_per_s: float
    read_latency_mean_ns: float
    read_latency_p50_ns: float
    read_latency_p90_ns: float
    read_latency_p99_ns: float
    row_hits: int
    row_misses: int
    row_conflicts: int
    act: int
    pre: int
    rd: int
    wr: int
    ref: int
    energy_j: float
    energy_breakdown_j: dict

    @property
    def row_hit_rate(self) -> float:
        n = self.row_hits + self.row_misses + self.row_conflicts
        return self.row_hits / n if n else 0.0


#: Read latencies [cycles] counted by the kernel's histogram on a first run (a longer one makes
#: it run again with room for it); 64 Ki bins: 512 KiB, far beyond a queue's worth of requests.
_HIST_CYCLES = 1 << 16

_PERCENTILES = (50, 90, 99)


def _latency_stats(hist: np.ndarray, count: int, total: int) -> tuple[float, list[float]]:
    """(mean, [p50, p90, p99]) [cycles] of ``count`` latencies given as a histogram (and their sum).

    Bit-identical to ``values.mean()`` and ``np.percentile(values, (50, 90, 99))`` (method
    'linear') of the latencies themselves, without them: the order statistics come from the
    cumulative counts, and the interpolation repeats NumPy's own floating-point steps (virtual
    index ``(n - 1) * q``, its floor, and ``_lerp``, which interpolates from the upper neighbour
    when the fraction is >= 0.5). The mean is exact: the sum of integers below 2**53 is.
    """
    if count == 0:
        return 0.0, [0.0, 0.0, 0.0]
    cum = np.cumsum(hist)
    out = []
    for q in np.true_divide(np.asarray(_PERCENTILES), 100):
        v = (count - 1) * q
        if v >= count - 1:
            out.append(float(np.searchsorted(cum, count - 1, side="right")))
            continue
        k = int(np.floor(v))
        a, b = (int(x) for x in np.searchsorted(cum, [k, k + 1], side="right"))
        g = float(v - k)
        d = float(b - a)
        out.append(float(b) - d * (1 - g) if g >= 0.5 else float(a) + d * g)
    return total / count, out


class DRAM:
    """A DRAM memory system that runs traces: ``DRAM(preset("DDR4-3200")).run(trace)``."""

    def __init__(self, config: DRAMConfig | str = "DDR4-3200") -> None:
        if isinstance(config, str):
            config = preset(config)
        if not isinstance(config, DRAMConfig):
            raise ConfigError(f"config = {describe(config)}: must be a DRAMConfig or a preset name")
        self.config = config
        self._p = config.kernel_params()
        self._fs, self._fm = config.field_bits()

    def simulate(self, addrs, is_write=False, nbytes=None, *, issue_cycles=None,
                 issue_interval_cycles: int = 0) -> DRAMStats:
        """Run requests in order.

        Args:
            addrs: byte addresses (int64 arrays are used without a copy).
            is_write: bool or 0/1 per request, or one bool for all.
            nbytes: request sizes [B] (default one burst); a request longer than a burst, or one
                crossing a burst boundary, is split into bursts.
            issue_cycles: cycle [tCK] at which each request is issued (non-decreasing); None: all
                at once, as fast as the controller's queues accept them.
            issue_interval_cycles: at least this many cycles between two admissions (a front end
                issuing one request per cycle, as DRAMsim3's trace reader does, is 1).
        """
        cfg = self.config
        a = np.asarray(addrs)
        if a.ndim != 1 or (a.size and not np.issubdtype(a.dtype, np.integer)):
            raise ConfigError(f"addrs: must be a 1-D integer array, got {a.dtype} of shape {a.shape}")
        a = a.astype(np.int64, copy=False)
        n = a.shape[0]
        if n and int(a.min()) < 0:
            raise ConfigError(f"addrs: negative address {int(a.min())} at index {int(a.argmin())}")
        w = np.asarray(is_write)
        if w.ndim == 0:
            w = np.full(n, bool(w), np.uint8)
        elif w.shape != (n,):
            raise ConfigError(f"is_write: length {w.shape[0]} != len(addrs) = {n}")
        else:
            w = w.view(np.uint8) if w.dtype == np.bool_ else w.astype(np.uint8, copy=False)
        if w.size and int(w.max()) > 1:
            raise ConfigError(f"is_write: values must be 0 or 1, got {int(w.max())}")
        cyc = np.zeros(0, np.int64)
        if issue_cycles is not None:
            cyc = np.asarray(issue_cycles)
            if cyc.shape != (n,) or (cyc.size and not np.issubdtype(cyc.dtype, np.integer)):
                raise ConfigError(f"issue_cycles: need {n} integers, got {cyc.dtype} of shape {cyc.shape}")
            cyc = cyc.astype(np.int64, copy=False)
            if n and (int(cyc[0]) < 0 or np.any(np.diff(cyc) < 0)):
                raise ConfigError("issue_cycles: must be >= 0 and non-decreasing")
        iv = issue_interval_cycles
        if isinstance(iv, bool) or not isinstance(iv, (int, np.integer)) or iv < 0:
            raise ConfigError(f"issue_interval_cycles = {describe(issue_interval_cycles)}: must be an integer >= 0")
        bb = cfg.burst_bytes
        if nbytes is not None:
            s = np.asarray(nbytes)
            if s.ndim == 0:
                s = np.full(n, int(s), np.int64)
            if s.shape != (n,) or (s.size and not np.issubdtype(s.dtype, np.integer)):
                raise ConfigError(f"nbytes: need {n} integers, got shape {s.shape}")
            if s.size and int(s.min()) < 1:
                raise ConfigError(f"nbytes: sizes must be >= 1, got {int(s.min())}")
            first = a // bb
            count = (a + s - 1) // bb - first + 1
            if s.size and int(count.max()) > 1:
                # split into bursts (a copy only when some request needs it)
                idx = np.repeat(np.arange(n), count)
                off = np.arange(idx.shape[0]) - np.repeat(np.cumsum(count) - count, count)
                a = (first[idx] + off) * bb
                w = w[idx]
                cyc = cyc[idx] if cyc.size else cyc
                n = a.shape[0]
        return self._run(a, w, cyc, int(issue_interval_cycles))

    def run(self, trace, *, issue_interval_cycles: int = 0) -> DRAMStats:
        """Run a :class:`smaug_fast.traces.Trace`: its reads and writes (flush/invalidate requests
        are cache operations and are skipped), with its issue cycles when it has them."""
        keep = trace.rw <= 1
        t = trace if keep.all() else trace[keep]
        return self.simulate(t.addr, t.rw, t.nbytes, issue_cycles=t.cycle,
                             issue_interval_cycles=issue_interval_cycles)

    def _run(self, a, w, cyc, interval) -> DRAMStats:
        cfg = self.config
        n = a.shape[0]
        st = np.zeros(_k.S_N, np.int64)
        hist = np.zeros(_HIST_CYCLES, np.int64)
        if n:
            _k.simulate(a, w, cyc, interval, self._p, self._fs, self._fm, hist, st)
            top = int(st[_k.S_LAT_MAX])
            if top >= hist.shape[0]:
                # a latency beyond the histogram (rare): the same run with room for all of them
                st[:] = 0
                hist = np.zeros(top + 1, np.int64)
                _k.simulate(a, w, cyc, interval, self._p, self._fs, self._fm, hist, st)
        reads = int(st[_k.S_READS])
        cycles = int(st[_k.S_END] - st[_k.S_FIRST]) if n else 0
        tck = cfg.tck_ns
        time_s = cycles * tck * 1e-9
        nbytes = n * cfg.burst_bytes
        mean, pct = _latency_stats(hist, reads, int(st[_k.S_LAT_SUM]))
        energy = self._energy(st, cycles)
        return DRAMStats(
            reads=reads,
            writes=int(st[_k.S_WRITES]),
            forwarded_reads=int(st[_k.S_FORWARDED]),
            bytes=nbytes,
            cycles=cycles,
            time_s=time_s,
            bandwidth_bytes_per_s=nbytes / time_s if time_s > 0 else 0.0,
            read_latency_mean_ns=mean * tck,
            read_latency_p50_ns=pct[0] * tck,
            read_latency_p90_ns=pct[1] * tck,
            read_latency_p99_ns=pct[2] * tck,
            row_hits=int(st[_k.S_HITS]),
            row_misses=int(st[_k.S_MISSES]),
            row_conflicts=int(st[_k.S_CONFLICTS]),
            act=int(st[_k.S_ACT]),
            pre=int(st[_k.S_PRE]),
            rd=int(st[_k.S_RD]),
            wr=int(st[_k.S_WR]),
            ref=int(st[_k.S_REF]),
            energy_j=sum(energy.values()),
            energy_breakdown_j=energy,
        )

    def _energy(self, st, cycles: int) -> dict[str, float]:
        """DRAMPower-style energy [J]: currents [mA] x VDD [V] x time [ns] -> pJ, per device.

        ACT+PRE pair: (IDD0 tRC - IDD3N tRAS - IDD2N (tRC - tRAS)); read/write burst:
        (IDD4R/W - IDD3N) per burst; refresh: (IDD5 - IDD3N) tRFC; background: IDD3N while a row is
        open (the summed open time of banks, capped at the run's length per rank), IDD2N otherwise.
        """
        c = self.config
        t = c.tck_ns
        dev = c.devices_per_rank * c.vdd_v * 1e-12  # mA * V * ns = pJ
        e_act = (c.idd0_ma * c.t_rc_cycles - c.idd3n_ma * c.t_ras_cycles
                 - c.idd2n_ma * (c.t_rc_cycles - c.t_ras_cycles)) * t
        e_rd = (c.idd4r_ma - c.idd3n_ma) * c.burst_cycles * t
        e_wr = (c.idd4w_ma - c.idd3n_ma) * c.burst_cycles * t
        e_ref = (c.idd5_ma - c.idd3n_ma) * c.t_rfc_cycles * t
        ranks = c.channels * c.ranks
        total = ranks * cycles
        active = min(int(st[_k.S_OPEN_CYCLES]), total)
        background = (c.idd3n_ma * active + c.idd2n_ma * (total - active)) * t
        return {
            "act": max(e_act, 0.0) * int(st[_k.S_ACT]) * dev,
            "rd": e_rd * int(st[_k.S_RD]) * dev,
            "wr": e_wr * int(st[_k.S_WR]) * dev,
            "ref": e_ref * int(st[_k.S_REF]) * dev,
            "background": background * dev,
        }
