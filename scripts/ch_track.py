"""Snakemake entry point: clone tracking of one patient (marrowtox.ch.track)."""

import sys

from marrowtox.atomic import write_tsv
from marrowtox.ch.config import params_from_config
from marrowtox.ch.track import track

sys.stderr = open(snakemake.log[0], "w")
i = snakemake.input
table = track(
    snakemake.wildcards.patient,
    snakemake.params.samples,
    snakemake.params.days,
    i.calls,
    i.bams,
    i.lods,
    i.fasta,
    params_from_config(snakemake.params.ch),
)
write_tsv(table, snakemake.output[0])
