"""Figures (matplotlib, the ``[plot]`` extra): SMAUG's Fig. 1-style latency breakdown, the timeline of
one run, and any sweep variable over one or two axes.

Every function draws on a new matplotlib Figure (no pyplot, no display needed), saves it to ``path``
(PNG or PDF, by the suffix) and returns the Figure.

>>> from smaug_fast import plot, presets, simulate, zoo
>>> r = simulate(zoo.load("lenet5"), presets.load("smaug-table2"))
>>> plot.timeline(r, "lenet5.png")
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from .errors import ConfigError, describe
from .sim.result import DETAIL_PHASES, PHASES, Result

_SUFFIXES = (".png", ".pdf")
#: One color per phase (Fig. 1's three, and the finer ones of the timeline in their shades).
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


def _pyplot():
    """matplotlib's Figure class; a Figure made directly needs no pyplot and no display backend."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("smaug_fast.plot needs matplotlib: pip install 'smaug-fast[plot]'") from None
    return Figure


def _check_path(path) -> str:
    path = os.fspath(path)
    if not path.lower().endswith(_SUFFIXES):
        raise ConfigError(f"path = {describe(path)}: must end in .png or .pdf")
    return path


def _save(fig, path: str):
    fig.savefig(path, bbox_inches="tight", dpi=120)
    return fig


def breakdown(results, path, *, normalize: bool = True):
    """Stacked bars of accelerator compute / data transfer / CPU per network (SMAUG's Fig. 1).

    Args:
        results: {network: Result}, a list of Results, or a sweep Dataset with only the ``network``
            dimension left (select the others first, e.g. ``ds.sel(interface="dma")``).
        path: output file (.png or .pdf).
        normalize: shares of each network's latency [%] (default) or absolute times [ms].
    """
    path = _check_path(path)
    names, parts = _breakdown_rows(results)
    Figure = _pyplot()
    fig = Figure(figsize=(max(4.0, 0.9 * len(names) + 2), 3.6))
    ax = fig.subplots()
    bottom = np.zeros(len(names))
    for p in PHASES:
        values = parts[p] / parts["total"] * 100 if normalize else parts[p] * 1e3
        ax.bar(names, values, bottom=bottom, label=p.replace("_", " "), color=_PHASE_COLORS[p])
        bottom += values
    ax.set_ylabel("share of latency [%]" if normalize else "latency [ms]")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.tick_params(axis="x", rotation=30)
    return _save(fig, path)


def _breakdown_rows(results) -> tuple[list[str], dict[str, np.ndarray]]:
    if hasattr(results, "data_vars"):  # a sweep Dataset (itself a Mapping)
        left = [d for d in results["latency_s"].dims if d != "network"]
        if left:
            raise ConfigError(f"breakdown: the Dataset still has dimensions {left}; select one value of each "
                              f"(ds.sel(...)) so that only 'network' is left")
        names = [str(n) for n in results["network"].values]
        parts = {p: np.asarray(results[f"{p}_s"].values, dtype=float) for p in PHASES}
        parts["total"] = np.asarray(results["latency_s"].values, dtype=float)
        return names, parts
    if isinstance(results, Mapping):
        items = list(results.items())
    elif isinstance(results, (list, tuple)):
        items = [(r.network, r) for r in results]
    else:
        raise ConfigError(f"results = {describe(results)}: must be {{network: Result}}, a list of Results or a "
                          f"sweep Dataset")
    if not items:
        raise ConfigError("results: empty (give at least one Result)")
    for name, r in items:
        if not isinstance(r, Result):
            raise ConfigError(f"results[{name!r}] = {describe(r)}: must be a Result (smaug_fast.simulate)")
    parts = {p: np.array([r.breakdown_s[p] for _, r in items]) for p in PHASES}
    parts["total"] = np.array([r.latency_s for _, r in items])
    return [str(n) for n, _ in items], parts


