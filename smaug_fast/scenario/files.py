"""A scenario and its system from a TOML file (``smaug-fast scenario SPEC.toml``; ``examples/camera_pipe.toml``).

Top level: ``name``, ``preset`` (default ``smaug-table2``), an optional ``[set]`` table of dotted
System changes (``accelerator = {kind = "systolic", array = {rows = 4, cols = 8}}``), ``period_s`` or
``fps``, ``deadline_s``, ``frames``, ``pipelined``, and one ``[[tasks]]`` table per task with ``name``
and either ``network`` (a zoo network; ``batch``) or ``pipeline`` (a name of
:data:`smaug_fast.pipelines.BUILDERS`; every other key is an option of its builder, e.g. ``width``,
``height``, ``threads``), and optionally ``after``, ``period_s`` or ``fps``, ``deadline_s``, ``priority``,
``accelerators``, ``threads``. Every mistake is a ConfigError naming the file, the task and the key.
"""

from __future__ import annotations

import inspect

from ..errors import ConfigError, WorkloadError, describe
from ..spec import read_toml
from .spec import Scenario, Task

_TOP = {"name", "preset", "set", "period_s", "fps", "deadline_s", "frames", "pipelined", "tasks"}
_TASK = {"name", "network", "pipeline", "batch", "after", "period_s", "fps", "deadline_s", "priority",
         "accelerators", "threads"}


def _period(owner: str, table: dict) -> float | None:
    if "fps" in table and "period_s" in table:
        raise ConfigError(f"{owner}: give period_s or fps, not both")
    if "fps" in table:
        fps = table["fps"]
        if isinstance(fps, bool) or not isinstance(fps, (int, float)) or not fps > 0:
            raise ConfigError(f"{owner}: fps = {describe(fps)}: must be a number > 0")
        return 1.0 / fps
    return table.get("period_s")


def _workload(owner: str, t: dict):
    from .. import zoo
    from ..pipelines import BUILDERS

    kinds = [k for k in ("network", "pipeline") if k in t]
    if len(kinds) != 1:
        raise ConfigError(f"{owner}: give exactly one of network = NAME or pipeline = NAME")
    if kinds[0] == "network":
        extra = sorted(set(t) - _TASK)
        if extra:
            raise ConfigError(f"{owner}: {extra[0]}: unknown key of a network task (known: {', '.join(sorted(_TASK))})")
        return zoo.load(t["network"], batch=t.get("batch", 1))
    name = t["pipeline"]
    if name not in BUILDERS:
        raise ConfigError(f"{owner}: pipeline = {describe(name)}: unknown; known: {', '.join(BUILDERS)}")
    builder = BUILDERS[name]
    options = {k: v for k, v in t.items() if k not in _TASK}
    known = set(inspect.signature(builder).parameters)
    for key in options:
        if key not in known:
            raise ConfigError(f"{owner}: {key}: unknown option of pipeline {name!r} (known: {', '.join(sorted(known))})")
    return builder(**options)


def _task(path: str, i: int, t: object) -> Task:
    if not isinstance(t, dict):
        raise ConfigError(f"{path}: tasks[{i}] = {describe(t)}: must be a table ([[tasks]])")
    if not isinstance(t.get("name"), str):
        raise ConfigError(f"{path}: tasks[{i}].name = {describe(t.get('name'))}: every task needs a name")
    owner = f"{path}: task {t['name']!r}"
    try:
        acc = t.get("accelerators")
        return Task(t["name"], _workload(owner, t), after=t.get("after", ()), period_s=_period(owner, t),
                    deadline_s=t.get("deadline_s"), priority=t.get("priority", 0.0),
                    accelerators=tuple(acc) if isinstance(acc, list) else acc, threads=t.get("threads"))
    except (ConfigError, WorkloadError) as exc:
        text = str(exc)
        if not text.startswith(path):
            text = f"{owner}: {text}" if not text.startswith("task ") else f"{path}: {text}"
        raise type(exc)(text) from None


def read_scenario(path: str):
    """(Scenario, System) from the TOML file at ``path`` (module docstring)."""
    from .. import presets

    spec = read_toml(path)
    unknown = sorted(set(spec) - _TOP)
    if unknown:
        raise ConfigError(f"{path}: {unknown[0]}: unknown key (known: {', '.join(sorted(_TOP))}); keys after a "
                          "[table] header belong to it, so write the top-level keys first")
    tasks = spec.get("tasks")
    if not isinstance(tasks, list) or not tasks:
        raise ConfigError(f"{path}: tasks: give at least one [[tasks]] table")
    changes = spec.get("set", {})
    if not isinstance(changes, dict):
        raise ConfigError(f"{path}: set = {describe(changes)}: must be a table of dotted path = value")
    try:
        system = presets.load(spec.get("preset", "smaug-table2"), **changes)
        period = _period(path, spec)
        scenario = Scenario(tuple(_task(path, i, t) for i, t in enumerate(tasks)),
                            period_s=1 / 30 if period is None else period, deadline_s=spec.get("deadline_s"),
                            frames=spec.get("frames", 1), pipelined=spec.get("pipelined", False),
                            name=spec.get("name", "scenario"))
    except (ConfigError, WorkloadError) as exc:
        text = str(exc)
        raise type(exc)(text if text.startswith(path) else f"{path}: {text}") from None
    return scenario, system


__all__ = ["read_scenario"]
