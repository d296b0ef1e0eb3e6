"""Background error model, calling test, intervals, strand bias and limit of detection.

Background: the sample's own error rate per substitution class (the 6 strand-
collapsed classes, e.g. C>A == G>T) and for indels, as a trimmed mean over positions,
so a few real variants do not inflate it. A call needs a significant excess of alt
reads over depth x error (one-sided binomial test, Benjamini-Hochberg across all
candidates). Why binomial rather than beta-binomial: with per-class rates estimated
from thousands of positions of the same run, over-dispersion between positions of
one sample is small at panel depth; the homopolymer and strand filters handle the
context-specific artifacts that do over-disperse.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binom, binomtest, fisher_exact
from statsmodels.stats.proportion import proportion_confint

COMP = {"A": "T", "C": "G", "G": "C", "T": "A"}
MIN_RATE = 1e-5


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


def background(pile: pd.DataFrame, alleles: pd.DataFrame) -> dict[str, float]:
    """Per-class error rates: mean over positions of (alt reads of the class / depth)."""
    rates: dict[str, float] = {}
    depth = pile.set_index(["chrom", "pos"])["depth"]
    classes = ["C>A", "C>G", "C>T", "T>A", "T>C", "T>G"]
    a = alleles.copy()
    a["cls"] = [sub_class(r, x) for r, x in zip(a["ref"], a["allele"], strict=True)]
    for cls in classes + ["indel"]:
        if cls == "indel":
            pos_mask = np.ones(len(pile), bool)
        else:
            refs = {cls[0], COMP[cls[0]]}
            pos_mask = pile["ref"].isin(refs).to_numpy()
        keys = list(zip(pile.loc[pos_mask, "chrom"], pile.loc[pos_mask, "pos"], strict=True))
        sub = a[a["cls"] == cls].groupby(["chrom", "pos"])["alt_count"].sum()
        counts = np.array([sub.get(k, 0) for k in keys], dtype=float)
        d = np.array([depth.get(k, 0) for k in keys], dtype=float)
        ok = d > 0
        rates[cls] = trimmed_mean(counts[ok] / d[ok]) if ok.any() else MIN_RATE
    return rates


def binom_pvalues(alt: np.ndarray, depth: np.ndarray, rate: np.ndarray) -> np.ndarray:
    return binom.sf(alt - 1, depth, rate)


def wilson(alt: np.ndarray, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = proportion_confint(alt, np.maximum(depth, 1), alpha=0.05, method="wilson")
    return np.asarray(lo), np.asarray(hi)


def strand_bias_p(ref_f: int, ref_r: int, alt_f: int, alt_r: int) -> float:
    return float(fisher_exact([[ref_f, ref_r], [alt_f, alt_r]])[1])


def germline_like(alt: int, depth: int, p_min: float = 1e-3) -> bool:
    """VAF consistent with a heterozygous (0.5) or homozygous (1.0) germline genotype."""
    if depth == 0:
        return False
    vaf = alt / depth
    if vaf > 0.9:
        return True
    return vaf > 0.3 and binomtest(alt, depth, 0.5).pvalue > p_min


def detection_threshold(depth: float, rate: float, alpha: float, min_alt: int) -> int:
    """Smallest alt count significant at `alpha` at this depth and error rate."""
    k = max(min_alt, 1)
    while k < depth and binom.sf(k - 1, depth, rate) >= alpha:
        k += 1
    return k


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
        if binom.sf(k - 1, d, mid) >= power:
            hi = mid
        else:
            lo = mid
    return hi
