"""A sweep's networks: zoo names, ``Graph`` objects and ``.onnx`` paths, checked, named and built.

Each becomes a :class:`Network`: its ``network`` coordinate (the zoo name, ``graph.name`` or the
file's stem), its identity in the sweep definition that a journal records (the zoo name; a graph's
name and the digest of its ops; an ONNX file's absolute path and the digest of its bytes) and the
source a worker builds its graph from (the zoo name, or a :class:`GraphSource` that carries the
graph's ops to worker processes without its weights).
"""

from __future__ import annotations

import copy
import hashlib
import os
import pickle
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import ConfigError, WorkloadError, describe
from ..memo import SIM_CACHE
from ..workload import Graph


@dataclass(frozen=True)
class Network:
    """One network of a sweep: ``name`` (its ``network`` coordinate), ``what`` (it, for messages),
    ``key`` (its identity in the sweep definition) and ``source`` (what a worker builds its graph
    from: a zoo name or a :class:`GraphSource`)."""

    name: str
    what: str
    key: object
    source: object

    @property
    def graph(self) -> Graph:
        return graph_of(self.source)


class GraphSource:
    """A user graph as a sweep's workers receive it: ``key`` = (name, digest of its ops) and the graph.

    Pickled (to reach a worker process), it carries the graph without ``constant_values`` (weights,
    which ``simulate`` does not read), and the receiving process keeps the first graph of each key,
    so that the chunks of one network share one graph (and the memoized work keyed by its ops).
    """

    __slots__ = ("key", "graph")

    def __init__(self, key: tuple[str, str], graph: Graph) -> None:
        self.key = key
        self.graph = graph

    def __reduce__(self):
        light = copy.copy(self.graph)  # a shallow copy, pickled at once: nothing of it is kept
        light.constant_values = {}
        return (_arrived, (self.key, light))


def _arrived(key: tuple[str, str], graph: Graph) -> GraphSource:
    """A GraphSource unpickled: the first graph of its key that this process received (SIM_CACHE)."""
    return GraphSource(key, SIM_CACHE.get("sweep_received_graphs", key, lambda: graph, 16))


@dataclass(frozen=True)
class TransformerSource:
    """A shipped transformer config (:func:`smaug_fast.zoo.transformer_configs`) as a sweep network: its
    graph depends on the point's workload axes (``seq_len``, ``kv_len``, ``batch``, ``weight_dtype``,
    ``batch_matmul``)."""

    config: str


def ops_digest(graph: Graph) -> str:
    """SHA-256 of the graph's ops in topological order (every op's type, tensors and parameters)."""
    return hashlib.sha256(repr(tuple(graph.topological_order())).encode()).hexdigest()


def _file_digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _one(value, where: str) -> Network:
    """The Network of one item of the ``networks`` argument (WorkloadError naming a bad one)."""
    from .. import zoo

    if isinstance(value, Graph):
        digest = ops_digest(value)
        return Network(value.name, f"Graph {value.name!r}", {"graph": value.name, "ops_sha256": digest},
                       GraphSource((value.name, digest), value))
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)  # zoo networks and shipped transformer configs (gpt2, tinyllama-1.1b) by name
        if isinstance(path, str) and path.lower().endswith(".onnx"):
            return _onnx(path, where)
        if isinstance(value, str) and value in zoo.transformer_configs():
            return Network(value, f"transformer {value!r}", {"transformer": value}, TransformerSource(value))
        if isinstance(value, str):
            zoo.info(value)  # WorkloadError listing the valid names
            return Network(value, f"zoo network {value!r}", value, value)
    raise WorkloadError(f"{where} = {describe(value)}: must be a zoo network name, a smaug_fast Graph or the "
                        "path of an .onnx file")


def _onnx(path: str, where: str) -> Network:
    from ..workload import from_onnx

    if not os.path.isfile(path):
        raise WorkloadError(f"{where} = {path!r}: no such ONNX file")
    graph = from_onnx(path)  # WorkloadError naming the file if it is not a model we can import
    name = os.path.splitext(os.path.basename(path))[0]
    key = {"onnx": os.path.abspath(path), "sha256": _file_digest(path)}
    return Network(name, f"ONNX file {path!r}", key, GraphSource((name, ops_digest(graph)), graph))


