"""Snakemake entry point: one sample's annotated object and composition."""

import sys

from marrowtox.singlecell.steps import sample_step

sys.stderr = open(snakemake.log[0], "w")
sample_step(
    snakemake.input.h5ad,
    snakemake.input.labels,
    snakemake.input.cells,
    snakemake.wildcards.sample,
    snakemake.output.annotated,
    snakemake.output.composition,
)
