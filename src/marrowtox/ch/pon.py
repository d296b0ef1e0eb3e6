"""Panel-of-normals error model: a beta-binomial per site, alternative allele and strand.

Method: Shearwater (Gerstung et al. 2014, Nat Commun 5:3287; R package deepSNV, `bbb`).
Sequencing and alignment errors differ between positions of a panel (sequence context,
amplicon ends, mapping); across samples an allele's error count at one site is
over-dispersed relative to a binomial. Shearwater models it, per site, allele and
strand, as beta-binomial with a mean from other samples and an over-dispersion `rho`
bounded by `pon_rho_min` and `pon_rho_max` (deepSNV: 1e-4 and 0.1; the lower bound is 1e-6 here,
see the schema).

Fit, per (site, allele, strand) over the normals j with alt reads x_j of depth n_j:
  mean  mu  = (sum x_j + w * r0) / (sum n_j + w), the pooled rate shrunk toward the
              normals' own substitution-class rate r0 with a prior weight of w reads
              (`pon_prior_depth`): two or three normals with no alt read at a site do
              not claim an error rate of zero;
  rho       = method of moments from E[(x_j - n_j p)^2] = n_j g_j mu (1 - mu)(1 + (n_j - 1) rho),
              p the pooled rate and g_j = 1 - n_j / sum n (p comes from the same normals):
              (sum (x_j - n_j p)^2 / (p (1 - p)) - sum n_j g_j) / sum n_j (n_j - 1) g_j,
              clipped to [rho_min, rho_max]; solved once over all SNV columns of the
              panel (one rho per strand, `pooled_rho`), and per site only where a normal
              carries an artifact-level allele (that site keeps the larger of the two).
The site's own mean is used where the normals show a site effect (pooled count in excess
of their class rate, binomial p < `pon_site_p`); elsewhere the normals' class rate with
the panel's rho, so a few normals' sampling noise does not cost power at every site.
A candidate in a sample is then tested against its site's model (scipy.stats.betabinom,
one-sided, alt reads of both strands against the depth-weighted mean of the two strand
fits and the larger rho), see `site_pvalues`.

Flags per allele: `recurrent` (at least `pon_recurrent_normals` normals carry it with
>= min_alt reads, VAF >= `pon_artifact_vaf` and a binomial excess over that normal's
class rate (p < `pon_artifact_p`), without looking germline: an artifact or
a polymorphism of the panel, FILTER `pon`) and `germline_population` (germline-like VAF
in at least one normal: a population polymorphism, FILTER `pon_germline`).
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam

from marrowtox.atomic import atomic_path
from marrowtox.ch import stats
from marrowtox.ch.pileup import BASES, PileupParams, check_inputs, pileup_targets, read_bed
from marrowtox.ch.vcf import vcf_alleles
from marrowtox.errors import InputError

PON_COLUMNS = [
    "chrom",
    "pos",
    "ref",
    "alt",
    "allele",
    "n_normals",
    "depth_fwd",
    "depth_rev",
    "alt_fwd",
    "alt_rev",
    "mu_fwd",
    "rho_fwd",
    "mu_rev",
    "rho_rev",
    "n_artifact",
    "n_germline",
    "recurrent",
    "germline_population",
]
#: Value of the calls.tsv `model` column / VCF INFO MODEL.
SITE_MODEL = "pon_site"
#: Alt counts up to which site p-values are summed from pmf terms (site_pvalues).
SMALL_K = 12
CLASS_MODEL = "sample_class"


@dataclass(frozen=True)
class PonParams:
    min_base_quality: int = 20
    min_mapping_quality: int = 20
    min_alt: int = 5
    pon_min_normals: int = 2
    pon_prior_depth: float = 1000.0
    pon_rho_min: float = 1e-6
    pon_rho_max: float = 0.1
    pon_artifact_vaf: float = 0.003
    pon_artifact_p: float = 1e-4
    pon_site_p: float = 1e-3
    pon_recurrent_normals: int = 2


@dataclass(frozen=True)
class SiteModel:
    mu_fwd: float
    rho_fwd: float
    mu_rev: float
    rho_rev: float
    recurrent: bool
    germline_population: bool


def fit_strand(
    x: np.ndarray, n: np.ndarray, r0: np.ndarray, w: float, rho_min: float, rho_max: float
) -> tuple[np.ndarray, np.ndarray]:
    """Beta-binomial mean and over-dispersion per column of x, n (normals x alleles)."""
    x = np.asarray(x, float)
    n = np.asarray(n, float)
    xs, ns = x.sum(0), n.sum(0)
    mu = (xs + w * r0) / (ns + w)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(ns > 0, xs / ns, 0.0)
        ss = ((x - n * p) ** 2).sum(0)
        g = 1 - n / np.maximum(ns, 1)  # p is estimated from the same normals
        den = (n * (n - 1) * g).sum(0)
        rho = (ss / (p * (1 - p)) - (n * g).sum(0)) / den
    rho = np.where((p > 0) & (p < 1) & (den > 0) & np.isfinite(rho), rho, rho_min)
    return np.maximum(mu, stats.MIN_RATE), np.clip(rho, rho_min, rho_max)


def pooled_rho(x: np.ndarray, n: np.ndarray, rho_min: float, rho_max: float) -> float:
    """One over-dispersion for the whole panel: the method-of-moments equation of
    `fit_strand` summed over every (site, allele) column before solving. With a few
    normals a per-site rho is too noisy to test against (one high estimate costs the
    site all power); recurrent-artifact sites keep the larger of their own and this."""
    x = np.asarray(x, float)
    n = np.asarray(n, float)
    xs, ns = x.sum(0), n.sum(0)
    ok = (ns > 0) & (xs > 0) & (xs < ns)
    if not ok.any():
        return rho_min
    p = xs[ok] / ns[ok]
    xo, no = x[:, ok], n[:, ok]
    g = 1 - no / ns[ok]
    num = (((xo - no * p) ** 2).sum(0) / (p * (1 - p)) - (no * g).sum(0)).sum()
    den = (no * (no - 1) * g).sum()
    return float(np.clip(num / den, rho_min, rho_max)) if den > 0 else rho_min


def _germline(alt: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """stats.germline_like elementwise, evaluated only where the VAF can qualify."""
    out = np.zeros(alt.shape, bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        vaf = np.where(depth > 0, alt / np.maximum(depth, 1), 0.0)
    for idx in zip(*np.nonzero(vaf > 0.3), strict=True):
        out[idx] = stats.germline_like(int(alt[idx]), int(depth[idx]))
    return out


@dataclass(frozen=True)
class _Stack:
    """The normals' pileups on one site index: counts per normal x site."""

    keys: list[tuple[str, int]]  # (chrom, 0-based pos) of each site
    ref_of: list[str]
    snv: np.ndarray  # normal x site x base x strand
    depth: np.ndarray  # normal x site
    indel: dict[tuple[int, str], np.ndarray]  # (site, allele) -> normal x strand


