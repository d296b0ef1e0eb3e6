"""File-level steps of the CH caller (what the rules and `marrowtox ch-call|ch-pon` run)."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pysam

from marrowtox.atomic import atomic_path, write_rows
from marrowtox.ch.call import (
    CALL_COLUMNS,
    EVIDENCE_COLUMNS,
    LOD_COLUMNS,
    CallParams,
    call_sample,
    read_pon,
)
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
    out_evidence: str | None = None,
) -> None:
    """`pon_model`: a ch-pon table path, or its models already read (several samples);
    `out_evidence`: every tested candidate, bgzipped and tabix-indexed."""
    models = read_pon_model(pon_model) if isinstance(pon_model, str) else pon_model
    evidence: list | None = [] if out_evidence else None
    calls, lod = call_sample(
        sample,
        bam,
        fasta,
        bed,
        gtf,
        rules,
        params,
        read_pon(pon),
        site_models=models,
        evidence=evidence,
    )
    if out_evidence and evidence is not None:
        write_evidence(evidence, out_evidence)
    write_rows(lod, LOD_COLUMNS, out_lod)
    write_rows(calls, CALL_COLUMNS, out_tsv)
    write_vcf(calls, sample, fasta, out_vcf, params, pon_used=bool(models))


def pon_step(bams: list[str], fasta: str, bed: str, params: PonParams, out: str) -> None:
    write_pon(build_pon(bams, fasta, bed, params), out)


def write_evidence(rows: list, out: str) -> None:
    """TSV, BGZF-compressed, tabix index on chrom (column 2) and pos (column 3)."""
    with atomic_path(out) as tmp:
        plain = tmp.with_suffix(".plain.tsv")
        write_rows(rows, EVIDENCE_COLUMNS, plain)
        pysam.tabix_compress(str(plain), str(tmp), force=True)
        plain.unlink()
    with contextlib.suppress(FileNotFoundError):
        Path(out + ".tbi").unlink()
    pysam.tabix_index(out, seq_col=1, start_col=2, end_col=2, line_skip=1, force=True)
