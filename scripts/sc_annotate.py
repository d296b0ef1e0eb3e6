"""Snakemake entry point: one sample's cell types (marrowtox.singlecell.annotate)."""

import sys

from marrowtox.singlecell.annotate import AnnotateParams
from marrowtox.singlecell.steps import annotate_step

sys.stderr = open(snakemake.log[0], "w")
params = AnnotateParams.from_config(snakemake.params.annotate, snakemake.params.seed)
table = annotate_step(
    snakemake.input.h5ad,
    snakemake.wildcards.sample,
    snakemake.input.markers,
    snakemake.params.organism,
    params,
    snakemake.output.labels,
    snakemake.output.table,
    model_path=snakemake.input.model or None,
    label_map_path=snakemake.input.label_map or None,
    exclude_genes=snakemake.params.exclude_genes,
    ontology_path=snakemake.input.ontology,
)
skipped = table.loc[~table["assessable"], "status"]
for t, status in zip(table.loc[~table["assessable"], "cell_type"], skipped, strict=True):
    print(f"{t}: {status}", file=sys.stderr)
