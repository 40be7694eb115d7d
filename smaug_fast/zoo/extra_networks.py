"""Networks beyond SMAUG's zoo: the standard ImageNet ResNet50 and MobileNet v1."""

from __future__ import annotations

from ..workload import Graph, nn, tensor
from .smaug_networks import RESNET50_STAGES, _resnet_body


def resnet50_imagenet(batch: int, dtype: str) -> Graph:
    """Standard ResNet50 v1.5 (He et al. 2016; stride on the 3x3 conv as in torchvision).

    224x224x3 input, 7x7/2 conv, 3x3/2 max pool with padding 1, four bottleneck stages, global
    average pool and a 1000-way FC. SMAUG's SAME padding equals torchvision's symmetric padding for
    every conv here (odd kernels), so the graph matches torchvision's ``resnet50`` layer for layer.
    """
    with Graph("resnet50_imagenet", dtype=dtype, layout="NHWC") as g:
        x = g.input((batch, 224, 224, 3), name="input")
        x = nn.convolution(x, 64, 7, 2, name="conv0")
        x = nn.batch_norm(x, activation="relu", name="bn0")
        x = nn.max_pool(x, 3, 2, padding=1, name="pool")
        x = _resnet_body(x, RESNET50_STAGES)
        x = nn.global_avg_pool(x, name="avg_pool")
        x = tensor.flatten(x)
        nn.mat_mul(x, 1000, name="fc")
    return g


#: MobileNet v1 depthwise-separable blocks: (pointwise output maps, depthwise stride) (Howard et al. 2017, Table 1).
MOBILENET_V1_BLOCKS = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)


def mobilenet_v1(batch: int, dtype: str) -> Graph:
    """MobileNet v1 1.0-224 (Howard et al., 2017): depthwise separable convolutions.

    Every conv is followed by batch norm with ReLU6, written as hard_tanh(0, 6). Ends with a global
    average pool and a 1000-way FC.
    """
    relu6 = {"activation": "hard_tanh", "activation_params": (0.0, 6.0)}
    with Graph("mobilenet_v1", dtype=dtype, layout="NHWC") as g:
        x = g.input((batch, 224, 224, 3), name="input")
        x = nn.convolution(x, 32, 3, 2, name="conv0")
        x = nn.batch_norm(x, name="bn0", **relu6)
        for i, (maps, stride) in enumerate(MOBILENET_V1_BLOCKS, start=1):
            x = nn.depthwise_convolution(x, 3, stride, name=f"conv_dw{i}")
            x = nn.batch_norm(x, name=f"bn_dw{i}", **relu6)
            x = nn.convolution(x, maps, 1, name=f"conv_pw{i}")
            x = nn.batch_norm(x, name=f"bn_pw{i}", **relu6)
        x = nn.global_avg_pool(x, name="avg_pool")
        x = tensor.flatten(x)
        nn.mat_mul(x, 1000, name="fc")
    return g
