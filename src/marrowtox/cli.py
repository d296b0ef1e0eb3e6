"""The `marrowtox` command: every workflow step is a subcommand usable outside Snakemake.

Each branch module exposes `register(subparsers)`; heavy libraries are imported inside
the handlers so that `marrowtox --help` and input validation stay fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from marrowtox import __version__
from marrowtox.errors import InputError

#: Modules that contribute subcommands, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "marrowtox.demo.commands",
    "marrowtox.init_cohort",
    "marrowtox.validate_commands",
    "marrowtox.stale",
    "marrowtox.singlecell.commands",
    "marrowtox.singlecell.process_commands",
    "marrowtox.singlecell.de_commands",
    "marrowtox.cart.commands",
    "marrowtox.prot.commands",
    "marrowtox.signatures.commands",
    "marrowtox.ch.commands",
    "marrowtox.genotype.commands",
    "marrowtox.clinical.commands",
    "marrowtox.cohort.commands",
    "marrowtox.cohort.da_commands",
    "marrowtox.report.commands",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="marrowtox",
        description="Bone-marrow multi-omics after CAR T-cell therapy, linked to hematotoxicity.",
    )
    parser.add_argument("--version", action="version", version=f"marrowtox {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a branch not installed in this build
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except InputError as exc:
        # Bad input is the user's to fix: a clear one-line message, no traceback.
        print(f"marrowtox {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
