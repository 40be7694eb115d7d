"""The ``smaug-fast`` command line.

Each subcommand is a function ``register_<name>(subparsers)`` that adds its parser and sets
``func``; ``main`` wires them all. Errors from bad input (ConfigError, WorkloadError, MappingError)
are printed as one line on stderr with exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from .choices import BatchMatMulMapping
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


def parse_sets(items: list[str], flag: str = "--set") -> dict:
    """KEY=VALUE arguments (of --set, or of plot's --sel) as {dotted key: value}."""
    from .errors import ConfigError

    changes = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} {item!r}: expected KEY=VALUE with a dotted key, e.g. l2.size_bytes=4MiB")
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

    return presets.load(args.preset, **parse_sets(args.set))


def _described_system(args: argparse.Namespace, system) -> dict:
    """What ``run`` simulated: the preset, the changes made to it and the choices that matter most."""
    return {
        "preset": args.preset,
        "changes": parse_sets(args.set),
        "batch": args.batch,
        "interface": str(system.interface),
        "accelerator": type(system.accelerator).__name__,
        "num_accelerators": system.num_accelerators,
        "cpu_threads": system.cpu_threads,
        "dram": system.dram.name,
    }


def _op_rows(result) -> list[dict]:
    return [
        {"name": r.name, "kind": r.kind, "device": r.device, "latency_s": r.latency_s, "breakdown_s": r.breakdown_s,
         "energy_j": r.energy_j, "macs": r.macs, "invocations": r.invocations, "dram_read_bytes": r.dram_read_bytes,
         "dram_write_bytes": r.dram_write_bytes, "tiling": r.tiling}
        for r in result.ops
    ]


def _cmd_run(args: argparse.Namespace) -> int:
    import json

    from . import zoo
    from .sim import simulate

    system = _system(args)
    result = simulate(zoo.load(args.network, batch=args.batch), system)
    described = _described_system(args, system)
    if args.json:
        out = {
            "network": result.network,
            "system": described,
            "latency_s": result.latency_s,
            "breakdown_s": result.breakdown_s,
            "detail_s": result.detail_s,
            "energy_j": result.energy_j,
            "energy_breakdown_j": result.energy_breakdown_j,
            "dram_bytes": result.dram_bytes,
            "dram_bandwidth_bytes_per_s": result.dram_bandwidth_bytes_per_s,
        }
        if args.ops:
            out["ops"] = _op_rows(result)
        print(json.dumps(out, indent=2))
        return 0
    changes = ", ".join(f"{k}={v}" for k, v in described["changes"].items()) or "none"
    print(f"system: preset {described['preset']} (changes: {changes}), batch {args.batch}; "
          f"{described['num_accelerators']} x {described['accelerator']} over {described['interface']}, "
          f"{described['cpu_threads']} CPU thread(s), DRAM {described['dram']}")
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
    p.add_argument("--json", action="store_true",
                   help="print JSON (system, latency_s, breakdown_s, energy_j, dram_bytes, ...; with --ops the rows)")
    p.add_argument("--ops", action="store_true", help="also print one row per operator")
    p.set_defaults(func=_cmd_run)


#: ``generate --weight-dtype`` values: the activations' dtype (float16) or weight-only int8.
GENERATE_WEIGHT_DTYPES = ("float16", "int8")


def _choice(flag: str, value: str, valid) -> str:
    """``value`` if it is one of ``valid``, else a ConfigError naming the flag and the value (not argparse's
    ``choices``: a bad value is then one line, as every other bad input of the command line)."""
    if value not in valid:
        raise ConfigError(f"{flag} {value!r}: must be one of {', '.join(valid)}")
    return value


