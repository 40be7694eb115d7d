"""The jitted cache hierarchy against the plain-Python model of tests/naive_cache.py."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from naive_cache import Hierarchy, Level, random_trace

from smaug_fast.errors import ConfigError
from smaug_fast.memory import CacheConfig, CacheHierarchy, CacheStats, simulate_caches

COUNTERS = [f.name for f in dataclasses.fields(CacheStats)][1:]


def _ours(stats):
    return [{k: getattr(s, k) for k in COUNTERS} for s in stats]


def _log(rec):
    """A record of memory requests as the naive model's log: (addr, bytes, write, source)."""
    cols = (rec.addr.tolist(), rec.nbytes.tolist(), rec.rw.astype(bool).tolist(), rec.source.tolist())
    return list(zip(*cols, strict=True))


def _naive(configs, inclusive=False, compat=False):
    return Hierarchy(
        [Level(c.size_bytes, c.ways, c.line_bytes, c.policy, c.write_back, c.write_allocate) for c in configs],
        inclusive=inclusive,
        compat=compat,
    )


level_strategy = st.builds(
    lambda sets, ways, line_log2, policy, wb, wa: CacheConfig(
        size_bytes=sets * ways * (1 << line_log2),
        ways=ways,
        line_bytes=1 << line_log2,
        policy=policy,
        write_back=wb,
        write_allocate=wa,
    ),
    sets=st.sampled_from([1, 2, 3, 4, 8]),
    ways=st.integers(1, 4),
    line_log2=st.integers(2, 5),
    policy=st.sampled_from(["lru", "fifo"]),
    wb=st.booleans(),
    wa=st.booleans(),
)


@given(
    levels=st.lists(level_strategy, min_size=1, max_size=3),
    seed=st.integers(0, 10_000),
    inclusive=st.booleans(),
    compat=st.booleans(),
    write_fraction=st.sampled_from([0.0, 0.3, 0.7]),
)
def test_matches_naive_model(levels, seed, inclusive, compat, write_fraction):
    addrs, writes, sizes = random_trace(seed, 300, 2048, write_fraction, max_bytes=12)
    h = CacheHierarchy(levels, inclusive=inclusive, pycachesim_compat=compat)
    rec = h.access(np.array(addrs), np.array(writes), np.array(sizes, dtype=np.int32), record=seed % 2 == 0)
    ref = _naive(levels, inclusive, compat)
    ref.run(addrs, writes, sizes)
    assert _ours(h.stats()) == ref.counters()
    mt = h.memory_traffic()
    assert dataclasses.asdict(mt) == ref.mem
    if rec is not None:
        got = _log(rec)
        assert got == ref.log


@pytest.mark.parametrize("line_l2", [32, 64, 128])
@pytest.mark.parametrize("policy", ["lru", "fifo"])
def test_common_configuration_fast_path_matches_naive(line_l2, policy):
    """Two realistic levels, aligned 8-byte accesses: the inline fast paths of the kernel."""
    l1 = CacheConfig(1024, 4, 32, policy=policy, name="l1")
    l2 = CacheConfig(8192, 8, line_l2, policy=policy, name="l2")
    rng = np.random.default_rng(1)
    addrs = (rng.integers(0, 4096, 20_000) * 8).astype(np.int64)
    addrs[::3] = np.arange(0, 8 * len(addrs[::3]), 8)  # a streaming part
    writes = rng.random(len(addrs)) < 0.3
    ours = simulate_caches(addrs, writes, [l1, l2], nbytes=8)
    ref = _naive([l1, l2])
    ref.run(addrs.tolist(), writes.tolist(), 8)
    assert _ours(ours) == ref.counters()


def test_state_persists_across_calls():
    levels = [CacheConfig(1024, 2, 32, name="l1"), CacheConfig(4096, 4, 64, name="l2")]
    addrs, writes, sizes = random_trace(3, 1000, 8192, 0.4)
    h = CacheHierarchy(levels)
    h.access(np.array(addrs[:400]), np.array(writes[:400]), np.array(sizes[:400]))
    h.access(np.array(addrs[400:]), np.array(writes[400:]), np.array(sizes[400:]))
    one = CacheHierarchy(levels)
    one.access(np.array(addrs), np.array(writes), np.array(sizes))
    assert h.stats() == one.stats()


def test_warm_cache_hits_after_reset_stats():
    h = CacheHierarchy([CacheConfig(1024, 2, 32)])
    a = np.arange(0, 512, 8)
    h.access(a)
    h.reset_stats()
    h.access(a)
    s = h.stats()[0]
    assert s.load_hits == len(a) and s.misses == 0


