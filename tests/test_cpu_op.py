"""CpuOp: an operator without a model, whose outputs are given rather than inferred."""

from __future__ import annotations

import pytest

from smaug_fast import Graph, WorkloadError, nn
from smaug_fast.workload import CpuOp, OutputSpec, smaug_type


def test_cpu_op_takes_its_outputs_as_given():
    with Graph("g", layout="NHWC") as g:
        x = g.input((1, 4, 4, 3), name="x")
        op = g.add(CpuOp, [x], name="resize", op_type="Resize",
                   output_specs=(OutputSpec((1, 8, 8, 3), "NHWC", "float16"),))
        y = nn.relu(op.output)
    assert op.output.shape == (1, 8, 8, 3) and y.shape == (1, 8, 8, 3)
    assert op.kind == "cpu_op" and smaug_type(op) == "CpuOp" and op.macs == 0
    assert g.outputs == (g.tensor(y.name),)


def test_cpu_op_with_several_outputs_and_no_inputs():
    with Graph("g") as g:
        op = g.add(CpuOp, [], name="gen", op_type="RandomNormal",
                   output_specs=(OutputSpec((2, 3), "NC", "float32"), OutputSpec((4,), "N", "int32")))
    assert [t.name for t in op.outputs] == ["gen:0", "gen:1"]
    assert [t.dtype for t in op.outputs] == ["float32", "int32"]


@pytest.mark.parametrize(
    "params, match",
    [
        ({"op_type": "", "output_specs": (OutputSpec((1,), "N", "float16"),)}, "op_type = '': must be a non-empty"),
        ({"op_type": "X", "output_specs": ()}, r"output_specs = \(\): must be a non-empty tuple"),
        ({"op_type": "X", "output_specs": ((1, 2),)}, r"output_specs\[0\] = \(1, 2\): must be an OutputSpec"),
        ({"op_type": "X", "output_specs": (OutputSpec((1, 0), "NC", "float16"),)}, r"shape\[1\] = 0: must be >= 1"),
        ({"op_type": "X", "output_specs": (OutputSpec((1, 2), "NHWC", "float16"),)}, "needs rank 4"),
    ],
)
def test_cpu_op_errors(params, match):
    with Graph("g") as g:
        x = g.input((1, 2), name="x")
        with pytest.raises(WorkloadError, match=match):
            g.add(CpuOp, [x], name="bad", **params)
