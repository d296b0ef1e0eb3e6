"""File-level steps of the CH caller (what the rules and `marrowtox ch-call|ch-pon` run)."""

from __future__ import annotations

from marrowtox.atomic import write_rows
from marrowtox.ch.call import CALL_COLUMNS, LOD_COLUMNS, CallParams, call_sample, read_pon
from marrowtox.ch.pon import PonParams, SiteModel, build_pon, write_pon
from marrowtox.ch.pon import read_pon as read_pon_model
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
    pon_model: str | dict[tuple[str, int, str], SiteModel] | None = None,
) -> None:
    """`pon_model`: a ch-pon table path, or its models already read (several samples)."""
    models = read_pon_model(pon_model) if isinstance(pon_model, str) else pon_model
    calls, lod = call_sample(
        sample, bam, fasta, bed, gtf, rules, params, read_pon(pon), site_models=models
    )
    write_rows(lod, LOD_COLUMNS, out_lod)
    write_rows(calls, CALL_COLUMNS, out_tsv)
    write_vcf(calls, sample, fasta, out_vcf, params, pon_used=bool(models))


def pon_step(bams: list[str], fasta: str, bed: str, params: PonParams, out: str) -> None:
    write_pon(build_pon(bams, fasta, bed, params), out)
