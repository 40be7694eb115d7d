"""The memory-trace type: a struct of arrays, one entry per request.

Fields (all one-dimensional, equal lengths):

========== ======= =============================================================================
field      dtype   meaning
========== ======= =============================================================================
addr       int64   byte address (>= 0)
nbytes     int32   request size [B] (>= 1)
rw         uint8   0 = read, 1 = write, 2 = flush a line (write back, invalidate), 3 = invalidate
requester  int16   who issued it (see below)
tile       int32   tile id (-1: none), so per-tile traffic can be summed without a second pass
cycle      int64   optional issue cycle (None: as fast as possible); non-decreasing when given
========== ======= =============================================================================

Requester encoding (int16): ``k`` for CPU thread k (0 <= k < 256), ``256 + k`` for DMA engine k,
``512 + k`` for accelerator k (0 <= k < 256). Use :func:`cpu`, :func:`dma`, :func:`accel` to build
codes and :func:`requester_name` to print them ("cpu0", "dma1", "acc2").

A Trace never copies arrays it is given in the right dtype; slicing returns views, and
:func:`concat` allocates the result once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from smaug_fast.errors import ConfigError, describe

#: First code of each requester kind (int16 ``requester`` field).
CPU_BASE, DMA_BASE, ACCEL_BASE, END_BASE = 0, 256, 512, 768
_KINDS = (("cpu", CPU_BASE), ("dma", DMA_BASE), ("acc", ACCEL_BASE))

#: ``rw`` codes. FLUSH / INVALIDATE requests act on the caches only (clflush-like sweeps).
READ, WRITE, FLUSH, INVALIDATE = 0, 1, 2, 3


def _code(base: int, k: int, what: str) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 0 <= k < 256:
        raise ConfigError(f"{what} = {describe(k)}: must be an integer in [0, 255]")
    return base + int(k)


def cpu(k: int = 0) -> int:
    """Requester code of CPU thread ``k``."""
    return _code(CPU_BASE, k, "cpu thread")


def dma(k: int = 0) -> int:
    """Requester code of DMA engine ``k``."""
    return _code(DMA_BASE, k, "dma engine")


def accel(k: int = 0) -> int:
    """Requester code of accelerator ``k``."""
    return _code(ACCEL_BASE, k, "accelerator")


def requester_name(code: int) -> str:
    """'cpu0', 'dma1', 'acc2' for a requester code."""
    code = int(code)
    for name, base in reversed(_KINDS):
        if base <= code < END_BASE:
            return f"{name}{code - base}"
    raise ConfigError(f"requester = {code}: not a valid requester code (0 <= code < {END_BASE})")


_DTYPES = {
    "addr": np.int64,
    "nbytes": np.int32,
    "rw": np.uint8,
    "requester": np.int16,
    "tile": np.int32,
    "cycle": np.int64,
}


def _column(name: str, values, n: int | None, check: bool) -> np.ndarray:
    a = np.asarray(values)
    if a.ndim == 0 and n is not None:
        a = np.full(n, a, dtype=_DTYPES[name])
    if a.ndim != 1:
        raise ConfigError(f"trace.{name}: must be one-dimensional, got shape {a.shape}")
    if n is not None and a.shape[0] != n:
        raise ConfigError(f"trace.{name}: length {a.shape[0]} != len(trace.addr) = {n}")
    if a.dtype == np.bool_ and name == "rw":
        return a.view(np.uint8)
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise ConfigError(f"trace.{name}: must hold integers, got dtype {a.dtype}")
    if check and a.size and a.dtype != _DTYPES[name]:
        info = np.iinfo(_DTYPES[name])
        lo, hi = int(a.min()), int(a.max())
        if lo < info.min or hi > info.max:
            raise ConfigError(f"trace.{name}: values [{lo}, {hi}] do not fit {np.dtype(_DTYPES[name]).name}")
    return a.astype(_DTYPES[name], copy=False)


@dataclass(frozen=True, eq=False)
class Trace:
    """A memory trace as a struct of arrays (see the module docstring for fields and encodings).

    Build it with :meth:`from_arrays` (which validates), or directly when the arrays are known to
    be right (kernels' outputs). Equality is by content (:meth:`equals`), not identity.
    """

    addr: np.ndarray
    nbytes: np.ndarray
    rw: np.ndarray
    requester: np.ndarray
    tile: np.ndarray
    cycle: np.ndarray | None = None

    @classmethod
    def from_arrays(
        cls,
        addr,
        nbytes=8,
        rw=READ,
        requester=0,
        tile=-1,
        cycle=None,
        *,
        validate: bool = True,
    ) -> Trace:
        """Build a trace; scalars broadcast to every request; arrays of the right dtype are used
        as they are (no copy). With ``validate`` every value is checked (a ConfigError names the
        field)."""
        a = _column("addr", addr, None, validate)
        n = a.shape[0]
        t = cls(
            a,
            _column("nbytes", nbytes, n, validate),
            _column("rw", rw, n, validate),
            _column("requester", requester, n, validate),
            _column("tile", tile, n, validate),
            None if cycle is None else _column("cycle", cycle, n, validate),
        )
        if validate:
            t.validate()
        return t

    @classmethod
    def empty(cls, with_cycle: bool = False) -> Trace:
        z = {k: np.zeros(0, dtype=v) for k, v in _DTYPES.items()}
        if not with_cycle:
            z["cycle"] = None
        return cls(**z)

    def validate(self) -> None:
        """Raise ConfigError naming the field and the first bad index when a value is invalid."""
        n = len(self.addr)
        for name in _DTYPES:
            col = getattr(self, name)
            if col is None:
                continue
            if col.dtype != _DTYPES[name] or col.ndim != 1 or col.shape[0] != n:
                raise ConfigError(
                    f"trace.{name}: expected a 1-D {np.dtype(_DTYPES[name]).name} array of length {n}, "
                    f"got {col.dtype} of shape {col.shape}"
                )
        if n == 0:
            return
        checks = (
            ("addr", self.addr < 0, "negative address"),
            ("nbytes", self.nbytes < 1, "size < 1"),
            ("rw", self.rw > 3, "not 0 (read), 1 (write), 2 (flush) or 3 (invalidate)"),
            ("requester", (self.requester < 0) | (self.requester >= END_BASE), "not a requester code"),
            ("tile", self.tile < -1, "tile id < -1"),
        )
        for name, bad, problem in checks:
            if bad.any():
                i = int(np.argmax(bad))
                raise ConfigError(f"trace.{name}[{i}] = {getattr(self, name)[i]}: {problem}")
        if self.cycle is not None:
            if self.cycle[0] < 0:
                raise ConfigError(f"trace.cycle[0] = {self.cycle[0]}: negative issue cycle")
            dec = np.diff(self.cycle) < 0
            if dec.any():
                i = int(np.argmax(dec)) + 1
                raise ConfigError(f"trace.cycle[{i}] = {self.cycle[i]}: issue cycles must not decrease")

    def __len__(self) -> int:
        return int(self.addr.shape[0])

    def __getitem__(self, key) -> Trace:
        """Slices give views (no copy); integer or boolean arrays give copies (NumPy's rules)."""
        if isinstance(key, (int, np.integer)):
            key = slice(key, key + 1 if key != -1 else None)
        return Trace(
            self.addr[key],
            self.nbytes[key],
            self.rw[key],
            self.requester[key],
            self.tile[key],
            None if self.cycle is None else self.cycle[key],
        )

    def equals(self, other: Trace) -> bool:
        if not isinstance(other, Trace) or (self.cycle is None) != (other.cycle is None):
            return False
        return all(
            np.array_equal(getattr(self, k), getattr(other, k))
            for k in _DTYPES
            if getattr(self, k) is not None
        )

    @property
    def total_bytes(self) -> int:
        return int(self.nbytes.sum(dtype=np.int64))

    def bytes_per_requester(self) -> dict[str, dict[str, int]]:
        """{'cpu0': {'read': B, 'write': B}, ...} [B] for every requester present."""
        out: dict[str, dict[str, int]] = {}
        if len(self) == 0:
            return out
        key = self.requester.astype(np.int64) * 2 + self.rw
        sums = np.bincount(key, weights=self.nbytes, minlength=2 * END_BASE)
        for code in np.flatnonzero(np.bincount(self.requester.astype(np.int64), minlength=END_BASE)):
            out[requester_name(code)] = {"read": int(sums[2 * code]), "write": int(sums[2 * code + 1])}
        return out

    def unique_lines(self, line_bytes: int = 64) -> np.ndarray:
        """Sorted line numbers touched by the trace (every line a request's bytes fall in)."""
        lb = line_bytes
        if isinstance(lb, bool) or not isinstance(lb, (int, np.integer)) or lb < 1 or lb & (lb - 1):
            raise ConfigError(f"line_bytes = {describe(line_bytes)}: must be a positive power of two")
        from smaug_fast.kernels.tracegen import touched_lines

        shift = int(line_bytes).bit_length() - 1
        return np.unique(touched_lines(self.addr, self.nbytes, shift))

    def footprint_bytes(self, line_bytes: int = 64) -> int:
        """Bytes of distinct lines touched [B]."""
        return int(self.unique_lines(line_bytes).shape[0]) * int(line_bytes)

    def summary(self, line_bytes: int = 64) -> dict:
        """Requests, bytes read/written, per-requester bytes, footprint [B], distinct lines."""
        lines = self.unique_lines(line_bytes)
        return {
            "requests": len(self),
            "read_bytes": int(self.nbytes[self.rw == READ].sum(dtype=np.int64)),
            "write_bytes": int(self.nbytes[self.rw == WRITE].sum(dtype=np.int64)),
            "bytes_per_requester": self.bytes_per_requester(),
            "unique_lines": int(lines.shape[0]),
            "footprint_bytes": int(lines.shape[0]) * int(line_bytes),
        }


def concat(traces: Sequence[Trace]) -> Trace:
    """One trace with the requests of ``traces`` in order; each column allocated once.

    Issue cycles are kept only when every part has them.
    """
    traces = list(traces)
    for i, t in enumerate(traces):
        if not isinstance(t, Trace):
            raise ConfigError(f"traces[{i}] = {describe(t)}: must be a Trace")
    if not traces:
        return Trace.empty()
    if len(traces) == 1:
        return traces[0]
    has_cycle = all(t.cycle is not None for t in traces)
    cols = {}
    for k in _DTYPES:
        if k == "cycle" and not has_cycle:
            cols[k] = None
            continue
        cols[k] = np.concatenate([getattr(t, k) for t in traces])
    return Trace(**cols)
