"""Start-up time: ``import smaug_fast`` and ``smaug-fast --help`` against a bare interpreter.

    python benchmarks/bench_startup.py [--repeat N]

Each command runs ``--repeat`` times in a fresh interpreter (``python -c``, ``python -m smaug_fast``,
so no console-script shim such as pyenv's is timed); the best wall time is printed with the bare
interpreter's (``python -c pass``) beside it. Target (issue 16): both under 0.2 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "import smaug_fast": [sys.executable, "-c", "import smaug_fast"],
    "smaug-fast --help": [sys.executable, "-m", "smaug_fast", "--help"],
    "from smaug_fast import simulate": [sys.executable, "-c", "from smaug_fast import simulate"],
}


def best(cmd: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    for name, cmd in COMMANDS.items():
        print(f"{name:<34} {best(cmd, args.repeat) * 1e3:8.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
