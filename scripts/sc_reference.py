"""Snakemake entry point: train the reference-route model (marrowtox.singlecell.reference)."""

import sys

from marrowtox.singlecell.reference import ReferenceParams
from marrowtox.singlecell.steps import reference_step

sys.stderr = open(snakemake.log[0], "w")
ref = snakemake.params.reference
reference_step(
    snakemake.input.reference,
    ReferenceParams.from_config(ref, snakemake.params.seed),
    snakemake.output.model,
    snakemake.output.labels,
)
