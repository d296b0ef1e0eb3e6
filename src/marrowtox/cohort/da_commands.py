"""`marrowtox composition-da`: differential abundance of marrow cell types (propeller)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    from marrowtox.settings import add_schema_options

    p = sub.add_parser(
        "composition-da",
        help="differential abundance of marrow cell types: post-infusion vs baseline "
        "(paired) and by toxicity group (propeller: logit proportions, moderated t, BH)",
    )
    p.add_argument(
        "--compositions",
        type=Path,
        nargs="+",
        required=True,
        help="results/singlecell/{sample}.composition.tsv of the scRNA samples",
    )
    p.add_argument(
        "--samples", type=Path, required=True, help="samples.tsv (patient, day, specimen)"
    )
    p.add_argument(
        "--scores",
        type=Path,
        help="results/clinical/cohort.tsv (icaht_early_grade, car_hematotox_risk); without "
        "it the toxicity comparisons say so and are not tested",
    )
    add_schema_options(p, "cohort", "composition_da")
    p.add_argument("--out", type=Path, required=True, help="results/cohort/composition_da.tsv")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import pandas as pd

    from marrowtox.atomic import write_tsv
    from marrowtox.cohort.composition_da import DAInputs, DASettings, composition_da
    from marrowtox.errors import InputError
    from marrowtox.samplesheet import load_samples
    from marrowtox.settings import options_section

    opts = options_section(args, "cohort", "composition_da")
    opts["post_days"] = tuple(int(d) for d in opts["post_days"])
    if len(opts["post_days"]) != 2 or opts["post_days"][0] > opts["post_days"][1]:
        raise InputError(
            f"--post-days {list(opts['post_days'])}", key="cohort.composition_da.post_days",
            expected="two days [first, last], first <= last",
        )  # fmt: skip
    for p in [*args.compositions, args.samples, *([args.scores] if args.scores else [])]:
        if not p.is_file():
            raise InputError("file not found", file=p, expected="an existing table")
    scores = pd.read_csv(args.scores, sep="\t", dtype={"patient": str}) if args.scores else None
    inp = DAInputs(
        compositions=list(args.compositions),
        samples=load_samples(args.samples, check_files=False),
        scores=scores,
        settings=DASettings(**opts),
    )
    table = composition_da(inp)
    for note in inp.notes:
        log.info(note)
    write_tsv(table, args.out)
    tested = table[table["status"] == "tested"]
    log.info(
        "%d rows, %d tested, %d at FDR < 0.05",
        len(table),
        len(tested),
        int((tested["fdr"] < 0.05).sum()),
    )
    return 0
