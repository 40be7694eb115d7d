"""A/B: run a benchmark script on an earlier commit and on the working tree, alternately, in one session.

    python benchmarks/ab.py REV SCRIPT [ARGS ...] [--rounds N]

REV's ``smaug_fast``, ``kernels`` and ``traces`` are extracted with ``git archive`` into a temporary
folder laid out as the installed package (``smaug_fast.kernels``, ``smaug_fast.traces``), and SCRIPT
(from the working tree, so both sides run the same benchmark) runs against it with the editable
install of the working tree hidden; then against the working tree; ``--rounds`` times, alternating,
so that both see the same machine load. REV's kernels compile once into its own cache (the first
round can include that: read the later rounds). Example (issue 14: the staged engine no slower):

    python benchmarks/ab.py 5594df8 benchmarks/bench_simulate.py --networks vgg16 resnet50 --repeat 5
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: Runs a script with the extracted tree first on sys.path and the editable finder removed.
_RUNNER = """
import runpy, sys
sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f).lower()]
sys.path.insert(0, {root!r})
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def extract(rev: str, into: Path) -> None:
    """REV's package, laid out as installed, under ``into``."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "smaug_fast", "kernels", "traces"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    (into / "kernels").rename(into / "smaug_fast" / "kernels")
    (into / "traces").rename(into / "smaug_fast" / "traces")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rev", help="the earlier commit (A)")
    parser.add_argument("script", help="a benchmark script of the working tree")
    parser.add_argument("--rounds", type=int, default=2, help="A/B rounds (default 2)")
    args, rest = parser.parse_known_args(argv)
    with tempfile.TemporaryDirectory(prefix="smaug-ab-") as tmp:
        root = Path(tmp)
        extract(args.rev, root)
        runner = root / "run.py"
        runner.write_text(_RUNNER.format(root=str(root)))
        for r in range(args.rounds):
            for label, cmd in ((f"A = {args.rev}", [sys.executable, str(runner), args.script, *rest]),
                               ("B = working tree", [sys.executable, args.script, *rest])):
                print(f"== round {r + 1}: {label}", flush=True)
                subprocess.run(cmd, check=True, cwd=REPO)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
