"""A sweep's store: the journal of finished points (resume), the finished netCDF or zarr file, and
:func:`open_sweep`, which reads one back."""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil

from ..errors import ConfigError, describe

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


class Journal:
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
            self._resume(definition)
        else:
            with open(self.path, "w", encoding="utf-8") as fh:
                fh.write(json.dumps({"definition": definition, "created": self.created}) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        self._fh = open(self.path, "a", encoding="utf-8")

    def _resume(self, definition: str) -> None:
        """Read the points an earlier run of the same definition finished (ConfigError if another wrote it)."""
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
        if self.zarr:
            _write_zarr(result, self.store)
        else:
            _write_netcdf(result, self.store)


def _write_zarr(result, store: str) -> None:
    tmp = store + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    # consolidated metadata is not part of zarr format 3 (zarr warns); open_sweep lists groups
    result.to_zarr(tmp, mode="w", consolidated=False)
    old = store + ".old"
    shutil.rmtree(old, ignore_errors=True)
    if os.path.exists(store):
        os.replace(store, old)
    os.replace(tmp, store)
    shutil.rmtree(old, ignore_errors=True)


def _write_netcdf(result, store: str) -> None:
    import xarray as xr

    tmp = store + ".tmp"
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
    os.replace(tmp, store)
