"""First run after a fresh install: ``smaug-fast run NETWORK`` with an empty Numba cache (issue 16).

    python benchmarks/bench_first_run.py [--network resnet50] [--top 15]

Runs the command in a fresh interpreter with ``NUMBA_CACHE_DIR`` set to a new empty folder, then once
more with that cache filled, and prints both wall times and, per jitted function, the seconds Numba
spent compiling it (its own time, callees excluded, from Numba's ``numba:compile`` events) and how
many copies it compiled (more than one: a call site passes a literal constant, or another type).
Target (issue 16): the first run under 20 s on the 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

_CHILD = r"""
import collections, contextlib, io, json, sys, time
from numba.core import event
own = collections.Counter(); copies = collections.Counter(); stack = []
class _Timer(event.Listener):
    def on_start(self, ev):
        f = ev.data["dispatcher"].py_func
        stack.append((f.__module__ + "." + f.__qualname__, time.perf_counter()))
    def on_end(self, ev):
        name, t0 = stack.pop()
        dt = time.perf_counter() - t0
        own[name] += dt; copies[name] += 1
        if stack:
            own[stack[-1][0]] -= dt
event.register("numba:compile", _Timer())
from smaug_fast.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    rc = main(["run", sys.argv[1]])
print(json.dumps({"rc": rc, "own": own, "copies": copies}))
"""


def _run(network: str, cache: str, child: str) -> tuple[float, dict]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", child, network], env=env, capture_output=True, text=True,
                         check=True)
    return time.perf_counter() - t, json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--network", default="resnet50")
    ap.add_argument("--top", type=int, default=15, help="functions to list")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as cache:
        first, data = _run(args.network, cache, _CHILD)
        second, _ = _run(args.network, cache, _CHILD)
    print(f"smaug-fast run {args.network}: first run (empty kernel cache) {first:.1f} s wall, "
          f"second run {second:.1f} s (target: first under 20 s)")
    own, copies = data["own"], data["copies"]
    print(f"compile time by function (own seconds, callees excluded), top {args.top}:")
    for name, sec in sorted(own.items(), key=lambda kv: -kv[1])[: args.top]:
        print(f"  {sec:6.2f} s  x{copies[name]}  {name}")
    print(f"  total {sum(own.values()):.1f} s in {sum(copies.values())} compilations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
