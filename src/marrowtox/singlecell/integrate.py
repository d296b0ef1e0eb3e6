"""The cohort picture: HVGs, PCA, Harmony, neighbours, UMAP and Leiden fitted on a
sketch of cells, every other cell placed by projection, block by block while the
cohort object is written (marrowtox.singlecell.cohort_store), so the job's memory is
set by the sketch, not the cohort (issue 27).

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
from marrowtox.singlecell.cohort_store import MergedCounts, scan, write_cohort
from marrowtox.singlecell.hvg import select_hvgs
from marrowtox.singlecell.lognorm import lognorm_sharing_index
from marrowtox.singlecell.pca import SCALE_MAX, display_pca, display_scale
from marrowtox.singlecell.sketch import (
    knn_mean,
    majority,
    project_pca,
    sketch_indices,
    transfer_shift,
)


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


@dataclass(frozen=True)
class SketchFit:
    """The embedding fitted on the sketched cells, and what placing any other cell
    needs (marrowtox.singlecell.sketch)."""

    rows: np.ndarray  # the sketched rows of the cohort (sorted)
    hv: np.ndarray  # column indices of the HVGs
    mean: np.ndarray  # the sketch's scaling of the HVGs
    std: np.ndarray
    scaled_mean: np.ndarray
    loadings: np.ndarray  # HVGs x PCs
    pca: np.ndarray  # sketched cells x PCs
    corrected: np.ndarray | None  # their Harmony coordinates (None: not corrected)
    batch: np.ndarray | None  # their batches (None: one batch)
    umap: np.ndarray
    leiden: np.ndarray
    hvg_flavour: str
    notes: tuple[str, ...]


def usable_genes(
    var_names: pd.Index,
    cells_per_gene: np.ndarray,
    measured: np.ndarray,
    params: IntegrateParams,
    exclude_genes: Sequence[str] = (),
) -> np.ndarray:
    """Genes the picture may use: seen in min_cells_per_gene cells, not excluded, not
    mitochondrial, and measured by every sample (a gene missing from one panel would
    otherwise separate batches by design, not by biology)."""
    usable = (cells_per_gene >= params.min_cells_per_gene) & ~var_names.isin(list(exclude_genes))
    usable &= ~var_names.str.startswith(("MT-", "mt-"))
    return usable & np.asarray(measured).all(axis=1)


def fit_sketch(
    sketch: ad.AnnData, rows: np.ndarray, usable: np.ndarray, params: IntegrateParams
) -> SketchFit:
    """HVGs (raw counts, batch-aware, with the fallback flavour for small or shallow
    batches: marrowtox.singlecell.hvg), scaling, PCA, Harmony, neighbours, UMAP and
    Leiden of the sketched cells (`sketch`: their raw counts, all genes, obs with the
    Harmony key), with BLAS/OpenMP on one thread: multi-threaded BLAS sums in an order
    that depends on the thread count, and UMAP amplifies those float32 last-bit
    differences into a different layout, so `--cores 1` and `--cores 2` would give
    different pictures (tests/test_rerun.py)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _fit(sketch, rows, usable, params)


def _fit(
    sketch: ad.AnnData, rows: np.ndarray, usable: np.ndarray, params: IntegrateParams
) -> SketchFit:
    key = params.harmony_key
    batch_key = key if sketch.obs[key].nunique() > 1 else None
    hvg = select_hvgs(sketch[:, usable], params.n_top_genes, batch_key)
    notes = [f"HVG flavour fell back to {hvg.flavour}: {hvg.note}"] if hvg.note else []
    hv = np.flatnonzero(sketch.var_names.isin(hvg.genes))
    sub = ad.AnnData(lognorm_sharing_index(sketch.X)[:, hv], obs=sketch.obs[[]].copy())
    display_scale(sub)
    n_pcs = min(params.n_pcs, sub.n_vars - 1, sub.n_obs - 1)
    display_pca(sub, n_pcs, params.seed)
    pca = np.asarray(sub.obsm["X_pca"], dtype=np.float64)
    scaling = (sub.var["mean"].to_numpy(), sub.var["std"].to_numpy())
    scaled_mean = np.asarray(sub.X.mean(axis=0)).ravel()
    loadings = np.asarray(sub.varm["PCs"], dtype=np.float64)
    del sub
    z = _harmony(pca, sketch.obs, batch_key, params.seed, notes)
    small = ad.AnnData(obs=sketch.obs[[]].copy())
    small.obsm["rep"] = pca if z is None else z
    _layout(small, "rep", params)
    return SketchFit(
        rows=np.asarray(rows),
        hv=hv,
        mean=scaling[0],
        std=scaling[1],
        scaled_mean=scaled_mean,
        loadings=loadings,
        pca=pca,
        corrected=z,
        batch=None if z is None else sketch.obs[key].astype(str).to_numpy(),
        umap=np.asarray(small.obsm["X_umap"], dtype=np.float32),
        leiden=small.obs["leiden"].astype(str).to_numpy(),
        hvg_flavour=hvg.flavour,
        notes=tuple(notes),
    )


