"""Trace generators: the address streams of tiling copies, cache-line sweeps and DMA bursts.

Arrays and scalars only; the public builders in ``smaug_fast.traces`` validate their arguments.
Tensors are described in memory order: ``shape[0]`` is the outermost dimension and ``shape[-1]``
the contiguous one (NHWC: N, H, W, C; NCHW: N, C, H, W).
"""

from __future__ import annotations

import numpy as np

from ._jit import jit


@jit
def touched_lines(addr, nbytes, shift):
    """Line numbers of every line each request's bytes fall in (requests in order, not unique)."""
    n = addr.shape[0]
    total = 0
    for i in range(n):
        total += ((addr[i] + nbytes[i] - 1) >> shift) - (addr[i] >> shift) + 1
    out = np.empty(total, dtype=np.int64)
    k = 0
    for i in range(n):
        for ln in range(addr[i] >> shift, ((addr[i] + nbytes[i] - 1) >> shift) + 1):
            out[k] = ln
            k += 1
    return out


@jit
def _run_layout(shape, lo, hi):
    """Split a box [lo, hi) of a row-major tensor into contiguous runs.

    Returns (d, run_elems): the innermost dims d+1.. are covered whole, so one run spans dims d..
    (``run_elems`` elements) and there is one run per index of dims 0..d-1.
    """
    nd = shape.shape[0]
    d = nd - 1
    run = hi[d] - lo[d]
    while d > 0 and lo[d] == 0 and hi[d] == shape[d]:
        d -= 1
        run *= hi[d] - lo[d]
    return d, run


@jit
def box_copy(shape, esize, src_base, lo, hi, dst_base, access_bytes, gather):
    """Addresses of a CPU copy between a box of a tensor and a contiguous buffer.

    ``shape`` (int64, memory order), ``esize`` element size [B], box ``[lo, hi)`` per dim. With
    ``gather`` the box is read from the tensor at ``src_base`` and written to the buffer at
    ``dst_base`` (tiling); otherwise read from the buffer at ``src_base`` and written into the tensor
    at ``dst_base`` (untiling). Each contiguous run is copied in chunks of ``access_bytes`` [B]
    (the last one shorter): a read of a chunk, then its write.

    Returns (addr int64, nbytes int32, rw uint8).
    """
    nd = shape.shape[0]
    d, run = _run_layout(shape, lo, hi)
    run_bytes = run * esize
    nruns = 1
    for j in range(d):
        nruns *= hi[j] - lo[j]
    if run_bytes <= 0 or nruns <= 0:
        return np.empty(0, np.int64), np.empty(0, np.int32), np.empty(0, np.uint8)
    chunks = (run_bytes + access_bytes - 1) // access_bytes
    n = 2 * nruns * chunks
    addr = np.empty(n, np.int64)
    nbytes = np.empty(n, np.int32)
    rw = np.empty(n, np.uint8)
    # row-major strides of the tensor [elements]
    strides = np.empty(nd, np.int64)
    s = 1
    for j in range(nd - 1, -1, -1):
        strides[j] = s
        s *= shape[j]
    idx = lo.copy()
    k = 0
    buf_off = 0
    for r in range(nruns):
        off = 0
        for j in range(nd):
            off += idx[j] * strides[j]
        tensor_addr = off * esize
        for c in range(chunks):
            sz = min(access_bytes, run_bytes - c * access_bytes)
            t_addr = tensor_addr + c * access_bytes
            b_addr = buf_off + c * access_bytes
            if gather:
                addr[k] = src_base + t_addr
                addr[k + 1] = dst_base + b_addr
            else:
                addr[k] = src_base + b_addr
                addr[k + 1] = dst_base + t_addr
            nbytes[k] = sz
            nbytes[k + 1] = sz
            rw[k] = 0
            rw[k + 1] = 1
            k += 2
        buf_off += run_bytes
        # next run: odometer over dims 0..d-1
        j = d - 1
        while j >= 0:
            idx[j] += 1
            if idx[j] < hi[j]:
                break
            idx[j] = lo[j]
            j -= 1
    return addr, nbytes, rw


@jit
def line_sweep(base, nbytes, line_bytes):
    """Line-aligned address of every line of ``[base, base + nbytes)`` (a flush/invalidate loop)."""
    first = base // line_bytes
    last = (base + nbytes - 1) // line_bytes
    n = max(last - first + 1, 0)
    out = np.empty(n, np.int64)
    for i in range(n):
        out[i] = (first + i) * line_bytes
    return out


@jit
def dma_bursts(base, nbytes, burst_bytes, start_cycle, bytes_per_cycle):
    """A DMA stream of ``[base, base + nbytes)``: bursts that end on ``burst_bytes`` boundaries
    (the first and last may be partial), issued back to back at ``bytes_per_cycle`` [B/cycle]
    from ``start_cycle``. Returns (addr int64, nbytes int32, cycle int64)."""
    end = base + nbytes
    first = base // burst_bytes
    last = (end - 1) // burst_bytes
    n = max(last - first + 1, 0)
    addr = np.empty(n, np.int64)
    size = np.empty(n, np.int32)
    cycle = np.empty(n, np.int64)
    done = 0
    for i in range(n):
        lo = max(base, (first + i) * burst_bytes)
        hi = min(end, (first + i + 1) * burst_bytes)
        addr[i] = lo
        size[i] = hi - lo
        cycle[i] = start_cycle + int(done / bytes_per_cycle)
        done += hi - lo
    return addr, size, cycle


@jit
def trace_bounds(addr, nbytes, rw):
    """(min address, min size, max size, max rw code) in one pass over a trace's columns: the
    checks a simulator runs before trusting a trace, at memory speed."""
    n = addr.shape[0]
    amin = addr[0]
    nmin = nbytes[0]
    nmax = nbytes[0]
    rmax = rw[0]
    for i in range(1, n):
        if addr[i] < amin:
            amin = addr[i]
        v = nbytes[i]
        if v < nmin:
            nmin = v
        if v > nmax:
            nmax = v
        if rw[i] > rmax:
            rmax = rw[i]
    return amin, nmin, nmax, rmax
