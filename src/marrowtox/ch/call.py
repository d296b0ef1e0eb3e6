"""Low-VAF SNV/indel calling over a targeted panel, with filters, LOD, annotation, CHIP.

Every candidate allele with >= 2 alt reads is reported with its FILTER, so "filtered"
is visible and auditable rather than silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
from scipy.stats import false_discovery_control

from marrowtox.ch import stats
from marrowtox.ch.annotate import annotate, read_gtf
from marrowtox.ch.chip import classify, load_rules, match
from marrowtox.ch.pileup import PileupParams, allele_table, check_inputs, pileup_targets, read_bed

CALL_COLUMNS = [
    "sample",
    "chrom",
    "pos",
    "ref",
    "alt",
    "gene",
    "transcript",
    "hgvsc",
    "hgvsp",
    "hgvsp_short",
    "consequence",
    "exon",
    "depth",
    "alt_count",
    "vaf",
    "vaf_ci_low",
    "vaf_ci_high",
    "strand_bias_p",
    "filter",
    "chip",
    "chip_rule",
    "lod_vaf",
    "p_value",
    "q_value",
    "homopolymer",
    "target",
]
LOD_COLUMNS = [
    "target",
    "chrom",
    "start",
    "end",
    "median_depth",
    "error_rate",
    "lod_vaf",
    "callable",
]


@dataclass(frozen=True)
class CallParams:
    min_base_quality: int = 20
    min_mapping_quality: int = 20
    min_depth: int = 100
    min_alt: int = 5
    min_vaf: float = 0.005
    fdr: float = 0.01
    lod_alpha: float = 1e-6
    strand_bias_p: float = 1e-3
    strand_bias_fraction: float = 0.9
    homopolymer_min: int = 5
    homopolymer_vaf: float = 0.05
    homopolymer_alt: int = 10
    long_homopolymer: int = 7
    long_homopolymer_vaf: float = 0.10
    chip_min_vaf: float = 0.02
    low_vaf_min: float = 0.01
    min_candidate_alt: int = 2


def vcf_alleles(
    fasta: pysam.FastaFile, chrom: str, pos: int, ref_base: str, allele: str
) -> tuple[str, str]:
    if allele.startswith("-"):
        n = int(allele[1:])
        return fasta.fetch(chrom, pos, pos + n + 1).upper(), ref_base
    if allele.startswith("+"):
        return ref_base, ref_base + allele[1:]
    return ref_base, allele


def homopolymer_len(fasta: pysam.FastaFile, chrom: str, pos: int) -> int:
    """Longest same-base run touching `pos` (the variant base or the base after it)."""
    seq = fasta.fetch(chrom, max(pos - 12, 0), pos + 14).upper()
    off = pos - max(pos - 12, 0)
    best = 1
    for centre in (off, off + 1):
        if centre >= len(seq):
            continue
        b = seq[centre]
        s = e = centre
        while s > 0 and seq[s - 1] == b:
            s -= 1
        while e + 1 < len(seq) and seq[e + 1] == b:
            e += 1
        best = max(best, e - s + 1)
    return best


def hp_base(fasta: pysam.FastaFile, chrom: str, pos: int) -> str:
    """Base of the longest run next to `pos` (the run an SNV there could extend)."""
    left = fasta.fetch(chrom, max(pos - 1, 0), pos).upper()
    right = fasta.fetch(chrom, pos + 1, pos + 2).upper()
    lr = fasta.fetch(chrom, max(pos - 6, 0), pos).upper()
    rr = fasta.fetch(chrom, pos + 1, pos + 7).upper()
    run_l = len(lr) - len(lr.rstrip(left)) if left else 0
    run_r = len(rr) - len(rr.lstrip(right)) if right else 0
    return left if run_l >= run_r else right


def call_sample(
    sample: str,
    bam: str,
    fasta_path: str,
    bed: str,
    gtf: str | None,
    rules_path: str,
    params: CallParams,
    pon: set[tuple[str, int, str, str]] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    targets = read_bed(bed)
    check_inputs(bam, fasta_path, targets)
    pile = pileup_targets(
        bam, fasta_path, targets, PileupParams(params.min_base_quality, params.min_mapping_quality)
    )
    fasta = pysam.FastaFile(fasta_path)
    alleles = allele_table(pile)
    rates = stats.background(pile, alleles)
    mean_snv = float(np.mean([v for k, v in rates.items() if k != "indel"]))
    lod_rows = []
    for chrom, s, e, name in targets:
        d = pile[(pile["chrom"] == chrom) & (pile["pos"] >= s) & (pile["pos"] < e)]["depth"]
        md = float(d.median()) if len(d) else 0.0
        lod = (
            stats.limit_of_detection(md, mean_snv, params.lod_alpha, params.min_alt)
            if md > 0
            else float("nan")
        )
        lod_rows.append((name, chrom, s, e, md, mean_snv, lod, md >= params.min_depth))
    lod_df = pd.DataFrame(lod_rows, columns=LOD_COLUMNS)
    cand = alleles[alleles["alt_count"] >= params.min_candidate_alt].reset_index(drop=True)
    if cand.empty:
        return pd.DataFrame(columns=CALL_COLUMNS), lod_df
    target_of = pile.set_index(["chrom", "pos"])["target"]
    rate = np.array(
        [rates[stats.sub_class(r, a)] for r, a in zip(cand["ref"], cand["allele"], strict=True)]
    )
    depth = cand["depth"].to_numpy()
    alt = cand["alt_count"].to_numpy()
    p = stats.binom_pvalues(alt, depth, rate)
    q = false_discovery_control(p, method="bh")
    lo, hi = stats.wilson(alt, depth)
    genes = read_gtf(gtf) if gtf else {}
    rules = load_rules(rules_path)
    rows = []
    for i, c in cand.iterrows():
        ref, alt_allele = vcf_alleles(fasta, c["chrom"], int(c["pos"]), c["ref"], c["allele"])
        vaf = alt[i] / depth[i] if depth[i] else 0.0
        sb = stats.strand_bias_p(
            int(c["ref_fwd"]), int(c["ref_rev"]), int(c["alt_fwd"]), int(c["alt_rev"])
        )
        frac = max(c["alt_fwd"], c["alt_rev"]) / max(alt[i], 1)
        hp = homopolymer_len(fasta, c["chrom"], int(c["pos"]))
        filters = []
        if depth[i] < params.min_depth:
            filters.append("low_depth")
        if alt[i] < params.min_alt:
            filters.append("low_alt")
        if vaf < params.min_vaf:
            filters.append("low_vaf")
        if q[i] >= params.fdr:
            filters.append("not_significant")
        if sb < params.strand_bias_p and frac > params.strand_bias_fraction:
            filters.append("strand_bias")
        # Polymerase slippage makes indels in runs the dominant artifact; an SNV is only
        # suspect when its alt base extends the run (e.g. GGGGGT>GGGGGG).
        is_indel = len(ref) != len(alt_allele)
        extends_run = not is_indel and hp_base(fasta, c["chrom"], int(c["pos"])) == alt_allele
        if hp >= params.homopolymer_min and (is_indel or extends_run):
            need_vaf = (
                params.long_homopolymer_vaf
                if hp >= params.long_homopolymer
                else params.homopolymer_vaf
            )
            if vaf < need_vaf or alt[i] < params.homopolymer_alt:
                filters.append("homopolymer")
        if pon and (c["chrom"], int(c["pos"]) + 1, ref, alt_allele) in pon:
            filters.append("pon")
        if stats.germline_like(int(alt[i]), int(depth[i])):
            filters.append("germline")
        flt = "PASS" if not filters else ";".join(filters)
        ann = annotate(c["chrom"], int(c["pos"]), ref, alt_allele, genes, fasta)
        rule = (
            match(ann.gene, ann.consequence, ann.hgvsp_short, ann.codon, ann.exon, rules)
            if ann.gene
            else ""
        )
        chip = classify(flt, vaf, rule, params.chip_min_vaf, params.low_vaf_min)
        tname = target_of.get((c["chrom"], int(c["pos"])), "")
        lod = lod_df.set_index("target")["lod_vaf"].get(tname, float("nan"))
        rows.append(
            {
                "sample": sample,
                "chrom": c["chrom"],
                "pos": int(c["pos"]) + 1,
                "ref": ref,
                "alt": alt_allele,
                "gene": ann.gene,
                "transcript": ann.transcript,
                "hgvsc": ann.hgvsc,
                "hgvsp": ann.hgvsp,
                "hgvsp_short": ann.hgvsp_short,
                "consequence": ann.consequence,
                "exon": ann.exon,
                "depth": int(depth[i]),
                "alt_count": int(alt[i]),
                "vaf": vaf,
                "vaf_ci_low": float(lo[i]),
                "vaf_ci_high": float(hi[i]),
                "strand_bias_p": sb,
                "filter": flt,
                "chip": chip,
                "chip_rule": rule if chip else "",
                "lod_vaf": lod,
                "p_value": float(p[i]),
                "q_value": float(q[i]),
                "homopolymer": hp,
                "target": tname,
            }
        )
    calls = pd.DataFrame(rows, columns=CALL_COLUMNS).sort_values(
        ["chrom", "pos", "alt"], kind="stable"
    )
    return calls.reset_index(drop=True), lod_df


def read_pon(path: str | None) -> set[tuple[str, int, str, str]] | None:
    if not path or not Path(path).exists():
        return None
    with pysam.VariantFile(path) as v:
        return {(r.chrom, r.pos, r.ref, a) for r in v for a in (r.alts or ())}
