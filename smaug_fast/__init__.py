"""smaug_fast: end-to-end latency and energy of DNN inference on an SoC with accelerators.

Import the workload API (``Graph``, ``nn``, ``math``, ``tensor``), the network ``zoo``, hardware
``presets`` and ``simulate`` from here (``simulate_generation`` for an LLM's prefill and decode steps); CPU image pipelines (``Pipeline``, ``simulate_pipeline``) and
several workloads sharing one SoC (``Scenario``, ``Task``, ``simulate_scenario``) too.
"""

from __future__ import annotations

import importlib

from .errors import ConfigError, MappingError, SmaugFastError, SweepError, WorkloadError

#: Subpackages and the public names of this package, imported on first use (PEP 562): ``import
#: smaug_fast`` costs milliseconds, so ``smaug-fast --help`` starts at once; numba, xarray and the
#: kernels load when a command needs them.
_SUBMODULES = ("accelerators", "hardware", "numerics", "presets", "sim", "tiling", "units", "workload", "zoo",
               "sweeps", "plot", "memo", "choices", "spec", "memory", "cli", "pipelines", "scenario")
_NAMES = {
    "SMV": ".accelerators", "Accelerator": ".accelerators", "System": ".hardware", "run_functional": ".numerics",
    "Result": ".sim", "simulate": ".sim", "GenerationResult": ".sim", "simulate_generation": ".sim", "open_sweep": ".sweeps", "sweep": ".sweeps", "Graph": ".workload",
    "Op": ".workload", "Tensor": ".workload", "math": ".workload", "nn": ".workload", "tensor": ".workload",
    "Pipeline": ".pipelines", "simulate_pipeline": ".pipelines", "Scenario": ".scenario",
    "ScenarioResult": ".scenario", "Task": ".scenario", "simulate_scenario": ".scenario",
}


def __getattr__(name: str):
    if name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    elif name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name], __name__), name)
    elif name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("smaug-fast")
        except PackageNotFoundError:  # running from a source tree that was not installed
            value = "0+unknown"
    else:
        raise AttributeError(f"module 'smaug_fast' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(_SUBMODULES))


__all__ = [
    "SMV",
    "Accelerator",
    "ConfigError",
    "GenerationResult",
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
    "simulate_generation",
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
