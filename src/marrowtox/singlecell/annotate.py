"""Marrow cell-type annotation from a shipped marker model, cluster-aware.

Per-cell marker scores (scanpy.tl.score_genes, seeded; relative to matched control
genes) are blended with the mean score of the cell's Leiden cluster: clusters carry the robust
signal, cells keep the power to differ from their cluster (e.g. a CD8 T cell in a
mixed T/NK cluster). A cell whose best type does not beat the runner-up by `margin`
is "unknown". Sets with fewer than `min_genes` markers present are skipped and
reported, never scored on one or two genes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import yaml

from marrowtox.celltypes import CELL_TYPES, UNKNOWN
from marrowtox.errors import InputError

#: Lineage of each type: the margin for "unknown" is taken against other lineages.
LINEAGE = {
    "HSC/MPP": "HSPC",
    "LMPP": "HSPC",
    "GMP/neutrophil": "myeloid",
    "monocyte": "myeloid",
    "DC": "myeloid",
    "pDC": "myeloid",
    "erythroid": "erythroid/MK",
    "megakaryocyte/MEP": "erythroid/MK",
    "pre-B/B": "B",
    "plasma": "B",
    "CD4 T": "T/NK",
    "CD8 T": "T/NK",
    "NK": "T/NK",
    "stromal": "stromal",
}


@dataclass(frozen=True)
class AnnotateParams:
    min_genes: int = 3
    cluster_weight: float = 0.75
    margin: float = 0.1
    seed: int = 0


def load_markers(path: str | Path, organism: str = "human") -> dict[str, list[str]]:
    with open(path, encoding="utf-8") as fh:
        model = yaml.safe_load(fh)
    out = {}
    for name, spec in model["cell_types"].items():
        if name not in CELL_TYPES:
            raise InputError(
                f"unknown cell type {name!r}", file=path, expected="one of " + ", ".join(CELL_TYPES)
            )
        genes = list(spec["genes"])
        if organism == "mouse":
            from marrowtox.singlecell.organism import to_mouse

            genes = [to_mouse(g) for g in genes]
        out[name] = genes
    return out


def annotate(
    adata: ad.AnnData, markers: dict[str, list[str]], params: AnnotateParams
) -> tuple[ad.AnnData, list[str]]:
    """Adds obs cell_type, cell_type_confidence and score_ct_<type>; returns skipped sets."""
    import scanpy as sc

    present = set(adata.var_names)
    used, skipped = {}, []
    for name, genes in markers.items():
        g = [x for x in genes if x in present]
        if len(g) < params.min_genes:
            skipped.append(f"{name} ({len(g)} of {len(genes)} markers present)")
        else:
            used[name] = g
    if not used:
        raise InputError(
            "no marker set has enough genes in the data",
            expected=f">= {params.min_genes} markers per set",
        )
    scores = {}
    for name, genes in used.items():
        sc.tl.score_genes(adata, genes, score_name="_tmp", random_state=params.seed, use_raw=False)
        scores[name] = adata.obs.pop("_tmp").to_numpy()
    s = pd.DataFrame(scores, index=adata.obs_names)
    # Raw scores, not z-scored across cells: z-scoring makes every type's score relative
    # to the dataset, which breaks on samples dominated by one lineage (a CAR T product
    # is almost all T cells). score_genes is already relative to matched control genes.
    z = s
    if "leiden" in adata.obs:
        cluster_mean = z.groupby(adata.obs["leiden"].to_numpy()).transform("mean")
        combined = (1 - params.cluster_weight) * z + params.cluster_weight * cluster_mean
    else:
        combined = z
    arr = combined.to_numpy()
    cols = np.array(combined.columns)
    order = np.argsort(-arr, axis=1)
    rows = np.arange(len(arr))
    best = arr[rows, order[:, 0]]
    labels = cols[order[:, 0]].astype(object)
    # "unknown" when the best type does not beat the best type of another lineage by
    # the margin: CD4 vs CD8 vs NK in shallow data is often close, the lineage is not.
    group = np.array([LINEAGE.get(c, c) for c in cols])
    other = np.where(group[None, :] != group[order[:, 0]][:, None], arr, -np.inf).max(axis=1)
    other = np.where(np.isfinite(other), other, best - 1.0)
    margin = best - other
    labels[margin < params.margin] = UNKNOWN
    within = best - arr[rows, order[:, 1]]
    adata.obs["cell_type"] = pd.Categorical(labels, categories=[*CELL_TYPES, UNKNOWN])
    # confidence: lead over the runner-up type (any lineage), squashed to 0.5-1
    adata.obs["cell_type_confidence"] = 1.0 / (1.0 + np.exp(-within * 4))
    for name in used:
        adata.obs[f"score_ct_{name}"] = s[name].to_numpy()
    return adata, skipped


def composition(obs: pd.DataFrame, sample: str) -> pd.DataFrame:
    """Cell-type counts and fractions of one sample (zeros are measured, so kept)."""
    from marrowtox.celltypes import HSPC_TYPES

    sub = obs[obs["sample"] == sample]
    counts = sub["cell_type"].astype(str).value_counts()
    rows = []
    n = len(sub)
    for t in [*CELL_TYPES, UNKNOWN]:
        k = int(counts.get(t, 0))
        rows.append(
            {
                "sample": sample,
                "cell_type": t,
                "n_cells": k,
                "fraction": k / n if n else np.nan,
                "is_hspc": t in HSPC_TYPES,
            }
        )
    return pd.DataFrame(rows)
