"""Data-movement operators (SMAUG's ``sg.tensor``): reorder, flatten, concat, split, reshape, ...

Composite operators expand into primitives as SMAUG does: ``flatten`` is a reorder to NC,
``expand_dims``/``squeeze`` are reshapes, ``unstack`` is a split followed by squeezes and ``stack``
is expand_dims followed by a concat.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import WorkloadError, describe
from .core import CacheAppend, Concat, Padding, Reorder, Repeat, Reshape, Split, Tensor
from .graph import current_graph

_RANK_LAYOUT = {1: "N", 2: "NC", 3: "NTC", 4: "NHWC"}


def reorder(x: Tensor, layout: str, *, name: str | None = None) -> Tensor:
    """Change the layout (NCHW <-> NHWC, NC <-> CN, NTC <-> NCT) or flatten a 4-D tensor to NC."""
    return current_graph().add(Reorder, [x], name=name, target=layout).output


def flatten(x: Tensor, *, name: str | None = None) -> Tensor:
    """Flatten N x ... to N x (rest) in the source layout's order (a Reorder to NC, as in SMAUG)."""
    if x.rank == 2:
        return x
    if x.rank != 4:
        return reshape(x, (x.shape[0], x.size // x.shape[0]), "NC", name=name or "flatten")
    return reorder(x, "NC", name=name)


def reshape(x: Tensor, shape: Sequence[int], layout: str | None = None, *, name: str | None = None) -> Tensor:
    """Same elements in row-major order, new shape; the layout defaults by rank (NC, NTC, NHWC...)."""
    shape = tuple(shape)
    if layout is None:
        layout = x.layout if x.rank == len(shape) else _RANK_LAYOUT.get(len(shape), "X")
    return current_graph().add(Reshape, [x], name=name, shape=shape, layout=layout).output


def expand_dims(x: Tensor, axis: int, *, name: str | None = None) -> Tensor:
    """Insert a dimension of size 1 at ``axis`` (a reshape)."""
    rank = x.rank + 1
    if not -rank <= axis < rank:
        raise WorkloadError(f"expand_dims of {x.name!r}: axis = {describe(axis)}: out of range for rank {rank}")
    axis %= rank
    shape = x.shape[:axis] + (1,) + x.shape[axis:]
    return reshape(x, shape, name=name or "expand_dims")


def squeeze(x: Tensor, axis: int, *, name: str | None = None) -> Tensor:
    """Remove the size-1 dimension ``axis`` (a reshape)."""
    if not -x.rank <= axis < x.rank:
        raise WorkloadError(f"squeeze of {x.name!r}: axis = {describe(axis)}: out of range for rank {x.rank}")
    axis %= x.rank
    if x.shape[axis] != 1:
        raise WorkloadError(f"squeeze of {x.name!r}: axis = {axis}: has size {x.shape[axis]}, not 1")
    return reshape(x, x.shape[:axis] + x.shape[axis + 1 :], name=name or "squeeze")


def concat(tensors: Sequence[Tensor], axis: int, *, name: str | None = None) -> Tensor:
    """Concatenate along ``axis``."""
    return current_graph().add(Concat, list(tensors), name=name, axis=axis).output


def cache_append(cache: Tensor, new: Tensor, axis: int, *, name: str | None = None) -> Tensor:
    """``new`` appended to the persistent ``cache`` along ``axis``, in the cache's storage: only the new
    rows are written (:class:`~smaug_fast.workload.core.CacheAppend`)."""
    return current_graph().add(CacheAppend, [cache, new], name=name, axis=axis).output


def split(x: Tensor, num_or_sizes: int | Sequence[int], axis: int = 0, *, name: str | None = None) -> list[Tensor]:
    """Split along ``axis`` into ``num`` equal pieces or pieces of the given sizes."""
    if not -x.rank <= axis < x.rank:
        raise WorkloadError(f"split of {x.name!r}: axis = {describe(axis)}: out of range for rank {x.rank}")
    extent = x.shape[axis % x.rank]
    if isinstance(num_or_sizes, int) and not isinstance(num_or_sizes, bool):
        if num_or_sizes < 1 or extent % num_or_sizes:
            raise WorkloadError(
                f"split of {x.name!r}: num_or_size_splits = {num_or_sizes}: must divide the {extent} of axis {axis}"
            )
        sizes = (extent // num_or_sizes,) * num_or_sizes
    else:
        sizes = tuple(num_or_sizes)
    return list(current_graph().add(Split, [x], name=name, axis=axis, sizes=sizes).outputs)


def unstack(x: Tensor, axis: int, *, name: str = "unstack") -> list[Tensor]:
    """Split along ``axis`` into size-1 pieces and squeeze each (SMAUG's unstack)."""
    if not -x.rank <= axis < x.rank:
        raise WorkloadError(f"unstack of {x.name!r}: axis = {describe(axis)}: out of range for rank {x.rank}")
    axis %= x.rank
    pieces = split(x, x.shape[axis], axis, name=current_graph().unique_name(f"{name}:split"))
    return [squeeze(p, axis, name=current_graph().unique_name(f"{name}:squeeze")) for p in pieces]


def stack(tensors: Sequence[Tensor], axis: int, *, name: str = "stack") -> Tensor:
    """Stack tensors along a new ``axis`` (expand_dims each, then concat)."""
    expanded = [expand_dims(t, axis, name=current_graph().unique_name(f"{name}:expand_dims")) for t in tensors]
    return concat(expanded, axis, name=current_graph().unique_name(f"{name}:concat"))


def repeat(x: Tensor, multiples: Sequence[int], *, name: str | None = None) -> Tensor:
    """Tile ``multiples[i]`` times along each dimension."""
    return current_graph().add(Repeat, [x], name=name, multiples=tuple(multiples)).output


def padding(x: Tensor, pads: Sequence[int], *, name: str | None = None) -> Tensor:
    """Zero-pad: ``pads`` = (before, after) for each dimension, flattened."""
    return current_graph().add(Padding, [x], name=name, pads=tuple(pads)).output