def _cmd_generate(args: argparse.Namespace) -> int:
    import json
    import math

    from .sim.generation import simulate_generation

    system = _system(args)
    weight_dtype = _choice("--weight-dtype", args.weight_dtype, GENERATE_WEIGHT_DTYPES)
    batch_matmul = _choice("--batch-matmul", args.batch_matmul, BatchMatMulMapping.values())
    r = simulate_generation(args.config, system, prompt_len=args.prompt_len, new_tokens=args.new_tokens,
                            batch=args.batch, exact=args.exact, samples=args.samples, weight_dtype=weight_dtype,
                            batch_matmul=batch_matmul)
    described = _described_system(args, system)
    if args.json:
        nan_free = lambda v: None if isinstance(v, float) and math.isnan(v) else v  # noqa: E731
        out = {"config": r.network, "system": described, "prompt_len": r.prompt_len, "new_tokens": r.new_tokens,
               "weight_dtype": r.weight_dtype, "batch_matmul": r.batch_matmul,
               **{k: nan_free(v) for k, v in r.scalars().items()}, "breakdown_s": r.breakdown_s,
               "energy_breakdown_j": r.energy_breakdown_j, "samples": list(r.samples), "exact": r.exact}
        if args.steps:
            out["step_s"] = r.step_s.tolist()
            out["step_kv_len"] = r.step_kv_len.tolist()
        print(json.dumps(out, indent=2))
        return 0
    changes = ", ".join(f"{k}={v}" for k, v in described["changes"].items()) or "none"
    print(f"system: preset {described['preset']} (changes: {changes}); {described['num_accelerators']} x "
          f"{described['accelerator']} over {described['interface']}, DRAM {described['dram']}")
    print(r.summary())
    if args.steps:
        print("  step  kv_len  time [ms]")
        for i, (k, t) in enumerate(zip(r.step_kv_len.tolist(), r.step_s.tolist()), start=1):
            print(f"  {i:4d}  {k:6d}  {t * 1e3:.4f}")
    return 0


#: simulate_generation's defaults (smaug_fast.sim.generation DEFAULT_PRESET, DEFAULT_SAMPLES), written
#: here so that building the parser (``smaug-fast --help``) imports no simulator; a test keeps them equal.
GENERATE_DEFAULT_PRESET = "soc-2026-lpddr5"
GENERATE_DEFAULT_SAMPLES = 5


def register_generate(subparsers) -> None:
    p = subparsers.add_parser(
        "generate", help="simulate an LLM generating tokens: prefill, then decode steps as the KV cache grows",
        description="TTFT, time per output token, tokens/s and energy per token of a decoder (a shipped "
                    "config such as tinyllama-1.1b or gpt2, or a config.json path) on an SoC preset.",
    )
    p.add_argument("config", help="a shipped transformer config (gpt2, tinyllama-1.1b) or a config.json path")
    p.add_argument("--prompt-len", type=_positive_int, required=True, help="tokens of the prompt")
    p.add_argument("--new-tokens", type=_positive_int, required=True, help="tokens to generate")
    p.add_argument("--preset", default=GENERATE_DEFAULT_PRESET,
                   help=f"hardware preset (default {GENERATE_DEFAULT_PRESET})")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="change a hardware field by dotted path, e.g. --set dram=LPDDR5X-8533",
    )
    p.add_argument("--batch", type=_positive_int, default=1, help="sequences generated together (default 1)")
    p.add_argument("--exact", action="store_true", help="simulate every decode step (default: sample and interpolate)")
    p.add_argument("--samples", type=_positive_int, default=GENERATE_DEFAULT_SAMPLES,
                   help=f"decode steps simulated when not --exact (default {GENERATE_DEFAULT_SAMPLES})")
    p.add_argument("--weight-dtype", default="float16", metavar="DTYPE",
                   help="the linear layers' weights in memory: float16 (default, the activations' dtype) or int8 "
                        "(weight-only quantization, dequantized on the accelerator as it loads them)")
    p.add_argument("--batch-matmul", default="fused", metavar="HOW",
                   help="how attention runs its batched products: fused (default, one flash-attention op on "
                        "the CPU), cpu (one BatchMatMul op each, mask and softmax apart: HuggingFace's eager "
                        "attention) or inner_products (as cpu, one inner product per batch x head item, on the "
                        "accelerator)")
    p.add_argument("--steps", action="store_true", help="also print every decode step's time")
    p.add_argument("--json", action="store_true", help="print JSON (ttft_s, tpot_s, tokens_per_s, ...)")
    p.set_defaults(func=_cmd_generate)


