"""Snakemake entry point: the panel-of-normals error model (marrowtox.ch.pon)."""

import sys

from marrowtox.ch.config import pon_params_from_config
from marrowtox.ch.steps import pon_step

sys.stderr = open(snakemake.log[0], "w")
i = snakemake.input
pon_step(
    list(i.bams), i.fasta, i.bed, pon_params_from_config(snakemake.params.ch), snakemake.output[0]
)
