"""The issue-8 benchmark sweep: SMAUG's 7 image networks x interface x accelerators x threads x L2 sizes
x DMA outstanding requests (7 x 3 x 4 x 4 x 3 x 5 = 5,040 points by default; --dma 10 for 10,080).

Prints points per second for 1 and 2 (or --workers) processes. Run: ``python benchmarks/bench_sweep.py``.
"""

from __future__ import annotations

import argparse
import time

from smaug_fast import presets, sweep, zoo

NETWORKS = list(zoo.PAPER_NETWORKS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--dma", type=int, default=5, help="values of dma.max_outstanding (5 or 10)")
    ap.add_argument("--networks", default=",".join(NETWORKS))
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
    for w in args.workers:
        t = time.perf_counter()
        sweep(nets, base, axes, executor="processes", workers=w, progress=False)
        dt = time.perf_counter() - t
        print(f"{w} worker(s): {total} points in {dt:.1f} s = {total / dt:.0f} points/s")


if __name__ == "__main__":
    main()
