"""Strict unit-string parsing (smaug_fast.units)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smaug_fast import units
from smaug_fast.errors import ConfigError


@pytest.mark.parametrize(
    "text,kind,value",
    [
        ("32KiB", "bytes", 32768),
        ("32 KiB", "bytes", 32768),
        ("2MiB", "bytes", 2 * 1024 * 1024),
        ("1.5KiB", "bytes", 1536),
        ("4GiB", "bytes", 4 << 30),
        ("64B", "bytes", 64),
        ("1e3B", "bytes", 1000),
        ("1GHz", "hz", 1e9),
        ("2.5GHz", "hz", 2.5e9),
        ("800MHz", "hz", 8e8),
        ("100KHz", "hz", 1e5),
        ("25.6GB/s", "bytes_per_s", 25.6e9),
        ("1GiB/s", "bytes_per_s", 2.0**30),
        ("12.8 GB/s", "bytes_per_s", 12.8e9),
        ("20ns", "s", 20e-9),
        ("3.9us", "s", 3.9e-6),
        ("3.9µs", "s", 3.9e-6),
        ("1_000ps", "s", 1e-9),
        ("1.2pJ", "j", 1.2e-12),
        ("50mW", "w", 0.05),
    ],
)
def test_parse_valid(text, kind, value):
    got = units.parse(text, kind, "f")
    assert got == pytest.approx(value)
    if kind == "bytes":
        assert isinstance(got, int)


@pytest.mark.parametrize(
    "text,kind,message",
    [
        ("32KB", "bytes", r"f = '32KB': unknown size prefix 'K' in 'KB'; sizes are binary: write KiB"),
        ("2MB", "bytes", r"f = '2MB': unknown size prefix 'M' in 'MB'; sizes are binary: write MiB"),
        ("4kB", "bytes", r"write KiB"),
        ("0.5B", "bytes", r"f = '0.5B': is 0.5 bytes, not a whole number"),
        ("32", "bytes", r"f = '32': missing unit \(expected e.g. '32KiB' or '2MiB'\)"),
        ("1GHz", "bytes", r"f = '1GHz': unit 'GHz' is not a B quantity"),
        ("3GB/s", "bytes", r"unit 'GB/s' is not a B quantity"),
        ("x", "hz", r"f = 'x': not a number with a unit \(expected e.g. '1GHz' or '2.5GHz'\)"),
        ("1 G Hz", "hz", r"not a number with a unit"),
        ("1GiHz", "hz", r"f = '1GiHz': unknown prefix 'Gi' in 'GiHz'"),
        ("20Ks", "s", r"f = '20Ks': write 'k' for kilo"),
        ("1e400GHz", "hz", r"not a finite number"),
        ("5XB/s", "bytes_per_s", r"unknown prefix 'X'"),
    ],
)
def test_parse_errors(text, kind, message):
    with pytest.raises(ConfigError, match=message):
        units.parse(text, kind, "f")


def test_non_strings():
    assert units.parse(3, "bytes") == 3 and units.parse(2.5e9, "hz") == 2.5e9
    for bad in (True, None, [1]):
        with pytest.raises(ConfigError, match="must be a number or a string with a unit"):
            units.parse(bad, "hz", "f")
    with pytest.raises(ValueError, match="unknown quantity kind"):
        units.parse("1", "volts")


def test_helpers_and_field_kinds():
    assert units.parse_bytes("1KiB") == 1024 and units.parse_hz("1kHz") == 1e3
    assert units.parse_bytes_per_s("1kB/s") == 1e3 and units.parse_seconds("1ms") == 1e-3
    assert units.parse_joules("1nJ") == 1e-9 and units.parse_watts("1W") == 1.0
    kinds = {
        "size_bytes": "bytes",
        "bandwidth_bytes_per_s": "bytes_per_s",
        "freq_hz": "hz",
        "latency_s": "s",
        "mac_energy_j": "j",
        "static_power_w": "w",
        "latency_cycles": None,
        "ways": None,
    }
    for name, kind in kinds.items():
        assert units.kind_of_field(name) == kind


@given(st.integers(0, 1 << 50))
def test_format_bytes_round_trips(n):
    assert units.parse_bytes(units.format_bytes(n)) == n


@given(st.floats(1e-12, 1e13, allow_nan=False))
def test_format_si_round_trips(value):
    assert units.parse(units.format_si(value, "Hz"), "hz") == pytest.approx(value, rel=1e-5)
