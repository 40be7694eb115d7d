"""Sweeps: axes over System fields and networks, as an xarray Dataset."""

from __future__ import annotations

import io
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from smaug_fast import (ConfigError, MappingError, SweepError, WorkloadError, open_sweep, presets, simulate,
                        sweep, zoo)
from smaug_fast.sweeps import OP_VARIABLES, points
from smaug_fast.sim import VARIABLES

BASE = presets.load("smaug-table2")
AXES = {"interface": ["dma", "acp"], "num_accelerators": [1, 2]}


@pytest.fixture(scope="module")
def serial():
    return sweep(["minerva", "lenet5"], BASE, AXES, executor="serial", progress=False)


def test_dimensions_coordinates_units_and_values(serial):
    ds = serial
    assert dict(ds.sizes) == {"network": 2, "interface": 2, "num_accelerators": 2}
    assert list(ds["network"].values) == ["minerva", "lenet5"]
    assert set(VARIABLES) <= set(ds.data_vars)
    assert ds["latency_s"].attrs["units"] == "s" and ds["energy_j"].attrs["units"] == "J"
    assert "base_system" in ds.attrs and "smaug_fast_version" in ds.attrs
    # each point equals a direct simulation of the same system
    point = ds["latency_s"].sel(network="lenet5", interface="acp", num_accelerators=2)
    direct = simulate(zoo.load("lenet5"), BASE.replace(interface="acp", num_accelerators=2))
    assert float(point) == direct.latency_s
    parts = ds["accel_compute_s"] + ds["data_transfer_s"] + ds["cpu_s"]
    assert float(abs(parts - ds["latency_s"]).max()) <= 1e-12 * float(ds["latency_s"].max())


def test_process_pool_equals_serial(serial):
    ds = sweep(["minerva", "lenet5"], BASE, AXES, executor="processes", workers=2, progress=False)
    for name in VARIABLES:
        assert (ds[name].values == serial[name].values).all(), name


def test_zipped_axes_share_a_dimension():
    ds = sweep("minerva", BASE, {"num_accelerators": [1, 2, 4], "cpu_threads": [1, 2, 4]},
               zip_axes=[["num_accelerators", "cpu_threads"]], executor="serial", progress=False)
    assert dict(ds.sizes) == {"network": 1, "num_accelerators": 3}
    assert list(ds["cpu_threads"].values) == [1, 2, 4]


def test_zipped_axes_are_checked_together():
    """l1d lines may not outgrow the L2's: each value alone against the base (32-byte lines) was refused,
    although every zipped point is legal (issue 17)."""
    axes = {"l2.line_bytes": [32, 64], "l1d.line_bytes": [32, 64]}
    ds = sweep("minerva", BASE, axes, zip_axes=[list(axes)], executor="serial", progress=False)
    assert dict(ds.sizes) == {"network": 1, "l2.line_bytes": 2}
    one = simulate(zoo.load("minerva"), BASE.replace(**{"l2.line_bytes": 64, "l1d.line_bytes": 64}), timeline=False)
    assert ds["latency_s"].values[0, 1] == one.latency_s
    with pytest.raises(ConfigError, match=r"axes\['l1d.line_bytes'\] value 64: .*larger than l2.line_bytes = 32"):
        sweep("minerva", BASE, axes, executor="serial", progress=False)  # not zipped: (32, 64) is a point


