"""Sweeps: axes over System fields and networks, as an xarray Dataset."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import xarray as xr

from smaug_fast import ConfigError, WorkloadError, open_sweep, presets, simulate, sweep, zoo
from smaug_fast.sweeps import OP_VARIABLES
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
import smaug_fast.sweeps as sw
from smaug_fast import presets
original = sw._evaluate
def slow(*args):
    time.sleep(0.05)
    return original(*args)
sw._evaluate = slow
sw.sweep(["minerva", "lenet5"], presets.load("smaug-table2"),
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
    axes = {"interface": ["dma", "acp"], "num_accelerators": [1, 2, 4], "cpu_threads": [1, 2]}
    resumed = sweep(["minerva", "lenet5"], BASE, axes, executor="serial", store=store, progress=False)
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


def test_dask_local_cluster_equals_serial(serial, tmp_path):
    """Points run as dask.distributed tasks on a LocalCluster of two worker processes; the Dataset
    equals the serial one bit for bit, and the store's journal works through the Client path too."""
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        ds = sweep(["minerva", "lenet5"], BASE, AXES, executor=client, progress=False, store=tmp_path / "d.nc")
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
