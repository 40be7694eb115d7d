"""Accelerator models."""

from __future__ import annotations

from .systolic import Systolic

__all__ = ["Systolic"]
