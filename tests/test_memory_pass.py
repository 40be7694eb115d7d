"""The memory pass of the end-to-end simulator: tiling copies through the caches, tile geometry."""

from __future__ import annotations

import itertools
from dataclasses import replace as dataclasses_replace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from naive_cache import Hierarchy, Level

from smaug_fast import Graph, math, nn, presets, zoo
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


# -- repeated blocks: skipped copies ----------------------------------------------------------------


def _naive_repeats(seq, least):
    """The definition of ``repeats``: left to right, at each position the shortest period of which
    ``least`` back-to-back copies start there, with every copy that follows."""
    out, i = [], 0
    while i < len(seq):
        for period in range(1, (len(seq) - i) // least + 1):
            copies = 1
            while seq[i + copies * period:i + (copies + 1) * period] == seq[i:i + period]:
                copies += 1
            if copies >= least:
                out.append((i, period, copies))
                i += period * copies
                break
        else:
            i += 1
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.lists(st.integers(0, 3), min_size=0, max_size=4), st.integers(1, 5)), max_size=5),
       st.integers(2, 4))
def test_repeats_match_the_definition(parts, least):
    from smaug_fast.sim.memory_pass import repeats

    seq = [x for body, times in parts for _ in range(times) for x in body]
    assert repeats(seq, least) == _naive_repeats(seq, least)


CACHES = st.sampled_from([
    (CacheConfig(256, 2, 32, name="l1"), CacheConfig(1024, 4, 32, name="l2")),
    (CacheConfig(256, 2, 32, name="l1", policy="fifo"), CacheConfig(6 * 3 * 64, 3, 64, name="l2")),
    (CacheConfig(128, 1, 16, name="l1"), CacheConfig(2048, 8, 32, name="l2", write_back=False)),
])


@settings(max_examples=60, deadline=None)
@given(CACHES, st.integers(0, 1 << 12), st.integers(0, 300), st.randoms(use_true_random=False))
def test_a_moved_state_counts_as_the_moved_requests(levels, lines_on, n, rnd):
    """Requests A then B from a cold hierarchy; requests A + delta from another: it ``is_moved`` from the
    first's state after A; and the first's state after A, ``move``d by delta, counts B + delta exactly as
    the first counted B (and leaves a state moved from the first's)."""
    line = max(lv.line_bytes for lv in levels)
    delta = lines_on * line
    addrs = np.array([rnd.randrange(0, 4096) * 8 for _ in range(2 * n + 2)], dtype=np.int64)
    writes = np.array([rnd.random() < 0.4 for _ in addrs])
    a, b = slice(0, n + 1), slice(n + 1, None)
    first = CacheHierarchy(levels)
    first.access(addrs[a], writes[a])
    snap = first.snapshot()
    other = CacheHierarchy(levels)
    other.access(addrs[a] + delta, writes[a])
    assert other.is_moved(snap, delta)
    assert other.is_moved(snap, delta + line) == other.is_moved(snap, delta + line)  # answers, no error
    if n:
        assert not other.is_moved(snap, delta + 4096 * 8 * 64)  # lines nobody touched
    first.access(addrs[b], writes[b])
    third = CacheHierarchy(levels)
    third.move(0, 0, np.zeros_like(snap.cnt))
    third._tags[:], third._stamp[:], third._dirty[:] = snap.tags, snap.stamp, snap.dirty
    third._glob[0] = snap.clock
    third.move(delta, 7, snap.cnt)
    third.access(addrs[b] + delta, writes[b])
    np.testing.assert_array_equal(third._cnt, first._cnt)
    assert third.is_moved(first.snapshot(), delta)


