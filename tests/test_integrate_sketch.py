"""The sketched cohort picture (issue 27): the embedding is fitted on a per-sample cap
of cells and the others are placed by projection; a placed cell must land among
sketched cells of its own (planted) cell type, across batches."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.neighbors import NearestNeighbors

from marrowtox.singlecell.integrate import IntegrateParams, integrate, merge
from marrowtox.singlecell.sketch import project_pca, sketch_indices

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


def test_projected_cells_land_next_to_sketched_cells_of_their_type(tmp_path) -> None:
    import scanpy as sc

    from marrowtox.singlecell.steps import write_h5ad

    samples = ["S1", "S2", "S3", "S4"]
    adatas = [_sample(s, i >= 2, seed=i) for i, s in enumerate(samples)]
    write_h5ad(integrate(merge(adatas, samples), _params(cap=100)), tmp_path / "cohort.h5ad")
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
