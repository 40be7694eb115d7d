"""smaug_fast's systolic model against the real SCALE-Sim 3.0.0, layer by layer, with the speed ratio.

Source of truth: SCALE-Sim 3.0.0 (PyPI ``scalesim``, github.com/scalesim-project/scale-sim-v2),
run here in its own virtual environment (it needs ``numpy<2.4``), which this script creates under
``validation/scalesim/.venv`` (gitignored) on first use. Inputs are SCALE-Sim's shipped topologies
and its ``scale.cfg`` (CALC mode, 64/64/64 KB) from ``../shared/reference/scalesim/``, with the
dataflow and the array shape replaced.

Tolerances (issue 5): every COMPUTE_REPORT value, every SRAM count and every start/stop cycle must
be equal (floats to 1e-9 relative); DRAM read/write counts within 1 %. smaug_fast runs with
``scalesim_compat=True``.

Speed: SCALE-Sim's CPU time (process time of the child, the import excluded) against ours (process
time, warm: after one run that compiles, the best of three). CPU time, not wall time, because the
machine is shared. Reference results are cached under ``validation/scalesim/.runs`` (gitignored)
so that a rerun costs only our side; ``--fresh`` reruns SCALE-Sim.

Examples:
    python validation/scalesim/compare.py --topologies test,test_mnk_input --dataflows os,ws,is \
        --arrays 32x32,8x16
    python validation/scalesim/compare.py --topologies Resnet18 --dataflows ws --arrays 32x32
    python validation/scalesim/compare.py --topologies Resnet18 --layers Conv1,Conv4_1b --arrays 16x64
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
import os  # noqa: E402


def _reference() -> Path:
    """``$SMAUG_FAST_REFERENCE/scalesim``, else the nearest ``shared/reference/scalesim`` above the repo."""
    if os.environ.get("SMAUG_FAST_REFERENCE"):
        return Path(os.environ["SMAUG_FAST_REFERENCE"]) / "scalesim"
    for parent in REPO.parents:
        if (parent / "shared" / "reference" / "scalesim").is_dir():
            return parent / "shared" / "reference" / "scalesim"
    return REPO.parent / "shared" / "reference" / "scalesim"


REFERENCE = _reference()
VENV = HERE / ".venv"
RUNS = HERE / ".runs"
GEMM_TOPOLOGIES = {"test_mnk_input", "gnmt", "NCF", "vit_s", "gpt2"}

COMPUTE_KEYS = ("total_cycles_incl_prefetch", "total_cycles", "stall_cycles", "overall_util_percent",
                "mapping_efficiency_percent", "compute_util_percent")
BW_KEYS = ("avg_ifmap_sram_bw", "avg_filter_sram_bw", "avg_ofmap_sram_bw", "avg_ifmap_dram_bw",
           "avg_filter_dram_bw", "avg_ofmap_dram_bw")
DETAIL_KEYS = tuple(
    f"{op}_{mem}_{what}"
    for mem in ("sram", "dram")
    for op in ("ifmap", "filter", "ofmap")
    for what in ("start_cycle", "stop_cycle", "reads" if op != "ofmap" else "writes")
)
DRAM_COUNTS = {"ifmap_dram_reads", "filter_dram_reads", "ofmap_dram_writes"}
# DRAM bandwidths divide a DRAM count (1 % tolerance) by exact cycles
BW_TOLERANT = {"avg_ifmap_dram_bw", "avg_filter_dram_bw", "avg_ofmap_dram_bw"}


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV} with scalesim==3.0.0 (numpy<2.4) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "scalesim==3.0.0", "numpy<2.4"],
                       check=True)
    return python


def config_text(df: str, rows: int, cols: int, srams_kb: tuple[int, int, int]) -> str:
    text = (REFERENCE / "configs" / "scale.cfg").read_text()
    out = []
    for line in text.splitlines():
        key = line.split(":")[0].strip().lower()
        if key == "dataflow":
            line = f"Dataflow : {df}"
        elif key == "arrayheight":
            line = f"ArrayHeight:    {rows}"
        elif key == "arraywidth":
            line = f"ArrayWidth:     {cols}"
        elif key in ("ifmapsramszkb", "filtersramszkb", "ofmapsramszkb"):
            idx = ("ifmapsramszkb", "filtersramszkb", "ofmapsramszkb").index(key)
            line = f"{line.split(':')[0]}: {srams_kb[idx]}"
        elif line.startswith("run_name"):
            line = "run_name = ref"
        out.append(line)
    return "\n".join(out) + "\n"


def topology_path(name: str) -> Path:
    """A shipped topology by name, or a CSV file of one (a path ending in .csv)."""
    return Path(name) if name.endswith(".csv") else REFERENCE / "topologies" / f"{name}.csv"


def is_gemm(name: str) -> bool:
    """GEMM topologies list ``Layer, M, N, K``; conv topologies IFMAP and filter sizes."""
    if name in GEMM_TOPOLOGIES:
        return True
    header = topology_path(name).read_text().splitlines()[0]
    return [c.strip() for c in header.split(",")[:4]] == ["Layer", "M", "N", "K"]


def topology_subset(name: str, layers: list[str] | None, max_layers: int | None) -> str:
    lines = topology_path(name).read_text().splitlines()
    header, body = lines[0], [ln for ln in lines[1:] if ln.strip()]
    if layers:
        body = [ln for ln in body if ln.split(",")[0].strip() in layers]
    if max_layers:
        body = body[:max_layers]
    text = header + "\n" + "\n".join(ln if ln.rstrip().endswith(",") else ln + "," for ln in body) + "\n"
    return text


def read_report(path: Path) -> list[list[str]]:
    with open(path) as fh:
        rows = list(csv.reader(fh))[1:]
    return [[c.strip() for c in r if c.strip() != ""] for r in rows if r]


def run_reference(python: Path, cfg: str, topo: str, gemm: bool, fresh: bool):
    key = hashlib.sha1((cfg + topo + str(gemm)).encode()).hexdigest()[:16]
    d = RUNS / key
    result = d / "result.json"
    if result.exists() and not fresh:
        return json.loads(result.read_text()), d / "out" / "ref", True
    d.mkdir(parents=True, exist_ok=True)
    (d / "scale.cfg").write_text(cfg)
    (d / "topology.csv").write_text(topo)
    cmd = [str(python), str(HERE / "run_reference.py"), str(d / "scale.cfg"), str(d / "topology.csv"),
           str(REFERENCE / "layouts" / "test.csv"), str(d / "out")] + (["--gemm"] if gemm else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=d)
    if proc.returncode != 0:
        raise RuntimeError(f"SCALE-Sim failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    result.write_text(json.dumps(info))
    return info, d / "out" / "ref", False


def ours(cfg_path: Path, topo_path: Path, gemm: bool):
    from smaug_fast.accelerators.scalesim_io import read_config, read_topology, run_layer

    cfg = read_config(cfg_path, scalesim_compat=True)
    layers = read_topology(topo_path, gemm=gemm)
    reports = [run_layer(cfg.systolic, layer) for layer in layers]  # warm-up (compiles)
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        reports = [run_layer(cfg.systolic, layer) for layer in layers]
        best = min(best, time.process_time() - t0)
    return layers, reports, best


def compare(ref_dir: Path, layers, reports):
    comp = read_report(ref_dir / "COMPUTE_REPORT.csv")
    bw = read_report(ref_dir / "BANDWIDTH_REPORT.csv")
    det = read_report(ref_dir / "DETAILED_ACCESS_REPORT.csv")
    rows = []
    for i, (layer, r) in enumerate(zip(layers, reports)):
        theirs = dict(zip(COMPUTE_KEYS, comp[i][1:])) | dict(zip(BW_KEYS, bw[i][1:])) | dict(
            zip(DETAIL_KEYS, det[i][1:]))
        issues = []
        worst_dram = 0.0
        for key, text in theirs.items():
            mine, value = float(getattr(r, key)), float(text)
            if key in DRAM_COUNTS or key in BW_TOLERANT:
                rel = abs(mine - value) / max(1.0, abs(value))
                if key in DRAM_COUNTS:
                    worst_dram = max(worst_dram, rel)
                if rel > 0.01:
                    issues.append(f"{key}: {mine:g} vs {value:g} ({100 * rel:.2f} %)")
            elif abs(mine - value) > 1e-9 * max(1.0, abs(value)):
                issues.append(f"{key}: {mine:g} vs {value:g}")
        rows.append((layer.name, r, theirs, issues, worst_dram))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--topologies", default="test,test_mnk_input",
                    help="comma list of SCALE-Sim topology names (Resnet18, alexnet, mobilenet, "
                         "yolo_tiny, test, test_mnk_input, NCF, vit_s, gnmt, gpt2, ...) or CSV files")
    ap.add_argument("--dataflows", default="os,ws,is")
    ap.add_argument("--arrays", default="32x32", help="comma list of ROWSxCOLS")
    ap.add_argument("--srams", default="64,64,64", help="IFMAP,FILTER,OFMAP SRAM sizes [KB]")
    ap.add_argument("--layers", default=None, help="comma list of layer names to keep")
    ap.add_argument("--max-layers", type=int, default=None, help="keep the first N layers")
    ap.add_argument("--fresh", action="store_true", help="rerun SCALE-Sim even when cached")
    ap.add_argument("--quiet", action="store_true", help="print only mismatching layers and totals")
    args = ap.parse_args(argv)

    python = ensure_venv()
    srams = tuple(int(x) for x in args.srams.split(","))
    layer_filter = args.layers.split(",") if args.layers else None
    n_layers = n_bad = 0
    worst_dram = 0.0
    total_ref_cpu = total_our_cpu = 0.0
    print(f"{'topology':<15} {'df':<3} {'array':<7} {'layer':<14} {'total cycles':>12} "
          f"{'incl. prefetch':>14} {'util %':>7} {'DRAM dev %':>10}  status")
    for topo_name in args.topologies.split(","):
        gemm = is_gemm(topo_name)
        topo = topology_subset(topo_name, layer_filter, args.max_layers)
        topo_name = Path(topo_name).stem if topo_name.endswith(".csv") else topo_name
        for df in args.dataflows.split(","):
            for shape in args.arrays.split(","):
                rows_, cols_ = (int(x) for x in shape.lower().split("x"))
                cfg = config_text(df, rows_, cols_, srams)
                info, ref_dir, cached = run_reference(python, cfg, topo, gemm, args.fresh)
                run_dir = ref_dir.parents[1]
                layers, reports, our_cpu = ours(run_dir / "scale.cfg", run_dir / "topology.csv", gemm)
                results = compare(ref_dir, layers, reports)
                for name, r, theirs, issues, dram_dev in results:
                    n_layers += 1
                    n_bad += bool(issues)
                    worst_dram = max(worst_dram, dram_dev)
                    if issues or not args.quiet:
                        print(f"{topo_name:<15} {df:<3} {shape:<7} {name[:14]:<14} {r.total_cycles:>12,} "
                              f"{r.total_cycles_incl_prefetch:>14,} {r.overall_util_percent:>7.2f} "
                              f"{100 * dram_dev:>10.3f}  {'OK' if not issues else '; '.join(issues)}")
                ratio = info["cpu_s"] / our_cpu if our_cpu > 0 else float("inf")
                total_ref_cpu += info["cpu_s"]
                total_our_cpu += our_cpu
                print(f"  -> {topo_name} {df} {shape}: {len(layers)} layers, SCALE-Sim {info['cpu_s']:.1f} CPU-s"
                      f"{' (cached)' if cached else ''}, smaug_fast {1000 * our_cpu:.1f} CPU-ms warm, "
                      f"{ratio:,.0f}x", flush=True)
    print(f"\n{n_layers} layer runs compared, {n_layers - n_bad} exact (DRAM counts within 1 %), "
          f"{n_bad} with differences; worst DRAM count deviation {100 * worst_dram:.3f} %")
    if total_our_cpu > 0:
        print(f"total: SCALE-Sim {total_ref_cpu:.1f} CPU-s, smaug_fast {1000 * total_our_cpu:.1f} CPU-ms, "
              f"ratio {total_ref_cpu / total_our_cpu:,.0f}x")
    return 1 if n_bad else 0


if __name__ == "__main__":
    sys.exit(main())
