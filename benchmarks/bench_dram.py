"""DRAM model speed: requests per second on sequential, random and copy streams, every preset.

    python benchmarks/bench_dram.py [--requests N]

Each stream runs as fast as possible (no issue cycles) through a fresh model; the rate is the best
of two runs, by wall clock and per CPU second of this process (the fairer figure on a shared
machine); the extra memory is tracemalloc's peak while the model runs (its outputs: one int64
latency per request, and its queues). Target (issue 6): >= 10 M requests/s; DRAMsim3 runs at about
0.1 M/s on the same streams (validation/dramsim3_compare.py times them).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc

import numpy as np

from smaug_fast.memory import DRAM, PRESETS


def streams(cfg, n: int, seed: int = 0):
    bb = cfg.burst_bytes
    rng = np.random.default_rng(seed)
    seq = np.arange(n, dtype=np.int64) * bb
    rnd = rng.integers(0, cfg.size_bytes // bb, n).astype(np.int64) * bb
    cp = np.empty(n, np.int64)
    cp[0::2] = seq[: (n + 1) // 2]
    cp[1::2] = seq[: n // 2] + min(1 << 30, cfg.size_bytes // 2)
    cw = np.zeros(n, bool)
    cw[1::2] = True
    return {"seq read": (seq, False), "random read": (rnd, False), "copy r+w": (cp, cw)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=5_000_000)
    ap.add_argument("--presets", nargs="*", default=list(PRESETS), choices=list(PRESETS))
    args = ap.parse_args(argv)
    n = args.requests
    print(f"{n:,} requests per stream, as fast as possible")
    for name in args.presets:
        cfg = PRESETS[name]
        d = DRAM(cfg)
        d.simulate(np.arange(64, dtype=np.int64) * cfg.burst_bytes)  # compile / load
        for sname, (addrs, writes) in streams(cfg, n).items():
            best = best_cpu = float("inf")
            for _ in range(2):
                tracemalloc.start()
                t, c = time.perf_counter(), time.process_time()
                st = d.simulate(addrs, writes)
                dt, dc = time.perf_counter() - t, time.process_time() - c
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                best, best_cpu = min(best, dt), min(best_cpu, dc)
            print(f"{name:20s} {sname:12s} {n / best / 1e6:6.1f} M req/s wall, {n / best_cpu / 1e6:6.1f} per CPU s "
                  f"(target 10)  {st.bandwidth_bytes_per_s / 1e9:6.1f} GB/s, row hits {st.row_hit_rate:.2f}, "
                  f"extra memory {peak / 1e6:.0f} MB ({peak / n:.1f} B/request)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
