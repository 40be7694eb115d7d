"""Scenario axes swept: ``sweep_scenario(scenario, system, axes) -> xarray.Dataset``.

An axis is a dotted System path (``"accelerator.array.rows"``, ``"dram"``, ``"num_accelerators"``) or a
scenario field prefixed ``scenario.`` (``period_s``, ``fps``, ``deadline_s``, ``frames``, ``pipelined``);
every combination is one ``simulate_scenario`` (serially; the tasks' memoized stages are reused between
points that share them). Every value is checked before any point runs: a bad path or value is a
ConfigError naming it. The Dataset has one dimension per axis and, per point, the scenario's figures;
per task (dimension ``task``) its mean and longest latency, its deadline misses and its energy per job.

>>> ds = sweep_scenario(case, presets.load("smaug-table2", accelerator=SystolicArray()),
...                     {"accelerator.array.cols": [8, 4], "scenario.fps": [30, 60, 120]})
>>> ds["frame_latency_s"].sel(**{"scenario.fps": 60})
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np

from ..errors import ConfigError, describe
from ..hardware import System
from .engine import simulate_scenario
from .spec import Scenario

_SCENARIO_FIELDS = ("period_s", "fps", "deadline_s", "frames", "pipelined")
#: Per point: name -> (units, description, function of a ScenarioResult).
_POINT = {
    "frame_latency_s": ("s", "mean latency of a frame", lambda r: float(np.mean(r.frames.latency_s))),
    "frame_max_latency_s": ("s", "longest latency of a frame", lambda r: float(np.max(r.frames.latency_s))),
    "deadline_misses": ("1", "frames past their deadline", lambda r: float(r.deadline_misses)),
    "achievable_fps": ("1/s", "frames per second back to back", lambda r: float(r.achievable_fps)),
    "energy_per_frame_j": ("J", "mean energy of a frame's jobs", lambda r: float(r.energy_per_frame_j)),
}
_TASK = {
    "task_mean_latency_s": ("s", "mean latency of a job", lambda t: float(t.latency_s.mean())),
    "task_max_latency_s": ("s", "longest latency of a job", lambda t: float(t.latency_s.max())),
    "task_deadline_misses": ("1", "jobs past their deadline", lambda t: float(t.deadline_misses)),
    "task_energy_j": ("J", "mean energy of a job", lambda t: float(t.energy_j.mean())),
}


def _scenario_at(scenario: Scenario, changes: dict) -> Scenario:
    changes = dict(changes)
    if "fps" in changes:
        fps = changes.pop("fps")
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0:
            raise ConfigError(f"scenario.fps = {describe(fps)}: must be a number > 0")
        changes["period_s"] = 1.0 / fps
    return dataclasses.replace(scenario, **changes) if changes else scenario


def _point(scenario: Scenario, system: System, names, values):
    sys_changes = {n: v for n, v in zip(names, values) if not n.startswith("scenario.")}
    sc_changes = {n.split(".", 1)[1]: v for n, v in zip(names, values) if n.startswith("scenario.")}
    return _scenario_at(scenario, sc_changes), system.replace(**sys_changes) if sys_changes else system


def sweep_scenario(scenario: Scenario, system: System, axes: dict[str, list]):
    """Every combination of ``axes`` (module docstring) as an xarray Dataset."""
    import xarray as xr

    if not isinstance(axes, dict) or not axes:
        raise ConfigError(f"axes = {describe(axes)}: must be a non-empty mapping of axis name to a list of values")
    for name, values in axes.items():
        if not isinstance(values, (list, tuple)) or not values:
            raise ConfigError(f"axes[{name!r}] = {describe(values)}: must be a non-empty list of values")
        if name.startswith("scenario.") and name.split(".", 1)[1] not in _SCENARIO_FIELDS:
            raise ConfigError(f"axes: {name}: unknown scenario field (known: {', '.join(_SCENARIO_FIELDS)})")
    names = list(axes)
    points = list(itertools.product(*(axes[n] for n in names)))
    built = [_point(scenario, system, names, p) for p in points]  # every value checked before any run
    tasks = [t.name for t in scenario.tasks]
    shape = tuple(len(axes[n]) for n in names)
    point = {k: np.zeros(len(points)) for k in _POINT}
    per_task = {k: np.zeros((len(points), len(tasks))) for k in _TASK}
    for i, (sc, sy) in enumerate(built):
        r = simulate_scenario(sc, sy)
        for k, (_, _, f) in _POINT.items():
            point[k][i] = f(r) if len(r.frames) or k == "deadline_misses" else np.nan
        for j, name in enumerate(tasks):
            for k, (_, _, f) in _TASK.items():
                per_task[k][i, j] = f(r.tasks[name])
    data = {k: (names, point[k].reshape(shape), {"units": u, "description": d}) for k, (u, d, _) in _POINT.items()}
    for k, (u, d, _) in _TASK.items():
        data[k] = ([*names, "task"], per_task[k].reshape(*shape, len(tasks)), {"units": u, "description": d})
    coords = {n: [str(v) if not isinstance(v, (int, float, bool)) else v for v in axes[n]] for n in names}
    coords["task"] = tasks
    return xr.Dataset(data, coords=coords, attrs={"scenario": scenario.name})


__all__ = ["sweep_scenario"]
