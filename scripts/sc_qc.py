"""Snakemake entry point: per-sample QC (marrowtox.singlecell.qc)."""

import sys

from marrowtox.singlecell.organism import mt_prefix
from marrowtox.singlecell.qc import QCParams
from marrowtox.singlecell.steps import qc_step

sys.stderr = open(snakemake.log[0], "w")
params = QCParams.from_config(snakemake.params.qc, mt_prefix(snakemake.params.organism))
qc_step(
    snakemake.input[0],
    snakemake.wildcards.sample,
    snakemake.params.meta,
    params,
    snakemake.output.h5ad,
    snakemake.output.tsv,
    snakemake.output.png,
)
