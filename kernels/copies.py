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


@jit
def copy_tiles(shape, esize, host_base, origins, sizes, buf_bases, gather,
               cfg, glob, tags, stamp, dirty, cnt, stack, memo, rec):
    """Copy every tile of a tensor between the host tensor and the tile buffers, through the caches.

    Args:
        shape: int64[4], the host tensor's shape in memory order (row-major).
        esize: element size [B].
        host_base: address of the host tensor [B].
        origins, sizes: int64[T, 4], each tile's origin and extent in the tensor.
        buf_bases: int64[T], address of each tile's contiguous buffer [B].
        gather: True to copy tensor -> buffers (tiling), False for buffers -> tensor (untiling).
        cfg ... rec: the cache hierarchy's state (see :mod:`.cache`), updated in place.

    Returns (runs int64[T], nbytes int64[T], delta int64[T, levels + 1, CNT_N]): the contiguous runs
    (memcpy calls) and bytes of each tile, and the change of every counter while copying it.
    """
    t_count = origins.shape[0]
    nd = shape.shape[0]
    shift = cfg[0, _cache.C_SHIFT]
    line = np.int64(1) << shift
    strides = np.empty(nd, np.int64)
    s = 1
    for j in range(nd - 1, -1, -1):
        strides[j] = s
        s *= shape[j]
    # the largest number of accesses of one tile: each run touches at most bytes / line + 1 lines
    # on each side
    # (the run path, ``cache.copy_runs``, takes each run's first source and destination line and
    # their counts instead)
    fast = _cache.copy_runs_ok(cfg, glob, memo)
    most = 0
    rmost = 1
    for t in range(t_count):
        d, run = _run_shape(shape, origins[t], sizes[t])
        nruns = 1
        for j in range(d):
            nruns *= sizes[t, j]
        lines = run * esize // line + 2
        most = max(most, 2 * nruns * lines) if not fast else 0
        rmost = max(rmost, nruns)
    addr = np.empty(max(most, 1), np.int64)
    rw = np.empty(max(most, 1), np.uint8)
    one = np.ones(1, np.int32)
    runs_out = np.zeros(t_count, np.int64)
    bytes_out = np.zeros(t_count, np.int64)
    delta = np.zeros((t_count, cnt.shape[0], cnt.shape[1]), np.int64)
    before = np.empty_like(cnt)
    idx = np.empty(nd, np.int64)
    if not fast:
        rmost = 1
    r_src = np.empty(rmost, np.int64)
    r_dst = np.empty(rmost, np.int64)
    r_ns = np.empty(rmost, np.int64)
    r_nd = np.empty(rmost, np.int64)
    for t in range(t_count):
        d, run = _run_shape(shape, origins[t], sizes[t])
        run_bytes = run * esize
        nruns = 1
        for j in range(d):
            nruns *= sizes[t, j]
        for j in range(nd):
            idx[j] = origins[t, j]
        k = 0
        buf = buf_bases[t]
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
            s1 = (src + run_bytes - 1) >> shift
            d0 = dst >> shift
            d1 = (dst + run_bytes - 1) >> shift
            n_src = s1 - s0 + 1
            n_dst = d1 - d0 + 1
            if fast:
                r_src[r] = s0
                r_dst[r] = d0
                r_ns[r] = n_src
                r_nd[r] = n_dst
                k += n_src + n_dst
            for c in range(max(n_src, n_dst) if not fast else 0):
                if c < n_src:
                    addr[k] = (s0 + c) << shift
                    rw[k] = 0
                    k += 1
                if c < n_dst:
                    addr[k] = (d0 + c) << shift
                    rw[k] = 1
                    k += 1
            buf += run_bytes
            # next run: odometer over dims 0..d-1
            j = d - 1
            while j >= 0:
                idx[j] += 1
                if idx[j] < origins[t, j] + sizes[t, j]:
                    break
                idx[j] = origins[t, j]
                j -= 1
        before[:, :] = cnt
        if fast:
            _cache.copy_runs(r_src, r_dst, r_ns, r_nd, nruns, cfg, glob, tags, stamp, dirty, cnt)
        elif k:
            _cache.run_accesses(addr[:k], rw[:k], one, line, 0, cfg, glob, tags, stamp, dirty, cnt, stack,
                                memo, rec, 0)
        delta[t] = cnt - before
        runs_out[t] = nruns
        bytes_out[t] = nruns * run_bytes
    return runs_out, bytes_out, delta
