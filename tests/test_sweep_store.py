"""Sweep stores against hostile conditions (issue 17): killed sweeps, concurrent writers, foreign stores,
torn and malformed journals, unwritable folders and full disks. Each case runs in a few seconds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smaug_fast import presets, sweep

BASE = presets.load("smaug-table2")
AXES = {"cpu_threads": [1, 2]}


def _wait_for(condition, timeout: float):
    """``condition()``'s first true value within ``timeout`` seconds (None if it never is)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    return None


def _running(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie nobody reaped does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


_ORPHANS = """
import multiprocessing, os, sys, time
multiprocessing.set_start_method("fork", force=True)  # the workers inherit the patches below
import smaug_fast.sweeps.worker as sw
from smaug_fast import presets, sweep
def never_ends(*args):  # a point that never ends: the worker runs until something ends it
    open(os.path.join(sys.argv[2], str(os.getpid())), "w").close()
    while True:
        time.sleep(0.01)
sw._evaluate = never_ends
if sys.argv[3] == "pdeathsig":
    sw._watch = lambda *args: None  # only the kernel's signal
else:
    sw._set_pdeathsig = lambda: False  # only the thread that watches the parent (other systems)
sweep("minerva", presets.load("smaug-table2"), {"cpu_threads": [1, 2]}, executor="processes", workers=2,
      store=sys.argv[1], progress=False)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", ["pdeathsig", "poll"])
def test_the_workers_of_a_sigkilled_sweep_end(tmp_path, how):
    pids = tmp_path / "pids"
    pids.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", _ORPHANS, str(tmp_path / "s.nc"), str(pids), how])
    try:
        workers = _wait_for(lambda: [int(p.name) for p in pids.iterdir()], 60)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert workers, "no worker started"
    _wait_for(lambda: not any(_running(p) for p in workers), 5)
    left = [p for p in workers if _running(p)]
    for p in left:  # not to leave them behind
        os.kill(p, signal.SIGKILL)
    assert not left, f"workers {left} outlived their sweep ({how})"
