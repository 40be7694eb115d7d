"""Element-wise binary operators with NumPy broadcasting (SMAUG's ``sg.math``)."""

from __future__ import annotations

from .core import Eltwise, Tensor
from .graph import current_graph


def _eltwise(function: str, a: Tensor, b: Tensor, name: str | None) -> Tensor:
    return current_graph().add(Eltwise, [a, b], name=name, function=function).output


def add(a: Tensor, b: Tensor, *, name: str | None = None) -> Tensor:
    """a + b."""
    return _eltwise("add", a, b, name)


def mul(a: Tensor, b: Tensor, *, name: str | None = None) -> Tensor:
    """a * b."""
    return _eltwise("mul", a, b, name)


def less(a: Tensor, b: Tensor, *, name: str | None = None) -> Tensor:
    """a < b (bool)."""
    return _eltwise("less", a, b, name)


def less_equal(a: Tensor, b: Tensor, *, name: str | None = None) -> Tensor:
    """a <= b (bool)."""
    return _eltwise("less_equal", a, b, name)


def greater(a: Tensor, b: Tensor, *, name: str | None = None) -> Tensor:
    """a > b (bool)."""
    return _eltwise("greater", a, b, name)


def greater_equal(a: Tensor, b: Tensor, *, name: str | None = None) -> Tensor:
    """a >= b (bool)."""
    return _eltwise("greater_equal", a, b, name)