@pytest.mark.parametrize("compat", [False, True])
def test_read_only_counts_do_not_depend_on_compat(compat):
    levels = [CacheConfig(512, 2, 16), CacheConfig(2048, 4, 32)]
    addrs, _, sizes = random_trace(5, 2000, 16384, 0.0, max_bytes=20)
    a = simulate_caches(np.array(addrs), False, levels, np.array(sizes), pycachesim_compat=compat)
    b = simulate_caches(np.array(addrs), False, levels, np.array(sizes))
    assert a == b


def test_spanning_access_is_one_request_two_lookups():
    s = simulate_caches(np.array([60]), False, CacheConfig(1024, 2, 64), nbytes=8)[0]
    assert (s.loads, s.load_misses, s.fetches) == (1, 2, 2)


def test_dirty_writeback_allocates_in_l2_without_fetch():
    l1 = CacheConfig(64, 1, 64, name="l1")
    l2 = CacheConfig(64, 1, 64, name="l2")  # the write-back of line 0 evicts line 1 from l2
    h = CacheHierarchy([l1, l2])
    h.access(np.array([0, 64]), np.array([True, False]))
    l1s, l2s = h.stats()
    assert l1s.dirty_evictions == 1 and l2s.stores == 1 and l2s.store_misses == 1
    # l2 fetched line 0 (store miss in l1) and line 1 (load); the write-back of line 0, which missed
    # l2 because line 1 had replaced it, allocated without a third fetch (pycachesim fetches)
    assert l2s.fetches == 2 and h.memory_traffic().reads == 2
    compat = CacheHierarchy([l1, l2], pycachesim_compat=True)
    compat.access(np.array([0, 64]), np.array([True, False]))
    assert compat.memory_traffic().reads == 3


def test_random_policy_is_seeded_and_prefers_invalid_ways():
    cfg = CacheConfig(4 * 64, 4, 64, policy="random", seed=7)
    addrs = np.random.default_rng(0).integers(0, 64, 5000) * 64
    a = simulate_caches(addrs, False, cfg)
    b = simulate_caches(addrs, False, cfg)
    c = simulate_caches(addrs, False, dataclasses.replace(cfg, seed=8))
    assert a == b and a != c
    # four distinct lines fit: no eviction at all
    s = simulate_caches(np.array([0, 64, 128, 192] * 10), False, cfg)[0]
    assert s.misses == 4 and s.clean_evictions == 0


@pytest.mark.parametrize("discard", [False, True])
def test_flush_and_invalidate_match_naive(discard):
    levels = [CacheConfig(512, 2, 32), CacheConfig(2048, 4, 64)]
    addrs, writes, sizes = random_trace(11, 500, 4096, 0.5)
    h = CacheHierarchy(levels)
    h.access(np.array(addrs), np.array(writes), np.array(sizes))
    ref = _naive(levels)
    ref.run(addrs, writes, sizes)
    if discard:
        h.invalidate(1000, 3000)
    else:
        h.flush(1000, 3000)
    ref.flush(1000, 3000, discard)
    assert _ours(h.stats()) == ref.counters()
    assert dataclasses.asdict(h.memory_traffic()) == ref.mem
    assert not any(h.contains(1024)) and not any(h.contains(3968))


def test_flush_writes_dirty_data_to_memory_and_empties_caches():
    h = CacheHierarchy([CacheConfig(1024, 2, 32), CacheConfig(4096, 4, 64)])
    h.access(np.arange(0, 256, 8), True)
    assert h.memory_traffic().writes == 0
    h.flush(0, 256)
    assert h.memory_traffic().writes == 256 // 64
    assert h.memory_traffic().write_bytes == 256
    assert not any(h.contains(0))


def test_acp_write_drops_upper_copies_and_lands_in_llc():
    h = CacheHierarchy([CacheConfig(1024, 2, 32, name="l1"), CacheConfig(4096, 4, 64, name="l2")])
    h.access(np.array([0]), True)  # dirty in l1
    h.acp(np.array([0]), True)
    assert h.contains(0) == [False, True]
    l1, l2 = h.stats()
    assert l1.writebacks == 1 and l1.invalidations == 1
    h.acp(np.array([4096]), False)  # an ACP read misses the LLC and fills it, not l1
    assert h.contains(4096) == [False, True]


