"""The cohort picture's merge on disk and its shared-index log-normalisation (issue 27:
the cohort object's memory): both must give exactly what the in-memory versions give."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd
import scanpy as sc
import scipy.sparse as sp

from marrowtox.singlecell.integrate import lognorm_sharing_index, merge, merge_files


def _sample(seed: int, genes: list[str], n: int) -> ad.AnnData:
    rng = np.random.default_rng(seed)
    x = sp.csr_matrix(rng.poisson(0.5, (n, len(genes))).astype(np.float32))
    a = ad.AnnData(x, obs=pd.DataFrame(index=[f"AAAC{i}-1" for i in range(n)]))
    a.var_names = genes
    a.obs["batch"] = f"b{seed}"
    a.obs["score"] = rng.random(n)
    return a


def test_merge_on_disk_equals_the_in_memory_merge(tmp_path) -> None:
    # different gene panels (outer join, genes not measured by a sample) and the same
    # barcodes in two samples (names made unique by the sample prefix)
    panels = [[f"G{i}" for i in range(0, 80)], [f"G{i}" for i in range(20, 100)], ["G5", "G99"]]
    samples = ["S1", "S2", "S3"]
    paths = []
    for k, genes in enumerate(panels):
        p = tmp_path / f"{samples[k]}.h5ad"
        _sample(k, genes, 30 + 10 * k).write_h5ad(p)
        paths.append(str(p))
    on_disk = merge_files(paths, samples, tmp_path)
    in_memory = merge([ad.read_h5ad(p) for p in paths], samples)
    assert list(on_disk.obs_names) == list(in_memory.obs_names)
    assert on_disk.obs_names[0] == "S1:AAAC0-1" and on_disk.obs_names.is_unique
    assert list(on_disk.var_names) == list(in_memory.var_names)
    assert (on_disk.X != in_memory.X).nnz == 0 and sp.isspmatrix_csr(on_disk.X)
    assert np.array_equal(on_disk.varm["measured"], in_memory.varm["measured"])
    assert not on_disk.varm["measured"][list(on_disk.var_names).index("G0"), 1]
    pd.testing.assert_frame_equal(on_disk.obs, in_memory.obs)
    pd.testing.assert_frame_equal(on_disk.var, in_memory.var)
    assert not (tmp_path / "merged.h5ad").exists()  # the scratch file is removed


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
