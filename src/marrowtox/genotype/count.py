"""Per-cell UMI counts of the reference and alternative allele at each site.

Reads are pulled per site through the BAM index (htslib region queries), never by
scanning the whole BAM: a marrow sample has hundreds of millions of reads and a few
dozen sites. Read rules, and why:

- secondary, supplementary, QC-fail and unmapped reads are skipped; reads flagged
  duplicate are KEPT, since Cell Ranger marks every read of a UMI but one as a
  duplicate and the UMI collapse below is what removes PCR copies;
- reads without a corrected barcode (CB) or UMI (UB) are skipped and counted in the
  stats: their cell is unknown, or their PCR copies cannot be merged;
- a read's allele is read off its CIGAR as the aligner wrote it, never realigned: a base
  for an SNV; for an indel, the exact event right after the anchor base (a D of the
  site's length, or an I of its sequence). A read spliced across the site (CIGAR N)
  does not cover it; a read that covers it with anything else is "other";
- the allele of a UMI is the majority of its reads; a tie is "other", because a UMI
  whose reads disagree evenly is more likely a PCR or sequencing chimera than evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from marrowtox.errors import InputError
from marrowtox.genotype.sites import Site

if TYPE_CHECKING:
    import pandas as pd
    import pysam

COLUMNS = ["variant", "barcode", "ref_umis", "alt_umis", "other_umis"]
#: unmapped, secondary, QC-fail, supplementary; not duplicate (0x400), see the docstring.
FLAG_SKIP = 0x4 | 0x100 | 0x200 | 0x800
REF, ALT, OTHER = 0, 1, 2
#: returned by the allele readers for a covering read whose deciding bases are too poor.
LOW_QUALITY = -1
#: Reads inspected for CB/UB tags before counting: enough to see tags in any 10x BAM,
#: few enough to cost nothing.
TAG_CHECK_READS = 1000
CELL_TAG, UMI_TAG = "CB", "UB"
RAW_TAGS = {"CB": "CR", "UB": "UR"}
# CIGAR operations (SAM spec numbering, as pysam's cigartuples)
_M, _I, _D, _N, _S, _EQ, _X = 0, 1, 2, 3, 4, 7, 8
_ALIGNED = (_M, _EQ, _X)
STAT_KEYS = (
    "reads",
    "skipped_flag",
    "low_mapq",
    "no_cell_barcode",
    "not_in_cells",
    "no_umi",
    "not_covering",
    "low_base_quality",
    "counted",
)


@dataclass(frozen=True)
class GenotypeParams:
    """Settings of clone-to-cell genotyping (counting and carrier calls); defaults and
    descriptions in the schema (singlecell.genotype), read by `from_config`.

    MAPQ 20 and base quality 20 as the bulk CH caller (MAPQ 20 keeps STAR's unique
    alignments, 255, and drops its multi-mappers, <= 3); `min_cells`, `alpha`,
    `error_floor`, `prior_umis` and `mutant_allele_fraction` are explained in
    marrowtox.genotype.carriers.
    """

    min_mapq: int = 20
    min_base_quality: int = 20
    min_cells: int = 10
    alpha: float = 0.001
    error_floor: float = 0.01
    prior_umis: float = 100.0
    mutant_allele_fraction: float = 0.5

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None = None) -> GenotypeParams:
        """Settings of the `singlecell.genotype` section; missing keys take the schema's
        defaults. Unknown keys are an error (the schema refuses them in the workflow)."""
        from marrowtox.settings import section_defaults

        config = dict(config or {})
        known = {f.name for f in fields(cls)}
        schema = section_defaults("singlecell", "genotype")
        unknown = sorted(set(config) - known - set(schema))
        if unknown:
            raise InputError(
                f"unknown genotype setting(s) {', '.join(unknown)}",
                expected=f"one of {', '.join(sorted(known))}",
            )
        values = {**schema, **{k: v for k, v in config.items() if v is not None}}
        return cls(**{k: values[k] for k in known})


def check_bam(bam_path: str | Path, tag_reads: int = TAG_CHECK_READS) -> dict[str, int]:
    """Contig lengths of an indexed BAM whose reads carry CB and UB tags.

    Checked before counting so that a wrong file fails in a second with a message, not
    after an hour with an empty table.
    """
    from marrowtox.ch.pileup import open_indexed_bam

    hint = "a coordinate-sorted BAM with its .bai (samtools sort; samtools index)"
    with open_indexed_bam(bam_path, hint) as bam:
        contigs = dict(zip(bam.references, bam.lengths, strict=True))
        seen = {tag: 0 for tag in (CELL_TAG, UMI_TAG, *RAW_TAGS.values())}
        n = 0
        for read in bam.fetch(until_eof=True):
            for tag in seen:
                if read.has_tag(tag):
                    seen[tag] += 1
            n += 1
            if n >= tag_reads:
                break
    for tag, what in ((CELL_TAG, "cell barcode"), (UMI_TAG, "UMI")):
        if n and not seen[tag]:
            raw = RAW_TAGS[tag]
            hint = f"; only the uncorrected {raw} tag is present" if seen[raw] else ""
            raise InputError(
                f"no {tag} ({what}) tag in the first {n} reads{hint}",
                file=bam_path,
                expected=f"a Cell Ranger style BAM with corrected {CELL_TAG} and {UMI_TAG} tags",
            )
    return contigs


def check_sites(sites: Sequence[Site], contigs: Mapping[str, int], source: str | Path) -> None:
    """Every site's contig must be in the BAM header and its position inside the contig."""
    from marrowtox.ch.pileup import chr_prefix_hint

    missing = sorted({s.contig for s in sites if s.contig not in contigs})
    if missing:
        shown, more = list(contigs)[:5], ", ..." if len(contigs) > 5 else ""
        hints = "".join(chr_prefix_hint(c, contigs) for c in missing)
        fix = (
            "; rename the sites' contigs to the BAM's (e.g. bcftools annotate --rename-chrs)"
            if hints
            else ""
        )
        raise InputError(
            f"site contig(s) {', '.join(repr(c) for c in missing)} not in the BAM header"
            f"{hints}{fix}",
            file=source,
            expected=f"contigs of the BAM ({', '.join(shown)}{more})",
        )
    for s in sites:
        if s.pos + len(s.ref) > contigs[s.contig]:
            raise InputError(
                f"site {s.variant} at {s.contig}:{s.pos + 1} is beyond the contig's end "
                f"({contigs[s.contig]} bp in the BAM)",
                file=source,
                expected="sites on the BAM's reference build",
            )


