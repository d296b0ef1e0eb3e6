"""`marrowtox car-call | car-bam | signatures`."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "car-call", help="ambient-aware CAR+ calls and program scores for one sample"
    )
    p.add_argument("--h5ad", required=True, help="annotated per-sample AnnData")
    p.add_argument("--sample", required=True)
    p.add_argument("--construct", default="", help="key of resources/car_constructs.yaml")
    p.add_argument("--features", nargs="*", help="CAR feature names (override the construct)")
    p.add_argument("--empty-droplets", help="raw matrix of empty droplets (ambient estimate)")
    p.add_argument("--fdr", type=float, default=0.01)
    p.add_argument("--min-umis", type=int, default=3)
    p.add_argument("--organism", choices=["human", "mouse"], default="human")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-h5ad", required=True)
    p.add_argument("--out-tsv", required=True)
    p.add_argument("--out-cells", required=True)
    p.set_defaults(func=_car)
    p = sub.add_parser("car-bam", help="CAR UMIs per cell barcode from a construct-aligned BAM")
    p.add_argument("--bam", required=True)
    p.add_argument("--construct", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--min-mapq", type=int, default=30)
    p.set_defaults(func=_bam)
    p = sub.add_parser("signatures", help="scores by cell type and HSPC index vs baseline")
    p.add_argument("--h5ad", required=True, help="scored per-sample AnnData (car-call output)")
    p.add_argument("--sample", required=True)
    p.add_argument("--baseline", nargs="*", default=[], help="scored baseline AnnData(s)")
    p.add_argument("--baseline-source", default="patient", choices=["patient", "cohort", "none"])
    p.add_argument("--organism", choices=["human", "mouse"], default="human")
    p.add_argument("--out", required=True)
    p.set_defaults(func=_signatures)


def _car(a: argparse.Namespace) -> int:
    from marrowtox.cart.calling import CarParams
    from marrowtox.cart.steps import car_step, default_sets

    skipped = car_step(
        a.h5ad,
        a.sample,
        a.construct,
        a.features,
        CarParams(a.fdr, a.min_umis),
        default_sets(),
        a.organism,
        a.seed,
        a.out_h5ad,
        a.out_tsv,
        a.out_cells,
        a.empty_droplets,
    )
    for s in skipped:
        print(f"gene set skipped: {s}")
    return 0


def _bam(a: argparse.Namespace) -> int:
    from marrowtox.atomic import write_tsv
    from marrowtox.cart.bam import count_car_umis
    from marrowtox.cart.constructs import load

    write_tsv(count_car_umis(a.bam, load()[a.construct], a.min_mapq), a.out)
    return 0


def _signatures(a: argparse.Namespace) -> int:
    from marrowtox.cart.steps import default_sets, signatures_step

    signatures_step(
        a.h5ad,
        a.sample,
        a.baseline,
        a.baseline_source if a.baseline else "none",
        default_sets(),
        a.organism,
        a.out,
    )
    return 0
