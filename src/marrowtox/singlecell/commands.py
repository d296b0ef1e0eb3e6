"""`marrowtox sc-qc | sc-doublets | sc-integrate | sc-annotate | sc-sample`."""

from __future__ import annotations

import argparse
from pathlib import Path

MARKERS = Path(__file__).resolve().parents[3] / "resources" / "markers" / "marrow.yaml"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sc-qc", help="per-sample QC (MAD outliers, mitochondrial cap)")
    p.add_argument("--input", required=True)
    p.add_argument("--sample", required=True)
    p.add_argument("--patient", default="")
    p.add_argument("--timepoint", default="")
    p.add_argument("--day", type=int, default=0)
    p.add_argument("--batch", default="")
    p.add_argument("--out-h5ad", required=True)
    p.add_argument("--out-tsv", required=True)
    p.add_argument("--out-png", required=True)
    p.add_argument("--nmads", type=float, default=5.0)
    p.add_argument("--nmads-mt", type=float, default=3.0)
    p.add_argument("--max-pct-mt", type=float, default=20.0)
    p.add_argument("--organism", choices=["human", "mouse"], default="human")
    p.set_defaults(func=_qc)
    p = sub.add_parser("sc-doublets", help="scrublet doublets on one sample")
    p.add_argument("--input", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--rate", type=float, default=0.06)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--keep", action="store_true", help="flag doublets but keep them")
    p.set_defaults(func=_doublets)
    p = sub.add_parser("sc-integrate", help="merge, HVG, PCA, Harmony, UMAP, Leiden")
    p.add_argument(
        "--inputs", nargs="+", required=True, help="per-sample h5ad files (sample = file stem)"
    )
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_integrate)
    p = sub.add_parser("sc-annotate", help="marrow cell types from the marker model")
    p.add_argument("--integrated", required=True)
    p.add_argument(
        "--outdir",
        required=True,
        help="writes cohort.h5ad, cells/<sample>.tsv and plots/umap_celltypes.png",
    )
    p.add_argument("--markers", default=str(MARKERS))
    p.add_argument("--organism", choices=["human", "mouse"], default="human")
    p.set_defaults(func=_annotate)
    p = sub.add_parser(
        "sc-sample", help="one sample's annotated h5ad and composition from the cohort labels"
    )
    p.add_argument("--input", required=True, help="the sample's h5ad after doublet removal")
    p.add_argument("--cells", required=True, help="the cells/ folder of sc-annotate")
    p.add_argument("--sample", required=True)
    p.add_argument("--out-h5ad", required=True)
    p.add_argument("--out-composition", required=True)
    p.set_defaults(func=_sample)


def _qc(a: argparse.Namespace) -> int:
    from marrowtox.singlecell.organism import mt_prefix
    from marrowtox.singlecell.qc import QCParams
    from marrowtox.singlecell.steps import qc_step

    meta = {
        "patient": a.patient,
        "timepoint": a.timepoint,
        "day": a.day,
        "batch": a.batch or a.patient,
    }
    qc_step(
        a.input,
        a.sample,
        meta,
        QCParams(a.nmads, a.nmads_mt, a.max_pct_mt, mt_prefix=mt_prefix(a.organism)),
        a.out_h5ad,
        a.out_tsv,
        a.out_png,
    )
    return 0


def _doublets(a: argparse.Namespace) -> int:
    from marrowtox.singlecell.steps import doublet_step

    doublet_step(a.input, a.out, a.rate, a.seed, not a.keep)
    return 0


def _integrate(a: argparse.Namespace) -> int:
    from marrowtox.singlecell.integrate import IntegrateParams
    from marrowtox.singlecell.steps import integrate_step

    integrate_step(
        a.inputs,
        [Path(p).name.split(".")[0] for p in a.inputs],
        IntegrateParams(seed=a.seed),
        a.out,
    )
    return 0


def _annotate(a: argparse.Namespace) -> int:
    from marrowtox.singlecell.annotate import AnnotateParams
    from marrowtox.singlecell.steps import annotate_step

    out = Path(a.outdir)
    skipped = annotate_step(
        a.integrated,
        a.markers,
        a.organism,
        AnnotateParams(),
        str(out / "cohort.h5ad"),
        str(out / "cells"),
        str(out / "plots" / "umap_celltypes.png"),
    )
    if skipped:
        print("marker sets skipped: " + "; ".join(skipped))
    return 0


def _sample(a: argparse.Namespace) -> int:
    from marrowtox.singlecell.steps import sample_step

    sample_step(a.input, a.cells, a.sample, a.out_h5ad, a.out_composition)
    return 0
