"""`marrowtox clinical`: clinical scores for every patient of a cohort."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "clinical", help="ICAHT, CAR-HEMATOTOX, EASIX, biomarkers, CRS/ICANS per patient"
    )
    p.add_argument("--labs", type=Path, help="labs.tsv (long format)")
    p.add_argument("--events", type=Path, help="events.tsv")
    p.add_argument("--samples", type=Path, help="samples.tsv: score every patient of the sheet")
    p.add_argument("--patients", nargs="*", help="patient ids (default: all in labs/samples)")
    p.add_argument("--out", type=Path, required=True, help="output folder, e.g. results/clinical")
    p.add_argument(
        "--write",
        choices=("all", "patients", "cohort"),
        default="all",
        help="which files: all; the per-patient files only; cohort.tsv and "
        "labs.normalised.tsv only (the workflow's parts and cohort job)",
    )
    from marrowtox.settings import add_schema_options

    add_schema_options(p, "clinical")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from marrowtox.clinical.scores import ClinicalParams, run_clinical
    from marrowtox.clinical.tables import load_clinical_tables

    patients, labs, events = load_clinical_tables(
        args.labs, args.events, args.samples, args.patients
    )
    from marrowtox.settings import options_section

    params = ClinicalParams.from_config(options_section(args, "clinical"))
    cohort = run_clinical(patients, labs, events, args.out, params, args.write)
    print(f"clinical scores for {len(cohort)} patients written to {args.out}")
    return 0
