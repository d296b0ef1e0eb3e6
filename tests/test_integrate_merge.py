"""The cohort picture's merge on disk, its block-wise cohort object and its
shared-index log-normalisation (issue 27: the cohort object's memory): each must give
exactly what anndata and scanpy give in memory."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp

from marrowtox.singlecell import cohort_store
from marrowtox.singlecell.cohort_store import merge_to_disk, scan, write_cohort
from marrowtox.singlecell.lognorm import lognorm_sharing_index


def _sample(seed: int, genes: list[str], n: int) -> ad.AnnData:
    rng = np.random.default_rng(seed)
    x = sp.csr_matrix(rng.poisson(0.5, (n, len(genes))).astype(np.float32))
    a = ad.AnnData(x, obs=pd.DataFrame(index=[f"AAAC{i}-1" for i in range(n)]))
    a.var_names = genes
    a.obs["batch"] = f"b{seed}"
    a.obs["score"] = rng.random(n)
    return a


PANELS = [[f"G{i}" for i in range(0, 80)], [f"G{i}" for i in range(20, 100)], ["G5", "G99"]]
SAMPLES = ["S1", "S2", "S3"]


def _files(tmp_path) -> list[str]:
    """Different gene panels (outer join, genes not measured by a sample) and the same
    barcodes in every sample (names made unique by the sample prefix)."""
    paths = []
    for k, genes in enumerate(PANELS):
        p = tmp_path / f"{SAMPLES[k]}.h5ad"
        _sample(k, genes, 30 + 10 * k).write_h5ad(p)
        paths.append(str(p))
    return paths


def _in_memory(paths: list[str]) -> ad.AnnData:
    adatas = [ad.read_h5ad(p) for p in paths]
    for a, s in zip(adatas, SAMPLES, strict=True):
        a.obs_names = [f"{s}:{b}" for b in a.obs_names]
    return ad.concat(adatas, join="outer", merge="same", fill_value=0)


def test_merge_on_disk_equals_the_in_memory_merge(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cohort_store, "BLOCK_CELLS", 17)  # blocks across sample borders
    paths = _files(tmp_path)
    on_disk = merge_to_disk(paths, SAMPLES, tmp_path)
    in_memory = _in_memory(paths)
    assert list(on_disk.obs.index) == list(in_memory.obs_names)
    assert on_disk.obs.index[0] == "S1:AAAC0-1" and on_disk.obs.index.is_unique
    assert list(on_disk.var.index) == list(in_memory.var_names)
    x = sp.vstack([b for _, b in on_disk.blocks()], format="csr")
    assert (x != in_memory.X).nnz == 0
    genes = list(on_disk.var.index)
    assert not on_disk.measured[genes.index("G0"), 1] and on_disk.measured[genes.index("G0"), 0]
    n_measured = on_disk.var["n_samples_measured"].to_dict()
    assert (n_measured["G5"], n_measured["G0"], n_measured["G50"]) == (2, 1, 2)
    pd.testing.assert_frame_equal(on_disk.obs, in_memory.obs)
    seen = scan(on_disk, np.array([0, 31, 75]))
    assert list(seen.rows.obs_names) == [in_memory.obs_names[i] for i in (0, 31, 75)]
    assert (seen.rows.X != in_memory.X[[0, 31, 75]]).nnz == 0
    np.testing.assert_array_equal(seen.cells_per_gene, (in_memory.X > 0).sum(axis=0).A1)


def test_cohort_object_written_by_blocks_reads_back_in_scanpy(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cohort_store, "BLOCK_CELLS", 17)
    paths = _files(tmp_path)
    merged = merge_to_disk(paths, SAMPLES, tmp_path)
    seen = scan(merged, np.arange(0))
    shell = ad.AnnData(obs=merged.obs, var=merged.var)
    shell.obsm["X_test"] = np.arange(merged.n_obs * 2.0).reshape(-1, 2)
    starts: list[int] = []
    out = tmp_path / "cohort.h5ad"
    write_cohort(out, merged, seen.stored_per_row, lognorm_sharing_index, lambda: shell,
                 lambda start, values: starts.append(start))  # fmt: skip
    cohort = sc.read_h5ad(out)
    ref = _in_memory(paths)
    assert (cohort.layers["counts"] != ref.X).nnz == 0
    sc.pp.normalize_total(ref, target_sum=1e4)
    sc.pp.log1p(ref)
    np.testing.assert_allclose(cohort.X.toarray(), ref.X.toarray(), rtol=1e-6)
    np.testing.assert_array_equal(cohort.obsm["X_test"], shell.obsm["X_test"])
    assert list(cohort.obs_names) == list(ref.obs_names) and starts == list(range(0, 120, 17))
    assert not list(tmp_path.glob("cohort.h5ad.*"))  # no temporary left behind


def test_lognorm_shares_the_count_index_and_equals_scanpy() -> None:
    counts = _sample(3, [f"G{i}" for i in range(200)], 300).X
    before = counts.copy()
    got = lognorm_sharing_index(counts, block=70)  # blocks of uneven size
    ref = ad.AnnData(counts.copy())
    sc.pp.normalize_total(ref, target_sum=1e4)
    sc.pp.log1p(ref)
    assert (got != ref.X).nnz == 0
    assert np.shares_memory(got.indices, counts.indices)
    assert (counts != before).nnz == 0  # the counts are untouched
