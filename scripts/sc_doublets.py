"""Snakemake entry point: scrublet doublets on one sample (marrowtox.singlecell.doublets)."""

import sys

from marrowtox.singlecell.steps import doublet_step

sys.stderr = open(snakemake.log[0], "w")
d = snakemake.params.doublets
doublet_step(
    snakemake.input[0],
    snakemake.output.h5ad,
    d["expected_rate"],
    snakemake.params.seed,
    d["remove"],
    snakemake.output.tsv,
)
