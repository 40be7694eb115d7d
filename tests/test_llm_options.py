"""The transformer options ``weight_dtype`` and ``batch_matmul`` through every entry point that names a
transformer workload (issue 19): ``simulate_generation``, ``smaug-fast generate`` and the sweep axes.
Each equals the direct ``simulate`` (or ``simulate_generation``) call; each bad value names the option
or axis and the value."""

from __future__ import annotations

import json

import pytest

from smaug_fast import ConfigError, WorkloadError, presets, simulate, simulate_generation, sweep, zoo
from smaug_fast.cli import main
from smaug_fast.sweeps.networks import TransformerSource, generation_of

#: A two-layer Llama-style decoder (GQA, rotary, SwiGLU) small enough to simulate quickly.
TINY = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 256, "max_position_embeddings": 256}
SYSTEM = presets.load("soc-2026-lpddr5")

#: Every combination of the two options (the first is the default).
OPTIONS = [("float16", "fused"), ("int8", "fused"), ("float16", "cpu"), ("int8", "cpu"),
           ("float16", "inner_products"), ("int8", "inner_products")]


# -- simulate_generation -----------------------------------------------------------------------------


@pytest.mark.parametrize(("weight_dtype", "batch_matmul"), OPTIONS)
def test_generation_options_equal_simulate(weight_dtype, batch_matmul):
    """Every step of an exact generation is simulate() of zoo.transformer with the same options."""
    r = simulate_generation(TINY, SYSTEM, prompt_len=6, new_tokens=3, exact=True, weight_dtype=weight_dtype,
                            batch_matmul=batch_matmul)
    kw = {"weight_dtype": weight_dtype, "batch_matmul": batch_matmul}
    assert r.ttft_s == simulate(zoo.transformer(TINY, "prefill", seq_len=6, **kw), SYSTEM).latency_s
    assert r.step_s.tolist() == [simulate(zoo.transformer(TINY, "decode", kv_len=k, **kw), SYSTEM).latency_s
                                 for k in (6, 7)]
    assert (r.weight_dtype, r.batch_matmul) == (weight_dtype, batch_matmul)
    ds = r.to_dataset()
    assert (ds.attrs["weight_dtype"], ds.attrs["batch_matmul"]) == (weight_dtype, batch_matmul)
    assert f"weights {weight_dtype}, batch_matmul {batch_matmul}" in r.summary()


def test_generation_options_change_the_result():
    base = simulate_generation(TINY, SYSTEM, prompt_len=6, new_tokens=3)
    unrolled = simulate_generation(TINY, SYSTEM, prompt_len=6, new_tokens=3, batch_matmul="inner_products")
    assert unrolled.ttft_s != base.ttft_s  # not a memo of the default
    assert any(o.kind == "inner_product" and "scores" in o.name for o in unrolled.prefill.ops)
    assert not any(o.kind == "inner_product" and "scores" in o.name for o in base.prefill.ops)
    assert simulate_generation(TINY, SYSTEM, prompt_len=6, new_tokens=3, batch_matmul="fused").ttft_s == base.ttft_s
    eager = simulate_generation(TINY, SYSTEM, prompt_len=6, new_tokens=3, batch_matmul="cpu")
    assert eager.ttft_s != base.ttft_s and any(o.kind == "softmax" for o in eager.prefill.ops)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_matmul": "gpu"}, r"simulate_generation: batch_matmul = 'gpu': must be one of fused, cpu, inner_products"),
        ({"batch_matmul": None}, r"simulate_generation: batch_matmul = None: must be one of"),
        ({"batch_matmul": "CPU"}, r"batch_matmul = 'CPU'"),
        ({"weight_dtype": "int4"}, r"simulate_generation: weight_dtype = 'int4'"),
        ({"weight_dtype": "float32"}, r"simulate_generation: weight_dtype = 'float32'"),
    ],
)
def test_generation_bad_options_are_named(kwargs, message):
    with pytest.raises(WorkloadError, match=message):
        simulate_generation(TINY, SYSTEM, prompt_len=4, new_tokens=2, **kwargs)


# -- smaug-fast generate -----------------------------------------------------------------------------


