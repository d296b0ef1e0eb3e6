"""VCF 4.3 output (bgzip + tabix) of every candidate call with its FILTER."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pysam

from marrowtox.atomic import atomic_path

FILTERS = {
    "low_depth": "Depth below the minimum",
    "low_alt": "Fewer alt reads than the minimum",
    "low_vaf": "VAF below min_vaf: observed AF, or the upper bound of its 95% Wilson interval (see ##min_vaf)",
    "not_significant": "Alt reads not in significant excess over the background error model (BH)",
    "strand_bias": "Alt reads almost all on one strand (Fisher test)",
    "indel_gap": "SNV within snp_gap bp of a significant indel with at least as many alt reads (misaligned indel reads; bcftools filter --SnpGap)",
    "homopolymer": "In a homopolymer run without the extra alt support required there",
    "pon": "Recurrent in the panel of normals (artifact; never applied to CHIP hotspots)",
    "pon_germline": "Germline in a normal of the panel (population polymorphism)",
    "germline": "VAF consistent with a germline genotype (0.5 or 1.0)",
}


def vcf_alleles(
    fasta: pysam.FastaFile, chrom: str, pos: int, ref_base: str, allele: str
) -> tuple[str, str]:
    """VCF REF and ALT of a pileup allele at 0-based `pos`: "-<n>" (deletion of the next n
    bases), "+<SEQ>" (insertion after the base) or a base. Here rather than in ch.call so
    that ch.call and ch.pon both import it without importing each other."""
    if allele.startswith("-"):
        n = int(allele[1:])
        return fasta.fetch(chrom, pos, pos + n + 1).upper(), ref_base
    if allele.startswith("+"):
        return ref_base, ref_base + allele[1:]
    return ref_base, allele


def write_vcf(
    calls: Sequence[Mapping[str, Any]],
    sample: str,
    fasta: str,
    out: str | Path,
    params: Any = None,
    pon_used: bool = False,
    molecules: bool = False,
) -> None:
    """`molecules`: the BAM is a UMI consensus (marrowtox ch-consensus): DP and AD count
    source molecules, and the header says so."""
    fa = pysam.FastaFile(fasta)
    header = pysam.VariantHeader()
    header.add_line("##source=marrowtox ch-call")
    if params is not None:
        header.add_line(
            f"##min_vaf={params.min_vaf}: "
            + (
                "applied to the estimate's interval (FILTER low_vaf when the upper bound "
                "of the 95% Wilson interval of AF is below it)"
                if params.min_vaf_on == "interval"
                else "a floor on the observed AF (FILTER low_vaf when AF is below it)"
            )
        )
    header.add_line(
        "##error_model="
        + (
            "panel-of-normals beta-binomial per site, allele and strand (Shearwater, "
            "Gerstung et al. 2014) where the PON has the allele; else the sample's "
            "per-class binomial (INFO MODEL)"
            if pon_used
            else "the sample's per-class binomial (no panel of normals; INFO MODEL)"
        )
    )
    if molecules:
        header.add_line(
            "##depth=molecules: UMI consensus BAM (marrowtox ch-consensus), DP and AD count "
            "source molecules, not reads"
        )
    for c, n in zip(fa.references, fa.lengths, strict=True):
        header.contigs.add(c, length=n)
    for k, d in FILTERS.items():
        header.filters.add(k, None, None, d)
    for k, num, typ, d in (
        ("GENE", 1, "String", "Gene (canonical transcript)"),
        ("HGVSC", 1, "String", "HGVS coding change"),
        ("HGVSP", 1, "String", "HGVS protein change"),
        ("CSQ", 1, "String", "Consequence"),
        ("SBP", 1, "Float", "Strand-bias Fisher p"),
        ("CHIP", 1, "String", "CHIP classification"),
        ("LOD", 1, "Float", "Target limit of detection (VAF)"),
        ("MODEL", 1, "String", "Error model tested against: pon_site or sample_class"),
    ):
        header.info.add(k, num, typ, d)
    header.formats.add("GT", 1, "String", "Genotype (./. : somatic caller, no genotype)")
    header.formats.add("DP", 1, "Integer", "Read depth (filtered reads, mates once)")
    header.formats.add("AD", "R", "Integer", "Allele depths")
    header.formats.add("AF", "A", "Float", "Alt allele fraction")
    header.add_sample(sample)
    with atomic_path(out) as tmp:
        plain = tmp.with_suffix(".plain.vcf")
        with pysam.VariantFile(str(plain), "w", header=header) as vf:
            for c in calls:
                r = vf.new_record(
                    contig=c["chrom"], start=int(c["pos"]) - 1, alleles=(c["ref"], c["alt"])
                )
                for f in str(c["filter"]).split(";"):
                    r.filter.add(f)
                for k, v in (
                    ("GENE", c["gene"]),
                    ("HGVSC", c["hgvsc"]),
                    ("HGVSP", c["hgvsp"]),
                    ("CSQ", c["consequence"]),
                    ("CHIP", c["chip"]),
                    ("MODEL", c.get("model", "")),
                ):
                    if isinstance(v, str) and v:
                        r.info[k] = v.replace(";", ",").replace(" ", "_")
                r.info["SBP"] = float(c["strand_bias_p"])
                if c["lod_vaf"] == c["lod_vaf"]:
                    r.info["LOD"] = float(c["lod_vaf"])
                s = r.samples[sample]
                s["DP"] = int(c["depth"])
                s["AD"] = (int(c["depth"]) - int(c["alt_count"]), int(c["alt_count"]))
                s["AF"] = float(c["vaf"])
                vf.write(r)
        pysam.tabix_compress(str(plain), str(tmp), force=True)
        plain.unlink()
    tbi = Path(str(out) + ".tbi")
    with contextlib.suppress(FileNotFoundError):
        tbi.unlink()
    pysam.tabix_index(str(out), preset="vcf", force=True)
