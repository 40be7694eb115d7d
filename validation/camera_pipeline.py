"""SMAUG's camera-pipeline case study (Xi et al., ACM TACO 17(4), 2020, section 7), built from its sources.

    python validation/camera_pipeline.py [--json] [--table2-dram] [--threads N] [--frames N]

Per frame, Halide's ``camera_pipe`` (``halide/Halide`` ``apps/camera_pipe``: hot-pixel suppression,
deinterleave, demosaic, colour correction, tone curve, sharpen; its CPU schedule of 32-row strips in
parallel, 2 rows per step, vectorized 16 lanes wide) turns a raw 1280x720 Bayer frame into RGB on the
CPU; then CNN10 runs on one systolic array (``SystolicArray(array=Systolic(rows, cols, ...))``, the
paper's output-stationary array at 1 GHz with 32 KB scratchpads). The paper varies the array: 8x8, 4x8
and 4x4 processing elements (rows x columns); the frame budget is 33 ms (30 FPS).

The SoC is the ``smaug-table2`` preset (8 O3 cores at 2.5 GHz, 64 KB L1D, 2 MB LLC) with the DRAM
SMAUG's gem5 scripts simulate, as ``validation/smaug_paper.py`` uses (``presets.LPDDR4_3200_GEM5_2X16``;
``--table2-dram``: Table 2's four x16 channels); the camera pipeline's strips run on every core
(Halide's thread pool; ``--threads`` to change). No constant here was fitted to the case study: the
pipeline's per-pixel work is counted from the Halide generator, its per-operation costs are gem5's x86
micro-ops (``smaug_fast.pipelines.cost``), its memory traffic goes through the cache and DRAM models.
The paper's numbers for this case study are not in ``../shared/reference`` (held out): this script
prints ours.

Prints, per array: the camera pipeline's time, the DNN's time by operator kind, the frame's total,
whether it meets the deadline, and the frame's DRAM energy with the camera pipeline's part. ``--json``
prints one object keyed by array shape ("8x8", "4x8", "4x4"), each with ``camera_pipe_s``, ``dnn_s``,
``dnn_by_op_kind_s``, ``total_s``, ``deadline_met``, ``dram_energy_j`` and ``dram_energy_camera_j``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from smaug_fast import Scenario, Task, presets, simulate_scenario, zoo
from smaug_fast.accelerators.systolic_array import PAPER_ARRAY, SystolicArray
from smaug_fast.pipelines import camera_pipe

#: The paper's array shapes (rows, columns).
SHAPES = ((8, 8), (4, 8), (4, 4))
FPS = 30
WIDTH, HEIGHT = 1280, 720


def system_for(rows: int, cols: int, table2_dram: bool):
    """The case study's SoC with a ``rows`` x ``cols`` systolic array."""
    array = dataclasses.replace(PAPER_ARRAY, rows=rows, cols=cols)
    changes = {} if table2_dram else {"dram": presets.LPDDR4_3200_GEM5_2X16}
    return presets.load("smaug-table2", accelerator=SystolicArray(array=array), **changes)


def case_study(rows: int, cols: int, *, table2_dram: bool = False, threads: int | None = None, frames: int = 1):
    """The scenario result and the figures of one array shape."""
    scenario = Scenario(
        (Task("camera_pipe", camera_pipe(WIDTH, HEIGHT, threads=threads)),
         Task("cnn10", zoo.load("cnn10"), after=("camera_pipe",))),
        period_s=1 / FPS, frames=frames, name=f"camera_pipe+cnn10 on {rows}x{cols}",
    )
    r = simulate_scenario(scenario, system_for(rows, cols, table2_dram))
    cam, dnn = r.tasks["camera_pipe"], r.tasks["cnn10"]
    by_kind: dict[str, float] = {}
    for op in dnn.alone.ops:
        by_kind[op.kind] = by_kind.get(op.kind, 0.0) + op.latency_s
    figures = {
        "camera_pipe_s": float(cam.latency_s.mean()),
        "dnn_s": float(dnn.latency_s.mean()),
        "dnn_by_op_kind_s": by_kind,
        "total_s": float(r.frames.latency_s.mean()),
        "deadline_met": bool(r.frames.deadline_met.all()),
        "dram_energy_j": float(r.frames.dram_energy_j.mean()),
        "dram_energy_camera_j": float(cam.dram_energy_j.mean()),
    }
    return r, figures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="print one JSON object keyed by array shape")
    ap.add_argument("--table2-dram", action="store_true", help="Table 2's DRAM instead of gem5's LPDDR4_3200_2x16")
    ap.add_argument("--threads", type=int, default=None, help="cores the camera pipeline's strips run on")
    ap.add_argument("--frames", type=int, default=1, help="frames per run (the figures are per-frame means)")
    args = ap.parse_args(argv)
    out, results = {}, {}
    for rows, cols in SHAPES:
        key = f"{rows}x{cols}"
        results[key], out[key] = case_study(rows, cols, table2_dram=args.table2_dram, threads=args.threads,
                                            frames=args.frames)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    kinds = sorted({k for v in out.values() for k in v["dnn_by_op_kind_s"]})
    first = results["8x8"]
    cam = first.tasks["camera_pipe"]
    print(f"camera_pipe {WIDTH}x{HEIGHT} on {cam.threads} core(s), then CNN10 on one systolic array; "
          f"deadline {1e3 / FPS:.1f} ms; DRAM {first.system.dram.name}")
    header = f"{'array':<6} {'camera ms':>10} {'DNN ms':>8} " + " ".join(f"{k[:10] + ' ms':>14}" for k in kinds)
    print(header + f" {'total ms':>9} {'deadline':>8} {'DRAM mJ':>8} {'camera mJ':>9}")
    for key, v in out.items():
        cells = " ".join(f"{v['dnn_by_op_kind_s'].get(k, 0.0) * 1e3:14.3f}" for k in kinds)
        print(f"{key:<6} {v['camera_pipe_s'] * 1e3:10.3f} {v['dnn_s'] * 1e3:8.3f} {cells} {v['total_s'] * 1e3:9.3f} "
              f"{'met' if v['deadline_met'] else 'MISSED':>8} {v['dram_energy_j'] * 1e3:8.3f} "
              f"{v['dram_energy_camera_j'] * 1e3:9.3f}")
    print("camera pipeline alone:")
    print("\n".join("  " + line for line in cam.alone.summary().splitlines()))
    met = sum(v["deadline_met"] for v in out.values())
    print(f"summary: {met}/{len(out)} array shapes meet the {1e3 / FPS:.1f} ms deadline "
          f"(paper's numbers held out; nothing fitted to them)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
