"""Low-VAF SNV/indel calling over a targeted panel, with filters, LOD, annotation, CHIP.

Every candidate allele with >= 2 alt reads is tested (and counts in the multiple-testing
correction); calls.tsv and the VCF hold, with their FILTER, every PASS call and the
candidates above a reporting floor (q < report_max_q or VAF >= report_min_vaf), so
"filtered" stays visible and auditable while noise does not fill the outputs; the
optional evidence file keeps every tested candidate. `min_vaf` is a floor
on the observed VAF (`min_vaf_on: observed`, the default) or on the estimate's interval
(`interval`: low_vaf only when the upper bound of the 95% Wilson interval of the VAF is
below min_vaf, so a true 0.5% variant sampled at 0.3% keeps its call); the VCF header
states which. Results are plain rows (dicts
in CALL_COLUMNS order) rather than DataFrames: pandas' import alone costs more than
calling a panel sample, and `marrowtox ch-call` runs once per sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pysam

from marrowtox.ch import stats
from marrowtox.ch.annotate import annotate, read_gtf
from marrowtox.ch.chip import classify, load_rules, match
from marrowtox.ch.consensus import PG_ID
from marrowtox.ch.pileup import PileupParams, alleles, check_inputs, pileup_targets, read_bed
from marrowtox.ch.pon import CLASS_MODEL, SITE_MODEL, SiteModel, site_pvalues
from marrowtox.ch.vcf import vcf_alleles

Row = dict[str, Any]

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
    "model",
]
#: The all-candidates evidence file (optional, bgzipped, tabix-indexed on chrom/pos).
EVIDENCE_COLUMNS = [
    "sample",
    "chrom",
    "pos",
    "ref",
    "alt",
    "depth",
    "alt_fwd",
    "alt_rev",
    "ref_fwd",
    "ref_rev",
    "vaf",
    "p_value",
    "q_value",
    "model",
    "reported",
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
    min_vaf_on: str = "observed"
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
    report_max_q: float = 0.5
    report_min_vaf: float = 0.005
    snp_gap: int = 3
    umi_min_alt: int = 3
    umi_min_vaf: float = 0.001


def is_consensus_bam(bam: str) -> bool:
    """Whether `bam` was written by marrowtox ch-consensus (its @PG line): depth in molecules."""
    with pysam.AlignmentFile(bam, "rb") as f:
        return any(pg.get("ID") == PG_ID for pg in f.header.to_dict().get("PG", []))


def for_bam(params: CallParams, bam: str) -> CallParams:
    """The settings for `bam`: on a UMI consensus BAM (one read per molecule), `min_alt`
    and `min_vaf` (and the reporting floor on VAF) become `umi_min_alt` and
    `umi_min_vaf`: with errors near 1e-5 per molecule a few alt molecules are
    significant (docs/ch-caller.md, UMI consensus). Any other BAM: unchanged."""
    if not is_consensus_bam(bam):
        return params
    return replace(
        params,
        min_alt=params.umi_min_alt,
        min_vaf=params.umi_min_vaf,
        report_min_vaf=min(params.report_min_vaf, params.umi_min_vaf),
    )


HP_FLANK = 12


def homopolymer_context(fasta: pysam.FastaFile, chrom: str, pos: int) -> tuple[int, str]:
    """Longest same-base run touching `pos` (the variant base or the one after it), and the
    base of the longer run directly next to `pos` (the run an SNV there could extend)."""
    lo = max(pos - HP_FLANK, 0)
    seq = fasta.fetch(chrom, lo, pos + HP_FLANK + 2).upper()
    off = pos - lo

    def run(centre: int) -> int:
        b, s, e = seq[centre], centre, centre
        while s > 0 and seq[s - 1] == b:
            s -= 1
        while e + 1 < len(seq) and seq[e + 1] == b:
            e += 1
        return e - s + 1

    longest = max(run(c) for c in (off, off + 1) if c < len(seq))
    left = seq[off - 1] if off > 0 else ""
    right = seq[off + 1] if off + 1 < len(seq) else ""
    lr, rr = seq[max(off - 6, 0) : off], seq[off + 1 : off + 7]
    run_l = len(lr) - len(lr.rstrip(left)) if left else 0
    run_r = len(rr) - len(rr.lstrip(right)) if right else 0
    return longest, (left if run_l >= run_r else right)


def indel_gap(
    chrom: np.ndarray,
    pos0: np.ndarray,
    allele: list[str],
    alt: np.ndarray,
    supported: np.ndarray,
    gap: int,
) -> np.ndarray:
    """SNV candidates within `gap` bp of a supported indel with at least as many alt reads.

    Reads that carry an indel near their end are often aligned with mismatches instead of
    the gap, so a low-VAF "SNV" appears beside (or inside) a real indel. bcftools filter
    `--SnpGap` removes SNVs within a few bases of an indel for this reason (the bcftools
    manual's example uses -g3); here only an indel that is itself significant with
    `min_alt` reads (`supported`) and has at least the SNV's alt count masks it, so a
    strong SNV next to a weak indel stays. A deletion spans the bases it removes.
    The SNV x indel comparison is an array operation per chromosome (indels are few)."""
    n = len(allele)
    out = np.zeros(n, bool)
    if gap <= 0 or not n:
        return out
    is_indel = np.array([a[0] in "+-" for a in allele], bool)
    ind = np.flatnonzero(is_indel & supported)
    snv = np.flatnonzero(~is_indel)
    if not ind.size or not snv.size:
        return out
    span = np.array([int(allele[i][1:]) if allele[i][0] == "-" else 0 for i in ind], np.int64)
    lo, hi = pos0[ind] - gap, pos0[ind] + span + gap
    for c in np.unique(chrom[ind]):
        ic = chrom[ind] == c
        sc = snv[chrom[snv] == c]
        if not sc.size:
            continue
        # every (SNV, indel) pair of the chromosome: indels per sample are few
        within = (pos0[sc, None] >= lo[ic][None, :]) & (pos0[sc, None] <= hi[ic][None, :])
        stronger = alt[ind[ic]][None, :] >= alt[sc, None]
        out[sc] = (within & stronger).any(axis=1)
    return out


def _median(x: np.ndarray) -> float:
    return float(np.median(x)) if x.size else 0.0


def _target_lods(
    pile: Any, targets: list, mean_snv: float, params: CallParams
) -> tuple[list[Row], dict[str, float]]:
    """Per-target LOD rows (LOD_COLUMNS) and the LOD of each target by name."""
    chrom_arr = np.asarray(pile.chrom, dtype=object)
    lod_rows: list[Row] = []
    lod_of: dict[str, float] = {}
    for chrom, s, e, name in targets:
        in_t = (chrom_arr == chrom) & (pile.pos >= s) & (pile.pos < e)
        md = _median(pile.depth[in_t])
        lod = (
            stats.limit_of_detection(md, mean_snv, params.lod_alpha, params.min_alt)
            if md > 0
            else float("nan")
        )
        lod_of.setdefault(name, lod)
        values = (name, chrom, s, e, md, mean_snv, lod, bool(md >= params.min_depth))
        lod_rows.append(dict(zip(LOD_COLUMNS, values, strict=True)))
    return lod_rows, lod_of


@dataclass
class _Tests:
    """Every candidate's test: p-value, the model it was tested against, and the
    panel-of-normals flags (recurrent artifact, germline in the population)."""

    p: np.ndarray
    model: np.ndarray
    recurrent: np.ndarray
    germ_pop: np.ndarray


@dataclass(frozen=True)
class _Annotation:
    """What the calls need to annotate an allele and match the CHIP rules."""

    fasta: pysam.FastaFile
    genes: dict
    rules: Any


def _site_model_tests(
    pile: Any,
    cand: Any,
    t: _Tests,
    site_models: dict[tuple[str, int, str], SiteModel],
    ann: _Annotation,
) -> None:
    """Candidates with a panel-of-normals model for their site and allele are tested
    against it instead of the class rate (t is updated in place)."""
    rows_i, ref_base = cand.row, pile.ref[cand.row]
    models = [
        site_models.get((pile.chrom[r], int(pile.pos[r]), a))
        for r, a in zip(rows_i.tolist(), cand.allele, strict=True)
    ]
    t.recurrent = np.array([m is not None and m.recurrent for m in models], bool)
    t.germ_pop = np.array([m is not None and m.germline_population for m in models], bool)
    # Known hotspots recur in patients (and in older normals) because they are real:
    # at a recurrent site a hotspot is tested against the sample's class model and
    # never filtered as `pon` for recurrence alone.
    for i in np.flatnonzero(t.recurrent):
        chrom, pos0 = pile.chrom[rows_i[i]], int(pile.pos[rows_i[i]])
        ref, alt_allele = vcf_alleles(ann.fasta, chrom, pos0, str(ref_base[i]), cand.allele[i])
        a = annotate(chrom, pos0, ref, alt_allele, ann.genes, ann.fasta)
        if a.gene and match(a.gene, a.consequence, a.hgvsp_short, a.codon, a.exon, ann.rules):
            t.recurrent[i] = False
            models[i] = None
    strand_depth = pile.snv[rows_i].sum(axis=1)  # candidates x (forward, reverse)
    depth = pile.depth[rows_i]
    p_site = site_pvalues(cand.alt_count, depth, strand_depth[:, 0], strand_depth[:, 1], models)
    use = ~np.isnan(p_site)
    t.p = np.where(use, p_site, t.p)
    t.model[use] = SITE_MODEL


@dataclass(frozen=True)
class _Candidate:
    """One reported candidate's evidence, as the filters read it."""

    depth: int
    alt: int
    vaf: float
    vaf_hi: float
    q: float
    strand_bias_p: float
    strand_fraction: float
    near_indel: bool
    homopolymer: int
    run_base: str
    is_indel: bool
    extends_run: bool
    in_pon: bool
    germline_population: bool


def _filters(c: _Candidate, params: CallParams) -> list[str]:
    filters = []
    if c.depth < params.min_depth:
        filters.append("low_depth")
    if c.alt < params.min_alt:
        filters.append("low_alt")
    if (c.vaf_hi if params.min_vaf_on == "interval" else c.vaf) < params.min_vaf:
        filters.append("low_vaf")
    if c.q >= params.fdr:
        filters.append("not_significant")
    if c.strand_bias_p < params.strand_bias_p and c.strand_fraction > params.strand_bias_fraction:
        filters.append("strand_bias")
    if c.near_indel:
        filters.append("indel_gap")
    # Polymerase slippage makes indels in runs the dominant artifact; an SNV is only
    # suspect when its alt base extends the run (e.g. GGGGGT>GGGGGG).
    if c.homopolymer >= params.homopolymer_min and (c.is_indel or c.extends_run):
        need_vaf = (
            params.long_homopolymer_vaf
            if c.homopolymer >= params.long_homopolymer
            else params.homopolymer_vaf
        )
        if c.vaf < need_vaf or c.alt < params.homopolymer_alt:
            filters.append("homopolymer")
    if c.in_pon:
        filters.append("pon")
    if c.germline_population:
        filters.append("pon_germline")
    if stats.germline_like(c.alt, c.depth):
        filters.append("germline")
    return filters


@dataclass(frozen=True)
class _RowContext:
    """The array-level results every reported row is read from."""

    sample: str
    pile: Any
    cand: Any
    depth: np.ndarray
    ref_base: np.ndarray
    tests: _Tests
    q: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    near_indel: np.ndarray
    pon: set[tuple[str, int, str, str]] | None
    lod_of: dict[str, float]
    ann: _Annotation
    params: CallParams


def _call_row(i: int, x: _RowContext) -> Row:
    """Candidate i's row of calls.tsv: its alleles, filters, annotation and CHIP class."""
    pile, cand, fasta, t, params = x.pile, x.cand, x.ann.fasta, x.tests, x.params
    row = cand.row[i]
    chrom, pos0 = pile.chrom[row], int(pile.pos[row])
    d, a = int(x.depth[i]), int(cand.alt_count[i])
    ref, alt_allele = vcf_alleles(fasta, chrom, pos0, str(x.ref_base[i]), cand.allele[i])
    vaf = a / d if d else 0.0
    af, ar = int(cand.alt_fwd[i]), int(cand.alt_rev[i])
    sb = stats.strand_bias_p(int(cand.ref_fwd[i]), int(cand.ref_rev[i]), af, ar)
    hp, run_base = homopolymer_context(fasta, chrom, pos0)
    is_indel = len(ref) != len(alt_allele)
    c = _Candidate(
        depth=d,
        alt=a,
        vaf=vaf,
        vaf_hi=float(x.hi[i]),
        q=float(x.q[i]),
        strand_bias_p=sb,
        strand_fraction=max(af, ar) / max(a, 1),
        near_indel=bool(x.near_indel[i]),
        homopolymer=hp,
        run_base=run_base,
        is_indel=is_indel,
        extends_run=not is_indel and run_base == alt_allele,
        in_pon=bool(t.recurrent[i]) or bool(x.pon and (chrom, pos0 + 1, ref, alt_allele) in x.pon),
        germline_population=bool(t.germ_pop[i]),
    )
    filters = _filters(c, params)
    flt = "PASS" if not filters else ";".join(filters)
    ann = annotate(chrom, pos0, ref, alt_allele, x.ann.genes, fasta)
    rule = (
        match(ann.gene, ann.consequence, ann.hgvsp_short, ann.codon, ann.exon, x.ann.rules)
        if ann.gene
        else ""
    )
    chip = classify(flt, vaf, rule, params.chip_min_vaf, params.low_vaf_min)
    tname = pile.target[row]
    values = (
        x.sample,
        chrom,
        pos0 + 1,
        ref,
        alt_allele,
        ann.gene,
        ann.transcript,
        ann.hgvsc,
        ann.hgvsp,
        ann.hgvsp_short,
        ann.consequence,
        ann.exon,
        d,
        a,
        vaf,
        float(x.lo[i]),
        float(x.hi[i]),
        sb,
        flt,
        chip,
        rule if chip else "",
        x.lod_of.get(tname, math.nan),
        float(t.p[i]),
        float(x.q[i]),
        hp,
        tname,
        t.model[i],
    )
    return dict(zip(CALL_COLUMNS, values, strict=True))


def call_sample(
    sample: str,
    bam: str,
    fasta_path: str,
    bed: str,
    gtf: str | None,
    rules_path: str,
    params: CallParams,
    pon: set[tuple[str, int, str, str]] | None = None,
    site_models: dict[tuple[str, int, str], SiteModel] | None = None,
    evidence: list[Row] | None = None,
) -> tuple[list[Row], list[Row]]:
    """Calls (rows in CALL_COLUMNS order, sorted by chrom, pos, alt) and per-target LOD rows.

    `pon`: (chrom, pos, ref, alt) of a recurrent-artifact VCF (FILTER pon). `site_models`:
    the panel-of-normals error model (marrowtox.ch.pon); a candidate with a model for its
    site and allele is tested against it, any other against the sample's class rate
    (column `model`).

    Only candidates above the reporting floor (q < report_max_q or VAF >=
    report_min_vaf) and every PASS call are returned; BH counts every tested candidate.
    `evidence`, when a list, receives every tested candidate (EVIDENCE_COLUMNS)."""
    targets = read_bed(bed)
    check_inputs(bam, fasta_path, targets)
    params = for_bam(params, bam)
    pile = pileup_targets(
        bam, fasta_path, targets, PileupParams(params.min_base_quality, params.min_mapping_quality)
    )
    rates = stats.background(pile)
    mean_snv = float(np.mean([v for k, v in rates.items() if k != "indel"]))
    lod_rows, lod_of = _target_lods(pile, targets, mean_snv, params)
    cand = alleles(pile, params.min_candidate_alt)
    if not len(cand):
        return [], lod_rows
    rows_i = cand.row
    ref_base = pile.ref[rows_i]
    rate = np.array(
        [rates[stats.sub_class(r, a)] for r, a in zip(ref_base, cand.allele, strict=True)]
    )
    depth = pile.depth[rows_i]
    alt = cand.alt_count
    n_cand = len(cand)
    t = _Tests(
        p=stats.binom_pvalues(alt, depth, rate),
        model=np.full(n_cand, CLASS_MODEL, dtype=object),
        recurrent=np.zeros(n_cand, bool),
        germ_pop=np.zeros(n_cand, bool),
    )
    ann_ctx = _Annotation(
        pysam.FastaFile(fasta_path), read_gtf(gtf) if gtf else {}, load_rules(rules_path)
    )
    if site_models:
        _site_model_tests(pile, cand, t, site_models, ann_ctx)
    p = t.p
    q = stats.bh(p)  # over every tested candidate, written or not
    lo, hi = stats.wilson(alt, depth)
    # Array-level reporting floor before any per-row work: every PASS needs q < fdr, so
    # the rows kept hold every PASS call plus the near-misses worth auditing.
    vaf_all = alt / np.maximum(depth, 1)
    report = (q < params.fdr) | (q < params.report_max_q) | (vaf_all >= params.report_min_vaf)
    near_indel = indel_gap(
        np.asarray(pile.chrom, dtype=object)[rows_i],
        pile.pos[rows_i].astype(np.int64),
        cand.allele,
        alt,
        (q < params.fdr) & (alt >= params.min_alt),
        params.snp_gap,
    )
    fasta = ann_ctx.fasta
    if evidence is not None:
        evidence += _evidence_rows(
            sample, pile, cand, fasta, ref_base, depth, vaf_all, p, q, t.model, report
        )
    x = _RowContext(
        sample, pile, cand, depth, ref_base, t, q, lo, hi, near_indel, pon, lod_of, ann_ctx, params
    )
    with fasta:
        out = [_call_row(i, x) for i in np.flatnonzero(report).tolist()]
    out.sort(key=lambda r: (r["chrom"], r["pos"], r["alt"]))
    return out, lod_rows


def _evidence_rows(
    sample: str,
    pile: Any,
    cand: Any,
    fasta: pysam.FastaFile,
    ref_base: np.ndarray,
    depth: np.ndarray,
    vaf: np.ndarray,
    p: np.ndarray,
    q: np.ndarray,
    model: np.ndarray,
    report: np.ndarray,
) -> list[Row]:
    rows = []
    for i, row in enumerate(cand.row.tolist()):
        chrom, pos0 = pile.chrom[row], int(pile.pos[row])
        ref, alt = vcf_alleles(fasta, chrom, pos0, str(ref_base[i]), cand.allele[i])
        values = (
            sample,
            chrom,
            pos0 + 1,
            ref,
            alt,
            int(depth[i]),
            int(cand.alt_fwd[i]),
            int(cand.alt_rev[i]),
            int(cand.ref_fwd[i]),
            int(cand.ref_rev[i]),
            float(vaf[i]),
            float(p[i]),
            float(q[i]),
            model[i],
            bool(report[i]),
        )
        rows.append(dict(zip(EVIDENCE_COLUMNS, values, strict=True)))
    rows.sort(key=lambda r: (r["chrom"], r["pos"], r["alt"]))
    return rows


def read_pon(path: str | None) -> set[tuple[str, int, str, str]] | None:
    if not path or not Path(path).exists():
        return None
    with pysam.VariantFile(path) as v:
        return {(r.chrom, r.pos, r.ref, a) for r in v for a in (r.alts or ())}
