"""Snakemake entry point: CH calls for one DNA sample (marrowtox.ch)."""

import sys

from marrowtox.ch.config import params_from_config
from marrowtox.ch.steps import call_step

sys.stderr = open(snakemake.log[0], "w")
i, o = snakemake.input, snakemake.output
call_step(
    snakemake.wildcards.sample,
    i.bam,
    i.fasta,
    i.bed,
    i.gtf,
    i.rules,
    params_from_config(snakemake.params.ch),
    o.vcf,
    o.calls,
    o.lod,
    i.pon or None,
    i.pon_model or None,
    o.get("evidence"),
)
