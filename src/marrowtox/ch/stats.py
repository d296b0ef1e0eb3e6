"""Background error model, calling test, intervals, strand bias and limit of detection.

Background: the sample's own error rate per substitution class (the 6 strand-
collapsed classes, e.g. C>A == G>T) and for indels, as a trimmed mean over positions,
so a few real variants do not inflate it. A call needs a significant excess of alt
reads over depth x error (one-sided binomial test, Benjamini-Hochberg across all
candidates). Why binomial rather than beta-binomial: with per-class rates estimated
from thousands of positions of the same run, over-dispersion between positions of
one sample is small at panel depth; the homopolymer and strand filters handle the
context-specific artifacts that do over-disperse.

Why closed forms over scipy.special rather than scipy.stats/statsmodels: importing
those two takes ~2.5 s on our nodes, longer than calling a whole panel sample. The
functions here are the textbook definitions (exact binomial tail via the regularised
incomplete beta, Wilson score interval, two-sided Fisher and binomial tests summing
outcomes no more likely than the observed one, Benjamini-Hochberg), and
tests/test_ch.py checks each against scipy.stats / statsmodels to 1e-9.
"""

from __future__ import annotations

import numpy as np
from scipy.special import bdtrc, gammaln

from marrowtox.ch.pileup import BASE_INDEX, Pileup

COMP = {"A": "T", "C": "G", "G": "C", "T": "A"}
MIN_RATE = 1e-5
CLASSES = ("C>A", "C>G", "C>T", "T>A", "T>C", "T>G")
#: scipy.stats' relative tolerance when comparing outcome probabilities in exact tests.
_REL = 1 + 1e-7


def sub_class(ref: str, alt: str) -> str:
    """Strand-collapsed substitution class with a pyrimidine reference (C>A, ..., T>G)."""
    if alt.startswith(("+", "-")):
        return "indel"
    if ref in "CT":
        return f"{ref}>{alt}"
    return f"{COMP[ref]}>{COMP[alt]}"


def trimmed_mean(x: np.ndarray, trim: float = 0.02) -> float:
    if x.size == 0:
        return MIN_RATE
    hi = np.quantile(x, 1 - trim)
    kept = x[x <= hi]
    return float(max(kept.mean() if kept.size else x.mean(), MIN_RATE))


def background(pile: Pileup) -> dict[str, float]:
    """Per-class error rates: trimmed mean over positions of (alt reads of the class / depth)."""
    tot = pile.snv.sum(axis=2).astype(float)  # positions x A,C,G,T
    depth = pile.depth.astype(float)
    covered = depth > 0
    rates: dict[str, float] = {}
    for cls in CLASSES:
        x, y = cls[0], cls[2]
        num = np.zeros(len(pile))
        mask = np.zeros(len(pile), bool)
        for r, a in ((x, y), (COMP[x], COMP[y])):
            m = pile.ref == r
            num[m] = tot[m, BASE_INDEX[a]]
            mask |= m
        ok = mask & covered
        rates[cls] = trimmed_mean(num[ok] / depth[ok]) if ok.any() else MIN_RATE
    ind = np.zeros(len(pile))
    for row, _, f, r in pile.indels:
        ind[row] += f + r
    rates["indel"] = trimmed_mean(ind[covered] / depth[covered]) if covered.any() else MIN_RATE
    return rates


