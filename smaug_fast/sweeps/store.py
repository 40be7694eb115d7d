"""A sweep's store: its path checked, the finished netCDF file or zarr directory written through a
temporary name and an atomic rename, what a store already there holds, what an I/O failure says, and
:func:`open_sweep`, which reads a store back. The journal of finished points is in :mod:`.journal`."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil

from ..errors import ConfigError, SmaugFastError, SweepError, describe

_NODE_SEP = "__"


def open_sweep(path: str | os.PathLike):
    """A finished sweep store: the Dataset, or the DataTree of a ``per_op=True`` sweep.

    A ``.zarr`` store holds the per-op values in a group per network. A ``.nc`` store is one netCDF3
    file (netCDF3 has no groups): the per-op variables of network ``n`` are stored as ``n__<variable>``
    along dimension ``n__op``.
    """
    import xarray as xr

    path = os.fspath(path)
    if is_zarr(path):
        need_zarr(path)
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


def is_zarr(path: str) -> bool:
    return path.rstrip("/" + os.sep).endswith(".zarr")


def need_zarr(path: str) -> None:
    try:
        import zarr  # noqa: F401
    except ImportError:
        raise ConfigError(
            f"store = {path!r}: a .zarr store needs the zarr package (pip install 'smaug-fast[zarr]'), "
            "or use a .nc path"
        ) from None


def check_path(store) -> str:
    """The store's path as a string: a ``.nc`` or ``.zarr`` path (zarr installed for the latter) in a
    folder that exists (ConfigError naming it)."""
    path = os.fspath(store).rstrip("/" + os.sep)
    if is_zarr(path):
        need_zarr(path)
    elif not path.endswith(".nc"):
        raise ConfigError(f"store = {describe(path)}: must be a netCDF path ending in .nc or a zarr store "
                          "ending in .zarr")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ConfigError(f"store = {describe(path)}: folder {folder!r} does not exist; create it or write the "
                          "store elsewhere")
    return path


def store_error(store: str, exc: OSError, doing: str, kept: str = "") -> SmaugFastError:
    """The named error of an I/O failure on ``store`` while it did ``doing``, saying what to do (a
    ConfigError for a folder that may not be written, a SweepError for a full disk or anything else);
    ``kept``: where the finished points are, as a clause that follows."""
    reason = exc.strerror or str(exc)
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    kept = f"; {kept}" if kept else ""
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ConfigError(f"store {store!r}: cannot {doing}: {reason}{where}; make its folder writable or write "
                           f"the store elsewhere{kept}")
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return SweepError(f"store {store!r}: cannot {doing}: no space left on the device{where}; free some space "
                          f"(or write the store elsewhere) and call again{kept}")
    return SweepError(f"store {store!r}: cannot {doing}: {reason}{where}{kept}")


def check_foreign(store: str, identity: dict) -> None:
    """A store already at ``store`` with no journal beside it is overwritten only if it holds this
    sweep (``identity``: see :func:`~smaug_fast.sweeps.dataset.identity`); else a ConfigError: its
    points would be lost."""
    if not os.path.lexists(store):
        return
    found = stored_identity(store)
    if found == identity:  # this sweep's store, whose journal was deleted: written again, the same
        return
    what = "is not a sweep store" if found is None else "holds another sweep"
    raise ConfigError(
        f"store {store!r} {what} and has no journal ({store}.journal) to resume from; it is not overwritten: "
        "write this sweep to another path, or delete it first"
    )


def stored_identity(store: str) -> dict | None:
    """What sweep the store at ``store`` holds (:func:`~smaug_fast.sweeps.dataset.identity_of`); None if
    it cannot be read as a sweep store."""
    import xarray as xr

    from .dataset import identity_of

    try:
        data = open_sweep(store)
    except Exception:  # noqa: BLE001 -- whatever fails to read, it is not a store this sweep wrote
        return None
    root = data.to_dataset() if isinstance(data, xr.DataTree) else data
    if "network" not in root.coords:
        return None
    return identity_of(root, per_op=isinstance(data, xr.DataTree))


def write(result, store: str) -> None:
    """Write the finished Dataset (or DataTree) to ``store``, replacing any earlier one whole: it is
    written under a temporary name, synced, then renamed over the store (os.replace), so that a
    store is never half written. An OSError leaves the earlier store as it was.

    zarr keeps the DataTree's groups; netCDF3 has none, so the tree is flattened (see
    :func:`open_sweep`)."""
    if is_zarr(store):
        _write_zarr(result, store)
    else:
        _write_netcdf(result, store)
    _fsync_folder(os.path.dirname(os.path.abspath(store)))


def _write_zarr(result, store: str) -> None:
    """A directory cannot be renamed over another: the old store is moved aside, the new one renamed
    into place, the old one removed (a kill between the renames leaves ``<store>.old`` and the journal,
    from which the same call writes the store again)."""
    tmp, old = store + ".tmp", store + ".old"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    try:
        # consolidated metadata is not part of zarr format 3 (zarr warns); open_sweep lists groups
        result.to_zarr(tmp, mode="w", consolidated=False)
        _fsync_tree(tmp)
        if os.path.lexists(store):
            os.replace(store, old)
        try:
            os.replace(tmp, store)
        except OSError:
            if os.path.lexists(old):
                os.replace(old, store)
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def _fsync_tree(folder: str) -> None:
    for root, _, files in os.walk(folder):
        for name in files:
            _fsync_file(os.path.join(root, name))


def _fsync_file(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: str) -> None:
    """Make a rename in ``folder`` durable (POSIX; elsewhere a folder cannot be opened)."""
    try:
        _fsync_file(folder)
    except OSError:
        pass


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
    try:
        out.to_netcdf(tmp)
        _fsync_file(tmp)
        os.replace(tmp, store)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
