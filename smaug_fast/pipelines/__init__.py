"""CPU image-processing pipelines: Halide-style stages, their memory traffic through the caches and DRAM,
and their time and energy on the SoC's CPU.

``Pipeline``, ``Stage`` and ``Read`` describe a pipeline (:mod:`.stages`); ``camera_pipe`` is Halide's
camera pipeline (:mod:`.camera`); ``simulate_pipeline`` times one frame (:mod:`.simulate`), alone; a
scenario (:mod:`smaug_fast.scenario`) runs it beside DNNs.
"""

from .camera import camera_pipe
from .simulate import PipelineResult, StageResult, simulate_pipeline
from .stages import INPUT, Pipeline, Read, Stage

#: The pipelines a scenario file can name, by name: a function of keyword options returning a Pipeline.
BUILDERS = {"camera_pipe": camera_pipe}

__all__ = ["BUILDERS", "INPUT", "Pipeline", "PipelineResult", "Read", "Stage", "StageResult", "camera_pipe",
           "simulate_pipeline"]
