"""One object that owns every memo of the simulator: :data:`SIM_CACHE`, a :class:`SimCache`.

Each memoized function keeps its results in a named, bounded table of the one cache (least recently
used entries go first), keyed by the frozen values it takes, with hit and miss counters, so that

- ``SIM_CACHE.clear()`` forgets everything at once (``smaug_fast.sim.clear_caches`` is that call);
- ``SIM_CACHE.stats()`` says what each table holds and how often it was reused;
- no module keeps a private global dict or ``lru_cache`` that a clear could miss.

A memo is declared next to the function it serves::

    @memoized("lowering", limit=8192)
    def lower(op, accelerator): ...

The key is the tuple of positional arguments; they must be hashable values whose equality means
"same result" (frozen dataclasses, enums, numbers). This module imports nothing from the project, so
every layer (tiling, accelerators, sim) can use it.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class TableStats:
    """Counters of one table: lookups that found a result, lookups that computed one, entries held."""

    hits: int
    misses: int
    size: int
    limit: int


class _Table:
    """One named LRU table: at most ``limit`` entries."""

    __slots__ = ("name", "limit", "data", "hits", "misses")

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self.data: OrderedDict = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], object]):
        """The value stored under ``key``, or ``compute()`` stored under it."""
        data = self.data
        try:
            value = data[key]
        except KeyError:
            self.misses += 1
            value = compute()
            data[key] = value
            if len(data) > self.limit:
                data.popitem(last=False)
            return value
        self.hits += 1
        data.move_to_end(key)
        return value

    def clear(self) -> None:
        self.data.clear()


class SimCache:
    """Every memo of the simulator, as named bounded tables with hit/miss counters (module docstring)."""

    def __init__(self) -> None:
        self._tables: dict[str, _Table] = {}

    def table(self, name: str, limit: int) -> _Table:
        """The table ``name`` (created on first use with at most ``limit`` entries)."""
        table = self._tables.get(name)
        if table is None:
            if limit < 1:
                raise ValueError(f"SimCache.table({name!r}): limit = {limit} must be >= 1")
            table = self._tables[name] = _Table(name, limit)
        return table

    def get(self, name: str, key: Hashable, compute: Callable[[], object], limit: int = 1024):
        """The value of table ``name`` under ``key``, computing and storing it on a miss."""
        return self.table(name, limit).get(key, compute)

    def clear(self, keep: Iterable[str] = ()) -> None:
        """Forget every memoized result (but those of the tables named in ``keep``) and reset the counters."""
        keep = set(keep)
        for name, table in self._tables.items():
            if name not in keep:
                table.clear()
                table.hits = table.misses = 0

    def stats(self) -> dict[str, TableStats]:
        """Per table: hits, misses, entries held and the bound."""
        return {name: TableStats(t.hits, t.misses, len(t.data), t.limit) for name, t in sorted(self._tables.items())}

    def __len__(self) -> int:
        return sum(len(t.data) for t in self._tables.values())


#: The simulator's one cache.
SIM_CACHE = SimCache()


def memoized(name: str, limit: int) -> Callable:
    """Decorate a function of hashable positional arguments so that its results live in table
    ``name`` of :data:`SIM_CACHE` (the wrapper's ``table`` attribute is that table)."""

    def decorate(fn: Callable) -> Callable:
        table = SIM_CACHE.table(name, limit)

        @functools.wraps(fn)
        def wrapper(*args):
            data = table.data  # _Table.get inlined: these memos sit on the simulator's hot paths
            try:
                value = data[args]
            except KeyError:
                table.misses += 1
                value = data[args] = fn(*args)
                if len(data) > table.limit:
                    data.popitem(last=False)
                return value
            table.hits += 1
            data.move_to_end(args)
            return value

        wrapper.table = table  # type: ignore[attr-defined]
        return wrapper

    return decorate


__all__ = ["SIM_CACHE", "SimCache", "TableStats", "memoized"]
