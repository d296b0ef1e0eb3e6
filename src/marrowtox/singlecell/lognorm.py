"""Log-normalisation of counts, as everywhere in this branch: sc.pp.normalize_total to
TARGET_SUM counts per cell, then log1p (scanpy's tutorial values; scverse best
practices' shifted logarithm)."""

from __future__ import annotations

from typing import Any

import anndata as ad
import numpy as np

#: counts per cell after sc.pp.normalize_total (scanpy's tutorial value)
TARGET_SUM = 1e4


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
