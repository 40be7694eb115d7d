"""Exceptions raised for bad user input, and for a sweep point that failed.

Every error names what was wrong (the field, op or file) and the value it had, so that a typo in a
sweep of ten thousand points is found before any work starts. The input errors subclass ``ValueError``
so that callers catching the broad built-in still see them.
"""

from __future__ import annotations


class SmaugFastError(Exception):
    """Base class of every error smaug_fast raises on purpose."""


class ConfigError(SmaugFastError, ValueError):
    """A hardware, preset, sweep or file configuration is invalid (unknown key, bad value or unit)."""


class WorkloadError(SmaugFastError, ValueError):
    """A graph, operator or tensor is invalid (bad shape, layout, name, or a cycle)."""


class MappingError(SmaugFastError, ValueError):
    """An operator cannot be mapped onto an accelerator (for example, no tile fits the scratchpads)."""


class SweepError(SmaugFastError, RuntimeError):
    """A point of a sweep failed while it ran (in this process, a worker process or a dask worker), or
    its store could not be written (a full disk, another sweep writing it).

    The message names the point or the store and says where the points finished before are kept; the
    original exception is the ``__cause__`` (with the worker's traceback as a note).
    """


class SweepWarning(UserWarning):
    """A sweep went on past something it repaired: a torn or malformed line of a store's journal, skipped
    (its point is simulated again)."""


def describe(value: object) -> str:
    """A short, unambiguous rendering of a user-supplied value for an error message."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