def _stack(piles: list) -> _Stack:
    sites: dict[tuple[str, int], int] = {}
    ref_of: list[str] = []
    for pile in piles:
        for c, p, r in zip(pile.chrom, pile.pos.tolist(), pile.ref.tolist(), strict=True):
            if (c, p) not in sites:
                sites[(c, p)] = len(sites)
                ref_of.append(r)
    m, j = len(sites), len(piles)
    snv = np.zeros((j, m, 4, 2), np.int64)
    depth = np.zeros((j, m), np.int64)
    indel: dict[tuple[int, str], np.ndarray] = {}
    for k, pile in enumerate(piles):
        idx = np.array([sites[(c, p)] for c, p in zip(pile.chrom, pile.pos.tolist(), strict=True)])
        if not idx.size:
            continue
        snv[k, idx] = pile.snv
        depth[k, idx] = pile.depth
        for row, allele, f, r in pile.indels:
            indel.setdefault((int(idx[row]), allele), np.zeros((j, 2), np.int64))[k] += (f, r)
    return _Stack(list(sites), ref_of, snv, depth, indel)


@dataclass(frozen=True)
class _Alleles:
    """One column per (site, non-reference allele): alt and depth per normal, strand."""

    site: np.ndarray
    allele: list[str]
    af: np.ndarray
    ar: np.ndarray
    nf: np.ndarray
    nr: np.ndarray


def _alleles(st: _Stack) -> _Alleles:
    col_site: list[int] = []
    col_allele: list[str] = []
    xf: list[np.ndarray] = []
    xr: list[np.ndarray] = []
    ref_arr = np.array(st.ref_of)
    for b, base in enumerate(BASES):
        rows = np.flatnonzero((ref_arr != base) & np.isin(ref_arr, list(BASES)))
        col_site += rows.tolist()
        col_allele += [base] * len(rows)
        xf.append(st.snv[:, rows, b, 0])
        xr.append(st.snv[:, rows, b, 1])
    for (row, allele), c in sorted(st.indel.items()):
        col_site.append(row)
        col_allele.append(allele)
        xf.append(c[:, :1])
        xr.append(c[:, 1:])
    site = np.asarray(col_site, np.int64)
    strand_depth = st.snv.sum(axis=2)  # normal x site x strand
    return _Alleles(
        site=site,
        allele=col_allele,
        af=np.concatenate(xf, axis=1),
        ar=np.concatenate(xr, axis=1),
        nf=strand_depth[:, site, 0],
        nr=strand_depth[:, site, 1],
    )


