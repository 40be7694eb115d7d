"""Opt-in trace files: ``.npz`` (lossless) and text exports for pycachesim and DRAMsim3 users.

Nothing here runs unless called: the simulator never writes traces by itself (writing them is opt-in).
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from smaug_fast.errors import ConfigError

from .trace import _DTYPES, FLUSH, INVALIDATE, WRITE, Trace

#: Written into every .npz so that a file from another program is recognized as such.
FORMAT_TAG = "smaug_fast.trace/1"


def save_npz(path: str | os.PathLike, trace: Trace, *, compress: bool = False) -> Path:
    """Write ``trace`` to ``path`` (.npz); ``compress`` trades time for size."""
    if not isinstance(trace, Trace):
        raise ConfigError(f"trace: expected a Trace, got {type(trace).__name__}")
    cols = {k: getattr(trace, k) for k in _DTYPES if getattr(trace, k) is not None}
    path = Path(path)
    (np.savez_compressed if compress else np.savez)(path, format=np.array(FORMAT_TAG), **cols)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def _check_declared_sizes(path: Path) -> None:
    """Refuse an array whose header declares more bytes than its member of the archive holds (a corrupt
    or hostile file would otherwise make NumPy allocate the declared size, hundreds of GiB)."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            with zf.open(info) as fh:
                version = np.lib.format.read_magic(fh)
                read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                               else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read_header(fh)
                declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
                if declared > info.file_size:
                    raise ValueError(f"array {info.filename!r} declares shape {shape} ({declared} B) but holds "
                                     f"{info.file_size} B")


def load_npz(path: str | os.PathLike) -> Trace:
    """Read a trace written by :func:`save_npz`; a missing, corrupt or foreign file is a
    ConfigError that names the file and what is wrong with it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"trace file {path}: no such file")
    try:
        _check_declared_sizes(path)
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise ConfigError(f"trace file {path}: not a readable .npz file ({exc})") from exc
    tag = data.pop("format", None)
    if tag is None or str(tag) != FORMAT_TAG:
        raise ConfigError(f"trace file {path}: not a smaug_fast trace (format tag {tag!r}, expected {FORMAT_TAG!r})")
    missing = [k for k in _DTYPES if k != "cycle" and k not in data]
    if missing:
        raise ConfigError(f"trace file {path}: missing arrays {missing}")
    extra = sorted(set(data) - set(_DTYPES))
    if extra:
        raise ConfigError(f"trace file {path}: unexpected arrays {extra}")
    for k, v in data.items():
        if v.dtype != _DTYPES[k]:
            want = np.dtype(_DTYPES[k]).name
            raise ConfigError(f"trace file {path}: array {k!r} has dtype {v.dtype}, expected {want}")
    try:
        return Trace.from_arrays(**data)
    except ConfigError as exc:
        raise ConfigError(f"trace file {path}: {exc}") from exc


def _memory_requests(trace: Trace) -> Trace:
    keep = trace.rw <= WRITE
    return trace if keep.all() else trace[keep]


def to_pycachesim(path: str | os.PathLike, trace: Trace) -> Path:
    """Write the loads and stores as text lines ``L <hex addr>,<size>`` / ``S <hex addr>,<size>``
    (Valgrind Lackey's data lines). Flush/invalidate requests are left out.

    Feed it to pycachesim (which has no file reader of its own) with::

        for line in open(path):
            op, rest = line.split()
            addr, size = rest.split(",")
            (cs.store if op == "S" else cs.load)(int(addr, 16), length=int(size))
    """
    t = _memory_requests(trace)
    ops = np.where(t.rw == WRITE, "S", "L")
    lines = [f"{o} {a:x},{n}" for o, a, n in zip(ops.tolist(), t.addr.tolist(), t.nbytes.tolist(), strict=True)]
    path = Path(path)
    path.write_text("\n".join(lines) + ("\n" if lines else ""))
    return path


def to_dramsim3(path: str | os.PathLike, trace: Trace, *, cycles=None) -> Path:
    """Write ``0x<hex addr> READ|WRITE <cycle>`` lines, the format of DRAMsim3's trace CPU
    (``dramsim3main CONFIG -t FILE``). Issue cycles come from ``cycles`` (an array in DRAM clock
    cycles), else from ``trace.cycle``, else 0 (as fast as possible). Flush/invalidate requests are
    left out; DRAMsim3 reads one line-sized transaction per line of the file.
    """
    keep = trace.rw <= WRITE
    t = _memory_requests(trace)
    if cycles is not None:
        c = np.asarray(cycles, dtype=np.int64)
        if c.shape != (len(trace),):
            raise ConfigError(f"cycles: length {c.shape} != len(trace) = {len(trace)}")
        c = c[keep]
    elif t.cycle is not None:
        c = t.cycle
    else:
        c = np.zeros(len(t), np.int64)
    ops = np.where(t.rw == WRITE, "WRITE", "READ")
    lines = [f"0x{a:x} {o} {k}" for a, o, k in zip(t.addr.tolist(), ops.tolist(), c.tolist(), strict=True)]
    path = Path(path)
    path.write_text("\n".join(lines) + ("\n" if lines else ""))
    return path


__all__ = ["FLUSH", "INVALIDATE", "load_npz", "save_npz", "to_dramsim3", "to_pycachesim"]
