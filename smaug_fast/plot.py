"""Figures (matplotlib, the ``[plot]`` extra): SMAUG's Fig. 1-style latency breakdown, the timeline of
one run, any sweep variable over one or two axes, and a scenario's DRAM bandwidth, power and DRAM energy
over time (SMAUG's Fig. 18).

Every function draws on a new matplotlib Figure with an Agg canvas (no pyplot, no display, no global
state), saves it to ``path`` (PNG or PDF, by the suffix) and returns the Figure, so that a notebook can
show it or restyle it and save it again.

>>> from smaug_fast import plot, presets, simulate, sweep, zoo
>>> r = simulate(zoo.load("lenet5"), presets.load("smaug-table2"))
>>> plot.timeline(r, "lenet5.png")
>>> ds = sweep(["lenet5", "vgg16"], presets.load("smaug-table2"), {"num_accelerators": [1, 2, 4, 8],
...            "cpu_threads": [1, 2, 4, 8]})
>>> plot.sweep_map(ds, "latency_s", "num_accelerators", "cpu_threads", "map.png", network="vgg16")
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

import numpy as np

from .errors import ConfigError, describe
from .sim.result import DETAIL_PHASES, PHASES, Result

_SUFFIXES = (".png", ".pdf")
_INSTALL = "smaug_fast.plot needs matplotlib: pip install 'smaug-fast[plot]'"

#: One color per Fig. 1 phase; each finer phase (DETAIL_PHASES) gets a shade of its phase's color.
_PHASE_COLORS = {
    "accel_compute": "#4c72b0",
    "data_transfer": "#dd8452",
    "cpu": "#55a868",
    "dma_transfer": "#dd8452",
    "acp_transfer": "#c44e52",
    "flush": "#f2b179",
    "cpu_prep": "#55a868",
    "cpu_finalize": "#8fd19e",
    "cpu_ops": "#2d6a3e",
    "cpu_overhead": "#999999",
}
#: Time units of the axes, [unit] -> factor from seconds.
_TIME_UNITS = {"s": 1.0, "ms": 1e3, "us": 1e6}
_TIME_LABELS = {"s": "s", "ms": "ms", "us": "µs"}
#: What sweep_map may do with the dimensions it does not plot.
_REDUCTIONS = ("min", "max", "mean", "median")


# ------------------------------------------------------------------------------------------------
# shared helpers
# ------------------------------------------------------------------------------------------------
def _figure(figsize: tuple[float, float]):
    """A Figure on an Agg canvas: no pyplot and no display backend (PDF output switches canvas itself)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError(_INSTALL) from None
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig


def _check_path(path) -> str:
    path = os.fspath(path)
    if not path.lower().endswith(_SUFFIXES):
        raise ConfigError(f"path = {describe(path)}: must end in .png or .pdf")
    return path


def _save(fig, path: str):
    fig.savefig(path, bbox_inches="tight", dpi=120)
    return fig


def _time_unit(unit: str, span_s: float) -> tuple[str, float]:
    """(unit, factor from [s]); ``"auto"`` picks the unit in which ``span_s`` reads between 1 and 1000."""
    if unit == "auto":
        unit = "s" if span_s >= 1 else "ms" if span_s >= 1e-3 else "us"
    if unit not in _TIME_UNITS:
        raise ConfigError(f"unit = {describe(unit)}: must be 'auto' or one of {list(_TIME_UNITS)}")
    return unit, _TIME_UNITS[unit]


def _root(data):
    """The root Dataset of a per-op sweep (an xarray DataTree), else ``data`` itself."""
    if hasattr(data, "children") and hasattr(data, "to_dataset"):
        return data.to_dataset()
    return data


def _is_dataset(data) -> bool:
    return hasattr(data, "data_vars") and hasattr(data, "dims")


def _merge_sel(sel, more: dict) -> dict:
    if sel is not None and not isinstance(sel, Mapping):
        raise ConfigError(f"sel = {describe(sel)}: must be a mapping {{dimension: value}}")
    out = dict(sel or {})
    out.update(more)
    return out


