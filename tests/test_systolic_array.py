"""The SCALE-Sim-exact systolic array as the accelerator of a System (SMAUG's second backend)."""

from __future__ import annotations

import dataclasses

import pytest

from smaug_fast import ConfigError, Graph, System, nn, presets, simulate, zoo
from smaug_fast.accelerators import SMV, Systolic, SystolicArray
from smaug_fast.accelerators.systolic_array import PAPER_ARRAY


def _one_tile_conv():
    with Graph("c") as g:
        x = g.input((1, 10, 10, 16))
        nn.convolution(x, 8, 3, padding="valid", name="conv")
    return g


def test_single_tile_conv_costs_one_scalesim_layer():
    acc = SystolicArray()
    op = _one_tile_conv().op("conv")
    plan = acc.tile(op)
    sched = plan.schedule(1)
    assert len(sched) == 1  # 10x10x16 input, 8x3x3x16 weights: one tile each
    costs = acc.schedule_costs(op, plan, sched)
    # the same layer through the SCALE-Sim model directly (input 10x10, 3x3 filter, 16 ch, 8 maps)
    report = PAPER_ARRAY.conv_layer(10, 10, 3, 3, 16, 8)
    assert int(costs.compute_cycles[0]) == report.total_cycles
    assert int(costs.macs[0]) == op.macs == report.macs


def test_other_ops_run_on_the_vector_units():
    acc = SystolicArray()
    smv = SMV()
    g = zoo.load("cnn10")
    for op in g:
        if op.kind in ("max_pool", "batch_norm"):
            plan = acc.tile(op)
            a = acc.schedule_costs(op, plan, plan.schedule(1))
            b = smv.schedule_costs(op, smv.tile(op), smv.tile(op).schedule(1))
            assert list(a.compute_cycles) == list(b.compute_cycles)


def test_usable_in_a_system_with_dotted_changes():
    system = presets.load("smaug-table2", accelerator=SystolicArray())
    assert System.from_dict(system.to_dict()) == system
    bigger = system.replace(**{"accelerator.array.rows": 32, "accelerator.array.cols": 32})
    g = zoo.load("vgg16")
    small_r, big_r = simulate(g, system), simulate(g, bigger)
    assert big_r.breakdown_s["accel_compute"] < small_r.breakdown_s["accel_compute"]
    assert sum(big_r.breakdown_s.values()) == pytest.approx(big_r.latency_s)


def test_dataflows_differ_and_clock_must_match():
    g = zoo.load("lenet5")
    times = set()
    for df in ("os", "ws", "is"):
        acc = SystolicArray(array=dataclasses.replace(PAPER_ARRAY, dataflow=df))
        times.add(simulate(g, presets.load("smaug-table2", accelerator=acc)).breakdown_s["accel_compute"])
    assert len(times) == 3
    with pytest.raises(ConfigError, match=r"array.freq_hz = 2e\+09: must equal vector.freq_hz"):
        SystolicArray(array=dataclasses.replace(PAPER_ARRAY, freq_hz=2e9))


def test_user_mode_driven_by_the_dram_model():
    from smaug_fast.accelerators import DRAMModelInterface, Systolic
    from smaug_fast.memory import preset

    array = Systolic(rows=32, cols=32, dataflow="ws")
    calc = array.conv_layer(28, 28, 3, 3, 64, 128)
    slow = array.conv_layer(28, 28, 3, 3, 64, 128, dram=DRAMModelInterface(preset("LPDDR4-3200-2ch-x16"), 1e9, 1))
    fast = array.conv_layer(28, 28, 3, 3, 64, 128, dram=DRAMModelInterface(preset("HBM2"), 1e9, 1))
    assert fast.stall_cycles <= slow.stall_cycles
    assert slow.total_cycles >= fast.total_cycles >= calc.total_cycles
    # the interface's bandwidth is the DRAM model's, below the preset's peak
    lp = DRAMModelInterface(preset("LPDDR4-3200-2ch-x16"), 1e9, 1)
    assert 0 < lp.words_per_cycle() * 1e9 <= preset("LPDDR4-3200-2ch-x16").peak_bandwidth_bytes_per_s


@pytest.mark.parametrize("rows, cols", [(1, 1), (4, 8), (8, 8)])
def test_energy_components_are_never_negative(rows, cols):
    # The array's tiles carry no leakage; the simulator charged it as if they did and subtracted it
    # from their dynamic energy (a 1x1 array on LeNet5 gave -4.5e-6 J of accelerator dynamic energy).
    system = presets.load("smaug-table2", accelerator=SystolicArray(array=Systolic(rows, cols)))
    r = simulate(zoo.load("lenet5"), system)
    assert all(v >= 0 for v in r.energy_detail_j.values()), r.energy_detail_j
    assert r.energy_detail_j["accel_fu_dynamic"] > 0 and r.energy_detail_j["accel_leakage"] > 0
