"""Shared pytest configuration: opt-in markers and the location of the shared reference data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Hypothesis profiles: "ci" is the default (bounded time on a 2-core machine); "thorough" is opt-in.
settings.register_profile(
    "ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO_ROOT = Path(__file__).resolve().parents[1]


def _find_reference() -> Path:
    """../shared/reference next to the checkout, as every developer and CI machine has it
    (shared/README.md); for a checkout nested deeper (a git worktree), the nearest ancestor's."""
    if "SMAUG_FAST_REFERENCE" in os.environ:
        return Path(os.environ["SMAUG_FAST_REFERENCE"])
    for parent in REPO_ROOT.parents:
        candidate = parent / "shared" / "reference"
        if candidate.is_dir():
            return candidate
    return REPO_ROOT.parent / "shared" / "reference"


REFERENCE_DIR = _find_reference()


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")
    parser.addoption("--runtorch", action="store_true", default=False, help="run PyTorch cross-checks")


def pytest_collection_modifyitems(config, items):
    skips = {
        "slow": (config.getoption("--runslow"), "slow check: opt in with --runslow"),
        "torch": (config.getoption("--runtorch"), "PyTorch cross-check: opt in with --runtorch"),
    }
    for item in items:
        for marker, (enabled, reason) in skips.items():
            if marker in item.keywords and not enabled:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """../shared/reference, or a skip that says why when this machine does not have it."""
    if not REFERENCE_DIR.is_dir():
        pytest.skip(f"shared reference data not found at {REFERENCE_DIR} (set SMAUG_FAST_REFERENCE)")
    return REFERENCE_DIR
