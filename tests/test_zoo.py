"""The zoo reproduces SMAUG's networks exactly.

Two kinds of checks: (1) literal facts (total MACs and weight elements per network, from SMAUG's
shipped topologies as tabulated in ../shared/reference/smaug_networks/README.md, and from the
MobileNet/ResNet papers) that run anywhere; (2) an op-by-op comparison with the JSON files of
../shared/reference/smaug_networks/ when that folder exists.
"""

from __future__ import annotations

import json

import pytest

from smaug_fast import WorkloadError, zoo
from smaug_fast.workload import Convolution, InnerProduct, Pooling, smaug_type

# network: (ops without Data nodes, total MACs, unique weight elements) from
# ../shared/reference/smaug_networks/README.md (SMAUG @8fd68e6 shipped SMV topologies).
SMAUG_FACTS = {
    "minerva": (5, 334_336, 334_336),
    "lenet5": (6, 6_094_208, 600_608),
    "cnn10": (12, 26_579_968, 2_168_160),
    "vgg16": (17, 342_561_792, 8_796_864),
    "elu16": (16, 157_530_304, 1_666_384),
    "elu24": (24, 1_496_908_288, 39_316_096),
    "resnet50": (141, 4_090_256_576, 24_564_672),
    "lstm": (109, 65_536, 16_448),
    "bidi_lstm": (118, 65_536, 16_448),
}


def test_names_list_all_networks():
    assert zoo.names() == [*SMAUG_FACTS, "resnet50_imagenet", "mobilenet_v1"]


@pytest.mark.parametrize("name", list(SMAUG_FACTS))
def test_smaug_network_totals(name):
    ops, macs, weights = SMAUG_FACTS[name]
    g = zoo.load(name)
    assert len(g) == ops
    assert g.macs == macs
    assert g.weight_elems == weights
    assert g.weight_bytes == 2 * weights  # fp16, as SMAUG's SMV graphs


def test_paper_parameter_sizes_table3():
    """SMAUG Table 3 parameter sizes (fp16): 0.67, 1.20, 4.34, 17.6, 3.33 and 78.6 MB (smaug_facts.md)."""
    expected_mb = {"minerva": 0.67, "lenet5": 1.20, "cnn10": 4.34, "vgg16": 17.6, "elu16": 3.33, "elu24": 78.6}
    for name, mb in expected_mb.items():
        assert zoo.load(name).weight_bytes / 1e6 == pytest.approx(mb, rel=0.01), name


def test_resnet50_imagenet_matches_torchvision_counts():
    """torchvision resnet50: 25,557,032 parameters (conv + BN gamma/beta + FC weight and bias).

    Ours counts 4 parameters per BN channel (mean, 1/sqrt(var), gamma, beta: 26,560 channels) and
    has no FC bias: 25,557,032 - 1,000 + 2 * 26,560 = 25,609,152. MACs: 4.09 G (He et al. 2016: 3.8
    GFLOPs for v1; v1.5 with the stride on the 3x3 conv is 4.09 G).
    """
    g = zoo.load("resnet50_imagenet")
    assert g.weight_elems == 25_557_032 - 1_000 + 2 * 26_560
    assert g.macs == pytest.approx(4.09e9, rel=0.002)
    assert g.outputs[0].shape == (1, 1000)


def test_mobilenet_v1_matches_paper():
    """Howard et al. 2017, Table 1: 569 M mult-adds, 4.2 M parameters.

    Keras' MobileNet (alpha 1.0) has 4,253,864 parameters including 4 per BN channel and the
    1000-way classifier's bias; ours has no bias: 4,252,864.
    """
    g = zoo.load("mobilenet_v1")
    assert g.macs == pytest.approx(569e6, rel=0.001)
    assert g.weight_elems == 4_253_864 - 1_000
    depthwise = [op for op in g if isinstance(op, Convolution) and op.depthwise]
    assert len(depthwise) == 13


@pytest.mark.parametrize("batch", [1, 3])
def test_batch_scales_macs_not_weights(batch):
    one, many = zoo.load("cnn10"), zoo.load("cnn10", batch=batch)
    assert many.macs == batch * one.macs
    assert many.weight_elems == one.weight_elems
    assert many.inputs[0].shape[0] == batch