@pytest.mark.parametrize(("weight_dtype", "batch_matmul"), OPTIONS[1:])
def test_cli_generate_options_equal_simulate_generation(weight_dtype, batch_matmul, tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(TINY))
    argv = ["generate", str(path), "--prompt-len", "8", "--new-tokens", "4", "--json",
            "--weight-dtype", weight_dtype, "--batch-matmul", batch_matmul]
    assert main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    want = simulate_generation(str(path), SYSTEM, prompt_len=8, new_tokens=4, weight_dtype=weight_dtype,
                               batch_matmul=batch_matmul)
    assert out["ttft_s"] == want.ttft_s and out["tpot_s"] == want.tpot_s and out["energy_j"] == want.energy_j
    assert (out["weight_dtype"], out["batch_matmul"]) == (weight_dtype, batch_matmul)
    assert main(argv[:-4]) == 0  # the defaults: float16 weights, fused attention
    default = json.loads(capsys.readouterr().out)
    assert (default["weight_dtype"], default["batch_matmul"]) == ("float16", "fused")
    assert default["ttft_s"] == simulate_generation(str(path), SYSTEM, prompt_len=8, new_tokens=4).ttft_s


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--weight-dtype", "int4", "--weight-dtype 'int4': must be one of float16, int8"),
        ("--weight-dtype", "fp16", "--weight-dtype 'fp16': must be one of float16, int8"),
        ("--batch-matmul", "gpu", "--batch-matmul 'gpu': must be one of fused, cpu, inner_products"),
    ],
)
def test_cli_generate_bad_options(flag, value, message, capsys):
    assert main(["generate", "gpt2", "--prompt-len", "4", "--new-tokens", "2", flag, value]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


# -- sweeps ------------------------------------------------------------------------------------------


def test_option_axes_equal_simulate_prefill_and_decode():
    axes = {"weight_dtype": ["float16", "int8"], "batch_matmul": ["cpu", "inner_products"]}
    for phase, lengths in (("prefill", {"seq_len": [4]}), ("decode", {"kv_len": [8]})):
        ds = sweep("gpt2", SYSTEM, {**lengths, **axes}, executor="serial", progress=False)
        assert ds["weight_dtype"].values.tolist() == ["float16", "int8"]
        for wd in axes["weight_dtype"]:
            for bm in axes["batch_matmul"]:
                g = zoo.transformer("gpt2", phase, seq_len=4 if phase == "prefill" else None,
                                    kv_len=8 if phase == "decode" else None, weight_dtype=wd, batch_matmul=bm)
                want = simulate(g, SYSTEM)
                point = ds.sel(network="gpt2", weight_dtype=wd, batch_matmul=bm).squeeze()
                assert float(point["latency_s"]) == want.latency_s, (phase, wd, bm)
                assert float(point["energy_j"]) == want.energy_j, (phase, wd, bm)


def test_option_axis_alone_is_a_default_prefill():
    ds = sweep("gpt2", SYSTEM, {"weight_dtype": ["int8"]}, executor="serial", progress=False)
    want = simulate(zoo.transformer("gpt2", weight_dtype="int8"), SYSTEM).latency_s
    assert float(ds["latency_s"].sel(network="gpt2", weight_dtype="int8")) == want


def test_option_axes_beside_new_tokens_equal_simulate_generation():
    axes = {"seq_len": [8], "new_tokens": [3], "weight_dtype": ["float16", "int8"], "batch_matmul": ["fused", "cpu"]}
    ds = sweep("gpt2", SYSTEM, axes, executor="serial", progress=False)
    for wd in axes["weight_dtype"]:
        for bm in axes["batch_matmul"]:
            want = simulate_generation("gpt2", SYSTEM, prompt_len=8, new_tokens=3, weight_dtype=wd, batch_matmul=bm)
            point = ds.sel(network="gpt2", weight_dtype=wd, batch_matmul=bm).squeeze()
            assert float(point["tpot_s"]) == want.tpot_s and float(point["ttft_s"]) == want.ttft_s, (wd, bm)


@pytest.mark.parametrize(("weight_dtype", "batch_matmul"), OPTIONS)
def test_generation_of_a_sweep_point_equals_simulate_generation(weight_dtype, batch_matmul):
    """What a new_tokens point with the option axes will run once the worker calls generation_of."""
    got = generation_of(TransformerSource("gpt2"), SYSTEM, {"seq_len": 8, "new_tokens": 3, "batch": 1,
                                                             "weight_dtype": weight_dtype,
                                                             "batch_matmul": batch_matmul})
    want = simulate_generation("gpt2", SYSTEM, prompt_len=8, new_tokens=3, weight_dtype=weight_dtype,
                               batch_matmul=batch_matmul)
    assert got.result_scalars() == want.result_scalars()


@pytest.mark.parametrize(
    ("networks", "axes", "message"),
    [
        ("gpt2", {"weight_dtype": ["int4"]}, r"axes\['weight_dtype'\] value 'int4': must be one of float16, int8"),
        ("gpt2", {"weight_dtype": ["float32"]}, r"axes\['weight_dtype'\] value 'float32': must be one of"),
        ("gpt2", {"weight_dtype": [8]}, r"axes\['weight_dtype'\] value 8: must be one of float16, int8"),
        ("gpt2", {"batch_matmul": ["gpu"]}, r"axes\['batch_matmul'\] value 'gpu': must be one of fused, cpu, inner_products"),
        ("gpt2", {"batch_matmul": [True]}, r"axes\['batch_matmul'\] value True: must be one of"),
        ("lenet5", {"weight_dtype": ["int8"]}, r"axes\['weight_dtype'\]: zoo network 'lenet5' takes no weight_dtype"),
        ("lenet5", {"batch_matmul": ["cpu"]}, r"axes\['batch_matmul'\]: zoo network 'lenet5' takes no batch_matmul"),
    ],
)
def test_bad_option_axes(networks, axes, message):
    with pytest.raises(ConfigError, match=message):
        sweep(networks, SYSTEM, axes, executor="serial", progress=False)


def test_generation_points_take_the_option_axes():
    """A sweep point with new_tokens runs simulate_generation with the point's weight_dtype and
    batch_matmul (a point labelled int8 holds int8's numbers)."""
    ds = sweep("gpt2", SYSTEM, {"seq_len": [8], "new_tokens": [2], "weight_dtype": ["float16", "int8"],
                                "batch_matmul": ["cpu", "inner_products"]}, executor="serial", progress=False)
    for wd in ("float16", "int8"):
        for bm in ("cpu", "inner_products"):
            g = simulate_generation("gpt2", SYSTEM, prompt_len=8, new_tokens=2, weight_dtype=wd, batch_matmul=bm)
            point = ds.sel(network="gpt2", seq_len=8, new_tokens=2, weight_dtype=wd, batch_matmul=bm)
            assert float(point["tpot_s"]) == g.tpot_s and float(point["ttft_s"]) == g.ttft_s


def test_option_axes_refuse_per_op():
    with pytest.raises(ConfigError, match=r"axes\['batch_matmul'\]: per_op=True needs one graph"):
        sweep("gpt2", SYSTEM, {"batch_matmul": ["cpu", "inner_products"]}, executor="serial", progress=False,
              per_op=True)


def test_cli_sweep_with_option_axes(tmp_path, capsys):
    """A TOML sweep spec names the axes as the Python API does; the store holds simulate's numbers."""
    xr = pytest.importorskip("xarray")
    spec = tmp_path / "s.toml"
    spec.write_text('networks = "gpt2"\npreset = "soc-2026-lpddr5"\n[axes]\nkv_len = [8]\n'
                    'weight_dtype = ["float16", "int8"]\nbatch_matmul = ["inner_products"]\n')
    assert main(["sweep", str(spec), "-o", str(tmp_path / "s.nc"), "--workers", "1"]) == 0
    with xr.open_dataset(tmp_path / "s.nc") as ds:
        for wd in ("float16", "int8"):
            want = simulate(zoo.transformer("gpt2", "decode", kv_len=8, weight_dtype=wd,
                                            batch_matmul="inner_products"), SYSTEM).latency_s
            got = ds["latency_s"].sel(network="gpt2", kv_len=8, weight_dtype=wd, batch_matmul="inner_products")
            assert float(got) == want
