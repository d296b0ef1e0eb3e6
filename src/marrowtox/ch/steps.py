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
from marrowtox.errors import InputError


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


def call_samples_step(
    samples: list[str],
    bams: list[str],
    fasta: str,
    bed: str,
    gtf: str | None,
    rules: str,
    params: CallParams,
    out_vcf: list[str],
    out_tsv: list[str],
    out_lod: list[str],
    pon: str | None = None,
    pon_model: str | None = None,
    out_evidence: list[str] | None = None,
) -> None:
    """Several samples (a patient's, as rule ch_call runs them) in one process, in turn.

    The interpreter start-up, the imports and the panel-of-normals model are paid once
    rather than per sample; each sample still has its own outputs and its own model
    fit (background rates, BH over its own candidates), so the calls are those of one
    `call_step` per sample."""
    n = len(bams)
    lists = {"sample": samples, "out_vcf": out_vcf, "out_tsv": out_tsv, "out_lod": out_lod}
    if out_evidence is not None:
        lists["out_evidence"] = out_evidence
    for name, values in lists.items():
        if len(values) != n:
            raise InputError(
                f"{name.replace('_', '-')} has {len(values)} values for {n} BAMs",
                expected="one value per BAM, in the same order",
            )
    models = read_pon_model(pon_model) if pon_model else None
    for i in range(n):
        call_step(
            samples[i],
            bams[i],
            fasta,
            bed,
            gtf,
            rules,
            params,
            out_vcf[i],
            out_tsv[i],
            out_lod[i],
            pon,
            models,
            out_evidence[i] if out_evidence else None,
        )


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
