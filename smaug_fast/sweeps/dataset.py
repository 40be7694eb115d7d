"""A sweep's rows as an xarray Dataset (one dimension per axis group), or a DataTree with per-op detail."""

from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess

import numpy as np

from ..sim import VARIABLES
from .spec import axes_json
from .worker import OP_VARIABLES


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


def _definition_attrs(networks, axes: dict[str, list], zip_axes, base: dict) -> dict[str, str]:
    """The attrs that say which sweep a Dataset is: base System, axes, zip_axes and, for a Graph or an
    ONNX file, what it was."""
    attrs = {
        "base_system": json.dumps(base, sort_keys=True, default=str),
        "axes": json.dumps(axes_json(axes)),
        "zip_axes": json.dumps([list(g) for g in zip_axes or ()]),
    }
    if any(not isinstance(n.key, str) for n in networks):  # a Graph or an ONNX file: what it was
        attrs["network_sources"] = json.dumps({n.name: n.key for n in networks}, sort_keys=True)
    return attrs


_DEFINITION_ATTRS = ("base_system", "axes", "zip_axes", "network_sources")


def identity(networks, axes: dict[str, list], zip_axes, base: dict, per_op: bool) -> dict:
    """Which sweep this is, as its finished store tells it (:func:`identity_of`): a store found with no
    journal beside it is overwritten only if it is this sweep's."""
    return {"network": [n.name for n in networks], **_definition_attrs(networks, axes, zip_axes, base),
            "per_op": bool(per_op)}


def identity_of(root, per_op: bool) -> dict:
    """:func:`identity` of the sweep whose Dataset (a per-op sweep's root) is ``root``."""
    return {"network": [str(n) for n in root["network"].values],
            **{k: root.attrs[k] for k in _DEFINITION_ATTRS if k in root.attrs}, "per_op": per_op}


def build(rows: list[dict], networks, axes: dict[str, list], zip_axes, dims: list[str], groups: list[list[str]],
          base: dict, created: str | None, per_op: bool):
    """The Dataset of a sweep's rows (in point order), or with ``per_op`` the DataTree whose root it is.

    ``networks``: the sweep's :class:`~smaug_fast.sweeps.networks.Network` values; ``created``: the
    creation time to record (None: now)."""
    import xarray as xr

    from .. import __version__

    shape = [len(networks)] + [len(axes[g[0]]) for g in groups]
    data = {}
    for name, (unit, desc) in VARIABLES.items():
        arr = np.array([r[name] for r in rows], dtype=float).reshape(shape)
        data[name] = xr.DataArray(arr, dims=dims, attrs={"units": unit, "description": desc})
    from ..sim.generation import GENERATION_VARIABLES

    for name, (unit, desc) in GENERATION_VARIABLES.items():  # sweeps over new_tokens
        if rows and all(name in r for r in rows):
            arr = np.array([r[name] for r in rows], dtype=float).reshape(shape)
            data[name] = xr.DataArray(arr, dims=dims, attrs={"units": unit, "description": desc})
    coords: dict = {"network": np.asarray([n.name for n in networks], dtype=object)}
    for g in groups:
        coords[g[0]] = _coord(axes[g[0]])
        for other in g[1:]:
            coords[other] = (g[0], _coord(axes[other]))
    attrs = {"smaug_fast_version": __version__, "git_revision": _git_revision(),
             **_definition_attrs(networks, axes, zip_axes, base)}
    attrs["created"] = created or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    if not per_op:
        return ds
    nodes = {}
    per_network = len(rows) // len(networks)
    for k, net in enumerate(networks):
        block = rows[k * per_network : (k + 1) * per_network]
        nodes[net.name] = _op_node(block, net.graph.topological_order(), shape[1:], dims[1:], coords)
    return xr.DataTree.from_dict({"/": ds, **nodes})


def _op_node(block: list[dict], ops, shape: list[int], dims: list[str], coords: dict):
    """One network's per-op values: the sweep's dimensions (but ``network``) and ``op``."""
    import xarray as xr

    node = {}
    for name, (unit, desc) in OP_VARIABLES.items():
        arr = np.array([r["ops"][name] for r in block], dtype=float).reshape(shape + [len(ops)])
        node[name] = xr.DataArray(arr, dims=dims + ["op"], attrs={"units": unit, "description": desc})
    node_coords = {c: v for c, v in coords.items() if c != "network"}
    node_coords["op"] = np.asarray([op.name for op in ops], dtype=object)
    node_coords["op_kind"] = ("op", np.asarray([op.kind for op in ops], dtype=object))
    return xr.Dataset(node, coords=node_coords)
