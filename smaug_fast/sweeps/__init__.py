"""Design-space sweeps: named axes over any System field and over networks, as an xarray Dataset.

>>> from smaug_fast import presets, sweep
>>> ds = sweep(["lenet5", "cnn10"], presets.load("smaug-table2"),
...            {"interface": ["dma", "acp"], "num_accelerators": [1, 2, 4]}, executor="serial")
>>> ds["latency_s"].sel(network="cnn10", interface="acp").values  # one value per accelerator count

Axes map dotted System paths (``"l2.size_bytes"``, ``"cpu_threads"``) to lists of values; every
combination is simulated (``zip_axes`` groups axes that advance together instead). Every axis and
value is checked against the System before any work starts (``ConfigError`` naming it). Points are
ordered network-major, so a worker process simulates one network's points one after another and
its memoized per-op and memory-pass work is reused (``smaug_fast.sim``).
"""

from __future__ import annotations

import datetime as _dt
import itertools
import json
import math
import os
import subprocess
from collections.abc import Mapping, Sequence

import numpy as np

from ..errors import ConfigError, SweepError, describe
from ..hardware import System
from ..memo import SIM_CACHE
from ..sim import VARIABLES
from ..sim.result import PHASES

__all__ = ["OP_VARIABLES", "open_sweep", "points", "sweep"]


def _axis_values(axes: Mapping[str, Sequence]) -> dict[str, list]:
    if not isinstance(axes, Mapping):
        raise ConfigError(f"axes = {describe(axes)}: must map dotted System paths to lists of values")
    out = {}
    for path, values in axes.items():
        if not isinstance(path, str) or not path:
            raise ConfigError(f"axes: key {describe(path)}: must be a dotted System path such as 'l2.size_bytes'")
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
            raise ConfigError(f"axes[{path!r}] = {describe(values)}: must be a list of values")
        if len(values) == 0:
            raise ConfigError(f"axes[{path!r}]: empty axis (give at least one value)")
        if len(set(map(repr, values))) != len(values):
            raise ConfigError(f"axes[{path!r}] = {describe(values)}: values repeat")
        out[path] = list(values)
    return out


def _check(system: System, axes: dict[str, list]) -> None:
    """Every value of every axis must make a valid System on its own (ConfigError naming it)."""
    for path, values in axes.items():
        for v in values:
            try:
                system.replace(**{path: v})
            except ConfigError as exc:
                raise ConfigError(f"axes[{path!r}] value {describe(v)}: {exc}") from None


def points(networks: Sequence[str], axes: dict[str, list], zip_axes: Sequence[Sequence[str]] = ()):
    """Every sweep point as (network, {path: value}), network-major; and the Dataset dims/coords.

    Returns (points, dims, coords) where dims lists the Dataset's dimensions (zipped groups become one
    dimension named after their first axis, the others as non-index coordinates).
    """
    groups: list[list[str]] = []
    zipped = set()
    for group in zip_axes or ():
        group = list(group)
        for a in group:
            if a not in axes:
                raise ConfigError(f"zip_axes: {a!r} is not an axis (axes: {', '.join(axes)})")
            if a in zipped:
                raise ConfigError(f"zip_axes: {a!r} appears in two groups")
            zipped.add(a)
        lengths = {len(axes[a]) for a in group}
        if len(lengths) != 1:
            raise ConfigError(f"zip_axes: group {group} has axes of different lengths {[len(axes[a]) for a in group]}")
        groups.append(group)
    for a in axes:
        if a not in zipped:
            groups.append([a])
    dims = ["network"] + [g[0] for g in groups]
    per_group = [list(zip(*(axes[a] for a in g))) for g in groups]
    pts = []
    for net in networks:
        for combo in itertools.product(*per_group):
            changes = {}
            for g, values in zip(groups, combo):
                changes.update(dict(zip(g, values)))
            pts.append((net, changes))
    return pts, dims, groups


#: Per-op variables of ``sweep(..., per_op=True)``: (units, description).
OP_VARIABLES: dict[str, tuple[str, str]] = {
    "latency_s": ("s", "critical-path time of the op"),
    **{f"{p}_s": ("s", f"the op's critical-path time in phase {p}") for p in PHASES},
    "energy_j": ("J", "the accelerator model's energy of the op's invocations"),
    "dram_read_bytes": ("B", "bytes the op reads from DRAM"),
    "dram_write_bytes": ("B", "bytes the op writes to DRAM"),
    "invocations": ("1", "accelerator invocations of the op"),
}


