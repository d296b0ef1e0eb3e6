"""The sketched cohort picture (issue 27): the embedding is fitted on a per-sample cap
of cells and the others are placed by projection; a placed cell must land among
sketched cells of its own (planted) cell type, across batches."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

from marrowtox.singlecell import cohort_store
from marrowtox.singlecell.cohort_store import merge_to_disk
from marrowtox.singlecell.integrate import IntegrateParams, write_picture
from marrowtox.singlecell.sketch import project_pca, sketch_indices, transfer_shift

TYPES = ("HSC", "Erythroid", "T cell")


def _sample(name: str, batch_shift: bool, seed: int, n: int = 400) -> ad.AnnData:
    """n cells of three planted types (40 marker genes each, 6x expression), 300 genes;
    the second batch has a 3x shift on 60 housekeeping genes (a batch effect)."""
    rng = np.random.default_rng(seed)
    genes = [f"G{i:03d}" for i in range(300)]
    kind = rng.integers(0, len(TYPES), n)
    rate = np.full((n, len(genes)), 0.4)
    for t in range(len(TYPES)):
        rate[kind == t, 40 * t : 40 * t + 40] *= 6
    if batch_shift:
        rate[:, 200:260] *= 3
    counts = sp.csr_matrix(rng.poisson(rate * rng.uniform(0.7, 1.3, (n, 1))).astype(np.float32))
    a = ad.AnnData(counts, obs=pd.DataFrame(index=[f"c{i}" for i in range(n)]))
    a.var_names = genes
    a.obs["truth"] = [TYPES[k] for k in kind]
    a.obs["batch"] = "b2" if batch_shift else "b1"
    return a


def _params(cap: int) -> IntegrateParams:
    return IntegrateParams(
        n_top_genes=150,
        n_pcs=10,
        n_neighbors=15,
        leiden_resolution=0.5,
        min_cells_per_gene=3,
        harmony_key="batch",
        umap_epochs=200,
        sketch_cells_per_sample=cap,
        seed=0,
    )


SAMPLES = ["S1", "S2", "S3", "S4"]


def _picture(tmp_path, out: str, cap: int = 100) -> ad.AnnData:
    """The four samples (two batches) through the workflow's merge and picture."""
    paths = []
    for i, s in enumerate(SAMPLES):
        paths.append(tmp_path / f"{s}.h5ad")
        if not paths[-1].exists():
            _sample(s, i >= 2, seed=i).write_h5ad(paths[-1])
    scratch = tmp_path / f"scratch_{out}"
    scratch.mkdir()
    merged = merge_to_disk([str(p) for p in paths], SAMPLES, scratch)
    return write_picture(merged, _params(cap=cap), tmp_path / out)


def test_projected_cells_land_next_to_sketched_cells_of_their_type(tmp_path) -> None:
    import scanpy as sc

    _picture(tmp_path, "cohort.h5ad")
    # the written cohort object, read back by scanpy, holds every cell
    cohort = sc.read_h5ad(tmp_path / "cohort.h5ad")
    assert "counts" in cohort.layers
    sketched = cohort.obs["in_sketch"].to_numpy()
    assert sketched.sum() == 400 and cohort.n_obs == 1600
    assert "sketch: embedding fitted on 400 of 1600 cells" in cohort.uns["integration"]["note"]
    assert cohort.uns["integration"]["harmony"] == "yes"
    for key in ("X_umap", "X_pca_harmony", "X_pca"):
        assert np.isfinite(cohort.obsm[key]).all() and len(cohort.obsm[key]) == 1600
    truth = cohort.obs["truth"].to_numpy()
    for key in ("X_pca_harmony", "X_umap"):
        xy = np.asarray(cohort.obsm[key])
        nn = NearestNeighbors(n_neighbors=10).fit(xy[sketched])
        idx = nn.kneighbors(xy[~sketched], return_distance=False)
        neighbour_types = truth[sketched][idx]
        purity = (neighbour_types == truth[~sketched][:, None]).mean()
        assert purity >= 0.9, (key, purity)
    # clusters transferred: a placed cell's Leiden cluster is mostly its type's
    placed = cohort.obs.loc[~sketched]
    top = placed.groupby("truth", observed=True)["leiden"].agg(
        lambda c: c.value_counts().iloc[0] / len(c)
    )
    assert (top >= 0.9).all(), top


def test_sketch_projection_is_exact_for_sketched_cells() -> None:
    """The PCA map used for the placed cells reproduces a sketched cell's own PCA
    coordinates (the same scaling, clip and loadings)."""
    import scanpy as sc

    a = _sample("S1", False, seed=3)
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    sub = a.copy()
    sc.pp.scale(sub, max_value=10)
    sc.tl.pca(sub, n_comps=5, random_state=0)
    got = project_pca(
        a.X,
        sub.var["mean"].to_numpy(),
        sub.var["std"].to_numpy(),
        10,
        np.asarray(sub.X.mean(axis=0)).ravel(),
        np.asarray(sub.varm["PCs"]),
        chunk=97,
    )
    np.testing.assert_allclose(got, sub.obsm["X_pca"], atol=1e-3)