# ------------------------------------------------------------------------------------------------
# scalesim: SCALE-Sim 3.0.0's command line (readers and writers in accelerators/scalesim_io.py)
# ------------------------------------------------------------------------------------------------
def _cmd_scalesim(args: argparse.Namespace) -> int:
    from .accelerators.scalesim_io import demand_traces, read_config, read_topology, run_layer, write_reports, write_traces

    cfg = read_config(args.config, scalesim_compat=not args.corrected)
    layers = read_topology(args.topology, gemm=args.gemm)
    from pathlib import Path

    outdir = Path(args.outdir)
    if outdir.exists() and not outdir.is_dir():
        raise ConfigError(f"-o {outdir}: is a file; give a folder for the reports")
    if args.run_name_dir:
        outdir = outdir / cfg.run_name
    reports = [run_layer(cfg.systolic, layer) for layer in layers]
    for path in write_reports(outdir, reports):
        print(path)
    if args.traces:
        offsets = (cfg.ifmap_offset, cfg.filter_offset, cfg.ofmap_offset)
        for lid, layer in enumerate(layers):
            # a large layer's traces take a while (one entry per PE and cycle): say which one is running
            print(f"traces: layer {lid + 1}/{len(layers)} {layer.name} ...", file=sys.stderr, flush=True)
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


_SPEC_KEYS = {"networks", "preset", "set", "axes", "zip_axes"}


def read_sweep_spec(path: str) -> dict:
    """A sweep definition from TOML: networks, preset, optional [set] base changes, [axes], zip_axes."""
    from .spec import read_toml

    spec = read_toml(path)
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) {sorted(unknown)}; known: {sorted(_SPEC_KEYS)}")
    for key in ("networks", "axes"):
        if key not in spec:
            raise ConfigError(f"{path}: missing key {key!r}")
    if not isinstance(spec["axes"], dict):
        raise ConfigError(f"{path}: axes must be a table of dotted path = [values]")
    misplaced = sorted(k for k in spec["axes"] if k in _SPEC_KEYS)
    if misplaced:
        raise ConfigError(
            f"{path}: {', '.join(misplaced)} is inside [axes]: TOML puts every key after a [table] header into "
            f"that table; write networks, preset and zip_axes before [set] and [axes] (see examples/sweep.toml)"
        )
    networks = spec["networks"]
    if not (isinstance(networks, str) or (isinstance(networks, list) and all(isinstance(n, str) for n in networks))):
        raise ConfigError(f"{path}: networks = {networks!r}: must be a network name or a list of names")
    if "set" in spec and not isinstance(spec["set"], dict):
        raise ConfigError(f"{path}: set = {spec['set']!r}: must be a table of dotted path = value")
    zips = spec.get("zip_axes", [])
    if not (isinstance(zips, list) and all(isinstance(z, list) and all(isinstance(a, str) for a in z) for z in zips)):
        raise ConfigError(f"{path}: zip_axes = {zips!r}: must be a list of lists of axis names")
    return spec


