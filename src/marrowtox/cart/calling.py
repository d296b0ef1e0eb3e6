"""Ambient-aware CAR+ calling from a count matrix.

A CAR UMI in a cell is evidence of a CAR transcript only beyond what ambient RNA
explains: CAR T cells lyse and release CAR mRNA into the droplet soup, so >= 1 UMI is
far too loose (clinical-definitions.md). The ambient CAR fraction is estimated from
empty droplets when a raw matrix is given, else from non-lymphoid cells (which cannot
hold a CAR); each cell's expected ambient CAR UMIs scale with its library size, a
one-sided Poisson test gives a p-value and Benjamini-Hochberg controls the FDR. Only
T/NK-lineage cells can be called CAR+. Without a CAR feature in the matrix the status
is "not measurable": never zeros.
"""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import false_discovery_control, poisson

from marrowtox.celltypes import NON_LYMPHOID_TYPES, T_NK_TYPES, T_TYPES

NOT_MEASURABLE = "not measurable: no CAR feature in the count matrix"


@dataclass(frozen=True)
class CarParams:
    fdr: float = 0.01
    min_umis: int = 3


@dataclass
class CarResult:
    status: str
    features: list[str]
    ambient_rate: float | None
    ambient_source: str | None
    threshold: float | None
    cells: pd.DataFrame | None


def _counts(adata: ad.AnnData):
    return adata.layers["counts"] if "counts" in adata.layers else adata.X


def call_car(
    adata: ad.AnnData,
    features: list[str],
    params: CarParams,
    empty_droplets: ad.AnnData | None = None,
) -> CarResult:
    present = [f for f in features if f in adata.var_names]
    if not present:
        return CarResult(NOT_MEASURABLE, [], None, None, None, None)
    x = _counts(adata)
    idx = [adata.var_names.get_loc(f) for f in present]
    car = np.asarray(x[:, idx].sum(axis=1)).ravel()
    total = np.asarray(x.sum(axis=1)).ravel()
    types = adata.obs["cell_type"].astype(str).to_numpy()
    if empty_droplets is not None and all(f in empty_droplets.var_names for f in present):
        ex = _counts(empty_droplets)
        e_car = float(
            np.asarray(ex[:, [empty_droplets.var_names.get_loc(f) for f in present]].sum())
        )
        e_tot = float(np.asarray(ex.sum()))
        rate, source = (e_car + 0.5) / (e_tot + 1.0), "empty droplets"
    else:
        ref = np.isin(types, list(NON_LYMPHOID_TYPES))
        # +0.5 pseudo-count: a clean soup still has a non-zero ambient expectation
        rate = (car[ref].sum() + 0.5) / (total[ref].sum() + 1.0) if ref.any() else 1e-6
        source = f"non-lymphoid cells (n={int(ref.sum())})"
    lam = np.maximum(rate * total, 1e-12)
    p = poisson.sf(car - 1, lam)
    lineage = np.isin(types, list(T_NK_TYPES))
    # FDR over the cells that can be CAR+ (T/NK lineage): testing myeloid cells would
    # only spend power on hypotheses that cannot be true.
    q = np.ones_like(p)
    if lineage.any():
        q[lineage] = false_discovery_control(p[lineage], method="bh")
    positive = (q < params.fdr) & (car >= params.min_umis) & lineage
    # threshold: smallest CAR UMI count called at the median library size
    med = float(np.median(total))
    cut = float(p[q < params.fdr].max()) if (q < params.fdr).any() else params.fdr / len(p)
    k = params.min_umis
    while poisson.sf(k - 1, rate * med) > cut and k < 1000:
        k += 1
    cells = pd.DataFrame(
        {
            "barcode": adata.obs_names,
            "cell_type": types,
            "car_umis": car.astype(int),
            "car_expected_ambient": lam,
            "car_p": p,
            "car_q": q,
            "car_positive": positive,
        }
    )
    return CarResult("measured", present, float(rate), source, float(k), cells)


def summary(sample: str, adata: ad.AnnData, res: CarResult, score_cols: list[str]) -> pd.DataFrame:
    types = adata.obs["cell_type"].astype(str)
    n_cells = adata.n_obs
    n_t = int(types.isin(list(T_TYPES)).sum())
    row: dict = {"sample": sample, "n_cells": n_cells, "n_t_cells": n_t}
    if res.status != "measured":
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
                "car_status": "measured",
                "car_features": ",".join(res.features),
                "ambient_rate": res.ambient_rate,
                "ambient_source": res.ambient_source,
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
