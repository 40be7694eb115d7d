"""A first run's kernel compilation on two cores.

Numba compiles every kernel on its first call and caches it on disk; a fresh install's first
``smaug-fast run resnet50`` spends most of its time compiling. One process compiles one kernel at a
time, so :func:`start` forks a second process that compiles the DRAM model's kernels (a quarter of
the work, used only when the timing stage asks for a DRAM profile) while this one compiles and runs the
cache model and the memory pass; :func:`wait`, called before the DRAM model is first used here, joins
it, and this process then loads what it cached. Every result is computed by this process as before:
the child only fills Numba's on-disk cache (a kernel's machine code depends on its argument types, not
on the DRAM configuration it compiles with). Where the child cannot help (not Linux, one CPU, the
kernels already cached) nothing starts; where it fails, this process compiles as it would have.
"""

from __future__ import annotations

import os
import sys

#: Forked processes compiling kernels, each with the id of the process that started it (a process
#: forked later, a sweep's worker, inherits this list but may not join them: they are not its children).
_PENDING: list = []


def _dram_kernels_cached() -> bool:
    from ..kernels import _jit
    from ..kernels import dram as _kd

    names = {k.__name__ for k in _jit.KERNELS if getattr(k, "__module__", "") == _kd.__name__}
    return not names & set(_jit.uncached())


def start() -> bool:
    """Compile the DRAM model's kernels in a forked process if they are not cached yet; True if one
    started."""
    if any(parent == os.getpid() for parent, _ in _PENDING) or not sys.platform.startswith("linux") or (os.cpu_count() or 1) < 2 or _dram_kernels_cached():
        return False
    import multiprocessing

    child = multiprocessing.get_context("fork").Process(target=_compile_dram, daemon=True)
    child.start()
    _PENDING.append((os.getpid(), child))
    return True


def _compile_dram() -> None:  # pragma: no cover  (runs in the child)
    code = 0
    try:
        from ..memory import DRAMConfig
        from .timing import _compute_dram_profile

        _compute_dram_profile(DRAMConfig())
    except BaseException:  # the parent compiles what is missing
        code = 1
    os._exit(code)


def wait() -> None:
    """Join the compiling processes this process started with :func:`start` (nothing when none is
    running); forget those another process started."""
    while _PENDING:
        parent, child = _PENDING.pop()
        if parent == os.getpid():
            child.join()


__all__ = ["start", "wait"]