def _cmd_sweep(args: argparse.Namespace) -> int:
    from . import presets
    from .sweeps import sweep

    spec = read_sweep_spec(args.spec)
    _output_path(args.output)
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
    p.add_argument("--workers", type=_positive_int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a dask.distributed scheduler address")
    p.add_argument("--per-op", action="store_true", help="also store every op's values (read with open_sweep)")
    p.set_defaults(func=_cmd_sweep)


# ------------------------------------------------------------------------------------------------
# plot: the figures of smaug_fast.plot
# ------------------------------------------------------------------------------------------------
def _cmd_plot(args: argparse.Namespace) -> int:
    try:
        return _draw(args)
    except ImportError as exc:  # no matplotlib: the [plot] extra is not installed
        if "smaug-fast[plot]" not in str(exc):
            raise
        print(f"smaug-fast plot: error: {exc}", file=sys.stderr)
        return 2


def _draw(args: argparse.Namespace) -> int:
    from . import plot

    _output_path(args.output)
    if args.figure == "sweep":
        from .sweeps import open_sweep

        try:
            ds = open_sweep(args.store)  # plot.sweep_map plots the root of a per-op sweep
        except (ValueError, KeyError) as exc:  # xarray could not read it as a dataset
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ConfigError(f"{args.store}: not a sweep store ({first})") from None
        plot.sweep_map(ds, args.variable, args.x, args.y, args.output, hue=args.hue,
                       sel=parse_sets(args.sel, "--sel"), reduce=args.reduce, scale=args.scale)
    else:
        from . import zoo
        from .sim import simulate

        system = _system(args)
        results = {n: simulate(zoo.load(n, batch=args.batch), system) for n in args.networks}
        if args.figure == "breakdown":
            plot.breakdown(results, args.output, normalize=not args.absolute, detail=args.detail, unit=args.unit)
        else:  # argparse gives timeline exactly one network
            plot.timeline(results[args.networks[0]], args.output, unit=args.unit)
    print(args.output)
    return 0


def register_plot(subparsers) -> None:
    p = subparsers.add_parser("plot", help="draw a figure (PNG or PDF): breakdown, timeline or sweep",
                              description="Figures of smaug_fast.plot (needs the [plot] extra: matplotlib).")
    figures = p.add_subparsers(dest="figure", required=True, metavar="FIGURE")
    units = ("auto", "s", "ms", "us")
    b = figures.add_parser("breakdown", help="SMAUG Fig. 1-style stacked latency breakdown of networks")
    b.add_argument("networks", nargs="+", metavar="NETWORK")
    _add_system_args(b)
    b.add_argument("--absolute", action="store_true", help="times instead of shares of the latency")
    b.add_argument("--detail", action="store_true", help="the finer phases (DMA, flush, CPU prep, ...)")
    b.add_argument("--unit", default="auto", choices=units, help="time unit (default: by the latency)")
    t = figures.add_parser("timeline", help="Gantt chart of one run on every accelerator and thread")
    t.add_argument("networks", nargs=1, metavar="NETWORK")
    _add_system_args(t)
    t.add_argument("--unit", default="auto", choices=units, help="time axis unit (default: by the latency)")
    s = figures.add_parser("sweep", help="a sweep variable over two axes (heatmap) or one (lines)")
    s.add_argument("store", metavar="SWEEP.nc", help="a finished sweep store (smaug-fast sweep -o)")
    s.add_argument("variable", help="a data variable, e.g. latency_s, energy_j, dram_bytes")
    s.add_argument("--x", required=True, metavar="AXIS", help="the axis along x")
    s.add_argument("--y", default=None, metavar="AXIS", help="the axis along y: a heatmap (else lines)")
    s.add_argument("--hue", default=None, metavar="AXIS", help="without --y: one line per value of this axis")
    s.add_argument("--sel", action="append", default=[], metavar="AXIS=VALUE",
                   help="fix another axis at one value (repeat for each), e.g. --sel network=vgg16")
    s.add_argument("--reduce", default=None, choices=("min", "max", "mean", "median"),
                   help="reduce the axes neither plotted nor fixed (default: they are an error)")
    s.add_argument("--scale", default="linear", choices=("linear", "log", "relative"),
                   help="lines only: a log y axis, or each line relative to its first value")
    for sub in (b, t, s):
        sub.add_argument("-o", "--output", required=True, metavar="OUT.png", help="output file (.png or .pdf)")
        sub.set_defaults(func=_cmd_plot)


# ------------------------------------------------------------------------------------------------
# validate: the comparison scripts of validation/ (in a repository checkout, not in the package)
# ------------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Validation:
    """One script of validation/ as ``smaug-fast validate`` runs it."""

    script: str  # path under validation/
    what: str  # what it compares with, and how long it takes
    summary: str  # text of its closing summary line (the last line that contains it is reported)
    peer: str = ""  # path under validation/ that exists once its peer tool is installed or built
    install: str = ""  # what the script does to install the peer when it is missing
    reference: str = ""  # what it reads under shared/reference
    report: bool = False  # takes --report DIR (writes DIR/<stem>.md and its figures)


#: name -> Validation; ``smaug-fast validate`` also accepts each script's file stem.
VALIDATIONS = {
    "smaug_paper": Validation(
        "smaug_paper.py", "SMAUG's published Fig. 1, 10, 14 and 17 (about 10 s)", "summary:",
        reference="smaug_published.json", report=True),
    "llm_roofline": Validation(
        "llm_roofline.py", "TinyLlama decode tokens/s vs llama.cpp on Raspberry Pi 4/5 (about 15 s)", "summary:"),
    "pycachesim": Validation(
        "pycachesim_compare.py", "cache counters vs pycachesim 0.3.1 (a few minutes)", "comparison(s) failed",
        peer=".venv-pycachesim/bin/python",
        install="pip install pycachesim==0.3.1 into validation/.venv-pycachesim (needs PyPI)"),
    "dramsim3": Validation(
        "dramsim3_compare.py", "DRAM bandwidth and latency vs DRAMsim3 (minutes)", "outside tolerance",
        peer=".dramsim3/build/dramsim3main",
        install="run validation/build_dramsim3.sh (git clone, or DRAMSIM3_SRC=a local clone; cmake)"),
    "scalesim": Validation(
        "scalesim/compare.py", "systolic-array reports vs SCALE-Sim 3.0.0 (a minute)", "layer runs compared",
        peer="scalesim/.venv/bin/python",
        install="pip install scalesim==3.0.0 'numpy<2.4' into validation/scalesim/.venv (needs PyPI)",
        reference="scalesim"),
}


def _validation_names() -> dict[str, str]:
    """Every accepted NAME -> its VALIDATIONS key (the key itself and the script's file stem)."""
    from pathlib import PurePosixPath

    names = {n: n for n in VALIDATIONS}
    for n, v in VALIDATIONS.items():
        names.setdefault(PurePosixPath(v.script).stem, n)
    return names


def _repo_candidates() -> list:
    """Where a checkout may be: the one this package was installed from (pip install -e), then the cwd."""
    from pathlib import Path

    return [Path(__file__).resolve().parents[1], Path.cwd()]


def _repository(explicit: str | None):
    """The repository checkout whose validation/ holds the scripts (they are not installed)."""
    from pathlib import Path

    candidates = [Path(explicit)] if explicit else _repo_candidates()
    for repo in candidates:
        if (repo / "validation" / VALIDATIONS["smaug_paper"].script).is_file():
            return repo.resolve()
    looked = " or ".join(str(c / "validation") for c in candidates)
    field = f"--repo {explicit}" if explicit else "repository checkout"
    raise ConfigError(f"{field}: no validation scripts in {looked}: they come with a clone of the repository, "
                      f"not with the installed package (run from the clone, or pass --repo DIR)")


def _reference_dir(repo):
    """shared/reference as the scripts find it: $SMAUG_FAST_REFERENCE, else the nearest ancestor's."""
    import os
    from pathlib import Path

    if os.environ.get("SMAUG_FAST_REFERENCE"):
        return Path(os.environ["SMAUG_FAST_REFERENCE"])
    for parent in repo.parents:
        if (parent / "shared" / "reference").is_dir():
            return parent / "shared" / "reference"
    return repo.parent / "shared" / "reference"


def _readiness(v: Validation, repo) -> tuple[str, str]:
    """("ready", "") when ``v`` can run in ``repo`` as things stand, else ("peer missing" or
    "no reference", what is missing and how to get it)."""
    ref = _reference_dir(repo) / v.reference
    if v.reference and not ref.exists():
        return "no reference", f"{ref} not found (set SMAUG_FAST_REFERENCE to shared/reference)"
    if v.peer and not (repo / "validation" / v.peer).exists():
        return "peer missing", f"no validation/{v.peer}; with --install the script will {v.install}"
    return "ready", ""


def _run_script(path, repo, args=()) -> tuple[int, list[str]]:
    """Run one script with this interpreter, echoing its output as it comes; (exit status, lines)."""
    import subprocess

    lines = []
    with subprocess.Popen([sys.executable, str(path), *args], cwd=repo, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, bufsize=1) as proc:
        for line in proc.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line.rstrip("\n"))
    return proc.returncode, lines


