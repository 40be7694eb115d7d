"""smaug_fast.plot: every figure renders headless to PNG and PDF, draws the numbers of the Results and
sweeps it is given, and bad requests are ConfigErrors naming the value (no file written)."""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")
os.environ.setdefault("MPLBACKEND", "Agg")

from smaug_fast import ConfigError, plot, presets, simulate, sweep, zoo  # noqa: E402
from smaug_fast.sim.result import DETAIL_PHASES, PHASES  # noqa: E402

MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-"}
BASE = presets.load("smaug-table2")
POINT = {"num_accelerators": 2, "cpu_threads": 2}


@pytest.fixture(scope="module")
def results():
    return {n: simulate(zoo.load(n), BASE.replace(**POINT)) for n in ("minerva", "lenet5")}


@pytest.fixture(scope="module")
def dataset():
    # a dotted axis (only reachable through sel=) and a 2 x 3 grid, so that a transposed heatmap shows
    return sweep(["minerva", "lenet5"], BASE,
                 {"num_accelerators": [1, 2], "cpu_threads": [1, 2, 4], "l2.size_bytes": ["1MiB", "2MiB"]},
                 executor="serial", progress=False)


def check_file(path):
    data = path.read_bytes()
    assert len(data) > 1000 and data.startswith(MAGIC[path.suffix]), path


def bar_heights(fig) -> dict[str, list[float]]:
    """{legend label: bar heights left to right} of a stacked bar chart."""
    ax = fig.axes[0]
    return {c.get_label(): [p.get_height() for p in c.patches] for c in ax.containers}


@pytest.mark.parametrize("suffix", [".png", ".pdf"])
def test_every_figure_renders(results, dataset, tmp_path, suffix):
    pyplot_before = "matplotlib.pyplot" in sys.modules
    one = dataset.sel(num_accelerators=2, cpu_threads=2, **{"l2.size_bytes": "2MiB"})
    figures = {
        "breakdown": lambda p: plot.breakdown(results, p),
        "breakdown_list": lambda p: plot.breakdown(list(results.values()), p, normalize=False, unit="us"),
        "breakdown_one": lambda p: plot.breakdown(results["lenet5"], p, detail=True),
        "breakdown_sweep": lambda p: plot.breakdown(dataset, p, sel={"l2.size_bytes": "1MiB"}, **POINT),
        "breakdown_result_dataset": lambda p: plot.breakdown(results["minerva"].to_dataset(), p),
        "breakdown_point": lambda p: plot.breakdown(one, p),
        "timeline": lambda p: plot.timeline(results["lenet5"], p),
        "heatmap": lambda p: plot.sweep_map(dataset, "latency_s", "num_accelerators", "cpu_threads", p,
                                            network="lenet5", reduce="min"),
        "lines": lambda p: plot.sweep_map(dataset, "energy_j", "cpu_threads", None, p, hue="num_accelerators",
                                          sel={"network": "minerva", "l2.size_bytes": "2MiB"}),
        "line": lambda p: plot.sweep_map(dataset, "dram_bytes", "l2.size_bytes", None, p, reduce="max"),
    }
    for name, draw in figures.items():
        fig = draw(tmp_path / f"{name}{suffix}")
        assert fig.axes, name
        check_file(tmp_path / f"{name}{suffix}")
    if not pyplot_before:  # library code draws without pyplot (no display, no global figure state)
        assert "matplotlib.pyplot" not in sys.modules


