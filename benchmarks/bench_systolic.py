"""Speed of the systolic model on SCALE-Sim's ResNet18 (32x32, 64/64/64 KB, CALC), per dataflow.

Target (issue 5): under 0.2 s warm per dataflow, against 215-380 CPU-s for SCALE-Sim 3.0.0
(``../shared/reference/scalesim_facts.md``, section 2b). Times are CPU (process) time, the best of
five warm runs, because the machine is shared. The side-by-side ratio against a SCALE-Sim run made
on this machine is printed by ``validation/scalesim/compare.py --topologies Resnet18``.

    python benchmarks/bench_systolic.py [TOPOLOGY.csv]
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from smaug_fast.accelerators import Systolic
from smaug_fast.accelerators.scalesim_io import read_topology, run_layer

#: SCALE-Sim 3.0.0 CPU seconds for this run, measured on the project's machine (scalesim_facts.md 2b).
SCALESIM_CPU_S = {"os": 222.0, "ws": 215.0, "is": 381.0}


def _topology() -> Path:
    if len(sys.argv) > 1:
        return Path(sys.argv[1])
    base = Path(os.environ.get("SMAUG_FAST_REFERENCE", ""))
    for candidate in [base, *[p / "shared" / "reference" for p in Path(__file__).resolve().parents]]:
        if (candidate / "scalesim" / "topologies" / "Resnet18.csv").is_file():
            return candidate / "scalesim" / "topologies" / "Resnet18.csv"
    raise SystemExit("Resnet18.csv not found: pass its path or set SMAUG_FAST_REFERENCE")


def main() -> None:
    layers = read_topology(_topology())
    print(f"{len(layers)} layers of {_topology().name}, 32x32, 64/64/64 KB, CALC (scalesim_compat=True)")
    for df in ("os", "ws", "is"):
        s = Systolic(32, 32, df, scalesim_compat=True)
        reports = [run_layer(s, layer) for layer in layers]  # compile
        best = float("inf")
        for _ in range(5):
            t0 = time.process_time()
            reports = [run_layer(s, layer) for layer in layers]
            best = min(best, time.process_time() - t0)
        cycles = sum(r.total_cycles for r in reports)
        print(f"{df}: {1000 * best:7.1f} CPU-ms warm, {cycles:,} cycles; SCALE-Sim {SCALESIM_CPU_S[df]:.0f} "
              f"CPU-s -> {SCALESIM_CPU_S[df] / best:,.0f}x")


if __name__ == "__main__":
    main()
