"""What ``simulate_scenario`` returns: per task and per frame latency, deadlines, energy, and a time series.

:class:`ScenarioResult` holds plain NumPy arrays; :meth:`ScenarioResult.to_dataset` and
:meth:`ScenarioResult.timeseries` are the only places it becomes xarray (DESIGN.md: xarray at the edge).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: The extra parts of a job's latency when it shares the SoC [s]: waiting for cores or accelerators
#: held by other jobs, and running slower (DRAM bandwidth shared, fewer free cores).
SHARING = ("wait", "contention")


@dataclass(frozen=True, eq=False)
class TaskResult:
    """One task over the scenario: per job (arrays, in release order) and in summary.

    ``latency_s`` runs from the moment the job may start (released, dependencies done) to its end;
    ``response_s`` from its release to its end, which the deadline bounds. A job that never ran next
    to another one nor waited for one takes exactly its time alone (``alone``: the ``simulate`` Result of
    a DNN, the PipelineResult of a pipeline).
    """

    name: str
    kind: str
    alone: object
    period_s: float
    deadline_s: float
    release_s: np.ndarray
    ready_s: np.ndarray
    start_s: np.ndarray
    finish_s: np.ndarray
    latency_s: np.ndarray
    response_s: np.ndarray
    wait_s: np.ndarray
    contention_s: np.ndarray
    deadline_met: np.ndarray
    shared: np.ndarray
    energy_j: np.ndarray
    dram_energy_j: np.ndarray
    achievable_fps: float
    accelerators: tuple[int, ...] = ()
    threads: int = 1
    priority: float = 0.0

    @property
    def alone_latency_s(self) -> float:
        return float(self.alone.latency_s)  # type: ignore[attr-defined]

    @property
    def jobs(self) -> int:
        return len(self.release_s)

    @property
    def deadline_misses(self) -> int:
        return int((~self.deadline_met).sum())

    @property
    def slack_s(self) -> np.ndarray:
        """Deadline minus response, per job [s] (negative: missed)."""
        return self.deadline_s - self.response_s

    def latency_stats(self) -> dict[str, float]:
        """The latency distribution over the jobs [s]: mean, min, p50, p95, p99, max."""
        lat = self.latency_s
        q = np.percentile(lat, [50, 95, 99]) if len(lat) else [np.nan] * 3
        return {"mean": float(lat.mean()), "min": float(lat.min()), "p50": float(q[0]), "p95": float(q[1]),
                "p99": float(q[2]), "max": float(lat.max())}

    @property
    def breakdown_s(self) -> dict[str, float]:
        """Mean latency per job split into the task's phases alone plus ``wait`` and ``contention`` [s]."""
        out = {k: float(v) for k, v in self.alone.breakdown_s.items()}  # type: ignore[attr-defined]
        out["wait"] = float(self.wait_s.mean())
        out["contention"] = float(self.contention_s.mean())
        return out


@dataclass(frozen=True, eq=False)
class Frames:
    """Per frame of the tasks that run at the scenario's period: release, end, latency (release to the
    last task's end), deadline met, slack (deadline minus latency), energy and DRAM energy of its jobs
    [s, J], and each task's latency in the frame (``tasks``)."""

    release_s: np.ndarray
    finish_s: np.ndarray
    latency_s: np.ndarray
    deadline_met: np.ndarray
    slack_s: np.ndarray
    energy_j: np.ndarray
    dram_energy_j: np.ndarray
    tasks: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.release_s)


@dataclass(frozen=True, eq=False)
class Series:
    """Piecewise-constant rows of the run: over ``[t0, t1)``, per row, the task (index into ``names``;
    ``len(names) - 1`` is ``"idle"``), its DRAM bandwidth [B/s], power [W] and DRAM power [W]."""

    names: tuple[str, ...]
    t0: np.ndarray
    t1: np.ndarray
    task: np.ndarray
    bandwidth: np.ndarray
    power: np.ndarray
    dram_power: np.ndarray
    end_s: float


def _integral(t0, t1, value, edges) -> np.ndarray:
    """The integral of the rows' values from 0 to each edge."""
    if len(t0) == 0:
        return np.zeros(len(edges))
    points = np.concatenate([t0, t1])
    order = np.argsort(points, kind="stable")
    slope = np.cumsum(np.concatenate([value, -value])[order])
    pts = points[order]
    cum = np.concatenate([[0.0], np.cumsum(slope[:-1] * np.diff(pts))])
    return np.interp(edges, pts, cum, left=0.0, right=cum[-1])


