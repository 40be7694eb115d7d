"""simulate_scenario: one task equals its simulation alone, deadlines, overlap across frames, shared DRAM
bandwidth, several DNNs at their own rates, the time series and every bad input; the scheduler's invariants."""

from __future__ import annotations

import dataclasses
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smaug_fast import (SMV, ConfigError, Scenario, System, Task, WorkloadError, presets, simulate,
                        simulate_scenario, zoo)
from smaug_fast.accelerators.systolic_array import PAPER_ARRAY, SystolicArray
from smaug_fast.pipelines import camera_pipe, simulate_pipeline
from smaug_fast.sim.jobs import JobSet, Work, run_jobs

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))
import golden  # noqa: E402

SYSTOLIC = presets.load("smaug-table2", accelerator=SystolicArray())
GEM5_DRAM = presets.load("smaug-table2", dram=presets.LPDDR4_3200_GEM5_2X16)
CNN10 = zoo.load("cnn10")
LENET5 = zoo.load("lenet5")
SMALL_CAMERA = camera_pipe(640, 352)


# ------------------------------------------------------------------------------------------------
# one task alone is its simulation alone, exactly
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("system", [presets.load("smaug-table2"), SYSTOLIC,
                                    presets.load("smaug-table2", interface="acp", num_accelerators=2, cpu_threads=2)],
                         ids=["smv", "systolic", "acp-2acc-2thr"])
def test_a_dnn_task_alone_equals_simulate(system):
    ref = simulate(CNN10, system, network="cnn10")
    r = simulate_scenario(Scenario((Task("cnn10", CNN10),), frames=3, period_s=0.02), system)
    t = r.tasks["cnn10"]
    assert golden.result_record(t.alone) == golden.result_record(ref)  # the very Result of simulate
    assert (t.latency_s == ref.latency_s).all() and (r.frames.latency_s == ref.latency_s).all()
    assert (t.energy_j == ref.energy_j).all()
    d = ref.energy_detail_j
    assert (t.dram_energy_j == d["dram_dynamic"] + d["dram_background"]).all()
    assert t.breakdown_s == {**ref.breakdown_s, "wait": 0.0, "contention": 0.0}
    assert not t.shared.any() and t.deadline_misses == 0


def test_a_dnn_on_some_accelerators_equals_simulate_on_that_many():
    system = presets.load("smaug-table2", num_accelerators=4, cpu_threads=2)
    r = simulate_scenario(Scenario((Task("cnn10", CNN10, accelerators=(1, 3), threads=1),)), system)
    ref = simulate(CNN10, system.replace(num_accelerators=2, cpu_threads=1))
    assert r.tasks["cnn10"].latency_s[0] == ref.latency_s and r.tasks["cnn10"].accelerators == (1, 3)


def test_a_pipeline_task_alone_equals_simulate_pipeline():
    ref = simulate_pipeline(SMALL_CAMERA, GEM5_DRAM)
    r = simulate_scenario(Scenario((Task("isp", SMALL_CAMERA),), frames=2), GEM5_DRAM)
    t = r.tasks["isp"]
    assert (t.latency_s == ref.latency_s).all() and (t.energy_j == ref.energy_j).all()
    assert t.alone.breakdown_s == ref.breakdown_s


def test_the_camera_case_study_is_the_two_results_back_to_back():
    scenario = Scenario((Task("camera", SMALL_CAMERA), Task("cnn10", CNN10, after=("camera",))), period_s=1 / 30)
    r = simulate_scenario(scenario, SYSTOLIC)
    cam, dnn = simulate_pipeline(SMALL_CAMERA, SYSTOLIC), simulate(CNN10, SYSTOLIC)
    assert r.frames.latency_s[0] == cam.latency_s + dnn.latency_s
    assert r.tasks["cnn10"].start_s[0] == pytest.approx(cam.latency_s, rel=1e-12)
    assert r.frames.energy_j[0] == cam.energy_j + dnn.energy_j
    assert r.frames.dram_energy_j[0] == pytest.approx(cam.dram_energy_j + r.tasks["cnn10"].dram_energy_j[0])


# ------------------------------------------------------------------------------------------------
# deadlines
# ------------------------------------------------------------------------------------------------
def test_deadline_met_missed_and_slack():
    lat = simulate(CNN10, SYSTOLIC).latency_s
    for deadline, met in ((lat * 1.01, True), (lat * 0.99, False)):
        r = simulate_scenario(Scenario((Task("cnn10", CNN10),), period_s=0.05, deadline_s=deadline, frames=2), SYSTOLIC)
        assert r.frames.deadline_met.tolist() == [met, met] and r.deadline_met is met
        assert r.frames.slack_s == pytest.approx(deadline - lat) and r.deadline_misses == (0 if met else 2)
        assert r.tasks["cnn10"].deadline_misses == (0 if met else 2)


