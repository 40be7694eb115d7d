"""Cache model speed: L1 + L2 on a streaming and a blocked-GEMM trace, pycachesim side by side.

    python benchmarks/bench_cache.py [--accesses N] [--pycachesim-accesses M]

Prints accesses per second of one core (best of three runs of a cold hierarchy; wall clock, and per
CPU second of this process, which is the fairer figure on a machine shared with other jobs), the extra memory
allocated while the trace runs (tracemalloc peak above the trace itself: the model copies nothing),
and, when validation/.venv-pycachesim exists (validation/pycachesim_compare.py makes it), pycachesim's
rate on the first M accesses of the same trace with its counters compared to ours. Target (issue 6):
>= 100 M accesses/s. Then the memory pass's tiling copies (``copy_tiles``, lines read and written per
CPU second), by the run path and, where it exists, line by line (``CacheHierarchy.linewise``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

from smaug_fast.memory import CacheConfig, CacheHierarchy
from smaug_fast.traces import Trace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "validation"))

LEVELS = [CacheConfig(32 * 1024, 8, 64, name="L1"), CacheConfig(1024 * 1024, 16, 64, name="L2")]


def streaming(n: int) -> np.ndarray:
    """8-byte loads over consecutive addresses (a memcpy source)."""
    return np.arange(n, dtype=np.int64) * 8


def blocked_gemm(n: int, size: int = 512, block: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """C += A B on size x size doubles in block x block tiles, loops ii kk jj i k j (the usual
    cache-blocked order, unit stride inside): per (i, k) a load of A[i,k], then per j loads of
    B[k,j] and C[i,j] and a store of C[i,j]. The first n accesses."""
    nb = size // block
    a0, b0, c0 = 0, size * size * 8, 2 * size * size * 8
    r = np.arange(block)
    per_ik = 1 + 3 * block
    per_block = block * block * per_ik
    blocks_needed = min(-(-n // per_block), nb**3)
    out = np.empty(blocks_needed * per_block, np.int64)
    w = np.zeros(blocks_needed * per_block, np.uint8)
    wb = np.zeros((block, block, per_ik), np.uint8)
    wb[..., 3::3] = 1  # C stores
    pos = 0
    for bidx in range(blocks_needed):
        ii, rem = divmod(bidx, nb * nb)
        kk, jj = divmod(rem, nb)
        i = (ii * block + r)[:, None, None]
        k = (kk * block + r)[None, :, None]
        j = (jj * block + r)[None, None, :]
        blk = np.empty((block, block, per_ik), np.int64)
        blk[..., 0] = (a0 + (i[..., 0] * size + k[..., 0]) * 8)
        blk[..., 1::3] = b0 + (k * size + j) * 8
        blk[..., 2::3] = c0 + (i * size + j) * 8
        blk[..., 3::3] = c0 + (i * size + j) * 8
        out[pos : pos + per_block] = blk.ravel()
        w[pos : pos + per_block] = wb.ravel()
        pos += per_block
    return out[:n], w[:n]


def run_ours(addrs: np.ndarray, writes: np.ndarray) -> tuple[float, list, int]:
    trace = Trace.from_arrays(addrs, 8, writes, validate=False)
    h = CacheHierarchy(LEVELS)
    h.run(trace[:1000])  # compile / load the kernels
    best = best_cpu = float("inf")
    extra = 0
    for _ in range(3):
        h.reset()
        tracemalloc.start()
        t, c = time.perf_counter(), time.process_time()
        h.run(trace)
        dt, dc = time.perf_counter() - t, time.process_time() - c
        extra = max(extra, tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        best, best_cpu = min(best, dt), min(best_cpu, dc)
    return len(addrs) / best, len(addrs) / best_cpu, h.stats(), extra


def run_pycachesim(addrs, writes, m):
    import pycachesim_compare as pc

    if not (pc.VENV / "bin" / "python").exists():
        return None
    sub_a, sub_w = addrs[:m], writes[:m].astype(bool)
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        theirs, secs = pc.run_pycachesim(LEVELS, sub_a, sub_w, 8, Path(tmp))
    mine, _ = pc.ours(LEVELS, sub_a, sub_w, 8, compat=True)
    return m / secs, mine == theirs


#: smaug-table2's L1D and LLC, which the memory pass's tiling copies run through.
COPY_LEVELS = [CacheConfig(64 * 1024, 4, 32, name="L1D"), CacheConfig(2 * 1024 * 1024, 16, 32, name="L2")]


def copy_rate(shape, size, linewise: bool) -> float:
    """Lines/s (per CPU second, best of three) of ``copy_tiles`` gathering one tile of ``size`` from a
    host tensor of ``shape`` (fp16) through cold COPY_LEVELS; ``linewise``: the line-by-line path."""
    from smaug_fast.kernels.copies import copy_tiles

    h = CacheHierarchy(COPY_LEVELS)
    args = (np.array(shape, np.int64), 2, 1 << 30, np.zeros((1, 4), np.int64), np.array([size], np.int64),
            np.array([1 << 34], np.int64), True)
    best = float("inf")
    for _ in range(4):  # the first compiles or loads the kernels
        h.reset()
        h.linewise = linewise  # (no effect before the run path existed)
        c = time.process_time()
        copy_tiles(*args, *h._state())
        best = min(best, time.process_time() - c)
    s = h.stats()[0]
    return (s.loads + s.stores) / best


def copies() -> None:
    print("tiling copies (copy_tiles), L1D 64 KiB 4-way 32 B + L2 2 MiB 16-way 32 B, cold, fp16:")
    for name, shape, size in (("one 8 MiB run", (1, 1, 1, 1 << 22), (1, 1, 1, 1 << 22)),
                              ("32 B runs (16 of 64 channels)", (1, 256, 256, 64), (1, 256, 256, 16))):
        rates = [copy_rate(shape, size, False)]
        if hasattr(CacheHierarchy, "linewise"):
            rates.append(copy_rate(shape, size, True))
        tail = f", line by line {rates[1] / 1e6:5.1f}" if len(rates) > 1 else ""
        print(f"  {name:34s} {rates[0] / 1e6:5.1f} M lines/s per CPU second{tail}", flush=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accesses", type=int, default=20_000_000)
    ap.add_argument("--pycachesim-accesses", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    n = args.accesses
    print(f"L1 32 KiB 8-way 64 B + L2 1 MiB 16-way 64 B, LRU, write-back; {n:,} accesses, one core")
    for name, (addrs, writes) in {
        "streaming loads": (streaming(n), np.zeros(n, np.uint8)),
        "blocked GEMM 512^2, 32^2 tiles, ikj": blocked_gemm(n),
    }.items():
        rate, cpu_rate, stats, extra = run_ours(addrs, writes)
        l1, l2 = stats
        line = (f"{name:36s} smaug_fast {rate / 1e6:6.1f} M acc/s wall, {cpu_rate / 1e6:6.1f} per CPU second "
                f"(target 100)  L1 miss rate "
                f"{l1.miss_rate:.4f}, L2 {l2.miss_rate:.4f}; extra memory while running {extra / 1e6:.2f} MB "
                f"(trace {addrs.nbytes / 1e6 + n * 7 / 1e6:.0f} MB)")
        print(line, flush=True)
        pcs = run_pycachesim(addrs, writes, min(args.pycachesim_accesses, len(addrs)))
        if pcs is not None:
            prate, same = pcs
            print(f"{'':36s} pycachesim {prate / 1e6:7.1f} M acc/s on the first {min(args.pycachesim_accesses, n):,} "
                  f"(counters {'identical' if same else 'DIFFERENT'} to smaug_fast's compat mode)", flush=True)
        else:
            print(f"{'':36s} pycachesim: not installed (run validation/pycachesim_compare.py once)")
    copies()
    return 0


if __name__ == "__main__":
    sys.exit(main())
