"""Several workloads sharing one SoC, frame after frame: DNNs and CPU image pipelines (SMAUG's camera case study).

``Scenario`` and ``Task`` describe the workloads (:mod:`.spec`), ``simulate_scenario`` runs them
(:mod:`.engine`) and returns a :class:`ScenarioResult` (:mod:`.result`); ``sweep_scenario`` runs it over
axes of the system and the scenario (:mod:`.sweep`); ``files.read_scenario`` reads a scenario and its
system from a TOML file (:mod:`.files`).
"""

from .engine import simulate_scenario
from .result import Frames, ScenarioResult, TaskResult
from .spec import Scenario, Task
from .sweep import sweep_scenario

__all__ = ["Frames", "Scenario", "ScenarioResult", "Task", "TaskResult", "simulate_scenario", "sweep_scenario"]