def _evaluate(network: str, base: dict, changes: dict, per_op: bool = False) -> dict:
    """One point: the scalars of simulate(network, system), and with ``per_op`` the per-op values
    under "ops" (runs in worker processes too)."""
    from ..sim import simulate

    r = simulate(_graph(network), _system(base, changes), network=network, timeline=False)
    row: dict = r.scalars()
    if per_op:
        row["ops"] = {
            "latency_s": [o.latency_s for o in r.ops],
            **{f"{p}_s": [o.breakdown_s[p] for o in r.ops] for p in PHASES},
            "energy_j": [o.energy_j for o in r.ops],
            "dram_read_bytes": [float(o.dram_read_bytes) for o in r.ops],
            "dram_write_bytes": [float(o.dram_write_bytes) for o in r.ops],
            "invocations": [float(o.invocations) for o in r.ops],
        }
    return row


def _system(base: dict, changes: dict) -> System:
    """The System of a point. Building one from its dictionary takes milliseconds, so the Systems
    are memoized (SIM_CACHE table "sweep_systems") on the base and the changes: every network of a
    sweep visits the same systems."""
    key = (json.dumps(base, sort_keys=True, default=repr), tuple((k, repr(v)) for k, v in changes.items()))

    def build() -> System:
        start = SIM_CACHE.get("sweep_systems", (key[0], ()), lambda: System.from_dict(base), 4096)
        return start.replace(**changes) if changes else start

    return SIM_CACHE.get("sweep_systems", key, build, 4096)


def _graph(network: str):
    from .. import zoo

    return SIM_CACHE.get("sweep_graphs", network, lambda: zoo.load(network), 64)


def _evaluate_chunk(args) -> tuple[list[dict], BaseException | None]:
    """The rows of a chunk of points, in a worker. A failing point ends the chunk: the rows of the
    points before it come back with its exception (the worker's traceback as a note), so that the
    finished points are journaled and none is lost."""
    import pickle
    import traceback

    base, chunk, per_op = args
    rows: list[dict] = []
    for net, changes in chunk:
        try:
            rows.append(_evaluate(net, base, changes, per_op))
        except Exception as exc:  # noqa: BLE001 -- any failure goes back to the caller with the rows
            note = "traceback in the worker:\n" + traceback.format_exc()
            try:
                pickle.dumps(exc)
            except Exception:  # noqa: BLE001 -- an exception that cannot cross processes
                exc = RuntimeError(f"{type(exc).__name__}: {exc}")
            exc.add_note(note)
            return rows, exc
    return rows, None


def _git_revision() -> str:
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else ""
    except (OSError, subprocess.SubprocessError):
        return ""


def _coord(values: list):
    try:
        arr = np.asarray(values)
        if arr.dtype.kind in "iufb":
            return arr
    except (ValueError, TypeError):
        pass
    return np.asarray([v if isinstance(v, str) else json.dumps(v, default=str) for v in values], dtype=object)


