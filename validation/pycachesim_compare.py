"""smaug_fast's cache model against pycachesim 0.3.1 (RRZE-HPC), counter by counter.

    python validation/pycachesim_compare.py [--requests N]

pycachesim runs in its own virtual environment, created by this script under
validation/.venv-pycachesim (gitignored) with ``pip install pycachesim==0.3.1 numpy``; a small worker
runs there, reads the trace from a .npz file, drives pycachesim (one ``loadstore`` call for mixed
traces, ``load`` for read-only ones) and prints its counters as JSON.

Checks, for several hierarchies (one to three levels, LRU and FIFO, line sizes 32-128 B, sets that
are not powers of two) and traces (streaming, random, blocked GEMM, unaligned accesses spanning two
lines):

* read-only traces: every counter (LOAD, STORE, HIT, MISS, EVICT per level, and memory loads and
  stores) equal to pycachesim's, in smaug_fast's default mode;
* traces with stores: equal in ``pycachesim_compat=True`` mode; in the default mode (the conventions
  of shared/reference/memory_facts.md) the differences are printed: store hits counted and
  refreshing LRU, dirty write-backs allocating without a fetch.

Exit status 1 when an exact comparison fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import numpy as np

from smaug_fast.memory import CacheConfig, CacheHierarchy

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-pycachesim"

WORKER = r'''
import json, sys, time
import numpy as np
from cachesim import Cache, CacheSimulator, MainMemory

spec = json.loads(sys.argv[1])
data = np.load(sys.argv[2])
addrs, writes = data["addrs"].tolist(), data["writes"].astype(bool).tolist()
nbytes = int(spec["nbytes"])
mem = MainMemory()
below = None
levels = []
for lv in reversed(spec["levels"]):
    c = Cache(lv["name"], lv["sets"], lv["ways"], lv["line_bytes"], lv["policy"],
              write_back=lv["write_back"], write_allocate=lv["write_allocate"],
              load_from=below, store_to=below)
    if below is None:
        mem.load_to(c)
        mem.store_from(c)
    below = c
    levels.insert(0, c)
cs = CacheSimulator(levels[0], mem)
t = time.perf_counter()
if any(writes):
    cs.loadstore([([a], []) if not w else ([], [a]) for a, w in zip(addrs, writes)], length=nbytes)
else:
    cs.load(addrs, length=nbytes)
dt = time.perf_counter() - t
out = [{k: s[k] for k in ("name", "LOAD_count", "STORE_count", "HIT_count", "MISS_count", "EVICT_count")}
       for s in cs.stats()]
print(json.dumps({"stats": out, "seconds": dt}))
'''


def pycachesim_python() -> Path:
    py = VENV / "bin" / "python"
    if not py.exists():
        venv.create(VENV, with_pip=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "pycachesim==0.3.1", "numpy"], check=True)
    return py


def run_pycachesim(levels, addrs, writes, nbytes, workdir: Path) -> tuple[list[dict], float]:
    spec = {
        "nbytes": nbytes,
        "levels": [
            {"name": c.name, "sets": c.sets, "ways": c.ways, "line_bytes": c.line_bytes,
             "policy": c.policy.upper(), "write_back": c.write_back, "write_allocate": c.write_allocate}
            for c in levels
        ],
    }
    path = workdir / "trace.npz"
    np.savez(path, addrs=addrs, writes=writes)
    res = subprocess.run([str(pycachesim_python()), "-c", WORKER, json.dumps(spec), str(path)],
                         check=True, capture_output=True, text=True)
    out = json.loads(res.stdout)
    return out["stats"], out["seconds"]


def ours(levels, addrs, writes, nbytes, compat: bool) -> tuple[list[dict], float]:
    h = CacheHierarchy(levels, pycachesim_compat=compat)
    h.access(addrs[:1], writes[:1], nbytes)  # compile outside the timing
    h.reset()
    t = time.perf_counter()
    h.access(addrs, writes, nbytes)
    dt = time.perf_counter() - t
    rows = []
    for s in h.stats():
        p = s.as_pycachesim()
        rows.append({"name": s.name, **{f"{k}_count": v for k, v in p.items()}})
    mem = h.memory_traffic()
    # pycachesim's main memory: LOAD = last level's misses, STORE = its write-backs
    rows.append({"name": "MEM", "LOAD_count": mem.reads, "STORE_count": mem.writes,
                 "HIT_count": mem.reads, "MISS_count": 0, "EVICT_count": 0})
    return rows, dt


def traces(n: int, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    rng = np.random.default_rng(seed)
    stream = np.arange(n, dtype=np.int64) * 8
    rnd = rng.integers(0, 1 << 22, n).astype(np.int64) * 8
    # blocked GEMM C[i,j] += A[i,k] B[k,j], 64x64 doubles, 16x16 blocks: loads of A, B, C, store C
    N, bs = 64, 16
    a_base, b_base, c_base = 0, N * N * 8, 2 * N * N * 8
    g_addr, g_w = [], []
    for ii in range(0, N, bs):
        for jj in range(0, N, bs):
            for kk in range(0, N, bs):
                for i in range(ii, ii + bs):
                    for j in range(jj, jj + bs):
                        for k in range(kk, kk + bs):
                            g_addr += [a_base + (i * N + k) * 8, b_base + (k * N + j) * 8]
                            g_w += [False, False]
                        g_addr += [c_base + (i * N + j) * 8, c_base + (i * N + j) * 8]
                        g_w += [False, True]
    gemm = np.array(g_addr, np.int64)[:n]
    gemm_w = np.array(g_w)[: len(gemm)]
    unaligned = rng.integers(0, 1 << 16, n // 4).astype(np.int64) * 4 + 2  # 8-byte accesses, some span lines
    zipf = (rng.zipf(1.2, n) % (1 << 18)).astype(np.int64) * 8
    zipf_w = rng.random(n) < 0.5
    return {
        "stream/ro": (stream, np.zeros(n, bool), 8),
        "random/ro": (rnd, np.zeros(n, bool), 8),
        "gemm/ro": (gemm, np.zeros(len(gemm), bool), 8),
        "unaligned/ro": (unaligned, np.zeros(len(unaligned), bool), 8),
        "stream/rw": (stream, rng.random(n) < 0.3, 8),
        "gemm/rw": (gemm, gemm_w, 8),
        "zipf/rw50": (zipf, zipf_w, 8),
        "random/rw": (rnd, rng.random(n) < 0.3, 8),
    }


HIERARCHIES = {
    "L1 32K/8/64": [CacheConfig(32 * 1024, 8, 64, name="L1")],
    "L1+L2 LRU": [CacheConfig(32 * 1024, 8, 64, name="L1"), CacheConfig(256 * 1024, 16, 64, name="L2")],
    "L1+L2 FIFO": [CacheConfig(4 * 1024, 4, 64, policy="fifo", name="L1"),
                   CacheConfig(64 * 1024, 8, 64, policy="fifo", name="L2")],
    "3 levels, lines 32/64/128, 3x sets": [
        CacheConfig(3 * 2 * 32 * 16, 2, 32, name="L1"),
        CacheConfig(3 * 4 * 64 * 32, 4, 64, name="L2"),
        CacheConfig(3 * 8 * 128 * 64, 8, 128, name="L3"),
    ],
    "tiny 2-way": [CacheConfig(512, 2, 64, name="L1"), CacheConfig(2048, 2, 64, name="L2")],
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200_000)
    args = ap.parse_args(argv)
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for hname, levels in HIERARCHIES.items():
            for tname, (addrs, writes, nbytes) in traces(args.requests).items():
                theirs, t_them = run_pycachesim(levels, addrs, writes, nbytes, work)
                read_only = tname.endswith("/ro")
                mine, t_us = ours(levels, addrs, writes, nbytes, compat=False)
                compat, _ = ours(levels, addrs, writes, nbytes, compat=True)
                exact = compat if not read_only else mine
                ok = exact == theirs
                failures += not ok
                speed = f"{len(addrs) / t_us / 1e6:7.1f} vs {len(addrs) / t_them / 1e6:5.1f} M acc/s"
                tag = "identical" if ok else "DIFFERENT"
                mode = "default" if read_only else "compat "
                print(f"{hname:36s} {tname:13s} {mode} {tag:9s} ({speed})")
                if not ok:
                    print("   ours      ", exact)
                    print("   pycachesim", theirs)
                if not read_only:
                    diffs = []
                    for a, b in zip(mine, theirs, strict=True):
                        for k in ("LOAD_count", "HIT_count", "MISS_count", "EVICT_count"):
                            if a[k] != b[k]:
                                diffs.append(f"{a['name']}.{k[:-6]} {a[k]} vs {b[k]} ({a[k] / max(b[k], 1) - 1:+.1%})")
                    print("   default-mode differences:", "; ".join(diffs) if diffs else "none")
    print(f"\n{failures} exact comparison(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
