"""The graph: operators over tensors, built in SMAUG's ``with Graph(...)`` style.

::

    from smaug_fast import Graph, nn, tensor

    with Graph("tiny", dtype="float16", layout="NHWC") as g:
        x = g.input((1, 28, 28, 1), name="image")
        x = nn.convolution(x, 32, 3, padding="valid", activation="relu")
        x = nn.max_pool(x, 2, 2)
        x = nn.mat_mul(tensor.flatten(x), 10)
    for op in g.topological_order():
        print(op.name, op.kind, op.macs)

Builder functions (``nn``, ``math``, ``tensor``) add operators to the graph of the innermost active
``with`` block. Graphs can also be assembled from a list of operators (:meth:`Graph.from_ops`), which
checks names, producers and cycles.
"""

from __future__ import annotations

import contextvars
import dataclasses
import heapq
from collections.abc import Iterable, Iterator

from ..errors import WorkloadError, describe
from .core import DTYPES, LAYOUTS, Op, Tensor, _check_activation, smaug_type

_ACTIVE: contextvars.ContextVar[list[Graph]] = contextvars.ContextVar("smaug_fast_graphs")


def current_graph() -> Graph:
    """The graph of the innermost active ``with Graph(...)`` block."""
    stack = _ACTIVE.get(None)
    if not stack:
        raise WorkloadError("no active graph: build operators inside `with Graph(...) as g:`")
    return stack[-1]


