"""smaug_fast: end-to-end latency and energy of DNN inference on an SoC with accelerators.

Import the workload API (``Graph``, ``nn``, ``math``, ``tensor``), the network ``zoo``, hardware
``presets`` and ``simulate`` from here.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import numerics, workload, zoo
from .errors import ConfigError, MappingError, SmaugFastError, WorkloadError
from .numerics import run_functional
from .workload import Graph, Op, Tensor, math, nn, tensor

try:
    __version__ = version("smaug-fast")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = [
    "ConfigError",
    "Graph",
    "MappingError",
    "Op",
    "SmaugFastError",
    "Tensor",
    "WorkloadError",
    "__version__",
    "math",
    "nn",
    "numerics",
    "run_functional",
    "tensor",
    "workload",
    "zoo",
]
