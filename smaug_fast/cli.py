"""The ``smaug-fast`` command line.

Each subcommand is a function ``register_<name>(subparsers)`` that adds its parser and sets
``func``; ``main`` wires them all. Errors from bad input (ConfigError, WorkloadError, MappingError)
are printed as one line on stderr with exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys

from .errors import ConfigError, SmaugFastError


def _cmd_zoo(args: argparse.Namespace) -> int:
    from . import zoo

    if args.network:
        print(zoo.load(args.network, batch=args.batch, dtype=args.dtype).summary())
        return 0
    rows = [("network", "ops", "MACs", "params [B]", "description")]
    for name in zoo.names():
        g = zoo.load(name, batch=args.batch, dtype=args.dtype)
        rows.append((name, str(len(g)), f"{g.macs:,}", f"{g.weight_bytes:,}", zoo.info(name).description))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:4], widths[1:])] + [row[4]]
        print("  ".join(cells))
        if i == 0:
            print("-" * (sum(widths) + 8 + max(len(r[4]) for r in rows)))
    return 0


def register_zoo(subparsers) -> None:
    p = subparsers.add_parser(
        "zoo", help="list the networks (ops, MACs, parameter bytes), or show one network's layers"
    )
    p.add_argument("network", nargs="?", help="show this network's op table")
    p.add_argument("--batch", type=int, default=1, help="batch size (default 1)")
    p.add_argument("--dtype", default="float16", help="data type (default float16, as SMAUG's SMV)")
    p.set_defaults(func=_cmd_zoo)


def _parse_value(text: str):
    """A --set value: JSON (numbers, true/false, strings in quotes) or else the bare string ("4MiB")."""
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text


def _parse_sets(items: list[str]) -> dict:
    from .errors import ConfigError

    changes = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE with a dotted key, e.g. l2.size_bytes=4MiB")
        changes[key.strip()] = _parse_value(value.strip())
    return changes


def _add_system_args(p) -> None:
    """--preset, --set and --batch: the SoC and workload options of run and plot."""
    p.add_argument("--preset", default="smaug-table2", help="hardware preset (default smaug-table2)")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="change a hardware field by dotted path, e.g. --set num_accelerators=8 --set l2.size_bytes=4MiB",
    )
    p.add_argument("--batch", type=int, default=1, help="batch size (default 1)")


def _system(args: argparse.Namespace):
    from . import presets

    return presets.load(args.preset, **_parse_sets(args.set))


def _cmd_run(args: argparse.Namespace) -> int:
    import json

    from . import zoo
    from .sim import simulate

    result = simulate(zoo.load(args.network, batch=args.batch), _system(args))
    if args.json:
        print(json.dumps({
            "network": result.network,
            "latency_s": result.latency_s,
            "breakdown_s": result.breakdown_s,
            "detail_s": result.detail_s,
            "energy_j": result.energy_j,
            "energy_breakdown_j": result.energy_breakdown_j,
            "dram_bytes": result.dram_bytes,
            "dram_bandwidth_bytes_per_s": result.dram_bandwidth_bytes_per_s,
        }, indent=2))
    else:
        print(result.summary())
        if args.ops:
            rows = [("op", "kind", "device", "latency [us]", "tiling")]
            for r in result.ops:
                rows.append((r.name, r.kind, r.device, f"{r.latency_s * 1e6:.2f}", r.tiling))
            widths = [max(len(row[i]) for row in rows) for i in range(4)]
            for row in rows:
                print("  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4])
    return 0


def register_run(subparsers) -> None:
    p = subparsers.add_parser("run", help="simulate one network on an SoC and print the latency/energy breakdown")
    p.add_argument("network", help="a zoo network (smaug-fast zoo lists them)")
    _add_system_args(p)
    p.add_argument("--json", action="store_true", help="print JSON (latency_s, breakdown_s, energy_j, dram_bytes, ...)")
    p.add_argument("--ops", action="store_true", help="also print one row per operator")
    p.set_defaults(func=_cmd_run)


# ------------------------------------------------------------------------------------------------
# scalesim: SCALE-Sim 3.0.0's command line (readers and writers in accelerators/scalesim_io.py)
# ------------------------------------------------------------------------------------------------
def _cmd_scalesim(args: argparse.Namespace) -> int:
    from .accelerators.scalesim_io import demand_traces, read_config, read_topology, run_layer, write_reports, write_traces

    cfg = read_config(args.config, scalesim_compat=not args.corrected)
    layers = read_topology(args.topology, gemm=args.gemm)
    from pathlib import Path

    outdir = Path(args.outdir)
    if args.run_name_dir:
        outdir = outdir / cfg.run_name
    reports = [run_layer(cfg.systolic, layer) for layer in layers]
    for path in write_reports(outdir, reports):
        print(path)
    if args.traces:
        offsets = (cfg.ifmap_offset, cfg.filter_offset, cfg.ofmap_offset)
        for lid, layer in enumerate(layers):
            write_traces(outdir, lid, demand_traces(cfg.systolic, layer, offsets), args.trace_format)
        print(f"{outdir}: demand traces of {len(layers)} layers ({args.trace_format})")
    return 0


def register_scalesim(subparsers) -> None:
    p = subparsers.add_parser(
        "scalesim",
        help="run a SCALE-Sim 3.0.0 config and topology; write its three reports (same columns)",
        description="Drop-in for SCALE-Sim 3.0.0 (CALC and USER modes): reads its INI config and "
                    "topology CSV, writes COMPUTE_REPORT.csv, BANDWIDTH_REPORT.csv and "
                    "DETAILED_ACCESS_REPORT.csv. By default the numbers are SCALE-Sim's to the last "
                    "digit (its known bugs included); --corrected fixes them (see "
                    "smaug_fast.accelerators.systolic).",
    )
    p.add_argument("-c", dest="config", required=True, metavar="CONFIG.cfg", help="SCALE-Sim config")
    p.add_argument("-t", dest="topology", required=True, metavar="TOPOLOGY.csv", help="topology CSV")
    p.add_argument("-o", dest="outdir", required=True, metavar="OUTDIR", help="output folder")
    p.add_argument("--gemm", action="store_true", help="the topology is 'Layer, M, N, K' (SCALE-Sim -i gemm)")
    p.add_argument("--corrected", action="store_true",
                   help="fix SCALE-Sim's known bugs (issue #125, output size, OS OFMAP writes)")
    p.add_argument("--run-name-dir", action="store_true",
                   help="write into OUTDIR/<run_name>/ as SCALE-Sim does")
    p.add_argument("--traces", action="store_true", help="also write per-layer SRAM demand traces")
    p.add_argument("--trace-format", choices=("npz", "csv"), default="npz",
                   help="npz: compact binary (default); csv: SCALE-Sim's layout (large)")
    p.set_defaults(func=_cmd_scalesim)


__all__ = [
    "ScaleSimConfig", "TopologyLayer", "read_config", "read_topology", "run_layer",
    "write_reports", "demand_traces", "write_traces", "register_scalesim",
]


_SPEC_KEYS = {"networks", "preset", "set", "axes", "zip_axes"}


def read_sweep_spec(path: str) -> dict:
    """A sweep definition from TOML: networks, preset, optional [set] base changes, [axes], zip_axes."""
    import tomllib

    from .errors import ConfigError

    try:
        with open(path, "rb") as fh:
            spec = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {sorted(unknown)}; known: {sorted(_SPEC_KEYS)}")
    for key in ("networks", "axes"):
        if key not in spec:
            raise ConfigError(f"{path}: missing key {key!r}")
    if not isinstance(spec["axes"], dict):
        raise ConfigError(f"{path}: axes must be a table of dotted path = [values]")
    return spec


def _cmd_sweep(args: argparse.Namespace) -> int:
    from . import presets
    from .sweeps import sweep

    spec = read_sweep_spec(args.spec)
    system = presets.load(spec.get("preset", "smaug-table2"), **spec.get("set", {}))
    executor = "processes"
    client = None
    if args.scheduler:
        from dask.distributed import Client

        client = Client(args.scheduler)
        executor = client
    try:
        ds = sweep(spec["networks"], system, spec["axes"], zip_axes=spec.get("zip_axes", ()),
                   executor=executor, workers=args.workers, store=args.output, per_op=args.per_op)
    finally:
        if client is not None:
            client.close()
    root = ds.to_dataset() if args.per_op else ds
    print(f"{args.output}: {int(root['latency_s'].size)} points, dimensions {dict(root.sizes)}"
          + (" (per-op values of each network: smaug_fast.open_sweep)" if args.per_op else ""))
    return 0


def register_sweep(subparsers) -> None:
    p = subparsers.add_parser("sweep", help="run a sweep defined in TOML; write a netCDF or zarr store (resumable)")
    p.add_argument("spec", metavar="SPEC.toml", help="networks, preset, optional [set], [axes], zip_axes")
    p.add_argument("-o", "--output", required=True, metavar="OUT.nc|OUT.zarr",
                   help="netCDF file or zarr store (zarr needs the [zarr] extra); the journal goes beside it")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a dask.distributed scheduler address")
    p.add_argument("--per-op", action="store_true", help="also store every op's values (read with open_sweep)")
    p.set_defaults(func=_cmd_sweep)


# ------------------------------------------------------------------------------------------------
# plot: the figures of smaug_fast.plot
# ------------------------------------------------------------------------------------------------
def _cmd_plot(args: argparse.Namespace) -> int:
    from . import plot, zoo
    from .sim import simulate

    if args.figure == "sweep":
        from .sweeps import open_sweep

        ds = open_sweep(args.store)
        if hasattr(ds, "children"):  # a per-op sweep: plot its root
            ds = ds.to_dataset()
        plot.sweep_map(ds, args.variable, args.x, args.output, y=args.y, hue=args.hue, **_parse_sets(args.sel))
    else:
        system = _system(args)
        results = {n: simulate(zoo.load(n, batch=args.batch), system) for n in args.networks}
        if args.figure == "breakdown":
            plot.breakdown(results, args.output, normalize=not args.absolute)
        else:  # argparse gives timeline exactly one network
            plot.timeline(next(iter(results.values())), args.output, unit=args.unit)
    print(args.output)
    return 0


def register_plot(subparsers) -> None:
    p = subparsers.add_parser("plot", help="draw a figure (PNG or PDF): breakdown, timeline or sweep")
    figures = p.add_subparsers(dest="figure", required=True, metavar="FIGURE")
    b = figures.add_parser("breakdown", help="Fig. 1-style stacked latency breakdown of networks")
    b.add_argument("networks", nargs="+", metavar="NETWORK")
    _add_system_args(b)
    b.add_argument("--absolute", action="store_true", help="milliseconds instead of shares of the latency")
    t = figures.add_parser("timeline", help="Gantt chart of one run on every accelerator and thread")
    t.add_argument("networks", nargs=1, metavar="NETWORK")
    _add_system_args(t)
    t.add_argument("--unit", default="ms", choices=("s", "ms", "us"))
    s = figures.add_parser("sweep", help="a sweep variable over one axis (lines) or two (heatmap)")
    s.add_argument("store", metavar="SWEEP.nc", help="a finished sweep store (smaug-fast sweep -o)")
    s.add_argument("variable", help="a data variable, e.g. latency_s")
    s.add_argument("--x", required=True, help="the axis along x")
    s.add_argument("--y", default=None, help="a second axis: draw a heatmap")
    s.add_argument("--hue", default=None, help="without --y: one line per value of this axis")
    s.add_argument("--sel", action="append", default=[], metavar="AXIS=VALUE", help="fix every other axis")
    for sub in (b, t, s):
        sub.add_argument("-o", "--output", required=True, metavar="OUT.png", help="output file (.png or .pdf)")
        sub.set_defaults(func=_cmd_plot)


# ------------------------------------------------------------------------------------------------
# validate: the comparison scripts of validation/ (a repository checkout)
# ------------------------------------------------------------------------------------------------
#: name -> (script under validation/, what it compares with, default arguments).
VALIDATIONS = {
    "smaug_paper": ("smaug_paper.py", "SMAUG's published Fig. 1, 10 and 17 (about 10 s)", []),
    "pycachesim": ("pycachesim_compare.py", "pycachesim 0.3.1 counters (installs it in its own venv)", []),
    "dramsim3": ("dramsim3_compare.py", "DRAMsim3 (builds it under validation/.dramsim3; needs git, cmake)", []),
    "scalesim": ("scalesim/compare.py", "SCALE-Sim 3.0.0 reports (installs it in its own venv)", []),
}


def _validation_dir():
    from pathlib import Path

    from .errors import ConfigError

    here = Path(__file__).resolve().parent.parent / "validation"
    if not (here / "smaug_paper.py").is_file():
        raise ConfigError(f"validate needs the repository checkout (no validation scripts at {here}); "
                          "install with pip install -e . from a clone")
    return here


def _cmd_validate(args: argparse.Namespace) -> int:
    import subprocess
    import time

    from .errors import ConfigError

    names = list(VALIDATIONS) if "all" in args.names else (args.names or ["smaug_paper"])
    for n in names:
        if n not in VALIDATIONS:
            raise ConfigError(f"validate: unknown validation {n!r}; known: {', '.join(VALIDATIONS)}, all")
    folder = _validation_dir()
    summary = []
    for n in names:
        script, what, extra = VALIDATIONS[n]
        print(f"== {n}: {what}", flush=True)
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, str(folder / script), *extra], capture_output=True, text=True)
        print(proc.stdout, end="")
        if proc.returncode:
            print(proc.stderr[-2000:], end="", file=sys.stderr)
        last = [line for line in proc.stdout.splitlines() if line.strip()]
        summary.append((n, proc.returncode, time.perf_counter() - t, last[-1] if last else ""))
    print("\nvalidation   status  time    last line")
    for n, rc, dt, line in summary:
        print(f"{n:<12} {'ok' if rc == 0 else f'rc {rc}':<7} {dt:6.1f}s  {line[:100]}")
    return 0 if all(rc == 0 for _, rc, _, _ in summary) else 1


def register_validate(subparsers) -> None:
    p = subparsers.add_parser("validate", help="run the validation scripts (repository checkout) and print their tables")
    p.add_argument("names", nargs="*", metavar="NAME",
                   help=f"which: {', '.join(VALIDATIONS)} or all (default smaug_paper)")
    p.set_defaults(func=_cmd_validate)


#: Every subcommand's registration function, in the order --help lists them.
REGISTRY = [register_run, register_sweep, register_plot, register_validate, register_zoo, register_scalesim]


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="smaug-fast",
        description="Latency and energy of DNN inference on an SoC with accelerators (SMAUG in a second).",
    )
    parser.add_argument("--version", action="version", version=f"smaug-fast {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in REGISTRY:
        register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except SmaugFastError as exc:
        print(f"smaug-fast {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
