"""Annotate any caller's VCF with consequences, HGVS and CHIP rules (`marrowtox ch-annotate`).

Lets a lab that already calls variants (Mutect2, VarDict, bcftools) use the same
canonical-transcript annotation and CHIP curation as `ch-call`, without a VEP cache.
The CHIP label here needs a VAF: taken from FORMAT/AF of the first sample, else
AD; without either the call is annotated and its matching rule named, but not
labelled CHIP ("vaf" left empty: not measured, not invented).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pysam

from marrowtox.ch.annotate import annotate, read_gtf
from marrowtox.ch.chip import classify, load_rules, match
from marrowtox.errors import InputError

COLUMNS = [
    "chrom",
    "pos",
    "ref",
    "alt",
    "filter",
    "gene",
    "transcript",
    "hgvsc",
    "hgvsp",
    "hgvsp_short",
    "consequence",
    "exon",
    "vaf",
    "chip",
    "chip_rule",
]


def _vaf(rec: pysam.VariantRecord, alt_index: int) -> float | None:
    if not rec.samples:
        return None
    s = rec.samples[0]
    af = s.get("AF") if "AF" in rec.format else None
    if af is not None and af[alt_index] is not None:
        return float(af[alt_index])
    ad = s.get("AD") if "AD" in rec.format else None
    if ad is not None and None not in ad and sum(ad) > 0:
        return float(ad[alt_index + 1]) / float(sum(ad))
    return None


def annotate_vcf(
    vcf: str | Path,
    fasta: str | Path,
    gtf: str | Path,
    rules_path: str | Path,
    chip_min_vaf: float = 0.02,
    low_vaf_min: float = 0.01,
) -> list[dict[str, Any]]:
    """One row per ALT allele of every record, in file order."""
    try:
        vf = pysam.VariantFile(str(vcf))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read VCF ({exc})", file=vcf, expected="VCF or BCF") from None
    genes = read_gtf(gtf)
    rules = load_rules(rules_path)
    rows = []
    with vf, pysam.FastaFile(str(fasta)) as fa:
        contigs = set(fa.references)
        for n, rec in enumerate(vf, start=1):
            if rec.chrom not in contigs:
                raise InputError(
                    f"contig {rec.chrom!r} not in the FASTA",
                    file=vcf,
                    row=n,
                    column="CHROM",
                    expected="the same contig names in VCF, FASTA and GTF",
                )
            flt = ";".join(rec.filter.keys()) or "PASS"
            for i, alt in enumerate(rec.alts or ()):
                if not set(alt.upper()) <= set("ACGTN") or not set(rec.ref.upper()) <= set("ACGTN"):
                    continue  # symbolic alleles (<DEL>, <*>) have no sequence consequence
                a = annotate(rec.chrom, rec.start, rec.ref.upper(), alt.upper(), genes, fa)
                rule = (
                    match(a.gene, a.consequence, a.hgvsp_short, a.codon, a.exon, rules)
                    if a.gene
                    else ""
                )
                vaf = _vaf(rec, i)
                chip = (
                    classify(flt, vaf, rule, chip_min_vaf, low_vaf_min) if vaf is not None else ""
                )
                rows.append(
                    dict(
                        zip(
                            COLUMNS,
                            (
                                rec.chrom,
                                rec.pos,
                                rec.ref,
                                alt,
                                flt,
                                a.gene,
                                a.transcript,
                                a.hgvsc,
                                a.hgvsp,
                                a.hgvsp_short,
                                a.consequence,
                                a.exon,
                                vaf,
                                chip,
                                rule,
                            ),
                            strict=True,
                        )
                    )
                )
    return rows
