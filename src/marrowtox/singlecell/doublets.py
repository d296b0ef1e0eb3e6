"""Doublet detection per sample with scanpy's scrublet (Wolock et al., Cell Syst 2019).

Run on one sample at a time, never on pooled samples: simulated doublets must come
from cells that could share a droplet. Scores and calls are kept in obs.
"""

from __future__ import annotations

import anndata as ad


def call_doublets(adata: ad.AnnData, expected_rate: float, seed: int, remove: bool) -> ad.AnnData:
    import scanpy as sc

    n_pcs = max(2, min(30, adata.n_obs - 1, adata.n_vars - 1))
    sc.pp.scrublet(
        adata,
        expected_doublet_rate=expected_rate,
        random_state=seed,
        n_prin_comps=n_pcs,
        # Exact kNN (scikit-learn) instead of scanpy's default pynndescent above 4,096
        # observed + simulated cells: pynndescent compiles with numba for ~50 s in every
        # new process (each sample is its own job) and approximates the neighbours that
        # the doublet score is computed from (environment-notes.md).
        use_approx_neighbors=False,
        verbose=False,
    )
    adata.obs["predicted_doublet"] = adata.obs["predicted_doublet"].astype(bool)
    adata.uns["doublet_calls"] = adata.obs[["doublet_score", "predicted_doublet"]].copy()
    if remove:
        adata = adata[~adata.obs["predicted_doublet"].to_numpy()].copy()
    adata.uns.pop("scrublet", None)
    return adata
