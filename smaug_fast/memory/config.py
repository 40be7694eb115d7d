"""Configuration of one cache level: a frozen, hashable dataclass with units in its field names.

This module depends on nothing but :mod:`smaug_fast.spec` and :mod:`smaug_fast.errors`, so that the
hardware description can import :class:`CacheConfig` without pulling in the simulators.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

from ..errors import ConfigError
from ..spec import Spec, param

#: Replacement policies: least recently used, first in first out, uniformly random (seeded).
POLICIES = ("lru", "fifo", "random")


@dataclass(frozen=True)
class CacheConfig(Spec):
    """One level of a set-associative cache.

    The number of sets is ``size_bytes // (ways * line_bytes)``; it need not be a power of two
    (the set is the line number modulo the number of sets, as in pycachesim). Errors name the level
    by its ``name`` (``l2.size_bytes = ...``).
    """

    _label: ClassVar[str] = "name"

    size_bytes: int = param(32 * 1024, "capacity [B]; a multiple of ways * line_bytes", ge=1, le=1 << 30)
    ways: int = param(8, "associativity (lines per set)", ge=1, le=1 << 16)
    line_bytes: int = param(64, "line size [B], a power of two (addresses are split by shifting)", ge=1, pow2=True, le=4096)
    latency_cycles: int = param(
        1, "hit latency [cycles of the cache's clock]; the cache model counts events, the simulator turns "
        "them into time with this latency", ge=0, le=100_000
    )
    policy: str = param("lru", "replacement policy: least recently used, first in first out or uniformly "
                        "random (seeded)", choices=POLICIES)
    write_back: bool = param(True, "write-back (dirty lines written on eviction); False: write-through")
    write_allocate: bool = param(True, "fetch and fill a line on a store miss; False: write around it")
    seed: int = param(0, "seed of the random replacement policy (ignored by the others)", ge=0, le=2**63 - 1)
    name: str = param("cache", "a label for reports and error messages")

    @property
    def sets(self) -> int:
        """Number of sets."""
        return self.size_bytes // (self.ways * self.line_bytes)

    def validate(self) -> None:
        owner = self.name
        if self.line_bytes > self.size_bytes:
            raise ConfigError(
                f"{owner}.line_bytes = {self.line_bytes}: larger than the cache "
                f"({owner}.size_bytes = {self.size_bytes})"
            )
        if self.size_bytes % (self.ways * self.line_bytes):
            raise ConfigError(
                f"{owner}.size_bytes = {self.size_bytes}: must be a multiple of ways * line_bytes "
                f"= {self.ways} * {self.line_bytes}"
            )

    @classmethod
    def from_dict(cls, data: dict, owner: str = "cache") -> CacheConfig:
        """Build from a mapping; an unknown key is a :class:`ConfigError` naming ``owner.key``, not a
        silent default."""
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ConfigError(f"{owner}.{key}: unknown field (known: {sorted(known)})")
        return cls(**{"name": owner, **data})
