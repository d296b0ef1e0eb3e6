"""Snakemake entry point: one sample's annotated object, embedding and composition."""

import sys

from marrowtox.singlecell.embed import EmbedParams
from marrowtox.singlecell.steps import sample_step

sys.stderr = open(snakemake.log[0], "w")
sample_step(
    snakemake.input.h5ad,
    snakemake.input.labels,
    snakemake.wildcards.sample,
    snakemake.output.annotated,
    snakemake.output.composition,
    EmbedParams.from_config(snakemake.params.embed, snakemake.params.seed),
    exclude_genes=snakemake.params.exclude_genes,
)