def test_breakdown_bars_are_the_phase_shares(results, dataset, tmp_path):
    heights = bar_heights(plot.breakdown(results, tmp_path / "b.png"))
    assert list(heights) == [p.replace("_", " ") for p in PHASES]
    for i, r in enumerate(results.values()):
        shares = [heights[p.replace("_", " ")][i] for p in PHASES]
        assert shares == pytest.approx([100 * r.breakdown_s[p] / r.latency_s for p in PHASES])
        assert sum(shares) == pytest.approx(100)  # the phases partition the latency
    # absolute bars in µs stack up to the latency
    heights = bar_heights(plot.breakdown(results, tmp_path / "a.png", normalize=False, unit="us"))
    for i, r in enumerate(results.values()):
        assert sum(h[i] for h in heights.values()) == pytest.approx(r.latency_s * 1e6)
    # the sweep point simulated at the same system draws the same bars as the Results
    swept = bar_heights(plot.breakdown(dataset, tmp_path / "s.png", sel={"l2.size_bytes": "2MiB"}, **POINT))
    direct = bar_heights(plot.breakdown(results, tmp_path / "d.png"))
    assert swept.keys() == direct.keys()
    for label in direct:
        assert swept[label] == pytest.approx(direct[label], rel=1e-9)
    # detail: one bar segment per finer phase that has time, summing to the latency too
    fig = plot.breakdown(results["lenet5"], tmp_path / "t.png", detail=True, normalize=False, unit="ms")
    r = results["lenet5"]
    heights = bar_heights(fig)
    assert set(heights) == {p.replace("_", " ") for p in DETAIL_PHASES if r.detail_s.get(p, 0) > 0}
    assert sum(h[0] for h in heights.values()) == pytest.approx(r.latency_s * 1e3)


def test_timeline_draws_every_interval_on_its_row(results, tmp_path):
    r = results["lenet5"]
    fig = plot.timeline(r, tmp_path / "t.png")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["accel0", "accel1", "thread0", "thread1"]
    assert ax.get_xlabel() == "time [ms]"  # lenet5 takes about 1.5 ms: "auto" picks ms
    tl = r.timeline
    busy = {}  # [ms] per row, from the drawn rectangles
    for coll in ax.collections:
        for path in coll.get_paths():
            xs, ys = path.vertices[:, 0], path.vertices[:, 1]
            row = int(round(ys.mean()))
            busy[row] = busy.get(row, 0.0) + (xs.max() - xs.min())
    for row, res in enumerate(["accel0", "accel1", "thread0", "thread1"]):
        m = tl.resource == res
        assert busy.get(row, 0.0) == pytest.approx(float((tl.end_s[m] - tl.start_s[m]).sum()) * 1e3, rel=1e-9)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [p.replace("_", " ") for p in DETAIL_PHASES if (tl.phase == p).any()]
    fig = plot.timeline(results["minerva"], tmp_path / "m.png", unit="auto")
    assert fig.axes[0].get_xlabel() == "time [µs]"  # minerva is under a millisecond


def test_sweep_map_draws_the_selected_values(dataset, tmp_path):
    fig = plot.sweep_map(dataset, "latency_s", "num_accelerators", "cpu_threads", tmp_path / "h.png",
                         sel={"network": "lenet5", "l2.size_bytes": "1MiB"})
    image = np.asarray(fig.axes[0].images[0].get_array())
    lat = dataset["latency_s"]
    expected = [[float(lat.sel({"network": "lenet5", "l2.size_bytes": "1MiB", "num_accelerators": a,
                                "cpu_threads": t})) for a in (1, 2)] for t in (1, 2, 4)]
    # times in the unit the largest reads best in (lenet5: ms), the colorbar saying so
    assert image.shape == (3, 2) and np.allclose(image, np.array(expected) * 1e3, rtol=1e-12)
    assert fig.axes[1].get_ylabel() == "latency_s [ms]"
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len({len(t.split(".")[1]) for t in texts}) == 1, texts  # one precision for every cell
    # reduce="min": the best over the L2 sizes, cell by cell
    fig = plot.sweep_map(dataset, "latency_s", "num_accelerators", "cpu_threads", tmp_path / "r.png",
                         network="lenet5", reduce="min")
    best = np.minimum(*(np.array([[float(lat.sel({"network": "lenet5", "l2.size_bytes": l2, "num_accelerators": a,
                                                  "cpu_threads": t})) for a in (1, 2)] for t in (1, 2, 4)])
                        for l2 in ("1MiB", "2MiB")))
    assert np.allclose(np.asarray(fig.axes[0].images[0].get_array()), best * 1e3, rtol=1e-12)
    assert "min over l2.size_bytes" in fig.axes[0].get_title()
    # lines: one per hue value, the values along x
    fig = plot.sweep_map(dataset, "energy_j", "cpu_threads", None, tmp_path / "l.png", hue="num_accelerators",
                         sel={"network": "minerva", "l2.size_bytes": "2MiB"})
    lines = fig.axes[0].lines
    assert [ln.get_label() for ln in lines] == ["num_accelerators=1", "num_accelerators=2"]
    e = dataset["energy_j"]
    for a, ln in zip((1, 2), lines):
        assert list(ln.get_ydata()) == [float(e.sel({"network": "minerva", "l2.size_bytes": "2MiB",
                                                     "num_accelerators": a, "cpu_threads": t})) for t in (1, 2, 4)]