def timeline(result: Result, path, *, unit: str = "ms"):
    """A Gantt chart of one run: every phase on every accelerator and CPU thread (``Result.timeline``).

    Args:
        result: a Result simulated with its timeline (the default of ``simulate``).
        path: output file (.png or .pdf).
        unit: time axis in "s", "ms" or "us".
    """
    path = _check_path(path)
    scale = {"s": 1.0, "ms": 1e3, "us": 1e6}
    if unit not in scale:
        raise ConfigError(f"unit = {describe(unit)}: must be one of {sorted(scale)}")
    if not isinstance(result, Result):
        raise ConfigError(f"result = {describe(result)}: must be a Result (smaug_fast.simulate)")
    tl = result.timeline
    if len(tl) == 0:
        raise ConfigError("result has no timeline (simulate(..., timeline=False)); simulate it with timeline=True")
    resources = sorted(set(tl.resource.tolist()), key=lambda r: (not r.startswith("accel"), int(r.lstrip("acelthrd"))))
    row = {r: i for i, r in enumerate(resources)}
    Figure = _pyplot()
    fig = Figure(figsize=(9, 0.45 * len(resources) + 1.6))
    ax = fig.subplots()
    k = scale[unit]
    for phase in DETAIL_PHASES:
        sel = tl.phase == phase
        if not sel.any():
            continue
        y = np.array([row[r] for r in tl.resource[sel]])
        ax.barh(y, (tl.end_s[sel] - tl.start_s[sel]) * k, left=tl.start_s[sel] * k, height=0.8,
                color=_PHASE_COLORS[phase], label=phase.replace("_", " "), linewidth=0)
    ax.set_yticks(range(len(resources)), resources)
    ax.invert_yaxis()
    ax.set_xlabel(f"time [{unit}]")
    ax.set_title(f"{result.network}: {result.latency_s * 1e3:.3f} ms")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _save(fig, path)


def sweep_map(dataset, variable: str, x: str, path, *, y: str | None = None, hue: str | None = None, **sel):
    """A sweep variable over one axis (lines, one per value of ``hue``) or two (a heatmap).

    Args:
        dataset: a sweep Dataset (``smaug_fast.sweep``, or ``open_sweep`` of a store).
        variable: a data variable, e.g. "latency_s".
        x, y: the axes (dimensions) to plot over; ``y`` makes a heatmap.
        hue: with a line plot, one line per value of this dimension.
        path: output file (.png or .pdf).
        **sel: one value for every other dimension (e.g. ``network="vgg16"``).
    """
    path = _check_path(path)
    if variable not in getattr(dataset, "data_vars", {}):
        known = sorted(getattr(dataset, "data_vars", {}))
        raise ConfigError(f"variable = {describe(variable)}: not in the Dataset (variables: {', '.join(known)})")
    da = dataset[variable]
    for name, value in sel.items():
        if name not in da.dims:
            raise ConfigError(f"sel: {name!r} is not a dimension of {variable} (dimensions: {list(da.dims)})")
        if value not in da[name].values.tolist():
            raise ConfigError(f"sel: {name} = {describe(value)}: not among its values {da[name].values.tolist()}")
    da = da.sel(sel)
    for name, label in ((x, "x"), (y, "y"), (hue, "hue")):
        if name is not None and name not in da.dims:
            raise ConfigError(f"{label} = {describe(name)}: not a dimension of {variable} (dimensions: {list(da.dims)})")
    left = [d for d in da.dims if d not in (x, y, hue)]
    if left:
        raise ConfigError(f"dimensions {left} are left over: select one value of each (e.g. {left[0]}=...)")
    unit = dataset[variable].attrs.get("units", "")
    label = f"{variable} [{unit}]" if unit else variable
    Figure = _pyplot()
    fig = Figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    xs = [str(v) for v in da[x].values]
    if y is None:
        if hue is None:
            ax.plot(xs, da.values, marker="o")
        else:
            for value in da[hue].values:
                ax.plot(xs, da.sel({hue: value}).transpose(x).values, marker="o", label=f"{hue}={value}")
            ax.legend(frameon=False)
        ax.set_xlabel(x)
        ax.set_ylabel(label)
    else:
        grid = da.transpose(y, x).values
        image = ax.imshow(grid, aspect="auto", origin="lower", cmap="viridis")
        ax.set_xticks(range(len(xs)), xs)
        ax.set_yticks(range(da.sizes[y]), [str(v) for v in da[y].values])
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        fig.colorbar(image, ax=ax, label=label)
    ax.set_title(", ".join(f"{k}={v}" for k, v in sel.items()) or variable)
    return _save(fig, path)


__all__ = ["breakdown", "sweep_map", "timeline"]