class Graph:
    """A dataflow graph of operators over tensors.

    ``dtype`` and ``layout`` are the defaults for tensors created without one (SMAUG's SMV backend:
    float16, NHWC; its Reference backend: float32, NCHW).
    """

    def __init__(self, name: str = "graph", *, dtype: str = "float16", layout: str = "NHWC") -> None:
        if not isinstance(name, str) or not name:
            raise WorkloadError(f"graph name = {describe(name)}: must be a non-empty string")
        if dtype not in DTYPES:
            raise WorkloadError(f"graph {name!r}: dtype = {describe(dtype)}: unknown; valid: {', '.join(DTYPES)}")
        if layout not in LAYOUTS:
            raise WorkloadError(f"graph {name!r}: layout = {describe(layout)}: unknown; valid: {', '.join(LAYOUTS)}")
        self.name = name
        self.dtype = dtype
        self.layout = layout
        self._ops: list[Op] = []
        self._op_names: set[str] = set()
        self._tensors: dict[str, Tensor] = {}
        self._producer: dict[str, Op] = {}
        self._sources: list[Tensor] = []
        self._counters: dict[str, int] = {}
        self._order: list[Op] | None = None
        self._key: OpsKey | None = None
        #: Values of constant tensors where known (ONNX initializers), keyed by tensor name, each an
        #: array of the tensor's shape in its layout; functional execution reads weights from here.
        self.constant_values: dict[str, object] = {}
        #: Names of constant tensors that are persistent state rather than parameters (a transformer's
        #: KV cache): resident in memory across runs, read like weights, not counted by num_params.
        self.state_tensors: set[str] = set()

    # -- context manager ---------------------------------------------------------------------------

    def __enter__(self) -> Graph:
        stack = list(_ACTIVE.get(None) or [])
        stack.append(self)
        self._token = _ACTIVE.set(stack)
        return self

    def __exit__(self, *exc) -> None:
        _ACTIVE.reset(self._token)

    def __getstate__(self) -> dict:
        # the token of a ``with`` block (a contextvars.Token) cannot be pickled and means nothing in
        # another process: a pickled graph (e.g. sent to a sweep's worker process) is not active
        state = self.__dict__.copy()
        state.pop("_token", None)
        return state

    # -- naming ------------------------------------------------------------------------------------

    def unique_name(self, base: str) -> str:
        """``base``, or ``base_1``, ``base_2``... if taken (SMAUG's naming of unnamed ops)."""
        if base not in self._op_names and base not in self._tensors:
            return base
        k = self._counters.get(base, 0)
        while True:
            k += 1
            candidate = f"{base}_{k}"
            if candidate not in self._op_names and candidate not in self._tensors:
                self._counters[base] = k
                return candidate

    # -- sources -----------------------------------------------------------------------------------

    def _add_source(self, tensor: Tensor) -> Tensor:
        if tensor.name in self._tensors:
            raise WorkloadError(f"graph {self.name!r}: duplicate tensor name {tensor.name!r}")
        self._tensors[tensor.name] = tensor
        self._sources.append(tensor)
        self._order = self._key = None
        return tensor

    def input(self, shape, *, name: str | None = None, layout: str | None = None, dtype: str | None = None) -> Tensor:
        """A graph input (activations supplied at run time)."""
        name = name or self.unique_name("input")
        return self._add_source(Tensor(name, tuple(shape), layout or self._default_layout(shape), dtype or self.dtype))

    def constant(self, shape, *, name: str | None = None, layout: str | None = None, dtype: str | None = None) -> Tensor:
        """A constant tensor (weights, parameters, constant states): SMAUG's Data node."""
        name = name or self.unique_name("data")
        return self._add_source(
            Tensor(name, tuple(shape), layout or self._default_layout(shape), dtype or self.dtype, constant=True)
        )

    def _default_layout(self, shape) -> str:
        rank = len(tuple(shape))
        if LAYOUTS.get(self.layout) == rank:
            return self.layout
        return {1: "N", 2: "NC", 3: "NTC", 4: "NHWC"}.get(rank, "X")

    # -- operators ---------------------------------------------------------------------------------

    def add(self, op_class: type[Op], inputs: Iterable[Tensor], *, name: str | None = None, **params) -> Op:
        """Create an operator of ``op_class`` on ``inputs``, infer its outputs and add it."""
        inputs = tuple(inputs)
        base = name or _default_name(op_class, params)
        op_name = base if name else self.unique_name(base)
        for i, t in enumerate(inputs):
            if not isinstance(t, Tensor):
                raise WorkloadError(f"op {op_name!r}: inputs[{i}] = {describe(t)}: not a Tensor")
        op = op_class(name=op_name, inputs=inputs, **params)
        return self.add_op(op)

    def add_op(self, op: Op) -> Op:
        """Add a constructed operator: infer (or check) its outputs and register them.

        Inputs must already be tensors of this graph (produced by an earlier op, or a source).
        """
        if op.name in self._op_names:
            raise WorkloadError(f"graph {self.name!r}: duplicate op name {op.name!r}")
        for i, t in enumerate(op.inputs):
            known = self._tensors.get(t.name)
            if known is None:
                raise WorkloadError(f"op {op.name!r}: inputs[{i}] is tensor {t.name!r}, which is not in graph {self.name!r}")
            if known != t:
                raise WorkloadError(f"op {op.name!r}: inputs[{i}] {t} differs from the graph's tensor {known}")
        op = self._complete(op)
        for t in op.outputs:
            if t.name in self._tensors:
                raise WorkloadError(f"op {op.name!r}: output name {t.name!r} is already a tensor of graph {self.name!r}")
        for t in op.outputs:
            self._tensors[t.name] = t
            self._producer[t.name] = op
        self._ops.append(op)
        self._op_names.add(op.name)
        self._order = self._key = None
        return op

    @staticmethod
    def _complete(op: Op) -> Op:
        """Normalize fused-activation parameters and attach inferred outputs (or check given ones)."""
        if hasattr(op, "activation"):
            filled = _check_activation(op, op.activation, op.activation_params)
            op = dataclasses.replace(op, activation_params=filled)
        elif hasattr(op, "function") and hasattr(op, "activation_params"):
            filled = _check_activation(op, op.function, op.activation_params)
            op = dataclasses.replace(op, activation_params=filled)
        specs = op.infer()
        names = [op.name] if len(specs) == 1 else [f"{op.name}:{i}" for i in range(len(specs))]
        outputs = tuple(Tensor(n, s.shape, s.layout, s.dtype) for n, s in zip(names, specs))
        if op.outputs:
            if len(op.outputs) != len(outputs) or any(
                (a.shape, a.layout, a.dtype) != (b.shape, b.layout, b.dtype) for a, b in zip(op.outputs, outputs)
            ):
                raise WorkloadError(
                    f"op {op.name!r}: outputs {[t.shape for t in op.outputs]} do not match the inferred "
                    f"{[t.shape for t in outputs]}"
                )
            return op
        return dataclasses.replace(op, outputs=outputs)

    @classmethod
    def from_ops(cls, name: str, sources: Iterable[Tensor], ops: Iterable[Op], **kwargs) -> Graph:
        """Assemble a graph from source tensors and operators given in any order.

        Raises WorkloadError for duplicate names, inputs nobody produces, and cycles.
        """
        graph = cls(name, **kwargs)
        for t in sources:
            graph._add_source(t)
        pending = list(ops)
        names = [op.name for op in pending]
        seen: set[str] = set()
        for n in names:
            if n in seen:
                raise WorkloadError(f"graph {name!r}: duplicate op name {n!r}")
            seen.add(n)
        produced_by = {t.name: op for op in pending for t in op.outputs}
        for op in pending:
            for i, t in enumerate(op.inputs):
                if t.name not in graph._tensors and t.name not in produced_by:
                    raise WorkloadError(f"op {op.name!r}: inputs[{i}] {t.name!r} is neither a source nor an op output")
        order = _kahn(pending, produced_by)
        for op in order:
            graph.add_op(op)
        return graph

    # -- queries -----------------------------------------------------------------------------------

    @property
    def ops(self) -> tuple[Op, ...]:
        """Operators in the order they were added (a topological order for built graphs)."""
        return tuple(self._ops)

    def topological_order(self) -> list[Op]:
        """Operators in a topological order (insertion order among independent ops)."""
        if self._order is None:
            self._order = _kahn(self._ops, self._producer)
        return list(self._order)

    def ops_key(self) -> OpsKey:
        """The ops in topological order as one hashable value, equal for graphs of equal ops (names
        included; not the graph's own name): what the simulator's memos are keyed by. Kept until the
        graph changes, so its hash is computed once (hashing every op of ResNet50 takes milliseconds)."""
        if self._key is None:
            self._key = OpsKey(tuple(self.topological_order()))
        return self._key

    def __iter__(self) -> Iterator[Op]:
        return iter(self.topological_order())

    def __len__(self) -> int:
        return len(self._ops)

    def op(self, name: str) -> Op:
        for op in self._ops:
            if op.name == name:
                return op
        raise WorkloadError(f"graph {self.name!r} has no op {name!r}")

    def tensor(self, name: str) -> Tensor:
        try:
            return self._tensors[name]
        except KeyError:
            raise WorkloadError(f"graph {self.name!r} has no tensor {name!r}") from None

    def producer(self, tensor: Tensor | str) -> Op | None:
        """The op producing a tensor, or None for sources."""
        return self._producer.get(tensor if isinstance(tensor, str) else tensor.name)

    def consumers(self, tensor: Tensor | str) -> list[Op]:
        name = tensor if isinstance(tensor, str) else tensor.name
        return [op for op in self._ops if any(t.name == name for t in op.inputs)]

    @property
    def tensors(self) -> dict[str, Tensor]:
        return dict(self._tensors)

    @property
    def inputs(self) -> tuple[Tensor, ...]:
        """Graph inputs: source tensors that are not constants."""
        return tuple(t for t in self._sources if not t.constant)

    @property
    def constants(self) -> tuple[Tensor, ...]:
        return tuple(t for t in self._sources if t.constant)

    @property
    def outputs(self) -> tuple[Tensor, ...]:
        """Op outputs that no op consumes."""
        consumed = {t.name for op in self._ops for t in op.inputs}
        return tuple(t for op in self._ops for t in op.outputs if t.name not in consumed)

    @property
    def macs(self) -> int:
        return sum(op.macs for op in self._ops)

    @property
    def flops(self) -> int:
        """Floating-point operations of the multiply-accumulates [FLOP]: 2 per MAC (convolutions, inner
        products, batched matmuls). Element-wise ops (norms, activations, softmax, adds) are not
        counted, as in the usual 2 x parameters per token of a transformer (Kaplan et al., "Scaling
        laws for neural language models", 2020, Table 1)."""
        return 2 * self.macs

    def weight_tensors(self) -> tuple[Tensor, ...]:
        """Unique weight tensors (shared weights, as in an unrolled LSTM, counted once)."""
        seen: dict[str, Tensor] = {}
        for op in self._ops:
            for t in op.weights:
                seen.setdefault(t.name, t)
        return tuple(seen.values())

    @property
    def num_params(self) -> int:
        """Parameter count: the elements of every constant tensor (each once), less the persistent
        state tensors (``state_tensors``, e.g. a KV cache)."""
        state = getattr(self, "state_tensors", set())
        return sum(t.size for t in self.constants if t.name not in state)

    @property
    def weight_elems(self) -> int:
        return sum(t.size for t in self.weight_tensors())

    @property
    def weight_bytes(self) -> int:
        """Parameter bytes [B] (unique weight tensors)."""
        return sum(t.nbytes for t in self.weight_tensors())

    def summary(self) -> str:
        """A table of the operators: name, type, output shape, MACs, weight bytes."""
        rows = [("op", "type", "output", "MACs", "weights [B]")]
        for op in self.topological_order():
            shapes = ", ".join("x".join(map(str, t.shape)) for t in op.outputs)
            rows.append((op.name, smaug_type(op), shapes, f"{op.macs:,}", f"{op.weight_bytes:,}"))
        rows.append(("total", f"{len(self._ops)} ops", "", f"{self.macs:,}", f"{self.weight_bytes:,}"))
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = ["  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        return f"graph {self.name!r} ({self.dtype}, {self.layout})\n" + "\n".join(lines)

    def __repr__(self) -> str:
        return f"Graph({self.name!r}, {len(self._ops)} ops, {self.macs:,} MACs)"


class OpsKey:
    """A tuple of ops with its hash computed once (see :meth:`Graph.ops_key`)."""

    __slots__ = ("ops", "_hash")

    def __init__(self, ops: tuple[Op, ...]) -> None:
        self.ops = ops
        self._hash = hash(ops)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other) -> bool:
        if self is other:
            return True
        if not isinstance(other, OpsKey) or self._hash != other._hash:
            return False
        return self.ops is other.ops or self.ops == other.ops

    def __len__(self) -> int:
        return len(self.ops)

    def __reduce__(self):
        # rebuilt, not copied: str hashes are salted per process, so the hash is the new process's own
        return (OpsKey, (self.ops,))

    def __repr__(self) -> str:
        return f"OpsKey({len(self.ops)} ops)"


