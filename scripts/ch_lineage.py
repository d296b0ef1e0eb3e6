"""Snakemake entry point: clone VAFs in sorted fractions and lineage calls of one patient
(marrowtox.ch.lineage)."""

import sys

from marrowtox.atomic import write_tsv
from marrowtox.ch.config import params_from_config
from marrowtox.ch.lineage import LineageInputs, lineage_step

sys.stderr = open(snakemake.log[0], "w")
i = snakemake.input
inputs = LineageInputs(
    snakemake.wildcards.patient,
    list(snakemake.params.samples),
    list(snakemake.params.days),
    list(snakemake.params.fractions),
    list(i.calls),
    list(i.bams),
    list(i.lods),
    i.fasta,
)
write_tsv(lineage_step(inputs, params_from_config(snakemake.params.ch)), snakemake.output[0])
