"""smaug_fast: end-to-end latency and energy of DNN inference on an SoC with accelerators.

Import the workload API (``Graph``, ``nn``, ``math``, ``tensor``), the network ``zoo``, hardware
``presets`` and ``simulate`` from here.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .errors import ConfigError, MappingError, SmaugFastError, WorkloadError

try:
    __version__ = version("smaug-fast")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = ["ConfigError", "MappingError", "SmaugFastError", "WorkloadError", "__version__"]