@pytest.mark.parametrize(
    "axes, kwargs, error, match",
    [
        ({"l2.sise_bytes": [1]}, {}, ConfigError, r"axes\['l2.sise_bytes'\] value 1: l2.sise_bytes: unknown field"),
        ({"num_accelerators": [1, 9]}, {}, ConfigError, r"axes\['num_accelerators'\] value 9"),
        ({"l2.size_bytes": ["2 apples"]}, {}, ConfigError, r"axes\['l2.size_bytes'\] value '2 apples'"),
        ({"interface": []}, {}, ConfigError, r"axes\['interface'\]: empty axis"),
        ({"interface": "dma"}, {}, ConfigError, r"axes\['interface'\] = 'dma': must be a list"),
        ({"network": ["lenet5"]}, {}, ConfigError, r"'network' is given by the networks argument"),
        ({"cpu_threads": [1]}, {"executor": "threads"}, ConfigError, r"executor = 'threads'"),
        ({"cpu_threads": [1, 2]}, {"zip_axes": [["cpu_threads", "interface"]]}, ConfigError, r"zip_axes: 'interface' is not an axis"),
        ({"cpu_threads": [1]}, {"store": "out.h5"}, ConfigError,
         r"store = 'out.h5': must be a netCDF path ending in .nc or a zarr store ending in .zarr"),
        # NaN and inf are named before any work (a NaN axis value hung a sweep: issue 17)
        ({"dram.tck_ns": [0.625, float("nan")]}, {}, ConfigError, r"axes\['dram.tck_ns'\] value nan: must be finite"),
        ({"l2.size_bytes": [np.float64("inf")]}, {}, ConfigError, r"axes\['l2.size_bytes'\] value .*inf.*: must be finite"),
        # a zipped group is checked as its points apply it: every value of the group at once
        ({"l2.line_bytes": [64], "l1d.line_bytes": [128]}, {"zip_axes": [["l2.line_bytes", "l1d.line_bytes"]]},
         ConfigError, r"zip_axes group \['l2.line_bytes', 'l1d.line_bytes'\] values \[64, 128\]: "
                      r"l1d.line_bytes = 128: larger than l2.line_bytes = 64"),
    ],
)
def test_bad_definitions_fail_before_work(axes, kwargs, error, match):
    with pytest.raises(error, match=match):
        sweep("minerva", BASE, axes, progress=False, **kwargs)


def test_bad_networks():
    with pytest.raises(WorkloadError, match="'resnet5'"):
        sweep(["resnet5"], BASE, AXES, executor="serial")
    with pytest.raises(ConfigError, match="networks: empty"):
        sweep([], BASE, AXES, executor="serial")


_SCRIPT = """
import sys, time
import smaug_fast.sweeps.worker as sw
from smaug_fast import presets, sweep
original = sw._evaluate
def slow(*args):
    time.sleep(0.05)
    return original(*args)
sw._evaluate = slow
sweep(["minerva", "lenet5"], presets.load("smaug-table2"),
         {"interface": ["dma", "acp"], "num_accelerators": [1, 2, 4], "cpu_threads": [1, 2]},
         executor="serial", store=sys.argv[1], progress=False)
"""


