"""The CPU's tiling and untiling copies of a whole tensor, run through the cache hierarchy in one call.

SMAUG's ``copyTensorRegion`` copies a tile between a host tensor and a tile buffer as contiguous runs
(one ``memcpy`` per run: the innermost dimensions the tile covers whole merge into one run). For
every tile in order, :func:`copy_tiles` generates the cache-line accesses of its runs (each run reads
the lines of its source and writes the lines of its destination, alternating) and runs them through
the hierarchy of :mod:`.cache` (whose state arrays it takes, and updates, in place), recording the
change of every counter per tile. One call per tensor instead of one per tile, and no trace arrays
for the whole tensor: the accesses of one tile at a time live in a scratch buffer. Where
:func:`.cache.copy_runs_ok` (two write-back levels of one line size, the memory pass's usual case),
not even those: each run goes to :func:`.cache.copy_runs` as its first lines and line counts, and is
run there as the same alternating accesses (same counters, contents and LRU order; the tests compare).
"""

from __future__ import annotations

import numpy as np

from . import cache as _cache
from . import multicache as _multi
from ._jit import jit


@jit
def _run_shape(shape, origin, size):
    """(d, run_elems): dims d+1.. are covered whole, so one run spans dims d.. (``run_elems``)."""
    d = shape.shape[0] - 1
    run = size[d]
    while d > 0 and origin[d] == 0 and size[d] == shape[d]:
        d -= 1
        run *= size[d]
    return d, run


@jit(inline="always")
def _tile_runs(shape, esize, host_base, origin, size, buf, gather, shift, strides, idx, r_src, r_dst, r_ns, r_nd):
    """The memcpy runs of one tile (origin, size int64[4]; its buffer at ``buf`` [B]): run r reads lines
    ``r_src[r]``, ... (``r_ns[r]`` of them) and writes lines ``r_dst[r]``, ... (``r_nd[r]``). Returns
    (runs, bytes per run [B])."""
    nd = shape.shape[0]
    d, run = _run_shape(shape, origin, size)
    run_bytes = run * esize
    nruns = np.int64(1)  # not a literal: copy_runs would compile twice
    for j in range(d):
        nruns *= size[j]
    for j in range(nd):
        idx[j] = origin[j]
    for r in range(nruns):
        off = 0
        for j in range(nd):
            off += idx[j] * strides[j]
        tensor_addr = host_base + off * esize
        if gather:
            src, dst = tensor_addr, buf
        else:
            src, dst = buf, tensor_addr
        s0 = src >> shift
        d0 = dst >> shift
        r_src[r] = s0
        r_dst[r] = d0
        r_ns[r] = ((src + run_bytes - 1) >> shift) - s0 + 1
        r_nd[r] = ((dst + run_bytes - 1) >> shift) - d0 + 1
        buf += run_bytes
        # next run: odometer over dims 0..d-1
        j = d - 1
        while j >= 0:
            idx[j] += 1
            if idx[j] < origin[j] + size[j]:
                break
            idx[j] = origin[j]
            j -= 1
    return nruns, run_bytes


@jit
def _most_runs(shape, origins, sizes):
    """The most runs of one tile of a tensor."""
    rmost = 1
    for t in range(origins.shape[0]):
        d, _ = _run_shape(shape, origins[t], sizes[t])
        nruns = 1
        for j in range(d):
            nruns *= sizes[t, j]
        rmost = max(rmost, nruns)
    return rmost


@jit
def _strides(shape):
    nd = shape.shape[0]
    strides = np.empty(nd, np.int64)
    s = 1
    for j in range(nd - 1, -1, -1):
        strides[j] = s
        s *= shape[j]
    return strides


