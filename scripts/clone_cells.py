"""Snakemake entry point: one patient's clones x cell types across timepoints."""

import sys

from marrowtox.genotype.steps import clone_cells_step

sys.stderr = open(snakemake.log[0], "w")
clone_cells_step(
    list(snakemake.input), snakemake.params.samples, snakemake.params.days, snakemake.output[0]
)
