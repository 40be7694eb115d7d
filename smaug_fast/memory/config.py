"""Configuration of one cache level: a frozen, hashable dataclass with units in its field names.

This module depends on nothing but the standard library and :mod:`smaug_fast.errors`, so that the
hardware description can import :class:`CacheConfig` without pulling in the simulators.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from ..errors import ConfigError, describe

#: Replacement policies: least recently used, first in first out, uniformly random (seeded).
POLICIES = ("lru", "fifo", "random")


def _is_pow2(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


def _check_int(owner: str, name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise ConfigError(f"{owner}.{name} = {describe(value)}: must be an integer")
    ivalue = int(value)
    if ivalue < minimum:
        raise ConfigError(f"{owner}.{name} = {describe(value)}: must be >= {minimum}")
    return ivalue


@dataclass(frozen=True)
class CacheConfig:
    """One level of a set-associative cache.

    Attributes:
        size_bytes: capacity [B]; must be a multiple of ``ways * line_bytes``.
        ways: associativity (lines per set).
        line_bytes: line size [B], a power of two (addresses are split by shifting).
        latency_cycles: hit latency [cycles of the cache's clock]; the cache model counts events,
            the simulator turns them into time with this latency.
        policy: replacement policy, one of ``"lru"``, ``"fifo"``, ``"random"``.
        write_back: True for write-back (dirty lines written on eviction), False for write-through.
        write_allocate: True to fetch and fill a line on a store miss, False to write around it.
        seed: seed of the random replacement policy (ignored by the others).
        name: a label for reports and error messages.

    The number of sets is ``size_bytes // (ways * line_bytes)``; it need not be a power of two
    (the set is the line number modulo the number of sets, as in pycachesim).
    """

    size_bytes: int = 32 * 1024
    ways: int = 8
    line_bytes: int = 64
    latency_cycles: int = 1
    policy: str = "lru"
    write_back: bool = True
    write_allocate: bool = True
    seed: int = 0
    name: str = "cache"

    def __post_init__(self) -> None:
        self.validate(self.name)

    @property
    def sets(self) -> int:
        """Number of sets."""
        return self.size_bytes // (self.ways * self.line_bytes)

    def validate(self, owner: str | None = None) -> None:
        """Raise :class:`ConfigError` naming ``owner.field`` and the value when a field is invalid."""
        owner = owner or self.name
        _check_int(owner, "size_bytes", self.size_bytes, 1)
        _check_int(owner, "ways", self.ways, 1)
        _check_int(owner, "line_bytes", self.line_bytes, 1)
        _check_int(owner, "latency_cycles", self.latency_cycles, 0)
        _check_int(owner, "seed", self.seed, 0)
        if not _is_pow2(self.line_bytes):
            raise ConfigError(f"{owner}.line_bytes = {self.line_bytes}: must be a power of two")
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
        if self.policy not in POLICIES:
            raise ConfigError(f"{owner}.policy = {describe(self.policy)}: must be one of {POLICIES}")
        for flag in ("write_back", "write_allocate"):
            if not isinstance(getattr(self, flag), bool):
                raise ConfigError(f"{owner}.{flag} = {describe(getattr(self, flag))}: must be True or False")

    @classmethod
    def from_dict(cls, data: dict, owner: str = "cache") -> CacheConfig:
        """Build from a mapping; an unknown key is a :class:`ConfigError`, not a silent default."""
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ConfigError(f"{owner}.{key}: unknown field (known: {sorted(known)})")
        return cls(**{"name": owner, **data})
