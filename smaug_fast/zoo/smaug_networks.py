"""SMAUG's nine networks, exactly as its experiments repository ships them.

Every shape, padding, stride, fused activation and op order follows the SMV topology files of
harvard-acc/smaug @8fd68e6 (experiments submodule @4357477, ``models/*``), including their quirks:
CNN10 has three batch norms (the paper says two), ResNet50 takes a 225x225 input and has no average
pool (its FC reads 7x7x2048 = 100,352 features and has 10 outputs), ELU uses alpha = 0.1, and the
LSTMs are unrolled into primitive ops with zero initial states as constants. Op names follow SMAUG's
(including its unnamed ``batch_norm_k`` ops in ResNet50 conv blocks).
"""

from __future__ import annotations

from ..workload import Graph, nn, tensor
from ..workload import math as smath


def minerva(batch: int, dtype: str) -> Graph:
    """Minerva (Reagen et al., ISCA 2016): MNIST MLP 784-256-256-256-10, ReLU."""
    with Graph("minerva", dtype=dtype, layout="NHWC") as g:
        x = g.input((batch, 28, 28, 1), name="data")
        x = tensor.flatten(x)
        for _ in range(3):
            x = nn.mat_mul(x, 256, activation="relu")
        nn.mat_mul(x, 10)
    return g


def lenet5(batch: int, dtype: str) -> Graph:
    """LeNet5 as SMAUG ships it: two 3x3 valid convs (32 maps), 2x2 max pool, FC 128, FC 10."""
    with Graph("lenet5", dtype=dtype, layout="NHWC") as g:
        x = g.input((batch, 28, 28, 1), name="data")
        x = nn.convolution(x, 32, 3, padding="valid", activation="relu")
        x = nn.convolution(x, 32, 3, padding="valid", activation="relu")
        x = nn.max_pool(x, 2, 2)
        x = tensor.flatten(x)
        x = nn.mat_mul(x, 128, activation="relu")
        nn.mat_mul(x, 10)
    return g


def cnn10(batch: int, dtype: str) -> Graph:
    """CNN10 (CIFAR-10): 4 convs (32, 32, 64, 64), 2 pools, 3 batch norms, FC 512, FC 10."""
    with Graph("cnn10", dtype=dtype, layout="NHWC") as g:
        x = g.input((batch, 32, 32, 3), name="data")
        x = nn.convolution(x, 32, 3, activation="relu")
        x = nn.batch_norm(x)
        x = nn.convolution(x, 32, 3, activation="relu")
        x = nn.max_pool(x, 2, 2)
        x = nn.batch_norm(x)
        x = nn.convolution(x, 64, 3, activation="relu")
        x = nn.convolution(x, 64, 3, activation="relu")
        x = nn.max_pool(x, 2, 2)
        x = nn.batch_norm(x)
        x = tensor.flatten(x)
        x = nn.mat_mul(x, 512, activation="relu")
        nn.mat_mul(x, 10)
    return g


def vgg16(batch: int, dtype: str) -> Graph:
    """VGG16 for CIFAR-10 as SMAUG ships it: 10 convs, 4 pools, FC 512, FC 10 (no batch norm)."""
    with Graph("vgg16", dtype=dtype, layout="NHWC") as g:
        x = g.input((batch, 32, 32, 3), name="data")
        for stage in ((64, 128), (128, 128), (256, 256, 256), (512, 512, 512)):
            for maps in stage:
                x = nn.convolution(x, maps, 3, activation="relu")
            x = nn.max_pool(x, 2, 2)
        x = tensor.flatten(x)
        x = nn.mat_mul(x, 512, activation="relu")
        nn.mat_mul(x, 10)
    return g


def _elu_stacks(name: str, batch: int, dtype: str, stacks) -> Graph:
    """Stacks of SAME/1 convs with fused ELU(0.1), each but the last two followed by a 2x2 pool.

    ``stacks`` lists, per stack, (conv names, [(maps, kernel), ...], pooled).
    """
    with Graph(name, dtype=dtype, layout="NHWC") as g:
        x = g.input((batch, 32, 32, 3), name="input")
        for index, (names, convs, pooled) in enumerate(stacks):
            for conv_name, (maps, kernel) in zip(names, convs):
                x = nn.convolution(x, maps, kernel, activation="elu", name=conv_name)
            if pooled:
                x = nn.max_pool(x, 2, 2, name=f"pool_stack{index}")
    return g


def _stack_names(index: int, count: int) -> list[str]:
    return [f"conv{i}_stack{index}" for i in range(count)]


