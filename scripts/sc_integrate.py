"""Snakemake entry point: cohort integration for display (marrowtox.singlecell.integrate)."""

import sys

from marrowtox.singlecell.integrate import IntegrateParams
from marrowtox.singlecell.steps import integrate_step

sys.stderr = open(snakemake.log[0], "w")
i = snakemake.params.integrate
integrate_step(
    list(snakemake.input.h5ad),
    list(snakemake.params.samples),
    IntegrateParams.from_config(i, snakemake.params.seed),
    snakemake.output.cohort,
    exclude_genes=i["exclude_genes"],
    labels=list(snakemake.input.labels),
    umap_png=snakemake.output.umap,
    out_status=snakemake.output.status,
)
