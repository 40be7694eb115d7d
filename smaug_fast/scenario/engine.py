"""``simulate_scenario(scenario, system) -> ScenarioResult``: several workloads sharing one SoC, frame after frame.

1. Each task alone (:mod:`.profiles`): a DNN through ``simulate`` on the system restricted to its
   accelerators and threads, a pipeline through ``simulate_pipeline``; each becomes a template of work.
2. Jobs: one per task per period within ``frames`` frame periods, each waiting for its dependencies of
   the same frame and for the previous frame (or, ``pipelined``, for its own previous job).
3. One call of the scheduler (:func:`smaug_fast.sim.jobs.run_jobs`): CPU cores, accelerators and the
   DRAM bandwidth shared, priorities first.
4. Per job: a job that never ran next to another and never waited takes exactly its time and energy
   alone; otherwise its latency is its end minus its start, split into its time alone, ``wait`` (for
   cores or accelerators others held) and ``contention`` (slower: DRAM bandwidth shared, fewer free
   cores), and its energy its fixed energy plus its cores' power while running plus its share of the
   static power (shared equally among the jobs running at each moment).
5. Achievable frames per second: the same jobs released back to back (a second scheduler call, at least
   4 frames), the rate at which frames then finish.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, describe
from ..hardware import System
from ..pipelines.simulate import static_power_w
from ..sim.jobs import JobSet, Schedule, run_jobs
from ..sim.timing import dram_profile
from .profiles import TaskProfile, task_profile
from .result import Frames, ScenarioResult, Series, TaskResult
from .spec import Scenario

#: Frames of the back-to-back run that measures the achievable rate: at least, at most.
_SATURATED = (4, 16)


def simulate_scenario(scenario: Scenario, system: System | None = None) -> ScenarioResult:
    """Simulate ``scenario`` on ``system`` (default: the paper's Table 2 SoC); see the module docstring.

    Raises ConfigError for a system that is not a System, a task naming an accelerator the system lacks
    or more threads than it has cores; WorkloadError or MappingError from a task's workload.
    """
    if not isinstance(scenario, Scenario):
        raise ConfigError(f"scenario = {describe(scenario)}: must be a smaug_fast Scenario")
    system = System() if system is None else system
    if not isinstance(system, System):
        raise ConfigError(f"system = {describe(system)}: must be a smaug_fast System")
    profiles = [task_profile(t, system) for t in scenario.tasks]
    bw = dram_profile(system.dram).bandwidth_bytes_per_s
    jobs, meta = _jobs(scenario, profiles, None)
    sched = run_jobs(jobs, system.cpu.cores, bw, log=True)
    if np.isnan(sched.job_finish).any():  # every block fits the system, so this cannot happen
        raise ConfigError(f"scenario {scenario.name!r}: some jobs never ran (a task needs more than the system has)")
    n_sat = int(np.clip(scenario.frames, *_SATURATED))
    sat_jobs, sat_meta = _jobs(scenario, profiles, n_sat)
    sat = run_jobs(sat_jobs, system.cpu.cores, bw)
    return _assemble(scenario, system, profiles, sched, meta, sat, sat_meta)


def _components(scenario: Scenario) -> list[int]:
    """Per task, the index of its group of tasks connected by dependencies."""
    names = [t.name for t in scenario.tasks]
    parent = list(range(len(names)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, t in enumerate(scenario.tasks):
        for d in t.after:
            parent[root(i)] = root(names.index(d))
    return [root(i) for i in range(len(names))]


def _topological(scenario: Scenario) -> list[int]:
    names = [t.name for t in scenario.tasks]
    done: list[int] = []

    def visit(i: int) -> None:
        if i not in done:
            for d in scenario.tasks[i].after:
                visit(names.index(d))
            done.append(i)

    for i in range(len(names)):
        visit(i)
    return done


def _jobs(scenario: Scenario, profiles: list[TaskProfile], saturated: int | None):
    """The JobSet and per job (task, frame, release); ``saturated``: that many jobs per task, released at 0."""
    names = [t.name for t in scenario.tasks]
    comp = _components(scenario)
    counts = [saturated or scenario.jobs_of(t) for t in scenario.tasks]
    jobs, ids = JobSet(), {}
    meta: list[tuple[int, int, float]] = []
    order = _topological(scenario)
    for f in range(max(counts)):
        for i in order:
            if f >= counts[i]:
                continue
            t = scenario.tasks[i]
            release = 0.0 if saturated else f * scenario.period(t)
            deps = [ids[(names.index(d), f)] for d in t.after]
            if f > 0:
                before = [i] if scenario.pipelined else [u for u in range(len(names)) if comp[u] == comp[i]]
                deps += [ids[(u, f - 1)] for u in before if (u, f - 1) in ids]
            ids[(i, f)] = jobs.add(profiles[i].work, release, deps, t.priority)
            meta.append((i, f, release))
    return jobs, np.array(meta, dtype=float).reshape(-1, 3)


def _shares(sched: Schedule, n_jobs: int) -> tuple[np.ndarray, np.ndarray]:
    """Per log row, its job and its share of the static power's time [s] (a moment's static power is
    split equally among the jobs running then, and among each job's running blocks)."""
    job = sched.block_job[sched.log_block]
    if len(job) == 0:
        return job, np.zeros(0)
    t0 = sched.log_t0
    event = sched.log_event
    key = event * n_jobs + job
    uniq, inv, rows = np.unique(key, return_inverse=True, return_counts=True)
    jobs_per_event = np.bincount(uniq // n_jobs, minlength=int(event[-1]) + 1)
    dt = sched.log_t1 - t0
    return job, dt / (jobs_per_event[event] * rows[inv])


def _seg_arrays(profiles, meta) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every job's segments' fixed energy, DRAM energy and running power, in the scheduler's order."""
    tasks = meta[:, 0].astype(int)
    return (np.concatenate([profiles[i].seg_energy_j for i in tasks]),
            np.concatenate([profiles[i].seg_dram_energy_j for i in tasks]),
            np.concatenate([profiles[i].seg_run_w for i in tasks]))


def _job_energy(sched, profiles, meta, static_w, dram_w):
    """Per job (energy, DRAM energy) [J] when shared, and the series' per-row powers."""
    n = len(meta)
    fixed, dram_fixed, run_w = _seg_arrays(profiles, meta)
    job, share = _shares(sched, n)
    seg = sched.log_seg
    dt = sched.log_t1 - sched.log_t0
    dur = np.where(sched.seg_dur[seg] > 0, sched.seg_dur[seg], 1.0)
    rate = sched.log_rate
    power = fixed[seg] / dur * rate + run_w[seg] + static_w * share / np.where(dt > 0, dt, 1.0)
    dram_power = dram_fixed[seg] / dur * rate + dram_w * share / np.where(dt > 0, dt, 1.0)
    tasks = meta[:, 0].astype(int)
    seg_job = np.repeat(np.arange(n), [profiles[i].work.seg_dur.size for i in tasks])
    energy = (np.bincount(seg_job, weights=fixed, minlength=n) + np.bincount(job, weights=run_w[seg] * dt, minlength=n)
              + static_w * np.bincount(job, weights=share, minlength=n))
    dram = np.bincount(seg_job, weights=dram_fixed, minlength=n) + dram_w * np.bincount(job, weights=share, minlength=n)
    useful = np.concatenate([profiles[i].seg_useful_bytes for i in tasks])
    bandwidth = useful[seg] / dur * rate
    return energy, dram, job, power, dram_power, bandwidth


def _series(scenario, sched, meta, job, power, dram_power, bandwidth, static_w, dram_w, end) -> tuple[Series, float]:
    """The time series rows, with the static power of the gaps between jobs as task ``"idle"``."""
    names = tuple(t.name for t in scenario.tasks) + ("idle",)
    t0, t1 = sched.log_t0, sched.log_t1
    _, first = np.unique(sched.log_event, return_index=True)
    ev0, ev1 = t0[first], t1[first]
    starts = np.concatenate([[0.0], ev1])
    stops = np.concatenate([ev0, [end]])
    gap = stops > starts + 1e-15
    g0, g1 = starts[gap], stops[gap]
    idle_energy = float(static_w * (g1 - g0).sum())
    task = np.concatenate([meta[job, 0].astype(int), np.full(len(g0), len(names) - 1)])
    series = Series(names, np.concatenate([t0, g0]), np.concatenate([t1, g1]), task,
                    np.concatenate([bandwidth, np.zeros(len(g0))]), np.concatenate([power, np.full(len(g0), static_w)]),
                    np.concatenate([dram_power, np.full(len(g0), dram_w)]), end)
    return series, idle_energy


def _rate(finish: np.ndarray) -> float:
    """Jobs per second of a back-to-back run from its finish times."""
    finish = np.sort(finish)
    if len(finish) >= 2 and finish[-1] > finish[0]:
        return (len(finish) - 1) / float(finish[-1] - finish[0])
    return 1.0 / float(finish[0]) if len(finish) and finish[0] > 0 else float("inf")


def _assemble(scenario, system, profiles, sched, meta, sat, sat_meta) -> ScenarioResult:
    static_w, dram_w = static_power_w(system)
    energy, dram, job, power, dram_power, bandwidth = _job_energy(sched, profiles, meta, static_w, dram_w)
    makespan = float(np.nanmax(sched.job_finish)) if len(meta) else 0.0
    end = max(makespan, scenario.horizon_s)
    series, idle = _series(scenario, sched, meta, job, power, dram_power, bandwidth, static_w, dram_w, end)
    tasks = {}
    for i, (t, prof) in enumerate(zip(scenario.tasks, profiles)):
        rows = np.flatnonzero(meta[:, 0] == i)
        sat_rows = np.flatnonzero(sat_meta[:, 0] == i)
        tasks[t.name] = _task_result(scenario, t, prof, sched, meta, rows, energy, dram, _rate(sat.job_finish[sat_rows]))
    frames = _frames(scenario, tasks)
    frame_tasks = [i for i, t in enumerate(scenario.tasks) if t.period_s is None]
    sat_frames = [sat.job_finish[(sat_meta[:, 1] == f) & np.isin(sat_meta[:, 0], frame_tasks)].max()
                  for f in range(int(sat_meta[:, 1].max()) + 1)] if frame_tasks else []
    fps = _rate(np.asarray(sat_frames)) if frame_tasks else float("nan")
    return ScenarioResult(scenario, system, tasks, frames, fps, makespan, idle, series)


def _task_result(scenario, task, prof: TaskProfile, sched, meta, rows, energy, dram, fps) -> TaskResult:
    shared = sched.job_shared[rows]
    ready, finish, release = sched.job_ready[rows], sched.job_finish[rows], meta[rows, 2]
    alone = prof.alone_latency_s
    latency = np.where(shared, finish - ready, alone)
    wait = np.where(shared, sched.job_wait[rows], 0.0)
    contention = np.where(shared, np.maximum(latency - alone - wait, 0.0), 0.0)
    response = ready - release + latency
    deadline = scenario.deadline(task)
    return TaskResult(
        name=task.name, kind=task.kind, alone=prof.alone, period_s=scenario.period(task), deadline_s=deadline,
        release_s=release, ready_s=ready, start_s=sched.job_start[rows], finish_s=finish, latency_s=latency,
        response_s=response, wait_s=wait, contention_s=contention, deadline_met=response <= deadline * (1 + 1e-12),
        shared=shared, energy_j=np.where(shared, energy[rows], prof.alone_energy_j),
        dram_energy_j=np.where(shared, dram[rows], prof.alone_dram_energy_j), achievable_fps=fps,
        accelerators=prof.accelerators, threads=prof.threads, priority=float(task.priority),
    )


def _frames(scenario: Scenario, tasks: dict[str, TaskResult]) -> Frames:
    members = [tasks[t.name] for t in scenario.tasks if t.period_s is None]
    if not members:
        z = np.zeros(0)
        return Frames(z, z, z, np.zeros(0, bool), z, z, z, {})
    release = members[0].release_s
    latency = np.max([m.response_s for m in members], axis=0)  # they share their release
    finish = release + latency
    deadline = scenario.frame_deadline_s
    return Frames(
        release_s=release, finish_s=finish, latency_s=latency, deadline_met=latency <= deadline * (1 + 1e-12),
        slack_s=deadline - latency, energy_j=np.sum([m.energy_j for m in members], axis=0),
        dram_energy_j=np.sum([m.dram_energy_j for m in members], axis=0), tasks={m.name: m.latency_s for m in members},
    )


__all__ = ["simulate_scenario"]
