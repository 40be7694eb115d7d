"""smaug_fast against the SMAUG paper's end-to-end figures (Xi et al., ACM TACO 17(4), 2020).

    python validation/smaug_paper.py [--networks NAME ...] [--table2-dram] [--set KEY=VALUE ...] [--json | --markdown]

``--set`` changes a hardware field in every configuration, as ``smaug-fast run --set`` does; e.g.
``--set accelerator.pipeline_conv_rows=true --set cpu.copy_call_cycles=250`` runs the reading in
which SMV's convolution streams across output rows, with its own fit (``validation/README.md``).

Published values are bar heights measured from the paper's figures
(``../shared/reference/smaug_published.json``, about +-0.2 % of full scale). Every run uses the
``smaug-table2`` preset (Table 2: one SMV over DMA with one CPU thread is the baseline) and the
defaults of ``smaug_fast/hardware.py``; the constants fitted by ``validation/calibrate.py`` were fitted
to Fig. 1 only, so Fig. 10 and Fig. 17 are out-of-sample checks of the same model.

One change to the preset, by default: the DRAM is the one SMAUG's gem5 scripts simulate
(``presets.LPDDR4_3200_GEM5_2X16``: run.sh ``--mem-type=LPDDR4_3200_2x16`` with one channel, a 32-bit
interface with 64-byte bursts, 12.8 GB/s peak and half of it for the 32-byte lines of the caches and
the ACP) rather than Table 2's "4 channels, 25.6 GB/s" (the LPDDR4 part's four x16 channels). It
decides nothing in Fig. 1 (one accelerator and one thread use a few GB/s), and it is what the
paper's Fig. 17 shows: with 8 accelerators and 8 threads the transfers take as long as this DRAM
makes them. ``--table2-dram`` runs the preset as it is.

- **Fig. 1**: share of the baseline latency spent in accelerator compute, data transfer and CPU, per
  network. Goal: within 5 percentage points per component.
- **Fig. 10a**: latency with the ACP interface, normalized to the DMA baseline. Goal: total within 15 %
  (relative); the components are printed for information.
- **Fig. 10b**: energy with ACP, normalized to DMA. The paper's energy excludes the CPU: functional
  units, scratchpads, LLC leakage, LLC dynamic, DRAM. Ours maps to those components (see
  :data:`ENERGY_MAP`). Goal: total within 15 %; the DMA bar's composition is printed for information.
- **Fig. 17**: ACP with 8 accelerators and 8 threads, normalized to the baseline. Goal: total within
  15 % per network.
- **Headlines** (for information, no goal: the paper gives ranges in its text, not per-network bars):
  8 accelerators over DMA "20-60 % faster", 8 threads "up to 37 %" end to end with data preparation
  and finalization "3-4x faster".

Prints ours, theirs and the error of each, then a summary line (how many checks pass).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from smaug_fast import presets, simulate, zoo
from smaug_fast.cli import parse_sets

#: Paper name -> zoo name.
NETWORKS = {"Minerva": "minerva", "LeNet5": "lenet5", "CNN10": "cnn10", "VGG16": "vgg16",
            "ELU16": "elu16", "ELU24": "elu24", "ResNet50": "resnet50"}
PHASES = ("accel_compute", "data_transfer", "cpu")
#: The paper's energy components (Fig. 10b) -> ours (Result.energy_detail_j keys).
ENERGY_MAP = {
    "func_units": ("accel_fu_dynamic",),
    "spad": ("spad_dynamic", "accel_leakage"),  # SMV's leakage is its scratchpads' (smv.py)
    "llc_leakage": ("llc_leakage",),
    "llc_dynamic": ("llc_dynamic",),
    "dram": ("dram_dynamic", "dram_background"),
}
FIG1_POINTS = 5.0
FIG10_REL = 0.15
FIG17_REL = 0.15

BASELINE = {}
ACP = {"interface": "acp"}
COMBINED = {"interface": "acp", "num_accelerators": 8, "cpu_threads": 8}
ACCELS8 = {"num_accelerators": 8}
THREADS8 = {"cpu_threads": 8}
#: The change to ``smaug-table2`` every run makes unless ``--table2-dram`` (see the module docstring).
GEM5_DRAM = {"dram": presets.LPDDR4_3200_GEM5_2X16}


def reference() -> dict:
    """The published numbers: $SMAUG_FAST_REFERENCE, else the nearest ancestor's shared/reference."""
    if os.environ.get("SMAUG_FAST_REFERENCE"):
        path = Path(os.environ["SMAUG_FAST_REFERENCE"]) / "smaug_published.json"
        if path.exists():
            return json.loads(path.read_text())
    here = Path(__file__).resolve()
    for parent in here.parents:
        path = parent / "shared" / "reference" / "smaug_published.json"
        if path.exists():
            return json.loads(path.read_text())
    sys.exit("smaug_published.json not found (expected ../shared/reference next to the repository)")