def test_is_moved_compares_the_use_order_and_dirty_lines_of_each_set():
    """Two states that hold the same lines, as many dirty, with equal sums of line numbers, differ in
    the order of use or in which line is dirty: neither is moved from the other; ways swapped are."""
    levels = (CacheConfig(256, 2, 32, name="l1"), CacheConfig(1024, 4, 32, name="l2"))
    a, b = 0, 1024  # two lines of one set at both levels
    ref = CacheHierarchy(levels)
    ref.access(np.array([a, b]), np.array([True, False]))
    snap = ref.snapshot()
    delta = 1 << 20
    for order, writes, same in (([a, b], [True, False], True), ([b, a], [False, True], False),
                                ([a, b], [False, True], False)):
        h = CacheHierarchy(levels)
        h.access(np.array(order) + delta, np.array(writes))
        assert h.is_moved(snap, delta) is same, (order, writes)
    swapped = CacheHierarchy(levels)
    swapped.access(np.array([a, b]) + delta, np.array([True, False]))
    for lv in range(2):
        e = int(swapped._cfg[lv, 6])  # the set's first entry: swap its two ways
        for arr in (swapped._tags, swapped._stamp, swapped._dirty):
            arr[[e, e + 1]] = arr[[e + 1, e]]
    assert swapped.is_moved(snap, delta)


def _records_equal(a, b) -> None:
    from dataclasses import asdict

    assert a.cache_stats == b.cache_stats
    for x, y in zip(a.ops, b.ops, strict=True):
        assert x.acp_lines == y.acp_lines
        for part in ("prep", "finalize", "cpu_copy", "transfer"):
            for name, value in asdict(getattr(x, part)).items():
                other = asdict(getattr(y, part))[name]
                if isinstance(value, dict):
                    assert value.keys() == other.keys()
                    for k in value:
                        np.testing.assert_array_equal(value[k], other[k], err_msg=f"{part}.{name}.{k}")
                else:
                    np.testing.assert_array_equal(value, other, err_msg=f"{part}.{name}")


def _both_passes(graph, system):
    """The memory pass of ``graph`` on ``system`` skipping what it can, and running every copy: both
    MemoryPass objects and their records."""
    from smaug_fast.sim import memory_pass as mp
    from smaug_fast.sim.engine import memory_key, network_plan

    key = memory_key(graph, system)
    plan = network_plan(key.plan)
    tail = mp.warm_tail(plan, key.memory.l2.size_bytes)
    out = []
    for skip in (True, False):
        m = mp.MemoryPass(key.memory, skip_repeats=skip)
        out.append((m, mp._records(plan, m, tail)[0]))
    (fast, a), (full, b) = out
    _records_equal(a, b)
    assert fast.alloc.regions == full.alloc.regions and fast.alloc.next == full.alloc.next
    assert fast.touched == full.touched
    return plan, fast


TINY_CACHES = dict(l1d=CacheConfig(1024, 8, 32, name="l1d"), l2=CacheConfig(4096, 8, 32, name="l2"))


def test_skipping_repeated_layers_keeps_every_record():
    """The copies of a repeated block that the pass skips (``MemoryPass._block``) leave the records, the
    addresses and the touched regions of a pass that runs them all: transformer layers in prefill and
    decode (KV-cache appends, GQA), on DMA and ACP, with caches small enough that the state repeats
    after a few layers, and ResNet50; and copies are skipped in each (else this would compare a pass
    with itself)."""
    from smaug_fast.sim import memory_pass as mp

    cfg = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 7, "num_attention_heads": 4,
           "num_key_value_heads": 2, "intermediate_size": 96, "vocab_size": 100, "max_position_embeddings": 64}
    base = presets.load("smaug-table2").replace(**TINY_CACHES)
    for g in (zoo.transformer(cfg, "decode", kv_len=40), zoo.transformer(cfg, "prefill", seq_len=24),
              zoo.transformer("gpt2", "decode", kv_len=16)):
        for interface in ("dma", "acp"):
            plan, fast = _both_passes(g, base.replace(interface=interface))
            assert mp.repeated_blocks(plan)
            assert fast.skipped_copies > 0, (g.name, interface)
    # ResNet50's identical bottlenecks: batch norms whose tilings pack their parameters in a tensor of
    # their own (mapped by the tiling's tensors, not the op's)
    _, fast = _both_passes(zoo.load("resnet50"), presets.load("smaug-table2"))
    assert fast.skipped_copies > 0


