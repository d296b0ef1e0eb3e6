"""File-level step of the CH caller (what the rule and `marrowtox ch-call` run)."""

from __future__ import annotations

from marrowtox.atomic import write_rows
from marrowtox.ch.call import CALL_COLUMNS, LOD_COLUMNS, CallParams, call_sample, read_pon
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
    write_rows(lod, LOD_COLUMNS, out_lod)
    write_rows(calls, CALL_COLUMNS, out_tsv)
    write_vcf(calls, sample, fasta, out_vcf)
