"""Scenario speed: SMAUG's camera case study (camera_pipe at 1280x720 on the CPU, then CNN10 on an 8x8
systolic array, 30 FPS) for 1 and 100 frames.

    python benchmarks/bench_scenario.py [--repeat N] [--frames 1 100] [--array 8x8]

In one process after one untimed run (Numba kernels compiled or loaded from cache), best of ``--repeat``:

- **fresh**: ``smaug_fast.sim.clear_caches()`` before each run: the camera pipeline's plan and memory pass
  (every row of every strip through the private L1Ds and the shared LLC), CNN10's tiling, memory pass and
  timing, both profiles, the schedule of every frame, the back-to-back run for the achievable FPS and the
  time series (``timeseries()``, 1000 bins) are all redone;
- **memo**: the same with the memoized stages kept (what a second scenario on the same hardware sees).

Wall clock and CPU seconds of this process. Targets (issue 18): one frame < 1 s of CPU, 100 frames < 5 s.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys

from smaug_fast import Scenario, Task, presets, simulate_scenario, zoo
from smaug_fast.accelerators.systolic_array import PAPER_ARRAY, SystolicArray
from smaug_fast.pipelines import camera_pipe
from smaug_fast.sim import clear_caches

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_simulate import best  # noqa: E402  (one timing loop for every benchmark)

TARGETS_CPU_S = {1: 1.0, 100: 5.0}


def run(scenario, system) -> float:
    r = simulate_scenario(scenario, system)
    r.timeseries(1000)
    return float(r.frames.latency_s.mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--frames", type=int, nargs="*", default=[1, 100])
    ap.add_argument("--array", default="8x8", help="systolic array rows x columns")
    args = ap.parse_args()
    rows, cols = (int(v) for v in args.array.split("x"))
    system = presets.load("smaug-table2", accelerator=SystolicArray(array=dataclasses.replace(PAPER_ARRAY, rows=rows,
                                                                                                cols=cols)))
    tasks = (Task("camera", camera_pipe(1280, 720)), Task("cnn10", zoo.load("cnn10"), after=("camera",)))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"camera_pipe 1280x720 + CNN10 on a {args.array} systolic array, 30 FPS; best of {args.repeat}; "
          f"load average {load:.2f} on {os.cpu_count()} CPUs")
    run(Scenario(tasks, period_s=1 / 30, frames=2), system)  # untimed: kernels compiled or loaded
    print(f"{'frames':>6} {'fresh wall':>11} {'fresh CPU':>10} {'memo wall':>10} {'memo CPU':>9} {'frame ms':>9}  target")
    for n in args.frames:
        scenario = Scenario(tasks, period_s=1 / 30, frames=n)
        frame_s = run(scenario, system)
        fw, fc = best(lambda: (clear_caches(), run(scenario, system)), args.repeat)  # as bench_simulate's fresh
        mw, mc = best(lambda: run(scenario, system), args.repeat)
        target = TARGETS_CPU_S.get(n)
        verdict = f"< {target:g} s CPU: {'met' if fc < target else 'MISSED'}" if target else ""
        print(f"{n:6d} {fw:10.3f}s {fc:9.3f}s {mw:9.3f}s {mc:8.3f}s {frame_s * 1e3:9.3f}  {verdict}")


if __name__ == "__main__":
    main()
