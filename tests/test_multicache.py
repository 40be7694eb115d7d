"""One L1 and many L2 configurations in one walk (``MultiL2``, kernels/multicache.py): every configuration's
counters equal those of that hierarchy run alone, by the plain-Python model of naive_cache.py and by
``CacheHierarchy``, on random traces with flushes, invalidations, ACP accesses and tile copies."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from naive_cache import Hierarchy, Level

from smaug_fast.errors import ConfigError
from smaug_fast.memory import CacheConfig, CacheHierarchy
from smaug_fast.memory.multi import MultiL2, multi_ok

COUNTERS = ("loads", "stores", "load_hits", "load_misses", "store_hits", "store_misses", "dirty_evictions",
            "clean_evictions", "writebacks", "fetches", "back_invalidations", "invalidations")


def _counts(stats):
    return [{k: getattr(s, k) for k in COUNTERS} for s in stats]


@st.composite
def hierarchies(draw):
    """An L1 and 1 to 6 L2s of its line size (LRU, any set count and associativity)."""
    line = 1 << draw(st.integers(2, 5))
    sets1, ways1 = draw(st.sampled_from([1, 2, 3, 4, 8])), draw(st.sampled_from([1, 2, 4]))
    l1 = CacheConfig(size_bytes=sets1 * ways1 * line, ways=ways1, line_bytes=line,
                     policy=draw(st.sampled_from(["lru", "fifo"])), name="l1d")
    l2s = []
    for _ in range(draw(st.integers(1, 6))):
        sets, ways = draw(st.sampled_from([1, 2, 3, 4, 8, 16])), draw(st.sampled_from([1, 2, 3, 4, 6, 8]))
        l2s.append(CacheConfig(size_bytes=sets * ways * line, ways=ways, line_bytes=line, name="l2"))
    return l1, l2s


operations = st.lists(
    st.tuples(st.sampled_from(["access", "acp", "flush", "invalidate"]), st.integers(0, 10_000),
              st.integers(1, 600)),
    min_size=1, max_size=8,
)


def _naive_acp(ref: Hierarchy, addr: int, write: bool) -> None:
    """An ACP access of one line at the L2, written out: the L1 writes its dirty copy back (and drops its
    copy on a write), then the L2 serves the access."""
    l1 = ref.levels[0]
    e = l1.find(addr // l1.line)
    if e is not None:
        if e[1]:
            e[1] = False
            l1.c["writebacks"] += 1
            ref.access(1, addr, l1.line, "wb")
        if write:
            l1.content[(addr // l1.line) % l1.sets].remove(e)
            l1.c["invalidations"] += 1
    ref.access(1, addr, l1.line, "store" if write else "load")


#: stack_min values: every set count a stack (1), shared set counts stacks (2), plain LRU sets only (7)
stack_mins = st.sampled_from([1, 2, 7])


@given(h=hierarchies(), ops=operations, stack_min=stack_mins)
def test_every_configuration_counts_as_alone(h, ops, stack_min):
    l1, l2s = h
    line = l1.line_bytes
    multi = MultiL2(l1, l2s, stack_min=stack_min)
    alone = [CacheHierarchy((l1, l2)) for l2 in l2s]
    naive = [Hierarchy([Level(c.size_bytes, c.ways, line, c.policy) for c in (l1, l2)]) for l2 in l2s]
    for kind, seed, n in ops:
        rng = np.random.default_rng(seed)
        if kind in ("access", "acp"):
            addrs = rng.integers(0, 96, n).astype(np.int64) * line
            w = rng.random(n) < 0.4
            if kind == "access":
                multi.access(addrs, w)
                for a in alone:
                    a.access(addrs, w, line)
                for ref in naive:
                    ref.run(addrs.tolist(), w.tolist(), line)
            else:
                multi.acp(addrs, w)
                for a in alone:
                    a.acp(addrs, w, line)
                for ref in naive:
                    for x, y in zip(addrs.tolist(), w.tolist(), strict=True):
                        _naive_acp(ref, x, y)
        else:
            addr, nbytes = int(rng.integers(0, 96 * line)), max(1, n * line // 8)
            getattr(multi, kind)(addr, nbytes)
            for a in alone:
                getattr(a, kind)(addr, nbytes)
            for ref in naive:
                ref.flush(addr, nbytes, discard=kind == "invalidate")
        for i in range(len(l2s)):
            assert _counts(multi.stats(i)) == _counts(alone[i].stats()) == naive[i].counters(), (i, kind)
            assert multi.memory_traffic(i) == alone[i].memory_traffic()
            assert dataclasses.asdict(multi.memory_traffic(i)) == naive[i].mem
        np.testing.assert_array_equal(multi.counters(), np.stack([a._cnt for a in alone]))


@given(h=hierarchies(), seed=st.integers(0, 10_000), esize=st.sampled_from([1, 2, 4]), stack_min=stack_mins)
def test_tile_copies_count_as_alone(h, seed, esize, stack_min):
    """``copy_tiles_multi`` between random accesses: per tile the counter changes of ``copy_tiles`` on each
    hierarchy alone."""
    from smaug_fast.kernels.copies import copy_tiles

    l1, l2s = h
    multi = MultiL2(l1, l2s, stack_min=stack_min)
    alone = [CacheHierarchy((l1, l2)) for l2 in l2s]
    rng = np.random.default_rng(seed)
    shape = np.array([1, *rng.integers(1, 7, 2), int(rng.integers(1, 40))], dtype=np.int64)
    for step in range(3):
        k = int(rng.integers(1, 5))
        origins = np.array([[int(rng.integers(0, n)) for n in shape] for _ in range(k)], dtype=np.int64)
        sizes = np.array([[int(rng.integers(1, n - o + 1)) for n, o in zip(shape, org, strict=True)]
                          for org in origins], dtype=np.int64)
        bases = 3000 + 4096 * np.arange(k, dtype=np.int64) + int(rng.integers(0, 64))
        a = rng.integers(0, 8192, 100).astype(np.int64) // l1.line_bytes * l1.line_bytes
        w = rng.random(100) < 0.5
        multi.access(a, w)
        runs, nbytes, d1, pos = multi.copy_tiles(shape, esize, 100 + step, origins, sizes, bases, step != 1)
        walked = multi.l2_counters(pos)
        delta = multi.arrange(d1, walked[1:] - walked[:-1])
        for i, hier in enumerate(alone):
            hier.access(a, w, l1.line_bytes)
            r1, b1, d1 = copy_tiles(shape, esize, 100 + step, origins, sizes, bases, step != 1, *hier._state())
            assert runs.tolist() == r1.tolist() and nbytes.tolist() == b1.tolist()
            assert delta[:, i].tolist() == d1.tolist()
        np.testing.assert_array_equal(multi.counters(), np.stack([a._cnt for a in alone]))


L1 = CacheConfig(size_bytes=1024, ways=2, line_bytes=32, name="l1d")
L2 = CacheConfig(size_bytes=8192, ways=4, line_bytes=32, name="l2")


@pytest.mark.parametrize(("change", "field"), [
    ({"policy": "fifo"}, "l2.policy = 'fifo'"),
    ({"write_back": False}, "l2.write_back = False"),
    ({"write_allocate": False}, "l2.write_allocate = False"),
    ({"line_bytes": 64, "size_bytes": 16384}, "l2.line_bytes = 64"),
])
def test_unsupported_l2_is_a_config_error_naming_the_field(change, field):
    bad = dataclasses.replace(L2, **change)
    assert field in multi_ok(L1, bad)
    with pytest.raises(ConfigError, match=f"l2s\\[1\\]: {field}"):
        MultiL2(L1, [L2, bad])


def test_bad_arguments_are_config_errors():
    with pytest.raises(ConfigError, match="l2s"):
        MultiL2(L1, [])
    with pytest.raises(ConfigError, match="l2s\\[0\\]"):
        MultiL2(L1, ["l2"])
    with pytest.raises(ConfigError, match="l1d.policy = 'random'"):
        MultiL2(dataclasses.replace(L1, policy="random"), [L2])
    with pytest.raises(ConfigError, match="stack_min = 0"):
        MultiL2(L1, [L2], stack_min=0)
    m = MultiL2(L1, [L2])
    with pytest.raises(ConfigError, match="negative address"):
        m.access([-32])
    with pytest.raises(ConfigError, match="nbytes"):
        m.flush(0, -1)
