"""Host-memory address map of a network's tensors: where each weight, activation and tile buffer
lives, so that the trace generators produce real, non-overlapping addresses.

Built over plain lists (names and sizes); a thin wrapper over the workload graph can feed it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from smaug_fast.errors import ConfigError, describe


@dataclass(frozen=True)
class AddressMap:
    """Tensors laid out one after another, each starting on an ``alignment_bytes`` boundary.

    Attributes:
        names: tensor names, in layout order.
        base: start address of each tensor [B] (int64).
        size_bytes: size of each tensor [B] (int64).
        alignment_bytes: alignment of every start [B].
    """

    names: tuple[str, ...]
    base: np.ndarray
    size_bytes: np.ndarray
    alignment_bytes: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {n: i for i, n in enumerate(self.names)})

    def __hash__(self) -> int:
        return hash((self.names, self.base.tobytes(), self.size_bytes.tobytes(), self.alignment_bytes))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, AddressMap)
            and self.names == other.names
            and np.array_equal(self.base, other.base)
            and np.array_equal(self.size_bytes, other.size_bytes)
            and self.alignment_bytes == other.alignment_bytes
        )

    def __contains__(self, name: str) -> bool:
        return name in self._index

    def region(self, name: str) -> tuple[int, int]:
        """(start address [B], size [B]) of tensor ``name``."""
        i = self._index.get(name)
        if i is None:
            raise ConfigError(f"tensor {name!r}: not in the address map ({len(self.names)} tensors)")
        return int(self.base[i]), int(self.size_bytes[i])

    @property
    def end(self) -> int:
        """First address past the last tensor [B]."""
        return int(self.base[-1] + self.size_bytes[-1]) if self.names else 0

    def owner(self, addrs) -> np.ndarray:
        """Index (into ``names``) of the tensor holding each address, -1 for none."""
        a = np.asarray(addrs, dtype=np.int64)
        i = np.searchsorted(self.base, a, side="right") - 1
        ok = (i >= 0) & (a < self.base[np.maximum(i, 0)] + self.size_bytes[np.maximum(i, 0)])
        return np.where(ok, i, -1)


def layout_tensors(
    names: Sequence[str],
    sizes_bytes: Sequence[int],
    *,
    alignment_bytes: int = 64,
    base: int = 0,
) -> AddressMap:
    """Place tensors in order from ``base`` [B], each aligned to ``alignment_bytes`` [B] (a power
    of two; 64 = one cache line, SMAUG's host allocations are line aligned so that flushes of one
    tensor never touch another)."""
    names = tuple(names)
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ConfigError(f"names: duplicate tensor names {dup}")
    sizes = np.asarray(sizes_bytes, dtype=np.int64) if len(names) else np.zeros(0, np.int64)
    if sizes.shape != (len(names),):
        raise ConfigError(f"sizes_bytes: length {sizes.shape} != len(names) = {len(names)}")
    if sizes.size and int(sizes.min()) < 0:
        i = int(sizes.argmin())
        raise ConfigError(f"sizes_bytes[{i}] ({names[i]}) = {int(sizes[i])}: must be >= 0")
    al = alignment_bytes
    if isinstance(al, bool) or not isinstance(al, (int, np.integer)) or al < 1 or al & (al - 1):
        raise ConfigError(f"alignment_bytes = {describe(alignment_bytes)}: must be a positive power of two")
    if isinstance(base, bool) or not isinstance(base, (int, np.integer)) or base < 0:
        raise ConfigError(f"base = {describe(base)}: must be an integer >= 0")
    al = int(alignment_bytes)
    start = (int(base) + al - 1) // al * al
    padded = (sizes + al - 1) // al * al
    bases = start + np.concatenate([[0], np.cumsum(padded)[:-1]]) if len(names) else np.zeros(0, np.int64)
    return AddressMap(names, bases.astype(np.int64), sizes, al)


def address_map(graph, *, alignment_bytes: int = 64, base: int = 0, extra=()) -> AddressMap:
    """The host address map of a network: its weights (constant tensors) first, then its inputs and
    every op's outputs in topological order, then ``extra`` (name, size [B]) pairs such as tile
    buffers; each start aligned to ``alignment_bytes`` [B].

    ``graph`` is a :class:`smaug_fast.workload.Graph` (anything with ``constants``, ``inputs`` and
    ``topological_order()`` of ops with ``outputs``, whose tensors have ``name`` and ``nbytes``).
    """
    for attr in ("constants", "inputs", "topological_order"):
        if not hasattr(graph, attr):
            raise ConfigError(f"graph = {describe(graph)}: not a workload graph (no {attr!r})")
    tensors = [*graph.constants, *graph.inputs]
    for op in graph.topological_order():
        tensors.extend(op.outputs)
    names, sizes = [], []
    seen = set()
    for t in tensors:
        if t.name not in seen:
            seen.add(t.name)
            names.append(t.name)
            sizes.append(int(t.nbytes))
    for i, item in enumerate(extra):
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise ConfigError(f"extra[{i}] = {describe(item)}: must be a (name, size_bytes) pair")
        names.append(item[0])
        sizes.append(item[1])
    return layout_tensors(names, sizes, alignment_bytes=alignment_bytes, base=base)
