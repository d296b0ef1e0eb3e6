"""Cohort integration: merge, normalise, HVGs, PCA, Harmony, neighbours, UMAP, Leiden.

Choices and why:
- seurat_v3 HVGs on raw counts with the batch key, so one batch cannot dominate
  (falling back to scanpy's `seurat` flavour when a shallow batch breaks its loess);
- Harmony (harmonypy.run_harmony called directly: scanpy's wrapper transposes the
  output of harmonypy 2.x; see docs of this repo's environment notes) over batch;
- neighbours with the sklearn transformer: avoids pynndescent's numba compile
  (~50 s per process) and its csr_array incompatibility with scipy 1.17;
- fixed seeds everywhere, so reruns give identical obs/obsm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from marrowtox.singlecell import numba_cache
from marrowtox.singlecell.genespace import measured_mask
from marrowtox.singlecell.hvg import select_hvgs
from marrowtox.singlecell.pca import SCALE_MAX, display_pca, display_scale
from marrowtox.singlecell.sketch import (
    knn_mean,
    majority,
    project_pca,
    sketch_indices,
    transfer_shift,
)

#: counts per cell after sc.pp.normalize_total (scanpy's tutorial value, as everywhere here)
TARGET_SUM = 1e4


@dataclass(frozen=True)
class IntegrateParams:
    """Settings of the cohort embedding; defaults in the schema (`from_config`)."""

    n_top_genes: int
    n_pcs: int
    n_neighbors: int
    leiden_resolution: float
    min_cells_per_gene: int
    harmony_key: str
    umap_epochs: int
    sketch_cells_per_sample: int = 0
    sketch_max_cells: int = 0
    seed: int = 0

    def sketch_cap(self, n_samples: int) -> int:
        """Cells per sample in the sketch: sketch_cells_per_sample, lowered so that the
        sketch stays within sketch_max_cells whatever the number of samples (0: no
        such bound); 0 means no sketch."""
        cap = self.sketch_cells_per_sample
        if cap and self.sketch_max_cells and n_samples:
            cap = min(cap, max(1, self.sketch_max_cells // n_samples))
        return cap

    @classmethod
    def from_config(cls, section: dict[str, Any], seed: int = 0) -> IntegrateParams:
        """From the `singlecell.integrate` section (schema defaults filled in)."""
        from marrowtox.settings import section_defaults

        values = {**section_defaults("singlecell", "integrate"), **section}
        names = {f.name for f in fields(cls)} - {"seed"}
        return cls(**{k: values[k] for k in names}, seed=seed)


def merge(adatas: Sequence[ad.AnnData], samples: Sequence[str]) -> ad.AnnData:
    """Concatenate samples (outer join on genes); obs_names become <sample>:<barcode>.

    Genes a sample never measured are zero in X but False in varm['measured'] (one
    column per sample, named in uns['measured_samples']): downstream steps tell
    "measured and absent" from "not measured" (marrowtox.singlecell.genespace).
    """
    for a, s in zip(adatas, samples, strict=True):
        a.obs_names = [f"{s}:{b}" for b in a.obs_names]
    merged = ad.concat(list(adatas), join="outer", merge="same", fill_value=0)
    return _with_measured(merged, [a.var_names for a in adatas], samples)


def merge_files(paths: Sequence[str], samples: Sequence[str], scratch: str | Path) -> ad.AnnData:
    """merge() of the samples' h5ad files, without holding them all twice: anndata's
    concat_on_disk writes the concatenation (the same outer join, fill and "same"
    merge as ad.concat) to a file in `scratch` in pieces of bounded size, read back once.

    Why: ad.concat of the loaded samples holds every sample and the merged copy at
    once, 2.4 GB at 100,000 cells for a 1.2 GB matrix (the cohort picture's peak,
    issue 27); this way 1.8 GB, and 4 s instead of 7 s.
    """
    from anndata.experimental import concat_on_disk

    genes, sizes = [], []
    for path in paths:
        backed = ad.read_h5ad(path, backed="r")
        genes.append(backed.var_names.copy())
        sizes.append(backed.n_obs)
        backed.file.close()
    tmp = Path(scratch) / "merged.h5ad"
    concat_on_disk([str(p) for p in paths], str(tmp), join="outer", merge="same", fill_value=0)
    merged = ad.read_h5ad(tmp)
    tmp.unlink()
    prefix = np.repeat(np.asarray(samples, dtype=object), sizes)
    merged.obs_names = [f"{s}:{b}" for s, b in zip(prefix, merged.obs_names, strict=True)]
    return _with_measured(merged, genes, samples)


def _with_measured(
    merged: ad.AnnData, genes: Sequence[pd.Index], samples: Sequence[str]
) -> ad.AnnData:
    merged.X = merged.X.tocsr()
    merged.varm["measured"] = measured_mask(genes, merged.var_names)
    merged.uns["measured_samples"] = list(samples)
    merged.var["n_samples_measured"] = merged.varm["measured"].sum(axis=1)
    return merged


def integrate(
    adata: ad.AnnData, params: IntegrateParams, exclude_genes: Sequence[str] = ()
) -> ad.AnnData:
    """Runs with BLAS/OpenMP limited to one thread: multi-threaded BLAS sums in an order
    that depends on the thread count, and UMAP amplifies those float32 last-bit
    differences into a different layout, so `--cores 1` and `--cores 2` (Snakemake sets
    the job's thread count) would give different embeddings (tests/test_rerun.py)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _integrate(adata, params, exclude_genes)


def _integrate(
    adata: ad.AnnData, params: IntegrateParams, exclude_genes: Sequence[str] = ()
) -> ad.AnnData:
    n_cells = _cells_per_gene(adata.X)
    usable = (n_cells >= params.min_cells_per_gene) & ~adata.var_names.isin(list(exclude_genes))
    usable &= ~adata.var_names.str.startswith(("MT-", "mt-"))
    if "measured" in adata.varm:
        # HVGs and PCA on genes every sample measured: a gene missing from one panel
        # would otherwise separate batches by design, not by biology.
        usable &= np.asarray(adata.varm["measured"]).all(axis=1)
    # HVGs on the raw counts of the usable genes, with a fallback flavour for small or
    # shallow batches (marrowtox.singlecell.hvg).
    batch_key = params.harmony_key if adata.obs[params.harmony_key].nunique() > 1 else None
    # with a sketch, HVGs come from the sketched cells (the genes the PCA is fitted on)
    of = _sample_of(adata)
    on = sketch_indices(of, params.sketch_cap(len(set(of))), params.seed)
    hvg = select_hvgs(
        adata[:, usable] if len(on) == adata.n_obs else adata[on][:, usable],
        params.n_top_genes,
        batch_key,
    )
    adata.var["highly_variable"] = adata.var_names.isin(hvg.genes)
    notes = [f"HVG flavour fell back to {hvg.flavour}: {hvg.note}"] if hvg.note else []
    # Counts stay as a layer (the same matrix object, not a copy); X becomes log-normalised.
    adata.layers["counts"] = adata.X
    adata.X = lognorm_sharing_index(adata.X)
    if len(on) < adata.n_obs:
        return _integrate_sketch(adata, params, on, batch_key, hvg.flavour, notes)
    sub = adata[:, adata.var["highly_variable"].to_numpy()].copy()
    display_scale(sub)
    n_pcs = min(params.n_pcs, sub.n_vars - 1, sub.n_obs - 1)
    display_pca(sub, n_pcs, params.seed)
    adata.obsm["X_pca"] = sub.obsm["X_pca"]
    rep = "X_pca"
    z = _harmony(sub.obsm["X_pca"], adata.obs, batch_key, params.seed, notes)
    if z is not None:
        adata.obsm["X_pca_harmony"] = z
        rep = "X_pca_harmony"
    _layout(adata, rep, params)
    adata.uns["integration"] = {
        "hvg_flavour": hvg.flavour,
        "harmony": "yes" if rep == "X_pca_harmony" else "no",
        "note": "; ".join(notes),
    }
    return adata


def lognorm_sharing_index(counts: Any, block: int = 10_000) -> Any:
    """log1p of sc.pp.normalize_total (target 1e4) of CSR counts, the same values, as a
    matrix that shares the counts' index arrays: only the values are new, 4 bytes per
    stored count instead of 8 (the cohort object keeps both, issue 27). Computed by
    scanpy on blocks of `block` cells (both steps work cell by cell), so its
    temporaries are a block's, not the cohort's (they were 1.8 GB at 100,000 cells)."""
    import scanpy as sc
    from scipy import sparse

    data = np.empty_like(counts.data)
    for start in range(0, counts.shape[0], block):
        stop = min(start + block, counts.shape[0])
        lo, hi = counts.indptr[start], counts.indptr[stop]
        part = ad.AnnData(
            sparse.csr_matrix(
                (
                    counts.data[lo:hi].copy(),
                    counts.indices[lo:hi],
                    counts.indptr[start : stop + 1] - lo,
                ),
                shape=(stop - start, counts.shape[1]),
            )
        )
        sc.pp.normalize_total(part, target_sum=TARGET_SUM)
        sc.pp.log1p(part)
        data[lo:hi] = part.X.data  # same structure: both steps keep every stored entry
    return sparse.csr_matrix((data, counts.indices, counts.indptr), shape=counts.shape)


def _cells_per_gene(counts: Any) -> np.ndarray:
    """Cells with a count of each gene: from the CSR's column indices once its explicit
    zeros are dropped (in place), without the cells x genes boolean copy that
    `(X > 0).sum(axis=0)` makes (0.7 GB at 100,000 cells)."""
    from scipy import sparse

    if not sparse.issparse(counts):
        return np.asarray((counts > 0).sum(axis=0)).ravel()
    counts.sum_duplicates()  # canonical: one stored entry per cell and gene
    counts.eliminate_zeros()
    return np.bincount(counts.indices, minlength=counts.shape[1])


def _harmony(
    pca: np.ndarray, obs: pd.DataFrame, batch_key: str | None, seed: int, notes: list[str]
) -> np.ndarray | None:
    """Harmony-corrected PCs (cells x PCs), or None without a batch key or when Harmony
    fails (the reason goes to `notes`: the picture is then drawn uncorrected)."""
    import harmonypy

    if batch_key is None:
        return None
    try:
        ho = harmonypy.run_harmony(pca, obs, [batch_key], random_state=seed, verbose=False)
    except (ValueError, np.linalg.LinAlgError) as err:
        notes.append(f"Harmony failed ({err}); embedding not batch-corrected")
        return None
    z = np.asarray(ho.Z_corr)
    return z.T if z.shape[0] != len(obs) else z


def _layout(adata: ad.AnnData, rep: str, params: IntegrateParams) -> None:
    """kNN graph, UMAP and Leiden clusters on `rep` (in place)."""
    import scanpy as sc

    numba_cache.enable()  # before sc.tl.umap imports umap-learn

    sc.pp.neighbors(
        adata,
        n_neighbors=params.n_neighbors,
        use_rep=rep,
        random_state=params.seed,
        transformer="sklearn",
    )
    sc.tl.umap(adata, maxiter=params.umap_epochs, random_state=params.seed)
    sc.tl.leiden(
        adata,
        resolution=params.leiden_resolution,
        random_state=params.seed,
        flavor="igraph",
        n_iterations=2,
        directed=False,
    )


def _sample_of(adata: ad.AnnData) -> np.ndarray:
    """Each cell's sample: the prefix of its merged name <sample>:<barcode> (merge)."""
    return np.asarray(adata.obs_names.str.split(":", n=1).str[0])


def _integrate_sketch(
    adata: ad.AnnData,
    params: IntegrateParams,
    sketch: np.ndarray,
    batch_key: str | None,
    flavour: str,
    notes: list[str],
) -> ad.AnnData:
    """The embedding fitted on the sketched cells, every other cell placed by projection
    (marrowtox.singlecell.sketch). X is already log-normalised for every cell."""
    hv = adata.var["highly_variable"].to_numpy()
    sub = adata[sketch, hv].copy()
    display_scale(sub)
    n_pcs = min(params.n_pcs, sub.n_vars - 1, sub.n_obs - 1)
    display_pca(sub, n_pcs, params.seed)
    pca_sketch = np.asarray(sub.obsm["X_pca"], dtype=np.float64)
    loadings = np.asarray(sub.varm["PCs"], dtype=np.float64)
    scaled_mean = np.asarray(sub.X.mean(axis=0)).ravel()
    mean, std = sub.var["mean"].to_numpy(), sub.var["std"].to_numpy()
    del sub
    rest = np.setdiff1d(np.arange(adata.n_obs), sketch)
    pca = np.empty((adata.n_obs, n_pcs))
    pca[sketch] = pca_sketch
    pca[rest] = project_pca(
        adata.X, mean, std, SCALE_MAX, scaled_mean, loadings, rows=rest, cols=np.flatnonzero(hv)
    )
    adata.obsm["X_pca"] = pca.astype(np.float32)
    rep = pca
    z = _harmony(pca_sketch, adata.obs.iloc[sketch], batch_key, params.seed, notes)
    if z is not None:
        batch = adata.obs[batch_key].astype(str).to_numpy()
        rep = np.empty_like(pca)
        rep[sketch] = z
        rep[rest] = transfer_shift(
            pca_sketch, z, batch[sketch], pca[rest], batch[rest], params.n_neighbors
        )
        adata.obsm["X_pca_harmony"] = rep
    small = ad.AnnData(obs=adata.obs.iloc[sketch][[]].copy())
    small.obsm["rep"] = rep[sketch]
    _layout(small, "rep", params)
    umap = np.empty((adata.n_obs, 2), dtype=np.float32)
    umap[sketch] = small.obsm["X_umap"]
    umap[rest], idx = knn_mean(rep[sketch], small.obsm["X_umap"], rep[rest], params.n_neighbors)
    adata.obsm["X_umap"] = umap
    leiden = np.empty(adata.n_obs, dtype=object)
    leiden[sketch] = small.obs["leiden"].astype(str).to_numpy()
    leiden[rest] = majority(leiden[sketch], idx)
    adata.obs["leiden"] = pd.Categorical(leiden)
    adata.obs["in_sketch"] = np.isin(np.arange(adata.n_obs), sketch)
    notes.append(
        f"sketch: embedding fitted on {len(sketch)} of {adata.n_obs} cells (at most "
        f"{params.sketch_cap(len(set(_sample_of(adata))))} per sample); the others placed "
        "by projection "
        "and their nearest sketched cells"
    )
    adata.uns["integration"] = {
        "hvg_flavour": flavour,
        "harmony": "yes" if "X_pca_harmony" in adata.obsm else "no",
        "note": "; ".join(notes),
    }
    return adata
