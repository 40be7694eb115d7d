"""The issue-8 benchmark sweep: SMAUG's 7 image networks x interface x accelerators x threads x L2 sizes
x DMA outstanding requests (7 x 3 x 4 x 4 x 3 x 5 = 5,040 points by default; --dma 10 for 10,080).

    python benchmarks/bench_sweep.py [--dma 10] [--workers 1 2 ...] [--networks a,b] [--memo]

Prints points per second for each number of worker processes. ``--memo`` measures instead what
memoization saves: the same points in one process, once as ``sweep`` runs them (memory passes,
tiling plans and prepared arrays reused by the points that share them) and once with every memoized
result cleared before each point (``smaug_fast.sim.clear_caches``: each point simulated afresh).
"""

from __future__ import annotations

import argparse
import os
import time

from smaug_fast import presets, simulate, sweep, zoo
from smaug_fast.sim import clear_caches
from smaug_fast.sweeps import points

NETWORKS = list(zoo.PAPER_NETWORKS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--dma", type=int, default=5, help="values of dma.max_outstanding (1 to 10)")
    ap.add_argument("--networks", default=",".join(NETWORKS))
    ap.add_argument("--memo", action="store_true", help="time the points with and without memoization")
    args = ap.parse_args()
    axes = {
        "interface": ["dma", "acp", "acp_dma_weights"],
        "num_accelerators": [1, 2, 4, 8],
        "cpu_threads": [1, 2, 4, 8],
        "l2.size_bytes": ["1MiB", "2MiB", "4MiB"],
        "dma.max_outstanding": [4, 8, 16, 32, 64, 2, 6, 12, 24, 48][: args.dma],
    }
    nets = args.networks.split(",")
    total = len(nets)
    for v in axes.values():
        total *= len(v)
    base = presets.load("smaug-table2")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{total} points ({', '.join(nets)}); load average {load:.2f} on {os.cpu_count()} CPUs")
    if args.memo:
        t = time.perf_counter()
        sweep(nets, base, axes, executor="serial", progress=False)
        memo = time.perf_counter() - t
        pts, _, _ = points(nets, axes)
        graphs = {n: zoo.load(n) for n in nets}
        t = time.perf_counter()
        for net, changes in pts:
            clear_caches()
            simulate(graphs[net], base.replace(**changes), timeline=False)
        fresh = time.perf_counter() - t
        print(f"memoized (sweep, 1 process): {memo:.1f} s = {total / memo:.0f} points/s")
        print(f"every point afresh:          {fresh:.1f} s = {total / fresh:.1f} points/s")
        print(f"memoization saves {100 * (1 - memo / fresh):.1f} % of the time ({fresh / memo:.0f}x faster)")
        return
    for w in args.workers:
        t = time.perf_counter()
        sweep(nets, base, axes, executor="processes", workers=w, progress=False)
        dt = time.perf_counter() - t
        print(f"{w} worker(s): {total} points in {dt:.1f} s = {total / dt:.0f} points/s")


if __name__ == "__main__":
    main()
