"""Snakemake entry point: CH calls for one patient's DNA samples, then the clones of its
whole-specimen samples across time points, in one process (marrowtox.ch.steps)."""

import sys

from marrowtox.ch.config import params_from_config
from marrowtox.ch.steps import BatchCallInputs, call_and_track_step, tracked_samples

sys.stderr = open(snakemake.log[0], "w")
i, o, p = snakemake.input, snakemake.output, snakemake.params
batch = BatchCallInputs(
    samples=list(p.samples),
    bams=list(i.bams),
    fasta=i.fasta,
    bed=i.bed,
    rules=i.rules,
    params=params_from_config(p.ch),
    out_vcf=list(o.vcf),
    out_tsv=list(o.calls),
    out_lod=list(o.lod),
    gtf=i.gtf,
    pon=i.pon or None,
    pon_model=i.pon_model or None,
    out_evidence=list(o.evidence) if "evidence" in o.keys() else None,
)
call_and_track_step(
    batch, tracked_samples(batch, p.patient, list(p.track_samples), list(p.track_days), o.clones)
)