def elu16(batch: int, dtype: str) -> Graph:
    """ELU16 (CIFAR-100, Clevert et al.): 14 convs with ELU, 5 pools, 1x1x100 output, no FC."""
    convs = [
        [(192, 5)],
        [(192, 1), (240, 3)],
        [(240, 1), (260, 2)],
        [(260, 1), (280, 2)],
        [(280, 1), (300, 2)],
        [(300, 1)],
        [(100, 1)],
    ]
    names = [_stack_names(i, len(c)) for i, c in enumerate(convs)]
    # SMAUG's cifar100_elu.py names the second conv of stack 4 "conv0_stack4" again; the graph
    # serializes it as "conv0_stack4_1".
    names[4] = ["conv0_stack4", "conv0_stack4_1"]
    stacks = [(n, c, i < 5) for i, (n, c) in enumerate(zip(names, convs))]
    return _elu_stacks("elu16", batch, dtype, stacks)


def elu24(batch: int, dtype: str) -> Graph:
    """ELU24 (large CIFAR-100 ELU network): 22 convs with ELU, 5 pools, 1x1x100 output."""
    convs = [
        [(384, 3)],
        [(384, 1), (384, 2), (640, 2), (640, 2)],
        [(640, 1), (768, 2), (768, 2), (768, 2)],
        [(768, 1), (896, 2), (896, 2)],
        [(896, 3), (1024, 2), (1024, 2)],
        [(1024, 1), (1152, 2)],
        [(1152, 1)],
        [(100, 1)],
    ]
    stacks = [(_stack_names(i, len(c)), c, i < 5) for i, c in enumerate(convs)]
    return _elu_stacks("elu24", batch, dtype, stacks)


def _resnet_body(x, stages):
    """ResNet50 bottleneck stages with SMAUG's op names and order (``resnet_network.py``).

    A conv block: 2a (1x1), 2b (3x3, the stage's stride), 2c (1x1), then the 1x1 shortcut with the
    same stride; each conv is followed by a separate batch norm (ReLU fused, but not on 2c and the
    shortcut), then an eltwise add and a ReLU. Identity blocks drop the shortcut conv.
    """
    for stage, (maps, blocks, stride) in enumerate(stages, start=2):
        for b in range(blocks):
            tag = f"{stage}{chr(ord('a') + b)}"
            shortcut = x
            s = stride if b == 0 else 1
            y = nn.convolution(x, maps, 1, name=f"res{tag}_2a")
            # SMAUG leaves the first batch norm of each conv block unnamed.
            y = nn.batch_norm(y, activation="relu", name=None if b == 0 else f"bn{tag}_2a")
            y = nn.convolution(y, maps, 3, s, name=f"res{tag}_2b")
            y = nn.batch_norm(y, activation="relu", name=f"bn{tag}_2b")
            y = nn.convolution(y, 4 * maps, 1, name=f"res{tag}_2c")
            y = nn.batch_norm(y, name=f"bn{tag}_2c")
            if b == 0:
                shortcut = nn.convolution(x, 4 * maps, 1, s, name=f"res{tag}_1")
                shortcut = nn.batch_norm(shortcut, name=f"bn{tag}_1")
            x = smath.add(y, shortcut, name=f"add{stage}_{chr(ord('a') + b)}")
            x = nn.relu(x, name=f"relu{stage}_{chr(ord('a') + b)}")
    return x


RESNET50_STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))


def resnet50(batch: int, dtype: str) -> Graph:
    """ResNet50 exactly as SMAUG ships it: 225x225 input, no average pool, FC 100,352 -> 10."""
    with Graph("resnet50", dtype=dtype, layout="NHWC") as g:
        x = g.input((batch, 225, 225, 3), name="input")
        x = nn.convolution(x, 64, 7, 2, name="conv0")
        x = nn.batch_norm(x, activation="relu", name="bn0")
        x = nn.max_pool(x, 3, 2, name="pool")
        x = _resnet_body(x, RESNET50_STAGES)
        x = tensor.flatten(x)
        nn.mat_mul(x, 10, name="fc")
    return g


def _lstm_input(g: Graph, batch: int):
    return g.input((batch, 4, 32), name="input", layout="NTC")


def lstm(batch: int, dtype: str) -> Graph:
    """Two stacked LSTM layers (32 units) over a 4 x 32 NTC input, unrolled (``models/lstm/lstm.py``)."""
    with Graph("lstm", dtype=dtype, layout="NTC") as g:
        x = _lstm_input(g, batch)
        outputs, _ = nn.LSTM(32, name="lstm0")(x)
        nn.LSTM(32, name="lstm1")(outputs)
    return g


def bidi_lstm(batch: int, dtype: str) -> Graph:
    """A bidirectional LSTM (32 units each way) over a 4 x 32 NTC input (``models/lstm/bidi_lstm.py``)."""
    with Graph("bidi_lstm", dtype=dtype, layout="NTC") as g:
        x = _lstm_input(g, batch)
        nn.BidirectionalLSTM(32, name="bidi_lstm")(x)
    return g
