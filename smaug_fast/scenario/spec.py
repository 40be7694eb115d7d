"""What a scenario is: tasks (DNN graphs or CPU pipelines) that share one SoC, frame after frame.

>>> from smaug_fast import Scenario, Task, zoo
>>> from smaug_fast.pipelines import camera_pipe
>>> s = Scenario((Task("camera", camera_pipe()), Task("cnn10", zoo.load("cnn10"), after=("camera",))),
...              period_s=1 / 30, frames=10)

Every frame (period ``period_s``) releases one job of each task; a task runs when the tasks it comes
``after`` have finished their job of the same frame, and must finish ``deadline_s`` after the frame's
release (default: the period). Without ``pipelined``, a frame's tasks start only when the previous frame's
tasks (those they are connected to by dependencies) have all finished; with it, a task's job waits only for
its own previous job, so frame i+1's camera pipeline can overlap frame i's DNN. A task with its own
``period_s`` is a separate stream of jobs (multi-tenant: two DNNs at their own rates), with its own deadline.
``accelerators`` pins a DNN to some of the system's accelerators (indices); ``priority`` orders tasks that
want the same cores or accelerators (higher first; a started operator or strip is not preempted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..choices import TaskKind
from ..errors import ConfigError, WorkloadError, describe
from ..pipelines.stages import Pipeline
from ..workload.graph import Graph

#: Most frames one scenario simulates.
MAX_FRAMES = 100_000


def _positive(owner: str, name: str, value) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{owner}: {name} = {describe(value)}: must be a number > 0 [s]")
    return float(value)


def _names(owner: str, name: str, value) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, (tuple, list)) or not all(isinstance(v, str) and v for v in items):
        raise ConfigError(f"{owner}: {name} = {describe(value)}: must be a task name or a list of task names")
    return tuple(items)


@dataclass(frozen=True, eq=False)
class Task:
    """One workload of a scenario (module docstring).

    Attributes:
        name: unique within the scenario.
        workload: a :class:`~smaug_fast.Graph` (runs through ``simulate``) or a
            :class:`~smaug_fast.pipelines.Pipeline` (runs on the CPU).
        after: tasks whose job of the same frame must finish first.
        period_s: its own release period [s] (None: the scenario's frame period).
        deadline_s: time from release to the deadline [s] (None: its period).
        priority: larger first when tasks want the same cores or accelerators.
        accelerators: a DNN's accelerators, as indices into the system's (None: all of them).
        threads: CPU threads (a DNN's tiling threads, default the system's ``cpu_threads``; a pipeline's
            strips, default the pipeline's, else every core).
    """

    name: str
    workload: Graph | Pipeline
    after: tuple[str, ...] = ()
    period_s: float | None = None
    deadline_s: float | None = None
    priority: float = 0.0
    accelerators: tuple[int, ...] | None = None
    threads: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"task name = {describe(self.name)}: must be a non-empty string")
        owner = f"task {self.name!r}"
        if not isinstance(self.workload, (Graph, Pipeline)):
            raise WorkloadError(f"{owner}: workload = {describe(self.workload)}: must be a Graph or a Pipeline")
        object.__setattr__(self, "after", _names(owner, "after", self.after))
        object.__setattr__(self, "period_s", _positive(owner, "period_s", self.period_s))
        object.__setattr__(self, "deadline_s", _positive(owner, "deadline_s", self.deadline_s))
        if isinstance(self.priority, bool) or not isinstance(self.priority, (int, float)) or not math.isfinite(
                self.priority):
            raise ConfigError(f"{owner}: priority = {describe(self.priority)}: must be a finite number")
        if self.accelerators is not None:
            acc = self.accelerators
            if isinstance(acc, int) and not isinstance(acc, bool):
                acc = (acc,)
            if (not isinstance(acc, (tuple, list)) or not acc
                    or not all(isinstance(a, int) and not isinstance(a, bool) and a >= 0 for a in acc)
                    or len(set(acc)) != len(acc)):
                raise ConfigError(f"{owner}: accelerators = {describe(self.accelerators)}: must be distinct "
                                  "accelerator indices (integers >= 0)")
            if self.kind is TaskKind.PIPELINE:
                raise ConfigError(f"{owner}: accelerators = {describe(self.accelerators)}: a CPU pipeline uses no "
                                  "accelerator")
            object.__setattr__(self, "accelerators", tuple(acc))
        if self.threads is not None and (isinstance(self.threads, bool) or not isinstance(self.threads, int)
                                         or self.threads < 1):
            raise ConfigError(f"{owner}: threads = {describe(self.threads)}: must be an integer >= 1")

    @property
    def kind(self) -> TaskKind:
        """What it runs: ``dnn`` (a Graph) or ``pipeline``."""
        return TaskKind.DNN if isinstance(self.workload, Graph) else TaskKind.PIPELINE


@dataclass(frozen=True, eq=False)
class Scenario:
    """Tasks sharing one SoC frame after frame (module docstring).

    Attributes:
        tasks: the tasks, names unique.
        period_s: the frame period [s] (1/30: 30 frames per second).
        deadline_s: time from a frame's release to its deadline [s] (None: the period).
        frames: frames to simulate.
        pipelined: let frame i+1's tasks overlap frame i's (each task still runs its frames in order).
        name: a label.
    """

    tasks: tuple[Task, ...]
    period_s: float = 1 / 30
    deadline_s: float | None = None
    frames: int = 1
    pipelined: bool = False
    name: str = "scenario"

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"scenario name = {describe(self.name)}: must be a non-empty string")
        owner = f"scenario {self.name!r}"
        tasks = tuple(self.tasks) if isinstance(self.tasks, (tuple, list)) else None
        if not tasks or not all(isinstance(t, Task) for t in tasks):
            raise ConfigError(f"{owner}: tasks = {describe(self.tasks)}: must be a non-empty list of Task")
        object.__setattr__(self, "tasks", tasks)
        object.__setattr__(self, "period_s", _positive(owner, "period_s", self.period_s))
        object.__setattr__(self, "deadline_s", _positive(owner, "deadline_s", self.deadline_s))
        if isinstance(self.frames, bool) or not isinstance(self.frames, int) or not 1 <= self.frames <= MAX_FRAMES:
            raise ConfigError(f"{owner}: frames = {describe(self.frames)}: must be an integer in [1, {MAX_FRAMES}]")
        if not isinstance(self.pipelined, bool):
            raise ConfigError(f"{owner}: pipelined = {describe(self.pipelined)}: must be true or false")
        self._check_dependencies()

    def _check_dependencies(self) -> None:
        by_name: dict[str, Task] = {}
        for t in self.tasks:
            if t.name in by_name:
                raise ConfigError(f"task {t.name!r}: name: two tasks have this name")
            by_name[t.name] = t
        for t in self.tasks:
            for d in t.after:
                if d not in by_name:
                    raise ConfigError(f"task {t.name!r}: after = {d!r}: no task of that name "
                                      f"(tasks: {', '.join(by_name)})")
                if self.period(by_name[d]) != self.period(t):
                    raise ConfigError(f"task {t.name!r}: after = {d!r}: {d!r} runs at a different period_s "
                                      f"({self.period(by_name[d]):g} s, not {self.period(t):g} s)")
        state: dict[str, int] = {}

        def visit(name: str, path: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = path[path.index(name):] + [name]
                raise ConfigError(f"task {name!r}: after: dependency cycle {' -> '.join(cycle)}")
            state[name] = 1
            for d in by_name[name].after:
                visit(d, path + [name])
            state[name] = 2

        for t in self.tasks:
            visit(t.name, [])

    def period(self, task: Task) -> float:
        """``task``'s release period [s]."""
        return task.period_s if task.period_s is not None else self.period_s

    def deadline(self, task: Task) -> float:
        """``task``'s relative deadline [s]."""
        if task.deadline_s is not None:
            return task.deadline_s
        if task.period_s is not None:
            return task.period_s
        return self.frame_deadline_s

    @property
    def frame_deadline_s(self) -> float:
        """A frame's relative deadline [s]."""
        return self.deadline_s if self.deadline_s is not None else self.period_s

    @property
    def horizon_s(self) -> float:
        """The time over which jobs are released: ``frames`` frame periods [s]."""
        return self.frames * self.period_s

    def jobs_of(self, task: Task) -> int:
        """Jobs ``task`` releases within the horizon."""
        if task.period_s is None:
            return self.frames
        return max(1, math.ceil(self.horizon_s / task.period_s - 1e-9))

    def task(self, name: str) -> Task:
        for t in self.tasks:
            if t.name == name:
                return t
        raise ConfigError(f"scenario {self.name!r}: no task named {name!r}")


__all__ = ["MAX_FRAMES", "Scenario", "Task"]