def test_a_period_shorter_than_the_work_builds_a_backlog():
    lat = simulate(CNN10, SYSTOLIC).latency_s
    r = simulate_scenario(Scenario((Task("cnn10", CNN10),), period_s=lat / 2, frames=4), SYSTOLIC)
    f = r.frames
    assert f.deadline_met.tolist() == [False] * 4
    # frame i is released at i * lat / 2 and ends at (i + 1) * lat: its latency grows by lat / 2 a frame
    assert f.latency_s == pytest.approx([lat, 1.5 * lat, 2 * lat, 2.5 * lat])
    t = r.tasks["cnn10"]  # each job runs as alone once the previous frame is done: it queues, it does not wait
    assert (t.latency_s == lat).all() and (t.wait_s == 0).all()
    assert t.response_s == pytest.approx(f.latency_s) and (t.ready_s[1:] == t.finish_s[:-1]).all()
    assert r.achievable_fps == pytest.approx(1 / lat)


# ------------------------------------------------------------------------------------------------
# frames overlapping (pipelined) and the achievable rate
# ------------------------------------------------------------------------------------------------
def test_pipelining_overlaps_frame_i_plus_1_camera_with_frame_i_dnn():
    tasks = (Task("camera", camera_pipe(640, 352, threads=7)), Task("cnn10", CNN10, after=("camera",)))
    runs = {p: simulate_scenario(Scenario(tasks, period_s=1e-4, frames=4, pipelined=p), SYSTOLIC) for p in (False, True)}
    serial, piped = runs[False], runs[True]
    cam, dnn = serial.tasks["camera"], serial.tasks["cnn10"]
    assert cam.start_s[1] >= dnn.finish_s[0]  # not pipelined: frame 1 waits for frame 0
    assert piped.tasks["camera"].start_s[1] < piped.tasks["cnn10"].finish_s[0]  # pipelined: it overlaps
    assert serial.achievable_fps == pytest.approx(1 / (cam.alone_latency_s + dnn.alone_latency_s), rel=1e-3)
    # pipelined, the DNN (longer than the camera pipeline) sets the pace
    assert piped.achievable_fps == pytest.approx(1 / dnn.alone_latency_s, rel=0.02)
    assert piped.frames.finish_s[-1] < serial.frames.finish_s[-1]


# ------------------------------------------------------------------------------------------------
# shared DRAM bandwidth, several DNNs, priorities
# ------------------------------------------------------------------------------------------------
def test_two_tasks_at_once_take_longer_than_alone_when_they_share_the_dram():
    pipe = camera_pipe(640, 352, threads=4)
    tasks = (Task("a", pipe), Task("b", pipe))
    alone = simulate_pipeline(pipe, GEM5_DRAM).latency_s
    r = simulate_scenario(Scenario(tasks), GEM5_DRAM)  # 8 cores, 12 GB/s: the two saturate the DRAM
    for t in r.tasks.values():
        assert t.shared.all() and t.latency_s[0] > 1.1 * alone
        assert t.contention_s[0] == pytest.approx(t.latency_s[0] - alone) and t.wait_s[0] == 0
    fast = simulate_scenario(Scenario(tasks), GEM5_DRAM.replace(dram="HBM2"))
    alone_fast = simulate_pipeline(pipe, GEM5_DRAM.replace(dram="HBM2")).latency_s
    assert [t.latency_s[0] for t in fast.tasks.values()] == pytest.approx([alone_fast] * 2, rel=1e-9)


def test_multi_tenant_dnns_at_their_own_periods():
    system = presets.load("smaug-table2", num_accelerators=2)
    tasks = (Task("cnn10", CNN10, period_s=0.010, accelerators=(0,)),
             Task("lenet5", LENET5, period_s=0.003, accelerators=(1,)))
    r = simulate_scenario(Scenario(tasks, period_s=0.010, frames=3), system)
    cnn, lenet = r.tasks["cnn10"], r.tasks["lenet5"]
    assert cnn.jobs == 3 and lenet.jobs == 10 and len(r.frames) == 0  # no task at the frame period
    assert lenet.release_s == pytest.approx(np.arange(10) * 0.003)
    assert cnn.deadline_misses == 0 and lenet.deadline_misses == 0
    stats = lenet.latency_stats()
    assert set(stats) == {"mean", "min", "p50", "p95", "p99", "max"} and stats["min"] <= stats["p95"] <= stats["max"]
    assert stats["max"] < 1.2 * lenet.alone_latency_s  # their own accelerators: little interference
    assert "task(s) at their own periods" in r.summary()


