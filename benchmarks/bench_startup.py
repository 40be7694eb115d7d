"""Start-up time: ``import smaug_fast``, ``smaug-fast --help`` and ``smaug-fast scalesim`` on one layer.

    python benchmarks/bench_startup.py [--repeat N]
    python benchmarks/ab.py REV benchmarks/bench_startup.py [--repeat N]   # against an earlier commit

Each command runs ``--repeat`` times in a fresh interpreter (``python -c``, ``python -m smaug_fast``,
so no console-script shim such as pyenv's is timed); the best wall time is printed beside its target
and the bare interpreter's (``python -c pass``). Targets (issue 16): ``import smaug_fast`` and
``--help`` under 0.2 s; ``smaug-fast scalesim`` on a one-layer topology (SCALE-Sim's ``test.csv``
first layer on its ``scale.cfg``: 32x32 weight-stationary, 64 KB scratchpads) under 0.5 s with a
warm Numba kernel cache, with its time split into phases (NumPy, SciPy, Numba, Numba's first cache
load, the command itself) to show what is left. One untimed run of each command comes first: it fills the kernel cache and
writes the ``.pyc`` files, as any installed copy has them (``PYTHONDONTWRITEBYTECODE`` is cleared
for every run, else each one would compile the package's sources again).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: SCALE-Sim 3.0.0's shipped ``configs/scale.cfg`` (weight stationary, 32 x 32, CALC mode).
SCALE_CFG = """[general]
run_name = scale_example_run_32x32_ws

[architecture_presets]
ArrayHeight:    32
ArrayWidth:     32
IfmapSramSzkB:   64
FilterSramSzkB:  64
OfmapSramSzkB:   64
IfmapOffset:    0
FilterOffset:   10000000
OfmapOffset:    20000000
Bandwidth : 10
Dataflow : ws
MemoryBanks:   1
ReadRequestBuffer: 32
WriteRequestBuffer: 32

[layout]
IfmapCustomLayout: False
FilterCustomLayout: False

[sparsity]
SparsitySupport : false

[run_presets]
InterfaceBandwidth: CALC
UseRamulatorTrace: False
"""
#: The first layer of SCALE-Sim's ``topologies/test.csv``.
ONE_LAYER = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n"
             "Inc5b_3x3, 7, 7, 3, 3, 192, 384, 1,\n")


def commands(folder: Path) -> dict[str, tuple[list[str], float | None]]:
    """``{name: (argv, target [s] or None)}``; the scalesim inputs are written into ``folder``."""
    (folder / "scale.cfg").write_text(SCALE_CFG)
    (folder / "one_layer.csv").write_text(ONE_LAYER)
    scalesim = [sys.executable, "-m", "smaug_fast", "scalesim", "-c", str(folder / "scale.cfg"),
                "-t", str(folder / "one_layer.csv"), "-o", str(folder / "out")]
    return {
        "python -c pass": ([sys.executable, "-c", "pass"], None),
        "import smaug_fast": ([sys.executable, "-c", "import smaug_fast"], 0.2),
        "smaug-fast --help": ([sys.executable, "-m", "smaug_fast", "--help"], 0.2),
        "from smaug_fast import simulate": ([sys.executable, "-c", "from smaug_fast import simulate"], None),
        "smaug-fast scalesim (one layer)": (scalesim, 0.5),
    }


#: Where the scalesim command's time goes, phase by phase in one fresh interpreter (printed as ms):
#: NumPy, the SciPy module Numba imports when it first loads a cached kernel (``numba.np.arraymath``
#: checks for BLAS with ``scipy.linalg.cython_blas``, which imports all of ``scipy.linalg``), Numba,
#: Numba's target-context refresh (its registries; every first cache load does it), then the command.
PHASES = """
import contextlib, io, sys, time
t = [time.perf_counter()]
import numpy
t.append(time.perf_counter())
import scipy.linalg.cython_blas
t.append(time.perf_counter())
import numba
t.append(time.perf_counter())
from numba.core.registry import cpu_target
cpu_target.target_context.refresh()
t.append(time.perf_counter())
from smaug_fast.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    main(sys.argv[1:])
t.append(time.perf_counter())
print(" ".join(str(b - a) for a, b in zip(t, t[1:])))
"""
PHASE_NAMES = ("numpy", "scipy.linalg (via numba)", "numba", "numba target refresh", "smaug-fast scalesim itself")


def phases(scalesim: list[str], repeat: int, env: dict[str, str]) -> list[float]:
    """Best time [s] of each phase of :data:`PHASES` over ``repeat`` fresh interpreters."""
    runs = [subprocess.run([sys.executable, "-c", PHASES, *scalesim[3:]], check=True, capture_output=True,
                           text=True, env=env).stdout.split() for _ in range(repeat)]
    return [min(float(r[i]) for r in runs) for i in range(len(PHASE_NAMES))]


def best(cmd: list[str], repeat: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    import smaug_fast

    root = Path(smaug_fast.__file__).resolve().parents[1]
    if root != Path(__file__).resolve().parents[1]:  # under benchmarks/ab.py: time that tree, not this one
        env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [env.get("PYTHONPATH")])])
    print(f"smaug_fast from {root}; load average before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)  # not the repository, whose smaug_fast/ would come first on python -m's path
        for name, (cmd, target) in commands(Path(tmp)).items():
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)  # warm: kernels, .pyc
            seconds = best(cmd, args.repeat, env)
            verdict = "" if target is None else f"  target {target * 1e3:.0f} ms: {'met' if seconds < target else 'missed'}"
            print(f"{name:<34} {seconds * 1e3:8.1f} ms{verdict}")
        print("smaug-fast scalesim (one layer), phase by phase (best of each):")
        for name, seconds in zip(PHASE_NAMES, phases(commands(Path(tmp))["smaug-fast scalesim (one layer)"][0],
                                                     args.repeat, env)):
            print(f"  {name:<32} {seconds * 1e3:8.1f} ms")
        os.chdir(root)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