def copy_tiles(shape, esize, host_base, origins, sizes, buf_bases, gather,
               cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, hint=None):
    """Copy every tile of a tensor between the host tensor and the tile buffers, through the caches.

    Args:
        shape: int64[4], the host tensor's shape in memory order (row-major).
        esize: element size [B].
        host_base: address of the host tensor [B].
        origins, sizes: int64[T, 4], each tile's origin and extent in the tensor.
        buf_bases: int64[T], address of each tile's contiguous buffer [B].
        gather: True to copy tensor -> buffers (tiling), False for buffers -> tensor (untiling).
        cfg ... rec: the cache hierarchy's state (see :mod:`.cache`), updated in place.
        hint: int64[level-0 entries], ``cache.copy_runs``'s level-1 entry per level-0 entry, kept by the
            caller from one copy to the next (None: a fresh one, all unknown).

    Returns (runs int64[T], nbytes int64[T], delta int64[T, levels + 1, CNT_N]): the contiguous runs
    (memcpy calls) and bytes of each tile, and the change of every counter while copying it.

    Where ``cache.copy_runs_ok``, each tile's runs go to ``cache.copy_runs`` as their first source and
    destination lines and line counts (:func:`_copy_tiles_runs`); elsewhere they become one access per
    line through ``cache.run_accesses`` (:func:`_copy_tiles_lines`). Two kernels, chosen here: a first
    run compiles the line-by-line engine only when a hierarchy needs it (issue 16).
    """
    state = (cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec)
    if _cache.copy_runs_ok(cfg, glob, memo):
        if hint is None:
            hint = np.full(int(cfg[0, _cache.C_SETS] * cfg[0, _cache.C_WAYS]), -1, np.int64)
        return _copy_tiles_runs(shape, esize, host_base, origins, sizes, buf_bases, gather, *state, hint)
    return _copy_tiles_lines(shape, esize, host_base, origins, sizes, buf_bases, gather, *state)


@jit(inline="always")
def _tile_scratch(shape, origins, sizes, cnt):
    """What both tile loops need: the row-major strides, scratch run buffers sized for the tile of most
    runs, an index and a counter snapshot, and the per-tile outputs (runs, bytes, counter changes)."""
    t_count = origins.shape[0]
    rmost = _most_runs(shape, origins, sizes)
    bufs = (np.empty(rmost, np.int64), np.empty(rmost, np.int64), np.empty(rmost, np.int64),
            np.empty(rmost, np.int64))
    outs = (np.zeros(t_count, np.int64), np.zeros(t_count, np.int64),
            np.zeros((t_count, cnt.shape[0], cnt.shape[1]), np.int64))
    return _strides(shape), bufs, np.empty(shape.shape[0], np.int64), np.empty_like(cnt), outs


@jit
def _copy_tiles_runs(shape, esize, host_base, origins, sizes, buf_bases, gather,
                     cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec, hint):
    """:func:`copy_tiles` on the run path (``cache.copy_runs_ok`` holds)."""
    shift = cfg[0, _cache.C_SHIFT]
    strides, (r_src, r_dst, r_ns, r_nd), idx, before, (runs_out, bytes_out, delta) = _tile_scratch(
        shape, origins, sizes, cnt)
    for t in range(origins.shape[0]):
        nruns, run_bytes = _tile_runs(shape, esize, host_base, origins[t], sizes[t], buf_bases[t], gather, shift,
                                      strides, idx, r_src, r_dst, r_ns, r_nd)
        before[:, :] = cnt
        _cache.copy_runs(r_src, r_dst, r_ns, r_nd, nruns, cfg, glob, tags, stamp, dirty, cnt, hint)
        delta[t] = cnt - before
        runs_out[t] = nruns
        bytes_out[t] = nruns * run_bytes
    return runs_out, bytes_out, delta


