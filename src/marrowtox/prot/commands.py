"""`marrowtox sc-protein`: the protein (ADT) modality of one sample."""

from __future__ import annotations

import argparse

from marrowtox.settings import add_schema_options, options_section


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sc-protein",
        help="surface proteins (CITE-seq ADT): normalise, label, combine with RNA",
    )
    p.add_argument("--h5ad", required=True, help="the sample's final AnnData (labels, CAR calls)")
    p.add_argument("--sample", required=True)
    p.add_argument("--raw", required=True, help="the sample sheet's path (10x file or .h5ad)")
    p.add_argument("--adt", default="", help="protein counts (.h5ad/10x) if not in --raw")
    p.add_argument("--annotation", default="", help="<sample>.annotation.tsv of sc-annotate")
    p.add_argument("--empty-droplets", default="", help="raw matrix with empty droplets (DSB)")
    p.add_argument("--seed", type=int, default=0)
    add_schema_options(p, "singlecell", "protein")
    p.add_argument("--out-h5mu", required=True)
    p.add_argument("--out-labels", required=True)
    p.add_argument("--out-agreement", required=True)
    p.add_argument("--out-by-celltype", required=True)
    p.add_argument("--out-heatmap", default="", help="protein x cell type heatmap (.png)")
    p.set_defaults(func=_protein)


def _protein(a: argparse.Namespace) -> int:
    from marrowtox.prot.steps import ProteinInputs, ProteinOutputs, protein_step

    row = protein_step(
        ProteinInputs(
            a.h5ad,
            a.sample,
            a.raw,
            a.adt,
            options_section(a, "singlecell", "protein"),
            annotation=a.annotation or None,
            empty_droplets=a.empty_droplets or None,
            seed=a.seed,
        ),
        ProteinOutputs(
            a.out_h5mu,
            a.out_labels,
            a.out_agreement,
            a.out_by_celltype,
            a.out_heatmap or None,
        ),
    )
    print(
        f"{a.sample}: {row['n_shared_barcodes']} of {row['n_rna_cells']} RNA cells with "
        f"protein; {row['normalisation']}; RNA/protein agreement {row['agreement_type']:.3f}"
    )
    if row["note"]:
        print(f"warning: {row['note']}")
    return 0
