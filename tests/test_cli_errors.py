"""Every subcommand on bad input: one line on stderr, exit status 2, no traceback (issue 17).

Each case runs ``smaug_fast.cli.main`` in this process (an exception escaping it fails the test),
so that the whole table stays fast; the closed-pipe case runs the installed command in a shell.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from smaug_fast.cli import main


@pytest.fixture()
def files(tmp_path):
    """A folder of bad inputs."""
    (tmp_path / "not_utf8.toml").write_bytes(b"\xff\xfe networks = 1")
    (tmp_path / "bad.toml").write_text("networks = [\n")
    (tmp_path / "zip_in_axes.toml").write_text('networks = ["lenet5"]\n[axes]\ncpu_threads = [1]\nzip_axes = [["a"]]\n')
    (tmp_path / "set_not_table.toml").write_text('networks = ["lenet5"]\nset = 3\n[axes]\ncpu_threads = [1]\n')
    (tmp_path / "networks_int.toml").write_text('networks = 3\n[axes]\ncpu_threads = [1]\n')
    (tmp_path / "zip_wrong.toml").write_text('networks = "lenet5"\nzip_axes = "cpu_threads"\n[axes]\ncpu_threads = [1]\n')
    (tmp_path / "ok.toml").write_text('networks = "lenet5"\n[axes]\ncpu_threads = [1]\n')
    (tmp_path / "not_a_store.nc").write_text("hello")
    (tmp_path / "not_utf8.cfg").write_bytes(b"\xff\xfe[general]\n")
    (tmp_path / "topo.csv").write_text("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
                                       "Num Filter, Strides,\nconv1, 8, 8, 3, 3, 2, 4, 1,\n")
    (tmp_path / "a_folder").mkdir()
    (tmp_path / "huge_topo.csv").write_text("h\nc1, 9223372036854775808, 8, 3, 3, 2, 4, 1,\n")
    from test_scalesim_cli import CFG

    (tmp_path / "ok.cfg").write_text(CFG.format(df="os", mode="CALC"))
    return tmp_path


CASES = {
    "run unknown network": ["run", "resnet5"],
    "run bad --set": ["run", "lenet5", "--set", "l2.sise_bytes=1"],
    "run --set without =": ["run", "lenet5", "--set", "num_accelerators"],
    "run out-of-range value": ["run", "lenet5", "--set", "cpu.freq_hz=1e3GHz"],
    "run unknown preset": ["run", "lenet5", "--preset", "smaug-paper"],
    "zoo unknown network": ["zoo", "vgg17"],
    "sweep missing spec": ["sweep", "{d}/missing.toml", "-o", "{d}/x.nc"],
    "sweep non-UTF-8 spec": ["sweep", "{d}/not_utf8.toml", "-o", "{d}/x.nc"],
    "sweep bad TOML": ["sweep", "{d}/bad.toml", "-o", "{d}/x.nc"],
    "sweep zip_axes inside [axes]": ["sweep", "{d}/zip_in_axes.toml", "-o", "{d}/x.nc"],
    "sweep set not a table": ["sweep", "{d}/set_not_table.toml", "-o", "{d}/x.nc"],
    "sweep networks of the wrong type": ["sweep", "{d}/networks_int.toml", "-o", "{d}/x.nc"],
    "sweep zip_axes of the wrong type": ["sweep", "{d}/zip_wrong.toml", "-o", "{d}/x.nc"],
    "sweep -o in a missing folder": ["sweep", "{d}/ok.toml", "-o", "{d}/nodir/x.nc"],
    "sweep -o naming a folder": ["sweep", "{d}/ok.toml", "-o", "{d}/a_folder"],
    "plot sweep missing store": ["plot", "sweep", "{d}/missing.nc", "latency_s", "--x", "cpu_threads", "-o", "{d}/p.png"],
    "plot sweep not a store": ["plot", "sweep", "{d}/not_a_store.nc", "latency_s", "--x", "cpu_threads",
                               "-o", "{d}/p.png"],
    "plot -o in a missing folder": ["plot", "breakdown", "lenet5", "-o", "{d}/nodir/p.png"],
    "scalesim missing config": ["scalesim", "-c", "{d}/missing.cfg", "-t", "{d}/topo.csv", "-o", "{d}/out"],
    "scalesim non-UTF-8 config": ["scalesim", "-c", "{d}/not_utf8.cfg", "-t", "{d}/topo.csv", "-o", "{d}/out"],
    "scalesim out-of-range dimension": ["scalesim", "-c", "{d}/ok.cfg", "-t", "{d}/huge_topo.csv", "-o", "{d}/out"],
    "scalesim -o naming a file": ["scalesim", "-c", "{d}/ok.cfg", "-t", "{d}/topo.csv", "-o", "{d}/ok.toml"],
    "validate unknown name": ["validate", "nonexistent"],
    "zoo batch 0": ["zoo", "--batch", "0"],
    "run batch 0": ["run", "lenet5", "--batch", "0"],
    "run tensors larger than the DRAM": ["run", "lenet5", "--batch", "100000"],
    "generate bad --weight-dtype": ["generate", "gpt2", "--prompt-len", "4", "--new-tokens", "2", "--weight-dtype", "int4"],
    "generate bad --batch-matmul": ["generate", "gpt2", "--prompt-len", "4", "--new-tokens", "2", "--batch-matmul", "smv"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line_and_status_2(name, files, capsys):
    argv = [a.format(d=files) for a in CASES[name]]
    start = time.perf_counter()
    assert main(argv) == 2, name
    assert time.perf_counter() - start < 10, name
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1 and err.startswith("smaug-fast "), err


def test_argparse_errors_are_status_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["sweep", "x.toml", "-o", "x.nc", "--workers", "-1"])
    assert exc.value.code == 2 and "--workers: -1 must be >= 1" in capsys.readouterr().err


def test_a_closed_pipe_ends_quietly():
    cmd = f"{sys.executable} -m smaug_fast run lenet5 | head -1"
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {cmd}"], capture_output=True, text=True, timeout=120)
    assert done.stdout.startswith("system: preset smaug-table2")
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_run_says_what_it_simulated(capsys):
    import json

    assert main(["run", "minerva", "--set", "num_accelerators=2", "--set", "interface=acp", "--json", "--ops"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["system"] == {"preset": "smaug-table2", "changes": {"num_accelerators": 2, "interface": "acp"},
                             "batch": 1, "interface": "acp", "accelerator": "SMV", "num_accelerators": 2,
                             "cpu_threads": 1, "dram": "LPDDR4-3200-4ch-x16"}
    assert [r["name"] for r in out["ops"]] and sum(r["latency_s"] for r in out["ops"]) == pytest.approx(out["latency_s"])
    assert main(["run", "minerva", "--set", "num_accelerators=2"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("system: preset smaug-table2 (changes: num_accelerators=2)") and "2 x SMV over dma" in first


def test_a_first_run_says_it_compiles(tmp_path):
    """Issue 16: with an empty kernel cache the CLI says, before it starts, that it compiles."""
    import os

    code = "from smaug_fast.cli import _announce_compilation; _announce_compilation(always=True)"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    empty = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert "compiling kernels, first run only" in empty.stderr



def test_a_warm_run_says_nothing(monkeypatch, capsys):
    from smaug_fast import cli
    from smaug_fast.kernels import _jit

    monkeypatch.setattr(_jit, "uncached", lambda: [])
    cli._announce_compilation(always=True)
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(_jit, "uncached", lambda: ["run_network"])
    cli._announce_compilation()  # stderr is not a terminal here: errors stay one line
    assert capsys.readouterr().err == ""