def _cmd_validate(args: argparse.Namespace) -> int:
    import time

    aliases = _validation_names()
    wanted = list(VALIDATIONS) if "all" in args.names else (args.names or ["smaug_paper"])
    for n in wanted:
        if n not in aliases:
            raise ConfigError(f"validate: unknown validation {n!r}; known: {', '.join(VALIDATIONS)}, all "
                              f"(smaug-fast validate --list)")
    names = list(dict.fromkeys(aliases[n] for n in wanted))
    repo = _repository(args.repo)
    report = _report_dir(args.report) if args.report else None
    if args.list:
        print(f"{'name':<12} {'status':<13} {'script':<34} compares")
        for n, v in VALIDATIONS.items():
            status, why = _readiness(v, repo)
            print(f"{n:<12} {status:<13} {'validation/' + v.script:<34} {v.what}")
            if why:
                print(f"{'':<12} {why}")
        return 0
    rows = []
    for n in names:
        v = VALIDATIONS[n]
        status, why = _readiness(v, repo)
        if status != "ready" and not (args.install and status == "peer missing"):
            print(f"== {n}: not run, {status}: {why}", flush=True)
            rows.append((n, status, None, why))
            continue
        print(f"== {n}: {v.what}: python validation/{v.script}", flush=True)
        t = time.perf_counter()
        extra = ("--report", str(report)) if report is not None and v.report else ()
        rc, lines = _run_script(repo / "validation" / v.script, repo, extra)
        found = [line for line in lines if v.summary in line] or [line for line in lines if line.strip()]
        rows.append((n, "ok" if rc == 0 else f"FAILED (exit {rc})", time.perf_counter() - t,
                     found[-1].strip() if found else ""))
    print(f"\n{'validation':<12} {'status':<16} {'time':>7}  summary")
    for n, status, seconds, line in rows:
        print(f"{n:<12} {status:<16} {'-' if seconds is None else f'{seconds:.1f} s':>7}  {line}")
    if report is not None:
        print(f"report: {_write_report(report, rows)}")
    # a validation named explicitly that could not run fails the command; under 'all' it is only listed
    failed = [n for n, status, seconds, _ in rows
              if status != "ok" and (seconds is not None or "all" not in args.names)]
    return 1 if failed else 0


