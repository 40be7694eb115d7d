"""The matrix multiplications of a graph, as the GEMM accelerator simulators take them.

SCALE-Sim's GEMM topologies (``Layer, M, N, K``), Timeloop's and ZigZag's GEMM workloads list a
network as matrix products; :func:`gemms` gives a graph's in that form, so a transformer built here
can be checked against such a list (``validation/scalesim/gpt2_layer.py``) or handed to those tools.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .core import Attention, BatchMatMul, InnerProduct
from .graph import Graph


@dataclass(frozen=True)
class Gemm:
    """One matrix product ``(M x K) @ (K x N)``, repeated ``batch`` times (per head, per batch item).

    Attributes:
        name: the op's name.
        m: rows of the left operand and of the result (tokens x batch for a linear layer).
        n: columns of the result (output features; keys for attention scores).
        k: the reduced dimension (input features; head size for attention scores).
        batch: independent products of this shape (batched matmul: the product of its batch dims).
    """

    name: str
    m: int
    n: int
    k: int
    batch: int = 1

    @property
    def macs(self) -> int:
        """Multiply-accumulates of all ``batch`` products."""
        return self.batch * self.m * self.n * self.k


def gemms(graph: Graph) -> list[Gemm]:
    """Every inner product (a linear layer: ``x @ W^T``) and batched matmul of ``graph``, in graph order;
    a fused attention op as its two products, ``<name>/scores`` (Q K^T) and ``<name>/context`` (P V),
    one per query head (grouped KV heads are read by several)."""
    out = []
    for op in graph.ops:
        if isinstance(op, InnerProduct):
            x, w = op.inputs[0], op.inputs[1]
            out.append(Gemm(op.name, x.shape[0], w.shape[0], x.shape[1]))
        elif isinstance(op, BatchMatMul):
            a, b = op.inputs[0], op.inputs[1]
            n = b.shape[-2] if op.transpose_b else b.shape[-1]
            out.append(Gemm(op.name, a.shape[-2], n, a.shape[-1], math.prod(a.shape[:-2])))
        elif isinstance(op, Attention):
            q, k, v = op.inputs
            heads = math.prod(q.shape[:-2])
            out.append(Gemm(f"{op.name}/scores", q.shape[-2], k.shape[-2], q.shape[-1], heads))
            out.append(Gemm(f"{op.name}/context", q.shape[-2], v.shape[-1], k.shape[-2], heads))
    return out


__all__ = ["Gemm", "gemms"]
