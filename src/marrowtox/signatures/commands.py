"""`marrowtox signatures`: scores by cell type and the HSPC index against the baseline."""

from __future__ import annotations

import argparse

from marrowtox.settings import add_schema_options, resolve


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("signatures", help="scores by cell type and HSPC index vs baseline")
    p.add_argument("--h5ad", required=True, help="scored per-sample AnnData (car-call output)")
    p.add_argument("--sample", required=True)
    p.add_argument("--baseline", nargs="*", default=[], help="scored baseline AnnData(s)")
    p.add_argument("--baseline-source", default="patient", choices=["patient", "cohort", "none"])
    p.add_argument("--organism", choices=["human", "mouse"], default="human")
    p.add_argument("--out", required=True)
    add_schema_options(p, "signatures")
    p.set_defaults(func=_signatures)


def _signatures(a: argparse.Namespace) -> int:
    from marrowtox.signatures.steps import gene_sets, signatures_step

    signatures_step(
        a.h5ad,
        a.sample,
        a.baseline,
        a.baseline_source if a.baseline else "none",
        gene_sets(
            resolve(a.programs), resolve(a.hallmark), a.program_min_genes, a.hallmark_min_genes
        ),
        a.organism,
        a.out,
    )
    return 0
