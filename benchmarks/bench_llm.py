"""LLM simulation speed (issue 19): a TinyLlama decode step, a whole generation, a 1,000-point sweep.

    python benchmarks/bench_llm.py [--repeat N] [--skip-sweep] [--workers N]

In one process after one untimed run (Numba kernels compiled or loaded from their cache), on the
``soc-2026-lpddr5`` preset, best of ``--repeat`` (wall clock; CPU seconds beside):

- **decode step fresh**: ``clear_caches()`` then ``simulate`` of TinyLlama 1.1B's decode step after a
  512-token KV cache (tiling plans, the memory pass through the caches, the timing model: all redone).
- **decode step reused**: the same step again: ``simulate`` with every stage memoized, and
  ``simulate_generation``'s step memo (what a second generation on the same SoC sees).
- **generation fresh / memoized**: ``simulate_generation`` of 128 new tokens after a 512-token prompt
  (the prefill and 5 sampled decode steps simulated, the other 122 interpolated).
- **sweep**: 1,000 points of GPT-2 small, seq_len (5) x batch (5) x num_accelerators (4) x DRAM preset
  (5) x cpu_threads (2), prefills, ``executor="processes"``.

Targets (issue 19): decode step < 50 ms fresh and < 2 ms reused; the generation < 1 s; the sweep < 60 s
on the 2-core machine. Timed asserts have no place in tests: this script prints, it does not judge.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from smaug_fast import presets, simulate, simulate_generation, sweep, zoo
from smaug_fast.sim import clear_caches

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_simulate import best  # noqa: E402  (one timing loop for every benchmark)


def line(what: str, wall: float, cpu: float, target: str) -> None:
    print(f"{what:44s} {wall * 1e3:10.1f} ms {cpu * 1e3:10.1f} ms CPU   target {target}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-sweep", action="store_true")
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args()
    system = presets.load("soc-2026-lpddr5")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"soc-2026-lpddr5; best of {args.repeat}; load average {load:.2f} on {os.cpu_count()} CPUs")
    step = zoo.transformer("tinyllama-1.1b", "decode", kv_len=512)
    simulate(step, system)  # untimed: kernels loaded

    def fresh_step():
        clear_caches()
        simulate(step, system)

    line("TinyLlama decode step (kv 512), fresh", *best(fresh_step, args.repeat), "< 50 ms")
    line("  reused: simulate, stages memoized", *best(lambda: simulate(step, system, timeline=False), args.repeat),
         "< 2 ms")
    simulate_generation("tinyllama-1.1b", system, prompt_len=512, new_tokens=2)
    line("  reused: simulate_generation's memo",
         *best(lambda: simulate_generation("tinyllama-1.1b", system, prompt_len=512, new_tokens=2), args.repeat),
         "< 2 ms (a prefill and one step, both memoized)")

    def generation():
        return simulate_generation("tinyllama-1.1b", system, prompt_len=512, new_tokens=128)

    def fresh_generation():
        clear_caches()
        generation()

    line("512-token prompt + 128 new tokens, fresh", *best(fresh_generation, 1), "< 1 s")
    line("  memoized", *best(generation, args.repeat), "< 1 s")
    r = generation()
    print(f"  simulated: TTFT {r.ttft_s:.3f} s, TPOT {r.tpot_s * 1e3:.1f} ms, {r.tokens_per_s:.2f} tokens/s, "
          f"{r.energy_per_token_j * 1e3:.1f} mJ/token; decode steps simulated at kv_len {list(r.samples)}")
    if args.skip_sweep:
        return
    axes = {"seq_len": [8, 16, 32, 64, 128], "batch": [1, 2, 4, 8, 16], "num_accelerators": [1, 2, 4, 8],
            "dram": ["DDR4-3200", "LPDDR4-3200-4ch-x16", "LPDDR5-6400", "LPDDR5X-8533", "HBM3"],
            "cpu_threads": [1, 8]}
    clear_caches()
    t0 = time.perf_counter()
    ds = sweep("gpt2", system, axes, executor="processes", workers=args.workers, progress=False)
    wall = time.perf_counter() - t0
    n = int(ds["latency_s"].size)
    print(f"sweep: GPT-2 prefills, {n} points (seq_len x batch x num_accelerators x dram x cpu_threads), "
          f"{args.workers or os.cpu_count()} worker(s): {wall:.1f} s ({n / wall:.0f} points/s)   target < 60 s")


if __name__ == "__main__":
    main()
