"""The cohort picture from a sketch: a per-sample cap of cells is integrated, the other
cells are placed by projection (issue 27).

Why: the cohort integration (HVG scaling, PCA, Harmony, neighbours, UMAP) holds dense
cells x genes and cells x cells structures, so its memory grew with the cohort (6.7 GB
at 100,000 cells). With `singlecell.integrate.sketch_cells_per_sample` those steps see
at most that many cells per sample; every other cell gets
- PCA coordinates from the sketch's own scaling and loadings (an exact linear map:
  a sketched cell projected this way lands on its own PCA coordinates),
- Harmony coordinates as its PCA coordinates plus the mean Harmony shift of its k
  nearest sketched cells of the same batch (Harmony's correction is a smooth shift
  per batch and cluster, so neighbours in the same batch share it),
- UMAP position and Leiden cluster from those same k neighbours (mean position,
  majority cluster): the picture shows it next to the cells it resembles, found
  within its own batch, where no batch effect separates it from its type (without a
  batch correction, its k nearest sketched cells in PCA space).
The sketch is a seeded uniform sample within each sample: every sample keeps cells,
and a population keeps its share of its sample. (A geometric sketch would keep more
rare cells; none is a pinned dependency here, and a per-sample cap of thousands keeps
populations of a few percent visible.) Nearest neighbours are scikit-learn's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp


def sketch_indices(groups: np.ndarray, cap: int, seed: int) -> np.ndarray:
    """Sorted row indices of at most `cap` rows per group, drawn uniformly (seeded).

    cap <= 0 keeps every row (no sketch)."""
    n = len(groups)
    if cap <= 0:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    keep = []
    codes, uniques = pd.factorize(np.asarray(groups), sort=True)
    for g in range(len(uniques)):
        rows = np.flatnonzero(codes == g)
        keep.append(rows if len(rows) <= cap else rng.choice(rows, cap, replace=False))
    return np.sort(np.concatenate(keep)) if keep else np.arange(0)


def project_pca(
    x: sp.spmatrix | np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    max_value: float | None,
    pca_mean: np.ndarray,
    loadings: np.ndarray,
    chunk: int = 5_000,
    rows: np.ndarray | None = None,
    cols: np.ndarray | None = None,
) -> np.ndarray:
    """PCA coordinates of cells (rows of the log-normalised HVG matrix `x`) under the
    sketch's scaling (`mean`, `std`, clip at `max_value`, as sc.pp.scale) and PCA
    (`pca_mean`, `loadings` genes x PCs). In chunks, so the dense scaled matrix is never
    held for every cell at once; `rows` and `cols` (indices into `x`) pick the cells and
    the HVG columns chunk by chunk, so no cells x HVGs copy of the cohort is made
    (5,000 cells x 2,000 HVGs: 80 MB per dense block)."""
    std = np.where(std == 0, 1.0, std)
    rows = np.arange(x.shape[0]) if rows is None else np.asarray(rows)
    out = np.empty((len(rows), loadings.shape[1]), dtype=np.float64)
    for start in range(0, len(rows), chunk):
        block = x[rows[start : start + chunk]]
        if cols is not None:
            block = block[:, cols]
        block = block.toarray() if sp.issparse(block) else np.asarray(block)
        z = (block - mean) / std
        if max_value is not None:
            np.minimum(z, max_value, out=z)
        z -= pca_mean
        out[start : start + chunk] = z @ loadings
    return out


def knn_mean(
    ref: np.ndarray, values: np.ndarray, query: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean of `values` over each query's k nearest reference rows, and those rows'
    indices (scikit-learn's exact search: deterministic)."""
    from sklearn.neighbors import NearestNeighbors

    k = max(1, min(k, len(ref)))
    idx = NearestNeighbors(n_neighbors=k).fit(ref).kneighbors(query, return_distance=False)
    return values[idx].mean(axis=1), idx


def transfer_shift(
    pca_ref: np.ndarray,
    corrected_ref: np.ndarray,
    batch_ref: np.ndarray,
    pca_query: np.ndarray,
    batch_query: np.ndarray,
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Corrected coordinates of query cells: their PCA coordinates plus the mean
    correction (corrected - PCA) of their k nearest reference cells of the same batch
    (all reference cells when the batch has none in the sketch); and those neighbours'
    rows in the reference (queries x k; -1 in the rows of a batch with fewer than k
    reference cells).

    The neighbours serve the UMAP position and cluster of the query too (`place`):
    within its own batch no batch effect separates a cell from its type, and one
    search instead of two halves the placement's time (11 of its 13 s at 100,000
    cells were the searches)."""
    shift = corrected_ref - pca_ref
    out = pca_query.copy()
    k = max(1, min(k, len(pca_ref)))
    idx = np.full((len(pca_query), k), -1, dtype=np.int64)
    for b in pd.unique(batch_query):
        q = batch_query == b
        r = batch_ref == b
        if not r.any():
            r = np.ones(len(batch_ref), dtype=bool)
        mean_shift, near = knn_mean(pca_ref[r], shift[r], pca_query[q], k)
        out[q] += mean_shift
        if near.shape[1] == k:
            idx[q] = np.flatnonzero(r)[near]
    return out, idx


def majority(labels: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The most frequent label among each row's neighbours (ties: the first in order)."""
    out = []
    for row in labels[idx]:
        values, counts = np.unique(row, return_counts=True)
        out.append(values[np.argmax(counts)])
    return np.asarray(out, dtype=labels.dtype)