def _snv_allele(read: pysam.AlignedSegment, site: Site, min_bq: int) -> int | None:
    """Allele of a read at an SNV: the aligned base, or OTHER for a deletion there."""
    pos = site.pos
    rpos = read.reference_start
    qpos = 0
    for op, length in read.cigartuples:
        if op in _ALIGNED:
            if pos < rpos + length:
                q = qpos + pos - rpos
                quals = read.query_qualities
                if quals is None or quals[q] < min_bq:
                    return LOW_QUALITY
                base = read.query_sequence[q]
                return REF if base == site.ref else ALT if base == site.alt else OTHER
            rpos += length
            qpos += length
        elif op == _I or op == _S:
            qpos += length
        elif op == _D:
            if pos < rpos + length:
                return OTHER
            rpos += length
        elif op == _N:
            if pos < rpos + length:
                return None
            rpos += length
    return None


def _indel_allele(read: pysam.AlignedSegment, site: Site, min_bq: int) -> int | None:
    """Allele of a read at an anchored indel, from the CIGAR over [anchor, first base after].

    A read informs the site only when it aligns on both sides of the event (the anchor
    and the first reference base after the deleted bases, or after the anchor for an
    insertion), since a read ending inside cannot tell the alleles apart; the decisive
    bases (those two, and the inserted bases of an insertion) must pass `min_bq`.
    """
    p = site.pos
    last = p + site.deleted + 1
    if read.reference_start > p or (read.reference_end or 0) <= last:
        return None
    aligned: dict[int, int] = {}  # reference position -> query position, inside the window
    events: list[tuple[int, int, int, int]] = []  # (op, reference position, length, qpos)
    rpos = read.reference_start
    qpos = 0
    for op, length in read.cigartuples:
        if rpos > last:
            break
        if op in _ALIGNED:
            for r in range(max(rpos, p), min(rpos + length, last + 1)):
                aligned[r] = qpos + r - rpos
            rpos += length
            qpos += length
        elif op == _I:
            if p <= rpos - 1 < last:
                events.append((_I, rpos - 1, length, qpos))
            qpos += length
        elif op == _S:
            qpos += length
        elif op == _D or op == _N:
            if rpos <= last and rpos + length > p:
                if op == _N:
                    return None  # spliced across the site: it does not cover it
                events.append((_D, rpos, length, qpos))
            rpos += length
    if p not in aligned or last not in aligned:
        return OTHER  # the anchor or the base after the event is itself deleted
    quals = read.query_qualities
    if quals is None or quals[aligned[p]] < min_bq or quals[aligned[last]] < min_bq:
        return LOW_QUALITY
    if not events:
        return REF
    if len(events) == 1:
        op, at, length, q = events[0]
        if site.kind == "del" and op == _D and at == p + 1 and length == site.deleted:
            return ALT
        if site.kind == "ins" and op == _I and at == p and length == len(site.inserted):
            if read.query_sequence[q : q + length].upper() != site.inserted:
                return OTHER
            if min(quals[q : q + length]) < min_bq:
                return LOW_QUALITY
            return ALT
    return OTHER


