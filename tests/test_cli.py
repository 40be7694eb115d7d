"""The ``smaug-fast`` command line: help, the zoo table, plot and validate, and one-line errors."""

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


# ------------------------------------------------------------------------------------------------
# smaug-fast plot
# ------------------------------------------------------------------------------------------------
PNG, PDF = b"\x89PNG\r\n\x1a\n", b"%PDF-"


def _image(path, magic):
    data = path.read_bytes()
    return len(data) > 1000 and data.startswith(magic)


def test_plot_commands_write_figures(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert main(["plot", "breakdown", "minerva", "lenet5", "--set", "cpu_threads=2",
                 "-o", str(tmp_path / "b.png")]) == 0
    assert main(["plot", "breakdown", "minerva", "--absolute", "--detail", "-o", str(tmp_path / "d.pdf")]) == 0
    assert main(["plot", "timeline", "lenet5", "--preset", "smaug-table2", "--set", "num_accelerators=2",
                 "--unit", "us", "-o", str(tmp_path / "t.pdf")]) == 0
    spec = tmp_path / "s.toml"
    spec.write_text('networks = ["minerva", "lenet5"]\n[axes]\nnum_accelerators = [1, 2]\ncpu_threads = [1, 2]\n'
                    '"l2.size_bytes" = ["1MiB", "2MiB"]\n')
    assert main(["sweep", str(spec), "-o", str(tmp_path / "s.nc"), "--workers", "1"]) == 0
    assert main(["plot", "sweep", str(tmp_path / "s.nc"), "latency_s", "--x", "num_accelerators", "--y",
                 "cpu_threads", "--sel", "network=minerva", "--sel", "l2.size_bytes=1MiB",
                 "-o", str(tmp_path / "h.png")]) == 0
    assert main(["plot", "sweep", str(tmp_path / "s.nc"), "energy_j", "--x", "cpu_threads", "--hue", "network",
                 "--reduce", "min", "-o", str(tmp_path / "l.pdf")]) == 0
    out = capsys.readouterr().out
    for name, magic in (("b.png", PNG), ("d.pdf", PDF), ("t.pdf", PDF), ("h.png", PNG), ("l.pdf", PDF)):
        assert _image(tmp_path / name, magic), name
        assert str(tmp_path / name) in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["breakdown", "minerva", "-o", "x.gif"], "path = 'x.gif': must end in .png or .pdf"),
        (["breakdown", "minerva", "--set", "num_accelerators=9", "-o", "x.png"], "num_accelerators = 9"),
        (["breakdown", "minerva", "--set", "l2", "-o", "x.png"], "--set 'l2': expected KEY=VALUE"),
        (["sweep", "S", "latency", "--x", "cpu_threads", "-o", "x.png"], "variable = 'latency': not in the Dataset"),
        (["sweep", "S", "latency_s", "--x", "threads", "-o", "x.png"], "x = 'threads': not a dimension"),
        (["sweep", "S", "latency_s", "--x", "cpu_threads", "-o", "x.png"],
         "dimensions ['network', 'num_accelerators'] are left over"),
        (["sweep", "S", "latency_s", "--x", "cpu_threads", "--sel", "network", "-o", "x.png"],
         "--sel 'network': expected KEY=VALUE"),
        (["sweep", "S", "latency_s", "--x", "cpu_threads", "--sel", "network=vgg16", "--reduce", "max", "-o",
          "x.png"], "network = 'vgg16': not among its values"),
    ],
)
def test_plot_errors_are_one_line(tmp_path, capsys, monkeypatch, argv, message):
    pytest.importorskip("matplotlib")
    from smaug_fast import presets, sweep

    monkeypatch.chdir(tmp_path)
    if "S" in argv:
        sweep(["minerva"], presets.load("smaug-table2"), {"num_accelerators": [1, 2], "cpu_threads": [1, 2]},
              executor="serial", progress=False, store="s.nc")
        argv = [a if a != "S" else "s.nc" for a in argv]
    capsys.readouterr()
    assert main(["plot", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("smaug-fast plot: error: ") and message in err, err
    assert not list(tmp_path.glob("x.*"))


def test_plot_without_matplotlib_names_the_extra(tmp_path, capsys, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # what `import` sees when a package is absent
    assert main(["plot", "timeline", "minerva", "-o", str(tmp_path / "t.png")]) == 2
    err = capsys.readouterr().err
    assert err == "smaug-fast plot: error: smaug_fast.plot needs matplotlib: pip install 'smaug-fast[plot]'\n"


def test_plot_timeline_takes_one_network(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["plot", "timeline", "minerva", "lenet5", "-o", "x.png"])
    assert exc.value.code == 2
    assert "unrecognized arguments: lenet5" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------------
# smaug-fast validate
# ------------------------------------------------------------------------------------------------
def test_validate_runs_the_paper_comparison(reference_dir, capsys, monkeypatch):
    monkeypatch.setenv("SMAUG_FAST_REFERENCE", str(reference_dir))
    assert main(["validate", "smaug_paper"]) == 0
    out = capsys.readouterr().out
    assert "Fig. 1: baseline latency split" in out and "Fig. 10a" in out and "Fig. 17" in out
    script_summary = [line for line in out.splitlines() if line.startswith("summary: Fig. 1 ")]
    assert len(script_summary) == 1  # the script's closing line, repeated in the table below
    table = out[out.index("\nvalidation "):].splitlines()
    row = next(line for line in table if line.startswith("smaug_paper"))
    assert row.split()[1] == "ok" and row.endswith(script_summary[0])


def test_paper_comparison_takes_hardware_changes(reference_dir, capsys, monkeypatch):
    """validation/smaug_paper.py --set KEY=VALUE changes every configuration it simulates, as
    smaug-fast run --set does: LeNet5's Fig. 1 accelerator share is the one simulate gives."""
    import importlib.util
    import json
    from pathlib import Path

    from smaug_fast import ConfigError, presets, simulate

    monkeypatch.setenv("SMAUG_FAST_REFERENCE", str(reference_dir))
    path = Path(__file__).resolve().parents[1] / "validation" / "smaug_paper.py"
    spec = importlib.util.spec_from_file_location("smaug_paper_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    shares = {}
    for changes in ([], ["--set", "accelerator.pipeline_conv_rows=true"]):
        assert module.main(["--networks", "LeNet5", "--json", *changes]) == 0
        rows = json.loads(capsys.readouterr().out)["fig1"]
        shares[bool(changes)] = next(r[2] for r in rows if r[1] == "accel_compute")
    for streamed, share in shares.items():
        system = presets.load("smaug-table2", dram=presets.LPDDR4_3200_GEM5_2X16,
                              **{"accelerator.pipeline_conv_rows": streamed})
        r = simulate(zoo.load("lenet5"), system)
        assert share == pytest.approx(100 * r.breakdown_s["accel_compute"] / r.latency_s)
    assert shares[True] < shares[False]  # one pipeline fill a pass instead of one a row
    with pytest.raises(ConfigError, match="accelerator.pipeline_conv_rows = 3"):
        module.main(["--networks", "LeNet5", "--set", "accelerator.pipeline_conv_rows=3"])


def test_validate_report_writes_markdown_and_figures(reference_dir, tmp_path, capsys, monkeypatch):
    """--report DIR: a README with the summary, the paper comparison's Markdown and one PNG per figure,
    each PNG a real image that the Markdown shows."""
    monkeypatch.setenv("SMAUG_FAST_REFERENCE", str(reference_dir))
    report = tmp_path / "report"
    assert main(["validate", "--report", str(report), "smaug_paper"]) == 0
    capsys.readouterr()
    readme = (report / "README.md").read_text()
    assert "| smaug_paper | ok |" in readme and "[smaug_paper.md](smaug_paper.md)" in readme
    md = (report / "smaug_paper.md").read_text()
    pngs = sorted(p.name for p in report.glob("*.png"))
    assert pngs == ["fig1.png", "fig10a.png", "fig10b.png", "fig14.png", "fig17.png", "headlines.png"]
    for name in pngs:
        assert f"]({name})" in md
        assert (report / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "summary: Fig. 1 " in md and "| Minerva |" in md


def test_validate_report_into_a_file_is_an_error(fake_repo, tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("x")
    assert main(["validate", "--repo", str(fake_repo), "--report", str(target)]) == 2
    assert f"--report {target}: exists and is not a directory" in capsys.readouterr().err
    assert not _ran(fake_repo, "smaug_paper.py")


@pytest.fixture
def fake_repo(tmp_path, monkeypatch):
    """A checkout whose validation scripts are stand-ins: they print, leave a mark and exit as told."""
    repo = tmp_path / "repo"
    (repo / "validation" / "scalesim").mkdir(parents=True)
    body = ("import pathlib, sys\npathlib.Path({mark!r}).write_text('ran')\n"
            "print('a table')\nprint('{summary}')\nprint('a last line')\nsys.exit({rc})\n")
    for script, summary, rc in (("smaug_paper.py", "summary: 3/3 within 5 points", 0),
                                ("pycachesim_compare.py", "2 exact comparison(s) failed", 1),
                                ("dramsim3_compare.py", "0 comparison(s) outside tolerance", 0),
                                ("llm_roofline.py", "summary: ours / measured 0.53", 0),
                                ("scalesim/compare.py", "4 layer runs compared", 0)):
        path = repo / "validation" / script
        path.write_text(body.format(mark=str(path) + ".ran", summary=summary, rc=rc))
    ref = tmp_path / "reference"
    (ref / "scalesim").mkdir(parents=True)
    (ref / "smaug_published.json").write_text("{}")
    monkeypatch.setenv("SMAUG_FAST_REFERENCE", str(ref))
    return repo


def _ran(repo, script):
    return (repo / "validation" / f"{script}.ran").exists()


def test_validate_reports_status_and_summary_of_each_script(fake_repo, capsys):
    (fake_repo / "validation" / ".venv-pycachesim" / "bin").mkdir(parents=True)
    (fake_repo / "validation" / ".venv-pycachesim" / "bin" / "python").write_text("")  # its peer is there
    assert main(["validate", "--repo", str(fake_repo), "smaug_paper", "pycachesim_compare"]) == 1
    out = capsys.readouterr().out
    rows = {line.split()[0]: line for line in out[out.index("\nvalidation "):].splitlines()[2:]}
    assert rows["smaug_paper"].split()[1] == "ok" and rows["smaug_paper"].endswith("summary: 3/3 within 5 points")
    assert "FAILED (exit 1)" in rows["pycachesim"] and rows["pycachesim"].endswith("2 exact comparison(s) failed")
    assert out.count("a table") == 2  # each script's output is shown as it runs


def test_validate_does_not_run_a_script_whose_peer_is_missing(fake_repo, capsys):
    assert main(["validate", "--repo", str(fake_repo), "dramsim3"]) == 1  # named, could not run
    out = capsys.readouterr().out
    assert "dramsim3: not run, peer missing: no validation/.dramsim3/build/dramsim3main" in out
    assert "build_dramsim3.sh" in out and not _ran(fake_repo, "dramsim3_compare.py")
    # under 'all' the missing peers are listed, and the validations that ran decide the status
    assert main(["validate", "--repo", str(fake_repo), "all"]) == 0
    out = capsys.readouterr().out
    assert _ran(fake_repo, "smaug_paper.py")
    for name in ("pycachesim", "dramsim3", "scalesim"):
        assert f"== {name}: not run, peer missing" in out
    assert not _ran(fake_repo, "scalesim/compare.py")
    # --install lets the script install its peer (here: the stand-in just runs)
    assert main(["validate", "--repo", str(fake_repo), "--install", "scalesim"]) == 0
    assert _ran(fake_repo, "scalesim/compare.py") and "4 layer runs compared" in capsys.readouterr().out


def test_validate_list_says_what_can_run(fake_repo, capsys, monkeypatch):
    assert main(["validate", "--repo", str(fake_repo), "--list"]) == 0
    lines = {line.split()[0]: line.split()[1:3] for line in capsys.readouterr().out.splitlines()[1:]
             if not line.startswith(" ")}
    assert lines == {"smaug_paper": ["ready", "validation/smaug_paper.py"],
                     "llm_roofline": ["ready", "validation/llm_roofline.py"],
                     "pycachesim": ["peer", "missing"], "dramsim3": ["peer", "missing"],
                     "scalesim": ["peer", "missing"]}
    monkeypatch.setenv("SMAUG_FAST_REFERENCE", str(fake_repo / "nowhere"))
    assert main(["validate", "--repo", str(fake_repo), "--list"]) == 0
    assert "smaug_paper  no reference" in capsys.readouterr().out
    assert main(["validate", "--repo", str(fake_repo), "smaug_paper"]) == 1
    assert "not run, no reference" in capsys.readouterr().out and not _ran(fake_repo, "smaug_paper.py")


def test_validate_errors(fake_repo, tmp_path, capsys, monkeypatch):
    assert main(["validate", "--repo", str(fake_repo), "gem5"]) == 2
    err = capsys.readouterr().err
    assert "unknown validation 'gem5'; known: smaug_paper, llm_roofline, pycachesim, dramsim3, scalesim, all" in err
    # installed without the repository (a wheel in site-packages, run elsewhere): a clear error
    monkeypatch.setattr("smaug_fast.cli._repo_candidates", lambda: [tmp_path / "site-packages", tmp_path])
    assert main(["validate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"no validation scripts in {tmp_path / 'site-packages' / 'validation'}" in err
    assert "clone of the repository" in err
    assert main(["validate", "--repo", str(tmp_path / "none")]) == 2
    assert f"--repo {tmp_path / 'none'}: no validation scripts" in capsys.readouterr().err


def test_help_and_import_load_no_simulator():
    """`import smaug_fast` and `smaug-fast --help` stay light (issue 16: under 0.2 s): neither may
    import Numba, xarray or the kernels; a command imports what it uses when it runs."""
    import subprocess

    code = ("import sys, contextlib, io\n"
            "import smaug_fast\n"
            "from smaug_fast.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
            "print(sorted(m for m in ('numba', 'xarray', 'smaug_fast.kernels', 'smaug_fast.sim') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
