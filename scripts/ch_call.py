"""Snakemake entry point: CH calls for one patient's DNA samples, in one process (marrowtox.ch)."""

import sys

from marrowtox.ch.config import params_from_config
from marrowtox.ch.steps import call_samples_step

sys.stderr = open(snakemake.log[0], "w")
i, o = snakemake.input, snakemake.output
call_samples_step(
    list(snakemake.params.samples),
    list(i.bams),
    i.fasta,
    i.bed,
    i.gtf,
    i.rules,
    params_from_config(snakemake.params.ch),
    list(o.vcf),
    list(o.calls),
    list(o.lod),
    i.pon or None,
    i.pon_model or None,
    list(o.evidence) if "evidence" in o.keys() else None,
)
