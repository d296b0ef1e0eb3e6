"""Gene-set scores aggregated per sample and cell type, and the HSPC inflammation index.

Rows per cell type, plus aggregates "HSPC" (marrowtox.celltypes.HSPC_TYPES), "CAR T"
and "non-CAR T" (T cells without a CAR call). Two summaries per row:
- mean_score: mean of the per-cell scores;
- pseudobulk_score: the cells' counts summed, normalised to log1p CPM, then the mean
  of the set's genes minus the mean of all detected genes (robust to dropout in
  shallow data, where per-cell scores are noisy).
index_vs_baseline: (mean_score - baseline mean) / baseline per-cell SD, for the same
cell type and set in the patient's baseline marrow (or, when the patient has none,
in all baseline marrows of the cohort); 0 for the baseline sample itself by
construction. In units of baseline SDs, so it is comparable across sets and patients.
"""

from __future__ import annotations

from collections.abc import Sequence

import anndata as ad
import numpy as np
import pandas as pd

from marrowtox.celltypes import HSPC_TYPES, T_TYPES

COLUMNS = [
    "sample",
    "cell_type",
    "gene_set",
    "n_cells",
    "mean_score",
    "pseudobulk_score",
    "baseline_mean_score",
    "baseline_sd",
    "index_vs_baseline",
    "baseline_source",
]


def groups(obs: pd.DataFrame) -> dict[str, np.ndarray]:
    types = obs["cell_type"].astype(str).to_numpy()
    out = {t: types == t for t in sorted(set(types))}
    out["HSPC"] = np.isin(types, list(HSPC_TYPES))
    if "car_positive" in obs:
        car = obs["car_positive"].to_numpy(dtype=bool)
        out["CAR T"] = car
        out["non-CAR T"] = np.isin(types, list(T_TYPES)) & ~car
    return out


def _pseudobulk(adata: ad.AnnData, mask: np.ndarray, genes: list[str]) -> float | None:
    if mask.sum() == 0:
        return None
    x = adata.layers["counts"] if "counts" in adata.layers else adata.X
    summed = np.asarray(x[mask].sum(axis=0)).ravel()
    total = summed.sum()
    if total == 0:
        return None
    logcpm = np.log1p(summed / total * 1e6)
    idx = [adata.var_names.get_loc(g) for g in genes if g in adata.var_names]
    detected = logcpm[summed > 0]
    return float(logcpm[idx].mean() - detected.mean()) if idx else None


def by_celltype(
    sample: str,
    adata: ad.AnnData,
    score_cols: Sequence[str],
    set_genes: dict[str, list[str]],
    baseline_obs: pd.DataFrame | None,
    baseline_source: str,
) -> pd.DataFrame:
    rows = []
    base_groups = groups(baseline_obs) if baseline_obs is not None else {}
    for name, mask in groups(adata.obs).items():
        for col in score_cols:
            gs = col.removeprefix("score_")
            vals = adata.obs.loc[mask, col].to_numpy(dtype=float)
            b_mean = b_sd = idx = None
            if baseline_obs is not None and name in base_groups and col in baseline_obs:
                bv = baseline_obs.loc[base_groups[name], col].to_numpy(dtype=float)
                if bv.size >= 3:
                    b_mean, b_sd = float(bv.mean()), float(bv.std(ddof=1))
                    if vals.size and b_sd > 0:
                        idx = (float(vals.mean()) - b_mean) / b_sd
            rows.append(
                {
                    "sample": sample,
                    "cell_type": name,
                    "gene_set": gs,
                    "n_cells": int(mask.sum()),
                    "mean_score": float(vals.mean()) if vals.size else None,
                    "pseudobulk_score": _pseudobulk(adata, mask, set_genes.get(gs, [])),
                    "baseline_mean_score": b_mean,
                    "baseline_sd": b_sd,
                    "index_vs_baseline": idx,
                    "baseline_source": baseline_source if b_mean is not None else "none",
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)
