"""A hostile user's inputs (issue 17): random System dicts with adversarial values and random graphs.

Every call ends within 10 s, either in a result that passes the physical property test (every time
and energy component finite and >= 0, the breakdowns summing to the totals) or in a named
SmaugFastError; never a crash inside a kernel, a hang or a NaN. Bounded to well under a minute.
"""

from __future__ import annotations

import math
import os
import signal
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from smaug_fast import Graph, System, nn, presets, simulate, tensor, zoo
from smaug_fast import math as smath
from smaug_fast.errors import SmaugFastError

#: Examples per test (SMAUG_FUZZ_EXAMPLES=1000 for a longer campaign; the default keeps CI under a minute).
EXAMPLES = int(os.environ.get("SMAUG_FUZZ_EXAMPLES", "40"))
LEAVES = [(path, value) for path, value, _ in System().describe() if path != "accelerator.kind"]
ADVERSARIAL = [0, -1, 1, 2, 3, 7, 2**31, 2**63, 1e30, -1e-9, 5e-324, float("nan"), float("inf"), "4MiB", "x", None,
               [], True, np.int32(64), np.float32(0.5)]


@contextmanager
def deadline(seconds: float):
    """Fail the test (not hang) when the body runs longer than ``seconds``."""
    def expired(signum, frame):
        raise TimeoutError(f"took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def check_result(r) -> None:
    """The physical properties every result must have."""
    values = [r.latency_s, r.energy_j, *r.breakdown_s.values(), *r.detail_s.values(),
              *r.energy_breakdown_j.values(), *r.energy_detail_j.values()]
    assert all(math.isfinite(v) and v >= 0 for v in values), (r.breakdown_s, r.energy_detail_j)
    assert sum(r.breakdown_s.values()) == pytest.approx(r.latency_s, rel=1e-9, abs=1e-18)
    assert sum(r.detail_s.values()) == pytest.approx(r.latency_s, rel=1e-9, abs=1e-18)
    assert sum(r.energy_breakdown_j.values()) == pytest.approx(r.energy_j, rel=1e-9, abs=1e-24)
    assert r.dram_read_bytes >= 0 and r.dram_write_bytes >= 0
    for op in r.ops:
        assert math.isfinite(op.latency_s) and op.latency_s >= 0 and op.energy_j >= 0, op.name
    assert sum(op.latency_s for op in r.ops) == pytest.approx(r.latency_s, rel=1e-9, abs=1e-18)


@pytest.fixture(scope="module", autouse=True)
def compiled_kernels():
    """Every preset's kernels compiled (or loaded from Numba's cache) before the timed calls: on a
    fresh machine a first simulate compiles for tens of seconds, which the deadline is not about."""
    for name in presets.names():
        simulate(zoo.load("minerva"), presets.load(name), timeline=False)
    for interface in ("acp", "acp_dma_weights"):  # the ACP's line-by-line cache engine
        simulate(zoo.load("minerva"), presets.load("smaug-table2", interface=interface), timeline=False)


@st.composite
def changes(draw):
    """A few System fields set to adversarial or merely unusual values."""
    picked = draw(st.lists(st.sampled_from(LEAVES), min_size=1, max_size=4, unique_by=lambda leaf: leaf[0]))
    out = {}
    for path, value in picked:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and draw(st.booleans()):
            out[path] = type(value)(value * draw(st.sampled_from([0.5, 2, 3, 0.25, 8])))
        else:
            out[path] = draw(st.sampled_from(ADVERSARIAL))
    return out


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(changes(), st.sampled_from(["minerva", "lenet5", "cnn10"]), st.sampled_from(presets.names()))
def test_random_systems_end_in_a_result_or_a_named_error(change, network, preset):
    with deadline(10):
        try:
            system = presets.load(preset, **change)
        except SmaugFastError as exc:
            event(f"system refused: {type(exc).__name__}")
            return
        try:
            r = simulate(zoo.load(network), system, timeline=False)
        except SmaugFastError as exc:
            event(f"simulate refused: {type(exc).__name__}")
            return
        event("simulated")
        check_result(r)


@st.composite
def graphs(draw):
    """A small random network: a chain of the ops SMAUG's networks use, on a random input."""
    dtype = draw(st.sampled_from(["float16", "float32"]))
    n, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 12)), draw(st.integers(1, 12))
    c = draw(st.integers(1, 48))
    with Graph("fuzz", dtype=dtype) as g:
        x = g.input((n, h, w, c))
        for _ in range(draw(st.integers(1, 5))):
            kind = draw(st.sampled_from(["conv", "depthwise", "pool", "act", "bn", "add", "mul", "fc"]))
            try:
                if kind == "conv":
                    x = nn.convolution(x, draw(st.integers(1, 40)), draw(st.integers(1, 3)),
                                       stride=draw(st.integers(1, 2)), padding=draw(st.sampled_from(["same", "valid"])),
                                       activation=draw(st.sampled_from([None, "relu", "elu"])))
                elif kind == "depthwise":
                    x = nn.depthwise_convolution(x, draw(st.integers(1, 3)))
                elif kind == "pool":
                    x = draw(st.sampled_from([nn.max_pool, nn.avg_pool]))(x, draw(st.integers(1, 2)))
                elif kind == "act":
                    x = nn.activation(x, draw(st.sampled_from(["relu", "sigmoid", "tanh", "elu", "lrelu"])))
                elif kind == "bn":
                    x = nn.batch_norm(x)
                elif kind in ("add", "mul"):
                    x = (smath.add if kind == "add" else smath.mul)(x, x)
                elif x.rank == 4:
                    x = nn.mat_mul(tensor.flatten(x), draw(st.integers(1, 64)))
            except SmaugFastError:
                continue  # an op this input cannot take (a window larger than the image, ...)
    return g


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(graphs(), st.sampled_from([1, 2, 8]), st.sampled_from(["dma", "acp", "acp_dma_weights"]), st.booleans())
def test_random_graphs_end_in_a_result_or_a_named_error(graph, accelerators, interface, small_spads):
    system = presets.load("smaug-table2", num_accelerators=accelerators, interface=interface, cpu_threads=2,
                          **({"accelerator.spad_bytes": "4KiB"} if small_spads else {}))
    with deadline(10):
        try:
            r = simulate(graph, system)
        except SmaugFastError as exc:
            event(f"simulate refused: {type(exc).__name__}")
            return
        event(f"simulated ({len(graph)} ops)")
        check_result(r)


@st.composite
def system_dicts(draw):
    """System().to_dict() with a few leaves set to adversarial values, a typo'd key or a wrong type."""
    d = System().to_dict()
    for path, value in draw(st.lists(st.sampled_from(LEAVES), min_size=1, max_size=4)):
        *parents, leaf = path.split(".")
        node = d
        for p in parents:
            node = node[p]
        node[leaf] = draw(st.sampled_from(ADVERSARIAL + [value]))
    if draw(st.booleans()):
        d[draw(st.sampled_from(["l2", "cpu", "dma"]))] = draw(st.sampled_from([3, "x", [], {"sise_bytes": 1}]))
    return d


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
@given(system_dicts())
def test_random_system_dicts_end_in_a_system_or_a_named_error(data):
    with deadline(10):
        try:
            system = System.from_dict(data)
        except SmaugFastError as exc:
            event(f"refused: {type(exc).__name__}")
            return
        event("built")
        assert System.from_dict(system.to_dict()) == system
        try:
            check_result(simulate(zoo.load("minerva"), system, timeline=False))
        except SmaugFastError:
            return
