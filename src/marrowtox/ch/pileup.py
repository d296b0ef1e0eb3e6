"""Strand-resolved allele counts over panel targets with pysam.

Read filters follow published CH pipelines: duplicates, secondary, supplementary,
QC-fail and unmapped reads are dropped (flag filter 0xF04), bases below a base
quality and reads below a mapping quality are ignored, and overlapping mates are
counted once (pysam's ignore_overlaps, which zeroes the quality of the second mate's
base so the base-quality filter drops it).

Speed: htslib's pileup engine walks the reads; per column pysam returns the read
bases as strings (case = strand, indels appended) and `collections.Counter` tallies
them in C, so Python touches only the handful of distinct alleles per column, never
each read. The result is a dense numpy array (position x base x strand) plus a short
list of indel alleles, from which the background model and the candidates are
computed with array operations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam

from marrowtox.errors import InputError

FLAG_FILTER = 0x4 | 0x100 | 0x200 | 0x400 | 0x800
BASES = "ACGT"
BASE_INDEX = {b: i for i, b in enumerate(BASES)}
#: ASCII codes of forward (upper case) and reverse (lower case) bases, as a 4 x 2 index.
_SNV_CODES = np.array([[ord(b), ord(b.lower())] for b in BASES])
#: Deleted-base markers of pysam's get_query_sequences (forward, reverse).
_DEL_CODES = np.array([ord("*"), ord("#")])


@dataclass(frozen=True)
class PileupParams:
    min_base_quality: int = 20
    min_mapping_quality: int = 20
    max_depth: int = 200000


@dataclass
class Pileup:
    """Counts of one sample over the panel: one row per reference position.

    `snv[i, b, s]` counts base b (A, C, G, T) on strand s (0 forward, 1 reverse) at row
    i; `indels` holds (row, allele, forward, reverse) with alleles "-<n>" (deletion of
    the next n bases) and "+<SEQ>" (insertion after this base), anchored VCF-style.
    `depth` counts every read covering the position, deleted bases included.
    """

    chrom: list[str] = field(default_factory=list)
    pos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ref: np.ndarray = field(default_factory=lambda: np.zeros(0, "<U1"))
    target: list[str] = field(default_factory=list)
    depth: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    snv: np.ndarray = field(default_factory=lambda: np.zeros((0, 4, 2), np.int64))
    indels: list[tuple[int, str, int, int]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.pos)


@dataclass
class Alleles:
    """Non-reference alleles seen at least `min_alt` times (column arrays, one per allele)."""

    row: np.ndarray
    allele: list[str]
    alt_fwd: np.ndarray
    alt_rev: np.ndarray
    ref_fwd: np.ndarray
    ref_rev: np.ndarray

    @property
    def alt_count(self) -> np.ndarray:
        return self.alt_fwd + self.alt_rev

    def __len__(self) -> int:
        return len(self.row)


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


def chr_prefix_hint(name: str, names: Iterable[str]) -> str:
    """' ('2' exists: chr-prefix mismatch)' when `name` exists with the other convention."""
    alt = name[3:] if name.startswith("chr") else "chr" + name
    return f" ('{alt}' exists: chr-prefix mismatch)" if alt in set(names) else ""


def open_indexed_bam(
    bam_path: str | Path, index_hint: str = "a .bai next to the BAM (samtools index)"
) -> pysam.AlignmentFile:
    """An open, indexed BAM, or an InputError naming the file (unreadable or no index);
    shared by the CH caller and the per-cell genotyper."""
    try:
        bam = pysam.AlignmentFile(str(bam_path), "rb")
    except (OSError, ValueError) as exc:
        raise InputError(
            f"cannot read BAM ({exc})", file=bam_path, expected="a BGZF-compressed BAM"
        ) from None
    if not bam.has_index():
        bam.close()
        raise InputError("BAM has no index", file=bam_path, expected=index_hint)
    return bam


def check_inputs(bam_path: str, fasta_path: str, targets: list[tuple[str, int, int, str]]) -> None:
    """Contig names must agree between BAM, FASTA and BED (incl. chr prefixes)."""
    with open_indexed_bam(bam_path) as bam:
        bam_contigs = set(bam.references)
    fa_contigs = set(pysam.FastaFile(fasta_path).references)
    for chrom, _, _, name in targets:
        for what, contigs, path in (
            ("BAM", bam_contigs, bam_path),
            ("FASTA", fa_contigs, fasta_path),
        ):
            if chrom not in contigs:
                raise InputError(
                    f"target {name} on contig {chrom!r} not in the {what}"
                    f"{chr_prefix_hint(chrom, contigs)}",
                    file=path,
                    expected="the same contig names in BAM, FASTA, GTF and BED",
                )


def _tally(counts: Counter, snv: np.ndarray, indels: dict[str, list[int]]) -> int:
    """Fold one column's distinct read strings into `snv` (4 x 2) and `indels`; return depth."""
    depth = 0
    for s, n in counts.items():
        if not s:
            continue
        b = s[0]
        if b in "*#":
            depth += n  # a base deleted in this read: its deletion is counted at the anchor
            continue
        bu = b.upper()
        if bu not in BASE_INDEX:
            continue
        strand = 1 if b.islower() else 0
        depth += n
        snv[BASE_INDEX[bu], strand] += n
        if len(s) > 1 and s[1] in "+-":
            k = 2
            while k < len(s) and s[k].isdigit():
                k += 1
            m = int(s[2:k])
            allele = f"-{m}" if s[1] == "-" else "+" + s[k : k + m].upper()
            indels.setdefault(allele, [0, 0])[strand] += n
    return depth