def test_sigkill_then_resume_gives_the_uninterrupted_dataset(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    import xarray as xr

    store = tmp_path / "sweep.nc"
    journal = tmp_path / "sweep.nc.journal"
    proc = subprocess.Popen([sys.executable, "-c", _SCRIPT, str(store)])
    deadline = time.time() + 120
    while time.time() < deadline:
        if journal.exists() and journal.read_text().count("\n") >= 6:  # header + 5 points
            break
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = journal.read_text().count("\n") - 1
    assert 5 <= done_before < 24, "the sweep should have been killed midway"
    assert not store.exists()
    lock = tmp_path / "sweep.nc.lock"
    assert lock.read_text() == f"{proc.pid}\n"  # the killed sweep's lock, taken over below
    axes = {"interface": ["dma", "acp"], "num_accelerators": [1, 2, 4], "cpu_threads": [1, 2]}
    resumed = sweep(["minerva", "lenet5"], BASE, axes, executor="serial", store=store, progress=False)
    assert not lock.exists()
    clean = sweep(["minerva", "lenet5"], BASE, axes, executor="serial", progress=False)
    for name in VARIABLES:
        assert (resumed[name].values == clean[name].values).all(), name
    on_disk = xr.open_dataset(store)
    assert (on_disk["latency_s"].values == clean["latency_s"].values).all()
    assert list(on_disk["interface"].values) == ["dma", "acp"]
    on_disk.close()
    # a different definition may not reuse the store
    with pytest.raises(ConfigError, match="written by a different sweep definition"):
        sweep(["minerva"], BASE, axes, executor="serial", store=store, progress=False)


def test_cli_sweep_from_toml(tmp_path, capsys):
    import xarray as xr

    from smaug_fast.cli import main

    spec = tmp_path / "s.toml"
    spec.write_text('networks = ["minerva"]\npreset = "smaug-table2"\n[set]\n"dma.max_outstanding" = 32\n'
                    '[axes]\ninterface = ["dma", "acp"]\nnum_accelerators = [1, 2]\n')
    out = tmp_path / "o.nc"
    assert main(["sweep", str(spec), "-o", str(out), "--workers", "1"]) == 0
    assert "4 points" in capsys.readouterr().out
    ds = xr.open_dataset(out)
    direct = simulate(zoo.load("minerva"), BASE.replace(**{"dma.max_outstanding": 32, "interface": "acp"}))
    assert float(ds["latency_s"].sel(network="minerva", interface="acp", num_accelerators=1)) == direct.latency_s
    ds.close()
    assert main(["sweep", str(spec), "-o", str(tmp_path / "ops.nc"), "--workers", "1", "--per-op"]) == 0
    assert "per-op values" in capsys.readouterr().out
    tree = open_sweep(tmp_path / "ops.nc")
    assert list(tree["minerva"]["op"].values) == [op.name for op in zoo.load("minerva").topological_order()]
    bad = tmp_path / "bad.toml"
    bad.write_text('networks = ["minerva"]\naxis = {}\n')
    assert main(["sweep", str(bad), "-o", str(tmp_path / "x.nc")]) == 2
    assert "unknown key(s) ['axis']" in capsys.readouterr().err


class _Terminal(io.StringIO):
    """A stderr that says it is a terminal (tqdm draws its bar only there)."""

    def isatty(self) -> bool:
        return True


# lenet5's smallest conv tile does not fit a 4 KiB scratchpad (a MappingError while it runs); minerva's does
FAILING = {"accelerator.spad_bytes": [32768, 4096], "num_accelerators": [1, 2]}


def _check_failure(info, store):
    """A SweepError that names the failing point and its MappingError, and a journal whose points are
    each equal to a direct simulation (none lost or corrupted)."""
    err = info.value
    assert "network='lenet5', accelerator.spad_bytes=4096" in str(err)
    assert "MappingError: op 'conv_1' (conv): the smallest input tile" in str(err)
    assert f"kept in {store}.journal (the same call resumes from them)" in str(err)
    assert isinstance(err.__cause__, MappingError)
    pts, _, _ = points(["minerva", "lenet5"], FAILING)
    journal = Path(f"{store}.journal")
    records = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    assert records, journal
    for rec in records:
        net, changes = pts[rec["i"]]
        assert not (net == "lenet5" and changes["accelerator.spad_bytes"] == 4096)
        direct = simulate(zoo.load(net), BASE.replace(**changes), timeline=False)
        assert rec["v"]["latency_s"] == direct.latency_s
    return err


def test_dask_local_cluster_equals_serial(serial, tmp_path, monkeypatch):
    """Points run as dask.distributed tasks on a LocalCluster of two worker processes; the Dataset
    equals the serial one bit for bit, the store's journal works through the Client path too, the
    progress bar draws on a terminal, and a point failing on a worker is a SweepError."""
    distributed = pytest.importorskip("dask.distributed")
    term = _Terminal()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        with monkeypatch.context() as m:
            m.setattr(sys, "stderr", term)
            ds = sweep(["minerva", "lenet5"], BASE, AXES, executor=client, store=tmp_path / "d.nc")
        with pytest.raises(SweepError) as info:
            sweep(["minerva", "lenet5"], BASE, FAILING, executor=client, progress=False, store=tmp_path / "f.nc")
        err = _check_failure(info, tmp_path / "f.nc")
        assert "traceback in the worker" in "".join(err.__cause__.__notes__)
        # a user Graph and an ONNX file reach the dask workers too
        others = [_user_graph(), _onnx_file(tmp_path / "small_cnn.onnx")]
        on_dask = sweep(others, BASE, AXES, executor=client, progress=False)
    assert "8/8" in term.getvalue()
    xr.testing.assert_identical(_undated(on_dask), _undated(sweep(others, BASE, AXES, executor="serial", progress=False)))
    # identical: every variable equal value for value, with its attributes; the provenance too
    # (but the creation time)
    xr.testing.assert_identical(ds.assign_attrs(created=None), serial.assign_attrs(created=None))
    # the finished store, and a second call that finds every point in the journal, give the same values
    again = sweep(["minerva", "lenet5"], BASE, AXES, executor="serial", progress=False, store=tmp_path / "d.nc")
    for name in VARIABLES:
        assert (again[name].values == serial[name].values).all(), name


def test_progress_on_a_non_terminal_writes_nothing(capsys):
    ds = sweep("minerva", BASE, {"cpu_threads": [1, 2]}, executor="serial", progress=True)
    assert ds.sizes["cpu_threads"] == 2
    out, err = capsys.readouterr()
    assert out == "" and err == ""


def test_per_op_detail_is_a_datatree_whose_ops_add_up(tmp_path):
    axes = {"num_accelerators": [1, 2], "cpu_threads": [1, 4]}
    tree = sweep(["minerva", "cnn10"], BASE, axes, executor="serial", progress=False, per_op=True,
                 store=tmp_path / "ops.nc")
    root = tree.to_dataset()
    plain = sweep(["minerva", "cnn10"], BASE, axes, executor="serial", progress=False)
    for name in VARIABLES:
        assert (root[name].values == plain[name].values).all(), name
    for net in ("minerva", "cnn10"):
        node = tree[net].to_dataset()
        ops = zoo.load(net).topological_order()
        assert list(node["op"].values) == [op.name for op in ops]
        assert list(node["op_kind"].values) == [op.kind for op in ops]
        assert node["latency_s"].dims == ("num_accelerators", "cpu_threads", "op")
        # every op's time adds up to the point's latency, its phases to its time
        total = node["latency_s"].sum("op")
        np.testing.assert_allclose(total.values, root["latency_s"].sel(network=net).values, rtol=1e-12)
        phases = node["accel_compute_s"] + node["data_transfer_s"] + node["cpu_s"]
        np.testing.assert_allclose(phases.values, node["latency_s"].values, rtol=1e-12, atol=1e-18)
        # one point against a direct simulation
        direct = simulate(zoo.load(net), BASE.replace(num_accelerators=2, cpu_threads=4))
        assert list(node["invocations"].sel(num_accelerators=2, cpu_threads=4).values) == [
            o.invocations for o in direct.ops]
    # the store holds the per-op values too: reading it back gives the same tree, and so does a
    # second call that finds every point in the journal
    back = open_sweep(tmp_path / "ops.nc")
    again = sweep(["minerva", "cnn10"], BASE, axes, executor="serial", progress=False, per_op=True,
                  store=tmp_path / "ops.nc")
    for other in (back, again):
        for net in ("minerva", "cnn10"):
            a, b = tree[net].to_dataset(), other[net].to_dataset()
            for name in OP_VARIABLES:
                assert (a[name].values == b[name].values).all(), (net, name)
            assert list(b["op"].values) == list(a["op"].values)
        assert (other.to_dataset()["latency_s"].values == root["latency_s"].values).all()
    # a plain sweep's store reads back as a Dataset
    sweep("minerva", BASE, {"cpu_threads": [1, 2]}, executor="serial", progress=False, store=tmp_path / "p.nc")
    assert isinstance(open_sweep(tmp_path / "p.nc"), xr.Dataset)


@pytest.mark.parametrize("executor", ["serial", "processes"])
def test_progress_bar_on_a_terminal(executor, monkeypatch):
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    sweep(["minerva", "lenet5"], BASE, AXES, executor=executor, workers=2)
    assert "sweep: 100%" in term.getvalue() and "8/8" in term.getvalue()
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    sweep(["minerva", "lenet5"], BASE, AXES, executor=executor, workers=2, progress=False)
    assert term.getvalue() == ""


@pytest.mark.parametrize("executor", ["serial", "processes"])
def test_a_failing_point_is_a_sweep_error_that_keeps_the_finished_points(executor, tmp_path):
    with pytest.raises(SweepError) as info:
        sweep(["minerva", "lenet5"], BASE, FAILING, executor=executor, workers=2, progress=False,
              store=tmp_path / "f.nc")
    err = _check_failure(info, tmp_path / "f.nc")
    if executor == "processes":  # the worker's traceback crosses the process boundary as a note
        assert "traceback in the worker" in "".join(err.__cause__.__notes__)
    assert not (tmp_path / "f.nc").exists()
    with pytest.raises(SweepError, match="the points finished so far are lost"):
        sweep(["lenet5"], BASE, FAILING, executor=executor, workers=2, progress=False)


def _undated(result):
    """A sweep result without its creation time (two runs differ only there)."""
    result = result.copy()
    result.attrs["created"] = None
    return result


@pytest.mark.parametrize("suffix", [".nc", ".zarr"])
@pytest.mark.parametrize("per_op", [False, True])
def test_resume_after_a_failure_gives_the_uninterrupted_result(suffix, per_op, tmp_path, monkeypatch):
    """A point fails (here: the third simulation raises); the journal keeps the two before it; the same
    call again simulates only the rest and returns, and stores, what an uninterrupted run gives."""
    if suffix == ".zarr":
        pytest.importorskip("zarr")
    import smaug_fast.sweeps.worker as sw  # where the points are simulated

    axes = {"num_accelerators": [1, 2], "cpu_threads": [1, 4]}
    store = tmp_path / f"s{suffix}"
    original = sw._evaluate
    calls, failed = [], []

    def flaky(*args):
        calls.append(args[:2])
        if len(calls) == 3 and not failed:
            failed.append(True)
            raise OSError("disk full")
        return original(*args)

    monkeypatch.setattr(sw, "_evaluate", flaky)
    with pytest.raises(SweepError, match=r"sweep point \d+ \(network='\w+', num_accelerators=\d, cpu_threads=\d\) failed: "
                                         r"OSError: disk full"):
        sweep(["minerva", "lenet5"], BASE, axes, executor="serial", progress=False, per_op=per_op, store=store)
    assert Path(f"{store}.journal").read_text().count("\n") == 1 + 2
    calls.clear()
    resumed = sweep(["minerva", "lenet5"], BASE, axes, executor="serial", progress=False, per_op=per_op,
                    store=store)
    assert len(calls) == 8 - 2
    monkeypatch.setattr(sw, "_evaluate", original)
    clean = sweep(["minerva", "lenet5"], BASE, axes, executor="serial", progress=False, per_op=per_op)
    xr.testing.assert_identical(_undated(resumed), _undated(clean))
    back = open_sweep(store)
    assert type(back) is type(clean)
    xr.testing.assert_identical(back, resumed)


def test_a_zarr_store_without_zarr_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "zarr", None)  # import zarr raises ImportError
    with pytest.raises(ConfigError, match=r"store = '.*s.zarr': a .zarr store needs the zarr package"):
        sweep("minerva", BASE, {"cpu_threads": [1]}, executor="serial", progress=False, store=tmp_path / "s.zarr")
    assert not list(tmp_path.iterdir())  # nothing written