def paper_energy(result) -> dict[str, float]:
    """Our energy in the paper's Fig. 10b components [J] (no CPU, no L1)."""
    d = result.energy_detail_j
    return {k: sum(d[c] for c in cs) for k, cs in ENERGY_MAP.items()}


def system(changes: dict, table2_dram: bool = False, extra: dict | None = None):
    """``smaug-table2`` with ``changes`` (and the gem5 DRAM unless ``table2_dram``), then ``extra``
    (the command line's ``--set``)."""
    return presets.load("smaug-table2", **({} if table2_dram else GEM5_DRAM), **changes, **(extra or {}))


def run(networks: list[str], table2_dram: bool = False, extra: dict | None = None) -> dict:
    """Simulate every network in the three configurations (each with ``extra``'s changes); returns
    the comparison rows."""
    pub = reference()
    out: dict[str, list] = {"fig1": [], "fig14": [], "fig10a": [], "fig10b": [], "fig17": [], "headlines": []}
    for paper in networks:
        g = zoo.load(NETWORKS[paper])
        base = simulate(g, system(BASELINE, table2_dram, extra))
        acp = simulate(g, system(ACP, table2_dram, extra))
        comb = simulate(g, system(COMBINED, table2_dram, extra))
        f1 = pub["fig1_baseline_breakdown_pct"][paper]
        for p in PHASES:
            ours = 100 * base.breakdown_s[p] / base.latency_s
            out["fig1"].append((paper, p, ours, f1[p], ours - f1[p], abs(ours - f1[p]) <= FIG1_POINTS))
        out["fig14"] += fig14_rows(paper, base, pub["fig14_baseline_breakdown_norm"][paper])
        t10 = pub["fig10a_norm_time_DMA_vs_ACP"][paper]["ACP"]
        parts = {"accel_compute": acp.breakdown_s["accel_compute"], "data_transfer": acp.breakdown_s["data_transfer"],
                 "cpu": acp.breakdown_s["cpu"]}
        theirs_parts = {"accel_compute": t10["accel_compute"], "data_transfer": t10["acp_transfer"], "cpu": t10["cpu"]}
        ratio = acp.latency_s / base.latency_s
        out["fig10a"].append((paper, ratio, t10["total"], ratio / t10["total"] - 1,
                              abs(ratio / t10["total"] - 1) <= FIG10_REL,
                              {k: v / base.latency_s for k, v in parts.items()}, theirs_parts))
        e10 = pub["fig10b_norm_energy_DMA_vs_ACP"][paper]
        e_base, e_acp = paper_energy(base), paper_energy(acp)
        tot_base = sum(e_base.values())
        eratio = sum(e_acp.values()) / tot_base
        out["fig10b"].append((paper, eratio, e10["ACP"]["total"], eratio / e10["ACP"]["total"] - 1,
                              abs(eratio / e10["ACP"]["total"] - 1) <= FIG10_REL,
                              {k: v / tot_base for k, v in e_base.items()},
                              {k: e10["DMA"][k] for k in ENERGY_MAP}))
        a8 = simulate(g, system(ACCELS8, table2_dram, extra))
        t8 = simulate(g, system(THREADS8, table2_dram, extra))
        copies = base.detail_s["cpu_prep"] + base.detail_s["cpu_finalize"]
        copies8 = t8.detail_s["cpu_prep"] + t8.detail_s["cpu_finalize"]
        out["headlines"].append((paper, base.latency_s / a8.latency_s - 1, base.latency_s / t8.latency_s - 1,
                                 copies / copies8 if copies8 > 0 else float("nan")))
        f17 = pub["fig17_combined_ACP_8accel_8thread"][paper]["optimized"]
        r17 = comb.latency_s / base.latency_s
        out["fig17"].append((paper, r17, f17["total"], r17 / f17["total"] - 1, abs(r17 / f17["total"] - 1) <= FIG17_REL,
                             {p: comb.breakdown_s[p] / base.latency_s for p in PHASES},
                             {p: f17[p] for p in PHASES}))
    return out