def test_inclusive_back_invalidates():
    l1 = CacheConfig(256, 4, 32, name="l1")
    l2 = CacheConfig(256, 1, 64, name="l2")  # 4 sets, 1 way
    h = CacheHierarchy([l1, l2], inclusive=True)
    h.access(np.array([0, 256]))  # same l2 set: line 0 evicted from l2 and so from l1
    assert h.contains(0) == [False, False]
    assert h.stats()[0].back_invalidations == 1
    nine = CacheHierarchy([l1, l2])
    nine.access(np.array([0, 256]))
    assert nine.contains(0) == [True, False]


def test_large_trace_is_not_copied(monkeypatch):
    """int64 addresses and uint8/bool flags reach the kernel as the caller's own buffers."""
    from smaug_fast.memory import cache as mod

    seen = {}
    real = mod._k.run_accesses

    def spy(addrs, is_write, *rest):
        seen["addrs"], seen["w"] = addrs, is_write
        return real(addrs, is_write, *rest)

    monkeypatch.setattr(mod._k, "run_accesses", spy)
    a = np.arange(0, 800, 8, dtype=np.int64)
    w = np.zeros(100, dtype=bool)
    CacheHierarchy(CacheConfig()).access(a, w)
    assert np.shares_memory(seen["addrs"], a) and np.shares_memory(seen["w"], w)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"size_bytes": 32, "line_bytes": 64, "ways": 1}, "line_bytes = 64: larger than the cache"),
        ({"line_bytes": 48}, "line_bytes = 48: must be a power of two"),
        ({"size_bytes": 1000}, "size_bytes = 1000: must be a multiple"),
        ({"ways": 0}, "ways = 0: must be >= 1"),
        ({"policy": "plru"}, "policy = 'plru'"),
        ({"write_back": 1}, "write_back = 1"),
        ({"size_bytes": 1.5}, "size_bytes = 1.5: must be an integer"),
    ],
)
def test_bad_config_names_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field.replace("(", r"\(").replace("*", r"\*")):
        CacheConfig(name="l2", **kwargs)
    with pytest.raises(ConfigError, match="l2."):
        CacheConfig(name="l2", **kwargs)


def test_from_dict_rejects_unknown_keys():
    with pytest.raises(ConfigError, match=r"l1\.sise_bytes: unknown field"):
        CacheConfig.from_dict({"sise_bytes": 1024}, owner="l1")
    assert CacheConfig.from_dict({"size_bytes": 1024, "ways": 2}, owner="l1").sets == 8


def test_compat_random_needs_power_of_two_ways():
    cfg = CacheConfig(3 * 64, 3, 64, policy="random")
    with pytest.raises(ConfigError, match=r"levels\[0\]\.ways = 3"):
        CacheHierarchy([cfg], pycachesim_compat=True)
    CacheHierarchy([cfg])  # our own random policy takes any number of ways


def test_non_power_of_two_sets_are_fine():
    cfg = CacheConfig(3 * 2 * 64, 2, 64)
    assert cfg.sets == 3
    addrs, writes, sizes = random_trace(2, 500, 4096, 0.3)
    ours = simulate_caches(np.array(addrs), np.array(writes), cfg, np.array(sizes))
    ref = _naive([cfg])
    ref.run(addrs, writes, sizes)
    assert _ours(ours) == ref.counters()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: simulate_caches(np.array([-8, 0]), False, CacheConfig()), "addrs: negative address -8 at index 0"),
        (
            lambda: simulate_caches(np.array([0, 8]), np.array([True]), CacheConfig()),
            r"is_write: length 1 != len\(addrs\) = 2",
        ),
        (
            lambda: simulate_caches(np.array([0, 8]), False, CacheConfig(), np.array([8])),
            r"nbytes: length 1 != len\(addrs\) = 2",
        ),
        (lambda: simulate_caches(np.array([0]), False, CacheConfig(), 0), "nbytes = 0"),
        (lambda: simulate_caches(np.array([0.5]), False, CacheConfig()), "addrs: must hold integers"),
        (lambda: simulate_caches(np.array([0]), np.array([2]), CacheConfig()), "is_write: values must be 0"),
        (lambda: simulate_caches(np.array([0]), False, []), "levels = "),
        (lambda: simulate_caches(np.array([0]), False, [CacheConfig(), "l2"]), r"levels\[1\]"),
        (lambda: CacheHierarchy(CacheConfig()).access(np.array([0]), level=1), "level = 1"),
        (lambda: CacheHierarchy(CacheConfig()).flush(-1, 8), "addr = -1"),
        (lambda: CacheHierarchy(CacheConfig(), inclusive="yes"), "inclusive = 'yes'"),
    ],
)
def test_bad_input_raises_config_error(call, message):
    with pytest.raises(ConfigError, match=message):
        call()