def test_a_worker_process_that_dies_is_a_sweep_error(tmp_path, monkeypatch):
    """A worker process killed mid-sweep (here: it exits while simulating lenet5) breaks the pool; the
    sweep says so and keeps what finished."""
    import multiprocessing
    import os

    import smaug_fast.sweeps.worker as sw  # where the points are simulated

    if multiprocessing.get_start_method() != "fork":
        pytest.skip("the patched _evaluate reaches the workers only when they are forked")
    original = sw._evaluate

    def dies_on_lenet5(network, *args):
        if network == "lenet5":
            os._exit(3)
        return original(network, *args)

    monkeypatch.setattr(sw, "_evaluate", dies_on_lenet5)
    with pytest.raises(SweepError, match=r"the process pool \(\d+ points unfinished\) failed: BrokenProcessPool: "
                                         r".*kept in .*f.nc.journal"):
        sweep(["minerva", "lenet5"], BASE, AXES, executor="processes", workers=2, progress=False,
              store=tmp_path / "f.nc")
    for line in (tmp_path / "f.nc.journal").read_text().splitlines()[1:]:
        assert json.loads(line)["i"] < 4  # only minerva's points (the first four) can have finished


# -- networks that are not in the zoo: a user Graph, an ONNX file --------------------------------------


def _user_graph(name="tiny", channels=32):
    """A small CNN built with the Graph/nn API (README's example)."""
    from smaug_fast import Graph, nn, tensor

    with Graph(name, dtype="float16", layout="NHWC") as g:
        x = g.input((1, 28, 28, 1), name="image")
        x = nn.convolution(x, channels, 3, padding="valid", activation="relu")
        x = nn.max_pool(x, 2, 2)
        nn.mat_mul(tensor.flatten(x), 10)
    return g