#: Fig. 14's five parts of the baseline latency, as sums of our finer phases (DETAIL_PHASES); the
#: reorders' own work moves from "cpu" to "data_prep" (:func:`fig14_shares`).
FIG14_PARTS = {
    "accel_compute": ("accel_compute",),
    "data_transfer": ("dma_transfer", "acp_transfer", "flush"),
    "data_prep": ("cpu_prep",),
    "data_final": ("cpu_finalize",),
    "cpu": ("cpu_ops", "cpu_overhead"),
}


def fig14_shares(result) -> dict[str, float]:
    """Fig. 14's five shares of a baseline run [% of latency].

    SMAUG splits a run by the gem5 stats it dumps at the start and end of three kinds of region
    (``smaug/utility/utils.h``, namespace ``stats``): "Tensor preparation" around the tiling copies of
    every SMV operator's ``run`` (e.g. ``SmvInnerProductOp::run``: ``copyDataToAllTiles``), "Tensor
    finalization" around the untiling, and "Reordering" around ``ReorderOp::run``
    (``operators/reorder_op.h``: the NCHW-to-NHWC conversion before a convolution, the flatten before an
    inner product). A reorder prepares a tensor for the accelerator as the tiling does, so its work (the
    op's ``cpu_ops``; not the framework's per-operator cost, which runs outside ``run``) counts as data
    preparation here; everything else on the CPU is "other"."""
    out = {part: 100 * sum(result.detail_s[p] for p in phases) / result.latency_s
           for part, phases in FIG14_PARTS.items()}
    reorder = 100 * sum(o.detail_s["cpu_ops"] for o in result.ops if o.kind == "reorder") / result.latency_s
    out["data_prep"] += reorder
    out["cpu"] -= reorder
    return out


def fig14_rows(paper: str, base, published: dict) -> list[tuple]:
    """Fig. 14: (network, part, ours [%], paper [%], error [points], within 5 points) per part."""
    rows = []
    for part, ours in fig14_shares(base).items():
        theirs = 100 * published[part]
        rows.append((paper, part, ours, theirs, ours - theirs, abs(ours - theirs) <= FIG1_POINTS))
    return rows


def _print_points(rows: list[tuple], title: str, parts) -> None:
    """A table of (network, part, ours, paper, error, ok) rows: a line per network, a column per part."""
    print(title)
    print(f"  {'network':9s} " + "  ".join(f"{p + ' ours/paper/err':>28s}" for p in parts))
    lines: dict[str, list] = {}
    for paper, p, ours, theirs, err, ok in rows:
        lines.setdefault(paper, []).append(f"{ours:7.1f} {theirs:7.1f} {err:+6.1f}{' ' if ok else '*'}    ")
    for paper, cells in lines.items():
        print(f"  {paper:9s} " + "  ".join(f"{c:>28s}" for c in cells))


