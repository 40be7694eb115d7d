"""End-to-end SoC simulation: ``simulate(graph, system) -> Result``.

Four pure stages (:mod:`.engine` wires them, each memoized on a frozen key in
:data:`~smaug_fast.memo.SIM_CACHE`): :func:`.lowering.plan_network` (tilings),
:func:`.memory_pass.run_memory_pass` (caches and DRAM traffic, on a :class:`.memory_pass.MemorySystem`),
:func:`.lowering.kernel_inputs` (the timing kernel's arrays) and :func:`.timing.run_timing` (one kernel
call, energy, the :class:`Result`). :func:`clear_caches` is ``SIM_CACHE.clear()``.
:func:`.generation.simulate_generation` runs an LLM's prefill and decode steps through them.
"""

from .engine import DramProfile, clear_caches, dram_profile, memory_key, simulate
from .generation import GenerationResult, simulate_generation
from .result import DETAIL_PHASES, ENERGY_COMPONENTS, ENERGY_DETAIL, PHASES, VARIABLES, OpResult, OpRows, Result, Timeline

__all__ = [
    "DETAIL_PHASES",
    "ENERGY_COMPONENTS",
    "ENERGY_DETAIL",
    "PHASES",
    "VARIABLES",
    "DramProfile",
    "GenerationResult",
    "OpResult",
    "OpRows",
    "Result",
    "Timeline",
    "clear_caches",
    "dram_profile",
    "memory_key",
    "simulate",
    "simulate_generation",
]
