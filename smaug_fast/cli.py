"""The ``smaug-fast`` command line.

Each subcommand is a function ``register_<name>(subparsers)`` that adds its parser and sets
``func``; ``main`` wires them all. Errors from bad input (ConfigError, WorkloadError, MappingError)
are printed as one line on stderr with exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys

from .errors import SmaugFastError


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


def register_scalesim(subparsers) -> None:
    from .accelerators.scalesim_io import register_scalesim as register

    register(subparsers)


#: Every subcommand's registration function, in the order --help lists them.
REGISTRY = [register_zoo, register_scalesim]


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
