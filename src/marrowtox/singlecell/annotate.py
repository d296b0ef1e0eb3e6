"""Marrow cell types from a shipped marker model, scored in each sample's own gene space.

Why per sample: labels must not change when a patient is added to the cohort, and a
sample from another chemistry or panel must be judged on the genes it measured. Each
sample is clustered on its own (HVG, PCA, kNN, Leiden; seeded) and per-cell marker
scores (scanpy.tl.score_genes, relative to matched control genes of the same sample)
are blended with the mean score of the cell's own-sample cluster: clusters carry the
robust signal in shallow data, cells keep the power to differ from their cluster.

A marker set with fewer than `min_genes` markers measured in the sample is "not
assessable in this sample" and never becomes a label: a type is only called on
evidence. The per-type table (markers used, missing, status) is written per sample.

Confidence: a softmax over the blended scores of the assessable types with a stated
temperature, so it reads as a probability; the reliability table in the closing note
of issue 14 (bench/annotation_reliability.py) shows that the fraction correct rises
with it. A cell whose best type does not beat the best type of another lineage by
`margin`, or whose confidence is below `min_confidence`, is "unknown".
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import yaml

from marrowtox.celltypes import CELL_TYPES, LINEAGE, UNKNOWN
from marrowtox.errors import InputError
from marrowtox.singlecell.genespace import safe_key
from marrowtox.singlecell.knn_graph import GraphSettings, knn_graph


@dataclass(frozen=True)
class AnnotateParams:
    """Settings of marker annotation; defaults and descriptions live in the schema
    (workflow/schemas/config.singlecell.schema.yaml), built by `from_config`."""

    min_genes: int
    cluster_weight: float
    neighbour_weight: float
    reference_neighbour_weight: float
    marker_override: float
    margin: float
    temperature: float
    min_confidence: float
    n_top_genes: int
    n_pcs: int
    n_neighbors: int
    leiden_resolution: float
    min_cells_per_gene: int
    min_feature_share: float
    seed: int = 0

    @classmethod
    def from_config(cls, section: dict[str, Any], seed: int = 0) -> AnnotateParams:
        """From the `singlecell.annotate` section (schema defaults filled in)."""
        from marrowtox.settings import section_defaults

        values = {**section_defaults("singlecell", "annotate"), **section}
        names = {f.name for f in fields(cls)} - {"seed"}
        return cls(**{k: values[k] for k in names}, seed=seed)


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


def assess_markers(
    measured: pd.Index, markers: dict[str, list[str]], min_genes: int
) -> pd.DataFrame:
    """Per cell type: which markers the sample measured, and whether the set is scorable."""
    rows = []
    for name in CELL_TYPES:
        genes = markers.get(name, [])
        used = [g for g in genes if g in measured]
        missing = [g for g in genes if g not in measured]
        ok = len(used) >= min_genes
        if not genes:
            status = "no marker set in the model"
        elif ok:
            status = "scored"
        else:
            status = (
                f"not assessable in this sample: {len(used)} of {len(genes)} markers "
                f"measured (< {min_genes})"
            )
        rows.append(
            {
                "cell_type": name,
                "markers_in_model": len(genes),
                "markers_measured": len(used),
                "markers_used": ",".join(used),
                "markers_missing": ",".join(missing),
                "assessable": ok,
                "status": status,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class SampleGraph:
    """One sample's own Leiden clusters and kNN weights (rows sum to 1, self excluded),
    and the kNN graph they come from (marrowtox.singlecell.knn_graph; the sample's own
    UMAP lays it out when the settings agree)."""

    clusters: np.ndarray
    neighbours: Any  # scipy.sparse CSR, cells x cells
    knn: ad.AnnData


def sample_graph(adata: ad.AnnData, params: AnnotateParams) -> SampleGraph | None:
    """Clusters and kNN of one sample in its own embedding; None for samples too small
    to cluster (cells then stand alone)."""
    import scanpy as sc
    from scipy import sparse

    knn = knn_graph(adata, GraphSettings.of(params))
    if knn is None:
        return None
    sc.tl.leiden(
        knn,
        resolution=params.leiden_resolution,
        random_state=params.seed,
        flavor="igraph",
        n_iterations=2,
        directed=False,
    )
    clusters = knn.obs.pop("leiden").astype(str).to_numpy()
    knn.uns.pop("leiden", None)
    conn = sparse.csr_matrix(knn.obsp["connectivities"], dtype=np.float64)
    conn.setdiag(0)
    conn.eliminate_zeros()
    rows = np.asarray(conn.sum(axis=1)).ravel()
    weights = sparse.diags(np.divide(1.0, rows, out=np.zeros_like(rows), where=rows > 0)) @ conn
    return SampleGraph(clusters, sparse.csr_matrix(weights), knn)


def score_markers(
    adata: ad.AnnData,
    markers: dict[str, list[str]],
    params: AnnotateParams,
    clusters: np.ndarray | None,
    neighbours: Any = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-cell marker label, confidence and raw scores; and the per-type assessment.

    `adata.X` is the sample's log-normalised matrix in its own gene space. A cell's
    score is blended with the mean of its own-sample cluster (`cluster_weight`) and of
    its k nearest neighbours in the sample (`neighbour_weight`, rows of `neighbours`):
    neighbours smooth the noise of shallow cells without letting a large cluster absorb
    a small population the way a cluster mean does.
    """
    import scanpy as sc

    assess = assess_markers(adata.var_names, markers, params.min_genes)
    used = {r.cell_type: r.markers_used.split(",") for r in assess.itertuples() if r.assessable}
    out = pd.DataFrame(index=adata.obs_names)
    if not used:
        out["marker_label"] = UNKNOWN
        out["marker_confidence"] = np.nan
        return out, assess
    scores = {}
    for name, genes in used.items():
        sc.tl.score_genes(adata, genes, score_name="_tmp", random_state=params.seed, use_raw=False)
        scores[name] = adata.obs.pop("_tmp").to_numpy()
    s = pd.DataFrame(scores, index=adata.obs_names)
    # Raw scores, not z-scored across cells: z-scoring makes every type's score relative
    # to the sample, which breaks on samples dominated by one lineage (a CAR T product
    # is almost all T cells). score_genes is already relative to matched control genes.
    combined = s.copy()
    own = 1.0
    if clusters is not None and params.cluster_weight > 0:
        combined += params.cluster_weight * (s.groupby(clusters).transform("mean") - s)
        own -= params.cluster_weight
    if neighbours is not None and params.neighbour_weight > 0:
        weight = min(params.neighbour_weight, own)  # the two blends never exceed 1
        combined += weight * (
            pd.DataFrame(neighbours @ s.to_numpy(), index=s.index, columns=s.columns) - s
        )
    arr = combined.to_numpy()
    cols = np.array(combined.columns)
    order = np.argsort(-arr, axis=1)
    rows = np.arange(len(arr))
    best = arr[rows, order[:, 0]]
    labels = cols[order[:, 0]].astype(object)
    # softmax with the stated temperature: a probability-like confidence
    logits = (arr - best[:, None]) / params.temperature
    prob = np.exp(logits)
    prob /= prob.sum(axis=1, keepdims=True)
    confidence = prob[rows, order[:, 0]]
    # "unknown" when the best type does not beat the best type of another lineage by
    # the margin: CD4 vs CD8 vs NK in shallow data is often close, the lineage is not.
    group = np.array([LINEAGE[c] for c in cols])
    other = np.where(group[None, :] != group[order[:, 0]][:, None], arr, -np.inf).max(axis=1)
    other = np.where(np.isfinite(other), other, best - 1.0)
    unknown = (best - other < params.margin) | (confidence < params.min_confidence)
    labels[unknown] = UNKNOWN
    out["marker_label"] = labels
    out["marker_confidence"] = confidence
    for name in used:
        out[f"score_ct_{safe_key(name)}"] = s[name].to_numpy()
    return out, assess


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
