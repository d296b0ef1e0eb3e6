"""Snakemake entry point: CH calls for one patient's DNA samples, in one process (marrowtox.ch)."""

import sys

from marrowtox.ch.config import params_from_config
from marrowtox.ch.steps import BatchCallInputs, call_samples_step

sys.stderr = open(snakemake.log[0], "w")
i, o = snakemake.input, snakemake.output
call_samples_step(
    BatchCallInputs(
        samples=list(snakemake.params.samples),
        bams=list(i.bams),
        fasta=i.fasta,
        bed=i.bed,
        rules=i.rules,
        params=params_from_config(snakemake.params.ch),
        out_vcf=list(o.vcf),
        out_tsv=list(o.calls),
        out_lod=list(o.lod),
        gtf=i.gtf,
        pon=i.pon or None,
        pon_model=i.pon_model or None,
        out_evidence=list(o.evidence) if "evidence" in o.keys() else None,
    )
)