def _report_dir(path: str):
    """The report directory, absolute (the scripts run in the checkout); created if missing."""
    from pathlib import Path

    d = Path(path).expanduser().resolve()
    if d.exists() and not d.is_dir():
        raise ConfigError(f"--report {path}: exists and is not a directory")
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"--report {path}: cannot create the directory ({e.strerror})") from None
    return d


def _write_report(directory, rows) -> object:
    """``directory``/README.md: the summary of every validation run, and the scripts' own reports
    (Markdown with PNG figures) linked; a reader needs no Python to open it."""
    lines = ["# smaug_fast validation report", "", "Written by `smaug-fast validate --report`.", "",
             "| validation | status | time | summary |", "|---|---|---|---|"]
    for n, status, seconds, line in rows:
        secs = "-" if seconds is None else f"{seconds:.1f} s"
        lines.append(f"| {n} | {status} | {secs} | {line.replace('|', '/')} |")
    parts = [VALIDATIONS[n] for n, *_ in rows if VALIDATIONS[n].report]
    for v in parts:
        from pathlib import PurePosixPath

        md = directory / f"{PurePosixPath(v.script).stem}.md"
        if md.is_file():
            lines += ["", f"- [{md.name}]({md.name}): {v.what}, with figures"]
    path = directory / "README.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def register_validate(subparsers) -> None:
    p = subparsers.add_parser(
        "validate", help="run the validation scripts (repository checkout) and print their summary tables",
        description="Runs the scripts of the repository's validation/ folder with this Python and prints their "
                    "tables and a summary. Scripts whose peer tool is not installed are reported, not run, "
                    "unless --install lets them install it. Exit status 1 when a script fails or a validation "
                    "named on the command line could not run.",
    )
    p.add_argument("names", nargs="*", metavar="NAME",
                   help=f"which: {', '.join(VALIDATIONS)}, or all (default smaug_paper)")
    p.add_argument("--list", action="store_true", help="list the validations and whether each can run here")
    p.add_argument("--install", action="store_true",
                   help="let scripts install their missing peers (pip into their own venv, or build DRAMsim3)")
    p.add_argument("--repo", default=None, metavar="DIR",
                   help="the repository checkout (default: the one this package was installed from, or the cwd)")
    p.add_argument("--report", default=None, metavar="DIR",
                   help="also write DIR/README.md (the summary) and each script's Markdown report with PNG "
                        "figures of ours against the paper (needs matplotlib, the [plot] extra)")
    p.set_defaults(func=_cmd_validate)


# ------------------------------------------------------------------------------------------------
# scenario: several workloads sharing one SoC (smaug_fast.scenario)
# ------------------------------------------------------------------------------------------------
def _cmd_scenario(args: argparse.Namespace) -> int:
    import json

    from .scenario import simulate_scenario
    from .scenario.files import read_scenario

    if args.plot:
        _output_path(args.plot, "--plot")
        if not args.plot.lower().endswith((".png", ".pdf")):
            raise ConfigError(f"--plot {args.plot}: must end in .png or .pdf")
    scenario, system = read_scenario(args.spec)
    if args.frames is not None:
        import dataclasses as dc

        scenario = dc.replace(scenario, frames=args.frames)
    result = simulate_scenario(scenario, system)
    if args.plot:
        try:
            from . import plot

            plot.scenario(result, args.plot)
        except ImportError as exc:
            raise ConfigError(f"--plot: {exc}") from None
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(result.summary())
        if args.plot:
            print(f"plot: {args.plot}")
    return 0


