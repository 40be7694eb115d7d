"""The one place where Numba options are chosen for every kernel.

``jit`` is ``numba.njit`` with ``cache=True`` (so tests and sweeps do not recompile) and
``nogil=True`` (so threads can run kernels side by side). Bounds checking follows Numba's own
``NUMBA_BOUNDSCHECK`` environment variable, so the kernel tests can be rerun with it set to 1.
``NUMBA_DISABLE_JIT=1`` turns every kernel into plain Python for coverage and debugging.
"""

from __future__ import annotations

import os

from numba import njit

_DEFAULTS = {"cache": True, "nogil": True, "fastmath": False}


#: Every kernel made by :func:`jit`, so that :func:`uncached` can tell whether a first run will compile.
KERNELS: list = []


def jit(fn=None, **options):
    """Decorate a kernel with the project's Numba options; ``options`` override the defaults.

    Usable bare (``@jit``) or with options (``@jit(parallel=True)``).
    """
    merged = {**_DEFAULTS, **options}
    if fn is None:
        return lambda f: jit(f, **options)
    kernel = njit(**merged)(fn)
    KERNELS.append(kernel)
    return kernel


def uncached() -> list[str]:
    """Names of the loaded kernels that have no entry in Numba's on-disk cache yet: the ones a first run
    compiles (tens of seconds in all on a fresh install). Empty under ``NUMBA_DISABLE_JIT=1``."""
    missing = []
    for kernel in KERNELS:
        if getattr(kernel, "targetoptions", {}).get("inline") == "always":
            continue  # compiled into its callers, never cached on its own
        cache = getattr(kernel, "_cache", None)
        index = getattr(getattr(cache, "_cache_file", None), "_index_path", None)
        if index is not None and not os.path.exists(index):
            missing.append(kernel.__name__)
    return missing
