"""Rerun the kernel tests with Numba's bounds checking on (NUMBA_BOUNDSCHECK=1), in a subprocess.

Every test marked ``boundscheck`` is selected; a fresh NUMBA_CACHE_DIR makes Numba compile the kernels
again with the checks instead of loading the unchecked machine code cached by earlier runs. The same
can be run by hand:

    NUMBA_BOUNDSCHECK=1 NUMBA_CACHE_DIR=$(mktemp -d) python -m pytest -m boundscheck tests
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_kernels_under_boundscheck(tmp_path):
    tests = Path(__file__).resolve().parent
    env = {**os.environ, "NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    cmd = [sys.executable, "-m", "pytest", "-q", "-m", "boundscheck", "-p", "no:cacheprovider", str(tests)]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800, cwd=tests.parent)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