def _default_name(op_class: type[Op], params: dict) -> str:
    """SMAUG-style base name of an unnamed op: the activation/eltwise function or the class's name."""
    if "function" in params:
        return str(params["function"])
    return op_class.default_name


def _kahn(ops: list[Op], produced_by: dict[str, Op]) -> list[Op]:
    """Topological sort (Kahn's algorithm, stable in the given order); a cycle is a WorkloadError."""
    index = {op.name: i for i, op in enumerate(ops)}
    deps: dict[str, set[str]] = {}
    users: dict[str, list[str]] = {op.name: [] for op in ops}
    for op in ops:
        d = {produced_by[t.name].name for t in op.inputs if t.name in produced_by}
        deps[op.name] = d
        for p in d:
            users[p].append(op.name)
    ready = sorted((n for n, d in deps.items() if not d), key=index.__getitem__)
    order: list[Op] = []
    heap = [(index[n], n) for n in ready]
    heapq.heapify(heap)
    remaining = {n: len(d) for n, d in deps.items()}
    while heap:
        _, n = heapq.heappop(heap)
        order.append(ops[index[n]])
        for u in users[n]:
            remaining[u] -= 1
            if remaining[u] == 0:
                heapq.heappush(heap, (index[u], u))
    if len(order) != len(ops):
        stuck = sorted((n for n, r in remaining.items() if r > 0), key=index.__getitem__)
        raise WorkloadError(f"cycle in the graph among ops {stuck}")
    return order