def count_regions(
    bam: pysam.AlignmentFile,
    fasta: pysam.FastaFile,
    regions: list[tuple[str, int, int, str]],
    params: PileupParams,
) -> Pileup:
    """Pileup counts over `regions` (0-based half-open); a position is counted once even
    when targets overlap."""
    chroms: list[str] = []
    targets: list[str] = []
    pos: list[int] = []
    ref: list[str] = []
    depth: list[int] = []
    snv_rows: list[np.ndarray] = []
    indels: list[tuple[int, str, int, int]] = []
    seen: set[tuple[str, int]] = set()
    for chrom, start, end, name in regions:
        ref_seq = fasta.fetch(chrom, start, end).upper()
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
            p = col.reference_pos
            if (chrom, p) in seen:
                continue
            seen.add((chrom, p))
            seqs = col.get_query_sequences(mark_matches=False, mark_ends=False, add_indels=True)
            joined = "".join(seqs)
            ind: dict[str, list[int]] = {}
            if "+" in joined or "-" in joined:
                snv = np.zeros((4, 2), np.int64)
                d = _tally(Counter(seqs), snv, ind)
            else:  # no indel in this column (most): one byte per read, counted by numpy
                hist = np.bincount(np.frombuffer(joined.encode("ascii"), np.uint8), minlength=128)
                snv = hist[_SNV_CODES]
                d = int(snv.sum() + hist[_DEL_CODES].sum())
            row = len(pos)
            for allele, (f, r) in ind.items():
                indels.append((row, allele, f, r))
            chroms.append(chrom)
            targets.append(name)
            pos.append(p)
            ref.append(ref_seq[p - start])
            depth.append(d)
            snv_rows.append(snv)
    return Pileup(
        chrom=chroms,
        pos=np.asarray(pos, np.int64),
        ref=np.asarray(ref, "<U1"),
        target=targets,
        depth=np.asarray(depth, np.int64),
        snv=np.stack(snv_rows) if snv_rows else np.zeros((0, 4, 2), np.int64),
        indels=indels,
    )


def pileup_targets(
    bam_path: str, fasta_path: str, targets: list[tuple[str, int, int, str]], params: PileupParams
) -> Pileup:
    with pysam.AlignmentFile(bam_path, "rb") as bam, pysam.FastaFile(fasta_path) as fasta:
        return count_regions(bam, fasta, targets, params)


def _ref_index(pile: Pileup) -> np.ndarray:
    """Column of each row's reference base in `snv` (-1 where the reference is N)."""
    return np.array([BASE_INDEX.get(b, -1) for b in pile.ref], np.int64)


def ref_counts(pile: Pileup, idx: np.ndarray | None = None) -> np.ndarray:
    """(n, 2) forward/reverse counts of the reference base (0 where the reference is N)."""
    idx = _ref_index(pile) if idx is None else idx
    out = np.zeros((len(pile), 2), np.int64)
    ok = idx >= 0
    out[ok] = pile.snv[np.flatnonzero(ok), idx[ok]]
    return out


def alleles(pile: Pileup, min_alt: int = 1) -> Alleles:
    """Every non-reference allele with at least `min_alt` reads, SNVs then indels per row,
    ordered by row and allele (A, C, G, T, then indels sorted as strings)."""
    idx = _ref_index(pile)
    refc = ref_counts(pile, idx)
    tot = pile.snv.sum(axis=2)  # n x 4
    is_ref = np.zeros_like(tot, dtype=bool)
    ok = idx >= 0
    is_ref[np.flatnonzero(ok), idx[ok]] = True
    r, b = np.nonzero((tot >= max(min_alt, 1)) & ~is_ref)
    keys = [
        (int(i), BASES[j], int(pile.snv[i, j, 0]), int(pile.snv[i, j, 1]))
        for i, j in zip(r, b, strict=True)
    ]
    keys += [k for k in pile.indels if k[2] + k[3] >= max(min_alt, 1)]
    keys.sort(key=lambda k: (k[0], k[1]))
    rows = np.array([k[0] for k in keys], np.int64)
    return Alleles(
        row=rows,
        allele=[k[1] for k in keys],
        alt_fwd=np.array([k[2] for k in keys], np.int64),
        alt_rev=np.array([k[3] for k in keys], np.int64),
        ref_fwd=refc[rows, 0] if len(rows) else np.zeros(0, np.int64),
        ref_rev=refc[rows, 1] if len(rows) else np.zeros(0, np.int64),
    )