def _umi_allele(reads: list[int]) -> int:
    """Majority allele of one UMI's reads; ties (unless unanimous) are OTHER."""
    top = max(reads)
    if reads.count(top) > 1:
        return OTHER
    return reads.index(top)


def _count_site(
    bam: pysam.AlignmentFile,
    site: Site,
    cells: frozenset[str],
    params: GenotypeParams,
    tally: dict[str, int],
) -> dict[str, list[int]]:
    """[ref, alt, other] UMIs per cell at one site. The hot loop of the module: skip
    reasons go to `tally` (rare), the common path touches no counter."""
    allele_of = _snv_allele if site.kind == "snv" else _indel_allele
    min_mapq, min_bq = params.min_mapq, params.min_base_quality
    umis: defaultdict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    n = 0
    for read in bam.fetch(site.contig, site.pos, site.pos + 1):
        n += 1
        if read.flag & FLAG_SKIP:
            tally["skipped_flag"] += 1
            continue
        if read.mapping_quality < min_mapq:
            tally["low_mapq"] += 1
            continue
        try:
            cb = read.get_tag(CELL_TAG)
        except KeyError:
            tally["no_cell_barcode"] += 1
            continue
        if cb not in cells:
            tally["not_in_cells"] += 1
            continue
        try:
            ub = read.get_tag(UMI_TAG)
        except KeyError:
            tally["no_umi"] += 1
            continue
        allele = allele_of(read, site, min_bq)
        if allele is None:
            tally["not_covering"] += 1
        elif allele == LOW_QUALITY:
            tally["low_base_quality"] += 1
        else:
            umis[cb, ub][allele] += 1
    tally["reads"] += n
    per_cell: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (cb, _), reads in umis.items():
        per_cell[cb][_umi_allele(reads)] += 1
        tally["counted"] += sum(reads)
    return per_cell


def count_sites(
    bam_path: str | Path,
    sites: Sequence[Site],
    cells: Iterable[str],
    params: GenotypeParams | None = None,
    stats: dict[str, int] | None = None,
) -> pd.DataFrame:
    """Long table (COLUMNS) of UMI counts per site and cell, for cells with >= 1 UMI there,
    sorted by variant then barcode.

    `stats`, when given, receives read counts per STAT_KEYS (summed over sites, so a read
    covering two sites counts twice): what was skipped and why, for the log.
    """
    import pandas as pd
    import pysam

    params = params or GenotypeParams()
    cell_set = frozenset(cells)
    ids = [s.variant for s in sites]
    if len(set(ids)) != len(ids):
        raise ValueError("variant ids must be unique (use sites.merge_sites)")
    tally = dict.fromkeys(STAT_KEYS, 0)
    rows: list[tuple[str, str, int, int, int]] = []
    with pysam.AlignmentFile(str(bam_path), "rb") as bam:
        for site in sites:
            per_cell = _count_site(bam, site, cell_set, params, tally)
            rows += [(site.variant, cb, c[REF], c[ALT], c[OTHER]) for cb, c in per_cell.items()]
    if stats is not None:
        for k, v in tally.items():
            stats[k] = stats.get(k, 0) + v
    df = pd.DataFrame(rows, columns=COLUMNS)
    for col in COLUMNS[2:]:
        df[col] = df[col].astype("int64")
    return df.sort_values(["variant", "barcode"], kind="stable", ignore_index=True)


def write_counts(df: pd.DataFrame, path: str | Path) -> None:
    """Atomic TSV: a rerun after an interruption never sees half a table."""
    from marrowtox.atomic import write_tsv

    write_tsv(df[COLUMNS], path)
