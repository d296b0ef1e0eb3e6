"""CAR+ calling from a count matrix, calibrated on real CAR UMI distributions.

Real 5' CAR T cells carry 1-3 CAR UMIs and 20-30% carry none (issue 24: 71-81% of
sorted CAR T cells hold >= 1), while lysed CAR T cells put CAR mRNA into the soup, so
neither ">= 1 UMI" nor a fixed floor fits: a floor of 3 called 11-12% of real CAR T
cells. Per sample:

1. ambient CAR rate per library UMI: with a raw matrix from its soup droplets (their
   CAR share, and their size against the cells' for the contamination), else from a
   contamination prior; plus the non-lymphoid cells (they cannot hold a CAR)
   (`ambient_prior`);
2. a two-component mixture over T/NK cells (the only cells that can be CAR T):
   ambient-only Poisson vs CAR-expressing negative binomial, both scaled by library
   size, fitted by EM (`mixture.py`);
3. per-cell P(CAR | UMIs) under the fit at the one-sided upper confidence bound of
   the ambient rate (`mixture.upper_ambient_fit`: a is often poorly known, and its
   best estimate can sit at half the truth); cells with >= 1 CAR UMI are called while
   the mean local fdr of the calls stays <= `fdr` (Bayesian FDR). No UMI floor: a cell with 1 UMI is
   called where the fit says 1 UMI is rarely ambient. A cell without a CAR UMI is
   never called (nothing in it is evidence), but the sample-level estimate counts it;
4. sample level: the mixture weight is the CAR T share corrected for detection
   sensitivity and for ambient false positives, with a profile-likelihood interval.

Without a CAR feature in the matrix the status is "not measurable"; with a feature
but no CAR UMI in any T/NK cell it is "not detected" with an upper bound: never a
bare zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

from marrowtox.cart import mixture
from marrowtox.celltypes import NON_LYMPHOID_TYPES, T_NK_TYPES, T_TYPES
from marrowtox.settings import section_defaults

NOT_MEASURABLE = "not measurable: no CAR feature in the count matrix"
NOT_DETECTED = "not detected"
MEASURED = "measured"
#: Jeffreys pseudo-count (UMIs) of the ambient estimate: a soup without a single CAR
#: UMI still has a non-zero ambient expectation, so one UMI is never certain CAR.
AMBIENT_PSEUDO_UMIS = 0.5

#: A call needs CAR to be the more probable state of the cell (posterior > 1/2), on
#: top of the Bayesian FDR of the set: the FDR alone would admit cells that are almost
#: surely ambient as long as many sure calls keep the mean local fdr low.
MIN_POSTERIOR = 0.5

_DEFAULTS = section_defaults("cart")


@dataclass(frozen=True)
class CarParams:
    """Settings of config `cart` (defaults: workflow/schemas/config.cart.schema.yaml)."""

    fdr: float = _DEFAULTS["fdr"]
    ambient_prior_cells: float = _DEFAULTS["ambient_prior_cells"]
    ambient_contamination_prior: float = _DEFAULTS["ambient_contamination_prior"]
    empty_min_umis: int = _DEFAULTS["empty_min_umis"]
    empty_min_droplets: int = _DEFAULTS["empty_min_droplets"]
    nb_shape: float = _DEFAULTS["nb_shape"]
    nb_shape_log_sd: float = _DEFAULTS["nb_shape_log_sd"]
    interval_level: float = _DEFAULTS["interval_level"]
    not_detected_sensitivity: float = _DEFAULTS["not_detected_sensitivity"]

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> CarParams:
        """From a cart section (config or CLI options); other keys are ignored."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in settings.items() if k in names})


@dataclass
class CarEstimate:
    """Sample-level CAR T share of T cells, corrected for sensitivity and ambient."""

    pct_of_t_est: float | None
    pct_of_t_lo: float | None
    pct_of_t_hi: float | None
    sensitivity: float | None
    fit: mixture.MixtureFit | None
    note: str
    #: the ambient rate the calls use: its one-sided upper confidence bound
    calling_ambient_rate: float | None = None


@dataclass
class CarResult:
    status: str
    features: list[str]
    ambient_rate: float | None
    ambient_source: str | None
    threshold: float | None
    cells: pd.DataFrame | None
    estimate: CarEstimate | None = None


def _counts(adata: ad.AnnData):
    return adata.layers["counts"] if "counts" in adata.layers else adata.X


