"""Per-sample embedding for display: each sample's own HVGs, PCA, kNN and UMAP.

Why per sample: the patient report must never wait on the cohort picture (a cohort
integration that fails, is switched off or is still running would otherwise hold back
every report). A sample's own UMAP is also what a reader compares across time points
of one patient without another batch's cells shaping it. The cohort UMAP
(marrowtox.singlecell.integrate) remains, as a display leaf of its own.

The layout is of the sample's own kNN graph (marrowtox.singlecell.knn_graph), the one
the annotation smooths its labels over: with equal settings the per-sample job builds
it once, and `marrowtox sc-sample` alone builds the same graph from the counts.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import anndata as ad
import numpy as np

from marrowtox.singlecell import numba_cache
from marrowtox.singlecell.knn_graph import GraphSettings, knn_graph
from marrowtox.singlecell.lognorm import TARGET_SUM


@dataclass(frozen=True)
class EmbedParams:
    """Settings of the per-sample embedding; defaults in the schema (`singlecell.embed`)."""

    n_top_genes: int
    n_pcs: int
    n_neighbors: int
    min_cells_per_gene: int
    min_cells: int
    umap_epochs: int
    seed: int = 0

    @classmethod
    def from_config(cls, section: dict[str, Any], seed: int = 0) -> EmbedParams:
        from marrowtox.settings import section_defaults

        values = {**section_defaults("singlecell", "embed"), **section}
        names = {f.name for f in fields(cls)} - {"seed"}
        return cls(**{k: values[k] for k in names}, seed=seed)


@dataclass(frozen=True)
class Embedding:
    xy: np.ndarray | None  # cells x 2, None when the sample cannot be embedded
    note: str  # why not, or which HVG flavour ran when it fell back


def sample_embedding(
    counts: ad.AnnData,
    params: EmbedParams,
    exclude_genes: tuple[str, ...] = (),
    knn: ad.AnnData | None = None,
) -> Embedding:
    """UMAP of one sample (raw counts in X) laid out on its own kNN graph
    (marrowtox.singlecell.knn_graph): `knn` when the caller built it with this
    embedding's settings (the annotation's graph, in the per-sample job), else built
    here. One BLAS thread: as in the cohort integration, multi-threaded sums would
    make the layout depend on `--cores`."""
    from threadpoolctl import threadpool_limits

    if counts.n_obs < params.min_cells:
        return Embedding(None, f"{counts.n_obs} cells: fewer than {params.min_cells}")
    with threadpool_limits(limits=1):
        if knn is None:
            knn = _own_graph(counts, params, exclude_genes)
        if knn is None:
            return Embedding(None, f"{counts.n_obs} cells: no kNN graph")
        return _layout(knn, params)


def _own_graph(
    counts: ad.AnnData, params: EmbedParams, exclude_genes: tuple[str, ...]
) -> ad.AnnData | None:
    """The graph as the annotation builds it: library size over all genes, then the
    genes not left out (marrowtox.singlecell.steps.annotate_cells)."""
    import scanpy as sc

    lognorm = counts.copy()
    lognorm.layers["counts"] = lognorm.X.copy()
    sc.pp.normalize_total(lognorm, target_sum=TARGET_SUM)
    sc.pp.log1p(lognorm)
    keep = ~lognorm.var_names.isin(list(exclude_genes))
    return knn_graph(lognorm[:, keep], GraphSettings.of(params))


def _layout(knn: ad.AnnData, params: EmbedParams) -> Embedding:
    import scanpy as sc

    numba_cache.enable()  # before sc.tl.umap imports umap-learn (marrowtox.singlecell.numba_cache)

    graph = knn.copy()  # sc.tl.umap writes into it; the caller's graph stays as it was
    sc.tl.umap(graph, maxiter=params.umap_epochs, random_state=params.seed)
    return Embedding(np.asarray(graph.obsm["X_umap"], dtype=float), knn.uns.get("hvg_note", ""))