def _select(da, what: str, keep: tuple, sel: dict, reduce: str | None, reducible: bool = True):
    """``da`` at one value of each dimension in ``sel``, with the dimensions not in ``keep`` reduced
    (``reduce``) or, without ``reduce``, a ConfigError naming them."""
    for name, value in sel.items():
        if name not in da.dims:
            raise ConfigError(f"sel: {name!r} is not a dimension of {what} (dimensions: {list(da.dims)})")
        values = da[name].values.tolist()
        if value not in values:
            raise ConfigError(f"sel: {name} = {describe(value)}: not among its values {values}")
    da = da.sel(sel)
    left = [d for d in da.dims if d not in keep]
    if left and reduce is None:
        example = ", ".join(f"{d}={da[d].values.tolist()[0]!r}" for d in left)
        how = f" or reduce over them (reduce, --reduce: {', '.join(_REDUCTIONS)})" if reducible else ""
        raise ConfigError(f"{what}: dimensions {left} are left over: fix one value of each (sel, on the "
                          f"command line --sel; e.g. {example}){how}")
    if left:
        da = getattr(da, reduce)(dim=left)
    return da


def _describe_selection(sel: dict, reduced: list[str], reduce: str | None) -> str:
    parts = [f"{k}={v}" for k, v in sel.items()]
    if reduced:
        parts.append(f"{reduce} over {', '.join(reduced)}")
    return ", ".join(parts)


# ------------------------------------------------------------------------------------------------
# breakdown: SMAUG Fig. 1
# ------------------------------------------------------------------------------------------------
def breakdown(results, path, *, normalize: bool = True, detail: bool = False, unit: str = "auto",
              sel: Mapping | None = None, **more_sel):
    """Stacked bars of each network's latency split into accelerator compute, data transfer and CPU
    (SMAUG's Fig. 1), as shares [%] or as times.

    Args:
        results: ``{network: Result}``, a list of Results, one Result, a sweep Dataset
            (``smaug_fast.sweep`` / ``open_sweep``) or ``Result.to_dataset()``.
        path: output file (.png or .pdf).
        normalize: shares of each network's latency [%] (default, the total is written above each bar)
            or absolute times.
        detail: split the bars into the finer phases (DMA, ACP, flush, CPU prep/finalize/ops/overhead).
        unit: time unit of the absolute bars and labels: "auto", "s", "ms" or "us".
        sel, **more_sel: with a sweep Dataset, one value of every dimension other than ``network``
            (``sel`` takes dotted names such as ``{"l2.size_bytes": "4MiB"}``).
    """
    path = _check_path(path)
    sel = _merge_sel(sel, more_sel)
    phases = list(DETAIL_PHASES) if detail else list(PHASES)
    names, parts, total, title = _breakdown_rows(results, phases, detail, sel)
    unit, k = _time_unit(unit, float(total.max()))
    fig = _figure((max(4.0, 0.9 * len(names) + 2.5), 3.8))
    ax = fig.subplots()
    bottom = np.zeros(len(names))
    with np.errstate(invalid="ignore", divide="ignore"):
        for p in phases:
            values = np.where(total > 0, parts[p] / total * 100, 0.0) if normalize else parts[p] * k
            if detail and not values.any():
                continue  # e.g. acp_transfer on a DMA system: keep the legend to what is drawn
            ax.bar(names, values, bottom=bottom, label=p.replace("_", " "), color=_PHASE_COLORS[p], width=0.7)
            bottom += values
    if normalize:
        ax.set_ylabel("share of latency [%]")
        ax.set_ylim(0, 112)
        for i, t in enumerate(total):
            ax.text(i, 101, f"{t * k:.3g} {_TIME_LABELS[unit]}", ha="center", va="bottom", fontsize=7)
    else:
        ax.set_ylabel(f"latency [{_TIME_LABELS[unit]}]")
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.tick_params(axis="x", rotation=30)
    return _save(fig, path)


