"""The first run's second compiling process (issue 16): ``sim.warmup`` forks a child that fills Numba's
cache with the DRAM model's kernels; ``dram_profile`` waits for it and computes every figure itself."""

from __future__ import annotations

import sys

import pytest

from smaug_fast import presets
from smaug_fast.sim import timing, warmup


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the warm-up forks (Linux only)")
def test_child_compiles_and_the_profile_is_the_parents(monkeypatch):
    monkeypatch.setattr(warmup, "_dram_kernels_cached", lambda: False)  # as on a fresh install
    monkeypatch.setattr(warmup.os, "cpu_count", lambda: 2)
    assert warmup.start()
    _, child = warmup._PENDING[0]
    assert not warmup.start()  # one at a time
    # a process forked meanwhile (a sweep's worker) inherits the list but does not join its entries
    import multiprocessing

    worker = multiprocessing.get_context("fork").Process(target=_wait_and_exit)
    worker.start()
    worker.join()
    assert worker.exitcode == 0
    config = presets.load("soc-2026-lpddr5").dram
    timing.dram_profile.table.clear()
    profile = timing.dram_profile(config)  # waits for the child first
    assert not warmup._PENDING and child.exitcode == 0
    assert profile == timing._compute_dram_profile(config)


def _wait_and_exit() -> None:  # in a forked process
    try:
        warmup.wait()
    except BaseException:
        warmup.os._exit(1)
    warmup.os._exit(0)


def test_nothing_starts_when_cached_or_on_one_cpu(monkeypatch):
    monkeypatch.setattr(warmup, "_dram_kernels_cached", lambda: True)
    assert not warmup.start()
    monkeypatch.setattr(warmup, "_dram_kernels_cached", lambda: False)
    monkeypatch.setattr(warmup.os, "cpu_count", lambda: 1)
    assert not warmup.start() and not warmup._PENDING
    warmup.wait()  # nothing to join