def test_a_copy_whose_regions_do_not_move_alike_runs_in_full():
    """Blocks that read one shared tensor (a bias every layer adds): the cache state repeats, but the
    shared tensor's address does not move with the others', so no copy is skipped, and what the
    attempts allocated and touched is undone. With a bias per layer the same network skips copies,
    2 to 6 (the state before copy 1 still holds lines from before the block; copy 7 is not moved from
    copy 6: the warm tail allocated its weights' tiles first)."""
    base = presets.load("smaug-table2").replace(**TINY_CACHES)
    for shared in (True, False):
        with Graph("blocks", layout="NC") as g:
            x = g.input((4, 256), name="x")
            bias = g.input((4, 256), name="bias")
            for i in range(8):
                x = nn.mat_mul(x, g.constant((256, 256), name=f"w{i}"), name=f"fc{i}")
                x = math.add(x, bias if shared else g.input((4, 256), name=f"b{i}"), name=f"add{i}")
                x = nn.relu(x, name=f"relu{i}")
        _, fast = _both_passes(g, base)
        assert fast.skipped_copies == (0 if shared else 5)


def test_replay_needs_every_address_moved_and_every_touched_answer_alike():
    """``MemoryPass._replay`` of a copy that allocated one region and asked whether it was touched: it
    goes on when the mapped region lands Δ on and gets the same answer, and otherwise undoes the
    allocation and what it touched."""
    from smaug_fast.sim import memory_pass as mp
    from smaug_fast.sim.engine import memory_key, network_plan

    with Graph("blocks", layout="NC") as g:
        x = g.input((4, 256), name="x")
        for i in range(3):
            x = nn.relu(nn.mat_mul(x, g.constant((256, 256), name=f"w{i}"), name=f"fc{i}"), name=f"relu{i}")
    key = memory_key(g, presets.load("smaug-table2"))
    plan = network_plan(key.plan)
    step = (2048 + mp._ALIGN - 1) // mp._ALIGN * mp._ALIGN + mp._ALIGN  # one region and its guard page
    for answer, wrong_place, ok in ((False, 0, True), (True, 0, False), (False, mp._ALIGN, False)):
        m = mp.MemoryPass(key.memory)
        m.alloc.next = start = 10 * step
        m.touched.add(("tensor", "x"))
        events = [(mp._ALLOC, ("tensor", "fc0"), 2048, start - step + wrong_place),
                  (mp._ASK, ("tensor", "fc0"), answer), (mp._TOUCH, ("tensor", "relu0"))]
        assert m._replay(plan.ops, plan.lowerings, (0, events, step, 0, None), 2, 2, 1) is ok
        if ok:
            assert m.alloc.regions == {("tensor", "fc1"): (start, 2048)} and m.alloc.next == start + step
            assert m.touched == {("tensor", "x"), ("tensor", "relu1")}
        else:
            assert m.alloc.regions == {} and m.alloc.next == start and m.touched == {("tensor", "x")}


@settings(max_examples=12, deadline=None)
@given(layers=st.integers(3, 6), heads=st.sampled_from([(4, 2), (4, 4), (2, 1)]), head_dim=st.sampled_from([8, 16]),
       ffn=st.integers(20, 80), phase=st.sampled_from(["prefill", "decode"]), tokens=st.integers(1, 24),
       interface=st.sampled_from(["dma", "acp"]), l2_kib=st.sampled_from([2, 4, 8]),
       policy=st.sampled_from(["lru", "fifo"]))
def test_skipping_keeps_every_record_of_random_transformers(layers, heads, head_dim, ffn, phase, tokens, interface,
                                                            l2_kib, policy):
    """Random Llama-style configs, phases, interfaces and small caches (LRU or FIFO): the pass that skips
    repeated layers leaves every record, address and touched region of the pass that runs them all."""
    n_heads, kv_heads = heads
    cfg = {"model_type": "llama", "hidden_size": n_heads * head_dim, "num_hidden_layers": layers,
           "num_attention_heads": n_heads, "num_key_value_heads": kv_heads, "intermediate_size": ffn,
           "vocab_size": 50, "max_position_embeddings": 64}
    graph = zoo.transformer(cfg, phase, **({"seq_len": tokens} if phase == "prefill" else {"kv_len": tokens}))
    system = presets.load("smaug-table2").replace(
        interface=interface, l1d=CacheConfig(1024, 8, 32, name="l1d", policy=policy),
        l2=CacheConfig(l2_kib * 1024, 8, 32, name="l2", policy=policy))
    _both_passes(graph, system)