def _breakdown_rows(results, phases, detail, sel):
    """(network names, {phase: [s] per network}, latency [s] per network, title)."""
    results = _root(results)
    if _is_dataset(results):
        return _breakdown_from_dataset(results, phases, detail, sel)
    if sel:
        raise ConfigError(f"sel = {describe(sel)}: only a sweep Dataset has dimensions to select")
    if isinstance(results, Result):
        items = [(results.network, results)]
    elif isinstance(results, Mapping):
        items = list(results.items())
    elif isinstance(results, (list, tuple)):
        items = [(getattr(r, "network", str(i)), r) for i, r in enumerate(results)]
    else:
        raise ConfigError(f"results = {describe(results)}: must be {{network: Result}}, a list of Results or a "
                          f"sweep Dataset")
    if not items:
        raise ConfigError("results: empty (give at least one Result)")
    for name, r in items:
        if not isinstance(r, Result):
            raise ConfigError(f"results[{name!r}] = {describe(r)}: must be a Result (smaug_fast.simulate)")
    source = (lambda r, p: r.detail_s.get(p, 0.0)) if detail else (lambda r, p: r.breakdown_s[p])
    parts = {p: np.array([source(r, p) for _, r in items], dtype=float) for p in phases}
    total = np.array([r.latency_s for _, r in items], dtype=float)
    systems = {id(r.system): r.system for _, r in items}
    title = _system_title(next(iter(systems.values()))) if len(systems) == 1 else "systems differ per network"
    return [str(n) for n, _ in items], parts, total, title


def _breakdown_from_dataset(ds, phases, detail, sel):
    names = {p: f"{p}_detail_s" if detail else f"{p}_s" for p in phases}
    missing = [v for v in ("latency_s", *names.values()) if v not in ds.data_vars]
    if missing:
        raise ConfigError(f"results: the Dataset has no variable(s) {missing} (a sweep or Result.to_dataset() has)")
    if "network" not in ds.dims:
        label = ds["network"].values.item() if "network" in ds.coords else ds.attrs.get("network", "network")
        ds = ds.drop_vars("network", errors="ignore").expand_dims(network=[str(label)])
    left_before = [d for d in ds["latency_s"].dims if d != "network"]
    rows = {v: _select(ds[v], "breakdown", ("network",), sel, None, reducible=False).transpose("network") for v in
            ("latency_s", *names.values())}
    parts = {p: np.asarray(rows[v].values, dtype=float) for p, v in names.items()}
    title = _describe_selection({k: v for k, v in sel.items() if k in left_before}, [], None)
    return [str(n) for n in rows["latency_s"]["network"].values], parts, np.asarray(rows["latency_s"].values,
                                                                                     dtype=float), title


# ------------------------------------------------------------------------------------------------
# timeline: a Gantt chart of one run
# ------------------------------------------------------------------------------------------------
_RESOURCE = re.compile(r"^(accel|thread)(\d+)$")


def _resource_order(name: str):
    m = _RESOURCE.match(name)
    return (0 if m.group(1) == "accel" else 1, int(m.group(2)), "") if m else (2, 0, name)


