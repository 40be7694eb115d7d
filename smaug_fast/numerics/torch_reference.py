"""The same network in PyTorch: an independent implementation to cross-check :func:`run_functional`.

Needs the ``[torch]`` extra (``pip install 'smaug-fast[torch]'``, a CPU build of torch 2.13). The
graph is translated op by op into ``torch.nn.functional`` calls on float32 tensors; 4-D activations
are kept in PyTorch's native NCHW order internally (so that PyTorch runs at its own best speed in the
benchmark) and converted back to the graph's layout for every value handed out.

>>> from smaug_fast import zoo, run_functional
>>> from smaug_fast.numerics.torch_reference import TorchNetwork
>>> g = zoo.load("lenet5", dtype="float32")
>>> outs, values = run_functional(g, return_intermediates=True)
>>> net = TorchNetwork(g, values)       # same weights, same inputs
>>> ref = net.run()                      # {output name: np.ndarray}
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..errors import WorkloadError
from ..workload import (
    Activation,
    BatchNorm,
    CacheAppend,
    Concat,
    Convolution,
    Eltwise,
    Graph,
    InnerProduct,
    Op,
    Padding,
    Pooling,
    Reorder,
    Repeat,
    Reshape,
    Split,
    Tensor,
)


def _import_torch():
    try:
        import torch
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("the PyTorch cross-check needs the [torch] extra: pip install 'smaug-fast[torch]'") from err
    return torch


class TorchNetwork:
    """``graph`` as PyTorch computations, with the constants and inputs taken from ``values``.

    ``values`` maps tensor names to NumPy arrays (``run_functional(..., return_intermediates=True)``
    gives one); constants are converted once, here. :meth:`run` computes every op in topological
    order and returns the graph's outputs (and optionally every tensor) as float32 NumPy arrays in the
    graph's layouts.
    """

    def __init__(self, graph: Graph, values: Mapping[str, np.ndarray]) -> None:
        self.torch = _import_torch()
        self.graph = graph
        self.order = graph.topological_order()
        self.inputs = {t.name: self._to_torch(t, values[t.name]) for t in graph.inputs}
        self.constants = {}
        for t in graph.constants:
            self.constants[t.name] = self._to_torch(t, values[t.name])
        # Weights in PyTorch's own order: conv K x C/g x R x S; batch-norm variance from 1/sqrt(var).
        torch = self.torch
        for op in self.order:
            if isinstance(op, Convolution) and op.inputs[0].layout == "NHWC":
                name = op.inputs[1].name
                self.constants[("oihw", name)] = torch.from_numpy(
                    np.ascontiguousarray(np.asarray(values[name], dtype=np.float32).transpose(0, 3, 1, 2))
                )
            if isinstance(op, BatchNorm):
                for t in op.inputs[1:]:
                    self.constants[("flat", t.name)] = torch.from_numpy(
                        np.asarray(values[t.name], dtype=np.float32).reshape(-1).copy()
                    )
                inv = np.asarray(values[op.inputs[2].name], dtype=np.float64).reshape(-1)
                self.constants[("bnvar", op.inputs[2].name)] = torch.from_numpy((1.0 / (inv * inv)).astype(np.float32))

    # -- conversions ---------------------------------------------------------------------------------

    @staticmethod
    def _nhwc(t: Tensor) -> bool:
        return t.layout == "NHWC" and t.rank == 4

    def _to_torch(self, t: Tensor, value: np.ndarray):
        torch = self.torch
        a = np.asarray(value)
        a = a.astype(np.float32) if a.dtype.kind == "f" else a
        if self._nhwc(t):
            a = a.transpose(0, 3, 1, 2)
        return torch.from_numpy(np.ascontiguousarray(a))

    def _to_numpy(self, t: Tensor, value) -> np.ndarray:
        a = value.detach().numpy()
        return np.ascontiguousarray(a.transpose(0, 2, 3, 1)) if self._nhwc(t) else a

    def _graph_order(self, t: Tensor, value):
        """A torch tensor in the graph's layout (NHWC values are held as NCHW internally)."""
        return value.permute(0, 2, 3, 1) if self._nhwc(t) else value

    def _internal(self, t: Tensor, value):
        return value.permute(0, 3, 1, 2).contiguous() if self._nhwc(t) else value.contiguous()

    # -- execution -----------------------------------------------------------------------------------

    def _activation(self, x, function: str | None, params: tuple[float, ...], channels_dim: int):
        F = self.torch.nn.functional
        if function is None:
            return x
        if function == "relu":
            return F.relu(x)
        if function == "lrelu":
            return F.leaky_relu(x, params[0])
        if function == "elu":
            return F.elu(x, params[0])
        if function == "selu":
            return params[1] * F.elu(x, params[0])
        if function == "tanh":
            return self.torch.tanh(x)
        if function == "hard_tanh":
            return F.hardtanh(x, params[0], params[1])
        if function == "sigmoid":
            return self.torch.sigmoid(x)
        if function == "softmax":
            return F.softmax(x, dim=channels_dim)
        raise WorkloadError(f"TorchNetwork: activation {function!r} has no PyTorch translation")

    def _op(self, op: Op, args: list):
        torch = self.torch
        F = torch.nn.functional
        x = args[0]
        t0 = op.inputs[0]
        # Softmax over the graph's last axis: channels for NHWC (dim 1 internally), else the last dim.
        last = 1 if self._nhwc(op.outputs[0]) else -1
        if isinstance(op, Convolution):
            w = self.constants.get(("oihw", op.inputs[1].name), args[1])
            t, b, left, right = op.pads
            if t == b and left == right:
                y = F.conv2d(x, w, None, op.stride, (t, left), 1, op.groups)
            else:
                y = F.conv2d(F.pad(x, (left, right, t, b)), w, None, op.stride, 0, 1, op.groups)
            return [self._activation(y, op.activation, op.activation_params, last)]
        if isinstance(op, InnerProduct):
            return [self._activation(F.linear(x, args[1]), op.activation, op.activation_params, last)]
        if isinstance(op, Pooling):
            t, b, left, right = op.pads
            symmetric = t == b and left == right
            if op.mode == "max":
                if symmetric:
                    return [F.max_pool2d(x, op.pool_size, op.stride, (t, left))]
                x = F.pad(x, (left, right, t, b), value=-float("inf"))
                return [F.max_pool2d(x, op.pool_size, op.stride)]
            if symmetric:
                return [F.avg_pool2d(x, op.pool_size, op.stride, (t, left), count_include_pad=True)]
            return [F.avg_pool2d(F.pad(x, (left, right, t, b)), op.pool_size, op.stride)]
        if isinstance(op, BatchNorm):
            mean, inv, gamma, beta = (self.constants[("flat", t.name)] for t in op.inputs[1:])
            var = self.constants[("bnvar", op.inputs[2].name)]
            # eps = 0: the variance above was recovered from SMAUG's 1/sqrt(var + eps) input.
            y = F.batch_norm(x, mean, var, gamma, beta, training=False, eps=0.0)
            return [self._activation(y, op.activation, op.activation_params, last)]
        if isinstance(op, Activation):
            return [self._activation(x, op.function, op.activation_params, last)]
        if isinstance(op, Eltwise):
            a, b = (self._graph_order(t, v) for t, v in zip(op.inputs, args))
            fn = {"add": torch.add, "mul": torch.mul, "less": torch.lt, "less_equal": torch.le,
                  "greater": torch.gt, "greater_equal": torch.ge}[op.function]
            return [self._internal(op.outputs[0], fn(a, b))]
        # Data movement: in the graph's layout.
        g = [self._graph_order(t, v) for t, v in zip(op.inputs, args)]
        if isinstance(op, (Concat, CacheAppend)):  # an append has a concatenation's values
            out = [torch.cat(g, dim=op.axis)]
        elif isinstance(op, Split):
            out = list(torch.split(g[0], list(op.sizes), dim=op.axis))
        elif isinstance(op, Reshape):
            out = [g[0].reshape(op.shape)]
        elif isinstance(op, Reorder):
            if op.is_flatten:
                out = [g[0].reshape(t0.shape[0], -1)]
            else:
                perm = [t0.layout.index(letter) for letter in op.target]
                out = [g[0].permute(*perm)]
        elif isinstance(op, Repeat):
            out = [g[0].repeat(*op.multiples)]
        elif isinstance(op, Padding):
            flat = []
            for i in range(len(op.pads) // 2 - 1, -1, -1):  # F.pad lists the last dimension first
                flat += [op.pads[2 * i], op.pads[2 * i + 1]]
            out = [F.pad(g[0], flat)]
        else:
            raise WorkloadError(f"TorchNetwork: op {op.name!r} ({type(op).__name__}) has no PyTorch translation")
        return [self._internal(t, v) for t, v in zip(op.outputs, out)]

    def forward(self, keep_all: bool = False) -> dict:
        """Run the graph; returns torch tensors (internal order) of the outputs, or of every tensor."""
        live = {**self.inputs, **{k: v for k, v in self.constants.items() if isinstance(k, str)}}
        with self.torch.inference_mode():
            for op in self.order:
                results = self._op(op, [live[t.name] for t in op.inputs])
                for t, v in zip(op.outputs, results):
                    live[t.name] = v
        return live if keep_all else {t.name: live[t.name] for t in self.graph.outputs}

    def run(self, return_intermediates: bool = False):
        """Run the graph; ``{output name: float32 array}`` (graph layouts), or (outputs, every tensor)."""
        live = self.forward(keep_all=return_intermediates)
        tensors = self.graph.tensors
        if not return_intermediates:
            return {name: self._to_numpy(tensors[name], v) for name, v in live.items()}
        every = {name: self._to_numpy(tensors[name], v) for name, v in live.items() if isinstance(name, str)}
        return {t.name: every[t.name] for t in self.graph.outputs}, every
