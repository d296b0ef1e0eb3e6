"""Per-sample embedding for display: each sample's own HVGs, PCA, kNN and UMAP.

Why per sample: the patient report must never wait on the cohort picture (a cohort
integration that fails, is switched off or is still running would otherwise hold back
every report). A sample's own UMAP is also what a reader compares across time points
of one patient without another batch's cells shaping it. The cohort UMAP
(marrowtox.singlecell.integrate) remains, as a display leaf of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import anndata as ad
import numpy as np

from marrowtox.singlecell import numba_cache
from marrowtox.singlecell.hvg import select_hvgs
from marrowtox.singlecell.pca import display_pca, display_scale


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
    counts: ad.AnnData, params: EmbedParams, exclude_genes: tuple[str, ...] = ()
) -> Embedding:
    """UMAP of one sample (raw counts in X). One BLAS thread: as in the cohort
    integration, multi-threaded sums would make the layout depend on `--cores`."""
    from threadpoolctl import threadpool_limits

    if counts.n_obs < params.min_cells:
        return Embedding(None, f"{counts.n_obs} cells: fewer than {params.min_cells}")
    with threadpool_limits(limits=1):
        return _embed(counts, params, exclude_genes)


def _embed(counts: ad.AnnData, params: EmbedParams, exclude_genes: tuple[str, ...]) -> Embedding:
    import scanpy as sc

    numba_cache.enable()  # before sc.tl.umap imports umap-learn (marrowtox.singlecell.numba_cache)

    seen = np.asarray((counts.X > 0).sum(axis=0)).ravel()
    usable = (seen >= params.min_cells_per_gene) & ~counts.var_names.isin(list(exclude_genes))
    usable &= ~counts.var_names.str.startswith(("MT-", "mt-"))
    if usable.sum() < 2:
        return Embedding(None, f"{int(usable.sum())} usable genes")
    hvg = select_hvgs(counts[:, usable], params.n_top_genes)
    # library size over all genes, as in annotation; then the HVGs only
    lognorm = counts.copy()
    sc.pp.normalize_total(lognorm, target_sum=1e4)
    sc.pp.log1p(lognorm)
    sub = lognorm[:, hvg.genes].copy()
    del lognorm
    display_scale(sub)
    n_pcs = min(params.n_pcs, sub.n_vars - 1, sub.n_obs - 1)
    display_pca(sub, n_pcs, params.seed)
    # Gaussian-kernel connectivities (as in annotation): scanpy's default UMAP kernel
    # compiles with numba for ~30 s in every new process; the layout itself compiles ~5 s.
    sc.pp.neighbors(
        sub,
        n_neighbors=params.n_neighbors,
        random_state=params.seed,
        transformer="sklearn",
        method="gauss",
    )
    sc.tl.umap(sub, maxiter=params.umap_epochs, random_state=params.seed)
    note = f"HVG flavour {hvg.flavour} ({hvg.note})" if hvg.note else ""
    return Embedding(np.asarray(sub.obsm["X_umap"], dtype=float), note)
