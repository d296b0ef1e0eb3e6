"""The CAR caller's calibration grid: simulated samples (`simulate.py`) over ambient
levels, called by `calling.call_car`, scored against the planted truth.

Shared by tests/test_car_calibration.py (a small grid, asserted) and
bench/car_calibration.py (the full grid, printed), so both measure the same things:
the Done-when lines of issue 24 (false discoveries per ambient level, per-cell
sensitivity where ambient is low, coverage of the corrected CAR T % interval).
`compare_calling` measures other ways of calling from the same fits (the best fit,
the ambient rate integrated out, the true ambient rate) against the shipped one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from marrowtox.cart import mixture
from marrowtox.cart.calling import (
    MIN_POSTERIOR,
    NOT_MEASURABLE,
    CarParams,
    ambient_prior,
    bayes_fdr_calls,
    call_car,
    feature_sums,
    soup_droplets,
)
from marrowtox.cart.simulate import (
    CAR_FEATURE,
    Scenario,
    Simulated,
    random_scenario,
    simulate,
)
from marrowtox.celltypes import NON_LYMPHOID_TYPES, T_NK_TYPES

#: Contamination (ambient share of each droplet's UMIs): SoupX and CellBender report
#: 2-10% in typical 10x runs; 20% is a poor run.
LEVELS = (0.02, 0.05, 0.1, 0.2)
#: "ambient explains under 0.1 CAR UMI per cell" (issue 24 Done-when).
LOW_AMBIENT = 0.1
#: Per-sample sensitivity is read only where a sample has this many CAR T cells with
#: >= 1 CAR UMI: below it one cell moves the ratio by more than 5%.
MIN_HELD = 20


@dataclass(frozen=True)
class Grid:
    per_level: int = 12
    cells: int = 2000
    levels: tuple[float, ...] = LEVELS
    #: every `empty_every`-th sample comes with a raw matrix (3,000 empty droplets)
    empty_every: int = 3
    n_empty: int = 3000


def _simulated(level: float, i: int, seed: int, grid: Grid) -> tuple[Simulated, Scenario]:
    """Sample i of an ambient level; every `empty_every`-th with a raw matrix."""
    r = np.random.default_rng([seed, i])
    sc = random_scenario(r, level, grid.cells)
    if i % grid.empty_every == 0:
        sc = replace(sc, n_empty=grid.n_empty)
    return simulate(sc, seed=seed * 100 + i), sc


def measure(level: float, i: int, seed: int, grid: Grid, params: CarParams) -> dict:
    """One simulated sample, called, scored against its planted truth."""
    sim, sc = _simulated(level, i, seed, grid)
    res = call_car(sim.adata, [CAR_FEATURE], params, sim.empties)
    obs = sim.adata.obs
    truth = obs["car_t"].to_numpy(dtype=bool)
    called = res.cells["car_positive"].to_numpy(dtype=bool)
    held = truth & (res.cells["car_umis"].to_numpy() >= 1)
    e = res.estimate
    return {
        "level": level,
        "sample": i,
        "sorted": sc.sorted_sample,
        "raw_matrix": sc.n_empty > 0,
        "car_umis_mean": sc.car_umis_mean,
        "ambient_per_cell": sim.ambient_per_cell,
        "car_t": int(truth.sum()),
        "held": int(held.sum()),
        "calls": int(called.sum()),
        "false": int((called & ~truth).sum()),
        "true": int((called & truth).sum()),
        "truth": sim.truth_pct_of_t,
        "est": e.pct_of_t_est if e else None,
        "lo": e.pct_of_t_lo if e else None,
        "hi": e.pct_of_t_hi if e else None,
        "status": res.status,
    }


def run_grid(grid: Grid, params: CarParams | None = None) -> pd.DataFrame:
    """Every sample of the grid; seeds fixed by (level index, sample index)."""
    params = params or CarParams()
    rows = [
        measure(level, i, k + 1, grid, params)
        for k, level in enumerate(grid.levels)
        for i in range(grid.per_level)
    ]
    d = pd.DataFrame(rows)
    d["covered"] = (d["lo"] <= d["truth"]) & (d["truth"] <= d["hi"])
    d["sensitivity"] = (d["true"] / d["held"]).where(d["held"] > 0)
    return d


def false_discovery_by_level(d: pd.DataFrame) -> pd.Series:
    """False CAR+ calls / calls, pooled over the samples of each ambient level."""
    by = d.groupby("level")[["false", "calls"]].sum()
    return by["false"] / by["calls"]


def low_ambient_sensitivity(d: pd.DataFrame) -> tuple[float, pd.Series]:
    """Where ambient < LOW_AMBIENT CAR UMI per cell: calls among the CAR T cells with
    >= 1 CAR UMI, pooled, and per sample (samples with >= MIN_HELD such cells)."""
    low = d[d["ambient_per_cell"] < LOW_AMBIENT]
    pooled = float(low["true"].sum() / low["held"].sum())
    return pooled, low.loc[low["held"] >= MIN_HELD, "sensitivity"]


def coverage(d: pd.DataFrame) -> float:
    """Share of measured samples whose interval holds the true CAR T % of T cells."""
    return float(d.loc[d["status"] != NOT_MEASURABLE, "covered"].mean())


#: Ways of calling from the same per-sample fit, compared by `compare_calling`
#: (bench/car_calibration.py --variants); "upper end" is what call_car ships.
VARIANTS = ("best fit", "upper end", "one-sided upper end", "integrated", "true a")
#: The integrated variant sums the profile of log a in steps of this (a factor 1.28)
#: out to where the log-likelihood has dropped by PROFILE_TAIL nats (weight < 0.25%).
PROFILE_GRID_STEP = 0.25
PROFILE_TAIL = 6.0


def _profile_fits(
    g: mixture.Grouped,
    fit: mixture.MixtureFit,
    ambient: mixture.AmbientPrior,
    shape: mixture.ShapePrior,
) -> list[mixture.MixtureFit]:
    """Fits along the ambient rate's profile likelihood (pi, b, r re-fitted at each a)."""
    pts = [fit]
    for sign in (1.0, -1.0):
        prev, log_a = fit, np.log(fit.ambient_rate)
        while True:
            log_a += sign * PROFILE_GRID_STEP
            if not mixture.LOG_RATE_BOUNDS[0] <= log_a <= mixture.LOG_RATE_BOUNDS[1]:
                break
            prev = mixture.fit_at_ambient(g, log_a, prev, ambient, shape)
            pts.append(prev)
            if prev.loglik < fit.loglik - PROFILE_TAIL:
                break
    return pts