def register_scenario(subparsers) -> None:
    p = subparsers.add_parser(
        "scenario", help="simulate tasks (DNNs, camera pipelines) sharing one SoC frame after frame, from TOML",
        description="Simulate a scenario file (see examples/camera_pipe.toml): per-task and per-frame latency, "
                    "deadlines, energy; --plot draws DRAM bandwidth, power and DRAM energy over time.",
    )
    p.add_argument("spec", metavar="SPEC.toml", help="name, preset, [set], period_s or fps, frames, [[tasks]]")
    p.add_argument("--plot", metavar="OUT.png", default=None, help="write the time-series figure (PNG or PDF)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--frames", type=_positive_int, default=None, help="override the file's number of frames")
    p.set_defaults(func=_cmd_scenario)


#: Every subcommand's registration function, in the order --help lists them.
REGISTRY = [register_run, register_generate, register_sweep, register_scenario, register_plot, register_validate, register_zoo,
            register_scalesim]


class _VersionAction(argparse.Action):
    """``--version``: looks the version up only when asked, since ``importlib.metadata`` costs about
    30 ms at every start of every command otherwise. Prints what argparse's ``version`` action prints."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="show program's version number and exit"):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from . import __version__

        formatter = parser._get_formatter()
        formatter.add_text(f"smaug-fast {__version__}")
        parser._print_message(formatter.format_help(), sys.stdout)
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smaug-fast",
        description="Latency and energy of DNN inference on an SoC with accelerators (SMAUG in a second).",
    )
    parser.add_argument("--version", action=_VersionAction)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in REGISTRY:
        register(subparsers)
    return parser


def _output_path(path: str, flag: str = "-o") -> str:
    """``path`` if its folder exists (checked before any work, so no result is computed for nothing)."""
    from pathlib import Path

    folder = Path(path).expanduser().resolve().parent
    if not folder.is_dir():
        raise ConfigError(f"{flag} {path}: the folder {folder} does not exist; create it first")
    if Path(path).is_dir() and not str(path).endswith(".zarr"):
        raise ConfigError(f"{flag} {path}: is a folder; give a file name")
    return path


def _positive_int(text: str) -> int:
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be >= 1")
    return value


#: The commands that run the kernels (a first run compiles them).
_SIMULATING = ("run", "generate", "sweep", "plot", "scalesim", "scenario")
#: The commands that call ``simulate`` (and so the DRAM model, whose kernels a first run compiles aside).
_SIMULATE_COMMANDS = ("run", "generate", "sweep", "plot")


def _announce_compilation(always: bool = False) -> None:
    """Say on stderr, before it starts, that a first run compiles the kernels (else a fresh install sits
    silent for tens of seconds): on a terminal, as the progress bars do (logs and pipes keep one line
    per error), or ``always``."""
    if not (always or sys.stderr.isatty()):
        return
    from .kernels import _jit
    from .sim import engine  # noqa: F401  (loads the simulator's kernels, so that they are known)

    if _jit.uncached():
        print("smaug-fast: compiling kernels, first run only (Numba caches them for every later run) ...",
              file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run a subcommand. Every failure of bad input (a SmaugFastError, a file that cannot be read or
    written) is one line on stderr and exit status 2; a closed pipe (``| head``) ends quietly."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command in _SIMULATING:
            _announce_compilation()
        if args.command in _SIMULATE_COMMANDS:
            from .sim import warmup

            warmup.start()  # a first run compiles the DRAM model's kernels on a second core
        return args.func(args)
    except SmaugFastError as exc:
        print(f"smaug-fast {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        import os

        # the reader went away (``smaug-fast run lenet5 | head -1``): stop writing, quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # a missing or unreadable file, a full disk, an unreachable scheduler
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"smaug-fast {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as exc:
        print(f"smaug-fast {args.command}: error: a file is not UTF-8 text ({exc.reason} at byte {exc.start})",
              file=sys.stderr)
        return 2


def run() -> None:
    """The ``smaug-fast`` program (console script and ``python -m smaug_fast``): :func:`main`, then exit.

    Before the interpreter exits, every live object moves to the garbage collector's permanent generation
    (``gc.freeze``), so that the collections of the interpreter's shutdown skip them: with Numba loaded
    (its typing and target registries, hundreds of thousands of objects) they took about 0.3 s, more than
    a small command's work. Files are closed before :func:`main` returns, and atexit handlers still run.
    """
    status = main()
    import gc

    gc.freeze()
    sys.exit(status)


__all__ = ["build_parser", "main", "read_sweep_spec", "run"]


if __name__ == "__main__":
    run()