def print_report(out: dict) -> None:
    _print_points(out["fig1"], "Fig. 1: baseline latency split (1 SMV, DMA, 1 thread) [% of latency]; goal |error| "
                  "<= 5 points", PHASES)
    if out.get("fig14"):
        print()
        _print_points(out["fig14"], "Fig. 14: the same split with the CPU in three (data preparation, finalization, "
                      "other) [% of latency]; goal |error| <= 5 points", FIG14_PARTS)
    for key, title, goal in (
        ("fig10a", "Fig. 10a: ACP latency / DMA latency", FIG10_REL),
        ("fig10b", "Fig. 10b: ACP energy / DMA energy (no CPU)", FIG10_REL),
        ("fig17", "Fig. 17: ACP + 8 accelerators + 8 threads, latency / baseline", FIG17_REL),
    ):
        print(f"\n{title}; goal |error| <= {goal:.0%}")
        print(f"  {'network':9s} {'ours':>7s} {'paper':>7s} {'error':>7s}   components ours | paper")
        for paper, ours, theirs, err, ok, parts, tparts in out[key]:
            comp = " ".join(f"{k}={v:.3f}" for k, v in parts.items())
            tcomp = " ".join(f"{v:.3f}" for v in tparts.values())
            print(f"  {paper:9s} {ours:7.3f} {theirs:7.3f} {err:+7.1%}{' ' if ok else '*'}  {comp} | {tcomp}")
        if key == "fig10b":
            print("  (components: the DMA bar's composition, ours | paper)")
    print("\nHeadlines (paper text: 8 accelerators over DMA 20-60 % faster; 8 threads up to 37 % faster,")
    print("data preparation and finalization 3-4x faster); for information")
    print(f"  {'network':9s} {'8 accelerators':>15s} {'8 threads':>10s} {'copies 8 thr':>13s}")
    for paper, acc8, thr8, copies in out["headlines"]:
        speedup = f"{copies:12.1f}x" if copies == copies else f"{'no copies':>13s}"  # NaN: nothing tiled
        print(f"  {paper:9s} {acc8:+14.0%} {thr8:+10.0%} {speedup}")


