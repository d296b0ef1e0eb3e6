"""Snakemake entry point: scrublet doublets on one sample (marrowtox.singlecell.doublets)."""

import sys

from marrowtox.singlecell.doublets import DoubletParams
from marrowtox.singlecell.steps import doublet_step

sys.stderr = open(snakemake.log[0], "w")
doublet_step(
    snakemake.input[0],
    snakemake.output.h5ad,
    DoubletParams.from_config(snakemake.params.doublets, snakemake.params.seed),
    snakemake.output.tsv,
)
