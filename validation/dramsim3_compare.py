"""smaug_fast's DRAM model against DRAMsim3 (cycle-accurate, umd-memsys) on every preset.

    python validation/dramsim3_compare.py [--requests N] [--presets NAME ...]

Builds DRAMsim3 under validation/.dramsim3 first if needed (validation/build_dramsim3.sh; set
DRAMSIM3_SRC to a local clone when the machine has no network). For each preset it writes a
DRAMsim3 .ini with the same organization, timings, currents and address mapping (ours, MSB first)
and DRAMsim3's own controller (32-entry transaction queues, 8-entry command queues per bank, as in
every one of its configs/*.ini; our presets' queues are what that controller reorders, 32 + 8 x banks
per channel), then runs three saturating streams, as fast as possible, one
transaction per cycle from the front end (DRAMsim3's trace reader; ``issue_interval_cycles=1``):

* ``seq``: sequential reads of one burst each;
* ``random``: reads of uniformly random bursts;
* ``copy``: a read and a write alternating (a memcpy between two buffers 1 GiB apart, or half the
  memory when it is smaller).

DRAMsim3 runs for 70 % of the cycles our model needs for the whole trace, so that it is saturated
throughout; its bandwidth is (reads + writes done) x burst bytes / simulated time, ours is all bytes
over our run time. Tolerance: 10 % on bandwidth. Row-hit rates and the loaded read latency are
printed beside (the latter depends on each controller's queue depths: DRAMsim3 adds 8-entry
per-bank command queues behind its 32-entry transaction queues).

Unloaded read latency: a closed-bank read, then a row hit (or a row conflict) 300 cycles later;
DRAMsim3 reports the average of the two, from which the second one's is recovered. Both are checked
against the JEDEC arithmetic (CL + burst, + tRCD, + tRP) and the numbers of the issue (about
17/31/45 ns DDR4-3200, 26/44/62 ns LPDDR4-3200), within 10 %.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from smaug_fast.memory import DRAM, PRESETS, DRAMConfig

HERE = Path(__file__).resolve().parent
ISSUE_UNLOADED_NS = {  # issue 6: "about 17/31/45 ns for DDR4-3200 and 26/44/62 ns for LPDDR4-3200"
    "DDR4": (17, 31, 45),
    "LPDDR4": (26, 44, 62),
}


def dramsim3_binary() -> Path:
    exe = HERE / ".dramsim3" / "build" / "dramsim3main"
    if not exe.exists():
        subprocess.run(["bash", str(HERE / "build_dramsim3.sh")], check=True)
    return exe


#: The protocols DRAMsim3 models (src/configuration.cc protocol_pairs, HMC aside); LPDDR5 is not one.
DRAMSIM3_PROTOCOLS = {"DDR3", "DDR4", "GDDR5", "GDDR5X", "GDDR6", "LPDDR", "LPDDR3", "LPDDR4", "HBM", "HBM2"}


def protocol(cfg: DRAMConfig) -> str:
    return "HBM" if cfg.name.startswith("HBM") else cfg.name.split("-")[0]



def write_ini(cfg: DRAMConfig, path: Path) -> None:
    per_channel_mb = cfg.size_bytes // cfg.channels // (1 << 20)
    t = {
        "tCK": cfg.tck_ns, "AL": 0, "CL": cfg.cl_cycles, "CWL": cfg.cwl_cycles,
        "tRCD": cfg.t_rcd_cycles, "tRCDRD": cfg.t_rcd_cycles, "tRCDWR": cfg.t_rcd_cycles,
        "tRP": cfg.t_rp_cycles, "tRAS": cfg.t_ras_cycles, "tRFC": cfg.t_rfc_cycles,
        "tREFI": cfg.t_refi_cycles, "tRPRE": 1, "tWPRE": 1, "tRRD_S": cfg.t_rrd_s_cycles,
        "tRRD_L": cfg.t_rrd_l_cycles, "tWTR_S": cfg.t_wtr_s_cycles, "tWTR_L": cfg.t_wtr_l_cycles,
        "tFAW": cfg.t_faw_cycles, "tWR": cfg.t_wr_cycles, "tRTP": cfg.t_rtp_cycles,
        "tRTP_S": cfg.t_rtp_cycles, "tRTP_L": cfg.t_rtp_cycles, "tCCD_S": cfg.t_ccd_s_cycles,
        "tCCD_L": cfg.t_ccd_l_cycles, "tCKE": 8, "tCKESR": 9, "tXS": cfg.t_rfc_cycles + 16,
        "tXP": 10, "tRTRS": cfg.t_rtrs_cycles,
    }
    lines = [
        "[dram_structure]", f"protocol = {protocol(cfg)}", f"bankgroups = {cfg.bank_groups}",
        f"banks_per_group = {cfg.banks_per_group}", f"rows = {cfg.rows}",
        # DRAMsim3 doubles an HBM file's columns (2n prefetch): give it half of ours
        f"columns = {cfg.columns // 2 if protocol(cfg) == 'HBM' else cfg.columns}",
        f"device_width = {cfg.device_width_bits}", f"BL = {cfg.burst_length}", "",
        "[timing]", *[f"{k} = {v}" for k, v in t.items()], "",
        "[power]", f"VDD = {cfg.vdd_v}", f"IDD0 = {cfg.idd0_ma}", "IPP0 = 0", "IDD2P = 0",
        f"IDD2N = {cfg.idd2n_ma}", "IDD3P = 0", f"IDD3N = {cfg.idd3n_ma}", f"IDD4W = {cfg.idd4w_ma}",
        f"IDD4R = {cfg.idd4r_ma}", f"IDD5AB = {cfg.idd5_ma}", "IDD6x = 0", "",
        "[system]", f"channel_size = {per_channel_mb}", f"channels = {cfg.channels}",
        f"bus_width = {cfg.bus_width_bits}", f"address_mapping = {cfg.address_mapping}",
        "queue_structure = PER_BANK", "refresh_policy = RANK_LEVEL_STAGGERED",
        f"row_buf_policy = {'OPEN_PAGE' if cfg.open_page else 'CLOSE_PAGE'}", "cmd_queue_size = 8",
        "trans_queue_size = 32", "unified_queue = False", "",
        "[other]", "epoch_period = 100000000", "output_level = 1", "",
    ]
    path.write_text("\n".join(lines))


def run_dramsim3(exe: Path, ini: Path, addrs, writes, cycles, issue, workdir: Path) -> dict:
    trace = workdir / "trace.txt"
    ops = np.where(writes, "WRITE", "READ")
    trace.write_text("".join(f"0x{a:x} {o} {c}\n" for a, o, c in zip(addrs.tolist(), ops.tolist(), issue.tolist())))
    out = workdir / "out"
    out.mkdir(exist_ok=True)
    subprocess.run([str(exe), str(ini), "-c", str(int(cycles)), "-t", str(trace), "-o", str(out)],
                   check=True, capture_output=True)
    data = json.loads((out / "dramsim3.json").read_text())
    chans = list(data.values())
    tot = {k: sum(c[k] for c in chans) for k in ("num_reads_done", "num_writes_done", "num_read_row_hits",
                                                   "num_write_row_hits", "num_read_cmds", "num_write_cmds",
                                                   "num_act_cmds", "total_energy")}
    reads = max(tot["num_reads_done"], 1)
    tot["average_read_latency"] = sum(c["average_read_latency"] * c["num_reads_done"] for c in chans) / reads
    tot["cycles"] = chans[0]["num_cycles"]
    # exact per-read latencies [cycles] (DRAMsim3 keeps a histogram keyed by value)
    tot["latencies"] = sorted(
        int(v)
        for c in chans
        for v, k in (c.get("read_latency") or {}).items()
        if v.lstrip("-").isdigit()
        for _ in range(k)
    )
    return tot


def workloads(cfg: DRAMConfig, n: int, seed: int = 0):
    bb = cfg.burst_bytes
    rng = np.random.default_rng(seed)
    seq = np.arange(n, dtype=np.int64) * bb
    rnd = rng.integers(0, cfg.size_bytes // bb, n).astype(np.int64) * bb
    half = n // 2
    cp = np.empty(2 * half, np.int64)
    cp[0::2] = seq[:half]
    cp[1::2] = seq[:half] + min(1 << 30, cfg.size_bytes // 2)  # never onto itself
    cw = np.zeros(2 * half, bool)
    cw[1::2] = True
    return {"seq": (seq, np.zeros(n, bool)), "random": (rnd, np.zeros(n, bool)), "copy": (cp, cw)}


def unloaded(cfg: DRAMConfig, exe: Path, workdir: Path) -> dict[str, tuple[float, float]]:
    """{case: (ours [ns], DRAMsim3 [ns])} for a closed bank, a row hit and a row conflict."""
    d = DRAM(cfg)
    bb = cfg.burst_bytes
    fs, fm = cfg.field_bits()
    row_step = 1 << int(fs[4])  # next row, same channel/bank
    col_step = 1 << int(fs[5])  # next column, same row
    ini = workdir / "u.ini"
    write_ini(cfg, ini)
    res = {}
    # DRAMsim3's trace reader issues the file's last line twice (end-of-file quirk): each trace ends
    # with a read due long after the simulated window, so that neither it nor its copy issues.
    never = 10**7

    def ds_latencies(addrs, issue, cycles):
        a = np.append(np.asarray(addrs, np.int64), 1 << 20)
        t = np.append(np.asarray(issue, np.int64), never)
        return run_dramsim3(exe, ini, a, np.zeros(len(a), bool), cycles, t, workdir)["latencies"]

    closed_ds = ds_latencies([0], [0], 1000)[0]
    ours_closed = d.simulate(np.array([0]), issue_cycles=np.array([0])).read_latency_mean_ns
    res["closed"] = (ours_closed, closed_ds * cfg.tck_ns)
    for case, second in (("row_hit", col_step), ("conflict", row_step)):
        addrs = np.array([0, second], np.int64)
        issue = np.array([0, 300])
        lats = ds_latencies(addrs, issue, 1300)
        lats.remove(min(lats, key=lambda v: abs(v - closed_ds)))  # the first read
        st = d.simulate(addrs, issue_cycles=issue)
        ours_second = 2 * st.read_latency_mean_ns - ours_closed
        res[case] = (ours_second, lats[0] * cfg.tck_ns)
    return res


#: Beyond the presets: one HBM2 channel, whose controller (not the one-request-per-cycle front end)
#: limits the loaded streams.
EXTRA = {"HBM2-1ch": dataclasses.replace(PRESETS["HBM2"], name="HBM2-1ch", channels=1),
         # DRAMsim3's DDR4_8Gb_x8_3200.ini has two ranks per channel (16 GB of x8 devices on 64 bits)
         "DDR4-3200-2rank": dataclasses.replace(PRESETS["DDR4-3200"], name="DDR4-3200-2rank", ranks=2)}
CONFIGS = {**PRESETS, **EXTRA}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=40_000)
    ap.add_argument("--presets", nargs="*", default=sorted(PRESETS),
                    help=f"presets and extra configurations ({sorted(EXTRA)}) to compare")
    ap.add_argument("--extra", action="store_true", help="also the extra configurations")
    args = ap.parse_args(argv)
    if args.extra:
        args.presets = [*args.presets, *sorted(EXTRA)]
    exe = dramsim3_binary()
    failures = 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name in args.presets:
            cfg = CONFIGS[name]
            if protocol(cfg) not in DRAMSIM3_PROTOCOLS:
                print(f"{name:20s} not compared: DRAMsim3 has no {protocol(cfg)} model", flush=True)
                continue
            ini = work / f"{name}.ini"
            write_ini(cfg, ini)
            d = DRAM(cfg)
            for wname, (addrs, writes) in workloads(cfg, args.requests).items():
                ours = d.simulate(addrs, writes, issue_interval_cycles=1)
                cycles = int(ours.cycles * 0.7)
                ds = run_dramsim3(exe, ini, addrs, writes, cycles, np.zeros(len(addrs), np.int64), work)
                done = ds["num_reads_done"] + ds["num_writes_done"]
                ds_bw = done * cfg.burst_bytes / (ds["cycles"] * cfg.tck_ns * 1e-9)
                ds_hits = (ds["num_read_row_hits"] + ds["num_write_row_hits"]) / max(
                    ds["num_read_cmds"] + ds["num_write_cmds"], 1
                )
                err = ours.bandwidth_bytes_per_s / ds_bw - 1
                ok = abs(err) <= 0.10
                failures += not ok
                rows.append((name, wname, ours.bandwidth_bytes_per_s / 1e9, ds_bw / 1e9, err, ok,
                             ours.row_hit_rate, ds_hits, ours.read_latency_mean_ns,
                             ds["average_read_latency"] * cfg.tck_ns))
                print(f"{name:20s} {wname:7s} BW ours {rows[-1][2]:7.2f} GB/s  DRAMsim3 {rows[-1][3]:7.2f}  "
                      f"{err:+6.1%} {'ok' if ok else 'FAIL'}   row hits {ours.row_hit_rate:5.2f} / {ds_hits:5.2f}   "
                      f"loaded read latency {rows[-1][8]:7.1f} / {rows[-1][9]:7.1f} ns", flush=True)
            u = unloaded(cfg, exe, work)
            ref = ISSUE_UNLOADED_NS.get(protocol(cfg))
            jedec = cfg.unloaded_latency_ns()
            for i, case in enumerate(("row_hit", "closed", "conflict")):
                ours_ns, ds_ns = u[case]
                ok = abs(ours_ns / ds_ns - 1) <= 0.10 and abs(ours_ns / jedec[case] - 1) <= 0.10
                if ref is not None:
                    ok = ok and abs(ours_ns / ref[i] - 1) <= 0.10
                failures += not ok
                print(f"{name:20s} unloaded {case:8s} ours {ours_ns:5.1f} ns  DRAMsim3 {ds_ns:5.1f}  "
                      f"JEDEC {jedec[case]:5.1f}" + (f"  issue ~{ref[i]}" if ref else "")
                      + f"  {'ok' if ok else 'FAIL'}",
                      flush=True)
    print(f"\n{failures} comparison(s) outside tolerance")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