def markdown(out: dict) -> str:
    """The README's validation tables (Fig. 1, Fig. 14, Fig. 10a/10b/17) from ``out``."""
    lines = ["Fig. 1, share of the baseline latency (1 SMV, DMA, 1 thread), ours / paper [%], goal within 5 points:",
             "", "| network | accelerator compute | data transfer | CPU |", "|---|---|---|---|"]
    lines += _markdown_points(out["fig1"], PHASES)
    lines += ["", "Fig. 14, the same split with the CPU in three, ours / paper [%] (data preparation: the tiling copies",
              "and the reorders' work, SMAUG's \"Tensor preparation\" and \"Reordering\" stats regions; finalization:",
              "untiling; other: the other CPU ops and the per-op framework cost), goal within 5 points; "
              f"{sum(r[5] for r in out['fig14'])}/{len(out['fig14'])}:", "",
              "| network | data preparation | finalization | other CPU |", "|---|---|---|---|"]
    lines += _markdown_points(out["fig14"], ("data_prep", "data_final", "cpu"))
    lines += ["", "Normalized to the baseline, ours / paper (error), goal within 15 %:", "",
              "| network | Fig. 10a ACP latency | Fig. 10b ACP energy (no CPU) | Fig. 17 ACP + 8 accelerators + 8 threads |",
              "|---|---|---|---|"]
    for i, row in enumerate(out["fig10a"]):
        cells = [f"{r[1]:.3f} / {r[2]:.3f} ({r[3]:+.0%})".replace("%", " %") for r in
                 (row, out["fig10b"][i], out["fig17"][i])]
        lines.append(f"| {row[0]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _markdown_points(rows: list[tuple], parts) -> list[str]:
    """Table rows of (network, part, ours, paper, error, ok): the error shown where it misses the goal."""
    cells: dict[str, dict] = {}
    for paper, p, ours, theirs, err, ok in rows:
        cells.setdefault(paper, {})[p] = f"{ours:.1f} / {theirs:.1f}" + ("" if ok else f" ({err:+.1f})")
    return [f"| {paper} | " + " | ".join(c[p] for p in parts) + " |" for paper, c in cells.items()]


def summary(out: dict) -> str:
    f1 = out["fig1"]
    worst = max(abs(r[4]) for r in f1)
    rms = (sum(r[4] ** 2 for r in f1) / len(f1)) ** 0.5
    parts = [f"Fig. 1 {sum(r[5] for r in f1)}/{len(f1)} within 5 points (RMS {rms:.1f}, worst {worst:.1f})"]
    f14 = out.get("fig14") or []
    if f14:
        networks_ok = sum(all(r[5] for r in f14 if r[0] == n) for n in dict.fromkeys(r[0] for r in f14))
        parts.append(f"Fig. 14 {sum(r[5] for r in f14)}/{len(f14)} within 5 points, "
                     f"{networks_ok}/{len(set(r[0] for r in f14))} networks with every part")
    for key, name in (("fig10a", "Fig. 10a"), ("fig10b", "Fig. 10b"), ("fig17", "Fig. 17")):
        rows = out[key]
        worst = max(abs(r[3]) for r in rows)
        parts.append(f"{name} {sum(r[4] for r in rows)}/{len(rows)} within 15 % (worst {worst:.0%})")
    return "summary: " + "; ".join(parts)


#: The paper's text on the headline configurations (section 6): 8 accelerators are 20-60 % faster than
#: one, 8 threads up to 37 % faster than one (``smaug_published.json`` "headlines").
HEADLINE_BANDS = {"8 accelerators": (20.0, 60.0), "8 threads": (0.0, 37.0)}


def _figure(width: float, height: float):
    """A matplotlib Figure on an Agg canvas (no pyplot, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _paired_bars(ax, networks, ours, theirs, ylabel: str, title: str) -> None:
    import numpy as np

    x = np.arange(len(networks))
    ax.bar(x - 0.2, ours, 0.4, label="smaug_fast", color="#3b75af")
    ax.bar(x + 0.2, theirs, 0.4, label="SMAUG (paper)", color="#c7c7c7", edgecolor="#555555")
    ax.set_xticks(x, networks, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel, fontsize=8)
    ax.set_title(title, fontsize=9)


def _points_figure(rows: list[tuple], parts, title: str):
    """One panel per part: ours and the paper's share [%] per network, rows (network, part, ours, paper, ...)."""
    fig = _figure(3.2 * len(parts), 3.0)
    axes = fig.subplots(1, len(parts))
    for ax, part in zip(axes, parts):
        sel = [r for r in rows if r[1] == part]
        _paired_bars(ax, [r[0] for r in sel], [r[2] for r in sel], [r[3] for r in sel], "% of latency", part)
    axes[0].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return fig


def _ratio_figure(rows: list[tuple], title: str, goal: float):
    """Ours and the paper's ratio per network, rows (network, ours, paper, error, ok, ...)."""
    fig = _figure(6.0, 3.0)
    ax = fig.subplots()
    _paired_bars(ax, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], "ratio to the baseline",
                 f"{title} (goal: within {goal:.0%})")
    ax.legend(fontsize=7)
    return fig