def _onnx_file(path, channels=8):
    """A small CNN as an ONNX file (conv, relu, max pool, flatten, Gemm), written with the onnx package."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    inits = {"w1": rng.standard_normal((channels, 3, 3, 3)).astype(np.float32),
             "w2": rng.standard_normal((10, channels * 8 * 8)).astype(np.float32)}
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu1"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flat", axis=1),
        helper.make_node("Gemm", ["f", "w2"], ["out"], name="fc", transB=1),
    ]
    graph = helper.make_graph(
        nodes, "small_cnn_graph", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 10])],
        [numpy_helper.from_array(v, n) for n, v in inits.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _equals_simulate(ds, network, graph):
    """Every variable at every point of ``network`` equals ``simulate(graph, ...)`` of that point."""
    pts, _, _ = points([network], {k: list(ds[k].values) for k in AXES})
    for _, changes in pts:
        direct = simulate(graph, BASE.replace(**changes), timeline=False).scalars()
        for name in VARIABLES:
            assert float(ds[name].sel(network=network, **changes)) == direct[name], (network, changes, name)


def test_a_user_graph_sweeps_as_simulate_does(serial):
    graph = _user_graph()
    ds = sweep(["minerva", graph], BASE, AXES, executor="serial", progress=False)
    assert list(ds["network"].values) == ["minerva", "tiny"]
    _equals_simulate(ds, "tiny", graph)
    for name in VARIABLES:  # the zoo network beside it is unchanged
        assert (ds[name].sel(network="minerva").values == serial[name].sel(network="minerva").values).all()
    assert json.loads(ds.attrs["network_sources"])["tiny"]["graph"] == "tiny"
    # a process pool: the same Dataset; one Graph alone: its values
    pool = sweep(["minerva", graph], BASE, AXES, executor="processes", workers=2, progress=False)
    xr.testing.assert_identical(_undated(pool), _undated(ds))
    alone = sweep(graph, BASE, AXES, executor="serial", progress=False)
    assert (alone["latency_s"].values == ds["latency_s"].sel(network=["tiny"]).values).all()


def test_an_onnx_file_sweeps_as_simulate_of_from_onnx_does(tmp_path):
    from smaug_fast.workload import from_onnx

    path = _onnx_file(tmp_path / "models" / "small_cnn.onnx")
    ds = sweep([str(path), "minerva"], BASE, AXES, executor="serial", progress=False)
    assert list(ds["network"].values) == ["small_cnn", "minerva"]  # the file's stem
    _equals_simulate(ds, "small_cnn", from_onnx(path))
    source = json.loads(ds.attrs["network_sources"])["small_cnn"]
    assert source["onnx"] == str(path.resolve()) and len(source["sha256"]) == 64
    pool = sweep([path, "minerva"], BASE, AXES, executor="processes", workers=2, progress=False)  # a Path
    xr.testing.assert_identical(_undated(pool), _undated(ds))


def test_a_store_recognises_a_graph_or_onnx_sweep_on_rerun(tmp_path):
    """The journal identifies a Graph by its name and ops, an ONNX file by its path and bytes: the same
    call resumes (a new but equal Graph object too); a changed graph or file is another definition."""
    path = _onnx_file(tmp_path / "small_cnn.onnx")
    store = tmp_path / "s.nc"
    first = sweep([_user_graph(), path], BASE, AXES, executor="serial", progress=False, store=store)
    again = sweep([_user_graph(), path], BASE, AXES, executor="serial", progress=False, store=store)
    xr.testing.assert_identical(again, first)
    xr.testing.assert_identical(open_sweep(store), first)
    with pytest.raises(ConfigError, match="written by a different sweep definition"):
        sweep([_user_graph(channels=16), path], BASE, AXES, executor="serial", progress=False, store=store)
    _onnx_file(path, channels=4)
    with pytest.raises(ConfigError, match="written by a different sweep definition"):
        sweep([_user_graph(), path], BASE, AXES, executor="serial", progress=False, store=store)


class _GraphLike:
    """Has a Graph's name and ops, but is not a smaug_fast Graph."""

    name = "fake"

    def topological_order(self):
        return []

    def __iter__(self):
        return iter(())

    def __repr__(self) -> str:
        return "_GraphLike('fake')"


