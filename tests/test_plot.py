"""Figures render headless to PNG and PDF files; bad requests are ConfigErrors naming the value."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from smaug_fast import ConfigError, plot, presets, simulate, sweep, zoo  # noqa: E402
from smaug_fast.cli import main  # noqa: E402

MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF"}
BASE = presets.load("smaug-table2")


@pytest.fixture(scope="module")
def results():
    return {n: simulate(zoo.load(n), BASE.replace(num_accelerators=2, cpu_threads=2)) for n in ("minerva", "lenet5")}


@pytest.fixture(scope="module")
def dataset():
    return sweep(["minerva", "lenet5"], BASE, {"num_accelerators": [1, 2], "cpu_threads": [1, 2, 4]},
                 executor="serial", progress=False)


def _check(path):
    data = path.read_bytes()
    assert len(data) > 1000 and data.startswith(MAGIC[path.suffix]), path


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_every_figure_renders(results, dataset, tmp_path, suffix):
    plot.breakdown(results, tmp_path / f"b{suffix}")
    plot.breakdown(list(results.values()), tmp_path / f"ba{suffix}", normalize=False)
    plot.breakdown(dataset.sel(num_accelerators=2, cpu_threads=4), tmp_path / f"bd{suffix}")
    fig = plot.timeline(results["lenet5"], tmp_path / f"t{suffix}", unit="us")
    # one row per accelerator and thread of the run
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["accel0", "accel1", "thread0", "thread1"]
    fig = plot.sweep_map(dataset, "latency_s", "num_accelerators", tmp_path / f"h{suffix}", y="cpu_threads",
                         network="lenet5")
    image = fig.axes[0].images[0].get_array()
    expected = dataset["latency_s"].sel(network="lenet5").transpose("cpu_threads", "num_accelerators").values
    assert (image == expected).all()
    fig = plot.sweep_map(dataset, "energy_j", "cpu_threads", tmp_path / f"l{suffix}", hue="num_accelerators",
                         network="minerva")
    assert len(fig.axes[0].lines) == 2
    for name in ("b", "ba", "bd", "t", "h", "l"):
        _check(tmp_path / f"{name}{suffix}")


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda d, r, p: plot.sweep_map(d, "latency", "cpu_threads", p, network="minerva"), r"variable = 'latency'"),
        (lambda d, r, p: plot.sweep_map(d, "latency_s", "threads", p, network="minerva"), r"x = 'threads'"),
        (lambda d, r, p: plot.sweep_map(d, "latency_s", "cpu_threads", p), r"\['network', 'num_accelerators'\] are left over"),
        (lambda d, r, p: plot.sweep_map(d, "latency_s", "cpu_threads", p, network="vgg16", num_accelerators=1),
         r"network = 'vgg16': not among its values"),
        (lambda d, r, p: plot.breakdown(d, p), r"still has dimensions \['num_accelerators', 'cpu_threads'\]"),
        (lambda d, r, p: plot.breakdown({"x": 3}, p), r"results\['x'\] = 3"),
        (lambda d, r, p: plot.timeline(r["minerva"], p.with_suffix(".jpg")), r"must end in .png or .pdf"),
        (lambda d, r, p: plot.timeline(r["minerva"], p, unit="min"), r"unit = 'min'"),
        (lambda d, r, p: plot.timeline(simulate(zoo.load("minerva"), BASE, timeline=False), p), r"no timeline"),
    ],
)
def test_bad_requests(dataset, results, tmp_path, call, match):
    with pytest.raises(ConfigError, match=match):
        call(dataset, results, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_cli_plots(tmp_path, capsys):
    assert main(["plot", "breakdown", "minerva", "lenet5", "-o", str(tmp_path / "b.png")]) == 0
    assert main(["plot", "timeline", "lenet5", "--set", "num_accelerators=2", "-o", str(tmp_path / "t.pdf")]) == 0
    spec = tmp_path / "s.toml"
    spec.write_text('networks = ["minerva"]\n[axes]\nnum_accelerators = [1, 2]\ncpu_threads = [1, 2]\n')
    assert main(["sweep", str(spec), "-o", str(tmp_path / "s.nc"), "--workers", "1"]) == 0
    assert main(["plot", "sweep", str(tmp_path / "s.nc"), "latency_s", "--x", "num_accelerators", "--y",
                 "cpu_threads", "--sel", "network=minerva", "-o", str(tmp_path / "h.png")]) == 0
    for name in ("b.png", "t.pdf", "h.png"):
        _check(tmp_path / name)
    capsys.readouterr()
    with pytest.raises(SystemExit):  # a timeline is of one run
        main(["plot", "timeline", "minerva", "lenet5", "-o", str(tmp_path / "x.png")])
    assert "unrecognized arguments: lenet5" in capsys.readouterr().err
    assert main(["plot", "breakdown", "minerva", "-o", str(tmp_path / "x.gif")]) == 2
    assert "must end in .png or .pdf" in capsys.readouterr().err


def test_cli_validate_prints_the_paper_tables(reference_dir, capsys):
    assert main(["validate", "smaug_paper"]) == 0
    out = capsys.readouterr().out
    assert "Fig. 1: baseline latency split" in out and "Fig. 17" in out
    assert "smaug_paper  ok" in out
    assert main(["validate", "gem5"]) == 2
    assert "unknown validation 'gem5'" in capsys.readouterr().err
