"""Strict parsing of the unit strings users write in hardware descriptions.

Every hardware field carries its unit in its name (``size_bytes``, ``freq_hz``,
``bandwidth_bytes_per_s``, ``latency_s``, ``energy_j``), so a plain number is always in that base unit.
Where a user writes a string instead, it must carry a unit that matches the field:

>>> parse_bytes("32KiB"), parse_hz("1GHz"), parse_bytes_per_s("25.6GB/s"), parse_seconds("20ns")
(32768, 1000000000.0, 25600000000.0, 2e-08)

The rules are strict on purpose, because a silently misread unit corrupts a whole sweep:

- Sizes take binary prefixes (``KiB``, ``MiB``, ``GiB``, ``TiB``) or plain ``B``. Decimal sizes
  (``kB``, ``KB``, ``MB``, ``GB``) are rejected because hardware literature uses them for both 1000 and
  1024; the error says which spelling to use.
- Rates, frequencies, times and energies take SI prefixes (``p n u µ m k M G T``); ``GB/s`` is 10^9 B/s
  (JEDEC peak bandwidths are decimal) and ``GiB/s`` is 2^30 B/s.
- Prefixes are case-sensitive (``mHz`` is millihertz, which the hardware checks then reject as a
  clock; ``MHz`` is megahertz), with one tolerance: ``K`` is accepted for kilo in ``KHz`` and ``KB/s``.
- Byte counts must come out whole: ``"1.5KiB"`` is 1536, ``"0.5B"`` is an error.
"""

from __future__ import annotations

import math
import re

from .errors import ConfigError, describe

_SI = {
    "p": 1e-12,
    "n": 1e-9,
    "u": 1e-6,
    "µ": 1e-6,
    "m": 1e-3,
    "": 1.0,
    "k": 1e3,
    "K": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
}
_IEC = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}

_NUMBER = r"(?P<num>[+-]?(?:\d+(?:_\d+)*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)"
_PATTERN = re.compile(rf"^\s*{_NUMBER}\s*(?P<unit>[^\s\d.+-][^\s]*)?\s*$")

#: The base unit of each kind of quantity, and the suffix of field names that hold it.
KINDS = {
    "bytes": "B",
    "hz": "Hz",
    "bytes_per_s": "B/s",
    "s": "s",
    "j": "J",
    "w": "W",
}


def _split(text: str, kind: str, field: str) -> tuple[float, str]:
    match = _PATTERN.match(text)
    if not match:
        raise ConfigError(
            f"{field} = {describe(text)}: not a number with a unit (expected e.g. {_EXAMPLES[kind]})"
        )
    return float(match.group("num").replace("_", "")), match.group("unit") or ""


_EXAMPLES = {
    "bytes": "'32KiB' or '2MiB'",
    "hz": "'1GHz' or '2.5GHz'",
    "bytes_per_s": "'25.6GB/s'",
    "s": "'20ns'",
    "j": "'1.2pJ'",
    "w": "'50mW'",
}


def _prefix_value(prefix: str, unit: str, kind: str, field: str, text: str) -> float:
    if kind in ("bytes", "bytes_per_s") and prefix in _IEC:
        return float(_IEC[prefix])
    if kind == "bytes" and prefix == "":
        return 1.0
    if kind == "bytes":
        hint = ""
        if prefix in ("k", "K", "M", "G", "T"):
            binary = {"k": "Ki", "K": "Ki"}.get(prefix, prefix + "i")
            hint = f"; sizes are binary: write {binary}B (1024-based) or the number of bytes"
        raise ConfigError(f"{field} = {describe(text)}: unknown size prefix {prefix!r} in {unit!r}{hint}")
    if prefix not in _SI:
        raise ConfigError(
            f"{field} = {describe(text)}: unknown prefix {prefix!r} in {unit!r} (expected e.g. {_EXAMPLES[kind]})"
        )
    if prefix == "K" and kind not in ("hz", "bytes_per_s"):
        raise ConfigError(f"{field} = {describe(text)}: write 'k' for kilo")
    return _SI[prefix]


