"""Snakemake entry point: marrow cell-type annotation (marrowtox.singlecell.annotate)."""

import sys

from marrowtox.singlecell.annotate import AnnotateParams
from marrowtox.singlecell.steps import annotate_step

sys.stderr = open(snakemake.log[0], "w")
a = snakemake.params.annotate
params = AnnotateParams(a["min_genes"], a["cluster_weight"], a["margin"], snakemake.params.seed)
skipped = annotate_step(
    snakemake.input.integrated,
    snakemake.input.markers,
    snakemake.params.organism,
    params,
    snakemake.output.cohort,
    snakemake.output.cells,
    snakemake.output.umap,
)
print("marker sets skipped: " + ("; ".join(skipped) or "none"), file=sys.stderr)
