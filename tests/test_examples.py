"""Every example of examples/ runs as the README shows it (issue 17: the first hour)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

from smaug_fast.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_every_example_is_covered_here():
    assert sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in (".py", ".toml")) == [
        "camera_pipe.toml", "custom_accelerator.py", "sweep.toml", "sweep_and_plot.py"]
    # camera_pipe.toml runs in tests/test_scenario_cli.py


def test_the_sweep_spec_runs_from_the_command_line(tmp_path, capsys):
    assert main(["sweep", str(EXAMPLES / "sweep.toml"), "-o", str(tmp_path / "s.nc"), "--workers", "1"]) == 0
    ds = xr.open_dataset(tmp_path / "s.nc")
    assert dict(ds.sizes) == {"network": 2, "interface": 2, "num_accelerators": 3, "l2.size_bytes": 2}
    assert "cpu_threads" in ds.coords  # zipped with num_accelerators


def test_the_sweep_and_plot_script_writes_its_files(tmp_path):
    pytest.importorskip("matplotlib")
    done = subprocess.run([sys.executable, str(EXAMPLES / "sweep_and_plot.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    for name in ("sweep.nc", "map.png", "lines.png", "breakdown.png"):
        assert (tmp_path / name).stat().st_size > 0, name
