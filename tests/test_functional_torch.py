"""run_functional against the same networks built in PyTorch CPU with the same weights (opt-in).

Run with ``python -m pytest --runtorch -m torch`` after ``pip install -e '.[torch]'``.

Tolerance: float32, for every tensor of the network, max |ours - torch| <= 1e-4 x max |torch|
(normalized by the tensor's largest magnitude, because both sides accumulate in float32 in different
orders: GEMM blocking, im2col, and PyTorch's own convolution algorithms; measured worst cases are
around 1e-6 to 1e-5).
"""

from __future__ import annotations

import numpy as np
import pytest

from smaug_fast import run_functional, zoo

pytestmark = pytest.mark.torch

TOLERANCE = 1e-4


def _max_normalized_error(ours: np.ndarray, ref: np.ndarray) -> float:
    if ours.dtype == np.bool_:
        return float(np.mean(ours != ref))
    scale = max(float(np.abs(ref).max()), 1e-30)
    return float(np.abs(ours.astype(np.float64) - ref).max()) / scale


@pytest.mark.parametrize(
    "name, batch",
    [
        ("lenet5", 2),
        ("cnn10", 2),
        ("vgg16", 1),
        ("resnet50", 1),
        ("resnet50_imagenet", 1),
        ("mobilenet_v1", 1),
        ("elu16", 1),
        ("minerva", 3),
        ("lstm", 2),
    ],
)
def test_network_agrees_with_pytorch(name, batch):
    torch_reference = pytest.importorskip("smaug_fast.numerics.torch_reference")
    pytest.importorskip("torch")
    g = zoo.load(name, batch=batch, dtype="float32")
    outputs, values = run_functional(g, seed=11, return_intermediates=True)
    ref_outputs, ref_values = torch_reference.TorchNetwork(g, values).run(return_intermediates=True)
    assert set(ref_outputs) == set(outputs)
    worst = {
        t.name: _max_normalized_error(values[t.name], ref_values[t.name])
        for op in g.topological_order()
        for t in op.outputs
    }
    bad = {k: v for k, v in worst.items() if v > TOLERANCE}
    assert not bad, f"tensors off by more than {TOLERANCE}: {bad}"