def test_sketch_keeps_every_sample_and_is_seeded() -> None:
    groups = np.array(["a"] * 50 + ["b"] * 5 + ["c"] * 30)
    one = sketch_indices(groups, 10, seed=1)
    assert list(pd.Series(groups[one]).value_counts().sort_index()) == [10, 5, 10]
    assert (one == sketch_indices(groups, 10, seed=1)).all()
    assert len(sketch_indices(groups, 0, seed=1)) == len(groups)


def test_sketch_is_bounded_whatever_the_number_of_samples() -> None:
    p = IntegrateParams.from_config({"sketch_cells_per_sample": 2000, "sketch_max_cells": 200_000})
    assert p.sketch_cap(50) == 2000  # 100,000 cells: the per-sample cap holds
    assert p.sketch_cap(6000) == 33  # 2,000 patients x 3: the total bound holds
    assert p.sketch_cap(6000) * 6000 <= 200_000
    assert IntegrateParams.from_config({"sketch_cells_per_sample": 0}).sketch_cap(10) == 0


def test_the_picture_does_not_depend_on_the_block_size(tmp_path, monkeypatch) -> None:
    """Cells are read, placed and written a block at a time (memory set by the sketch
    and one block, issue 27): blocks of 97 cells give the same object as one block, up
    to the last bits of BLAS sums over blocks of another shape."""
    import scanpy as sc

    _picture(tmp_path, "one.h5ad")
    monkeypatch.setattr(cohort_store, "BLOCK_CELLS", 97)
    _picture(tmp_path, "many.h5ad")
    one, many = sc.read_h5ad(tmp_path / "one.h5ad"), sc.read_h5ad(tmp_path / "many.h5ad")
    for key in ("X_pca", "X_pca_harmony", "X_umap"):
        np.testing.assert_allclose(one.obsm[key], many.obsm[key], rtol=0, atol=1e-6)
    assert (one.obs["leiden"] == many.obs["leiden"]).all()
    assert (one.X != many.X).nnz == 0 and (one.layers["counts"] != many.layers["counts"]).nnz == 0


def test_without_a_sketch_every_cell_is_fitted(tmp_path) -> None:
    cohort = _picture(tmp_path, "all.h5ad", cap=0)
    assert cohort.obs["in_sketch"].all() and "sketch" not in cohort.uns["integration"]["note"]
    assert cohort.uns["integration"]["harmony"] == "yes"


def test_transfer_shift_moves_a_cell_by_its_own_batch_and_names_its_neighbours() -> None:
    """A placed cell takes the Harmony shift of its nearest sketched cells of its own
    batch, and those neighbours (rows of the sketch) also place it in the UMAP; a
    batch with fewer sketched cells than neighbours is marked -1 (placed among all)."""
    rng = np.random.default_rng(0)
    pca_ref = rng.normal(size=(60, 3))
    batch_ref = np.array(["a"] * 30 + ["b"] * 27 + ["c"] * 3)
    shift = np.where(batch_ref[:, None] == "a", 1.0, -2.0) * np.ones((60, 3))
    query = rng.normal(size=(8, 3))
    batch_q = np.array(["a"] * 4 + ["b"] * 3 + ["c"])
    out, idx = transfer_shift(pca_ref, pca_ref + shift, batch_ref, query, batch_q, k=5)
    np.testing.assert_allclose(out[:4], query[:4] + 1.0)
    np.testing.assert_allclose(out[4:7], query[4:7] - 2.0)
    assert (batch_ref[idx[:4]] == "a").all() and (batch_ref[idx[4:7]] == "b").all()
    assert (idx[7] == -1).all()  # batch c: 3 sketched cells, fewer than 5


def test_per_cell_coordinates_are_float32_and_the_merged_table_is_untouched(tmp_path) -> None:
    """What grows with the cohort in the picture job is per cell (issue 27): the
    coordinates are held as float32 (a float64 corrected copy was 8 B per PC and cell),
    and the shell shares the merged obs columns instead of copying them, without adding
    its own columns to the merged table."""
    paths = []
    for i, s in enumerate(SAMPLES):
        paths.append(tmp_path / f"{s}.h5ad")
        _sample(s, i >= 2, seed=i).write_h5ad(paths[-1])
    (tmp_path / "scratch").mkdir()
    merged = merge_to_disk([str(p) for p in paths], SAMPLES, tmp_path / "scratch")
    before = list(merged.obs.columns)
    shell = write_picture(merged, _params(cap=100), tmp_path / "cohort.h5ad")
    assert list(merged.obs.columns) == before
    assert {"leiden", "in_sketch"} <= set(shell.obs.columns)
    for key in ("X_pca", "X_pca_harmony", "X_umap"):
        assert shell.obsm[key].dtype == np.float32, key
