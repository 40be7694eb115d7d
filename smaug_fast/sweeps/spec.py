"""A sweep's definition: its axes (checked against the System), its points, and each point's System."""

from __future__ import annotations

import itertools
import json
import math
import numbers
from collections.abc import Mapping, Sequence

from ..errors import ConfigError, describe
from ..hardware import System
from ..memo import SIM_CACHE


#: Axes that change the workload, not the System: a transformer's lengths (issue 19) and the batch.
#: ``seq_len`` and ``kv_len`` build a prefill (``kv_len`` absent) or a decode step of
#: :func:`smaug_fast.zoo.transformer`; ``new_tokens`` runs :func:`smaug_fast.simulate_generation` with
#: ``prompt_len = seq_len`` (the point's values are the whole generation's); ``batch`` also rebatches a
#: zoo network.
WORKLOAD_AXES = ("seq_len", "kv_len", "batch", "new_tokens")


def split_changes(changes: dict) -> tuple[dict, dict]:
    """(System changes, workload changes) of a point."""
    system = {k: v for k, v in changes.items() if k not in WORKLOAD_AXES}
    workload = {k: v for k, v in changes.items() if k in WORKLOAD_AXES}
    return system, workload


def axis_values(axes: Mapping[str, Sequence]) -> dict[str, list]:
    """The axes as lists of values (ConfigError naming a bad key, a non-list, an empty axis or repeats)."""
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
        for v in values:
            if isinstance(v, numbers.Real) and not math.isfinite(v):
                raise ConfigError(f"axes[{path!r}] value {describe(v)}: must be finite (not NaN or inf)")
        out[path] = list(values)
    if "network" in out:
        raise ConfigError("axes: 'network' is given by the networks argument, not as an axis")
    return out


def check_axes(system: System, axes: dict[str, list], zip_axes: Sequence[Sequence[str]] = ()) -> None:
    """Every value of every axis must make a valid System on its own, and every combination of a
    ``zip_axes`` group (its values applied at once: ``l2.line_bytes`` and ``l1d.line_bytes`` zipped
    may both grow past the base's line size) a valid System (ConfigError naming it)."""
    for a in WORKLOAD_AXES:
        for v in axes.get(a, ()):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ConfigError(f"axes[{a!r}] value {describe(v)}: must be an integer >= 1")
    if "kv_len" in axes and "new_tokens" in axes:
        raise ConfigError("axes: 'kv_len' (one decode step) and 'new_tokens' (a whole generation) exclude each "
                          "other; sweep seq_len with new_tokens")
    for group in _groups(axes, zip_axes):
        group = [a for a in group if a not in WORKLOAD_AXES]
        if not group:
            continue
        for values in zip(*(axes[a] for a in group)):
            changes = dict(zip(group, values))
            try:
                system.replace(**changes)
            except ConfigError as exc:
                if len(group) == 1:
                    raise ConfigError(f"axes[{group[0]!r}] value {describe(values[0])}: {exc}") from None
                raise ConfigError(f"zip_axes group {group} values {describe(list(values))}: {exc}") from None


def _groups(axes: dict[str, list], zip_axes: Sequence[Sequence[str]]) -> list[list[str]]:
    """The axes as groups that advance together: each ``zip_axes`` group, then every other axis alone."""
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
    return groups


def points(networks: Sequence[str], axes: dict[str, list], zip_axes: Sequence[Sequence[str]] = ()):
    """Every sweep point as (network, {path: value}), network-major; and the Dataset dims/coords.

    Returns (points, dims, groups) where dims lists the Dataset's dimensions (zipped groups become
    one dimension named after their first axis, the others as non-index coordinates).
    """
    groups = _groups(axes, zip_axes)
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


def axes_json(axes: dict[str, list]) -> dict[str, list[str]]:
    """The axes as recorded (the sweep definition, the Dataset's provenance): each value's repr."""
    return {k: [repr(v) for v in vals] for k, vals in axes.items()}


def definition(networks: list, base: dict, axes: dict[str, list], zip_axes, per_op: bool) -> str:
    """The sweep's identity, as its journal records it: a rerun resumes only a store of the same one.

    ``networks`` holds each network's identity (a zoo name, or what names a Graph or ONNX file)."""
    return json.dumps(
        {"networks": networks, "base": base, "axes": axes_json(axes),
         "zip_axes": [list(g) for g in zip_axes or ()], **({"per_op": True} if per_op else {})},
        sort_keys=True, default=str,
    )


def describe_point(pts, i: int) -> str:
    """Point ``i`` for a message: ``network='lenet5', interface='acp', ...``."""
    network, changes = pts[i]
    return ", ".join([f"network={network!r}"] + [f"{k}={v!r}" for k, v in changes.items()])


def system_of(base: dict, changes: dict) -> System:
    """The System of a point. Building one from its dictionary takes milliseconds, so the Systems
    are memoized (SIM_CACHE table "sweep_systems") on the base and the changes: every network of a
    sweep visits the same systems."""
    changes = split_changes(changes)[0]
    key = (json.dumps(base, sort_keys=True, default=repr), tuple((k, repr(v)) for k, v in changes.items()))

    def build() -> System:
        start = SIM_CACHE.get("sweep_systems", (key[0], ()), lambda: System.from_dict(base), 4096)
        return start.replace(**changes) if changes else start

    return SIM_CACHE.get("sweep_systems", key, build, 4096)