@dataclass
class Placement:
    """Every cell's coordinates: the sketch's own for sketched cells, placed for the
    others (filled block by block by `place`)."""

    pca: np.ndarray
    corrected: np.ndarray | None
    umap: np.ndarray
    leiden: np.ndarray

    @classmethod
    def of_sketch(cls, fit: SketchFit, n_obs: int) -> Placement:
        n_pcs = fit.pca.shape[1]
        # float32 like X_pca: per cell this is what grows with the cohort (a float64
        # corrected copy alone was n_pcs x 8 B a cell, 240 B at 30 PCs)
        out = cls(
            pca=np.empty((n_obs, n_pcs), dtype=np.float32),
            corrected=(
                None if fit.corrected is None else np.empty((n_obs, n_pcs), dtype=np.float32)
            ),
            umap=np.empty((n_obs, 2), dtype=np.float32),
            leiden=np.empty(n_obs, dtype=object),
        )
        out.pca[fit.rows] = fit.pca
        if out.corrected is not None:
            out.corrected[fit.rows] = fit.corrected
        out.umap[fit.rows] = fit.umap
        out.leiden[fit.rows] = fit.leiden
        return out


def place(
    fit: SketchFit,
    placement: Placement,
    start: int,
    lognorm: Any,
    batch: np.ndarray | None,
    params: IntegrateParams,
) -> None:
    """Place the cells of a block (rows start.. of the cohort, log-normalised, all
    genes; `batch` their batches) that are not in the sketch: PCA through the sketch's
    scaling and loadings, Harmony as the mean shift of their nearest sketched cells of
    the same batch, UMAP position and Leiden cluster from those same-batch neighbours
    (marrowtox.singlecell.sketch). One BLAS thread, as in `fit_sketch`."""
    from threadpoolctl import threadpool_limits

    rows = np.arange(start, start + lognorm.shape[0])
    local = np.flatnonzero(~np.isin(rows, fit.rows))
    if not len(local):
        return
    with threadpool_limits(limits=1):
        pca = project_pca(
            lognorm, fit.mean, fit.std, SCALE_MAX, fit.scaled_mean, fit.loadings,
            rows=local, cols=fit.hv,
        )  # fmt: skip
        if fit.corrected is not None and batch is not None:
            rep, idx = transfer_shift(
                fit.pca, fit.corrected, fit.batch, pca, batch[local], params.n_neighbors
            )
            placement.corrected[rows[local]] = rep
            # the same-batch neighbours place the cell (marrowtox.singlecell.sketch);
            # a batch with fewer sketched cells than neighbours: all sketched cells
            alone = idx[:, 0] < 0
            if alone.any():
                idx[alone] = knn_mean(fit.corrected, fit.umap, rep[alone], idx.shape[1])[1]
            umap = fit.umap[idx].mean(axis=1)
        else:
            umap, idx = knn_mean(fit.pca, fit.umap, pca, params.n_neighbors)
    placement.pca[rows[local]] = pca
    placement.umap[rows[local]] = umap
    placement.leiden[rows[local]] = majority(fit.leiden, idx)