def binom_sf(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """P(Binom(n, p) >= k), elementwise (scipy.stats.binom.sf(k - 1, n, p))."""
    k, n, p = np.broadcast_arrays(
        np.asarray(k, np.int64), np.asarray(n, np.int64), np.asarray(p, float)
    )
    out = np.where(k <= 0, 1.0, bdtrc(np.maximum(k - 1, 0), n, p))
    return np.where(k > n, 0.0, out)


def binom_pvalues(alt: np.ndarray, depth: np.ndarray, rate: np.ndarray) -> np.ndarray:
    return binom_sf(alt, depth, rate)


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (scipy.stats.false_discovery_control)."""
    p = np.asarray(p, float)
    n = p.size
    if n == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    q = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(q[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.clip(q, 0, 1)
    return out


def wilson(
    alt: np.ndarray, depth: np.ndarray, z: float = 1.959963984540054
) -> tuple[np.ndarray, np.ndarray]:
    """95% Wilson score interval of alt/depth (depth 0 treated as 1, as statsmodels)."""
    x = np.asarray(alt, float)
    n = np.maximum(np.asarray(depth, float), 1)
    phat = x / n
    denom = 1 + z**2 / n
    centre = (phat + z**2 / (2 * n)) / denom
    half = z * np.sqrt(phat * (1 - phat) / n + z**2 / (4 * n**2)) / denom
    return centre - half, centre + half


def _log_hypergeom(k: np.ndarray, row1: int, col1: int, total: int) -> np.ndarray:
    """log P(X = k), X ~ Hypergeometric: `col1` draws from `total` with `row1` successes."""

    def lchoose(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray:
        return (
            gammaln(np.asarray(a, float) + 1)
            - gammaln(np.asarray(b, float) + 1)
            - gammaln(np.asarray(a, float) - np.asarray(b, float) + 1)
        )

    return lchoose(row1, k) + lchoose(total - row1, col1 - k) - lchoose(total, col1)


def strand_bias_p(ref_f: int, ref_r: int, alt_f: int, alt_r: int) -> float:
    """Two-sided Fisher exact p of [[ref_f, ref_r], [alt_f, alt_r]] (scipy.stats.fisher_exact)."""
    row1, col1 = ref_f + ref_r, ref_f + alt_f
    total = ref_f + ref_r + alt_f + alt_r
    if total == 0 or row1 in (0, total) or col1 in (0, total):
        return 1.0
    support = np.arange(max(0, col1 - (total - row1)), min(row1, col1) + 1)
    logp = _log_hypergeom(support, row1, col1, total)
    observed = _log_hypergeom(np.array([ref_f]), row1, col1, total)[0]
    keep = logp <= observed + np.log(_REL)
    return float(min(1.0, np.exp(logp[keep]).sum()))


def binom_test_two_sided(k: int, n: int, p: float) -> float:
    """Exact two-sided binomial test (scipy.stats.binomtest(k, n, p).pvalue)."""
    if n == 0:
        return 1.0
    ks = np.arange(n + 1)
    logpmf = (
        gammaln(n + 1)
        - gammaln(ks + 1)
        - gammaln(n - ks + 1)
        + ks * np.log(p)
        + (n - ks) * np.log1p(-p)
    )
    keep = logpmf <= logpmf[k] + np.log(_REL)
    return float(min(1.0, np.exp(logpmf[keep]).sum()))


def germline_like(alt: int, depth: int, p_min: float = 1e-3) -> bool:
    """VAF consistent with a heterozygous (0.5) or homozygous (1.0) germline genotype."""
    if depth == 0:
        return False
    vaf = alt / depth
    if vaf > 0.9:
        return True
    return vaf > 0.3 and binom_test_two_sided(alt, depth, 0.5) > p_min


def detection_threshold(depth: float, rate: float, alpha: float, min_alt: int) -> int:
    """Smallest alt count significant at `alpha` at this depth and error rate."""
    d = int(round(depth))
    ks = np.arange(max(min_alt, 1), max(d, max(min_alt, 1)) + 1)
    sig = np.flatnonzero(binom_sf(ks, d, rate) < alpha)
    return int(ks[sig[0]]) if sig.size else int(ks[-1])


def limit_of_detection(
    depth: float, rate: float, alpha: float, min_alt: int, power: float = 0.95
) -> float:
    """Smallest VAF detected with `power` at this depth: P(Binom(depth, vaf) >= k*) >= power."""
    if depth <= 0:
        return float("nan")
    d = int(round(depth))
    k = detection_threshold(d, rate, alpha, min_alt)
    lo, hi = 0.0, 1.0
    for _ in range(50):
        mid = (lo + hi) / 2
        if binom_sf(k, d, mid) >= power:
            hi = mid
        else:
            lo = mid
    return hi