def _headline_figure(rows: list[tuple]):
    """8 accelerators and 8 threads: our speedup [%] per network against the paper's stated range."""
    import numpy as np

    fig = _figure(8.0, 3.0)
    axes = fig.subplots(1, 2)
    for ax, (label, (lo, hi)), col in zip(axes, HEADLINE_BANDS.items(), (1, 2)):
        x = np.arange(len(rows))
        ax.axhspan(lo, hi, color="#dddddd", label=f"paper's text: {lo:.0f}-{hi:.0f} %")
        ax.bar(x, [100 * r[col] for r in rows], 0.6, color="#3b75af", label="smaug_fast")
        ax.set_xticks(x, [r[0] for r in rows], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("faster than the baseline [%]", fontsize=8)
        ax.set_title(label, fontsize=9)
        ax.legend(fontsize=7)
    return fig


def write_report(out: dict, directory: Path) -> Path:
    """``directory``/smaug_paper.md (the tables, the summary and the figures) and its PNG figures;
    returns the Markdown file. Needs matplotlib (the ``[plot]`` extra)."""
    directory.mkdir(parents=True, exist_ok=True)
    figures = {
        "fig1.png": ("Fig. 1: baseline latency split", _points_figure(out["fig1"], PHASES, "Fig. 1: baseline latency split, ours vs SMAUG")),
        "fig14.png": ("Fig. 14: the split with the CPU in three",
                      _points_figure(out["fig14"], tuple(FIG14_PARTS), "Fig. 14: five-way split, ours vs SMAUG")),
        "fig10a.png": ("Fig. 10a: ACP latency / DMA latency", _ratio_figure(out["fig10a"], "Fig. 10a: ACP latency / DMA", FIG10_REL)),
        "fig10b.png": ("Fig. 10b: ACP energy / DMA energy", _ratio_figure(out["fig10b"], "Fig. 10b: ACP energy / DMA", FIG10_REL)),
        "fig17.png": ("Fig. 17: ACP + 8 accelerators + 8 threads", _ratio_figure(out["fig17"], "Fig. 17: combined / baseline", FIG17_REL)),
        "headlines.png": ("8 accelerators and 8 threads against the paper's text", _headline_figure(out["headlines"])),
    }
    lines = ["# smaug_fast against the SMAUG paper", "",
             "Written by `smaug-fast validate --report` (`python validation/smaug_paper.py --report DIR`): every "
             "network of Fig. 1 on the `smaug-table2` preset with gem5's LPDDR4 (SMAUG's run.sh), ours against "
             "the values measured from the paper's figures (`shared/reference/smaug_published.json`).", "",
             f"**{summary(out)}**", ""]
    for name, (caption, fig) in figures.items():
        fig.savefig(directory / name, dpi=110)
        lines += [f"## {caption}", "", f"![{caption}]({name})", ""]
    lines += ["## Tables", "", markdown(out), "", "## 8 accelerators, 8 threads (faster than the baseline)", "",
              "| network | 8 accelerators | 8 threads | tiling copies, 1 / 8 threads |", "|---|---|---|---|"]
    lines += [f"| {n} | {a:+.0%} | {t:+.0%} | {c:.1f}x |".replace("%", " %") for n, a, t, c in out["headlines"]]
    path = directory / "smaug_paper.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", nargs="*", default=list(NETWORKS), choices=list(NETWORKS))
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    ap.add_argument("--markdown", action="store_true", help="print the README's validation tables")
    ap.add_argument("--table2-dram", action="store_true", help="keep Table 2's 4-channel DRAM (see above)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="change a hardware field in every configuration, as smaug-fast run --set does "
                         "(e.g. accelerator.pipeline_conv_rows=true)")
    ap.add_argument("--report", metavar="DIR", type=Path,
                    help="also write DIR/smaug_paper.md with PNG figures of ours against the paper (needs matplotlib)")
    args = ap.parse_args(argv)
    out = run(args.networks, args.table2_dram, parse_sets(args.set))
    if args.report is not None:
        print(f"report: {write_report(out, args.report)}")
    if args.json:
        # numpy scalars (a share computed from a numpy float) as their Python values
        print(json.dumps(out, indent=1, default=lambda v: v.item()))
        return 0
    if args.markdown:
        print(markdown(out))
        return 0
    dram = "Table 2's LPDDR4, 4 channels" if args.table2_dram else "gem5's LPDDR4_3200_2x16 (SMAUG's run.sh)"
    print(f"preset smaug-table2, DRAM: {dram}\n")
    print_report(out)
    print()
    print(summary(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
