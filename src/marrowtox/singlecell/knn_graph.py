"""One sample's own kNN graph: HVGs, scaling, PCA and Gaussian-kernel neighbours.

Why one function for two uses: the annotation smooths marker scores and reference
probabilities over this graph (marrowtox.singlecell.annotate), and the sample's own
UMAP (marrowtox.singlecell.embed) lays it out. With the same settings (the schema
defaults of `singlecell.annotate` and `singlecell.embed` agree) the per-sample job
builds it once and the picture shows the very graph the labels were smoothed over;
the graph was ~5 s of a 5,000-cell sample's 26 s, built twice (cProfile, issue 27).

The PCA is sklearn's exact `covariance_eigh` (marrowtox.singlecell.pca), not scanpy's
default ARPACK: 3.7 s of that graph at 5,000 cells. Checked before the switch
(session 11): the Leiden clusters were identical, and the kNN weights equal within
1e-8, on four real van Galen marrows (162-1,094 cells) and the real CAR T product
(4,813 cells), and the label tables byte-identical on three 5,000-cell bench samples.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, fields
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from marrowtox.singlecell.hvg import select_hvgs
from marrowtox.singlecell.pca import SCALE_MAX, SOLVER


@dataclass(frozen=True)
class GraphSettings:
    """What the graph depends on besides the cells: equal settings, equal graph."""

    n_top_genes: int
    n_pcs: int
    n_neighbors: int
    min_cells_per_gene: int
    seed: int

    @classmethod
    def of(cls, params: Any) -> GraphSettings:
        """The graph settings of an AnnotateParams or EmbedParams (same field names)."""
        return cls(*(getattr(params, f.name) for f in fields(cls)))


def knn_graph(adata: ad.AnnData, settings: GraphSettings) -> ad.AnnData | None:
    """The graph of one sample (X log-normalised, raw counts in layers['counts'], genes
    to leave out already removed), as an AnnData holding only obs names, X_pca,
    obsp['connectivities'|'distances'] and uns['neighbors'] (what sc.tl.umap and
    sc.tl.leiden read); None for a sample under 3 x n_neighbors cells or with fewer
    than 2 usable genes (no graph). One BLAS thread (the rule's `threads: 1`): sums
    in an order that does not depend on the machine's cores, so labels and picture
    are the same with any `--cores`."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _graph(adata, settings)


def _graph(adata: ad.AnnData, settings: GraphSettings) -> ad.AnnData | None:
    import scanpy as sc

    if adata.n_obs < 3 * settings.n_neighbors:
        return None
    n_cells = np.asarray((adata.layers["counts"] > 0).sum(axis=0)).ravel()
    usable = (n_cells >= settings.min_cells_per_gene) & ~adata.var_names.str.startswith(
        ("MT-", "mt-")
    )
    if usable.sum() < 2:
        print(f"per-sample graph: {int(usable.sum())} usable genes", file=sys.stderr)
        return None
    view = adata[:, usable]
    # seurat_v3 on the counts, with the fallback flavour a shallow or small sample needs
    # (its loess fails on ~150 Seq-Well-depth cells; marrowtox.singlecell.hvg)
    hvg = select_hvgs(
        ad.AnnData(view.layers["counts"], var=pd.DataFrame(index=view.var_names)),
        settings.n_top_genes,
    )
    if hvg.note:
        print(f"per-sample HVGs: {hvg.flavour} ({hvg.note})", file=sys.stderr)
    sub = adata[:, hvg.genes].copy()
    sc.pp.scale(sub, max_value=SCALE_MAX)
    n_pcs = min(settings.n_pcs, sub.n_vars - 1, sub.n_obs - 1)
    sc.tl.pca(sub, n_comps=n_pcs, svd_solver=SOLVER, random_state=settings.seed)
    # Gaussian-kernel connectivities: the default UMAP kernel compiles with numba for
    # ~30 s in every new process, paid here once per sample job (measured with cProfile).
    sc.pp.neighbors(
        sub,
        n_neighbors=settings.n_neighbors,
        random_state=settings.seed,
        transformer="sklearn",
        method="gauss",
    )
    graph = ad.AnnData(obs=pd.DataFrame(index=sub.obs_names))
    graph.obsm["X_pca"] = sub.obsm["X_pca"]
    for key in ("connectivities", "distances"):
        graph.obsp[key] = sub.obsp[key]
    graph.uns["neighbors"] = sub.uns["neighbors"]
    graph.uns["hvg_note"] = f"HVG flavour {hvg.flavour} ({hvg.note})" if hvg.note else ""
    return graph