def resolve(networks) -> list[Network]:
    """The networks of a sweep: one or a list of zoo names, Graphs and ``.onnx`` paths.

    WorkloadError naming a value that is none of them (or an unknown zoo name, a missing or bad
    ONNX file); ConfigError for none, or for two with one name (the ``network`` coordinate)."""
    single = (isinstance(networks, (str, os.PathLike, Graph)) or not isinstance(networks, Iterable)
              or hasattr(networks, "topological_order"))  # a graph-like object: named, not iterated
    items = [networks] if single else list(networks)
    if not items:
        raise ConfigError("networks: empty (give at least one zoo network, Graph or .onnx path)")
    out = [_one(v, "networks" if single else f"networks[{i}]") for i, v in enumerate(items)]
    seen: dict[str, Network] = {}
    for n in out:
        if n.name in seen:
            raise ConfigError(f"networks: {seen[n.name].what} and {n.what} are both named {n.name!r} (the network "
                              "coordinate): names repeat")
        seen[n.name] = n
    return out


def check_picklable(networks: list[Network]) -> None:
    """WorkloadError naming a Graph that cannot be sent to worker processes (say, one whose op type
    is defined inside a function)."""
    for n in networks:
        if isinstance(n.source, GraphSource):
            try:
                pickle.dumps(n.source)
            except Exception as exc:  # noqa: BLE001 -- pickle raises several types
                raise WorkloadError(f"networks: {n.what} cannot be sent to worker processes ({type(exc).__name__}: "
                                    f"{exc}); sweep it with executor='serial'") from None


def graph_of(source, workload: dict | None = None) -> Graph:
    """The graph of a network's source: a zoo network's name or a transformer config (built once per
    process and workload, SIM_CACHE) or a GraphSource. ``workload``: the point's workload axes
    (:data:`~smaug_fast.sweeps.spec.WORKLOAD_AXES` but ``new_tokens``)."""
    if isinstance(source, GraphSource):
        return source.graph
    from .. import zoo

    workload = workload or {}
    key = (source, tuple(sorted(workload.items())))
    if isinstance(source, TransformerSource):
        phase = "decode" if "kv_len" in workload else "prefill"
        return SIM_CACHE.get("sweep_graphs", key, lambda: zoo.transformer(
            source.config, phase, seq_len=workload.get("seq_len"), kv_len=workload.get("kv_len"),
            batch=workload.get("batch", 1), weight_dtype=workload.get("weight_dtype"),
            batch_matmul=workload.get("batch_matmul", "fused")), 64)
    return SIM_CACHE.get("sweep_graphs", key, lambda: zoo.load(source, batch=workload.get("batch", 1)), 64)


def generation_of(source: TransformerSource, system, workload: dict):
    """The :class:`~smaug_fast.sim.generation.GenerationResult` of a sweep point with a ``new_tokens``
    axis: :func:`smaug_fast.simulate_generation` of the config with ``prompt_len = seq_len`` (default
    128 [tokens]) and the point's ``batch``, ``weight_dtype`` and ``batch_matmul``."""
    from ..sim.generation import simulate_generation

    return simulate_generation(source.config, system, prompt_len=workload.get("seq_len", 128),
                               new_tokens=workload["new_tokens"], batch=workload.get("batch", 1),
                               weight_dtype=workload.get("weight_dtype"),
                               batch_matmul=workload.get("batch_matmul", "fused"))


def check_workload_axes(networks: list[Network], axes: dict, per_op: bool) -> None:
    """ConfigError naming a workload axis a network cannot take (transformer lengths or options on a
    CNN, a batch on a Graph or ONNX file), or per-op
    values of a sweep whose graphs change along an axis.

    A generation point (``new_tokens``) takes every option axis through :func:`generation_of`."""
    from .spec import WORKLOAD_AXES

    for a in (a for a in WORKLOAD_AXES if a in axes):
        for n in networks:
            if isinstance(n.source, GraphSource) or (a != "batch" and not isinstance(n.source, TransformerSource)):
                raise ConfigError(f"axes[{a!r}]: {n.what} takes no {a} (a transformer config such as "
                                  "'tinyllama-1.1b' does; batch applies to zoo networks too)")
        if per_op:
            raise ConfigError(f"axes[{a!r}]: per_op=True needs one graph per network; the ops change along {a}")
