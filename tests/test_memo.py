"""The simulator's one cache (SimCache) and the soundness of every memo keyed on it.

The field walk changes every leaf field of a System, one at a time, and checks that a run that
reuses everything memoized so far equals a run from an empty cache, to the last bit: a stage whose
key misses a field it depends on would return a stale result here.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from smaug_fast import ConfigError, presets, simulate, zoo
from smaug_fast.memo import SIM_CACHE, SimCache, memoized
from smaug_fast.sim import clear_caches

sys.path.insert(0, str(Path(__file__).resolve().parent / "golden"))
import golden  # noqa: E402

PACKAGE = Path(__file__).resolve().parents[1] / "smaug_fast"


def test_a_table_is_bounded_least_recently_used_and_counted():
    cache = SimCache()
    calls = []

    def compute(k):
        calls.append(k)
        return k * 10

    for k in (1, 2, 1, 3):  # 1 is used again, so 2 is the least recently used when 3 arrives
        assert cache.get("t", k, lambda k=k: compute(k), limit=2) == k * 10
    assert calls == [1, 2, 3]
    stats = cache.stats()["t"]
    assert (stats.hits, stats.misses, stats.size, stats.limit) == (1, 3, 2, 2)
    assert cache.get("t", 1, lambda: compute(1), limit=2) == 10 and calls == [1, 2, 3]
    assert cache.get("t", 2, lambda: compute(2), limit=2) == 20 and calls == [1, 2, 3, 2]
    cache.clear()
    assert len(cache) == 0 and cache.stats()["t"].hits == 0


def test_clear_keeps_only_the_tables_named():
    cache = SimCache()
    cache.get("a", 1, lambda: 1)
    cache.get("b", 1, lambda: 1)
    cache.clear(keep=("a",))
    assert cache.stats()["a"].size == 1 and cache.stats()["b"].size == 0


def test_a_failing_computation_stores_nothing():
    cache = SimCache()

    def boom():
        raise ConfigError("x = 1: no")

    with pytest.raises(ConfigError):
        cache.get("t", 1, boom)
    assert cache.stats()["t"].size == 0


def test_memoized_functions_share_the_one_cache():
    @memoized("test_square", limit=4)
    def square(x):
        return x * x

    assert square(3) == 9 and square(3) == 9
    assert SIM_CACHE.stats()["test_square"].hits >= 1
    clear_caches()
    assert SIM_CACHE.stats()["test_square"].size == 0


def test_clear_caches_empties_every_table():
    simulate(zoo.load("lenet5"), presets.load("smaug-table2"))
    assert len(SIM_CACHE) > 0
    clear_caches()
    assert len(SIM_CACHE) == 0
    simulate(zoo.load("lenet5"), presets.load("smaug-table2"))
    clear_caches(tiling=False)  # keeps the tables that depend on ops and accelerator only
    stats = SIM_CACHE.stats()
    assert stats["lowering"].size > 0 and stats["memory_record"].size == 0 and stats["kernel_inputs"].size == 0


def _module_level_memos(path: Path) -> list[str]:
    """lru_cache/functools.cache decorators anywhere, and module-level dicts named like caches."""
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in node.decorator_list:
                text = ast.unparse(d)
                if "lru_cache" in text or text.endswith(("functools.cache", "cache")) and "memoized" not in text:
                    found.append(f"{path.name}:{node.lineno} @{text}")
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        value = getattr(node, "value", None)
        for t in targets:
            name = getattr(t, "id", "")
            if isinstance(value, (ast.Dict, ast.Call)) and any(w in name.upper() for w in ("CACHE", "MEMO", "_SYSTEMS",
                                                                                              "_GRAPHS", "_GRAPH_OPS")):
                if not (isinstance(value, ast.Call) and ast.unparse(value.func) == "SimCache"):
                    found.append(f"{path.name}:{node.lineno} {name}")
    return found


def test_no_memo_lives_outside_the_sim_cache():
    found = [m for p in sorted(PACKAGE.rglob("*.py")) for m in _module_level_memos(p)]
    assert found == []


# --------------------------------------------------------------------------------------------------
# The field walk
# --------------------------------------------------------------------------------------------------

#: Other values of the string fields, by the field's last name.
_STRINGS = {
    "interface": ["acp", "acp_dma_weights"],
    "policy": ["fifo", "random"],
    "address_mapping": ["rorabgbacoch", "robgbarachco", "chrorabgbaco"],
    "dataflow": ["ws", "is"],
}


def _candidates(path: str, value):
    """Values other than ``value`` to try for field ``path`` (the first valid one is used)."""
    leaf = path.rsplit(".", 1)[-1]
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [value * 2, value + 1, value // 2, value - 1, value * 4]
    if isinstance(value, float):
        return [value * 2, value / 2, value + 1.0]
    if isinstance(value, str):
        return [v for v in _STRINGS.get(leaf, []) if v != value] + [f"{value}x"]
    return []


def _changed(system, path: str, value):
    for candidate in _candidates(path, value):
        try:
            return system.replace(**{path: candidate})
        except ConfigError:
            continue
    return None


def test_every_field_changed_alone_gives_the_fresh_result_from_a_warm_cache():
    base = presets.load("smaug-table2", cpu_threads=2, num_accelerators=2)
    graph = zoo.load("lenet5")
    unchanged = []
    clear_caches()
    simulate(graph, base)
    for path, value, _ in base.describe():
        if path == "accelerator.kind":
            continue
        system = _changed(base, path, value)
        if system is None:
            unchanged.append(path)
            continue
        warm = golden.result_record(simulate(graph, system))
        clear_caches()
        fresh = golden.result_record(simulate(graph, system))
        assert warm == fresh, path
        simulate(graph, base)  # warm the cache again with the base system
    assert unchanged == [], f"fields the walk could not change: {unchanged}"


def test_an_ops_key_sent_to_another_process_hashes_there():
    """str hashes are salted per process: a pickled OpsKey must not carry its old hash."""
    import os
    import pickle
    import subprocess

    key = zoo.load("lenet5").ops_key()
    blob = pickle.dumps(key).hex()
    code = (f"import pickle; k = pickle.loads(bytes.fromhex('{blob}')); "
            "print(hash(k) == hash(k.ops))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.strip() == "True", out.stderr


def test_a_dram_or_timing_change_reuses_the_memory_pass():
    """Issue 16: a DRAM-preset axis (or threads, clocks, DMA timing) costs no new cache pass."""
    graph, base = zoo.load("lenet5"), presets.load("smaug-table2")
    clear_caches()
    simulate(graph, base)
    passes = SIM_CACHE.stats()["memory_record"].misses
    for change in ({"dram": "HBM2"}, {"dram": "DDR4-3200"}, {"cpu_threads": 4}, {"cpu.freq_hz": 3e9},
                   {"dma.setup_cycles": 50}, {"num_accelerators": 4}):
        simulate(graph, base.replace(**change))
    assert SIM_CACHE.stats()["memory_record"].misses == passes
    simulate(graph, base.replace(**{"l2.size_bytes": "4MiB"}))  # a cache change does need one
    assert SIM_CACHE.stats()["memory_record"].misses == passes + 1