def sweep(
    networks: str | Sequence[str],
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
        networks: zoo network names (one name or a list).
        system: the base System every point changes.
        axes: dotted System path -> list of values.
        zip_axes: groups of axes that advance together (one dimension per group).
        executor: "serial", "processes" (a process pool of ``workers``, default all cores) or a
            dask.distributed Client.
        store: a ``.nc`` (netCDF) or ``.zarr`` (needs zarr) path. Each finished point is appended (and
            fsynced) to ``<store>.journal`` as it completes; calling again with the same definition
            skips the finished points (resume after a crash, SIGKILL or a failed point) and the
            finished Dataset is written to ``store``. A store written by a different sweep
            definition is a ConfigError.
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
    import xarray as xr

    from .. import __version__, zoo

    if isinstance(networks, str):
        networks = [networks]
    networks = list(networks)
    if not networks:
        raise ConfigError("networks: empty (give at least one zoo network)")
    for n in networks:
        zoo.info(n)  # WorkloadError listing the valid names
    if len(set(networks)) != len(networks):
        raise ConfigError(f"networks = {networks}: names repeat")
    if not isinstance(system, System):
        raise ConfigError(f"system = {describe(system)}: must be a System (e.g. presets.load('smaug-table2'))")
    is_client = hasattr(executor, "submit") and hasattr(executor, "gather")
    if not is_client and executor not in ("serial", "processes"):
        raise ConfigError(f"executor = {describe(executor)}: must be 'serial', 'processes' or a dask Client")
    ax = _axis_values(axes)
    if "network" in ax:
        raise ConfigError("axes: 'network' is given by the networks argument, not as an axis")
    _check(system, ax)
    pts, dims, groups = points(networks, ax, zip_axes)
    base = system.to_dict()
    definition = json.dumps(
        {"networks": networks, "base": base, "axes": {k: [repr(v) for v in vals] for k, vals in ax.items()},
         "zip_axes": [list(g) for g in zip_axes or ()], **({"per_op": True} if per_op else {})},
        sort_keys=True, default=str,
    )
    journal = _Journal(store, definition, len(pts)) if store is not None else None
    try:
        rows = _run(pts, base, executor, workers, progress, journal, per_op)
    finally:
        if journal is not None:
            journal.close()
    shape = [len(networks)] + [len(ax[g[0]]) for g in groups]
    data = {}
    for name, (unit, desc) in VARIABLES.items():
        arr = np.array([r[name] for r in rows], dtype=float).reshape(shape)
        data[name] = xr.DataArray(arr, dims=dims, attrs={"units": unit, "description": desc})
    coords: dict = {"network": np.asarray(networks, dtype=object)}
    for g in groups:
        coords[g[0]] = _coord(ax[g[0]])
        for other in g[1:]:
            coords[other] = (g[0], _coord(ax[other]))
    attrs = {
        "smaug_fast_version": __version__,
        "git_revision": _git_revision(),
        "base_system": json.dumps(base, sort_keys=True, default=str),
        "axes": json.dumps({k: [repr(v) for v in vals] for k, vals in ax.items()}),
        "zip_axes": json.dumps([list(g) for g in zip_axes or ()]),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    if journal is not None:
        ds.attrs["created"] = journal.created
    result = ds
    if per_op:
        nodes = {}
        per_network = len(rows) // len(networks)
        for k, net in enumerate(networks):
            ops = _graph(net).topological_order()
            block = rows[k * per_network : (k + 1) * per_network]
            node = {}
            for name, (unit, desc) in OP_VARIABLES.items():
                arr = np.array([r["ops"][name] for r in block], dtype=float).reshape(shape[1:] + [len(ops)])
                node[name] = xr.DataArray(arr, dims=dims[1:] + ["op"], attrs={"units": unit, "description": desc})
            node_coords = {c: v for c, v in coords.items() if c != "network"}
            node_coords["op"] = np.asarray([op.name for op in ops], dtype=object)
            node_coords["op_kind"] = ("op", np.asarray([op.kind for op in ops], dtype=object))
            nodes[net] = xr.Dataset(node, coords=node_coords)
        result = xr.DataTree.from_dict({"/": ds, **nodes})
    if journal is not None:
        journal.finish(result)
    return result


_NODE_SEP = "__"


def open_sweep(path: str | os.PathLike):
    """A finished sweep store: the Dataset, or the DataTree of a ``per_op=True`` sweep.

    A ``.zarr`` store holds the per-op values in a group per network. A ``.nc`` store is one netCDF3
    file (netCDF3 has no groups): the per-op variables of network ``n`` are stored as ``n__<variable>``
    along dimension ``n__op``.
    """
    import xarray as xr

    path = os.fspath(path)
    if _is_zarr(path):
        _need_zarr(path)
        with xr.open_datatree(path, engine="zarr", consolidated=False) as f:
            tree = f.load()
        return tree if tree.children else tree.to_dataset()
    with xr.open_dataset(path) as f:
        flat = f.load()
    networks = [str(n) for n in flat["network"].values]
    prefixed = {n: [v for v in flat.variables if str(v).startswith(n + _NODE_SEP)] for n in networks}
    if not any(prefixed.values()):
        return flat
    nodes = {}
    for n, names in prefixed.items():
        node = flat[[v for v in names if v in flat.data_vars]]
        node = node.rename({v: v[len(n) + len(_NODE_SEP):] for v in names})
        node = node.drop_vars("network", errors="ignore")
        node.attrs = {}  # the provenance is the root's
        nodes[n] = node
    root = flat.drop_vars([v for names in prefixed.values() for v in names])
    return xr.DataTree.from_dict({"/": root, **nodes})


def _is_zarr(path: str) -> bool:
    return path.rstrip("/" + os.sep).endswith(".zarr")


def _need_zarr(path: str) -> None:
    try:
        import zarr  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"store = {path!r}: a .zarr store needs the zarr package (pip install 'smaug-fast[zarr]'), "
            "or use a .nc path"
        ) from None


class _Journal:
    """Append-only record of finished points: one JSON line each, fsynced, after a header line that
    holds the sweep's definition. A partial last line (a kill mid-write) is ignored on resume."""

    def __init__(self, store, definition: str, total: int) -> None:
        self.store = os.fspath(store).rstrip("/" + os.sep)
        self.zarr = _is_zarr(self.store)
        if self.zarr:
            _need_zarr(self.store)
        elif not self.store.endswith(".nc"):
            raise ConfigError(f"store = {describe(self.store)}: must be a netCDF path ending in .nc or a "
                              "zarr store ending in .zarr")
        self.path = self.store + ".journal"
        self.total = total
        self.done: dict[int, dict[str, float]] = {}
        self.created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        if os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as fh:
                lines = fh.read().split("\n")
            try:
                header = json.loads(lines[0])
            except ValueError:
                raise ConfigError(f"store {self.store!r}: {self.path} is not a sweep journal") from None
            if header.get("definition") != definition:
                raise ConfigError(
                    f"store {self.store!r}: written by a different sweep definition; use another path or delete "
                    f"{self.path} and {self.store}"
                )
            self.created = header.get("created", self.created)
            for line in lines[1:]:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # the torn last line of a killed run
                self.done[int(rec["i"])] = rec["v"]
        else:
            with open(self.path, "w", encoding="utf-8") as fh:
                fh.write(json.dumps({"definition": definition, "created": self.created}) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        self._fh = open(self.path, "a", encoding="utf-8")

    def record(self, index: int, values: dict[str, float]) -> None:
        self._fh.write(json.dumps({"i": index, "v": values}) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self.done[index] = values

    def close(self) -> None:
        self._fh.close()

    def finish(self, result) -> None:
        """Write the finished Dataset (or DataTree) to the store, replacing any earlier one whole.

        zarr keeps the DataTree's groups; netCDF3 has none, so the tree is flattened (see
        :func:`open_sweep`)."""
        import shutil

        import xarray as xr

        tmp = self.store + ".tmp"
        if self.zarr:
            shutil.rmtree(tmp, ignore_errors=True)
            # consolidated metadata is not part of zarr format 3 (zarr warns); open_sweep lists groups
            result.to_zarr(tmp, mode="w", consolidated=False)
            old = self.store + ".old"
            shutil.rmtree(old, ignore_errors=True)
            if os.path.exists(self.store):
                os.replace(self.store, old)
            os.replace(tmp, self.store)
            shutil.rmtree(old, ignore_errors=True)
            return
        if isinstance(result, xr.DataTree):
            out = result.to_dataset(inherit=False).copy()
            for net, node in result.children.items():
                flat = node.to_dataset(inherit=False)
                out = out.merge(flat.rename({v: f"{net}{_NODE_SEP}{v}" for v in flat.variables}))
        else:
            out = result.copy()
        for name in out.variables:
            if out[name].dtype == object:
                out[name] = out[name].astype(str)
        out.to_netcdf(tmp)
        os.replace(tmp, self.store)


def _bar(total: int, progress: bool):
    """A tqdm progress bar on stderr, or None when ``progress`` is off or stderr is not a terminal."""
    import sys

    from tqdm import tqdm

    if not progress or not sys.stderr.isatty():
        return None
    return tqdm(total=total, unit="pt", desc="sweep")


def _memory_group(system: System):
    """What decides whether two points of one network share a memory pass."""
    from ..sim.memory_pass import MemorySystem

    return (system.accelerator, MemorySystem.of(system))


def _chunks(todo: list[int], pts, workers: int, base: dict) -> list[list[int]]:
    """The points to evaluate, in chunks for the workers.

    Points that share a memory pass (the same network and the same values of every axis under
    :func:`_memory_group`) go together, in as few chunks as keep about four
    chunks per worker, so that each memory pass is computed by one worker and reused by the points
    that follow it there (it takes about a second for ResNet50; the rest of a point milliseconds).
    The chunks of the networks with the most MACs come first.
    """
    def memory_key(i: int) -> tuple:
        network, changes = pts[i]
        return (network, _memory_group(_system(base, changes)))

    groups: dict[tuple, list[int]] = {}
    for i in todo:
        groups.setdefault(memory_key(i), []).append(i)
    size = max(1, math.ceil(len(todo) / (4 * workers)))
    chunks = []
    for members in groups.values():
        pieces = math.ceil(len(members) / size)
        chunks.extend(c.tolist() for c in np.array_split(np.asarray(members), pieces))
    # the biggest networks' chunks first (their memory passes take longest), so that no long chunk
    # starts last and leaves the other workers idle
    macs = {net: _graph(net).macs for net in {pts[c[0]][0] for c in chunks}}
    chunks.sort(key=lambda c: -macs[pts[c[0]][0]])
    return chunks


def _point(pts, i: int) -> str:
    network, changes = pts[i]
    return ", ".join([f"network={network!r}"] + [f"{k}={v!r}" for k, v in changes.items()])


def _run(pts, base, executor, workers, progress, journal=None, per_op=False) -> list[dict]:
    """Evaluate every point not yet in the journal; results in point order.

    The first failing point stops the sweep with a :class:`SweepError` naming it; every point that
    finished before (in any worker) is in the journal, so that calling again resumes.
    """
    results: dict[int, dict[str, float]] = dict(journal.done) if journal else {}
    todo = [i for i in range(len(pts)) if i not in results]
    bar = _bar(len(todo), progress)

    def finished(indices, rows):
        for i, row in zip(indices, rows):
            results[i] = row
            if journal:
                journal.record(i, row)
        if bar and rows:
            bar.update(len(rows))

    def failed(what: str, exc: BaseException) -> SweepError:
        kept = (f"the points finished so far are kept in {journal.path} (the same call resumes from them)"
                if journal else "the points finished so far are lost (pass store= to keep them)")
        return SweepError(f"{what} failed: {type(exc).__name__}: {exc}; {kept}")

    def collect(chunk, rows, exc):
        finished(chunk, rows)
        if exc is not None:
            raise failed(f"sweep point {chunk[len(rows)]} ({_point(pts, chunk[len(rows)])})", exc) from exc

    try:
        if executor == "serial":
            for i in itertools.chain.from_iterable(_chunks(todo, pts, 1, base)):
                try:
                    row = _evaluate(pts[i][0], base, pts[i][1], per_op)
                except Exception as exc:  # noqa: BLE001 -- named and chained in a SweepError
                    raise failed(f"sweep point {i} ({_point(pts, i)})", exc) from exc
                finished([i], [row])
        else:
            n_workers = workers or os.cpu_count() or 1
            chunks = _chunks(todo, pts, n_workers, base)
            args = [(base, [pts[i] for i in c], per_op) for c in chunks]
            if executor == "processes":
                from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

                with ProcessPoolExecutor(max_workers=n_workers) as pool:
                    futures = {pool.submit(_evaluate_chunk, a): c for a, c in zip(args, chunks)}
                    pending = set(futures)  # not yet journaled
                    try:
                        while pending:
                            done, _ = wait(pending, return_when=FIRST_COMPLETED)
                            for fut in done:
                                try:
                                    rows, exc = fut.result()
                                except Exception as crash:  # noqa: BLE001 -- e.g. a worker process died
                                    # a broken pool fails every unfinished chunk: which one's worker
                                    # died is unknown
                                    unfinished = sum(len(futures[f]) for f in pending)
                                    raise failed(f"the process pool ({unfinished} points unfinished)",
                                                 crash) from crash
                                finally:
                                    pending.discard(fut)
                                collect(futures[fut], rows, exc)
                    except BaseException:
                        # stop: drop the chunks not started; journal the rows of those already
                        # running or finished (the pool waits for the running ones anyway)
                        for fut in pending:
                            fut.cancel()
                        for fut in pending:
                            if not fut.cancelled():
                                try:
                                    rows, _ = fut.result()
                                except BaseException:  # noqa: BLE001 -- already failing
                                    continue
                                finished(futures[fut][: len(rows)], rows)
                        raise
            else:  # a dask.distributed Client
                from dask.distributed import as_completed

                futures = {executor.submit(_evaluate_chunk, a, pure=False): c for a, c in zip(args, chunks)}
                pending = set(futures)  # not yet journaled
                try:
                    for fut in as_completed(list(futures)):
                        pending.discard(fut)
                        try:
                            rows, exc = fut.result()
                        except Exception as crash:  # noqa: BLE001 -- a worker died or cannot run the task
                            c = futures[fut]
                            raise failed(f"a dask task of {len(c)} points (first: {_point(pts, c[0])})",
                                         crash) from crash
                        collect(futures[fut], rows, exc)
                except BaseException:
                    # stop: cancel what has not finished; journal what has
                    executor.cancel([f for f in pending if not f.done()])
                    for fut in pending:
                        if fut.status == "finished":
                            rows, _ = fut.result()
                            finished(futures[fut][: len(rows)], rows)
                    raise
    finally:
        if bar:
            bar.close()
    return [results[i] for i in range(len(pts))]
