"""The sites to genotype in single cells: CH calls of the panel, or any VCF.

Sites keep VCF conventions (anchored indels, REF/ALT as written) because both inputs use
them, and because reads are never realigned: an indel is recognised only where the
aligner put it, so sites should be left-normalised (bcftools norm) as aligners place
indels leftmost. Variant ids become AnnData keys (`geno_<gene>_<protein>`) and file
names, so they never contain '/' and are unique within one list of sites.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from marrowtox.errors import InputError, data_row

log = logging.getLogger(__name__)

KINDS = ("snv", "ins", "del")
#: Calls-table classes of curated clonal hematopoiesis (marrowtox.ch.chip.classify).
CH_CLASSES = ("CHIP", "low-VAF CH")
#: Characters kept in ids; anything else (notably '/', whitespace, ';') becomes '_'.
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9_.:>*=+-]")
_NUCLEOTIDES = frozenset("ACGTN")
CALLS_REQUIRED = ("chrom", "pos", "ref", "alt")


@dataclass(frozen=True)
class Site:
    """One allele to genotype.

    `pos` is 0-based: the substituted base of an SNV, the anchor base (the one before the
    event) of an insertion or deletion, so `pos + 1` is the VCF POS.
    """

    variant: str
    contig: str
    pos: int
    ref: str
    alt: str
    gene: str = ""
    protein: str = ""
    kind: str = "snv"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"site kind {self.kind!r} not in {KINDS}")
        if "/" in self.variant:
            raise ValueError(f"variant id {self.variant!r} contains '/'")

    @property
    def key(self) -> tuple[str, int, str, str]:
        return (self.contig, self.pos, self.ref, self.alt)

    @property
    def inserted(self) -> str:
        """Inserted sequence of an insertion ('' otherwise)."""
        return self.alt[1:] if self.kind == "ins" else ""

    @property
    def deleted(self) -> int:
        """Number of deleted bases of a deletion (0 otherwise)."""
        return len(self.ref) - 1 if self.kind == "del" else 0


def genomic_id(contig: str, pos0: int, ref: str, alt: str) -> str:
    return safe_id(f"{contig}:{pos0 + 1}:{ref}>{alt}")


def safe_id(text: str) -> str:
    return _ID_UNSAFE.sub("_", text.strip())


def short_protein(hgvsp: str) -> str:
    """'p.Arg882His' or 'p.R882H' -> 'R882H' (three-letter codes to one-letter), so the same
    variant has the same id whether it comes from the calls table or the VCF INFO."""
    from marrowtox.ch.annotate import THREE

    text = hgvsp.strip().removeprefix("p.")
    if not text or text in {".", "?"}:
        return ""
    one = {v: k for k, v in THREE.items()}
    return re.sub("|".join(one), lambda m: one[m.group(0)], text)


def classify_alleles(pos0: int, ref: str, alt: str) -> tuple[int, str, str, str] | None:
    """Trim shared bases beyond the anchor; (pos0, ref, alt, kind) or None for MNVs,
    complex and symbolic alleles, which a CIGAR cannot express as one event."""
    ref, alt = ref.upper(), alt.upper()
    if not ref or not alt or not set(ref + alt) <= _NUCLEOTIDES:
        return None
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos0 = ref[1:], alt[1:], pos0 + 1
    if len(ref) == len(alt) == 1:
        return (pos0, ref, alt, "snv") if ref != alt else None
    if len(ref) == 1 and alt[0] == ref:
        return pos0, ref, alt, "ins"
    if len(alt) == 1 and ref[0] == alt:
        return pos0, ref, alt, "del"
    return None


def _unique_ids(sites: list[Site]) -> list[Site]:
    """Gene_protein ids can collide (two frameshifts at one codon, two transcripts' worth of
    names): colliding sites get the genomic id appended, so every id names one site."""
    seen: dict[str, int] = {}
    for s in sites:
        seen[s.variant] = seen.get(s.variant, 0) + 1
    out = []
    for s in sites:
        if seen[s.variant] > 1:
            vid = f"{s.variant}_{genomic_id(s.contig, s.pos, s.ref, s.alt)}"
            s = Site(vid, s.contig, s.pos, s.ref, s.alt, s.gene, s.protein, s.kind)
        out.append(s)
    return out


def make_site(
    contig: str, pos0: int, ref: str, alt: str, gene: str = "", protein: str = "", name: str = ""
) -> Site | None:
    """A Site with its id: gene_protein when both are known, else `name`, else genomic."""
    norm = classify_alleles(pos0, ref, alt)
    if norm is None:
        return None
    p, r, a, kind = norm
    gene, protein = safe_id(gene), safe_id(short_protein(protein))
    if gene and protein:
        vid = f"{gene}_{protein}"
    elif name:
        vid = safe_id(name)
    else:
        vid = genomic_id(contig, p, r, a)
    return Site(vid, contig, p, r, a, gene, protein, kind)


def merge_sites(groups: Iterable[Iterable[Site]]) -> list[Site]:
    """One site per (contig, pos, ref, alt), first occurrence kept; sorted by position so
    the output order does not depend on the order of the input files."""
    by_key: dict[tuple[str, int, str, str], Site] = {}
    for group in groups:
        for s in group:
            by_key.setdefault(s.key, s)
    return _unique_ids(sorted(by_key.values(), key=lambda s: (s.key, s.variant)))


def sites_from_vcf(path: str | Path) -> list[Site]:
    """Every SNV and indel ALT of a VCF (MNV, complex and symbolic alleles are skipped and
    logged). Gene and protein come from INFO GENE/HGVSP (as `marrowtox ch-call` writes),
    else the ID column names the site, else its coordinates do."""
    import pysam

    try:
        vf = pysam.VariantFile(str(path))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read VCF ({exc})", file=path, expected="a VCF or BCF") from None
    info = set(vf.header.info)
    gene_key = next((k for k in ("GENE", "Gene", "gene") if k in info), None)
    prot_key = next((k for k in ("HGVSP", "HGVSp", "hgvsp", "PROTEIN") if k in info), None)
    out: list[Site] = []
    skipped = 0
    with vf:
        for rec in vf:
            gene = str(rec.info.get(gene_key) or "") if gene_key else ""
            prot = str(rec.info.get(prot_key) or "") if prot_key else ""
            name = rec.id if rec.id and rec.id != "." else ""
            for alt in rec.alts or ():
                site = make_site(rec.chrom, rec.start, rec.ref or "", alt, gene, prot, name)
                if site is None:
                    skipped += 1
                    continue
                out.append(site)
    if skipped:
        log.warning("%s: %d ALT alleles skipped (not an SNV or a simple indel)", path, skipped)
    return merge_sites([out])


def _read_calls(path: str | Path) -> list[dict[str, str]]:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh, delimiter="\t")
            rows = list(reader)
            columns = reader.fieldnames or []
    except OSError as exc:
        raise InputError(f"cannot read calls table ({exc})", file=path) from None
    for col in (*CALLS_REQUIRED, "filter"):
        if col not in columns:
            raise InputError(
                "calls table lacks a column",
                file=path,
                column=col,
                expected="a marrowtox ch-call calls.tsv (chrom, pos, ref, alt, gene, "
                "hgvsp_short, filter, chip)",
            )
    return rows


def sites_from_calls(
    paths: Sequence[str | Path],
    filters: Sequence[str] = ("PASS",),
    chip_classes: Sequence[str] | None = CH_CLASSES,
) -> list[Site]:
    """CH clones of any timepoint from `marrowtox ch-call` calls tables, de-duplicated.

    A row is kept when every token of its FILTER is in `filters` and, unless
    `chip_classes` is None, its `chip` class is one of them. The defaults select what
    clone tracking selects (CHIP and low-VAF CH, both PASS by construction). Rows that
    fail only `low_vaf` never get a CH class in ch-call; to genotype such sub-threshold
    candidates too, pass filters=("PASS", "low_vaf") and chip_classes=None.
    """
    allowed = set(filters)
    out: list[Site] = []
    for path in paths:
        for i, row in enumerate(_read_calls(path)):
            tokens = set((row.get("filter") or "").split(";"))
            if not tokens <= allowed:
                continue
            if chip_classes is not None and (row.get("chip") or "") not in chip_classes:
                continue
            try:
                pos1 = int(row["pos"])
            except (TypeError, ValueError):
                raise InputError(
                    "pos is not an integer",
                    file=path,
                    row=data_row(i),
                    column="pos",
                    expected="1-based VCF position",
                ) from None
            protein = row.get("hgvsp_short") or row.get("protein") or row.get("hgvsp") or ""
            site = make_site(
                row["chrom"], pos1 - 1, row["ref"], row["alt"], row.get("gene") or "", protein
            )
            if site is None:
                raise InputError(
                    f"alleles {row['ref']}>{row['alt']} are not an SNV or a simple indel",
                    file=path,
                    row=data_row(i),
                    column="alt",
                    expected="VCF-style REF/ALT",
                )
            out.append(site)
    return merge_sites([out])
