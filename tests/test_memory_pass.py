"""The memory pass of the end-to-end simulator: tiling copies through the caches, tile geometry."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from naive_cache import Hierarchy, Level

from smaug_fast import presets, zoo
from smaug_fast.kernels.copies import copy_tiles
from smaug_fast.memory import CacheConfig, CacheHierarchy
from smaug_fast.sim.lowering import lower
from smaug_fast.sim.memory_pass import CopyStats, tile_boxes, tile_storage_bytes

L1 = CacheConfig(size_bytes=512, ways=2, line_bytes=32, name="l1")
L2 = CacheConfig(size_bytes=2048, ways=4, line_bytes=32, name="l2")


def _naive_copy_accesses(shape, esize, host, origin, size, buf, gather, line):
    """Line accesses of one tile copy, from the definition: the box's elements in row-major order,
    grouped into runs of consecutive tensor addresses (one memcpy each), each run reading its
    source lines and writing its destination lines, alternating."""
    strides = [int(np.prod(shape[d + 1:])) for d in range(4)]
    elems = [sum(i * s for i, s in zip(idx, strides))
             for idx in itertools.product(*(range(o, o + z) for o, z in zip(origin, size)))]
    runs = []
    for e in elems:
        if runs and e == runs[-1][0] + runs[-1][1]:
            runs[-1][1] += 1
        else:
            runs.append([e, 1])
    out = []
    offset = 0
    for start, count in runs:
        nbytes = count * esize
        t_addr = host + start * esize
        b_addr = buf + offset
        offset += nbytes
        src, dst = (t_addr, b_addr) if gather else (b_addr, t_addr)
        s_lines = list(range(src // line, (src + nbytes - 1) // line + 1))
        d_lines = list(range(dst // line, (dst + nbytes - 1) // line + 1))
        for c in range(max(len(s_lines), len(d_lines))):
            if c < len(s_lines):
                out.append((s_lines[c] * line, False))
            if c < len(d_lines):
                out.append((d_lines[c] * line, True))
    return len(runs), offset, out


boxes = st.tuples(st.integers(1, 2), st.integers(1, 5), st.integers(1, 5), st.integers(1, 24)).flatmap(
    lambda shape: st.tuples(
        st.just(shape),
        st.lists(
            st.tuples(*(st.integers(0, n - 1) for n in shape)).flatmap(
                lambda o: st.tuples(st.just(o), st.tuples(*(st.integers(1, n - oi) for n, oi in zip(shape, o))))
            ),
            min_size=1,
            max_size=4,
        ),
    )
)


@settings(max_examples=40, deadline=None)
@given(box=boxes, esize=st.sampled_from([2, 4]), gather=st.booleans())
def test_copy_tiles_matches_naive_copy_and_cache(box, esize, gather):
    shape, tiles = box
    host, line = 4096 + 6, 32
    origins = np.array([t[0] for t in tiles], dtype=np.int64)
    sizes = np.array([t[1] for t in tiles], dtype=np.int64)
    bases = np.array([65536 + 8192 * i + 10 * i for i in range(len(tiles))], dtype=np.int64)
    h = CacheHierarchy((L1, L2))
    runs, nbytes, delta = copy_tiles(np.array(shape, dtype=np.int64), esize, host, origins, sizes, bases, gather,
                                     *h._state())
    ref = Hierarchy([Level(c.size_bytes, c.ways, c.line_bytes) for c in (L1, L2)])
    for t, (origin, size) in enumerate(tiles):
        before = ([dict(L.c) for L in ref.levels], dict(ref.mem))
        n_runs, n_bytes, accesses = _naive_copy_accesses(shape, esize, host, origin, size, int(bases[t]), gather, line)
        ref.run([a for a, _ in accesses], [w for _, w in accesses], line)
        assert runs[t] == n_runs and nbytes[t] == n_bytes
        for lv, L in enumerate(ref.levels):
            got = delta[t, lv]
            want = {k: L.c[k] - before[0][lv][k] for k in L.c}
            assert (got[0], got[1], got[2], got[3], got[4], got[5]) == (
                want["loads"], want["stores"], want["load_hits"], want["load_misses"], want["store_hits"],
                want["store_misses"]), (t, lv)
        assert delta[t, 2, 2] == ref.mem["read_bytes"] - before[1]["read_bytes"]
        assert delta[t, 2, 3] == ref.mem["write_bytes"] - before[1]["write_bytes"]


def test_tile_geometry_matches_the_plan():
    system = presets.load("smaug-table2")
    for name in ("lenet5", "resnet50", "lstm"):
        for op in zoo.load(name).topological_order():
            if not system.accelerator.supports(op):
                continue
            low = lower(op, system.accelerator)
            for tiling in low.plan.tensors:
                sizes = tile_storage_bytes(tiling, low.itemsize)
                assert sizes.tolist() == [tiling.storage_of(i) * low.itemsize for i in range(tiling.num_tiles)]
                shape, origins, extents = tile_boxes(tiling)
                assert len(origins) == tiling.num_tiles
                if tiling.layout == "NHWC" and len(tiling.shape) == 4:
                    for i in range(tiling.num_tiles):
                        o, z = tiling.tile(i)
                        assert origins[i].tolist() == list(o) and extents[i].tolist() == list(z)
                assert ((origins + extents) <= shape).all()


def test_copy_stats_from_counter_changes():
    d = np.zeros((2, 3, 12), dtype=np.int64)
    d[0, 0, 2:6] = (5, 3, 2, 1)  # L1 load hits, load misses, store hits, store misses
    d[0, 1, 2] = 4  # LLC load hits
    d[0, 1, 4] = 1  # LLC store hits
    d[0, 2, 2:4] = (64, 32)  # memory read and write bytes
    s = CopyStats.from_delta([3, 1], [100, 10], d)
    assert s.l1_accesses.tolist() == [11, 0] and s.l2_hits.tolist() == [5, 0]
    assert s.dram_bytes.tolist() == [96, 0] and s.l2_accesses.tolist() == [5, 0]
    both = CopyStats.concat([s, CopyStats.empty(), s])
    assert both.runs.tolist() == [3, 1, 3, 1]


def test_run_paths_equal_line_by_line(monkeypatch):
    """The pass's run paths (tiling copies and CPU ops' streams through ``copy_runs``) give the records
    of the general line-by-line kernel: a decode step of a GQA model (KV-cache appends, CPU attention)
    on DMA and ACP."""
    from dataclasses import asdict

    from smaug_fast.sim import memory_pass as mp
    from smaug_fast.sim.engine import memory_key, network_plan

    cfg = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
           "num_key_value_heads": 2, "intermediate_size": 96, "vocab_size": 100, "max_position_embeddings": 64}
    g = zoo.transformer(cfg, "decode", kv_len=40)
    for interface in ("dma", "acp"):
        system = presets.load("smaug-table2").replace(interface=interface)
        key = memory_key(g, system)
        plan = network_plan(key.plan)
        fast = mp.run_memory_pass(plan, key.memory)
        original = mp._One.__init__

        def linewise(self, memsys, original=original):
            original(self, memsys)
            self.h.linewise = True

        with monkeypatch.context() as m:
            m.setattr(mp._One, "__init__", linewise)
            slow = mp.run_memory_pass(plan, key.memory)
        assert fast.cache_stats == slow.cache_stats
        for a, b in zip(fast.ops, slow.ops, strict=True):
            for part in ("prep", "finalize", "cpu_copy"):
                for name, value in asdict(getattr(a, part)).items():
                    np.testing.assert_array_equal(value, asdict(getattr(b, part))[name], err_msg=f"{part}.{name}")
