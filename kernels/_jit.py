"""The one place where Numba options are chosen for every kernel.

``jit`` is ``numba.njit`` with ``cache=True`` (so tests and sweeps do not recompile) and
``nogil=True`` (so threads can run kernels side by side). Bounds checking follows Numba's own
``NUMBA_BOUNDSCHECK`` environment variable, so the kernel tests can be rerun with it set to 1.
``NUMBA_DISABLE_JIT=1`` turns every kernel into plain Python for coverage and debugging. The cache
is dropped whole whenever any kernel source changes (:func:`refresh_cache_folder`: Numba would keep a
kernel compiled with an old copy of a kernel it calls from another file).
"""

from __future__ import annotations

import glob
import hashlib
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
    if not KERNELS:
        _drop_stale_cache(getattr(getattr(kernel, "_cache", None), "_cache_path", None))
    KERNELS.append(kernel)
    return kernel


#: The file, in the kernels' Numba cache folder, that holds the hash of every kernel source the cache
#: was built from (:func:`refresh_cache_folder`).
SOURCES_STAMP = "kernel-sources.sha256"


def sources_hash() -> str:
    """SHA-256 of every ``.py`` file of this package (names and contents), in name order."""
    h = hashlib.sha256()
    folder = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), "rb") as f:
                h.update(name.encode() + b"\0" + f.read())
    return h.hexdigest()


def refresh_cache_folder(path: str, digest: str) -> bool:
    """Delete the cached kernels (``*.nbi``, ``*.nbc``) in ``path`` unless its stamp holds ``digest``,
    then stamp it; True when they were deleted. Numba keys a cached kernel on its own file's time stamp
    and size only, not on the kernels it calls from other files: after an edit of ``cache.py``, the
    cached ``copies._copy_tiles_runs`` would still run the old ``cache.copy_runs`` (an editable install
    updated by ``git pull`` changes only the files that changed). One hash of all the sources makes any
    edit recompile everything. Processes racing here at worst recompile a kernel twice."""
    stamp = os.path.join(path, SOURCES_STAMP)
    try:
        with open(stamp) as f:
            if f.read() == digest:
                return False
    except OSError:
        pass
    for name in glob.glob(os.path.join(path, "*.nbi")) + glob.glob(os.path.join(path, "*.nbc")):
        try:
            os.remove(name)
        except OSError:
            pass
    try:
        os.makedirs(path, exist_ok=True)
        with open(stamp + f".{os.getpid()}", "w") as f:
            f.write(digest)
        os.replace(stamp + f".{os.getpid()}", stamp)
    except OSError:
        pass  # a read-only cache folder: Numba will not write there either
    return True


def _drop_stale_cache(path: str | None) -> None:
    """:func:`refresh_cache_folder` of the kernels' cache folder, once, when the first kernel is made
    (None: no cache, e.g. under ``NUMBA_DISABLE_JIT=1``)."""
    if path is not None:
        refresh_cache_folder(path, sources_hash())


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