def _sweep(d, p, variable, x, y=None, **kw):
    return plot.sweep_map(d, variable, x, y, p, **kw)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda d, r, p: _sweep(d, p, "latency", "cpu_threads", network="minerva"), r"variable = 'latency': not in"),
        (lambda d, r, p: _sweep(d, p, "latency_s", "threads", network="minerva"), r"x = 'threads': not a dimension"),
        (lambda d, r, p: _sweep(d, p, "latency_s", "cpu_threads", "l2", network="minerva"), r"y = 'l2': not a dim"),
        (lambda d, r, p: _sweep(d, p, "latency_s", "cpu_threads", hue="net"), r"hue = 'net': not a dimension"),
        (lambda d, r, p: _sweep(d, p, "latency_s", "cpu_threads"),
         r"latency_s: dimensions \['network', 'num_accelerators', 'l2.size_bytes'\] are left over"),
        (lambda d, r, p: _sweep(d, p, "latency_s", "cpu_threads", network="minerva", num_accelerators=1),
         r"\['l2.size_bytes'\] are left over: .*l2.size_bytes='1MiB'\) or reduce over them \(reduce, --reduce: min"),
        (lambda d, r, p: _sweep(d, p, "latency_s", "cpu_threads", network="vgg16", reduce="min"),
         r"network = 'vgg16': not among its values \['minerva', 'lenet5'\]"),
        (lambda d, r, p: _sweep(d, p, "latency_s", "cpu_threads", sel={"l2": "1MiB"}, reduce="min"),
         r"sel: 'l2' is not a dimension of latency_s"),
        (lambda d, r, p: _sweep(d, p, "latency_s", "cpu_threads", reduce="sum"), r"reduce = 'sum'"),
        (lambda d, r, p: _sweep(d, p, "latency_s", "cpu_threads", "network", hue="num_accelerators"),
         r"hue = 'num_accelerators': only for line plots"),
        (lambda d, r, p: _sweep(d, p, "latency_s", "cpu_threads", "cpu_threads"), r"x = 'cpu_threads': the same"),
        (lambda d, r, p: _sweep(d, p, "latency_s", "cpu_threads", cpu_threads=1), r"x = 'cpu_threads': also given"),
        (lambda d, r, p: _sweep(r, p, "latency_s", "cpu_threads"), r"dataset = \{'minerva'"),
        (lambda d, r, p: plot.breakdown(d, p),
         r"breakdown: dimensions \['num_accelerators', 'cpu_threads', 'l2.size_bytes'\] are left over: fix one "
         r"value of each \(sel, on the command line --sel; e.g. num_accelerators=1, cpu_threads=1, "
         r"l2.size_bytes='1MiB'\)$"),
        (lambda d, r, p: plot.breakdown(d, p, sel={"l2.size_bytes": "3MiB"}),
         r"l2.size_bytes = '3MiB': not among its values \['1MiB', '2MiB'\]"),
        (lambda d, r, p: plot.breakdown(d[["latency_s"]], p), r"no variable\(s\) \['accel_compute_s'"),
        (lambda d, r, p: plot.breakdown(r, p, network="minerva"), r"sel = \{'network': 'minerva'\}: only a sweep"),
        (lambda d, r, p: plot.breakdown({"x": 3}, p), r"results\['x'\] = 3: must be a Result"),
        (lambda d, r, p: plot.breakdown({}, p), r"results: empty"),
        (lambda d, r, p: plot.breakdown("minerva", p), r"results = 'minerva'"),
        (lambda d, r, p: plot.breakdown(r, p, unit="min"), r"unit = 'min': must be 'auto' or one of"),
        (lambda d, r, p: plot.timeline(r["minerva"], p.with_suffix(".jpg")), r"path = '.*x.jpg': must end in .png"),
        (lambda d, r, p: plot.timeline(r["minerva"], p, unit="h"), r"unit = 'h'"),
        (lambda d, r, p: plot.timeline(r, p), r"result = \{'minerva'.*must be a Result"),
        (lambda d, r, p: plot.timeline(simulate(zoo.load("minerva"), BASE, timeline=False), p), r"no timeline"),
    ],
)
def test_bad_requests(dataset, results, tmp_path, call, match):
    with pytest.raises(ConfigError, match=match):
        call(dataset, results, tmp_path / "x.png")
    assert not list(tmp_path.iterdir())