def test_priority_decides_who_waits_on_a_shared_accelerator():
    system = presets.load("smaug-table2", num_accelerators=2)

    def run(lenet_priority):
        tasks = (Task("cnn10", CNN10, period_s=0.010, accelerators=(0,)),
                 Task("lenet5", LENET5, period_s=0.003, accelerators=(0,), priority=lenet_priority))
        return simulate_scenario(Scenario(tasks, period_s=0.010, frames=3), system)

    high, low = run(1), run(-1)
    assert high.tasks["lenet5"].latency_s.mean() < low.tasks["lenet5"].latency_s.mean()
    assert high.tasks["cnn10"].latency_s.mean() > low.tasks["cnn10"].latency_s.mean()
    assert high.tasks["cnn10"].wait_s.sum() > 0 and high.tasks["cnn10"].deadline_misses > 0


# ------------------------------------------------------------------------------------------------
# the time series and the other views
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def busy():
    tasks = (Task("camera", camera_pipe(640, 352, threads=6)), Task("cnn10", CNN10, after=("camera",)),
             Task("lenet5", LENET5, period_s=0.002))
    return simulate_scenario(Scenario(tasks, period_s=0.004, frames=3, pipelined=True), SYSTOLIC)


def test_the_time_series_integrates_to_the_energies_and_bytes(busy):
    ds = busy.timeseries(400)
    assert ds["energy_j"].dims == ("task", "time") and list(ds["task"].values) == ["camera", "cnn10", "lenet5", "idle"]
    end = ds.isel(time=-1)
    for name, t in busy.tasks.items():
        assert float(end["energy_j"].sel(task=name)) == pytest.approx(t.energy_j.sum(), rel=1e-9)
        assert float(end["dram_energy_j"].sel(task=name)) == pytest.approx(t.dram_energy_j.sum(), rel=1e-9)
        dt = np.diff(np.concatenate([[0.0], ds["time"].values]))
        moved = float((ds["dram_bandwidth_bytes_per_s"].sel(task=name) * dt).sum())
        assert moved == pytest.approx(t.jobs * t.alone.dram_bytes, rel=1e-6)
    assert float(end["energy_j"].sum()) == pytest.approx(busy.energy_j, rel=1e-9)
    assert float(end["energy_j"].sel(task="idle")) == pytest.approx(busy.idle_energy_j, rel=1e-9)
    assert (np.diff(ds["energy_j"].values, axis=1) >= -1e-15).all()


def test_dataset_dict_and_summary(busy):
    ds = busy.to_dataset()
    assert ds.sizes["frame"] == 3 and list(ds["task"].values) == ["camera", "cnn10", "lenet5"]
    assert ds["task_jobs"].sel(task="lenet5") == 6
    out = json.loads(json.dumps(busy.to_dict()))
    assert out["frames"] == 3 and set(out["tasks"]) == {"camera", "cnn10", "lenet5"}
    assert len(out["frame_results"]) == 3 and set(out["frame_results"][0]["tasks_s"]) == {"camera", "cnn10"}
    text = busy.summary()
    assert "camera" in text and "lenet5" in text and "pipelined" in text


def test_the_figure_is_written(busy, tmp_path):
    pytest.importorskip("matplotlib")
    from smaug_fast import plot

    fig = plot.scenario(busy, tmp_path / "fig18.png")
    assert (tmp_path / "fig18.png").read_bytes()[:4] == b"\x89PNG" and len(fig.axes) == 3
    with pytest.raises(ConfigError, match="must end in .png or .pdf"):
        plot.scenario(busy, tmp_path / "fig.svg")


# ------------------------------------------------------------------------------------------------
# bad input: ConfigError or WorkloadError naming the task and the field
# ------------------------------------------------------------------------------------------------
def _two(**cnn):
    return (Task("camera", SMALL_CAMERA), Task("cnn10", CNN10, **cnn))


