"""A sweep's networks: what the ``networks`` argument names, checked, and each one's graph."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConfigError
from ..memo import SIM_CACHE


@dataclass(frozen=True)
class Network:
    """One network of a sweep: ``name`` (its ``network`` coordinate), ``key`` (its identity in the
    sweep definition that a journal records) and ``source`` (what a worker builds its graph from:
    a zoo name)."""

    name: str
    key: object
    source: object

    @property
    def graph(self):
        return graph_of(self.source)


def resolve(networks: str | Sequence[str]) -> list[Network]:
    """The networks of a sweep (WorkloadError for an unknown zoo name, ConfigError for none or repeats)."""
    from .. import zoo

    if isinstance(networks, str):
        networks = [networks]
    networks = list(networks)
    if not networks:
        raise ConfigError("networks: empty (give at least one zoo network)")
    for n in networks:
        zoo.info(n)  # WorkloadError listing the valid names
    if len(set(networks)) != len(networks):
        raise ConfigError(f"networks = {networks}: names repeat")
    return [Network(n, n, n) for n in networks]


def graph_of(source):
    """The graph of a network's source (a zoo network's name), built once per process (SIM_CACHE)."""
    from .. import zoo

    return SIM_CACHE.get("sweep_graphs", source, lambda: zoo.load(source), 64)