@pytest.mark.parametrize(
    "networks, error, match",
    [
        (_GraphLike(), WorkloadError, r"networks = _GraphLike\('fake'\): must be a zoo network name, a smaug_fast "
                                      r"Graph or the path of an .onnx file"),
        (["minerva", _GraphLike()], WorkloadError, r"networks\[1\] = _GraphLike\('fake'\): must be"),
        ([Path("lenet5")], WorkloadError, r"networks\[0\] = PosixPath\('lenet5'\): must be"),
        (["missing.onnx"], WorkloadError, r"networks\[0\] = 'missing.onnx': no such ONNX file"),
        (["lenet5", _user_graph("lenet5")], ConfigError,
         r"networks: zoo network 'lenet5' and Graph 'lenet5' are both named 'lenet5'"),
        ([_user_graph("a"), _user_graph("a", channels=8)], ConfigError, r"Graph 'a' and Graph 'a' are both named 'a'"),
    ],
)
def test_networks_that_are_not_networks_or_share_a_name(networks, error, match):
    with pytest.raises(error, match=match):
        sweep(networks, BASE, AXES, executor="serial", progress=False)


def test_two_onnx_files_with_one_stem_are_a_config_error(tmp_path):
    a, b = _onnx_file(tmp_path / "a" / "net.onnx"), _onnx_file(tmp_path / "b" / "net.onnx")
    with pytest.raises(ConfigError, match=rf"ONNX file '{a}' and ONNX file '{b}' are both named 'net'"):
        sweep([str(a), str(b)], BASE, AXES, executor="serial", progress=False)


def test_a_graph_that_cannot_reach_worker_processes_is_a_workload_error():
    graph = _user_graph()
    graph.callback = lambda: None  # a lambda does not pickle
    with pytest.raises(WorkloadError, match=r"networks: Graph 'tiny' cannot be sent to worker processes .*"
                                            r"executor='serial'"):
        sweep(graph, BASE, AXES, executor="processes", workers=2, progress=False)
    assert sweep(graph, BASE, AXES, executor="serial", progress=False).sizes["network"] == 1


def test_a_graph_reaches_a_worker_without_its_weights_and_once():
    """What a worker process receives of a Graph: its ops, not its constant values, and one graph
    object per (name, ops) however many chunks bring it (its memoized work is keyed by its ops)."""
    import pickle

    from smaug_fast.sweeps.networks import GraphSource, graph_of, ops_digest

    graph = _user_graph()
    graph.constant_values["w"] = np.zeros(1000)
    source = GraphSource(("tiny", ops_digest(graph)), graph)
    first, second = (pickle.loads(pickle.dumps(source)) for _ in range(2))
    assert graph_of(first) is graph_of(second) is not graph
    assert graph_of(first).constant_values == {} and graph.constant_values
    assert graph_of(first).topological_order() == graph.topological_order()
