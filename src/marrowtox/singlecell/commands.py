"""`marrowtox sc-qc | sc-doublets | sc-integrate | sc-annotate | sc-sample`."""

from __future__ import annotations

import argparse
from pathlib import Path

from marrowtox.settings import add_schema_options, options_section, section_defaults


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
    p.add_argument("--organism", choices=["human", "mouse"], default="human")
    add_schema_options(p, "singlecell", "qc")
    p.set_defaults(func=_qc)
    p = sub.add_parser("sc-doublets", help="scrublet doublets on one sample")
    p.add_argument("--input", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--out-tsv", default=None, help="calls of every cell (.tsv)")
    p.add_argument("--seed", type=int, default=0)
    add_schema_options(p, "singlecell", "doublets")
    p.set_defaults(func=_doublets)
    p = sub.add_parser(
        "sc-integrate",
        help="cohort embedding for display: merge, HVG, PCA, Harmony, UMAP, Leiden",
    )
    p.add_argument(
        "--inputs", nargs="+", required=True, help="per-sample h5ad files (sample = file stem)"
    )
    p.add_argument(
        "--labels",
        nargs="*",
        default=[],
        help="per-sample label tables of sc-annotate (same order)",
    )
    p.add_argument("--out", required=True, help="cohort .h5ad")
    p.add_argument(
        "--out-status", default=None, help="status table: integrated or failed, and why (.tsv)"
    )
    p.add_argument("--umap", default=None, help="UMAP plot (.png)")
    p.add_argument("--seed", type=int, default=0)
    add_schema_options(p, "singlecell", "integrate")
    p.set_defaults(func=_integrate)
    p = sub.add_parser(
        "sc-annotate", help="one sample's marrow cell types (marker and reference routes)"
    )
    p.add_argument("--input", required=True, help="the sample's h5ad after doublet removal")
    p.add_argument("--sample", required=True)
    p.add_argument("--out-labels", required=True, help="per-cell label table (.tsv)")
    p.add_argument("--out-table", required=True, help="<sample>.annotation.tsv")
    p.add_argument("--model", default="", help="CellTypist model (.pkl) of the reference route")
    p.add_argument("--label-map", default="", help="YAML: reference label -> marrowtox type")
    ref_defaults = section_defaults("singlecell", "annotate", "reference")
    p.add_argument(
        "--default-model",
        default=ref_defaults["default_model"],
        help="shipped model used when --model is empty; '' for none "
        f"(config singlecell.annotate.reference.default_model; default {ref_defaults['default_model']!r})",
    )
    p.add_argument(
        "--default-label-map",
        default=ref_defaults["default_label_map"],
        help="label map of --default-model "
        f"(config singlecell.annotate.reference.default_label_map; default {ref_defaults['default_label_map']!r})",
    )
    p.add_argument("--exclude-genes", nargs="*", default=schema_default("exclude_genes"))
    p.add_argument("--organism", choices=["human", "mouse"], default="human")
    p.add_argument("--seed", type=int, default=0)
    add_schema_options(p, "singlecell", "annotate")
    p.set_defaults(func=_annotate)
    p = sub.add_parser("sc-reference", help="train the reference-route CellTypist model")
    p.add_argument("--reference", required=True, help="labelled .h5ad with raw counts")
    p.add_argument("--out-model", required=True)
    p.add_argument("--out-labels", required=True, help="labels and cell counts used (.tsv)")
    p.add_argument("--seed", type=int, default=0)
    add_schema_options(
        p,
        "singlecell",
        "annotate",
        "reference",
        skip=("h5ad", "model", "label_map", "default_model", "default_label_map"),
    )
    p.set_defaults(func=_reference)
    p = sub.add_parser(
        "sc-sample", help="one sample's annotated h5ad and composition from its labels"
    )
    p.add_argument("--input", required=True, help="the sample's h5ad after doublet removal")
    p.add_argument("--labels", required=True, help="the sample's label table of sc-annotate")
    p.add_argument("--sample", required=True)
    p.add_argument("--out-h5ad", required=True)
    p.add_argument("--out-composition", required=True)
    p.add_argument("--exclude-genes", nargs="*", default=schema_default("exclude_genes"))
    p.add_argument("--seed", type=int, default=0)
    add_schema_options(p, "singlecell", "embed")
    p.set_defaults(func=_sample)


def schema_default(key: str):
    from marrowtox.settings import section_defaults

    return section_defaults("singlecell", "integrate")[key]


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
        QCParams.from_config(options_section(a, "singlecell", "qc"), mt_prefix(a.organism)),
        a.out_h5ad,
        a.out_tsv,
        a.out_png,
    )
    return 0


def _doublets(a: argparse.Namespace) -> int:
    from marrowtox.singlecell.doublets import DoubletParams
    from marrowtox.singlecell.steps import doublet_step

    section = options_section(a, "singlecell", "doublets")
    doublet_step(a.input, a.out, DoubletParams.from_config(section, a.seed), a.out_tsv)
    return 0


def _integrate(a: argparse.Namespace) -> int:
    from marrowtox.singlecell.integrate import IntegrateParams
    from marrowtox.singlecell.steps import integrate_step

    section = options_section(a, "singlecell", "integrate")
    integrate_step(
        a.inputs,
        [Path(p).name.split(".")[0] for p in a.inputs],
        IntegrateParams.from_config(section, a.seed),
        a.out,
        exclude_genes=section["exclude_genes"],
        labels=a.labels,
        umap_png=a.umap,
        out_status=a.out_status,
    )
    return 0


def _annotate(a: argparse.Namespace) -> int:
    from marrowtox.settings import resolve
    from marrowtox.singlecell.annotate import AnnotateParams
    from marrowtox.singlecell.steps import annotate_step

    section = options_section(a, "singlecell", "annotate")
    # as the workflow: a given model with its map, else the shipped default (if any)
    model, label_map = (a.model, a.label_map) if a.model else (a.default_model, a.default_label_map)
    table = annotate_step(
        a.input,
        a.sample,
        resolve(section["markers"]),
        a.organism,
        AnnotateParams.from_config(section, a.seed),
        a.out_labels,
        a.out_table,
        model_path=resolve(model) if model else None,
        label_map_path=resolve(label_map) if label_map else None,
        exclude_genes=a.exclude_genes,
        ontology_path=resolve(section["ontology"]),
    )
    for row in table.itertuples():
        if not row.assessable:
            print(f"{row.cell_type}: {row.status}")
    return 0


def _reference(a: argparse.Namespace) -> int:
    from marrowtox.singlecell.reference import ReferenceParams
    from marrowtox.singlecell.steps import reference_step

    section = options_section(a, "singlecell", "annotate", "reference")
    reference_step(
        a.reference, ReferenceParams.from_config(section, a.seed), a.out_model, a.out_labels
    )
    return 0


def _sample(a: argparse.Namespace) -> int:
    from marrowtox.singlecell.embed import EmbedParams
    from marrowtox.singlecell.steps import sample_step

    sample_step(
        a.input,
        a.labels,
        a.sample,
        a.out_h5ad,
        a.out_composition,
        EmbedParams.from_config(options_section(a, "singlecell", "embed"), a.seed),
        exclude_genes=a.exclude_genes,
    )
    return 0
