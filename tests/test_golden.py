"""Bit-exact regression: every zoo network x preset x {dma, acp} x {1, 8} accelerators x {1, 8} threads,
and the sweeps of ``tests/golden/golden.py``, give the digests recorded in ``tests/golden/*.json``
(tolerance 0; recorded before issue 14's restructuring of the engine, kept as a regression test).

A mismatch that a change means to make is recorded again with ``python tests/golden/golden.py``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))
import golden  # noqa: E402

SIMULATE = json.loads(golden.SIMULATE_FILE.read_text())
SWEEPS = json.loads(golden.SWEEP_FILE.read_text())


def test_every_case_is_recorded():
    assert sorted(SIMULATE) == sorted(key for key, *_ in golden.simulate_cases())
    assert sorted(SWEEPS) == sorted([*golden.SWEEPS, "per_op"])


@pytest.mark.parametrize("network", sorted({key.split("|")[0] for key in SIMULATE}))
def test_simulate_is_bit_identical(network):
    for key, net, preset, changes in golden.simulate_cases():
        if net != network:
            continue
        assert golden.run_simulate_case(net, preset, changes) == SIMULATE[key], key


@pytest.mark.parametrize("name", sorted(golden.SWEEPS))
def test_sweep_is_bit_identical(name):
    assert golden.run_sweep_case(name) == SWEEPS[name]


def test_per_op_sweep_is_bit_identical():
    assert golden.per_op_sweep_record() == SWEEPS["per_op"]
