"""Doublet detection per sample with scanpy's scrublet (Wolock et al., Cell Syst 2019).

Run on one sample at a time, never on pooled samples: simulated doublets must come
from cells that could share a droplet. Scores and calls are kept in obs.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import anndata as ad


@dataclass(frozen=True)
class DoubletParams:
    """Scrublet settings; defaults in the schema (`singlecell.doublets`)."""

    expected_rate: float
    remove: bool
    mean_center: bool
    seed: int = 0

    @classmethod
    def from_config(cls, section: dict[str, Any], seed: int = 0) -> DoubletParams:
        from marrowtox.settings import section_defaults

        values = {**section_defaults("singlecell", "doublets"), **section}
        names = {f.name for f in fields(cls)} - {"seed"}
        return cls(**{k: values[k] for k in names}, seed=seed)


def call_doublets(adata: ad.AnnData, params: DoubletParams) -> ad.AnnData:
    import scanpy as sc

    n_pcs = max(2, min(30, adata.n_obs - 1, adata.n_vars - 1))
    sc.pp.scrublet(
        adata,
        expected_doublet_rate=params.expected_rate,
        random_state=params.seed,
        n_prin_comps=n_pcs,
        # mean_center=False (the schema default) keeps the observed + simulated matrix
        # sparse and reduces it by truncated SVD, as scrublet's authors advise for large
        # samples: centring densifies (cells x 2 + simulated) x HVGs in float64, 2.1 GB at
        # 5,000 cells x 20,000 genes against 0.7 GB sparse (bench/singlecell.py), with the
        # same doublet recall on the demo (docs/annotation.md).
        mean_center=params.mean_center,
        # Exact kNN (scikit-learn) instead of scanpy's default pynndescent above 4,096
        # observed + simulated cells: pynndescent compiles with numba for ~50 s in every
        # new process (each sample is its own job) and approximates the neighbours that
        # the doublet score is computed from (environment-notes.md).
        use_approx_neighbors=False,
        verbose=False,
    )
    adata.obs["predicted_doublet"] = adata.obs["predicted_doublet"].astype(bool)
    adata.uns["doublet_calls"] = adata.obs[["doublet_score", "predicted_doublet"]].copy()
    if params.remove:
        adata = adata[~adata.obs["predicted_doublet"].to_numpy()].copy()
    adata.uns.pop("scrublet", None)
    return adata