@dataclass(frozen=True, eq=False)
class ScenarioResult:
    """The simulated scenario (see ``simulate_scenario``)."""

    scenario: object
    system: object
    tasks: dict[str, TaskResult]
    frames: Frames
    achievable_fps: float
    makespan_s: float
    idle_energy_j: float
    series: Series = field(repr=False)

    @property
    def deadline_misses(self) -> int:
        """Frames that missed their deadline."""
        return int((~self.frames.deadline_met).sum())

    @property
    def deadline_met(self) -> bool:
        """Every frame and every job met its deadline."""
        return self.deadline_misses == 0 and all(t.deadline_misses == 0 for t in self.tasks.values())

    @property
    def energy_per_frame_j(self) -> float:
        """Mean energy of a frame's jobs [J] (NaN without frame tasks)."""
        return float(self.frames.energy_j.mean()) if len(self.frames) else float("nan")

    @property
    def energy_j(self) -> float:
        """Every job's energy plus the static energy while nothing ran [J]."""
        return float(sum(t.energy_j.sum() for t in self.tasks.values()) + self.idle_energy_j)

    def timeseries(self, points: int = 1000):
        """An xarray Dataset along ``time`` (``points`` bins from 0 to the end of the run, each labelled by
        its end) and ``task`` (the tasks and ``"idle"``, the static power while nothing runs): the DRAM
        bandwidth and the power averaged over each bin, the energy and DRAM energy accumulated up to its end."""
        import xarray as xr

        s = self.series
        n = max(int(points), 1)
        edges = np.linspace(0.0, s.end_s, n + 1)
        dt = np.diff(edges)
        data = {k: np.zeros((len(s.names), n)) for k in ("bw", "p", "e", "de")}
        for i in range(len(s.names)):
            m = s.task == i
            t0, t1 = s.t0[m], s.t1[m]
            data["bw"][i] = np.diff(_integral(t0, t1, s.bandwidth[m], edges)) / np.where(dt > 0, dt, 1)
            energy = _integral(t0, t1, s.power[m], edges)
            data["p"][i] = np.diff(energy) / np.where(dt > 0, dt, 1)
            data["e"][i] = energy[1:]
            data["de"][i] = _integral(t0, t1, s.dram_power[m], edges)[1:]
        dims = ("task", "time")
        return xr.Dataset(
            {
                "dram_bandwidth_bytes_per_s": (dims, data["bw"], {"units": "B/s",
                                                                  "description": "DRAM bandwidth, bin average"}),
                "power_w": (dims, data["p"], {"units": "W", "description": "power, bin average (static power shared "
                                                                         "among the jobs running)"}),
                "energy_j": (dims, data["e"], {"units": "J", "description": "energy since the start"}),
                "dram_energy_j": (dims, data["de"], {"units": "J", "description": "DRAM energy since the start"}),
            },
            coords={"task": list(s.names), "time": ("time", edges[1:], {"units": "s", "description": "end of the bin"})},
            attrs={"scenario": getattr(self.scenario, "name", "")},
        )

    def to_dataset(self):
        """An xarray Dataset: per frame (dimension ``frame``) and per task (dimension ``task``) figures."""
        import xarray as xr

        f = self.frames
        names = list(self.tasks)
        stats = [t.latency_stats() for t in self.tasks.values()]
        per_task = {
            "task_alone_latency_s": ([t.alone_latency_s for t in self.tasks.values()], "s", "latency alone"),
            "task_mean_latency_s": ([s["mean"] for s in stats], "s", "mean latency of a job"),
            "task_p95_latency_s": ([s["p95"] for s in stats], "s", "95th percentile of a job's latency"),
            "task_max_latency_s": ([s["max"] for s in stats], "s", "longest latency of a job"),
            "task_deadline_misses": ([t.deadline_misses for t in self.tasks.values()], "1", "jobs past their deadline"),
            "task_jobs": ([t.jobs for t in self.tasks.values()], "1", "jobs released"),
            "task_mean_energy_j": ([float(t.energy_j.mean()) for t in self.tasks.values()], "J", "mean energy of a job"),
            "task_achievable_fps": ([t.achievable_fps for t in self.tasks.values()], "1/s", "jobs per second back to back"),
        }
        data = {k: ("task", np.asarray(v), {"units": u, "description": d}) for k, (v, u, d) in per_task.items()}
        for k, unit in (("latency_s", "s"), ("slack_s", "s"), ("energy_j", "J"), ("dram_energy_j", "J"),
                        ("release_s", "s"), ("deadline_met", "1")):
            data[f"frame_{k}"] = ("frame", getattr(f, k), {"units": unit})
        for name, lat in f.tasks.items():
            data[f"frame_{name}_latency_s"] = ("frame", lat, {"units": "s"})
        attrs = {"scenario": getattr(self.scenario, "name", ""), "achievable_fps": self.achievable_fps,
                 "makespan_s": self.makespan_s}
        return xr.Dataset(data, coords={"task": names, "frame": np.arange(len(f))}, attrs=attrs)

    def to_dict(self) -> dict:
        """A JSON-able summary: per task and per frame."""
        tasks = {}
        for name, t in self.tasks.items():
            tasks[name] = {
                "kind": str(t.kind), "jobs": t.jobs, "alone_latency_s": t.alone_latency_s, "latency_s": t.latency_stats(),
                "breakdown_s": t.breakdown_s, "deadline_s": t.deadline_s, "deadline_misses": t.deadline_misses,
                "energy_j_per_job": float(t.energy_j.mean()), "dram_energy_j_per_job": float(t.dram_energy_j.mean()),
                "achievable_fps": t.achievable_fps, "period_s": t.period_s,
            }
        f = self.frames
        frames = [{"frame": i, "release_s": float(f.release_s[i]), "latency_s": float(f.latency_s[i]),
                   "deadline_met": bool(f.deadline_met[i]), "slack_s": float(f.slack_s[i]),
                   "energy_j": float(f.energy_j[i]), "dram_energy_j": float(f.dram_energy_j[i]),
                   "tasks_s": {k: float(v[i]) for k, v in f.tasks.items()}} for i in range(len(f))]
        sc = self.scenario
        return {"scenario": sc.name, "period_s": sc.period_s, "deadline_s": sc.frame_deadline_s, "frames": len(f),
                "pipelined": sc.pipelined, "deadline_met": self.deadline_met, "frame_deadline_misses": self.deadline_misses,
                "achievable_fps": self.achievable_fps, "energy_per_frame_j": self.energy_per_frame_j,
                "makespan_s": self.makespan_s, "tasks": tasks, "frame_results": frames}

    def summary(self) -> str:
        """Readable tables: per task, then per frame (at most 20 rows)."""
        sc = self.scenario
        if len(self.frames):
            head = (f"{len(self.frames)} frame(s) every {sc.period_s * 1e3:.3f} ms, deadline "
                    f"{sc.frame_deadline_s * 1e3:.3f} ms{', pipelined' if sc.pipelined else ''}; achievable "
                    f"{self.achievable_fps:.1f} FPS; energy per frame {self.energy_per_frame_j * 1e3:.3f} mJ")
        else:
            head = f"{len(self.tasks)} task(s) at their own periods over {sc.horizon_s * 1e3:.3f} ms"
        lines = [f"{sc.name}: {head}"]
        lines.append(f"  {'task':<14} {'kind':<9} {'jobs':>5} {'alone ms':>9} {'mean ms':>9} {'p95 ms':>9} "
                     f"{'max ms':>9} {'wait ms':>8} {'cont. ms':>8} {'misses':>6} {'mJ/job':>8}")
        for name, t in self.tasks.items():
            st = t.latency_stats()
            lines.append(f"  {name:<14} {t.kind:<9} {t.jobs:5d} {t.alone_latency_s * 1e3:9.3f} {st['mean'] * 1e3:9.3f} "
                         f"{st['p95'] * 1e3:9.3f} {st['max'] * 1e3:9.3f} {t.wait_s.mean() * 1e3:8.3f} "
                         f"{t.contention_s.mean() * 1e3:8.3f} {t.deadline_misses:6d} {t.energy_j.mean() * 1e3:8.3f}")
        lines.append(f"  (latency from when a job may start to its end; deadline misses count the jobs whose release to "
                     f"end exceeded their deadline)")
        f = self.frames
        if len(f):
            names = list(f.tasks)
            lines.append(f"  {'frame':>5} {'latency ms':>11} " + " ".join(f"{n[:12] + ' ms':>15}" for n in names)
                         + f" {'slack ms':>9} {'deadline':>8} {'mJ':>8} {'DRAM mJ':>8}")
            for i in range(min(len(f), 20)):
                lines.append(f"  {i:5d} {f.latency_s[i] * 1e3:11.3f} "
                             + " ".join(f"{f.tasks[n][i] * 1e3:15.3f}" for n in names)
                             + f" {f.slack_s[i] * 1e3:9.3f} {'met' if f.deadline_met[i] else 'MISSED':>8} "
                             f"{f.energy_j[i] * 1e3:8.3f} {f.dram_energy_j[i] * 1e3:8.3f}")
            if len(f) > 20:
                lines.append(f"  ... {len(f) - 20} more frames; {self.deadline_misses} of {len(f)} missed the deadline")
        return "\n".join(lines)


__all__ = ["SHARING", "Frames", "ScenarioResult", "Series", "TaskResult"]
