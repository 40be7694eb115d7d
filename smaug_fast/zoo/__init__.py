"""The network zoo: SMAUG's nine networks exactly as shipped, plus ResNet50 (ImageNet) and MobileNet v1.

>>> from smaug_fast import zoo
>>> zoo.names()[:3]
['minerva', 'lenet5', 'cnn10']
>>> g = zoo.load("lenet5", batch=4)
"""

from __future__ import annotations

import difflib

from collections.abc import Callable
from dataclasses import dataclass

from ..errors import WorkloadError, describe
from ..workload import DTYPES, Graph
from . import extra_networks, smaug_networks
from .transformer import transformer, transformer_configs
from .hf_weights import hf_parameter_names, transformer_weights


@dataclass(frozen=True)
class NetworkInfo:
    """What the zoo knows about a network besides its graph."""

    name: str
    build: Callable[[int, str], Graph]
    description: str
    #: The name in the SMAUG paper's figures (None when it is not one of SMAUG's evaluated networks).
    paper_name: str | None
    #: The file under ../shared/reference/smaug_networks/ holding SMAUG's shapes (None if not SMAUG's).
    smaug_json: str | None


_NETWORKS = {
    info.name: info
    for info in (
        NetworkInfo("minerva", smaug_networks.minerva, "MNIST MLP 784-256-256-256-10", "Minerva", "minerva.json"),
        NetworkInfo("lenet5", smaug_networks.lenet5, "MNIST CNN: 2 conv, pool, 2 FC", "LeNet5", "lenet5.json"),
        NetworkInfo("cnn10", smaug_networks.cnn10, "CIFAR-10 CNN: 4 conv, 3 BN, 2 FC", "CNN10", "cifar10_cnn.json"),
        NetworkInfo("vgg16", smaug_networks.vgg16, "CIFAR-10 VGG: 10 conv, 2 FC", "VGG16", "cifar10_vgg.json"),
        NetworkInfo("elu16", smaug_networks.elu16, "CIFAR-100 ELU network, 14 conv", "ELU16", "cifar100_elu.json"),
        NetworkInfo("elu24", smaug_networks.elu24, "CIFAR-100 large ELU network, 22 conv", "ELU24", "cifar100_large_elu.json"),
        NetworkInfo("resnet50", smaug_networks.resnet50, "SMAUG's ResNet50: 225x225, no avg pool, FC 10", "ResNet50", "imagenet_resnet50.json"),
        NetworkInfo("lstm", smaug_networks.lstm, "2-layer LSTM, 32 units, 4 steps", None, "lstm_2layer.json"),
        NetworkInfo("bidi_lstm", smaug_networks.bidi_lstm, "bidirectional LSTM, 32 units, 4 steps", None, "bidi_lstm.json"),
        NetworkInfo("resnet50_imagenet", extra_networks.resnet50_imagenet, "standard ResNet50 v1.5, 224x224, FC 1000", None, None),
        NetworkInfo("mobilenet_v1", extra_networks.mobilenet_v1, "MobileNet v1 1.0-224, depthwise separable", None, None),
    )
}

#: SMAUG's networks evaluated in the paper, in the order of its figures.
PAPER_NETWORKS = ("minerva", "lenet5", "cnn10", "vgg16", "elu16", "elu24", "resnet50")


def names() -> list[str]:
    """Every network name, SMAUG's first."""
    return list(_NETWORKS)


def info(name: str) -> NetworkInfo:
    """The zoo entry of ``name`` (WorkloadError listing the valid names if unknown)."""
    try:
        return _NETWORKS[name]
    except (KeyError, TypeError):
        close = difflib.get_close_matches(name, list(_NETWORKS), n=1) if isinstance(name, str) else []
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise WorkloadError(
            f"zoo: network = {describe(name)}: unknown{hint}; valid: {', '.join(_NETWORKS)}"
        ) from None


def load(name: str, batch: int = 1, dtype: str = "float16") -> Graph:
    """Build network ``name`` for ``batch`` inputs (SMAUG: 1) with ``dtype`` (SMAUG's SMV: float16)."""
    entry = info(name)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise WorkloadError(f"zoo.load({name!r}): batch = {describe(batch)}: must be an integer >= 1")
    if dtype not in DTYPES:
        raise WorkloadError(f"zoo.load({name!r}): dtype = {describe(dtype)}: unknown; valid: {', '.join(DTYPES)}")
    return entry.build(batch, dtype)


__all__ = ["PAPER_NETWORKS", "NetworkInfo", "hf_parameter_names", "info", "load", "names", "transformer", "transformer_configs",
           "transformer_weights"]