def timeline(result: Result, path, *, unit: str = "auto"):
    """A Gantt chart of one run: every phase on every accelerator and CPU thread (``Result.timeline``),
    one row per resource, colored by phase (DETAIL_PHASES).

    Args:
        result: a Result simulated with its timeline (the default of ``simulate``).
        path: output file (.png or .pdf).
        unit: time axis in "auto" (ms or µs, by the latency), "s", "ms" or "us".
    """
    path = _check_path(path)
    if not isinstance(result, Result):
        raise ConfigError(f"result = {describe(result)}: must be a Result (smaug_fast.simulate)")
    unit, k = _time_unit(unit, result.latency_s)
    tl = result.timeline
    if len(tl) == 0:
        raise ConfigError("result has no timeline (simulate(..., timeline=False)); simulate it with timeline=True")
    from matplotlib.patches import Patch  # _figure has checked that matplotlib is there

    resources = sorted(set(tl.resource.tolist()), key=_resource_order)
    fig = _figure((9, 0.45 * len(resources) + 1.6))
    ax = fig.subplots()
    start = tl.start_s * k
    width = (tl.end_s - tl.start_s) * k
    drawn = []
    # one PolyCollection per (resource, phase): ResNet50 has ~30,000 intervals, one bar each would take 30 s.
    # Each phase of a row gets its own lane of the row, so that no phase is drawn over another: a thin
    # compute bar stays visible beside long flushes at any zoom, in any renderer (PDF viewers included).
    for row, res in enumerate(resources):
        on = tl.resource == res
        present = [p for p in DETAIL_PHASES if (on & (tl.phase == p)).any()]
        lane = 0.8 / max(1, len(present))
        for i, phase in enumerate(present):
            m = on & (tl.phase == phase)
            ax.broken_barh(np.column_stack([start[m], width[m]]), (row - 0.4 + i * lane, lane),
                           facecolors=_PHASE_COLORS[phase], linewidth=0)
            if phase not in drawn:
                drawn.append(phase)
    ax.set_yticks(range(len(resources)), resources)
    ax.set_ylim(len(resources) - 0.5, -0.5)
    ax.set_xlim(0, max(result.latency_s, float(tl.end_s.max())) * k)
    ax.set_xlabel(f"time [{_TIME_LABELS[unit]}]")
    ax.set_title(f"{result.network}{_system_label(result.system)}: {result.latency_s * k:.4g} {_TIME_LABELS[unit]}")
    handles = [Patch(color=_PHASE_COLORS[p], label=p.replace("_", " ")) for p in DETAIL_PHASES if p in drawn]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _save(fig, path)


def _system_title(system) -> str:
    """What a figure was simulated on: accelerators, interface, threads and DRAM."""
    if system is None or not hasattr(system, "num_accelerators"):
        return ""
    acc = type(system.accelerator).__name__
    return (f"{system.num_accelerators} x {acc} over {system.interface}, {system.cpu_threads} CPU "
            f"thread{'s' * (system.cpu_threads > 1)}, L2 {system.l2.size_bytes // 1024} KiB, DRAM {system.dram.name}")


def _system_label(system) -> str:
    if system is None or not hasattr(system, "num_accelerators"):
        return ""
    return (f" ({system.num_accelerators} accelerator{'s' * (system.num_accelerators > 1)}, "
            f"{system.cpu_threads} thread{'s' * (system.cpu_threads > 1)}, {system.interface})")


# ------------------------------------------------------------------------------------------------
# sweep_map: a variable over one or two sweep axes
# ------------------------------------------------------------------------------------------------
#: How sweep_map scales a line plot's y axis.
_SCALES = ("linear", "log", "relative")


def _annotation_format(grid: np.ndarray):
    """One format for every value of a heatmap: as many decimals as the largest value needs for three
    significant digits (mixed precision such as 0.00123 beside 1.2e-05 reads badly)."""
    finite = np.abs(grid[np.isfinite(grid)])
    top = float(finite.max()) if finite.size else 0.0
    decimals = max(0, 2 - int(np.floor(np.log10(top)))) if top > 0 else 0
    if decimals > 6 or top >= 1e6:
        return lambda v: f"{v:.2e}"
    return lambda v: f"{v:.{decimals}f}"


