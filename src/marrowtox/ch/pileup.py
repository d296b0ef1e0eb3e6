"""Strand-resolved allele counts over panel targets with pysam.

Read filters follow published CH pipelines: duplicates, secondary, supplementary,
QC-fail and unmapped reads are dropped (flag filter 0xF04), bases below a base
quality and reads below a mapping quality are ignored, and overlapping mates are
counted once (pysam's ignore_overlaps, which zeroes the quality of the second mate's
base so the base-quality filter drops it). Counting runs in htslib's pileup engine;
Python only tallies the per-column strings (no per-read loop).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pysam

from marrowtox.errors import InputError

FLAG_FILTER = 0x4 | 0x100 | 0x200 | 0x400 | 0x800


@dataclass(frozen=True)
class PileupParams:
    min_base_quality: int = 20
    min_mapping_quality: int = 20
    max_depth: int = 200000


def read_bed(path: str) -> list[tuple[str, int, int, str]]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip() or line.startswith(("#", "track", "browser")):
                continue
            f = line.rstrip("\n").split("\t")
            try:
                chrom, s, e = f[0], int(f[1]), int(f[2])
            except (IndexError, ValueError):
                raise InputError(
                    "malformed BED line", file=path, row=n, expected="chrom<TAB>start<TAB>end"
                ) from None
            if e <= s:
                raise InputError("BED interval end <= start", file=path, row=n, column="end")
            out.append((chrom, s, e, f[3] if len(f) > 3 else f"{chrom}:{s}-{e}"))
    if not out:
        raise InputError("BED has no intervals", file=path, expected="at least one target")
    return out


def check_inputs(bam_path: str, fasta_path: str, targets: list[tuple[str, int, int, str]]) -> None:
    """Contig names must agree between BAM, FASTA and BED (incl. chr prefixes)."""
    with pysam.AlignmentFile(bam_path, "rb") as bam:
        if not bam.has_index():
            raise InputError(
                "BAM has no index",
                file=bam_path,
                expected="a .bai next to the BAM (samtools index)",
            )
        bam_contigs = set(bam.references)
    fa_contigs = set(pysam.FastaFile(fasta_path).references)
    for chrom, _, _, name in targets:
        for what, contigs, path in (
            ("BAM", bam_contigs, bam_path),
            ("FASTA", fa_contigs, fasta_path),
        ):
            if chrom not in contigs:
                alt = chrom[3:] if chrom.startswith("chr") else "chr" + chrom
                hint = f" ('{alt}' exists: chr-prefix mismatch)" if alt in contigs else ""
                raise InputError(
                    f"target {name} on contig {chrom!r} not in the {what}{hint}",
                    file=path,
                    expected="the same contig names in BAM, FASTA, GTF and BED",
                )


def count_region(
    bam: pysam.AlignmentFile,
    fasta: pysam.FastaFile,
    chrom: str,
    start: int,
    end: int,
    params: PileupParams,
) -> pd.DataFrame:
    """One row per position: ref, depth, and per-allele forward/reverse counts.

    Alleles: A/C/G/T for SNVs, "-<n>" deletion of the next n bases, "+<SEQ>" insertion
    after this base (VCF-style anchoring on this position).
    """
    ref_seq = fasta.fetch(chrom, start, end).upper()
    rows = []
    for col in bam.pileup(
        chrom,
        start,
        end,
        truncate=True,
        stepper="nofilter",
        flag_filter=FLAG_FILTER,
        min_base_quality=params.min_base_quality,
        min_mapping_quality=params.min_mapping_quality,
        ignore_overlaps=True,
        ignore_orphans=False,
        max_depth=params.max_depth,
    ):
        seqs = col.get_query_sequences(mark_matches=False, mark_ends=False, add_indels=True)
        counts: Counter = Counter()
        depth = 0
        for s in seqs:
            if not s:
                continue
            b = s[0]
            fwd = not (b.islower() or b in "#,<")
            if b in "*#":
                depth += 1  # a base deleted in this read: counted at its anchor
                continue
            if b.upper() not in "ACGT":
                continue
            depth += 1
            counts[(b.upper(), fwd)] += 1
            if len(s) > 1 and s[1] in "+-":
                k = 2
                while k < len(s) and s[k].isdigit():
                    k += 1
                n = int(s[2:k])
                allele = f"-{n}" if s[1] == "-" else "+" + s[k : k + n].upper()
                counts[(allele, fwd)] += 1
        pos = col.reference_pos
        ref = ref_seq[pos - start]
        rows.append((chrom, pos, ref, depth, dict(counts)))
    return pd.DataFrame(rows, columns=["chrom", "pos", "ref", "depth", "counts"])


def allele_table(pile: pd.DataFrame) -> pd.DataFrame:
    """Long table of non-reference alleles: chrom, pos, ref, allele, depth, alt_fwd, alt_rev,
    ref_fwd, ref_rev."""
    out = []
    for chrom, pos, ref, depth, counts in pile[
        ["chrom", "pos", "ref", "depth", "counts"]
    ].itertuples(index=False):
        ref_f, ref_r = counts.get((ref, True), 0), counts.get((ref, False), 0)
        alleles = {a for a, _ in counts if a != ref}
        for a in sorted(alleles):
            out.append(
                (
                    chrom,
                    pos,
                    ref,
                    a,
                    depth,
                    counts.get((a, True), 0),
                    counts.get((a, False), 0),
                    ref_f,
                    ref_r,
                )
            )
    df = pd.DataFrame(
        out,
        columns=[
            "chrom",
            "pos",
            "ref",
            "allele",
            "depth",
            "alt_fwd",
            "alt_rev",
            "ref_fwd",
            "ref_rev",
        ],
    )
    df["alt_count"] = df["alt_fwd"] + df["alt_rev"]
    return df


def pileup_targets(
    bam_path: str, fasta_path: str, targets: list[tuple[str, int, int, str]], params: PileupParams
) -> pd.DataFrame:
    frames = []
    with pysam.AlignmentFile(bam_path, "rb") as bam:
        fasta = pysam.FastaFile(fasta_path)
        for chrom, s, e, name in targets:
            df = count_region(bam, fasta, chrom, s, e, params)
            df["target"] = name
            frames.append(df)
    pile = pd.concat(frames, ignore_index=True)
    return pile.drop_duplicates(["chrom", "pos"]).reset_index(drop=True)


def depth_array(pile: pd.DataFrame) -> np.ndarray:
    return pile["depth"].to_numpy()
