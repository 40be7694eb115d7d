"""A sweep and its figures: accelerators x threads x interface for two networks, then a heatmap, lines
and the Fig. 1-style breakdown, as the README's "Sweeps" and "Plots" sections show them.

Run it: ``python examples/sweep_and_plot.py [OUT_DIR]`` (default: the current folder; needs the
``[plot]`` extra). It writes ``sweep.nc`` and three PNG files there and prints what it wrote.
"""

from __future__ import annotations

import sys
from pathlib import Path

from smaug_fast import plot, presets, simulate, sweep, zoo


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    base = presets.load("smaug-table2")
    ds = sweep(["lenet5", "cnn10"], base,
               {"interface": ["dma", "acp"], "num_accelerators": [1, 2, 4], "cpu_threads": [1, 2, 4]},
               executor="serial", store=out / "sweep.nc", progress=False)
    best = ds["latency_s"].min(dim=("num_accelerators", "cpu_threads"))
    print(best.to_pandas() if hasattr(best, "to_pandas") else best)  # the best latency per network and interface
    plot.sweep_map(ds, "latency_s", "num_accelerators", "cpu_threads", out / "map.png",
                   network="cnn10", interface="acp")
    plot.sweep_map(ds, "latency_s", "cpu_threads", None, out / "lines.png", hue="network",
                   interface="dma", num_accelerators=1, scale="relative")
    results = {n: simulate(zoo.load(n), base) for n in ("minerva", "lenet5", "cnn10")}
    plot.breakdown(results, out / "breakdown.png")
    for name in ("sweep.nc", "map.png", "lines.png", "breakdown.png"):
        print(out / name)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("."))
