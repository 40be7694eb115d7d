"""End-to-end simulation speed: every network of the zoo on the paper's baseline SoC.

    python benchmarks/bench_simulate.py [--repeat N] [--networks NAME ...]

Per network, in one process after one untimed run (Numba kernels compiled or loaded from cache):

- **fresh**: ``smaug_fast.sim.clear_caches()`` before each run, so everything but the compiled
  kernels is redone: tiling plans, schedules, invocation costs, the memory pass (every tiling copy,
  flush and transfer through the cache model, no sampling) and the timing model. This is the honest
  "warm" time of one simulation.
- **fresh pass**: ``clear_caches(tiling=False)``: the memory pass and the timing model redone, the
  tiling plans, schedules and invocation costs (which depend on the ops and the accelerator only)
  kept: what a sweep over caches or DRAM sees.
- **memo**: the memory pass and the lowerings memoized (what a sweep over threads, accelerators, DMA
  or clock parameters sees after its first point).

Best of ``--repeat`` runs, wall clock and CPU seconds of this process (the fairer figure on a machine
shared with other jobs). Targets (issue 7): ResNet50 fresh < 1 s, Minerva fresh < 20 ms. SMAUG needs
5.1 h (ResNet50) and 1.9 min (Minerva) with sampling (paper, Fig. 9: Xeon E5-2697 v3).
"""

from __future__ import annotations

import argparse
import os
import time

from smaug_fast import presets, simulate, zoo
from smaug_fast.sim import clear_caches

NETWORKS = ("minerva", "lenet5", "cnn10", "vgg16", "elu16", "elu24", "resnet50", "lstm", "bidi_lstm")
#: SMAUG's simulation time per network [s] (paper Fig. 9, smaug_published.json).
SMAUG_S = {"minerva": 0.032 * 3600, "lenet5": 0.097 * 3600, "cnn10": 0.315 * 3600, "vgg16": 0.813 * 3600,
           "elu16": 0.495 * 3600, "elu24": 1.886 * 3600, "resnet50": 5.1 * 3600}
TARGETS = {"resnet50": 1.0, "minerva": 0.020}


def best(fn, repeat: int) -> tuple[float, float]:
    """(best wall seconds, best CPU seconds) of ``repeat`` calls of ``fn``."""
    walls, cpus = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--networks", nargs="*", default=list(NETWORKS), choices=NETWORKS)
    args = ap.parse_args()
    system = presets.load("smaug-table2")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"smaug-table2 baseline (1 SMV, DMA, 1 thread); best of {args.repeat}; load average {load:.2f} "
          f"on {os.cpu_count()} CPUs")
    print(f"{'network':9s} {'fresh wall':>11s} {'fresh CPU':>10s} {'pass wall':>10s} {'memo wall':>10s}"
          f" {'memo CPU':>9s} {'latency':>10s}  {'vs SMAUG':>9s}  target (fresh wall)")
    for name in args.networks:
        g = zoo.load(name)
        result = simulate(g, system)  # compile or load the kernels

        def fresh():
            clear_caches()
            simulate(g, system)

        f_wall, f_cpu = best(fresh, args.repeat)

        def fresh_pass():
            clear_caches(tiling=False)
            simulate(g, system)

        p_wall, _ = best(fresh_pass, args.repeat)
        simulate(g, system)
        m_wall, m_cpu = best(lambda: simulate(g, system), args.repeat)
        ratio = f"{SMAUG_S[name] / f_wall:9.0f}x" if name in SMAUG_S else " " * 10
        target = TARGETS.get(name)
        verdict = "" if target is None else f"< {target * 1e3:.0f} ms: {'yes' if f_wall < target else 'NO'}"
        print(f"{name:9s} {f_wall * 1e3:9.1f}ms {f_cpu * 1e3:8.1f}ms {p_wall * 1e3:8.1f}ms {m_wall * 1e3:8.1f}ms"
              f" {m_cpu * 1e3:7.1f}ms"
              f" {result.latency_s * 1e3:8.2f}ms {ratio}  {verdict}")


if __name__ == "__main__":
    main()
