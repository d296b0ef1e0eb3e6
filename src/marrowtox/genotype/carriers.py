"""Which cell types carry a clone: mutant-cell fractions and a test against background.

Per variant and cell type, `alt_cell_fraction` is the share of covered cells with >= 1
alt UMI. That share is a lower bound of the carrier fraction: a heterozygous carrier
covered by one UMI shows the reference allele half the time, and ambient alt molecules
push it up in non-carriers. `mutant_fraction` corrects both, cell by cell from its UMI
count (`mutant_detection_probability`, the null probability below, `_unmix`), under a
stated mutant allele fraction of expression (`mutant_allele_fraction`, 0.5 for a
heterozygous, evenly expressed mutation; allelic imbalance biases it), with the Wilson
interval mapped the same way.

Why a background from cell types that cannot carry the clone (e.g. T/NK cells for a
myeloid clone) rather than from base qualities: alt UMIs in non-carriers come mostly
from ambient RNA of lysed mutant cells and from PCR/sequencing errors fixed in a UMI,
both of which hit every droplet of the sample alike and neither of which base qualities
see. The background rate of a variant is

    rate = max(error_floor, (alt_bg + error_floor * prior_umis) / (umis_bg + prior_umis))

over the background cells' UMIs: a prior of `prior_umis` pseudo-UMIs at the base-error
floor, so a background of a few UMIs cannot make the rate 0 or 0.5, and with no
background cells covered the rate is the floor itself. A background cell type is tested
against the other background types only (leave-one-out), not against itself.

Test: a non-carrier cell with u UMIs shows >= 1 alt UMI with probability
1 - (1 - rate)^u. The number of mutant cells among the covered cells of a type is then
Poisson-binomial; the test is the one-sided binomial test (scipy.stats.binomtest) with
the MEAN of those per-cell probabilities. For a given mean, the binomial upper tail
bounds the Poisson-binomial one above the mean (Hoeffding 1956), so the p-value is
conservative, never anti-conservative. p-values are per test, not corrected for the
number of variants x cell types: choose `alpha` accordingly. Intervals are 95% Wilson
score intervals (marrowtox.ch.stats.wilson).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from marrowtox.ch.stats import wilson
from marrowtox.genotype.count import GenotypeParams

if TYPE_CHECKING:
    import pandas as pd

SUMMARY_COLUMNS = [
    "variant",
    "cell_type",
    "cells_covered",
    "cells_alt",
    "alt_cell_fraction",
    "mutant_fraction",
    "ci_low",
    "ci_high",
    "background_rate",
    "p_value",
    "call",
]
CARRIER, NOT_CARRIER, NOT_COVERED = "carrier", "not carrier", "not covered"
CALLS = (CARRIER, NOT_CARRIER, NOT_COVERED)


def background_rate(alt_umis: float, umis: float, error_floor: float, prior_umis: float) -> float:
    """Alt-UMI rate of non-carrier cells, shrunk towards and bounded below by the floor."""
    rate = (alt_umis + error_floor * prior_umis) / (umis + prior_umis)
    return float(max(error_floor, rate))


def null_alt_cell_probability(umis: np.ndarray, rate: float) -> np.ndarray:
    """P(a non-carrier cell with `umis` UMIs shows >= 1 alt UMI) = 1 - (1 - rate)^umis."""
    return -np.expm1(np.asarray(umis, float) * np.log1p(-rate))


def mutant_detection_probability(
    umis: np.ndarray, rate: float, allele_fraction: float
) -> np.ndarray:
    """P(a mutant cell with `umis` UMIs shows >= 1 alt UMI): each UMI is the mutant allele
    with probability `allele_fraction` (0.5 for a heterozygous, evenly expressed
    mutation), else an ambient/error alt at `rate`."""
    p_alt = allele_fraction + (1 - allele_fraction) * rate
    return -np.expm1(np.asarray(umis, float) * np.log1p(-p_alt))


def _unmix(observed: float, p_null: float, p_mutant: float) -> float:
    """Mutant-cell fraction f from the share of cells with an alt UMI:
    observed = f * p_mutant + (1 - f) * p_null, solved for f and clipped to [0, 1]
    (applied to the Wilson bounds too: the map is monotone, so it keeps the coverage)."""
    if p_mutant <= p_null:
        return float("nan")
    return float(min(1.0, max(0.0, (observed - p_null) / (p_mutant - p_null))))


def carrier_table(
    counts: pd.DataFrame,
    cell_types: pd.Series,
    background_types: Iterable[str] = (),
    params: GenotypeParams | None = None,
    variants: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per variant x cell type (SUMMARY_COLUMNS), sorted by variant and cell type.

    `counts` is the long table of marrowtox.genotype.count; `cell_types` maps barcode to
    cell type (cells without a type are left out). Every cell type of the mapping gets a
    row for every variant, including those without covered cells ("not covered"), and so
    does every id of `variants` absent from `counts`: absence of data stays visible.
    """
    import pandas as pd
    from scipy.stats import binomtest

    params = params or GenotypeParams()
    background = set(background_types)
    types = cell_types.dropna().astype(str)
    types = types[types != ""]
    all_types = sorted(set(types))
    df = counts.merge(types.rename("cell_type"), left_on="barcode", right_index=True, how="inner")
    df = df.assign(umis=df["ref_umis"] + df["alt_umis"] + df["other_umis"])
    df = df[df["umis"] > 0]
    ids = sorted(set(counts["variant"]) | set(variants or ()))
    rows = []
    for vid in ids:
        v = df[df["variant"] == vid]
        by_type = {t: g for t, g in v.groupby("cell_type", sort=True)}
        for t in all_types:
            g = by_type.get(t)
            covered = 0 if g is None else len(g)
            n_alt = 0 if g is None else int((g["alt_umis"] > 0).sum())
            bg = v[v["cell_type"].isin(background - {t})]
            rate = background_rate(
                float(bg["alt_umis"].sum()),
                float(bg["umis"].sum()),
                params.error_floor,
                params.prior_umis,
            )
            if covered:
                lo, hi = wilson(np.array([n_alt]), np.array([covered]))
                umis = g["umis"].to_numpy()
                p0 = float(null_alt_cell_probability(umis, rate).mean())
                p = binomtest(n_alt, covered, p0, alternative="greater").pvalue
                obs = n_alt / covered
                # exact bounds where the closed form leaves rounding residue (~1e-17)
                obs_lo = 0.0 if n_alt == 0 else float(lo[0])
                obs_hi = 1.0 if n_alt == covered else float(hi[0])
                d = float(
                    mutant_detection_probability(umis, rate, params.mutant_allele_fraction).mean()
                )
                frac, ci_low, ci_high = (_unmix(x, p0, d) for x in (obs, obs_lo, obs_hi))
            else:
                p = obs = frac = ci_low = ci_high = float("nan")
            if covered < params.min_cells:
                call = NOT_COVERED
            elif p < params.alpha:
                call = CARRIER
            else:
                call = NOT_CARRIER
            rows.append((vid, t, covered, n_alt, obs, frac, ci_low, ci_high, rate, float(p), call))
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    return out.astype({"cells_covered": "int64", "cells_alt": "int64"})