@jit
def _copy_tiles_lines(shape, esize, host_base, origins, sizes, buf_bases, gather,
                      cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec):
    """:func:`copy_tiles` line by line: each tile's runs as alternating source and destination line
    accesses (a scratch buffer of one tile's accesses) through ``cache.run_accesses``."""
    shift = cfg[0, _cache.C_SHIFT]
    strides, (r_src, r_dst, r_ns, r_nd), idx, before, (runs_out, bytes_out, delta) = _tile_scratch(
        shape, origins, sizes, cnt)
    addr = np.empty(1, np.int64)
    rw = np.empty(1, np.uint8)
    one = np.ones(1, np.int32)
    for t in range(origins.shape[0]):
        nruns, run_bytes = _tile_runs(shape, esize, host_base, origins[t], sizes[t], buf_bases[t], gather, shift,
                                      strides, idx, r_src, r_dst, r_ns, r_nd)
        before[:, :] = cnt
        k = 0
        for r in range(nruns):
            k += r_ns[r] + r_nd[r]
        if addr.shape[0] < k:
            addr = np.empty(k, np.int64)
            rw = np.empty(k, np.uint8)
        k = 0
        for r in range(nruns):
            for c in range(max(r_ns[r], r_nd[r])):
                if c < r_ns[r]:
                    addr[k] = (r_src[r] + c) << shift
                    rw[k] = 0
                    k += 1
                if c < r_nd[r]:
                    addr[k] = (r_dst[r] + c) << shift
                    rw[k] = 1
                    k += 1
        if k:
            # np.int64(0), not 0: a literal would compile a second copy of run_accesses (issue 16)
            _cache.run_accesses(addr[:k], rw[:k], one, np.int64(1) << shift, np.int64(0), cfg, glob, tags,
                                stamp, dirty, cnt, stack, memo, rec, np.int64(0))
        delta[t] = cnt - before
        runs_out[t] = nruns
        bytes_out[t] = nruns * run_bytes
    return runs_out, bytes_out, delta


@jit
def copy_tiles_multi(shape, esize, host_base, origins, sizes, buf_bases, gather, l1, tags1, stamp1, dirty1, cnt1, ev,
                     evn):
    """:func:`copy_tiles` through the L1 of :mod:`.multicache`, appending what reaches the L2 to the event
    list ``ev`` (``evn[0]`` events so far; grown when a tile needs more room).

    Returns (runs int64[T], nbytes int64[T], delta1 int64[T, CNT_N], pos int64[T + 1], ev): the runs and
    bytes of each tile, the change of the L1's counters while copying it, the number of events before
    each tile (and after the last), and the event list (``ev`` itself, or a larger copy)."""
    t_count = origins.shape[0]
    nd = shape.shape[0]
    shift = l1[_multi.L1_SHIFT]
    strides = _strides(shape)
    rmost = _most_runs(shape, origins, sizes)
    r_src = np.empty(rmost, np.int64)
    r_dst = np.empty(rmost, np.int64)
    r_ns = np.empty(rmost, np.int64)
    r_nd = np.empty(rmost, np.int64)
    runs_out = np.zeros(t_count, np.int64)
    bytes_out = np.zeros(t_count, np.int64)
    delta1 = np.zeros((t_count, cnt1.shape[0]), np.int64)
    pos = np.zeros(t_count + 1, np.int64)
    before1 = np.empty_like(cnt1)
    idx = np.empty(nd, np.int64)
    for t in range(t_count):
        nruns, run_bytes = _tile_runs(shape, esize, host_base, origins[t], sizes[t], buf_bases[t], gather, shift,
                                      strides, idx, r_src, r_dst, r_ns, r_nd)
        need = 0
        for r in range(nruns):
            need += 2 * (r_ns[r] + r_nd[r])  # a fetch and a write-back per access, at most
        if evn[0] + need > ev.shape[0]:
            grown = np.empty(max(2 * ev.shape[0], evn[0] + need), np.int64)
            grown[: evn[0]] = ev[: evn[0]]
            ev = grown
        pos[t] = evn[0]
        before1[:] = cnt1
        _multi.copy_runs(r_src, r_dst, r_ns, r_nd, nruns, l1, tags1, stamp1, dirty1, cnt1, ev, evn)
        delta1[t] = cnt1 - before1
        runs_out[t] = nruns
        bytes_out[t] = nruns * run_bytes
    pos[t_count] = evn[0]
    return runs_out, bytes_out, delta1, pos, ev
