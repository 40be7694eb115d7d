"""Design-space sweeps: named axes over any System field and over networks, as an xarray Dataset.

>>> from smaug_fast import presets, sweep
>>> ds = sweep(["lenet5", "cnn10"], presets.load("smaug-table2"),
...            {"interface": ["dma", "acp"], "num_accelerators": [1, 2, 4]}, executor="serial")
>>> ds["latency_s"].sel(network="cnn10", interface="acp").values  # one value per accelerator count

Axes map dotted System paths (``"l2.size_bytes"``, ``"cpu_threads"``) to lists of values; every
combination is simulated (``zip_axes`` groups axes that advance together instead). Every axis and
value is checked against the System before any work starts (``ConfigError`` naming it). Points that
share a memory pass run one after another on one worker, so that its memoized per-op and memory-pass
work is reused (``smaug_fast.sim``).

The modules, in the order a sweep uses them:

- ``networks``: the ``networks`` argument (zoo names, ``Graph`` objects, ``.onnx`` paths) checked,
  each network's coordinate name, identity and graph;
- ``spec``: the axes checked, the points, the sweep definition a journal records, each point's System;
- ``journal``: the journal of finished points (resume) and the lock held while a sweep writes a store;
- ``store``: the netCDF/zarr file written atomically, a store already there, :func:`open_sweep`;
- ``executors``: the points in chunks on one ``concurrent.futures.Executor`` ("serial", a process
  pool or a dask Client's), with the journal, the progress bar and failures handled once;
- ``worker``: what a worker runs for a chunk (one ``simulate`` per point);
- ``dataset``: the rows as the Dataset (or the DataTree of ``per_op=True``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence

from ..errors import ConfigError, describe
from ..hardware import System
from ..workload import Graph
from . import executors, networks as _networks, spec
from .dataset import build, identity
from .journal import Journal
from .spec import points
from .store import open_sweep
from .worker import OP_VARIABLES, valid_row

__all__ = ["OP_VARIABLES", "open_sweep", "points", "sweep"]


def sweep(
    networks: str | Graph | os.PathLike | Sequence[str | Graph | os.PathLike],
    system: System,
    axes: Mapping[str, Sequence],
    *,
    zip_axes: Sequence[Sequence[str]] = (),
    executor="processes",
    workers: int | None = None,
    store: str | os.PathLike | None = None,
    progress: bool = True,
    per_op: bool = False,
):
    """Simulate every point of ``networks`` x ``axes`` and return an xarray Dataset.

    Args:
        networks: one network or a list of them, each a zoo network name, a :class:`~smaug_fast.Graph`
            (its ``network`` coordinate is ``graph.name``) or the path of an ONNX file (a ``str`` or
            ``os.PathLike`` ending in ``.onnx``, read with ``smaug_fast.workload.from_onnx`` and its
            defaults; its coordinate is the file's stem). Two networks with one name are a
            ConfigError. A store's journal records a Graph by its name and the digest of its ops,
            an ONNX file by its path and the digest of its bytes.
        system: the base System every point changes.
        axes: dotted System path -> list of values; also the workload axes ``seq_len``, ``kv_len``,
            ``batch`` and ``new_tokens`` (:data:`~smaug_fast.sweeps.spec.WORKLOAD_AXES`) for transformer
            networks (a shipped config name such as ``"tinyllama-1.1b"``): a prefill of ``seq_len``
            tokens, a decode step after ``kv_len`` tokens, or with ``new_tokens`` a whole generation
            (``simulate_generation``, ``prompt_len = seq_len``; its variables are the generation's,
            with ``ttft_s``, ``tpot_s``, ``tokens_per_s`` and ``energy_per_token_j`` beside them);
            and the transformer options ``weight_dtype`` ("float16" or "int8") and ``batch_matmul``
            ("fused", "cpu" or "inner_products") of :func:`smaug_fast.zoo.transformer`, beside any
            of those (a generation takes them through ``simulate_generation``).
        zip_axes: groups of axes that advance together (one dimension per group).
        executor: "serial", "processes" (a process pool of ``workers``, default all cores) or a
            dask.distributed Client.
        store: a ``.nc`` (netCDF) or ``.zarr`` (needs zarr) path. Each finished point is appended (and
            fsynced) to ``<store>.journal`` as it completes; calling again with the same definition
            skips the finished points (resume after a crash, SIGKILL or a failed point) and the
            finished Dataset is written to ``store`` (under a temporary name, then renamed over it).
            A journal or a store of a different sweep definition is a ConfigError, and so is a
            store found without a journal that is not this sweep's (it is never overwritten).
            ``<store>.lock`` is held while the sweep runs: a second sweep writing the same store
            gets a SweepError naming the first's process. A folder that cannot be written is a
            ConfigError before any point is simulated; a full disk a SweepError naming the store
            (the journaled points are kept). A torn or malformed journal line is skipped with a
            :class:`~smaug_fast.errors.SweepWarning` naming it (its point is simulated again).
        progress: a tqdm bar on stderr (only when stderr is a terminal).
        per_op: also return every op's values (:data:`OP_VARIABLES`): an ``xarray.DataTree`` whose root
            is the Dataset and which has a node per network with dimension ``op`` (the op names in
            topological order, ``op_kind`` beside them) and the sweep's dimensions. The store then
            holds them too (read it back with :func:`open_sweep`).

    A point that fails raises :class:`~smaug_fast.errors.SweepError` naming it (the original
    exception is its ``__cause__``); the sweep stops, and with ``store`` every point finished
    before it is in the journal.

    Dimensions: ``network`` and one per axis (group); data variables: every scalar of
    :data:`smaug_fast.sim.VARIABLES`, with ``units`` and ``description`` attributes; provenance in
    ``attrs`` (package version, git revision, base System as JSON, axes, time).
    """
    nets = _networks.resolve(networks)
    if not isinstance(system, System):
        raise ConfigError(f"system = {describe(system)}: must be a System (e.g. presets.load('smaug-table2'))")
    executors.check_executor(executor)
    if executor != "serial":
        _networks.check_picklable(nets)
    ax = spec.axis_values(axes)
    spec.check_axes(system, ax, zip_axes)
    _networks.check_workload_axes(nets, ax, per_op)
    pts, dims, groups = points([n.name for n in nets], ax, zip_axes)
    base = system.to_dict()
    journal = None if store is None else _journal(store, nets, base, ax, zip_axes, per_op, pts)
    with journal if journal is not None else contextlib.nullcontext():  # holds the store's lock
        rows = executors.run(pts, base, nets, executor, workers, progress, journal, per_op)
        result = build(rows, nets, ax, zip_axes, dims, groups, base, journal.created if journal else None, per_op)
        if journal is not None:
            journal.finish(result)
    return result


def _journal(store, nets, base: dict, ax: dict, zip_axes, per_op: bool, pts) -> Journal:
    """The store's journal (resumed, or new), holding the store's lock: see :class:`Journal`."""
    definition = spec.definition([n.key for n in nets], base, ax, zip_axes, per_op)
    ops = {n.name: len(n.graph.topological_order()) for n in nets} if per_op else {}

    def row_ok(i: int, row: dict) -> bool:
        return valid_row(row, ops.get(pts[i][0]))

    return Journal(store, definition, len(pts), identity(nets, ax, zip_axes, base, per_op), row_ok)
