"""The ``smaug-fast`` command line: help, the zoo table, and one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from smaug_fast import zoo
from smaug_fast.cli import main


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    assert "zoo" in capsys.readouterr().out


def test_zoo_table_lists_every_network_with_counts(capsys):
    assert main(["zoo"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert list(lines) == zoo.names()
    # ops, MACs and parameter bytes of SMAUG's ResNet50 (shared/reference/smaug_networks/README.md).
    assert lines["resnet50"][1:4] == ["141", "4,090,256,576", "49,129,344"]
    assert lines["minerva"][1:4] == ["5", "334,336", "668,672"]


def test_zoo_one_network_with_batch(capsys):
    assert main(["zoo", "lenet5", "--batch", "2"]) == 0
    out = capsys.readouterr().out
    assert "2x26x26x32" in out and "12,188,416" in out


def test_zoo_unknown_network_is_one_line_error(capsys):
    assert main(["zoo", "resnet5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'resnet5'" in err and "valid: minerva" in err


def test_console_entry_point_runs():
    out = subprocess.run(
        [sys.executable, "-m", "smaug_fast", "zoo"], capture_output=True, text=True, check=True
    ).stdout
    assert "mobilenet_v1" in out