def test_recorded_memory_requests_feed_the_dram_model():
    """A long streaming copy: the record grows as needed and matches the memory counters."""
    from smaug_fast.memory import DRAM
    from smaug_fast.traces import Trace, cpu, dma

    n = 50_000
    addrs = np.empty(2 * n, np.int64)
    addrs[0::2] = np.arange(n) * 8
    addrs[1::2] = (1 << 24) + np.arange(n) * 8
    rw = np.zeros(2 * n, np.uint8)
    rw[1::2] = 1
    req = np.where(np.arange(2 * n) % 4 == 1, dma(0), cpu(1)).astype(np.int16)
    trace = Trace.from_arrays(addrs, 8, rw, req, np.arange(2 * n) // 1000)
    h = CacheHierarchy([CacheConfig(1024, 2, 64), CacheConfig(8192, 4, 64)])
    out = h.run(trace, record=True)
    mt = h.memory_traffic()
    assert len(out) == mt.reads + mt.writes and int((out.rw == 0).sum()) == mt.reads
    assert np.all(np.diff(out.source) >= 0) and out.source.max() < 2 * n
    assert np.array_equal(out.requester, trace.requester[out.source])
    assert np.array_equal(out.tile, trace.tile[out.source])
    assert (out.addr % 64 == 0).all() and (out.nbytes == 64).all()
    s = DRAM("DDR4-3200").run(out.to_trace())
    assert s.reads == mt.reads and s.writes == mt.writes
    # recording changes nothing
    plain = CacheHierarchy([CacheConfig(1024, 2, 64), CacheConfig(8192, 4, 64)])
    plain.run(trace)
    assert plain.stats() == h.stats()


def test_run_checks_the_trace_columns():
    from smaug_fast.traces import Trace

    h = CacheHierarchy(CacheConfig())
    good = Trace.from_arrays(np.array([0, 64]), 8, np.array([0, 1], np.uint8))
    h.run(good)
    assert h.stats()[0].loads == 1 and h.stats()[0].stores == 1
    bad_rw = Trace(good.addr, good.nbytes, np.array([0, 9], np.uint8), good.requester, good.tile)
    with pytest.raises(ConfigError, match="trace.rw: code 9"):
        h.run(bad_rw)
    neg = Trace(np.array([0, -64]), good.nbytes, good.rw, good.requester, good.tile)
    with pytest.raises(ConfigError, match="trace.addr: negative address -64 at index 1"):
        h.run(neg)
    wrong = Trace(good.addr.astype(np.int32), good.nbytes, good.rw, good.requester, good.tile)
    with pytest.raises(ConfigError, match="trace.addr: expected a int64 array"):
        h.run(wrong)
    with pytest.raises(ConfigError, match="record = 1"):
        h.run(good, record=1)
    assert len(h.run(Trace.empty(), record=True)) == 0


@pytest.mark.parametrize(
    "levels",
    [
        [CacheConfig(4, 1, 4, write_back=False, write_allocate=True)],
        [CacheConfig(32, 1, 32), CacheConfig(4, 1, 4, write_back=False, write_allocate=False)],
        [CacheConfig(64, 2, 8), CacheConfig(256, 2, 32), CacheConfig(512, 1, 64)],
    ],
)
def test_record_holds_many_requests_per_access(levels):
    """Wide accesses over tiny lines: one access can send many requests to memory; the record
    must make room before each access (a regression: it once overflowed its buffer)."""
    addrs, writes, sizes = random_trace(5038, 3000, 4096, 0.7, max_bytes=40)
    h = CacheHierarchy(levels)
    rec = h.access(np.array(addrs), np.array(writes), np.array(sizes, dtype=np.int32), record=True)
    ref = _naive(levels)
    ref.run(addrs, writes, sizes)
    got = _log(rec)
    assert got == ref.log


def test_counter_differences_isolate_one_phase():
    h = CacheHierarchy([CacheConfig(1024, 2, 32), CacheConfig(4096, 4, 64)])
    h.access(np.arange(0, 512, 8), True)
    before, mem_before = h.stats(), h.memory_traffic()
    h.flush(0, 512)
    after, mem_after = h.stats(), h.memory_traffic()
    d1, d2 = (a - b for a, b in zip(after, before, strict=True))
    dm = mem_after - mem_before
    assert d1.loads == 0 and d1.invalidations == 512 // 32 and d1.writebacks == 512 // 32
    assert dm.writes == 512 // 64 and dm.reads == 0 and dm.write_bytes == 512


# -- the run paths against the line-by-line path ------------------------------------------------------

any_level = st.builds(
    lambda sets, ways, line_log2, policy, wb, wa: CacheConfig(
        size_bytes=sets * ways * (1 << line_log2), ways=ways, line_bytes=1 << line_log2, policy=policy,
        write_back=wb, write_allocate=wa),
    sets=st.sampled_from([1, 2, 3, 4, 8, 16]),
    ways=st.sampled_from([1, 2, 4, 8]),
    line_log2=st.integers(2, 6),
    policy=st.sampled_from(["lru", "fifo", "random"]),
    wb=st.booleans(),
    wa=st.booleans(),
)


def _state_of(h):
    """Everything the hierarchy holds: contents, LRU/FIFO stamps, dirty bits, counters, clock, seeds."""
    return [a.tolist() for a in (h._tags, h._stamp, h._dirty, h._cnt, h._glob)]


def _pair(levels, inclusive, compat):
    if compat:
        levels = [dataclasses.replace(c, ways=1 << (c.ways.bit_length() - 1)) for c in levels]
    fast = CacheHierarchy(levels, inclusive=inclusive, pycachesim_compat=compat)
    slow = CacheHierarchy(levels, inclusive=inclusive, pycachesim_compat=compat)
    slow.linewise = True
    return fast, slow


@given(
    levels=st.lists(any_level, min_size=1, max_size=3),
    seed=st.integers(0, 10_000),
    inclusive=st.booleans(),
    compat=st.booleans(),
    ops=st.lists(st.tuples(st.integers(0, 4096), st.integers(1, 2048), st.booleans()), min_size=1, max_size=6),
)
def test_flush_fast_writebacks_match_line_by_line(levels, seed, inclusive, compat, ops):
    """Flushes and invalidations between random traces: the direct write-backs of ``_flush_entry``
    leave exactly the state the request stack of ``_process`` leaves."""
    fast, slow = _pair(levels, inclusive, compat)
    assert slow.linewise and not fast.linewise
    rng = np.random.default_rng(seed)
    for addr, nbytes, discard in ops:
        a = rng.integers(0, 4096, 200).astype(np.int64)
        w = rng.random(200) < 0.6
        for h in (fast, slow):
            h.access(a, w, 8)
            (h.invalidate if discard else h.flush)(addr, nbytes)
        assert _state_of(fast) == _state_of(slow)


def test_linewise_survives_reset():
    h = CacheHierarchy([CacheConfig(1024, 2, 32)])
    h.linewise = True
    h.reset()
    assert h.linewise


def _lru_order(h):
    """Per level and set, the lines held from least to most recently used (filled, for FIFO), and the
    dirty ones: what decides every later hit and victim (the stamps' values themselves may differ)."""
    out = []
    for j, c in enumerate(h._cfg.tolist()):
        sets, ways, base = c[0], c[1], c[6]
        for s in range(sets):
            sl = slice(base + s * ways, base + (s + 1) * ways)
            tags, stamp, dirty = h._tags[sl], h._stamp[sl], h._dirty[sl]
            order = np.argsort(stamp, kind="stable")
            out.append((j, s, [(int(tags[k]), int(dirty[k])) for k in order if tags[k] >= 0]))
    return out


def _random_tiles(rng, shape):
    origins, sizes = [], []
    for _ in range(int(rng.integers(1, 5))):
        o = [int(rng.integers(0, n)) for n in shape]
        origins.append(o)
        sizes.append([int(rng.integers(1, n - oi + 1)) for n, oi in zip(shape, o, strict=True)])
    return np.array(origins, dtype=np.int64), np.array(sizes, dtype=np.int64)


@given(
    l1=any_level,
    l2=any_level,
    common=st.booleans(),
    seed=st.integers(0, 10_000),
    inclusive=st.booleans(),
    compat=st.booleans(),
    esize=st.sampled_from([1, 2, 4]),
)
def test_copy_runs_match_line_by_line(l1, l2, common, seed, inclusive, compat, esize):
    """Tiling and untiling copies between random accesses: the run path (``copy_runs``, used where
    ``copy_runs_ok``) leaves the counters, contents, dirty bits and LRU/FIFO order of the line-by-line
    path through ``run_accesses``, per tile."""
    from smaug_fast.kernels.copies import copy_tiles

    from smaug_fast.kernels.cache import copy_runs_ok

    if common:  # half the examples in the configuration of the run path, the others mostly not
        l1, l2 = (dataclasses.replace(c, policy="fifo" if c.policy == "fifo" else "lru", write_back=True,
                                      write_allocate=True) for c in (l1, l2))
        l2 = dataclasses.replace(l2, size_bytes=l2.sets * l2.ways * l1.line_bytes, line_bytes=l1.line_bytes)
        inclusive = compat = False
    fast, slow = _pair([l1, l2], inclusive, compat)
    assert not common or copy_runs_ok(fast._cfg, fast._glob, fast._memo)
    assert not copy_runs_ok(slow._cfg, slow._glob, slow._memo)
    rng = np.random.default_rng(seed)
    shape = np.array([1, *rng.integers(1, 7, 2), int(rng.integers(1, 40))], dtype=np.int64)
    for step in range(3):
        origins, sizes = _random_tiles(rng, shape.tolist())
        bases = 3000 + 4096 * np.arange(len(origins), dtype=np.int64) + int(rng.integers(0, 64))
        a = rng.integers(0, 8192, 100).astype(np.int64)
        w = rng.random(100) < 0.5
        outs = []
        for h in (fast, slow):
            h.access(a, w, 4)
            # the fast hierarchy keeps copy_runs's hints across the random accesses between copies
            outs.append(copy_tiles(shape, esize, 100 + step, origins, sizes, bases, step != 1, *h._state(),
                                   hint=h._hint))
        for x, y in zip(*outs, strict=True):
            assert x.tolist() == y.tolist()
        assert _ours(fast.stats()) == _ours(slow.stats())
        assert dataclasses.asdict(fast.memory_traffic()) == dataclasses.asdict(slow.memory_traffic())
        assert _lru_order(fast) == _lru_order(slow)


@settings(max_examples=150, deadline=None)
@given(l1_sets=st.sampled_from([1, 2]), l1_ways=st.sampled_from([1, 2]), l2_mult=st.sampled_from([1, 2, 4]),
       l2_ways=st.sampled_from([2, 4]), fifo=st.booleans(), seed=st.integers(0, 10_000))
def test_copy_runs_hints_survive_other_kernels(l1_sets, l1_ways, l2_mult, l2_ways, fifo, seed):
    """Tiny caches, copies through ``copy_runs`` with its hints kept across calls, and between them
    accesses, flushes and invalidations by the other kernels, which move lines without updating the
    hints: the counters, contents, dirty bits and order equal the line-by-line path's at every step."""
    from smaug_fast.kernels.copies import copy_tiles

    policy = "fifo" if fifo else "lru"
    levels = [CacheConfig(32 * l1_sets * l1_ways, l1_ways, 32, name="l1", policy=policy),
              CacheConfig(32 * l1_sets * l2_mult * l2_ways, l2_ways, 32, name="l2", policy=policy)]
    fast, slow = _pair(levels, False, False)
    rng = np.random.default_rng(seed)
    shape = np.array([1, 1, 4, 16], dtype=np.int64)  # 64 fp16 elements: four 32-B lines per row of 16
    for step in range(8):
        a = rng.integers(0, 32, 6).astype(np.int64) * 32  # a few lines that collide in the tiny sets
        w = rng.random(6) < 0.6
        origin = np.array([[0, 0, int(rng.integers(0, 4)), 0]], dtype=np.int64)
        size = np.array([[1, 1, 1, 16]], dtype=np.int64)
        host = 64 * int(rng.integers(0, 8))
        bases = np.array([512 + 32 * int(rng.integers(0, 16))], dtype=np.int64)
        outs = []
        for h in (fast, slow):
            h.access(a, w, 8)
            if step % 3 == 2:
                h.flush(int(a[0]), 64)
                h.invalidate(int(a[1]), 32)
            extra = {"hint": h._hint} if h is fast else {}
            outs.append(copy_tiles(shape, 2, host, origin, size, bases, step % 2 == 0, *h._state(), **extra))
        for x, y in zip(*outs, strict=True):
            assert x.tolist() == y.tolist()
        assert _lru_order(fast) == _lru_order(slow), step
        assert _ours(fast.stats()) == _ours(slow.stats())