def _site_means(
    a: _Alleles, prior: np.ndarray, params: PonParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-strand error mean and overdispersion of each column (mu_f, rho_f, mu_r, rho_r)
    before the artifact rule picks between a site's own rho and the pooled one."""
    fit = dict(w=params.pon_prior_depth, rho_min=params.pon_rho_min, rho_max=params.pon_rho_max)
    mu_f, site_rho_f = fit_strand(a.af, a.nf, prior, **fit)
    mu_r, site_rho_r = fit_strand(a.ar, a.nr, prior, **fit)
    # A site's own mean only where the normals show a site effect (their pooled count in
    # excess of their class rate, p < pon_site_p); elsewhere the class rate: a mean from
    # a few normals' ~10 reads is noise that would cost power at every site.
    prior_floor = np.maximum(prior, stats.MIN_RATE)
    for mu, x_, n_ in ((mu_f, a.af, a.nf), (mu_r, a.ar, a.nr)):
        effect = stats.binom_sf(x_.sum(0), n_.sum(0), prior_floor) < params.pon_site_p
        mu[~effect] = prior_floor[~effect]
    return mu_f, site_rho_f, mu_r, site_rho_r


def _artifacts(
    a: _Alleles, dep: np.ndarray, cls_rate: np.ndarray, params: PonParams
) -> tuple[np.ndarray, np.ndarray]:
    """Per normal and column: an artifact-level allele, and a germline-looking one."""
    alt = a.af + a.ar
    germ = _germline(alt, dep)
    with np.errstate(divide="ignore", invalid="ignore"):
        vaf = np.where(dep > 0, alt / np.maximum(dep, 1), 0.0)
    # per normal: an allele in clear excess of that normal's own class rate (at panel
    # depth a VAF cut alone is crossed by noise: 0.3% is 6 reads where 3.3 are expected)
    excess = stats.binom_sf(alt, dep, cls_rate) < params.pon_artifact_p
    artifact = (alt >= params.min_alt) & (vaf >= params.pon_artifact_vaf) & excess & ~germ
    return artifact, germ


def build_pon(
    bams: list[str], fasta_path: str, bed: str, params: PonParams
) -> list[dict[str, object]]:
    """Rows in PON_COLUMNS order: every covered site x each non-reference base, plus
    every indel allele seen in a normal."""
    if len(bams) < params.pon_min_normals:
        raise InputError(
            f"a panel of normals needs at least {params.pon_min_normals} BAMs, got {len(bams)}",
            expected="normal DNA samples (samples.tsv column normal) or ch.pon_bams",
        )
    targets = read_bed(bed)
    pp = PileupParams(params.min_base_quality, params.min_mapping_quality)
    piles = []
    for b in bams:
        check_inputs(b, fasta_path, targets)
        piles.append(pileup_targets(b, fasta_path, targets, pp))
    st = _stack(piles)
    a = _alleles(st)
    rates = [stats.background(p) for p in piles]
    classes = [stats.sub_class(st.ref_of[s], al) for s, al in zip(a.site, a.allele, strict=True)]
    r0 = {cls: float(np.mean([r[cls] for r in rates])) for cls in (*stats.CLASSES, "indel")}
    prior = np.array([r0[c] for c in classes])
    mu_f, site_rho_f, mu_r, site_rho_r = _site_means(a, prior, params)
    snv_cols = np.array([al in BASES for al in a.allele], bool)
    glob_f = pooled_rho(
        a.af[:, snv_cols], a.nf[:, snv_cols], params.pon_rho_min, params.pon_rho_max
    )
    glob_r = pooled_rho(
        a.ar[:, snv_cols], a.nr[:, snv_cols], params.pon_rho_min, params.pon_rho_max
    )
    dep = st.depth[:, a.site]
    cls_rate = np.array([[r[c] for c in classes] for r in rates])
    artifact, germ = _artifacts(a, dep, cls_rate, params)
    n_art, n_germ = artifact.sum(0), germ.sum(0)
    need = min(params.pon_recurrent_normals, len(piles))
    own = n_art > 0  # sites with an artifact-level allele in a normal keep their own rho
    rho_f = np.where(own, np.maximum(site_rho_f, glob_f), glob_f)
    rho_r = np.where(own, np.maximum(site_rho_r, glob_r), glob_r)
    out = []
    with pysam.FastaFile(fasta_path) as fa:
        for i in np.lexsort((np.array(a.allele), a.site)):
            s = int(a.site[i])
            chrom, pos0 = st.keys[s]
            ref, altv = vcf_alleles(fa, chrom, pos0, st.ref_of[s], a.allele[i])
            values = (
                chrom,
                pos0 + 1,
                ref,
                altv,
                a.allele[i],
                int((dep[:, i] > 0).sum()),
                int(a.nf[:, i].sum()),
                int(a.nr[:, i].sum()),
                int(a.af[:, i].sum()),
                int(a.ar[:, i].sum()),
                float(mu_f[i]),
                float(rho_f[i]),
                float(mu_r[i]),
                float(rho_r[i]),
                int(n_art[i]),
                int(n_germ[i]),
                bool(n_art[i] >= need),
                bool(n_germ[i] >= 1),
            )
            out.append(dict(zip(PON_COLUMNS, values, strict=True)))
    return out


def _fmt(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def write_pon(rows: list[dict[str, object]], out: str | Path) -> None:
    """BGZF-compressed TSV (gzip-readable; bgzip so tabix can index it)."""
    with atomic_path(out) as tmp:
        plain = tmp.with_suffix(".plain.tsv")
        with open(plain, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, delimiter="\t", lineterminator="\n")
            w.writerow(PON_COLUMNS)
            for r in rows:
                w.writerow([_fmt(r[c]) for c in PON_COLUMNS])
        pysam.tabix_compress(str(plain), str(tmp), force=True)
        plain.unlink()


def read_pon(path: str | Path) -> dict[tuple[str, int, str], SiteModel]:
    """Site models keyed by (chrom, 0-based pileup position, pileup allele)."""
    out: dict[tuple[str, int, str], SiteModel] = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        rd = csv.reader(fh, delimiter="\t")
        header = next(rd, None)
        if header is None or [h for h in PON_COLUMNS if h not in header]:
            raise InputError(
                "not a marrowtox panel-of-normals table",
                file=path,
                expected="the columns " + ", ".join(PON_COLUMNS) + " (marrowtox ch-pon)",
            )
        ix = {h: i for i, h in enumerate(header)}
        for n, f in enumerate(rd, start=2):
            try:
                out[(f[ix["chrom"]], int(f[ix["pos"]]) - 1, f[ix["allele"]])] = SiteModel(
                    float(f[ix["mu_fwd"]]),
                    float(f[ix["rho_fwd"]]),
                    float(f[ix["mu_rev"]]),
                    float(f[ix["rho_rev"]]),
                    f[ix["recurrent"]] == "true",
                    f[ix["germline_population"]] == "true",
                )
            except (IndexError, ValueError):
                raise InputError(
                    "malformed panel-of-normals row", file=path, row=n, expected="PON_COLUMNS"
                ) from None
    return out


def site_pvalues(
    alt: np.ndarray,
    depth: np.ndarray,
    depth_fwd: np.ndarray,
    depth_rev: np.ndarray,
    models: list[SiteModel | None],
) -> np.ndarray:
    """One-sided P(X >= alt) under each candidate's site model (NaN without one).

    X ~ BetaBinom(depth, a, b) with mean mu the strand fits' means weighted by the
    sample's strand depths and rho the larger strand rho: a = mu (1 - rho) / rho,
    b = (1 - mu)(1 - rho) / rho (the Shearwater parametrisation)."""
    from scipy.stats import betabinom  # ~1 s import: only when a PON is used

    out = np.full(len(models), np.nan)
    has = np.array([m is not None for m in models], bool)
    if not has.any():
        return out
    ms = [m for m in models if m is not None]
    mf = np.array([m.mu_fwd for m in ms])
    mr = np.array([m.mu_rev for m in ms])
    rho = np.array([max(m.rho_fwd, m.rho_rev) for m in ms])
    df = np.asarray(depth_fwd, float)[has]
    dr = np.asarray(depth_rev, float)[has]
    tot = df + dr
    mu = np.where(tot > 0, (mf * df + mr * dr) / np.maximum(tot, 1), (mf + mr) / 2)
    mu = np.clip(mu, stats.MIN_RATE, 1 - stats.MIN_RATE)
    scale = (1 - rho) / rho
    k = np.asarray(alt, np.int64)[has]
    n = np.asarray(depth, np.int64)[has]
    a, b = mu * scale, (1 - mu) * scale
    # P(X >= k) = 1 - sum_{j<k} pmf(j): a few pmf terms for the many small counts (5x
    # faster than betabinom.sf's generic summation); sf where k is large or the tail is
    # so small that the subtraction would lose digits.
    small = k <= SMALL_K
    res = np.ones(k.size)
    if small.any():
        ks, ns, as_, bs = k[small], n[small], a[small], b[small]
        cdf = np.zeros(ks.size)
        for j in range(int(ks.max())):
            cdf += np.where(j < ks, betabinom.pmf(j, ns, as_, bs), 0.0)
        res[small] = np.clip(1.0 - cdf, 0.0, 1.0)
    exact = ~small | (res < 1e-8)
    if exact.any():
        res[exact] = betabinom.sf(k[exact] - 1, n[exact], a[exact], b[exact])
    out[has] = np.where(k <= 0, 1.0, res)
    return out
