"""propeller: differential abundance of cell types from sample-level proportions.

Phipson, Sim, Porrello, Hewitt, Powell & Oshlack, "propeller: testing for differences
in cell type proportions in single cell data", Bioinformatics 2022;38:4720 (R package
speckle). The unit of replication is the sample, not the cell: each sample's cell-type
proportions are transformed (logit with a 0.5 pseudocount, or arcsine square root), a
linear model is fitted per cell type across samples, and the residual variances are
shrunk towards a common prior with limma's empirical Bayes (Smyth, Stat Appl Genet Mol
Biol 2004;3:3), which stabilises the tiny per-cell-type sample sizes of a cohort.

Hand-written because speckle and limma are R packages (no R in this workflow) and
pertpy's scCODA/Milo pull a deep-learning stack the lock file does not hold. The linear
fit per cell type is statsmodels OLS; only limma's moment estimator of the prior
(fitFDist), its variance squeezing (squeezeVar) and trigammaInverse are transcribed
here, as small functions tested against their published definitions
(tests/test_composition_da.py). speckle's default is limma's *robust* eBayes; this is
the non-robust estimator (outlier cell types are few among ~15), stated in
docs/composition-da.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

#: speckle getTransformedProps: pseudocount added to each count before the logit
LOGIT_PSEUDOCOUNT = 0.5
TRANSFORMS = ("logit", "asin")


def transform_proportions(counts: pd.DataFrame, method: str) -> pd.DataFrame:
    """Samples x cell types counts -> transformed proportions, as speckle's
    getTransformedProps: logit of (count + 0.5) / (total + 0.5 * n_types), or the
    arcsine square root of the plain proportions."""
    if method not in TRANSFORMS:
        raise ValueError(f"transform {method!r}: expected one of {TRANSFORMS}")
    if method == "asin":
        props = counts.div(counts.sum(axis=1), axis=0)
        return np.arcsin(np.sqrt(props))
    pseudo = counts + LOGIT_PSEUDOCOUNT
    props = pseudo.div(pseudo.sum(axis=1), axis=0)
    return np.log(props / (1.0 - props))


def trigamma_inverse(x: float) -> float:
    """limma's trigammaInverse: the y with trigamma(y) = x, by Newton's method on
    1/trigamma (Smyth 2004, appendix)."""
    if x > 1e7:
        return 1.0 / np.sqrt(x)
    if x < 1e-6:
        return 1.0 / x
    y = 0.5 + 1.0 / x
    for _ in range(50):
        tri = float(special.polygamma(1, y))
        dif = tri * (1.0 - tri / x) / float(special.polygamma(2, y))
        y += dif
        if -dif / y < 1e-8:
            break
    return y


def fit_f_dist(var: np.ndarray, df: np.ndarray) -> tuple[float, float]:
    """limma fitFDist (no covariate): prior degrees of freedom d0 and scale s0^2 of the
    residual variances, by moments of log(s^2). Returns (d0, s0^2); d0 = inf when the
    variances are no more spread than sampling alone explains."""
    var = np.asarray(var, float)
    df = np.broadcast_to(np.asarray(df, float), var.shape)
    ok = (var > 0) & np.isfinite(var) & (df > 0)
    var, df = var[ok], df[ok]
    if var.size < 2:
        return float("inf"), float(np.mean(var)) if var.size else float("nan")
    e = np.log(var) - special.digamma(df / 2) + np.log(df / 2)
    emean = float(e.mean())
    evar = float(((e - emean) ** 2).sum() / (e.size - 1)) - float(
        special.polygamma(1, df / 2).mean()
    )
    if evar > 0:
        d0 = 2.0 * trigamma_inverse(evar)
        s0 = float(np.exp(emean + special.digamma(d0 / 2) - np.log(d0 / 2)))
        return d0, s0
    return float("inf"), float(np.exp(emean))


def squeeze_var(var: np.ndarray, df: np.ndarray) -> tuple[np.ndarray, float]:
    """limma squeezeVar: posterior variances (df*s^2 + d0*s0^2) / (df + d0) and d0."""
    var = np.asarray(var, float)
    df = np.broadcast_to(np.asarray(df, float), var.shape)
    d0, s0 = fit_f_dist(var, df)
    if not np.isfinite(d0):
        return np.full_like(var, s0), d0
    return (df * var + d0 * s0) / (df + d0), d0


@dataclass(frozen=True)
class LinearTest:
    """One coefficient tested per cell type (rows of `y`'s columns)."""

    y: pd.DataFrame  # samples x cell types (transformed proportions)
    design: pd.DataFrame  # samples x design columns (with intercept)
    coef: str  # design column whose coefficient is the effect
    conf_level: float
    moderate: bool = True


def linear_test(spec: LinearTest) -> pd.DataFrame:
    """Per cell type: effect (the coefficient, on the transformed scale), its standard
    error, moderated t, degrees of freedom, two-sided p and the conf_level interval.

    OLS per cell type (statsmodels); with `moderate` the residual variances are squeezed
    as limma's eBayes does, and the t statistic has df_residual + d0 degrees of freedom
    (capped at the pooled residual df, as limma caps df.total)."""
    import statsmodels.api as sm

    rows = []
    for ct in spec.y.columns:
        fit = sm.OLS(spec.y[ct].to_numpy(float), spec.design.to_numpy(float)).fit()
        k = list(spec.design.columns).index(spec.coef)
        unscaled = float(np.sqrt(fit.normalized_cov_params[k, k]))
        rows.append((ct, float(fit.params[k]), unscaled, float(fit.scale), float(fit.df_resid)))
    out = pd.DataFrame(rows, columns=["cell_type", "effect", "unscaled_se", "s2", "df_resid"])
    if spec.moderate:
        post, d0 = squeeze_var(out["s2"].to_numpy(), out["df_resid"].to_numpy())
        df_total = np.minimum(out["df_resid"] + d0, out["df_resid"].sum())
    else:
        post, df_total = out["s2"].to_numpy(), out["df_resid"]
    out["se"] = out["unscaled_se"] * np.sqrt(post)
    out["df"] = np.asarray(df_total, float)
    out["t"] = out["effect"] / out["se"]
    out["p_value"] = 2.0 * stats.t.sf(np.abs(out["t"]), out["df"])
    q = stats.t.ppf(0.5 + spec.conf_level / 2.0, out["df"])
    out["ci_low"] = out["effect"] - q * out["se"]
    out["ci_high"] = out["effect"] + q * out["se"]
    return out.drop(columns=["unscaled_se", "s2", "df_resid"])