@pytest.mark.parametrize("build, error, match", [
    (lambda: Scenario(_two(after=("camrea",))), ConfigError, r"task 'cnn10': after = 'camrea': no task of that name"),
    (lambda: Scenario((Task("a", CNN10, after="b"), Task("b", CNN10, after="a"))), ConfigError,
     r"after: dependency cycle (a -> b -> a|b -> a -> b)"),
    (lambda: Scenario((Task("a", CNN10, after="a"),)), ConfigError, r"task 'a': after: dependency cycle a -> a"),
    (lambda: Scenario(_two(), period_s=0), ConfigError, r"scenario 'scenario': period_s = 0: must be a number > 0"),
    (lambda: Scenario(_two(), deadline_s=-0.01), ConfigError, r"deadline_s = -0.01: must be a number > 0"),
    (lambda: Task("cnn10", CNN10, period_s=0.0), ConfigError, r"task 'cnn10': period_s = 0.0: must be a number > 0"),
    (lambda: Task("cnn10", CNN10, deadline_s=0), ConfigError, r"task 'cnn10': deadline_s = 0: must be a number > 0"),
    (lambda: Task("isp", SMALL_CAMERA, accelerators=(0,)), ConfigError, r"task 'isp': accelerators = \(0,\): a CPU"),
    (lambda: Task("cnn10", CNN10, accelerators=(0, 0)), ConfigError, r"task 'cnn10': accelerators = \(0, 0\)"),
    (lambda: Task("cnn10", CNN10, threads=0), ConfigError, r"task 'cnn10': threads = 0"),
    (lambda: Task("cnn10", "cnn10"), WorkloadError, r"task 'cnn10': workload = 'cnn10': must be a Graph or a Pipeline"),
    (lambda: Scenario((Task("a", CNN10), Task("a", LENET5))), ConfigError, r"task 'a': name: two tasks"),
    (lambda: Scenario(_two(after="camera", period_s=0.01)), ConfigError,
     r"task 'cnn10': after = 'camera': 'camera' runs at a different period_s"),
    (lambda: Scenario(_two(), frames=0), ConfigError, r"frames = 0: must be an integer"),
    (lambda: Scenario(()), ConfigError, r"tasks = \(\): must be a non-empty list of Task"),
])
def test_bad_scenarios_name_the_task_and_field(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_a_task_naming_an_accelerator_the_system_lacks():
    with pytest.raises(ConfigError, match=r"task 'cnn10': accelerators = \(1,\): the system has 1 accelerator\(s\), "
                                          r"indices 0-0"):
        simulate_scenario(Scenario(_two(accelerators=(1,))), SYSTOLIC)
    with pytest.raises(ConfigError, match=r"task 'cnn10': threads = 9: more than the system's cpu.cores = 8"):
        simulate_scenario(Scenario(_two(threads=9)), SYSTOLIC)
    with pytest.raises(ConfigError, match=r"scenario = 'x': must be a smaug_fast Scenario"):
        simulate_scenario("x", SYSTOLIC)
    with pytest.raises(ConfigError, match=r"system = 'x': must be a smaug_fast System"):
        simulate_scenario(Scenario(_two()), "x")


def test_a_stage_footprint_larger_than_the_frame():
    with pytest.raises(WorkloadError, match=r"stage 'denoised': reads\['input'\]\.footprint = 5 x 5 pixels"):
        Scenario((Task("camera", camera_pipe(4, 4)),))


def test_the_array_shapes_of_the_case_study_build():
    for rows, cols in ((8, 8), (4, 8), (4, 4)):
        a = SystolicArray(array=dataclasses.replace(PAPER_ARRAY, rows=rows, cols=cols))
        assert (a.array.rows, a.array.cols) == (rows, cols) and isinstance(a.vector, SMV)


# ------------------------------------------------------------------------------------------------
# the scheduler's invariants (hypothesis)
# ------------------------------------------------------------------------------------------------
_segments = st.lists(st.tuples(st.floats(1e-6, 1e-3), st.floats(0, 1e6)), min_size=1, max_size=4)
_blocks = st.lists(st.tuples(st.integers(1, 3), _segments), min_size=1, max_size=4)


def _work(phases) -> Work:
    return Work.of([(par, [(cores, 0, [d for d, _ in segs], [b for _, b in segs]) for cores, segs in blocks])
                    for par, blocks in phases])


@given(st.lists(st.tuples(st.integers(1, 3), _blocks), min_size=1, max_size=3))
def test_a_job_alone_with_unlimited_bandwidth_takes_its_list_schedule(phases):
    jobs = JobSet()
    jobs.add(_work(phases), 0.0)
    s = run_jobs(jobs, 16, math.inf)  # at most 3 blocks of 3 cores at once: cores are plenty
    expected = 0.0
    for par, blocks in phases:  # blocks of a phase in order, at most par at once (cores are plenty)
        ends = [0.0] * par
        for _, segs in blocks:
            k = int(np.argmin(ends))
            ends[k] += sum(d for d, _ in segs)
        expected += max(ends)
    assert s.job_finish[0] == pytest.approx(expected, rel=1e-9) and not s.job_shared[0]


@given(st.lists(st.tuples(st.floats(0, 2e-3), _segments), min_size=1, max_size=6), st.floats(1e8, 1e10))
def test_shared_bandwidth_only_slows_jobs_down_and_conserves_bytes(jobs_spec, bw):
    jobs = JobSet()
    alone = []
    for release, segs in jobs_spec:
        w = _work([(1, [(1, segs)])])
        jobs.add(w, release)
        one = JobSet()
        one.add(w, 0.0)
        alone.append(run_jobs(one, 8, bw).job_finish[0])
    s = run_jobs(jobs, 8, bw, log=True)
    releases = np.array([r for r, _ in jobs_spec])
    assert (s.job_finish - releases >= np.array(alone) * (1 - 1e-9)).all()
    moved = np.bincount(s.log_seg, weights=(s.log_t1 - s.log_t0) * s.log_rate * np.minimum(
        s.seg_bytes[s.log_seg] / s.seg_dur[s.log_seg], bw), minlength=len(s.seg_dur))
    assert moved == pytest.approx(np.minimum(s.seg_bytes, bw * s.seg_dur), rel=1e-6, abs=1e-3)
    # at any moment the running segments use at most the bandwidth
    use = (s.log_rate * np.minimum(s.seg_bytes[s.log_seg] / s.seg_dur[s.log_seg], bw))
    per_event = np.bincount(s.log_event, weights=use)
    assert (per_event <= bw * (1 + 1e-9)).all()


@given(st.integers(1, 6), st.integers(1, 4))
def test_cores_are_never_oversubscribed(n_jobs, cores_each):
    jobs = JobSet()
    for _ in range(n_jobs):
        jobs.add(_work([(1, [(cores_each, [(1e-4, 0.0)])])]), 0.0)
    s = run_jobs(jobs, 4, math.inf)
    at_once = 4 // cores_each
    assert sorted(s.job_finish) == pytest.approx([1e-4 * (i // at_once + 1) for i in range(n_jobs)])


# ------------------------------------------------------------------------------------------------
# scenario axes swept
# ------------------------------------------------------------------------------------------------
def test_sweep_over_array_shape_and_frame_rate():
    from smaug_fast.scenario import sweep_scenario

    case = Scenario((Task("camera", SMALL_CAMERA), Task("cnn10", CNN10, after=("camera",))), frames=2)
    ds = sweep_scenario(case, SYSTOLIC, {"accelerator.array.cols": [8, 4], "scenario.fps": [30, 1000]})
    assert ds["frame_latency_s"].dims == ("accelerator.array.cols", "scenario.fps")
    assert ds["task_mean_latency_s"].dims == ("accelerator.array.cols", "scenario.fps", "task")
    lat = ds["task_mean_latency_s"].sel(task="cnn10", **{"scenario.fps": 30})
    assert float(lat.sel(**{"accelerator.array.cols": 4})) > float(lat.sel(**{"accelerator.array.cols": 8}))
    point = simulate_scenario(dataclasses.replace(case, period_s=1 / 30), SYSTOLIC)
    assert float(ds["frame_latency_s"].sel(**{"accelerator.array.cols": 8, "scenario.fps": 30})) == pytest.approx(
        point.frames.latency_s.mean())
    misses = ds["deadline_misses"].sel(**{"accelerator.array.cols": 8})
    assert misses.sel(**{"scenario.fps": 30}) == 0 and misses.sel(**{"scenario.fps": 1000}) == 2
    with pytest.raises(ConfigError, match=r"axes: scenario.fsp: unknown scenario field"):
        sweep_scenario(case, SYSTOLIC, {"scenario.fsp": [30]})
    with pytest.raises(ConfigError, match=r"l2.sise_bytes"):
        sweep_scenario(case, SYSTOLIC, {"l2.sise_bytes": [1]})
    with pytest.raises(ConfigError, match=r"frames = 0"):
        sweep_scenario(case, SYSTOLIC, {"scenario.frames": [1, 0]})
