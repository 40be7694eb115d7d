"""smaug_fast: end-to-end latency and energy of DNN inference on an SoC with accelerators.

Import the workload API (``Graph``, ``nn``, ``math``, ``tensor``), the network ``zoo``, hardware
``presets`` and ``simulate`` from here; CPU image pipelines (``Pipeline``, ``simulate_pipeline``) and
several workloads sharing one SoC (``Scenario``, ``Task``, ``simulate_scenario``) too.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from . import accelerators, hardware, numerics, pipelines, presets, scenario, sim, tiling, units, workload, zoo
from .accelerators import SMV, Accelerator
from .errors import ConfigError, MappingError, SmaugFastError, SweepError, WorkloadError
from .hardware import System
from .numerics import run_functional
from .pipelines import Pipeline, simulate_pipeline
from .scenario import Scenario, ScenarioResult, Task, simulate_scenario
from .sim import Result, simulate
from .sweeps import open_sweep, sweep
from .workload import Graph, Op, Tensor, math, nn, tensor

try:
    __version__ = version("smaug-fast")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"

__all__ = [
    "SMV",
    "Accelerator",
    "ConfigError",
    "Graph",
    "MappingError",
    "Result",
    "Op",
    "Pipeline",
    "Scenario",
    "ScenarioResult",
    "SmaugFastError",
    "SweepError",
    "System",
    "Task",
    "Tensor",
    "WorkloadError",
    "__version__",
    "accelerators",
    "hardware",
    "math",
    "nn",
    "numerics",
    "pipelines",
    "presets",
    "run_functional",
    "scenario",
    "sim",
    "simulate",
    "simulate_pipeline",
    "simulate_scenario",
    "open_sweep",
    "sweep",
    "tensor",
    "tiling",
    "units",
    "workload",
    "zoo",
]
