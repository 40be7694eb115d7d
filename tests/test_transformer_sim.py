"""simulate on transformer graphs (issue 19, part 3): a GPT-2 decode step end to end, bounded below by
the DRAM roofline."""

from __future__ import annotations

from smaug_fast import presets, simulate, zoo
from smaug_fast.sim.timing import dram_profile


def test_gpt2_decode_step_runs_and_respects_the_dram_roofline():
    g = zoo.transformer("gpt2", phase="decode", kv_len=128)
    system = presets.load("smaug-table2")
    r = simulate(g, system)
    weight_bytes = g.num_params * 2  # fp16
    assert g.weight_bytes == weight_bytes  # every parameter is a weight some op reads
    kv_bytes = sum(g.tensor(n).nbytes for n in g.state_tensors)
    assert kv_bytes == 12 * 2 * 12 * 128 * 64 * 2  # layers x (K, V) x heads x kv_len x head size x fp16
    peak = dram_profile(system.dram).bandwidth_bytes_per_s  # [B/s]
    assert r.latency_s >= weight_bytes / peak
    assert r.latency_s >= (weight_bytes + kv_bytes) / peak
    assert r.dram_bytes >= weight_bytes + kv_bytes  # weights and the KV cache are read from DRAM each step
    assert abs(sum(r.breakdown_s.values()) - r.latency_s) <= 1e-9 * r.latency_s
    devices = {o.kind: o.device for o in r.ops}
    assert devices["inner_product"] == "accel" and devices["attention"] == devices["cache_append"] == "cpu"
    # a longer KV cache reads more and takes longer
    longer = simulate(zoo.transformer("gpt2", phase="decode", kv_len=512), system)
    assert longer.latency_s > r.latency_s and longer.dram_bytes > r.dram_bytes
