"""The trace type, its builders (against plain-Python loops), summaries and file formats."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smaug_fast.errors import ConfigError
from smaug_fast.memory import CacheConfig, CacheHierarchy
from smaug_fast.traces import (
    FLUSH,
    INVALIDATE,
    READ,
    WRITE,
    Trace,
    accel,
    concat,
    cpu,
    dma,
    dma_stream,
    layout_tensors,
    line_sweep,
    load_npz,
    requester_name,
    save_npz,
    tiling_copy,
    to_dramsim3,
    to_pycachesim,
)


def _trace(n=10, seed=0, cycle=False):
    rng = np.random.default_rng(seed)
    return Trace.from_arrays(
        rng.integers(0, 1 << 20, n),
        rng.integers(1, 65, n).astype(np.int32),
        rng.integers(0, 2, n).astype(np.uint8),
        rng.choice([cpu(0), cpu(3), dma(1), accel(2)], n).astype(np.int16),
        rng.integers(-1, 5, n).astype(np.int32),
        np.sort(rng.integers(0, 1000, n)) if cycle else None,
    )


# ------------------------------------------------------------ the type


def test_requester_encoding_round_trips():
    assert (cpu(0), cpu(5), dma(0), dma(2), accel(0), accel(7)) == (0, 5, 256, 258, 512, 519)
    assert [requester_name(c) for c in (0, 5, 258, 519)] == ["cpu0", "cpu5", "dma2", "acc7"]
    with pytest.raises(ConfigError, match="accelerator = 256"):
        accel(256)
    with pytest.raises(ConfigError, match="requester = 800"):
        requester_name(800)


def test_right_dtypes_are_not_copied_and_slices_are_views():
    addr = np.arange(0, 800, 8, dtype=np.int64)
    nb = np.full(100, 8, np.int32)
    t = Trace.from_arrays(addr, nb, np.zeros(100, np.uint8))
    assert t.addr is addr and t.nbytes is nb
    s = t[10:20]
    assert len(s) == 10 and np.shares_memory(s.addr, addr) and np.shares_memory(s.rw, t.rw)
    assert t[3].addr.tolist() == [24]


def test_concat_keeps_order_and_cycles_only_when_all_have_them():
    a, b = _trace(5, 1, cycle=True), _trace(7, 2, cycle=True)
    c = concat([a, b])
    assert len(c) == 12 and c.addr.tolist() == a.addr.tolist() + b.addr.tolist()
    assert c.cycle is not None and c.tile.tolist() == a.tile.tolist() + b.tile.tolist()
    assert concat([a, _trace(3)]).cycle is None
    assert concat([a]) is a and len(concat([])) == 0
    with pytest.raises(ConfigError, match=r"traces\[1\]"):
        concat([a, "b"])


def test_bytes_per_requester_and_footprint_match_plain_loops():
    t = _trace(500, 3)
    want: dict = {}
    lines = set()
    for a, n, rw, r in zip(t.addr.tolist(), t.nbytes.tolist(), t.rw.tolist(), t.requester.tolist(), strict=True):
        d = want.setdefault(requester_name(r), {"read": 0, "write": 0})
        d["write" if rw else "read"] += n
        lines.update(range(a // 64, (a + n - 1) // 64 + 1))
    assert t.bytes_per_requester() == want
    assert t.unique_lines(64).tolist() == sorted(lines)
    assert t.footprint_bytes(64) == 64 * len(lines)
    s = t.summary()
    assert s["read_bytes"] + s["write_bytes"] == t.total_bytes and s["unique_lines"] == len(lines)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"addr": [-1, 0]}, r"trace.addr\[0\] = -1: negative address"),
        ({"addr": [0, 8], "nbytes": [8]}, r"trace.nbytes: length 1 != len\(trace.addr\) = 2"),
        ({"addr": [0], "nbytes": 0}, r"trace.nbytes\[0\] = 0"),
        ({"addr": [0], "rw": 7}, r"trace.rw\[0\] = 7"),
        ({"addr": [0], "requester": 900}, r"trace.requester\[0\] = 900"),
        ({"addr": [0, 1], "cycle": [5, 3]}, r"trace.cycle\[1\] = 3: issue cycles must not decrease"),
        ({"addr": [0.5]}, "trace.addr: must hold integers"),
        ({"addr": [0], "nbytes": [1 << 40]}, "trace.nbytes: values .* do not fit int32"),
    ],
)
def test_bad_trace_names_the_field(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Trace.from_arrays(**kwargs)


# ------------------------------------------------------------ files


def test_npz_round_trip(tmp_path):
    t = _trace(50, 4, cycle=True)
    p = save_npz(tmp_path / "t.npz", t)
    assert load_npz(p).equals(t)
    u = _trace(5, 5)
    assert load_npz(save_npz(tmp_path / "u", u, compress=True)).equals(u)


def test_npz_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_npz(tmp_path / "missing.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip file")
    with pytest.raises(ConfigError, match="bad.npz: not a readable .npz file"):
        load_npz(bad)
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, x=np.arange(3))
    with pytest.raises(ConfigError, match="not a smaug_fast trace"):
        load_npz(foreign)
    t = _trace(4)
    np.savez(tmp_path / "wrong.npz", format=np.array("smaug_fast.trace/1"), addr=t.addr.astype(np.int32),
             nbytes=t.nbytes, rw=t.rw, requester=t.requester, tile=t.tile)
    with pytest.raises(ConfigError, match="array 'addr' has dtype int32"):
        load_npz(tmp_path / "wrong.npz")
    np.savez(tmp_path / "short.npz", format=np.array("smaug_fast.trace/1"), addr=t.addr)
    with pytest.raises(ConfigError, match="missing arrays"):
        load_npz(tmp_path / "short.npz")


def test_text_exports_parse_back(tmp_path):
    t = Trace.from_arrays(np.array([16, 4096, 64]), np.array([8, 64, 64], np.int32),
                          np.array([READ, WRITE, FLUSH], np.uint8), cycle=np.array([0, 5, 9]))
    lines = to_pycachesim(tmp_path / "t.lackey", t).read_text().split("\n")
    assert lines[:2] == ["L 10,8", "S 1000,64"] and lines[2] == ""
    ds = to_dramsim3(tmp_path / "t.trc", t).read_text().split()
    assert ds == ["0x10", "READ", "0", "0x1000", "WRITE", "5"]
    ds2 = to_dramsim3(tmp_path / "t2.trc", t, cycles=np.array([1, 2, 3])).read_text().split()
    assert ds2[2::3] == ["1", "2"]


# ------------------------------------------------------------ builders


def _naive_box_bytes(shape_nhwc, layout, esize, lo, hi):
    """Byte offsets of every element of the box, by direct indexing (no runs, no chunks)."""
    n_, h_, w_, c_ = shape_nhwc
    out = set()
    for n in range(lo[0], hi[0]):
        for h in range(lo[1], hi[1]):
            for w in range(lo[2], hi[2]):
                for c in range(lo[3], hi[3]):
                    if layout == "NHWC":
                        e = ((n * h_ + h) * w_ + w) * c_ + c
                    else:
                        e = ((n * c_ + c) * h_ + h) * w_ + w
                    out.update(range(e * esize, (e + 1) * esize))
    return out


def _expand(addr, nbytes):
    out = []
    for a, n in zip(addr.tolist(), nbytes.tolist(), strict=True):
        out.extend(range(a, a + n))
    return out


@given(
    shape=st.tuples(st.integers(1, 2), st.integers(1, 5), st.integers(1, 5), st.integers(1, 6)),
    data=st.data(),
    layout=st.sampled_from(["NHWC", "NCHW"]),
    esize=st.sampled_from([1, 2, 4]),
    access=st.sampled_from([1, 4, 8, 64]),
)
def test_tiling_copy_reads_exactly_the_tile_and_halo(shape, data, layout, esize, access):
    origin = tuple(data.draw(st.integers(0, s - 1)) for s in shape)
    size = tuple(data.draw(st.integers(1, s - o)) for s, o in zip(shape, origin, strict=True))
    halo = (0, data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2)), 0)
    host, buf = 1 << 20, 1 << 24
    t = tiling_copy(host, shape, origin, size, buf, layout=layout, elem_bytes=esize, halo=halo,
                    access_bytes=access, tile=3)
    lo = [max(o - hh, 0) for o, hh in zip(origin, halo, strict=True)]
    hi = [min(o + s + hh, sh) for o, s, hh, sh in zip(origin, size, halo, shape, strict=True)]
    want = sorted(host + b for b in _naive_box_bytes(shape, layout, esize, lo, hi))
    reads = t[t.rw == READ]
    writes = t[t.rw == WRITE]
    read_bytes = _expand(reads.addr, reads.nbytes)
    assert sorted(read_bytes) == want and len(read_bytes) == len(set(read_bytes))
    # the buffer is written contiguously from its start, in the order the bytes were read
    assert _expand(writes.addr, writes.nbytes) == list(range(buf, buf + len(want)))
    assert (t.tile == 3).all() and (t.requester == cpu(0)).all() and (t.nbytes <= access).all()
    # untiling mirrors it: reads of the buffer, writes into the tensor
    u = tiling_copy(host, shape, origin, size, buf, layout=layout, elem_bytes=esize, halo=halo,
                    access_bytes=access, untile=True)
    assert np.array_equal(u.addr[0::2], t.addr[1::2]) and np.array_equal(u.addr[1::2], t.addr[0::2])


def test_tiling_copy_bad_arguments():
    with pytest.raises(ConfigError, match=r"origin\[H\] \+ size\[H\] = 3 \+ 2: exceeds shape\[H\] = 4"):
        tiling_copy(0, (1, 4, 4, 8), (0, 3, 0, 0), (1, 2, 4, 8), 0)
    with pytest.raises(ConfigError, match="layout = 'NCWH'"):
        tiling_copy(0, (1, 4, 4, 8), (0, 0, 0, 0), (1, 2, 4, 8), 0, layout="NCWH")
    with pytest.raises(ConfigError, match=r"halo = \(1, 1\): needs 4 values"):
        tiling_copy(0, (1, 4, 4, 8), (0, 0, 0, 0), (1, 2, 4, 8), 0, halo=(1, 1))
    with pytest.raises(ConfigError, match="host_base = -5"):
        tiling_copy(-5, (1, 4, 4, 8), (0, 0, 0, 0), (1, 2, 4, 8), 0)


def test_line_sweep_and_cache_flush_agree():
    t = line_sweep(100, 300, line_bytes=64)
    assert t.addr.tolist() == [64, 128, 192, 256, 320, 384] and (t.rw == FLUSH).all()  # bytes 100..399
    assert (line_sweep(0, 64, op="invalidate").rw == INVALIDATE).all()
    levels = [CacheConfig(1024, 2, 64), CacheConfig(4096, 4, 64)]
    a, b = CacheHierarchy(levels), CacheHierarchy(levels)
    stores = Trace.from_arrays(np.arange(0, 512, 8), 8, WRITE)
    a.run(stores)
    b.run(stores)
    a.run(line_sweep(100, 300))
    b.flush(100, 300)
    assert a.stats() == b.stats() and a.memory_traffic() == b.memory_traffic()
    with pytest.raises(ConfigError, match="op = 'clean'"):
        line_sweep(0, 64, op="clean")


@given(base=st.integers(0, 5000), nbytes=st.integers(1, 3000), burst=st.sampled_from([32, 64, 256]),
       rate=st.sampled_from([None, 8.0, 32.0]))
def test_dma_stream_covers_the_buffer_in_aligned_bursts(base, nbytes, burst, rate):
    t = dma_stream(base, nbytes, burst_bytes=burst, bytes_per_cycle=rate, engine=1, write=True)
    assert _expand(t.addr, t.nbytes) == list(range(base, base + nbytes))
    assert ((t.addr // burst) == ((t.addr + t.nbytes - 1) // burst)).all()  # no burst crosses a boundary
    assert (t.requester == dma(1)).all() and (t.rw == WRITE).all()
    if rate is None:
        assert t.cycle is None
    else:
        before = np.concatenate([[0], np.cumsum(t.nbytes)[:-1]])
        assert t.cycle.tolist() == [int(b / rate) for b in before]


def test_layout_tensors_aligns_and_does_not_overlap():
    m = layout_tensors(["w0", "a0", "a1"], [100, 0, 65], alignment_bytes=64, base=10)
    assert m.base.tolist() == [64, 192, 192] and m.region("a1") == (192, 65)
    assert m.end == 257 and "w0" in m
    assert m.owner([64, 163, 164, 200, 5000]).tolist() == [0, 0, -1, 2, -1]
    with pytest.raises(ConfigError, match="duplicate tensor names"):
        layout_tensors(["a", "a"], [1, 1])
    with pytest.raises(ConfigError, match=r"sizes_bytes\[1\] \(b\) = -3"):
        layout_tensors(["a", "b"], [1, -3])
    with pytest.raises(ConfigError, match="alignment_bytes = 48"):
        layout_tensors(["a"], [1], alignment_bytes=48)
    with pytest.raises(ConfigError, match="tensor 'x': not in the address map"):
        m.region("x")


def test_address_map_of_a_network_holds_every_tensor_once():
    from smaug_fast import zoo
    from smaug_fast.traces import address_map

    g = zoo.load("lenet5")
    m = address_map(g, extra=[("tile_buf0", 32 * 1024)])
    expected = {t.name: t.nbytes for t in g.constants} | {t.name: t.nbytes for t in g.inputs}
    for op in g.topological_order():
        expected |= {t.name: t.nbytes for t in op.outputs}
    assert set(m.names) == set(expected) | {"tile_buf0"}
    for name, size in expected.items():
        start, got = m.region(name)
        assert got == size and start % 64 == 0
    # no two tensors overlap
    order = np.argsort(m.base)
    ends = m.base[order] + m.size_bytes[order]
    assert (ends[:-1] <= m.base[order][1:]).all()
    assert sum(expected.values()) + 32 * 1024 <= m.end
    with pytest.raises(ConfigError, match="not a workload graph"):
        address_map(42)
    with pytest.raises(ConfigError, match=r"extra\[0\]"):
        address_map(g, extra=["buf"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bytes_per_cycle": 0}, "bytes_per_cycle = 0: must be a positive number"),
        ({"burst_bytes": 0}, "burst_bytes = 0: must be an integer >= 1"),
        ({"start_cycle": -1}, "start_cycle = -1"),
    ],
)
def test_dma_stream_bad_arguments(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        dma_stream(0, 128, **kwargs)
    assert len(dma_stream(0, 0)) == 0


def test_an_npz_declaring_a_huge_array_is_refused_before_allocating(tmp_path):
    """Issue 17: a header declaring 2**40 elements made NumPy allocate them (MemoryError)."""
    import zipfile

    from smaug_fast.traces import load_npz, save_npz
    from smaug_fast.traces.trace import Trace as _Trace

    good = tmp_path / "good.npz"
    save_npz(good, _Trace.from_arrays(np.arange(4, dtype=np.int64) * 64, nbytes=64))
    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(bad, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "addr.npy":
                header = "{'descr': '<i8', 'fortran_order': False, 'shape': (1099511627776,), }"
                header = header + " " * (118 - len(header)) + "\n"
                data = b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode() + data[128:]
            dst.writestr(info, data)
    with pytest.raises(ConfigError, match=r"addr.npy' declares shape \(1099511627776,\)"):
        load_npz(bad)
    assert len(load_npz(good)) == 4
