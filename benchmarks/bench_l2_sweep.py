"""The issue-16 memory-system sweep: ResNet50 on smaug-table2 over 8 L2 sizes x 4 associativities x 2 line
sizes x 3 DRAM presets = 192 points, through the public ``smaug_fast.sweep``.

    python benchmarks/bench_l2_sweep.py [--workers 1 2] [--network resnet50] [--check]

The line size is one axis that sets ``l1d.line_bytes``, ``l2.line_bytes`` and ``acp.line_bytes`` together
(``zip_axes``): gem5's ``--cacheline_size`` is one value for the whole system, and SMAUG's run.sh sets it
once. The L2 sizes start at 128 KiB (the L1D is 64 KiB and may not be larger than the L2).

Prints the wall time of each number of worker processes (each in a fresh process pool, kernels compiled
already: one untimed point runs first). ``--check`` then simulates every point alone (``simulate`` after
``clear_caches()``) and reports any variable that differs from the sweep's value (exit status 1 if one does).
Target (issue 16): under 10 s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from smaug_fast import presets, simulate, sweep, zoo
from smaug_fast.sim import VARIABLES, clear_caches
from smaug_fast.sweeps import points

KiB = 1024
AXES = {
    "l2.size_bytes": [128 * KiB << i for i in range(8)],  # 128 KiB ... 16 MiB
    "l2.ways": [4, 8, 16, 32],
    "l1d.line_bytes": [32, 64],
    "l2.line_bytes": [32, 64],
    "acp.line_bytes": [32, 64],
    "dram": ["LPDDR4-3200-4ch-x16", "DDR4-3200", "HBM2"],
}
ZIP = [["l1d.line_bytes", "l2.line_bytes", "acp.line_bytes"]]


def check(network: str, base, ds) -> int:
    """Simulate every point alone and compare it with the sweep's row; the number of differing values."""
    graph = zoo.load(network)
    pts, _, _ = points([network], AXES, ZIP)
    bad = 0
    for net, changes in pts:
        clear_caches(tiling=False)  # the memory pass and the timing redone; the tiling plans kept
        r = simulate(graph, base.replace(**changes), timeline=False).scalars()
        sel = {"network": net, "l2.size_bytes": changes["l2.size_bytes"], "l2.ways": changes["l2.ways"],
               "dram": changes["dram"]}
        row = ds.sel(sel)
        # the zipped line-size dimension is indexed by position
        dim = [d for d in row.dims if d not in sel]
        k = AXES["l2.line_bytes"].index(changes["l2.line_bytes"])
        row = row.isel({dim[0]: k}) if dim else row
        for name in VARIABLES:
            a, b = float(row[name].values), float(r[name])
            if not (a == b or (np.isnan(a) and np.isnan(b))):
                bad += 1
                print(f"DIFFERS {changes} {name}: sweep {a!r} alone {b!r}")
    print(f"check: {len(pts)} points x {len(VARIABLES)} variables, {bad} differ")
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--network", default="resnet50")
    ap.add_argument("--check", action="store_true", help="compare every point with simulate of it alone")
    args = ap.parse_args()
    base = presets.load("smaug-table2")
    total = 1
    for a, v in AXES.items():
        if a not in ZIP[0][1:]:
            total *= len(v)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{args.network}: {total} points; load average {load:.2f} on {os.cpu_count()} CPUs")
    simulate(zoo.load(args.network), base, timeline=False)  # compile or load the kernels
    ds = None
    for w in args.workers:
        clear_caches()
        t = time.perf_counter()
        ds = sweep(args.network, base, AXES, zip_axes=ZIP, executor="processes", workers=w, progress=False)
        dt = time.perf_counter() - t
        print(f"{w} worker(s): {total} points in {dt:.2f} s = {total / dt:.1f} points/s")
    if args.check:
        if ds is None:
            ds = sweep(args.network, base, AXES, zip_axes=ZIP, executor="serial", progress=False)
        sys.exit(1 if check(args.network, base, ds) else 0)


if __name__ == "__main__":
    main()