def parse(value: object, kind: str, field: str = "value") -> float | int:
    """``value`` in the base unit of ``kind`` (one of :data:`KINDS`).

    Numbers pass through unchanged (they are already in the base unit); strings must carry a unit of
    that kind. ``field`` names the setting in error messages (a dotted path such as ``l2.size_bytes``).
    """
    if kind not in KINDS:
        raise ValueError(f"unknown quantity kind {kind!r}; known: {', '.join(KINDS)}")
    if isinstance(value, bool):
        raise ConfigError(f"{field} = {describe(value)}: must be a number or a string with a unit")
    if not isinstance(value, str) and (hasattr(value, "__index__") or hasattr(value, "__float__")):
        return value  # type: ignore[return-value]
    if not isinstance(value, str):
        raise ConfigError(f"{field} = {describe(value)}: must be a number or a string with a unit")
    number, unit = _split(value, kind, field)
    base = KINDS[kind]
    if not unit:
        raise ConfigError(f"{field} = {describe(value)}: missing unit (expected e.g. {_EXAMPLES[kind]})")
    if not unit.endswith(base) or (kind == "bytes" and unit.endswith("/s")):
        raise ConfigError(
            f"{field} = {describe(value)}: unit {unit!r} is not a {base} quantity (expected e.g. {_EXAMPLES[kind]})"
        )
    prefix = unit[: len(unit) - len(base)]
    scaled = number * _prefix_value(prefix, unit, kind, field, value)
    if not math.isfinite(scaled):
        raise ConfigError(f"{field} = {describe(value)}: not a finite number")
    if kind == "bytes":
        rounded = round(scaled)
        if abs(scaled - rounded) > 1e-9 * max(1.0, abs(scaled)):
            raise ConfigError(f"{field} = {describe(value)}: is {scaled} bytes, not a whole number")
        return int(rounded)
    return scaled


def parse_bytes(value: object, field: str = "size_bytes") -> int:
    """A size in bytes from an int or a string such as ``"32KiB"``."""
    return parse(value, "bytes", field)  # type: ignore[return-value]


def parse_hz(value: object, field: str = "freq_hz") -> float:
    """A frequency in Hz from a number or a string such as ``"2.5GHz"``."""
    return parse(value, "hz", field)


def parse_bytes_per_s(value: object, field: str = "bandwidth_bytes_per_s") -> float:
    """A bandwidth in B/s from a number or a string such as ``"25.6GB/s"`` (decimal) or ``"1GiB/s"``."""
    return parse(value, "bytes_per_s", field)


def parse_seconds(value: object, field: str = "latency_s") -> float:
    """A time in seconds from a number or a string such as ``"20ns"``."""
    return parse(value, "s", field)


def parse_joules(value: object, field: str = "energy_j") -> float:
    """An energy in joules from a number or a string such as ``"1.2pJ"``."""
    return parse(value, "j", field)


def parse_watts(value: object, field: str = "power_w") -> float:
    """A power in watts from a number or a string such as ``"50mW"``."""
    return parse(value, "w", field)


def kind_of_field(name: str) -> str | None:
    """The quantity kind a field holds, from its name's unit suffix (None for counts and flags).

    ``size_bytes`` -> ``"bytes"``, ``bandwidth_bytes_per_s`` -> ``"bytes_per_s"``, ``freq_hz`` -> ``"hz"``,
    ``latency_s`` -> ``"s"``, ``mac_energy_j`` -> ``"j"``, ``leakage_power_w`` -> ``"w"``.
    """
    for suffix, kind in (
        ("_bytes_per_s", "bytes_per_s"),
        ("_bytes", "bytes"),
        ("_hz", "hz"),
        ("_j", "j"),
        ("_w", "w"),
        ("_s", "s"),
    ):
        if name.endswith(suffix) or name == suffix[1:]:
            return kind
    return None


def format_bytes(n: int) -> str:
    """A byte count with the largest binary prefix that divides it (``32768`` -> ``"32KiB"``)."""
    for prefix, size in reversed(list(_IEC.items())):
        if n and n % size == 0:
            return f"{n // size}{prefix}B"
    return f"{n}B"


def format_si(value: float, base: str) -> str:
    """A value with an SI prefix (``2.5e9, "Hz"`` -> ``"2.5GHz"``)."""
    if value == 0:
        return f"0{base}"
    for prefix in ("T", "G", "M", "k", "", "m", "u", "n", "p"):
        scale = _SI[prefix]
        if abs(value) >= scale:
            return f"{value / scale:g}{prefix}{base}"
    return f"{value:g}{base}"


__all__ = [
    "KINDS",
    "format_bytes",
    "format_si",
    "kind_of_field",
    "parse",
    "parse_bytes",
    "parse_bytes_per_s",
    "parse_hz",
    "parse_joules",
    "parse_seconds",
    "parse_watts",
]