def test_dtype_changes_bytes():
    assert zoo.load("lenet5", dtype="float32").weight_bytes == 4 * 600_608


def test_unknown_network_lists_valid_names():
    with pytest.raises(WorkloadError, match=r"'resnet5'.*valid: minerva, lenet5.*resnet50"):
        zoo.load("resnet5")


@pytest.mark.parametrize("batch", [0, -1, 1.5, True])
def test_bad_batch(batch):
    with pytest.raises(WorkloadError, match="batch"):
        zoo.load("lenet5", batch=batch)


def test_bad_dtype():
    with pytest.raises(WorkloadError, match="dtype = 'float64'"):
        zoo.load("lenet5", dtype="float64")


# -- op-by-op comparison with SMAUG's shipped topologies ----------------------------------------------

_PADDING = {"SamePadding": "same", "ValidPadding": "valid"}


def _json_layers(reference_dir, name):
    path = reference_dir / "smaug_networks" / zoo.info(name).smaug_json
    return [layer for layer in json.loads(path.read_text())["layers"] if layer["op"] != "Data"]


@pytest.mark.parametrize("name", list(SMAUG_FACTS))
def test_ops_match_smaug_json(reference_dir, name):
    layers = _json_layers(reference_dir, name)
    ops = zoo.load(name).topological_order()
    assert [smaug_type(op) for op in ops] == [layer["op"] for layer in layers]
    for op, layer in zip(ops, layers):
        where = f"{name}/{layer['name']}"
        assert [list(t.shape) for t in op.activations] == [t["dims"] for t in layer["in"]], where
        assert [t.layout for t in op.activations] == [t["layout"] for t in layer["in"]], where
        assert [list(t.shape) for t in op.weights] == [t["dims"] for t in layer.get("weights", [])], where
        assert [list(t.shape) for t in op.outputs] == [t["dims"] for t in layer["out"]], where
        assert [t.layout for t in op.outputs] == [t["layout"] for t in layer["out"]], where
        if "padding" in layer:
            assert op.padding == _PADDING[layer["padding"]], where
        if "stride" in layer:
            assert list(op.stride) == layer["stride"], where
        if "pool_size" in layer:
            assert isinstance(op, Pooling) and list(op.pool_size) == layer["pool_size"], where
        if "macs" in layer:
            assert op.macs == layer["macs"], where
        if isinstance(op, (Convolution, InnerProduct)) or "activation" in layer:
            fused = getattr(op, "activation", None)
            expected = layer.get("activation")
            assert (fused and smaug_type_of_activation(fused)) == expected, where
            if "activation_params" in layer:
                assert list(op.activation_params) == list(layer["activation_params"].values()), where


def smaug_type_of_activation(name: str) -> str:
    from smaug_fast.workload.core import SMAUG_ACTIVATION_NAMES

    return SMAUG_ACTIVATION_NAMES[name]


@pytest.mark.parametrize("name", list(SMAUG_FACTS))
def test_op_names_and_parents_match_smaug_json(reference_dir, name):
    """Op names follow SMAUG's; every op reads the outputs of the same parent ops as in SMAUG."""
    layers = _json_layers(reference_dir, name)
    g = zoo.load(name)
    ops = g.topological_order()
    # Graph names that SMAUG gives to Data nodes (inputs and constant states) are not ops here.
    for op, layer in zip(ops, layers):
        parents = [g.producer(t) for t in op.activations]
        names = [p.name if p is not None else None for p in parents]
        json_parents = [p if p in {l["name"] for l in layers} else None for p in layer["parents"]]
        assert names == json_parents, f"{name}/{layer['name']}"
    assert [op.name for op in ops] == [layer["name"] for layer in layers]


def test_an_unknown_name_suggests_the_closest():
    with pytest.raises(WorkloadError, match=r"network = 'resnet5': unknown \(did you mean 'resnet50'\?\); valid: "):
        zoo.load("resnet5")
    with pytest.raises(WorkloadError, match=r"network = 'xyz': unknown; valid: minerva"):
        zoo.load("xyz")