def test_missing_matplotlib_names_the_extra(results, tmp_path, monkeypatch):
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # what `import` sees when a package is absent
    with pytest.raises(ImportError, match=r"pip install 'smaug-fast\[plot\]'"):
        plot.timeline(results["minerva"], tmp_path / "t.png")


def test_lines_on_a_log_or_relative_scale(dataset, tmp_path):
    # networks of very different latency: a log axis, or each line relative to its first point
    e = dataset["latency_s"].sel({"l2.size_bytes": "2MiB", "num_accelerators": 1})
    fig = plot.sweep_map(dataset, "latency_s", "cpu_threads", None, tmp_path / "log.png", hue="network",
                         sel={"l2.size_bytes": "2MiB", "num_accelerators": 1}, scale="log")
    assert fig.axes[0].get_yscale() == "log"
    fig = plot.sweep_map(dataset, "latency_s", "cpu_threads", None, tmp_path / "rel.png", hue="network",
                         sel={"l2.size_bytes": "2MiB", "num_accelerators": 1}, scale="relative")
    for line, net in zip(fig.axes[0].lines, dataset["network"].values):
        series = e.sel(network=net).values
        assert np.allclose(line.get_ydata(), series / series[0])
    with pytest.raises(ConfigError, match=r"scale = 'cubic': must be one of"):
        plot.sweep_map(dataset, "latency_s", "cpu_threads", None, tmp_path / "x.png", scale="cubic")
    with pytest.raises(ConfigError, match=r"scale = 'log': only for line plots"):
        plot.sweep_map(dataset, "latency_s", "cpu_threads", "num_accelerators", tmp_path / "x.png", scale="log")


def test_breakdown_title_names_the_system(tmp_path):
    system = presets.load("smaug-table2", num_accelerators=2, interface="acp")
    fig = plot.breakdown({"lenet5": simulate(zoo.load("lenet5"), system)}, tmp_path / "b.png")
    assert fig.axes[0].get_title() == ("2 x SMV over acp, 1 CPU thread, L2 2048 KiB, DRAM LPDDR4-3200-4ch-x16")


def test_timeline_draws_each_phase_in_its_own_lane(tmp_path):
    r = simulate(zoo.load("lenet5"), presets.load("smaug-table2"))
    fig = plot.timeline(r, tmp_path / "t.pdf")
    # per row, the phases' collections occupy disjoint vertical bands: none is drawn over another
    bands = {}
    for coll in fig.axes[0].collections:
        ys = np.concatenate([p.vertices[:, 1] for p in coll.get_paths()])
        row = int(round((ys.min() + ys.max()) / 2))
        bands.setdefault(row, []).append((ys.min(), ys.max()))
    for row, spans in bands.items():
        spans.sort()
        assert all(a[1] <= b[0] + 1e-9 for a, b in zip(spans, spans[1:])), (row, spans)
    assert any(len(spans) > 1 for spans in bands.values())
