"""`marrowtox demo`: write the simulated demo cohort (data, tables, truth)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="generate the simulated demo cohort")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from marrowtox.demo.generate import generate_cohort

    paths = generate_cohort(args.out, args.seed)
    print(f"demo cohort written to {args.out}: {paths['samples']}")
    return 0