def picture_shell(
    merged: MergedCounts, fit: SketchFit | None, placement: Placement | None, cap: int = 0
) -> ad.AnnData:
    """The cohort object without its matrices: obs (with `leiden` and `in_sketch`),
    var (with `highly_variable`), X_pca, X_pca_harmony, X_umap and
    uns['integration']."""
    obs = merged.obs
    # a shallow copy: the shell's new columns stay its own, and the merged table's
    # columns are not duplicated (~200 B a cell of QC and label columns)
    shell = ad.AnnData(obs=obs.copy(deep=False), var=merged.var.copy())
    shell.varm["measured"] = merged.measured
    shell.uns["measured_samples"] = list(merged.samples)
    if fit is None or placement is None:
        return shell
    hv = np.zeros(merged.n_vars, dtype=bool)
    hv[fit.hv] = True
    shell.var["highly_variable"] = hv
    shell.obsm["X_pca"] = placement.pca
    if placement.corrected is not None:
        shell.obsm["X_pca_harmony"] = placement.corrected
    shell.obsm["X_umap"] = placement.umap
    shell.obs["leiden"] = pd.Categorical(placement.leiden.astype(str))
    shell.obs["in_sketch"] = np.isin(np.arange(len(obs)), fit.rows)
    notes = list(fit.notes)
    if len(fit.rows) < len(obs):
        notes.append(
            f"sketch: embedding fitted on {len(fit.rows)} of {len(obs)} cells (at most "
            f"{cap} per sample); the others placed by projection and their nearest "
            "sketched cells"
        )
    shell.uns["integration"] = {
        "hvg_flavour": fit.hvg_flavour,
        "harmony": "no" if placement.corrected is None else "yes",
        "note": "; ".join(notes),
    }
    return shell


def write_picture(
    merged: MergedCounts,
    params: IntegrateParams,
    out: str | Path,
    exclude_genes: Sequence[str] = (),
) -> ad.AnnData:
    """Fit the picture on the sketch, place every other cell block by block while the
    cohort object is written to `out` (counts read once), and return the object
    without its matrices (for the figure). Memory: the sketch, one block and the
    per-cell coordinates, whatever the cohort's size.

    A display leaf: when the fit or a placement fails, the merged counts are still
    written, and uns['integration']['note'] says why (no embedding in obsm)."""
    samples = sample_of(merged.obs.index)
    cap = params.sketch_cap(len(set(samples)))
    rows = sketch_indices(samples, cap, params.seed)
    seen = scan(merged, rows)
    stored, failure = seen.stored_per_row, []
    fit, placement = None, None
    try:
        usable = usable_genes(
            merged.var.index, seen.cells_per_gene, merged.measured, params, exclude_genes
        )
        fit = fit_sketch(seen.rows, rows, usable, params)
        placement = Placement.of_sketch(fit, merged.n_obs)
    except Exception as err:  # noqa: BLE001 - a display leaf: any failure becomes the note
        failure.append(_failed(err))
    del seen  # the sketch's counts
    key = params.harmony_key
    batch = merged.obs[key].astype(str).to_numpy() if key in merged.obs else None

    def on_block(start: int, values: Any) -> None:
        if fit is None or placement is None or failure:
            return
        try:
            here = None if batch is None else batch[start : start + values.shape[0]]
            place(fit, placement, start, values, here, params)
        except Exception as err:  # noqa: BLE001 - as above
            failure.append(_failed(err))

    def finish() -> ad.AnnData:
        if not failure:
            return picture_shell(merged, fit, placement, cap)
        shell = picture_shell(merged, None, None)
        shell.uns["integration"] = {"hvg_flavour": "", "harmony": "no", "note": failure[0]}
        return shell

    return write_cohort(out, merged, stored, lognorm_sharing_index, finish, on_block)


def _failed(err: Exception) -> str:
    import sys
    import traceback

    traceback.print_exc(file=sys.stderr)
    return f"cohort integration failed: {type(err).__name__}: {err}"


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


def sample_of(names: pd.Index) -> np.ndarray:
    """Each cell's sample: the prefix of its merged name <sample>:<barcode>."""
    return np.asarray(pd.Index(names).str.split(":", n=1).str[0])