def sweep_map(dataset, variable: str, x: str, y: str | None, path, *, hue: str | None = None,
              sel: Mapping | None = None, reduce: str | None = None, scale: str = "linear", **more_sel):
    """A sweep variable over two axes (a heatmap) or, with ``y=None``, over one (lines: one per value of
    ``hue`` when given).

    Args:
        dataset: a sweep Dataset (``smaug_fast.sweep``, or ``open_sweep`` of a store; a per-op DataTree
            plots its root).
        variable: a data variable, e.g. "latency_s" or "energy_j".
        x, y: the dimensions along x and y; ``y=None`` draws lines.
        path: output file (.png or .pdf).
        hue: with ``y=None``, one line per value of this dimension.
        sel, **more_sel: one value of each other dimension (``sel`` takes dotted names such as
            ``{"l2.size_bytes": "4MiB"}``).
        reduce: what to do with the dimensions neither plotted nor selected: "min", "max", "mean" or
            "median" over them (e.g. the best latency over every other design choice). Without it they
            are an error that names them.
        scale: lines only: "linear", "log" (a log y axis: networks of very different latency all
            readable) or "relative" (each line divided by its first value).

    Times (variables in seconds) are drawn in the unit their largest value reads best in (s, ms, µs).
    """
    path = _check_path(path)
    if scale not in _SCALES:
        raise ConfigError(f"scale = {describe(scale)}: must be one of {list(_SCALES)}")
    if scale != "linear" and y is not None:
        raise ConfigError(f"scale = {describe(scale)}: only for line plots (y=None)")
    sel = _merge_sel(sel, more_sel)
    dataset = _root(dataset)
    if not _is_dataset(dataset):
        raise ConfigError(f"dataset = {describe(dataset)}: must be a sweep Dataset (smaug_fast.sweep)")
    if variable not in dataset.data_vars:
        raise ConfigError(f"variable = {describe(variable)}: not in the Dataset (variables: "
                          f"{', '.join(sorted(map(str, dataset.data_vars)))})")
    if reduce is not None and reduce not in _REDUCTIONS:
        raise ConfigError(f"reduce = {describe(reduce)}: must be one of {list(_REDUCTIONS)}")
    da = dataset[variable]
    for name, label in ((x, "x"), (y, "y"), (hue, "hue")):
        if name is not None and name not in da.dims:
            raise ConfigError(f"{label} = {describe(name)}: not a dimension of {variable} "
                              f"(dimensions: {list(da.dims)})")
        if name is not None and name in sel:
            raise ConfigError(f"{label} = {describe(name)}: also given in sel; plot a dimension or select it")
    if y is not None and hue is not None:
        raise ConfigError(f"hue = {describe(hue)}: only for line plots (y=None); a heatmap has no hue")
    if x == y or (hue is not None and hue == x):
        raise ConfigError(f"x = {describe(x)}: the same dimension as {'y' if x == y else 'hue'}")
    keep = tuple(d for d in (x, y, hue) if d is not None)
    reduced = [d for d in da.dims if d not in keep and d not in sel]
    da = _select(da, variable, keep, sel, reduce)
    unit = dataset[variable].attrs.get("units", "")
    if unit == "s":  # times in the unit their largest value reads best in
        finite = np.abs(da.values[np.isfinite(da.values)])
        unit, k = _time_unit("auto", float(finite.max()) if finite.size else 0.0)
        da, unit = da * k, _TIME_LABELS[unit]
    label = f"{variable} [{unit}]" if unit and unit != "1" else variable
    fig = _figure((6.4, 4.4))
    ax = fig.subplots()
    xs = [str(v) for v in da[x].values]
    if y is None:
        _lines(ax, da, x, xs, hue, scale)
        ax.set_ylabel(f"{variable} relative to {x}={xs[0]}" if scale == "relative" else label)
    else:
        grid = da.transpose(y, x).values
        image = ax.imshow(grid, aspect="auto", origin="lower", cmap="viridis")
        ax.set_xticks(range(len(xs)), xs)
        ax.set_yticks(range(da.sizes[y]), [str(v) for v in da[y].values])
        ax.set_ylabel(y)
        fig.colorbar(image, ax=ax, label=label)
        if grid.size <= 100:  # small grids: the values themselves, readable on either end of the colormap
            finite = grid[np.isfinite(grid)]
            mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
            fmt = _annotation_format(grid)
            for (i, j), v in np.ndenumerate(grid):
                ax.text(j, i, fmt(v), ha="center", va="center", fontsize=7, color="black" if v > mid else "white")
    ax.set_xlabel(x)
    ax.set_title(_describe_selection(sel, reduced, reduce) or variable, fontsize=9)
    return _save(fig, path)


