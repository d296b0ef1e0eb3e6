"""`marrowtox cohort-table | report-patient | report-cohort`."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("cohort-table", help="results/cohort/patients.tsv from all branch outputs")
    p.add_argument("--samples", required=True)
    p.add_argument("--results", default="results")
    p.add_argument("--flow", help="flow.tsv (pre-gated flow populations; docs/flow.md)")
    p.add_argument("--out", required=True)
    p.add_argument(
        "--out-scale",
        help="also write the cohort-wide heatmap scale the patient reports read "
        "(results/cohort/heatmap_scale.tsv in the workflow)",
    )
    p.add_argument(
        "--min-depth",
        type=int,
        default=None,
        help="config ch.min_depth, quoted for a DNA sample with no callable target "
        "(default: the schema's)",
    )
    p.add_argument(
        "--patients",
        nargs="+",
        help="only these patients: one part of the table, joined by cohort-table-merge "
        "(the workflow writes one part per report.table_part_patients patients)",
    )
    p.set_defaults(func=_table)
    p = sub.add_parser(
        "cohort-table-merge",
        help="results/cohort/patients.tsv and heatmap_scale.tsv from the parts of "
        "`cohort-table --patients`",
    )
    p.add_argument("--tables", nargs="+", required=True, help="part tables, in patient order")
    p.add_argument("--scales", nargs="+", required=True, help="the parts' --out-scale files")
    p.add_argument("--out", required=True)
    p.add_argument("--out-scale", required=True)
    p.set_defaults(func=_table_merge)
    p = sub.add_parser("report-patient", help="self-contained HTML report of one patient")
    p.add_argument("--samples", required=True)
    p.add_argument("--events")
    p.add_argument("--flow", help="flow.tsv (pre-gated flow populations; docs/flow.md)")
    p.add_argument("--patient", required=True)
    p.add_argument("--results", default="results")
    p.add_argument("--out", required=True)
    p.add_argument("--pseudonymise", action="store_true")
    p.set_defaults(func=_patient)
    p = sub.add_parser("report-cohort", help="self-contained HTML cohort report")
    p.add_argument("--samples", required=True)
    p.add_argument("--results", default="results")
    p.add_argument("--out", required=True)
    p.add_argument("--pseudonymise", action="store_true")
    p.set_defaults(func=_cohort)


def _samples(path: str):
    from marrowtox.samplesheet import load_samples

    return load_samples(path, check_files=False).reset_index(drop=True)


def _events(path: str | None):
    if not path:
        return None
    from marrowtox.samplesheet import load_schema, read_table

    return read_table(path, load_schema("events.schema.yaml"), "events")


def _flow(path: str | None, samples):
    if not path:
        return None
    from marrowtox.clinical.flow import load_flow

    return load_flow(path, set(samples["patient"]))


def _table(a: argparse.Namespace) -> int:
    from marrowtox.report.build import write_cohort_table

    samples = _samples(a.samples)
    write_cohort_table(
        samples,
        a.results,
        a.out,
        a.out_scale,
        _flow(a.flow, samples),
        a.min_depth,
        patients=a.patients,
    )
    return 0


def _table_merge(a: argparse.Namespace) -> int:
    from marrowtox.report.build import merge_cohort_parts

    merge_cohort_parts(a.tables, a.scales, a.out, a.out_scale)
    return 0


def _patient(a: argparse.Namespace) -> int:
    from marrowtox.report.build import patient_report

    samples = _samples(a.samples)
    patient_report(
        a.patient,
        samples,
        _events(a.events),
        a.results,
        a.out,
        a.pseudonymise,
        flow=_flow(a.flow, samples),
    )
    return 0


def _cohort(a: argparse.Namespace) -> int:
    from marrowtox.report.build import cohort_report

    print(cohort_report(_samples(a.samples), a.results, a.out, a.pseudonymise))
    return 0
