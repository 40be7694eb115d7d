"""What bounds the model's speed-up of the tiling copies on 8 threads (the SMAUG paper: 3-4x)?

    python validation/thread_scaling.py [--network resnet50] [--threads 8]

A diagnostic, not a pass/fail check. It prints three things the README's validation section cites:

1. **DRAM interleaving.** The bandwidth ``n`` copy streams get together from the DRAM model on gem5's
   LPDDR4_3200_2x16 (``presets.LPDDR4_3200_GEM5_2X16``), against one stream. Each stream is a CPU
   thread copying its own tile: per 32-byte line a read of the source, a read for ownership of the
   destination (write-allocate) and the write-back of an earlier destination line, in turns of the
   misses a core keeps in flight (``CPU.outstanding_misses``), the streams interleaved at the
   controller, open loop (the saturated case, where the shared bandwidth decides).
2. **Tiles per copy.** How the network's copied bytes spread over copies of 1, 2, ... tiles (SMAUG's
   ``parallelCopyTileData`` gives each thread ceil(tiles / threads) tiles, so few tiles leave threads
   idle; the chunks of element-wise ops are gathered on one thread by ``flattenTiledTensor``, listed
   apart).
3. **What bounds the 8-thread copies.** The network's copy time (``cpu_prep`` + ``cpu_finalize``) on
   1 and ``--threads`` threads, and again with one limit lifted at a time (DRAM bandwidth, a core's
   outstanding-miss bandwidth, the copy loop's work, the LLC stalls).
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

import numpy as np

from smaug_fast import presets, zoo
from smaug_fast.kernels import network as K
from smaug_fast.memory import DRAM
from smaug_fast.sim import engine as E
from smaug_fast.sim.timing import cpu_op_work_s, dram_profile, timing_params

sys.path.insert(0, str(Path(__file__).resolve().parent))
import smaug_paper  # noqa: E402  (the validation's systems: smaug-table2 with gem5's DRAM)


def copy_streams(config, n: int, outstanding: int, line: int, lines_per_stream: int = 2048):
    """Addresses and write flags of ``n`` interleaved copy streams (see the module docstring)."""
    per_turn = max(1, outstanding // 2)
    turns = -(-lines_per_stream // per_turn)
    span = config.size_bytes // (3 * n + 1)
    rng = np.random.default_rng(12345)  # region offsets: first rows spread over the banks
    base = np.arange(3 * n, dtype=np.int64) * span + rng.integers(0, (1 << 20) // line, 3 * n) * line
    step = np.arange(turns * per_turn, dtype=np.int64) * line
    # [turn, stream, line of the turn, (source read, destination read, write-back)]
    addr = base.reshape(n, 3)[None, :, None, :] + step.reshape(turns, 1, per_turn, 1)
    write = np.broadcast_to(np.array([False, False, True]), addr.shape)
    return addr.reshape(-1), np.ascontiguousarray(write).reshape(-1)


def dram_interleaving(streams: int) -> None:
    cfg = presets.LPDDR4_3200_GEM5_2X16
    system = smaug_paper.system({})
    line, out = system.l2.line_bytes, system.cpu.outstanding_misses
    print(f"1. 1-{streams} copy streams on {cfg.name} ({line}-byte lines, {out} misses in flight per core), "
          "bandwidth in whole bursts [GB/s]")
    seq = DRAM(cfg).simulate(np.arange(0, 1 << 18, cfg.burst_bytes, dtype=np.int64))
    print(f"   one sequential read stream: {seq.bandwidth_bytes_per_s / 1e9:.2f}")
    for n in range(1, streams + 1):
        a, w = copy_streams(cfg, n, out, line)
        st = DRAM(cfg).simulate(a, w, nbytes=line)
        print(f"   {n} copy stream{'s' if n > 1 else ' '}: {st.bandwidth_bytes_per_s / 1e9:6.2f}  "
              f"row hits {st.row_hit_rate:.2f}")


def _prepared(graph, system):
    key = E.InputsKey(E.memory_key(graph, system), system.num_accelerators)
    prep = E.prepared_inputs(key)
    ops = key.memory.plan.ops.ops
    cpu_work = np.zeros(len(ops))
    for o in np.flatnonzero(~prep.accel):
        cpu_work[o] = cpu_op_work_s(system, ops[o])
    return prep, cpu_work


def tiles_per_copy(graph) -> None:
    prep, _ = _prepared(graph, smaug_paper.system({}))
    c, ptr = prep.copies, prep.copy_ptr
    hist: collections.Counter = collections.Counter()
    serial = 0.0
    for o in np.flatnonzero(prep.accel):
        for phase in (0, 1):
            lo, hi = ptr[2 * o + phase], ptr[2 * o + phase + 1]
            if hi > lo and phase == 1 and prep.serial_fin[o]:
                serial += c[lo:hi, K.C_BYTES].sum()
            elif hi > lo:
                hist[hi - lo] += c[lo:hi, K.C_BYTES].sum()
    total = sum(hist.values()) + serial
    print(f"\n2. {graph.name}: share of the copied bytes ({total / 1e6:.1f} MB) by tiles per copy")
    for lo, hi in ((1, 1), (2, 3), (4, 7), (8, 12), (13, 31), (32, 10**9)):
        share = sum(v for n, v in hist.items() if lo <= n <= hi) / total
        print(f"   {lo}-{hi if hi < 10**9 else '...'} tiles: {share * 100:5.1f} %")
    print(f"   one thread (flattenTiledTensor): {serial / total * 100:5.1f} %")


def bounds(graph, threads: int) -> None:
    print(f"\n3. {graph.name}: copy time (cpu_prep + cpu_finalize) [ms], one limit lifted at a time")
    lifts = {"as modelled": {}, "infinite DRAM bandwidth": {K.DRAM_BW: 1e15},
             "infinite per-core bandwidth": {K.CORE_CAP: 1e15},
             "no copy-loop work": {K.COPY_CALL_CYCLES: 0.0, K.COPY_BYTES_PER_CYCLE: 1e12},
             "no LLC stalls": {K.L2_STALL_S: 0.0}}
    for label, changes in lifts.items():
        row = []
        for n in (1, threads):
            system = smaug_paper.system({"cpu_threads": n})
            prep, cpu_work = _prepared(graph, system)
            p = timing_params(system, dram_profile(system.dram))
            for k, v in changes.items():
                p[k] = v
            _, detail, *_ = K.run_network(prep.accel, prep.copy_ptr, prep.copies, prep.acc_ptr,
                                          system.num_accelerators, prep.inv, prep.out_dma, prep.serial_fin,
                                          cpu_work, n, p, False)
            row.append(detail[:, [K.P_PREP, K.P_FINALIZE]].sum() * 1e3)
        print(f"   {label:28s} 1 thread {row[0]:8.2f}   {threads} threads {row[1]:8.2f}   speed-up {row[0] / row[1]:.2f}x")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--network", default="resnet50", choices=zoo.names())
    ap.add_argument("--threads", type=int, default=8)
    args = ap.parse_args(argv)
    graph = zoo.load(args.network)
    dram_interleaving(args.threads)
    tiles_per_copy(graph)
    bounds(graph, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