def _variant_posteriors(
    sim: Simulated, params: CarParams
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """P(CAR | k) of each T/NK cell under each VARIANTS way, and the T/NK mask. The
    integrated one weighs each profile point by its likelihood (flat prior on log a
    beyond the ambient prior already in it): the Bayesian answer to an unknown a."""
    adata = sim.adata
    car, lib = feature_sums(adata, [CAR_FEATURE])
    types = adata.obs["cell_type"].astype(str).to_numpy()
    ref = np.isin(types, list(NON_LYMPHOID_TYPES))
    amb, _ = ambient_prior(car, lib, ref, soup_droplets(sim.empties, [CAR_FEATURE], params), params)
    lineage = np.isin(types, list(T_NK_TYPES))
    k, n = car[lineage], lib[lineage]
    g = mixture.group_cells(k, n)
    shape = mixture.ShapePrior(params.nb_shape, params.nb_shape_log_sd)
    fit = mixture.fit_mixture(g, amb, shape)
    true_a = float(adata.obs["car_ambient_expected"].sum() / lib.sum())
    pts = _profile_fits(g, fit, amb, shape)
    ll = np.array([p.loglik for p in pts])
    w = np.exp(ll - logsumexp(ll))
    fits = {
        "best fit": fit,
        "upper end": mixture.upper_ambient_fit(g, fit, amb, shape, params.interval_level),
        "one-sided upper end": mixture.upper_ambient_fit(
            g, fit, amb, shape, 2.0 * params.interval_level - 1.0
        ),
        "true a": mixture.fit_at_ambient(g, np.log(true_a), fit, amb, shape),
    }
    post = {name: mixture.posterior_car(k, n, f) for name, f in fits.items()}
    post["integrated"] = sum(
        wi * mixture.posterior_car(k, n, p) for wi, p in zip(w, pts, strict=True)
    )
    return post, lineage


def compare_calling(grid: Grid, params: CarParams | None = None) -> pd.DataFrame:
    """Per sample and variant: calls, false calls, true calls, CAR T cells with >= 1 CAR
    UMI (Bayesian FDR calls as call_car makes them, from each variant's posteriors)."""
    params = params or CarParams()
    rows = []
    for j, level in enumerate(grid.levels):
        for i in range(grid.per_level):
            sim, sc = _simulated(level, i, j + 1, grid)
            post, lineage = _variant_posteriors(sim, params)
            truth = sim.adata.obs["car_t"].to_numpy(dtype=bool)[lineage]
            k = feature_sums(sim.adata, [CAR_FEATURE])[0][lineage]
            base = {
                "level": level,
                "sample": i,
                "sorted": sc.sorted_sample,
                "raw_matrix": sc.n_empty > 0,
                "ambient_per_cell": sim.ambient_per_cell,
                "held": int((truth & (k >= 1)).sum()),
            }
            for name in VARIANTS:
                p = post[name]
                called = bayes_fdr_calls(1.0 - p, (k >= 1) & (p > MIN_POSTERIOR), params.fdr)
                rows.append(
                    {
                        **base,
                        "variant": name,
                        "calls": int(called.sum()),
                        "false": int((called & ~truth).sum()),
                        "true": int((called & truth).sum()),
                    }
                )
    d = pd.DataFrame(rows)
    d["sensitivity"] = (d["true"] / d["held"]).where(d["held"] > 0)
    return d
