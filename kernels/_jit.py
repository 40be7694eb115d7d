"""The one place where Numba options are chosen for every kernel.

``jit`` is ``numba.njit`` with ``cache=True`` (so tests and sweeps do not recompile: DESIGN.md) and
``nogil=True`` (so threads can run kernels side by side). Bounds checking follows Numba's own
``NUMBA_BOUNDSCHECK`` environment variable, so the kernel tests can be rerun with it set to 1.
``NUMBA_DISABLE_JIT=1`` turns every kernel into plain Python for coverage and debugging.
"""

from __future__ import annotations

from numba import njit

_DEFAULTS = {"cache": True, "nogil": True, "fastmath": False}


def jit(fn=None, **options):
    """Decorate a kernel with the project's Numba options; ``options`` override the defaults.

    Usable bare (``@jit``) or with options (``@jit(parallel=True)``).
    """
    merged = {**_DEFAULTS, **options}
    if fn is None:
        return lambda f: njit(**merged)(f)
    return njit(**merged)(fn)