def feature_sums(adata: ad.AnnData, features: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: CAR UMIs (sum over the CAR features) and library size without them."""
    x = _counts(adata)
    idx = [adata.var_names.get_loc(f) for f in features]
    car = np.asarray(x[:, idx].sum(axis=1)).ravel().astype(float)
    total = np.asarray(x.sum(axis=1)).ravel().astype(float)
    return car, np.maximum(total - car, 1.0)


@dataclass(frozen=True)
class SoupDroplets:
    """The soup droplets of a raw matrix (barcodes that are not cells, with at least
    `empty_min_umis` UMIs): their CAR UMIs, their UMIs of all other features, their
    median size (UMIs) and their number."""

    car: float
    library: float
    median_library: float
    n: int


def soup_droplets(
    empties: ad.AnnData | None, features: list[str], params: CarParams
) -> SoupDroplets | None:
    """The raw matrix's soup droplets, or None without a raw matrix (or the CAR features
    in it) or with fewer than `empty_min_droplets` of them. The barcodes past the
    empty-droplet plateau of a barcode-rank plot hold 1 to a few UMIs (not droplets
    with soup); they would make the soup per droplet look far smaller than it is, so
    they are left out."""
    if empties is None or not all(f in empties.var_names for f in features):
        return None
    car, lib = feature_sums(empties, features)
    keep = car + lib >= params.empty_min_umis
    if int(keep.sum()) < params.empty_min_droplets:
        return None
    return SoupDroplets(
        float(car[keep].sum()), float(lib[keep].sum()), float(np.median(lib[keep])), int(keep.sum())
    )


def ambient_prior(
    car: np.ndarray,
    lib: np.ndarray,
    reference: np.ndarray,
    soup: SoupDroplets | None,
    params: CarParams,
) -> tuple[mixture.AmbientPrior, str]:
    """What is known of the ambient CAR rate a (CAR UMIs per library UMI of a cell)
    before the T/NK cells, and where it came from.

    a = contamination x soup CAR share (SoupX, Young & Behjati 2020: a droplet's
    ambient UMIs are a share of its own). Both come from the soup droplets when a raw
    matrix is given: a cell droplet holds the soup an empty droplet holds (the
    "ambient plateau" of CellBender, Fleming et al. 2023, whose model gives cell and
    empty droplets the same ambient counts), so the contamination of a cell of median
    size is the soup droplets' median UMIs over the cells' median UMIs, and each soup
    droplet is a pure-ambient observation of a. Without a raw matrix the soup's CAR
    share comes from the cells (the soup is made of the sample's lysed cells) and the
    contamination from a prior (config ambient_contamination_prior: SoupX and
    CellBender report 2-10% in typical 10x runs) that weighs as much as
    `ambient_prior_cells` non-lymphoid cells at the median size. Either way the
    non-lymphoid cells (they cannot hold a CAR: all their CAR UMIs are ambient) add
    their own counts, so an unsorted marrow with thousands of myeloid cells leans on
    them and a sorted CD3+CAR+ sample with 3 monocytes (issue 24) on the soup droplets
    or the prior. The mixture fit then refines a with the T/NK cells (mixture.py).
    """
    c, t, n = float(car[reference].sum()), float(lib[reference].sum()), int(reference.sum())
    cells = f"non-lymphoid cells (n={n})"
    if soup is not None:
        # each soup droplet's UMIs scaled to the cell size whose soup it holds
        scale = float(np.median(lib)) / soup.median_library
        prior = mixture.AmbientPrior(c + soup.car + AMBIENT_PSEUDO_UMIS, t + soup.library * scale)
        return prior, (
            f"{cells}; soup droplets of the raw matrix (n={soup.n}, median "
            f"{soup.median_library:.0f} UMIs: contamination {1.0 / scale:.3f})"
        )
    share = float(car.sum() + AMBIENT_PSEUDO_UMIS) / float(lib.sum())
    kappa = params.ambient_prior_cells * float(np.median(lib))
    prior = mixture.AmbientPrior(
        c + kappa * params.ambient_contamination_prior * share + AMBIENT_PSEUDO_UMIS, t + kappa
    )
    return prior, f"{cells}; prior weight {kappa / (t + kappa):.2f}; soup from the cells"


def bayes_fdr_calls(lfdr: np.ndarray, eligible: np.ndarray, fdr: float) -> np.ndarray:
    """Call the eligible cells of lowest local fdr while their mean stays <= fdr: the
    expected share of ambient-only cells among the calls (Bayesian FDR, Efron 2007)."""
    called = np.zeros(len(lfdr), bool)
    idx = np.flatnonzero(eligible)
    if not len(idx):
        return called
    order = idx[np.argsort(lfdr[idx], kind="stable")]
    mean = np.cumsum(lfdr[order]) / np.arange(1, len(order) + 1)
    called[order[: int((mean <= fdr).sum())]] = True
    return called


def _threshold(fit: mixture.MixtureFit, lib: float, cutoff: float, k_max: int) -> float | None:
    """Smallest CAR UMI count called at the median library size (reported, not used)."""
    ks = np.arange(1, max(k_max, 1) + 1, dtype=float)
    lfdr = 1.0 - mixture.posterior_car(ks, np.full_like(ks, lib), fit)
    ok = np.flatnonzero(lfdr <= cutoff)
    return float(ks[ok[0]]) if len(ok) else None


def _to_pct_of_t(share_of_tnk: float, n_tnk: int, n_t: int) -> float | None:
    """A share of T/NK cells as % of T cells (CAR T cells annotated NK count, as in
    car_t_pct_of_t); capped at 100."""
    return min(100.0, 100.0 * share_of_tnk * n_tnk / n_t) if n_t else None


def undetected_bound(n_tnk: int, n_t: int, params: CarParams) -> float | None:
    """Upper bound (% of T cells) when no T/NK cell has a CAR UMI: the CAR T share f at
    which seeing none has probability 1 - level, (1 - f * s)^n = 1 - level, with the
    sensitivity s assumed low (config not_detected_sensitivity), so the bound is wide."""
    if not n_tnk:
        return None
    f = (1.0 - (1.0 - params.interval_level) ** (1.0 / n_tnk)) / params.not_detected_sensitivity
    return _to_pct_of_t(min(f, 1.0), n_tnk, n_t)


def _estimate(
    g: mixture.Grouped,
    fit: mixture.MixtureFit,
    ambient: mixture.AmbientPrior,
    lib_t: np.ndarray,
    n_tnk: int,
    n_t: int,
    params: CarParams,
) -> CarEstimate:
    shape = mixture.ShapePrior(params.nb_shape, params.nb_shape_log_sd)
    lo, hi = mixture.weight_interval(g, fit, ambient, shape, params.interval_level)
    sens = mixture.detection_sensitivity(lib_t, fit) if len(lib_t) else None
    note = "" if fit.converged else f"EM did not converge in {fit.iterations} iterations"
    return CarEstimate(
        _to_pct_of_t(fit.weight, n_tnk, n_t),
        _to_pct_of_t(lo, n_tnk, n_t),
        _to_pct_of_t(hi, n_tnk, n_t),
        sens,
        fit,
        note,
    )


def call_car(
    adata: ad.AnnData,
    features: list[str],
    params: CarParams,
    empty_droplets: ad.AnnData | None = None,
) -> CarResult:
    present = [f for f in features if f in adata.var_names]
    if not present:
        return CarResult(NOT_MEASURABLE, [], None, None, None, None)
    car, lib = feature_sums(adata, present)
    types = adata.obs["cell_type"].astype(str).to_numpy()
    reference = np.isin(types, list(NON_LYMPHOID_TYPES))
    soup = soup_droplets(empty_droplets, present, params)
    amb, source = ambient_prior(car, lib, reference, soup, params)
    if empty_droplets is not None and soup is None:
        source += (
            f"; raw matrix not used: fewer than {params.empty_min_droplets} soup droplets "
            f"(barcodes besides the cells with >= {params.empty_min_umis} UMIs) or no CAR "
            "feature in it"
        )
    a = amb.rate
    lineage = np.isin(types, list(T_NK_TYPES))
    n_tnk, n_t = int(lineage.sum()), int(np.isin(types, list(T_TYPES)).sum())
    post = np.zeros(len(car))
    threshold = None
    if car[lineage].sum() == 0:
        status = NOT_DETECTED
        estimate = CarEstimate(
            None,
            0.0 if n_t else None,
            undetected_bound(n_tnk, n_t, params),
            None,
            None,
            "no CAR UMI in any T/NK cell: upper bound at the assumed sensitivity "
            f"{params.not_detected_sensitivity:g}",
        )
    else:
        g = mixture.group_cells(car[lineage], lib[lineage])
        shape = mixture.ShapePrior(params.nb_shape, params.nb_shape_log_sd)
        fit = mixture.fit_mixture(g, amb, shape)
        a = fit.ambient_rate
        calling_fit = mixture.upper_ambient_fit(g, fit, amb, shape, params.interval_level)
        post[lineage] = mixture.posterior_car(car[lineage], lib[lineage], calling_fit)
        t_cells = np.isin(types, list(T_TYPES))
        estimate = _estimate(g, fit, amb, lib[t_cells], n_tnk, n_t, params)
        estimate.calling_ambient_rate = calling_fit.ambient_rate
        status = MEASURED
    positive = bayes_fdr_calls(
        1.0 - post, lineage & (car >= 1) & (post > MIN_POSTERIOR), params.fdr
    )
    if positive.any() and estimate.fit is not None:
        cutoff = float((1.0 - post[positive]).max())
        threshold = _threshold(calling_fit, float(np.median(lib[lineage])), cutoff, int(car.max()))
    elif status == MEASURED:
        status = NOT_DETECTED
    cells = pd.DataFrame(
        {
            "barcode": adata.obs_names,
            "cell_type": types,
            "car_umis": car.astype(int),
            "car_expected_ambient": a * lib,
            "car_posterior": post,
            "car_lfdr": np.where(lineage, 1.0 - post, np.nan),
            "car_positive": positive,
        }
    )
    return CarResult(status, present, float(a), source, threshold, cells, estimate)


CELL_COLUMNS = [
    "barcode",
    "cell_type",
    "car_umis",
    "car_expected_ambient",
    "car_posterior",
    "car_lfdr",
    "car_positive",
]


def _fit_text(e: CarEstimate) -> str:
    if e.fit is None:
        return e.note
    f = e.fit
    text = (
        f"CAR weight {f.weight:.3f} of T/NK cells; CAR rate {f.car_rate:.3g} per UMI; "
        f"NB shape {f.shape:.2f}; EM {f.iterations} iterations"
    )
    if e.calling_ambient_rate is not None:
        text += f"; calls at ambient rate {e.calling_ambient_rate:.3g} (upper bound)"

    return f"{text}; {e.note}" if e.note else text


def summary(sample: str, adata: ad.AnnData, res: CarResult, score_cols: list[str]) -> pd.DataFrame:
    types = adata.obs["cell_type"].astype(str)
    n_cells = adata.n_obs
    n_t = int(types.isin(list(T_TYPES)).sum())
    row: dict = {"sample": sample, "n_cells": n_cells, "n_t_cells": n_t}
    e = res.estimate
    if res.status == NOT_MEASURABLE or e is None:
        row.update(
            {
                "n_car_t": None,
                "car_t_pct_of_cells": None,
                "car_t_pct_of_t": None,
                "car_threshold": None,
                "car_status": res.status,
                "car_features": "",
                "ambient_rate": None,
                "ambient_source": "",
                "car_detection_sensitivity": None,
                "car_t_pct_of_t_est": None,
                "car_t_pct_of_t_lo": None,
                "car_t_pct_of_t_hi": None,
                "car_fit": "",
            }
        )
    else:
        n_car = int(res.cells["car_positive"].sum())
        row.update(
            {
                "n_car_t": n_car,
                "car_t_pct_of_cells": 100.0 * n_car / n_cells if n_cells else None,
                "car_t_pct_of_t": 100.0 * n_car / n_t if n_t else None,
                "car_threshold": res.threshold,
                "car_status": res.status,
                "car_features": ",".join(res.features),
                "ambient_rate": res.ambient_rate,
                "ambient_source": res.ambient_source,
                "car_detection_sensitivity": e.sensitivity,
                "car_t_pct_of_t_est": e.pct_of_t_est,
                "car_t_pct_of_t_lo": e.pct_of_t_lo,
                "car_t_pct_of_t_hi": e.pct_of_t_hi,
                "car_fit": _fit_text(e),
            }
        )
    pos = (
        adata.obs["car_positive"].to_numpy(dtype=bool)
        if "car_positive" in adata.obs
        else np.zeros(n_cells, bool)
    )
    for c in score_cols:
        name = "cart_score_" + c.removeprefix("score_").lower().removeprefix("tcell_")
        row[name] = float(adata.obs.loc[pos, c].mean()) if pos.any() else None
    row["cart_scores_note"] = (
        "" if pos.any() else "no CAR T cells: program scores of CAR T cells not measured"
    )
    return pd.DataFrame([row])


def is_sparse(x) -> bool:
    return sparse.issparse(x)
