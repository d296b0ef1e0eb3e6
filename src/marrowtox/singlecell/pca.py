"""Scaling and PCA of the HVG matrix for the cohort picture, and the PCA solver of
every embedding here (the per-sample graph too: marrowtox.singlecell.knn_graph).

Why float32 for the scaled matrix: sc.pp.scale densifies a sparse matrix as float64,
640 MB for the 40,000 sketched cells of a 100,000-cell cohort, beside the cohort's
counts (the picture's peak, issue 27); from a float32 dense copy it scales in float32
(values within 3e-7 of the float64 ones: a display).

Why `covariance_eigh`: the scaled HVG matrix is dense, cells x ~2,000 genes, and
scanpy's default for it (sklearn's ARPACK) iterates matrix products until the 30
components converge: 28 s of the cohort picture's 133 s at 100,000 cells (40,000
sketched; cProfile). The eigendecomposition of the 2,000 x 2,000 covariance is exact
as well (the same components up to float rounding), in one pass over the cells, and
deterministic with one BLAS thread (marrowtox.singlecell.integrate.fit_sketch).
The per-sample graph of annotation and sample UMAP uses it too
(marrowtox.singlecell.knn_graph says how the labels were checked not to move).
"""

from __future__ import annotations

import anndata as ad

#: sklearn PCA solver (exact; scanpy passes it through for in-memory dense input)
SOLVER = "covariance_eigh"
#: sc.pp.scale's clip of the scaled HVG values (scanpy's tutorial value)
SCALE_MAX = 10


def display_scale(sub: ad.AnnData) -> None:
    """sc.pp.scale on `sub` (in place, clipped at SCALE_MAX), on a float32 dense copy
    of a sparse X."""
    import numpy as np
    import scanpy as sc
    from scipy import sparse

    if sparse.issparse(sub.X):
        sub.X = sub.X.toarray().astype(np.float32, copy=False)
    sc.pp.scale(sub, max_value=SCALE_MAX)


def display_pca(sub: ad.AnnData, n_pcs: int, seed: int) -> None:
    """sc.tl.pca on `sub` (in place: obsm['X_pca'], varm['PCs'], uns['pca'])."""
    import scanpy as sc

    sc.tl.pca(sub, n_comps=n_pcs, svd_solver=SOLVER, random_state=seed)