def _lines(ax, da, x: str, xs: list[str], hue: str | None, scale: str) -> None:
    """One line (or one per ``hue`` value) of ``da`` along ``x``, on the y ``scale``."""
    series = [(None, da)] if hue is None else [(f"{hue}={v}", da.sel({hue: v})) for v in da[hue].values]
    for label, s in series:
        values = np.asarray(s.transpose(x).values, dtype=float)
        if scale == "relative":
            values = values / values[0] if values[0] else values * np.nan
        ax.plot(xs, values, marker="o", label=label)
    if hue is not None:
        ax.legend(frameon=False)
    if scale == "log":
        ax.set_yscale("log")


# ------------------------------------------------------------------------------------------------
# scenario: DRAM bandwidth, power and cumulative DRAM energy per task over time (SMAUG Fig. 18)
# ------------------------------------------------------------------------------------------------
_TASK_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c")


def scenario(result, path, *, points: int = 600, unit: str = "auto"):
    """SMAUG's Fig. 18 for a scenario: per task, stacked over time, the DRAM bandwidth, the power and the
    cumulative DRAM energy (``"idle"``: the static power while no task runs).

    Args:
        result: a ScenarioResult (``simulate_scenario``) or its ``timeseries()`` Dataset.
        path: output file (.png or .pdf).
        points: time bins (when ``result`` is a ScenarioResult).
        unit: time axis in "auto", "s", "ms" or "us".
    """
    path = _check_path(path)
    ds = result.timeseries(points) if hasattr(result, "timeseries") else result
    if not _is_dataset(ds) or "dram_energy_j" not in getattr(ds, "data_vars", {}):
        raise ConfigError(f"result = {describe(result)}: must be a ScenarioResult or its timeseries() Dataset")
    time = np.asarray(ds["time"].values, dtype=float)
    unit, k = _time_unit(unit, float(time[-1]) if len(time) else 0.0)
    tasks = [str(t) for t in ds["task"].values]
    colors = {t: ("#cccccc" if t == "idle" else _TASK_COLORS[i % len(_TASK_COLORS)]) for i, t in enumerate(tasks)}
    from matplotlib.patches import Patch  # _figure has checked that matplotlib is there

    fig = _figure((9, 7.5))
    axes = fig.subplots(3, 1, sharex=True)
    drawn: list[str] = []
    panels = (("dram_bandwidth_bytes_per_s", 1e-9, "DRAM bandwidth [GB/s]", "step"),
              ("power_w", 1.0, "power [W]", "step"), ("dram_energy_j", 1e3, "cumulative DRAM energy [mJ]", "line"))
    for ax, (var, scale, label, _) in zip(axes, panels):
        values = np.asarray(ds[var].values, dtype=float) * scale
        shown = [i for i, t in enumerate(tasks) if np.any(values[i] != 0)]
        drawn += [tasks[i] for i in shown if tasks[i] not in drawn]
        if shown:
            ax.stackplot(time * k, values[shown], labels=[tasks[i] for i in shown],
                         colors=[colors[tasks[i]] for i in shown], step="pre" if var != "dram_energy_j" else None)
        ax.set_ylabel(label)
        ax.set_xlim(0, float(time[-1]) * k if len(time) else 1)
    handles = [Patch(color=colors[t], label=t) for t in tasks if t in drawn]
    axes[0].legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    axes[-1].set_xlabel(f"time [{_TIME_LABELS[unit]}]")
    total = float(ds["dram_energy_j"].isel(time=-1).sum()) * 1e3 if len(time) else 0.0
    axes[0].set_title(f"{ds.attrs.get('scenario', 'scenario')}: DRAM energy {total:.3g} mJ over "
                      f"{float(time[-1]) * k if len(time) else 0:.4g} {_TIME_LABELS[unit]}")
    return _save(fig, path)


__all__ = ["breakdown", "scenario", "sweep_map", "timeline"]
