"""File-level step of the CH caller (what the rule and `marrowtox ch-call` run)."""

from __future__ import annotations

from marrowtox.atomic import write_tsv
from marrowtox.ch.call import CallParams, call_sample, read_pon
from marrowtox.ch.vcf import write_vcf


def call_step(
    sample: str,
    bam: str,
    fasta: str,
    bed: str,
    gtf: str | None,
    rules: str,
    params: CallParams,
    out_vcf: str,
    out_tsv: str,
    out_lod: str,
    pon: str | None = None,
) -> None:
    calls, lod = call_sample(sample, bam, fasta, bed, gtf, rules, params, read_pon(pon))
    write_tsv(lod, out_lod)
    write_tsv(calls, out_tsv)
    write_vcf(calls, sample, fasta, out_vcf)
