"""File-level steps of the CH caller (what the rules and `marrowtox ch-call|ch-pon` run)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace
from pathlib import Path

import pysam

from marrowtox.atomic import atomic_path, write_rows, write_tsv
from marrowtox.ch.call import (
    CALL_COLUMNS,
    EVIDENCE_COLUMNS,
    LOD_COLUMNS,
    CallParams,
    call_sample,
    for_bam,
    is_consensus_bam,
    read_pon,
)
from marrowtox.ch.consensus import ConsensusParams, call_consensus
from marrowtox.ch.pileup import PileupParams
from marrowtox.ch.pon import PonParams, SiteModel, build_pon, write_pon
from marrowtox.ch.pon import read_pon as read_pon_model
from marrowtox.ch.track import track
from marrowtox.ch.umi import check_umis
from marrowtox.ch.umi_extract import (
    ExtractStats,
    InlineLayout,
    check_layout,
    extract_inline,
    read_extracted,
    write_fastq,
)
from marrowtox.ch.umi_qc import HIST_COLUMNS, QC_COLUMNS, background_error, qc_rows
from marrowtox.ch.vcf import write_vcf
from marrowtox.errors import InputError


@dataclass(frozen=True)
class CallInputs:
    """One sample's `ch-call`: inputs, settings and output paths.

    `pon`: a VCF of recurrent artifacts; `pon_model`: a ch-pon table path, or its models
    already read (several samples); `out_evidence`: every tested candidate, bgzipped and
    tabix-indexed."""

    sample: str
    bam: str
    fasta: str
    bed: str
    rules: str
    params: CallParams
    out_vcf: str
    out_tsv: str
    out_lod: str
    gtf: str | None = None
    pon: str | None = None
    pon_model: str | dict[tuple[str, int, str], SiteModel] | None = None
    out_evidence: str | None = None


@dataclass(frozen=True)
class BatchCallInputs:
    """Several samples' `ch-call` (a patient's, as rule ch_call runs them): the per-sample
    lists (`samples`, `bams`, `out_*`) in the same order, the rest shared."""

    samples: list[str]
    bams: list[str]
    fasta: str
    bed: str
    rules: str
    params: CallParams
    out_vcf: list[str]
    out_tsv: list[str]
    out_lod: list[str]
    gtf: str | None = None
    pon: str | None = None
    pon_model: str | None = None
    out_evidence: list[str] | None = None

    def check(self) -> None:
        n = len(self.bams)
        lists = {
            "sample": self.samples,
            "out_vcf": self.out_vcf,
            "out_tsv": self.out_tsv,
            "out_lod": self.out_lod,
        }
        if self.out_evidence is not None:
            lists["out_evidence"] = self.out_evidence
        for name, values in lists.items():
            if len(values) != n:
                raise InputError(
                    f"{name.replace('_', '-')} has {len(values)} values for {n} BAMs",
                    expected="one value per BAM, in the same order",
                )

    def one(self, i: int, models: dict[tuple[str, int, str], SiteModel] | None) -> CallInputs:
        return CallInputs(
            sample=self.samples[i],
            bam=self.bams[i],
            fasta=self.fasta,
            bed=self.bed,
            rules=self.rules,
            params=self.params,
            out_vcf=self.out_vcf[i],
            out_tsv=self.out_tsv[i],
            out_lod=self.out_lod[i],
            gtf=self.gtf,
            pon=self.pon,
            pon_model=models,
            out_evidence=self.out_evidence[i] if self.out_evidence else None,
        )


def call_step(inp: CallInputs) -> None:
    """Calls one sample and writes its VCF, calls.tsv, LOD table (and evidence)."""
    pm = inp.pon_model
    molecules = is_consensus_bam(inp.bam)
    # A panel of normals holds read-level error rates: a consensus BAM (molecules) is
    # tested against its own class model instead, or the PON would mask its gain.
    models = None if molecules else (read_pon_model(pm) if isinstance(pm, str) else pm)
    evidence: list | None = [] if inp.out_evidence else None
    params = for_bam(inp.params, inp.bam)
    calls, lod = call_sample(
        inp.sample,
        inp.bam,
        inp.fasta,
        inp.bed,
        inp.gtf,
        inp.rules,
        params,
        read_pon(inp.pon),
        site_models=models,
        evidence=evidence,
    )
    if inp.out_evidence and evidence is not None:
        write_evidence(evidence, inp.out_evidence)
    write_rows(lod, LOD_COLUMNS, inp.out_lod)
    write_rows(calls, CALL_COLUMNS, inp.out_tsv)
    write_vcf(
        calls,
        inp.sample,
        inp.fasta,
        inp.out_vcf,
        params,
        pon_used=bool(models),
        molecules=molecules,
    )


def call_samples_step(batch: BatchCallInputs) -> None:
    """Several samples (a patient's, as rule ch_call runs them) in one process, in turn.

    The interpreter start-up, the imports and the panel-of-normals model are paid once
    rather than per sample; each sample still has its own outputs and its own model
    fit (background rates, BH over its own candidates), so the calls are those of one
    `call_step` per sample."""
    batch.check()
    models = read_pon_model(batch.pon_model) if batch.pon_model else None
    for i in range(len(batch.bams)):
        call_step(batch.one(i, models))


@dataclass(frozen=True)
class TrackInputs:
    """One patient's `ch-track`: its whole-specimen DNA samples with their days, and per
    sample (same order) its calls, the BAM ch-call read (the UMI consensus of a UMI
    sample) and its LOD table; the settings and the clone table to write."""

    patient: str
    samples: list[str]
    days: list[int]
    calls: list[str]
    bams: list[str]
    lods: list[str]
    fasta: str
    params: CallParams
    out: str


def track_step(inp: TrackInputs) -> None:
    """Writes the patient's clone table (every clone re-genotyped in every sample)."""
    table = track(
        inp.patient, inp.samples, inp.days, inp.calls, inp.bams, inp.lods, inp.fasta, inp.params
    )
    write_tsv(table, inp.out)


def tracked_samples(
    batch: BatchCallInputs, patient: str, samples: list[str], days: list[int], out: str
) -> TrackInputs:
    """The `ch-track` of `samples` (a subset of the batch's, e.g. its whole specimens)
    on the calls, LOD tables and BAMs of the batch."""
    if len(days) != len(samples):
        raise InputError(
            f"{len(days)} days for {len(samples)} samples to track",
            expected="one day per sample, in the same order",
        )
    missing = [s for s in samples if s not in batch.samples]
    if missing:
        raise InputError(
            f"samples to track not called in this batch: {', '.join(missing)}",
            expected=f"a subset of {', '.join(batch.samples)}",
        )
    at = [batch.samples.index(s) for s in samples]
    return TrackInputs(
        patient=patient,
        samples=list(samples),
        days=[int(d) for d in days],
        calls=[batch.out_tsv[i] for i in at],
        bams=[batch.bams[i] for i in at],
        lods=[batch.out_lod[i] for i in at],
        fasta=batch.fasta,
        params=batch.params,
        out=out,
    )


def call_and_track_step(batch: BatchCallInputs, track_inputs: TrackInputs) -> None:
    """Rule ch_call_<patient>: the patient's DNA samples called (call_samples_step), then
    its clones tracked across time points from the calls just written (track_step), in
    one process: one job per patient instead of two (issue 27). `track_inputs` as
    tracked_samples(batch, ...) gives them."""
    call_samples_step(batch)
    track_step(track_inputs)


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


@dataclass(frozen=True)
class ConsensusInputs:
    """One sample's `ch-consensus`: its UMI BAM, the reference and targets on which the
    error before and after consensus is measured, the settings and the outputs."""

    sample: str
    bam: str
    fasta: str
    bed: str
    params: ConsensusParams
    pileup: PileupParams
    out_bam: str
    out_qc: str
    out_hist: str


def consensus_step(inp: ConsensusInputs) -> dict:
    """Writes the consensus BAM (+ .bai), the QC row and the family-size histogram;
    returns the QC row."""
    check_umis(inp.bam, inp.params.umi)
    stats = call_consensus(
        inp.bam, inp.out_bam, inp.params, command=f"marrowtox ch-consensus --bam {inp.bam}"
    )
    every_base = replace(inp.pileup, min_base_quality=0)
    raw_all, _, where = background_error(inp.bam, inp.fasta, inp.bed, every_base)
    raw, raw_depth, _ = background_error(inp.bam, inp.fasta, inp.bed, inp.pileup, where)
    cons, cons_depth, _ = background_error(inp.out_bam, inp.fasta, inp.bed, inp.pileup, where)
    row, hist = qc_rows(inp.sample, stats, raw_all, (raw, raw_depth), (cons, cons_depth))
    write_rows([row], QC_COLUMNS, inp.out_qc)
    write_rows(hist, HIST_COLUMNS, inp.out_hist)
    return row


@dataclass(frozen=True)
class ExtractInputs:
    """Inline-UMI reads (read 1 FASTQ: UMI + spacer + insert) to a FASTQ of the inserts
    with the UMI in the read name, ready for `ch-align`."""

    sample: str
    fastq: str
    layout: InlineLayout
    out_fastq: str
    out_stats: str | None = None


EXTRACT_COLUMNS = ["sample", "reads", "kept", "bad_spacer", "too_short", "spacer"]


def extract_step(inp: ExtractInputs) -> dict:
    """Cuts UMI, spacer and adapter off each read and writes the FASTQ; returns the
    counts (the layout is checked first: a wrong one stops before any output)."""
    check_layout(inp.fastq, inp.layout)
    stats = ExtractStats()
    write_fastq(extract_inline(inp.fastq, inp.layout, stats), inp.out_fastq)
    row = {
        "sample": inp.sample,
        "reads": stats.reads,
        "kept": stats.kept,
        "bad_spacer": stats.bad_spacer,
        "too_short": stats.too_short,
        "spacer": stats.spacer,
    }
    if inp.out_stats:
        write_rows([row], EXTRACT_COLUMNS, inp.out_stats)
    return row


@dataclass(frozen=True)
class AlignInputs:
    """Extracted reads (FASTQ, UMI in the name) to a sorted, indexed BAM with the UMI in
    RX, ready for `ch-consensus --umi rx`."""

    sample: str
    fastq: str
    fasta: str
    out_bam: str
    out_stats: str | None = None


ALIGN_COLUMNS = ["sample", "reads", "aligned", "unaligned"]


def align_step(inp: AlignInputs) -> dict:
    """Aligns (minimap2 via mappy) and writes the BAM; returns the counts."""
    from marrowtox.ch.align import align_reads

    counts = align_reads(read_extracted(inp.fastq), inp.fasta, inp.out_bam, inp.sample)
    row = {"sample": inp.sample, "reads": counts["aligned"] + counts["unaligned"], **counts}
    if inp.out_stats:
        write_rows([row], ALIGN_COLUMNS, inp.out_stats)
    return row
