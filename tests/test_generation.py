"""simulate_generation (issue 19): prefill and decode steps, interpolation against every step simulated,
memoized steps, the CLI command and bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import smaug_fast
from smaug_fast import ConfigError, WorkloadError, presets, simulate, simulate_generation, zoo
from smaug_fast.cli import main
from smaug_fast.memo import SIM_CACHE
from smaug_fast.sim.generation import interpolation_weights, sample_points

#: A two-layer Llama-style decoder (GQA, rotary, SwiGLU) small enough to simulate every step quickly.
TINY = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 256, "max_position_embeddings": 256}
SYSTEM = presets.load("soc-2026-lpddr5")


def test_exact_generation_is_the_sum_of_simulated_steps():
    """The slow, obvious reference: a prefill and one simulate per decode step, added up."""
    r = simulate_generation(TINY, SYSTEM, prompt_len=12, new_tokens=5, exact=True)
    pre = simulate(zoo.transformer(TINY, "prefill", seq_len=12), SYSTEM)
    steps = [simulate(zoo.transformer(TINY, "decode", kv_len=k), SYSTEM) for k in range(12, 16)]
    assert r.ttft_s == pre.latency_s
    assert r.step_s.tolist() == [s.latency_s for s in steps]
    assert r.step_kv_len.tolist() == [12, 13, 14, 15]
    assert r.tpot_s == pytest.approx(np.mean([s.latency_s for s in steps]), rel=1e-12)
    assert r.latency_s == pytest.approx(pre.latency_s + sum(s.latency_s for s in steps), rel=1e-12)
    assert r.energy_j == pytest.approx(pre.energy_j + sum(s.energy_j for s in steps), rel=1e-12)
    for p in ("accel_compute", "data_transfer", "cpu"):
        assert r.breakdown_s[p] == pytest.approx(pre.breakdown_s[p] + sum(s.breakdown_s[p] for s in steps), rel=1e-12)
    assert r.dram_read_bytes == pre.dram_read_bytes + sum(s.dram_read_bytes for s in steps)
    assert r.tokens_per_s == pytest.approx(1 / r.tpot_s)
    assert r.energy_per_token_j == pytest.approx(r.energy_j / 5)
    # the decode ops' rows are each op's sum over the steps
    assert [o.name for o in r.decode_ops] == [o.name for o in steps[0].ops]
    for i in (0, len(r.decode_ops) // 2, len(r.decode_ops) - 1):
        assert r.decode_ops[i].latency_s == pytest.approx(sum(s.ops[i].latency_s for s in steps), rel=1e-12)
    assert sum(o.latency_s for o in r.decode_ops) == pytest.approx(r.decode_s, rel=1e-9)


@pytest.mark.parametrize(("config", "prompt_len", "new_tokens", "samples"),
                         [(TINY, 8, 60, 4), (TINY, 100, 40, 3), ("gpt2", 32, 24, 5)])
def test_interpolated_steps_are_close_to_every_step_simulated(config, prompt_len, new_tokens, samples):
    """Sampled decode steps with linear interpolation between them: every step within 1 % of its exact
    value, the totals within 0.5 % (measured: 0.2 % and 0.01 % for GPT-2)."""
    approx = simulate_generation(config, SYSTEM, prompt_len=prompt_len, new_tokens=new_tokens, samples=samples)
    exact = simulate_generation(config, SYSTEM, prompt_len=prompt_len, new_tokens=new_tokens, exact=True)
    assert len(approx.samples) == samples and approx.samples[0] == prompt_len
    assert approx.samples[-1] == prompt_len + new_tokens - 2
    assert np.max(np.abs(approx.step_s / exact.step_s - 1)) < 0.01
    for get in (lambda r: r.latency_s, lambda r: r.energy_j, lambda r: r.dram_read_bytes, lambda r: r.tpot_s):
        assert get(approx) == pytest.approx(get(exact), rel=5e-3)
    # at the sampled steps the interpolation is the simulated value itself
    for k in approx.samples:
        i = k - prompt_len
        assert approx.step_s[i] == pytest.approx(exact.step_s[i], rel=1e-12)


def test_decode_simulations_do_not_grow_with_new_tokens():
    SIM_CACHE.clear()
    simulate_generation(TINY, SYSTEM, prompt_len=4, new_tokens=200, samples=3)
    stats = SIM_CACHE.stats()["generation_step"]
    assert stats.misses == 1 + 3  # the prefill and three decode steps for 199 steps
    # the same generation again is one lookup; another one reuses every step it shares
    first = simulate_generation(TINY, SYSTEM, prompt_len=4, new_tokens=200, samples=3)
    assert SIM_CACHE.stats()["generation"].hits == 1 and SIM_CACHE.stats()["generation_step"].misses == 4
    short = simulate_generation(TINY, SYSTEM, prompt_len=4, new_tokens=2)  # the prefill and kv_len 4
    after = SIM_CACHE.stats()["generation_step"]
    assert (after.misses, after.hits) == (4, stats.hits + 2)
    assert short.ttft_s == first.ttft_s and short.step_s[0] == first.step_s[0]


def test_sample_points_and_weights():
    assert sample_points(10, 12, 5).tolist() == [10, 11, 12]
    assert sample_points(0, 100, 3).tolist() == [0, 50, 100]
    pts = np.array([0, 50, 100])
    kv = np.arange(0, 101)
    w = interpolation_weights(pts, kv)
    assert np.allclose(w.sum(axis=1), 1.0)
    f = 3.0 * pts + 7.0  # an affine function is reproduced exactly
    assert np.allclose(w @ f, 3.0 * kv + 7.0)
    assert w[25].tolist() == [0.5, 0.5, 0.0]


def test_one_new_token_is_the_prefill():
    r = simulate_generation(TINY, SYSTEM, prompt_len=6, new_tokens=1)
    assert r.latency_s == r.ttft_s and len(r.step_s) == 0 and r.decode_ops == ()
    assert math.isnan(r.tpot_s) and math.isnan(r.tokens_per_s)
    assert r.energy_per_token_j == r.energy_j


def test_batch_and_dataset():
    r = simulate_generation(TINY, SYSTEM, prompt_len=8, new_tokens=6, batch=2)
    assert r.tokens_per_s == pytest.approx(2 / r.tpot_s)
    assert r.energy_per_token_j == pytest.approx(r.energy_j / 12)
    ds = r.to_dataset()
    assert ds.sizes["step"] == 5 and ds["kv_len"].values.tolist() == [8, 9, 10, 11, 12]
    assert ds["ttft_s"].attrs["units"] == "s" and float(ds["tpot_s"]) == r.tpot_s
    assert ds.sizes["op"] == len(r.decode_ops) and ds.sizes["prefill_op"] == len(r.prefill.ops)
    assert "TTFT" in r.summary()


def test_default_system_and_lazy_export():
    assert smaug_fast.simulate_generation is simulate_generation
    assert "simulate_generation" in smaug_fast.__all__
    r = simulate_generation(TINY, prompt_len=4, new_tokens=2)
    assert r.system == presets.load("soc-2026-lpddr5")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        (dict(prompt_len=0, new_tokens=4), WorkloadError, r"prompt_len = 0: must be an integer >= 1"),
        (dict(prompt_len=-3, new_tokens=4), WorkloadError, r"prompt_len = -3: must be an integer >= 1"),
        (dict(prompt_len=4, new_tokens=0), WorkloadError, r"new_tokens = 0: must be an integer >= 1"),
        (dict(prompt_len=4, new_tokens=True), WorkloadError, r"new_tokens = True: must be an integer >= 1"),
        (dict(prompt_len=4.0, new_tokens=2), WorkloadError, r"prompt_len = 4.0: must be an integer >= 1"),
        (dict(prompt_len=4, new_tokens=2, batch=0), WorkloadError, r"batch = 0: must be an integer >= 1"),
        (dict(prompt_len=300, new_tokens=2), WorkloadError, r"prompt_len = 300: exceeds the model's maximum of 256"),
        (dict(prompt_len=200, new_tokens=58), WorkloadError,
         r"new_tokens = 58: the context reaches 257 tokens .* maximum of 256 positions"),
        (dict(prompt_len=4, new_tokens=2, samples=1), ConfigError, r"samples = 1: must be an integer >= 2"),
        (dict(prompt_len=4, new_tokens=2, exact=1), ConfigError, r"exact = 1: must be True or False"),
    ],
)
def test_bad_input(kwargs, error, message):
    with pytest.raises(error, match=message):
        simulate_generation(TINY, SYSTEM, **kwargs)


def test_context_at_the_maximum_is_fine():
    r = simulate_generation(TINY, SYSTEM, prompt_len=250, new_tokens=7, samples=2)
    assert r.step_kv_len[-1] + 1 == 256


def test_bad_config_and_system():
    with pytest.raises(WorkloadError, match=r"model_type = 'bert': an encoder generates no tokens"):
        simulate_generation("bert-base-uncased", SYSTEM, prompt_len=4, new_tokens=2)
    with pytest.raises(WorkloadError, match=r"config\['num_hidden_layers'\]: missing"):
        simulate_generation({k: v for k, v in TINY.items() if k != "num_hidden_layers"}, SYSTEM,
                            prompt_len=4, new_tokens=2)
    with pytest.raises(ConfigError, match=r"system = .*: must be a smaug_fast System"):
        simulate_generation(TINY, "soc-2026-lpddr5", prompt_len=4, new_tokens=2)


def test_cli_generate(tmp_path, capsys):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(TINY))
    assert main(["generate", str(path), "--prompt-len", "8", "--new-tokens", "4", "--json", "--steps"]) == 0
    out = json.loads(capsys.readouterr().out)
    want = simulate_generation(str(path), SYSTEM, prompt_len=8, new_tokens=4)
    assert out["ttft_s"] == want.ttft_s and out["tpot_s"] == want.tpot_s
    assert out["step_kv_len"] == [8, 9, 10] and out["system"]["preset"] == "soc-2026-lpddr5"
    assert main(["generate", str(path), "--prompt-len", "8", "--new-tokens", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tpot_s"] is None
    assert main(["generate", str(path), "--prompt-len", "8", "--new-tokens", "3", "--set", "dram=LPDDR5X-8533"]) == 0
    text = capsys.readouterr().out
    assert "DRAM LPDDR5X-8533" in text and "TPOT" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["generate", "gpt2", "--prompt-len", "1000", "--new-tokens", "100"], "new_tokens = 100: the context reaches 1099"),
        (["generate", "bert-base-uncased", "--prompt-len", "4", "--new-tokens", "2"], "an encoder generates no tokens"),
        (["generate", "gpt3", "--prompt-len", "4", "--new-tokens", "2"], "config = 'gpt3'"),
        (["generate", "gpt2", "--prompt-len", "4", "--new-tokens", "2", "--preset", "soc-2027"], "preset = 'soc-2027'"),
    ],
)
def test_cli_generate_errors(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_cli_generate_argparse_errors(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["generate", "gpt2", "--prompt-len", "0", "--new-tokens", "2"])
    assert exc.value.code == 2
    assert "--prompt-len: 0 must be >= 1" in capsys.readouterr().err


def test_cli_generate_defaults_are_simulate_generations():
    """The CLI writes simulate_generation's defaults out (its parser must not import the simulator)."""
    from smaug_fast import cli
    from smaug_fast.sim import generation

    assert cli.GENERATE_DEFAULT_PRESET == generation.DEFAULT_PRESET
    assert cli.GENERATE_DEFAULT_SAMPLES == generation.DEFAULT_SAMPLES
