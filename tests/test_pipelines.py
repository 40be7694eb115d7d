"""CPU image pipelines: the camera pipeline's work and DRAM traffic against a NumPy run, the plan, the cost
model, simulate_pipeline and every bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from naive_camera import run as run_numpy
from smaug_fast import ConfigError, System, WorkloadError, presets
from smaug_fast.choices import OpKind
from smaug_fast.pipelines import Pipeline, Read, Stage, camera_pipe, simulate_pipeline
from smaug_fast.pipelines.cost import UOPS, cycles_per_element, uops_per_element
from smaug_fast.pipelines.memory import PipelineMemoryKey, run_pipeline_memory
from smaug_fast.pipelines.plan import plan_pipeline

W, H = 64, 32  # a small frame: one strip, everything fits in the caches


@pytest.fixture(scope="module")
def numpy_run():
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 1024, size=(H + 12, W + 12), dtype=np.uint16)
    return run_numpy(raw, W, H)


def test_every_stage_work_per_element_equals_the_numpy_count(numpy_run):
    _, counter, _ = numpy_run
    pipe = camera_pipe(W, H)
    assert set(counter.ops) == {s.name for s in pipe.stages}
    for stage in pipe.stages:
        counted = {k: v / counter.elements[stage.name] for k, v in counter.ops[stage.name].items()}
        declared = {k.value: v for k, v in stage.work}
        assert counted.keys() == declared.keys(), stage.name
        for kind, v in declared.items():
            assert counted[kind] == pytest.approx(v, rel=1e-12), (stage.name, kind)


def test_the_numpy_run_is_a_camera_pipeline(numpy_run):
    out, _, _ = numpy_run
    assert len(out) == 3 and all(p.shape == (H, W) and p.dtype == np.uint8 for p in out)
    flat = run_numpy(np.full((H + 12, W + 12), 512, np.uint16), W, H)[0]  # a grey frame stays flat
    assert all(np.ptp(p) == 0 for p in flat)
    dark = run_numpy(np.full((H + 12, W + 12), 10, np.uint16), W, H)[0]  # below the black level: black
    assert all((p == 0).all() for p in dark)


def test_the_plan_computes_the_regions_the_numpy_run_computes(numpy_run):
    _, counter, _ = numpy_run
    plan = plan_pipeline(camera_pipe(W, H, strip_rows=H))  # one strip: no halo recomputed between strips
    elements = plan.root_elements + sum(s.elements for s in plan.strips)
    for i, node in enumerate(plan.nodes[1:], start=1):
        if node.name == "curve":
            assert elements[i] == counter.elements["curve"] == 1024
            continue
        assert (node.x_lo, node.x_hi, node.y_lo, node.y_hi) == counter.domains[node.name], node.name
        lanes = plan.pipeline.stages[i - 1].vector_lanes
        rounded = -(-(node.x_hi - node.x_lo + 1) // lanes) * lanes  # whole vectors (TailStrategy::RoundUp)
        assert node.row_pixels == rounded
        assert elements[i] == rounded * (node.y_hi - node.y_lo + 1) * node.channels, node.name


def test_dram_traffic_equals_the_independent_count_when_the_frame_fits(numpy_run):
    _, _, (x0, x1, y0, y1) = numpy_run
    system = System()
    mem = run_pipeline_memory(PipelineMemoryKey(camera_pipe(W, H), system.l1d, system.l2, 1))
    line = system.l1d.line_bytes
    lines = lambda nbytes: math.ceil(nbytes / line) * line  # noqa: E731 (every buffer starts on a page)
    input_bytes = (x1 - x0 + 1) * (y1 - y0 + 1) * 2  # what the NumPy run read, uint16
    output_bytes = 3 * W * H  # uint8, three planes
    lut_bytes = 1024
    reads = mem.root_read_bytes + mem.read_bytes.sum()
    writes = mem.root_write_bytes + mem.write_bytes.sum()
    # every input line once; the output and the LUT are fetched on their first store (write-allocate)
    assert reads == lines(input_bytes) + lines(output_bytes) + lines(lut_bytes)
    assert writes == pytest.approx(lines(output_bytes))  # the output written back once, nothing else
    # the line buffers, written by one stage and read by the next, hit the caches: every read of them
    l1 = mem.cache_stats["l1d"]
    assert l1["load_hits"] > 0.7 * (l1["load_hits"] + l1["load_misses"])


def test_at_720p_the_intermediates_stay_on_chip():
    system = System()
    pipe = camera_pipe()
    mem = run_pipeline_memory(PipelineMemoryKey(pipe, system.l1d, system.l2, system.cpu.cores))
    plan = plan_pipeline(pipe)
    inp = plan.nodes[0]
    frame_in = (inp.x_hi - inp.x_lo + 1) * (inp.y_hi - inp.y_lo + 1) * 2
    frame_out = 3 * 1280 * 720
    reads, writes = mem.read_bytes.sum(), mem.write_bytes.sum()
    assert frame_in + frame_out <= reads < 1.1 * (frame_in + frame_out)
    assert frame_out <= writes < 1.1 * frame_out
    # the line buffers are written and read many times the frame's size, almost all in the caches
    stores = mem.cache_stats["l1d"]["stores"] * system.l1d.line_bytes
    assert stores > 3 * frame_out and mem.cache_stats["l2"]["load_hits"] > 0


def test_cycles_per_element_are_the_throughput_bound_of_the_uop_costs():
    cpu = System().cpu
    s = Stage("s", {"add": 4, "load": 2, "store": 1}, reads=(Read("input"),), vector_lanes=16, storage="output")
    simd, mem = uops_per_element(s, cpu)
    assert (simd, mem) == (4 * 2 / 8, 3 * 2 / 8)  # one micro-op per 8 bytes of 2-byte lanes
    assert cycles_per_element(s, cpu) == max(simd / 4, mem / 4, (simd + mem) / 8)
    lut = Stage("l", {"lut": 1}, reads=(Read("input"),), vector_lanes=16, storage="output")
    assert uops_per_element(lut, cpu) == (4.0, 1.0)  # a gather is scalar per element
    scalar = Stage("c", {"mul": 3}, reads=(Read("input"),), storage="output")
    assert uops_per_element(scalar, cpu) == (3.0, 0.0)
    assert set(UOPS) == set(OpKind)


def test_simulate_pipeline_scales_with_threads_and_partitions_its_latency():
    small = camera_pipe(320, 256)
    one = simulate_pipeline(small, System(), threads=1)
    eight = simulate_pipeline(small, System(), threads=8)
    for r in (one, eight):
        assert sum(r.breakdown_s.values()) == pytest.approx(r.latency_s, rel=1e-12)
        assert r.energy_j == pytest.approx(sum(r.energy_breakdown_j.values()))
        assert min(r.breakdown_s.values()) >= 0
    assert eight.threads == 8 and one.threads == 1
    assert one.latency_s / 8 <= eight.latency_s < one.latency_s / 4  # 8 strips on 8 cores
    assert eight.stages[-1].elements == 320 * 256 * 3


def test_a_faster_cpu_computes_faster():
    pipe = camera_pipe(320, 256)
    base = simulate_pipeline(pipe, System(), threads=1)
    fast = simulate_pipeline(pipe, System().replace(**{"cpu.simd_uops_per_cycle": 8.0}), threads=1)
    assert fast.breakdown_s["compute"] < base.breakdown_s["compute"]


def _blur(producer: str, name: str, dys, storage="line_buffer", fold=None) -> Stage:
    return Stage(name, {"avg": len(dys), "load": len(dys), "store": 1}, (Read(producer, tuple((0, d) for d in dys)),),
                 storage=storage, fold_rows=fold, vector_lanes=8)


@given(
    depth=st.integers(1, 4),
    radius=st.lists(st.integers(0, 2), min_size=4, max_size=4),
    width=st.integers(8, 80),
    height=st.integers(8, 70),
    strip=st.integers(2, 24),
    step=st.integers(1, 3),
)
def test_every_row_a_strip_reads_was_computed_before_in_that_strip(depth, radius, width, height, strip, step):
    names = ["input"] + [f"s{i}" for i in range(depth)]
    stages = [
        _blur(names[i], names[i + 1], range(-radius[i], radius[i] + 1), "output" if i == depth - 1 else "line_buffer")
        for i in range(depth)
    ]
    pipe = Pipeline("chain", width, height, tuple(stages), strip_rows=strip, rows_per_step=step)
    plan = plan_pipeline(pipe)
    total = np.zeros(len(plan.nodes))
    for s in plan.strips:
        done: set[tuple[int, int]] = set()
        for node, row, _ in s.steps.tolist():
            for r in pipe.stages[node - 1].reads:
                p = names.index(r.producer)
                for py in r.rows(row):
                    assert p == 0 or (p, py) in done, (node, row, p, py)
            done.add((node, row))
        total += s.elements
    out_rows = sum(s.rows for s in plan.strips)
    assert out_rows == height and total[-1] == height * plan.nodes[-1].row_pixels


# ------------------------------------------------------------------------------------------------
# bad input: WorkloadError or ConfigError naming the stage and the field
# ------------------------------------------------------------------------------------------------
def test_a_footprint_larger_than_the_frame_is_an_error():
    with pytest.raises(WorkloadError, match=r"stage 'denoised': reads\['input'\]\.footprint = 5 x 5 pixels: larger "
                                            r"than the frame \(4 x 4\)"):
        camera_pipe(4, 4)


@pytest.mark.parametrize("stages, match", [
    ((Stage("a", reads=(Read("b"),), storage="output"),), r"stage 'a': reads.producer = 'b': is not a stage"),
    ((Stage("a", reads=(Read("b"),)), Stage("b", reads=(Read("input"),), storage="output")),
     r"stage 'a': reads.producer = 'b': is defined after it"),
    ((Stage("a", reads=(Read("input"),)),), r"stage 'a': storage = 'line_buffer': the last stage, and only it"),
    ((Stage("t", storage="root", extent=8), Stage("a", reads=(Read("t"),), storage="output")),
     r"stage 'a': reads\['t'\]\.gather = False"),
    ((Stage("a", reads=(Read("input"),)), Stage("a", reads=(Read("a"),), storage="output")), r"stage 'a': name"),
])
def test_pipeline_errors_name_the_stage_and_field(stages, match):
    with pytest.raises(WorkloadError, match=match):
        Pipeline("p", 64, 64, stages)


@pytest.mark.parametrize("kwargs, match", [
    ({"work": {"fma": 1}}, r"stage 's': work key = 'fma': must be one of"),
    ({"work": {"add": -1}}, r"stage 's': work\['add'\] = -1: must be a finite number >= 0"),
    ({"storage": "heap"}, r"stage 's': storage = 'heap'"),
    ({"fold_rows": 0}, r"stage 's': fold_rows = 0"),
    ({"storage": "inline", "fold_rows": 4}, r"stage 's': fold_rows = 4: only a line_buffer stage folds"),
    ({"storage": "root"}, r"stage 's': extent = None"),
    ({"vector_lanes": 0}, r"stage 's': vector_lanes = 0"),
])
def test_stage_errors_name_the_field(kwargs, match):
    with pytest.raises(WorkloadError, match=match):
        Stage("s", **kwargs)


def test_a_fold_smaller_than_the_window_is_an_error():
    stages = (_blur("input", "a", (-1, 0, 1), fold=2), _blur("a", "b", (-1, 0, 1), "output"))
    with pytest.raises(WorkloadError, match=r"stage 'a': fold_rows = 2: its consumers read 4 rows at once"):
        plan_pipeline(Pipeline("p", 32, 32, stages))


def test_threads_beyond_the_cores_are_an_error():
    with pytest.raises(ConfigError, match=r"threads = 9: must be an integer in \[1, cpu.cores = 8\]"):
        simulate_pipeline(camera_pipe(64, 32), presets.load("smaug-table2"), threads=9)
    with pytest.raises(WorkloadError, match=r"pipeline = 'camera'"):
        simulate_pipeline("camera")
    with pytest.raises(WorkloadError, match=r"pipeline 'camera_pipe': width = 0"):
        camera_pipe(0, 720)


def test_every_system_field_changed_alone_gives_the_fresh_result_from_a_warm_cache():
    """The memo keys of the pipeline's stages miss no field they depend on (as tests/test_memo.py for simulate)."""
    import dataclasses

    from smaug_fast.sim import clear_caches
    from test_memo import _changed  # the same walk over every leaf field of a System

    pipe = camera_pipe(64, 32, strip_rows=16)
    base = presets.load("smaug-table2")

    def record(r):
        return (r.latency_s, r.breakdown_s, r.energy_detail_j, r.dram_read_bytes, r.dram_write_bytes,
                [dataclasses.astuple(s) for s in r.stages], r.strip_end_s.tolist(), r.cache_stats)

    clear_caches()
    simulate_pipeline(pipe, base, threads=2)
    for path, value, _ in base.describe():
        system = _changed(base, path, value)
        if system is None or path == "accelerator.kind":
            continue
        warm = record(simulate_pipeline(pipe, system, threads=2))
        clear_caches()
        assert record(simulate_pipeline(pipe, system, threads=2)) == warm, path
        simulate_pipeline(pipe, base, threads=2)
