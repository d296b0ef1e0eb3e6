"""Pseudobulk: raw counts summed per sample and cell group, for DESeq2.

Single-cell differential expression that treats cells as replicates inflates false
discoveries (Squair et al., Nat Commun 2021;12:5692); summing a sample's cells of one
group into one profile keeps the sample as the unit. The sums are decoupler's
(dc.pp.pseudobulk); a profile from fewer than `min_cells` cells is refused (too noisy
to stand for its group), and genes too rarely counted to be tested are removed with
edgeR's filterByExpr rule as decoupler implements it (dc.pp.filter_by_expr; Chen, Lun
& Smyth, F1000Research 2016).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Pseudobulk:
    """Summed counts (profiles x genes), their metadata (sample, group, n_cells) and the
    profiles refused for too few cells (with the reason)."""

    counts: pd.DataFrame
    meta: pd.DataFrame
    refused: pd.DataFrame


def pseudobulk(adata, sample_col: str, group_col: str, min_cells: int) -> Pseudobulk:
    """Sum the raw counts (layer "counts") of each sample x group; profiles under
    `min_cells` cells go to `refused`."""
    import decoupler as dc

    pb = dc.pp.pseudobulk(
        adata, sample_col=sample_col, groups_col=group_col, layer="counts", mode="sum"
    )
    meta = pd.DataFrame(
        {
            "sample": pb.obs[sample_col].astype(str).to_numpy(),
            "group": pb.obs[group_col].astype(str).to_numpy(),
            "n_cells": pb.obs["psbulk_cells"].astype(int).to_numpy(),
        },
        index=pb.obs_names.astype(str),
    )
    X = pb.X.toarray() if hasattr(pb.X, "toarray") else np.asarray(pb.X)
    counts = pd.DataFrame(
        np.rint(X).astype(np.int64), index=meta.index, columns=pb.var_names.astype(str)
    )
    small = meta["n_cells"] < min_cells
    refused = meta[small].assign(
        reason=[f"{n} cells < minimum {min_cells}" for n in meta.loc[small, "n_cells"]]
    )
    return Pseudobulk(counts[~small.to_numpy()], meta[~small], refused)


def expressed_genes(
    counts: pd.DataFrame, groups: pd.Series, min_count: int, min_total_count: int
) -> list[str]:
    """Genes worth testing: decoupler's filterByExpr (enough counts in enough profiles of
    the smallest group)."""
    import anndata as ad
    import decoupler as dc

    a = ad.AnnData(
        counts.to_numpy(float), obs=pd.DataFrame({"group": groups.to_numpy()}, index=counts.index)
    )
    a.var_names = counts.columns
    keep = dc.pp.filter_by_expr(
        a, group="group", min_count=min_count, min_total_count=min_total_count, inplace=False
    )
    return list(np.asarray(keep))
