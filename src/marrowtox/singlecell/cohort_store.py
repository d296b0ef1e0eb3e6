"""The cohort's counts on disk, read and written in blocks of cells (issue 27).

Why: the cohort picture is fitted on a sketch of cells (marrowtox.singlecell.sketch),
but `results/singlecell/cohort.h5ad` keeps every cell's counts and log-normalised
values. Holding those in memory made the job's peak grow with the cohort (8 + 4 bytes
per stored count: 3.4 GB at 100,000 cells). Here the samples are concatenated on disk
by anndata (`concat_on_disk`: the same outer join, fill and "same" merge as
`ad.concat`), read back a block of cells at a time, and the cohort object is written a
block at a time, so the job holds one block, the sketch and per-cell coordinates.

What is written by hand and why: anndata writes a sparse matrix from memory or appends
to one whose index dtype the first block fixed; the cohort's two CSR matrices are
written here into datasets sized up front (h5py, the h5ad "csr_matrix" encoding), so
their row pointers are 64-bit from the start, whatever the cohort size. Everything
else (obs, var, obsm, uns) is anndata's own writer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anndata as ad
import h5py
import numpy as np
import pandas as pd
from scipy import sparse

from marrowtox.atomic import atomic_path
from marrowtox.singlecell.genespace import measured_mask

#: cells per block read or written (about 0.1 GB of CSR at 5,000 counts per cell)
BLOCK_CELLS = 10_000
#: gzip level of the cohort object (marrowtox.singlecell.steps.write_h5ad: level 1 has
#: most of level 4's size gain at a fraction of its time)
GZIP_LEVEL = 1


@dataclass
class MergedCounts:
    """The samples' raw counts concatenated on disk (X of `path`, CSR), with the
    merged obs (names <sample>:<barcode>), var and each sample's measured genes."""

    path: Path
    obs: pd.DataFrame
    var: pd.DataFrame
    measured: np.ndarray  # genes x samples, True where the sample measured the gene
    samples: list[str]

    @property
    def n_obs(self) -> int:
        return len(self.obs)

    @property
    def n_vars(self) -> int:
        return len(self.var)

    def blocks(self) -> Iterator[tuple[int, sparse.csr_matrix]]:
        """(first row, CSR counts) of consecutive blocks of BLOCK_CELLS cells, explicit
        zeros and duplicates removed (one stored entry per cell and counted gene)."""
        size = BLOCK_CELLS
        with h5py.File(self.path, "r") as f:
            x = f["X"]
            indptr = x["indptr"][:]
            for start in range(0, self.n_obs, size):
                stop = min(start + size, self.n_obs)
                lo, hi = int(indptr[start]), int(indptr[stop])
                block = sparse.csr_matrix(
                    (x["data"][lo:hi], x["indices"][lo:hi], indptr[start : stop + 1] - lo),
                    shape=(stop - start, self.n_vars),
                )
                block.sum_duplicates()
                block.eliminate_zeros()
                yield start, block


def merge_to_disk(
    paths: Sequence[str], samples: Sequence[str], scratch: str | Path
) -> MergedCounts:
    """Concatenate the samples' h5ad files (raw counts in X) into `scratch`/merged.h5ad.

    Genes a sample never measured are absent from its rows, and False in `measured`:
    downstream steps tell "measured and absent" from "not measured"
    (marrowtox.singlecell.genespace)."""
    from anndata.experimental import concat_on_disk

    genes, sizes = [], []
    for path in paths:
        with h5py.File(path, "r") as f:
            genes.append(pd.Index(ad.io.read_elem(f["var"]).index))
            sizes.append(len(ad.io.read_elem(f["obs"])))
    tmp = Path(scratch) / "merged.h5ad"
    concat_on_disk([str(p) for p in paths], str(tmp), join="outer", merge="same", fill_value=0)
    with h5py.File(tmp, "r") as f:
        obs = ad.io.read_elem(f["obs"])
        var = ad.io.read_elem(f["var"])
        encoding = f["X"].attrs.get("encoding-type")
    if encoding != "csr_matrix":
        raise ValueError(f"merged counts are {encoding}, expected csr_matrix")
    prefix = np.repeat(np.asarray(samples, dtype=object), sizes)
    obs.index = pd.Index([f"{s}:{b}" for s, b in zip(prefix, obs.index, strict=True)], dtype=object)
    measured = measured_mask(genes, var.index)
    var["n_samples_measured"] = measured.sum(axis=1)
    return MergedCounts(tmp, obs, var, measured, list(samples))


@dataclass(frozen=True)
class Scan:
    """What one pass over the merged counts tells: each gene's number of cells with a
    count, each cell's number of stored counts, and the counts of the requested rows."""

    cells_per_gene: np.ndarray
    stored_per_row: np.ndarray
    rows: ad.AnnData


def scan(merged: MergedCounts, rows: np.ndarray) -> Scan:
    """One pass over the merged counts; `rows` (sorted indices) are kept in memory with
    their obs and var (the sketch)."""
    rows = np.asarray(rows)
    per_gene = np.zeros(merged.n_vars, dtype=np.int64)
    per_row = np.empty(merged.n_obs, dtype=np.int64)
    parts = []
    for start, block in merged.blocks():
        per_gene += np.bincount(block.indices, minlength=merged.n_vars)
        per_row[start : start + block.shape[0]] = np.diff(block.indptr)
        inside = rows[(rows >= start) & (rows < start + block.shape[0])]
        if len(inside):
            parts.append(block[inside - start])
    x = sparse.vstack(parts, format="csr") if parts else sparse.csr_matrix((0, merged.n_vars))
    kept = ad.AnnData(x, obs=merged.obs.iloc[rows].copy(), var=merged.var.copy())
    return Scan(per_gene, per_row, kept)


def write_cohort(
    path: str | Path,
    merged: MergedCounts,
    stored_per_row: np.ndarray,
    lognorm: Callable[[sparse.csr_matrix], sparse.csr_matrix],
    finish: Callable[[], ad.AnnData],
    on_block: Callable[[int, sparse.csr_matrix], None] | None = None,
) -> ad.AnnData:
    """Write the cohort object: X = `lognorm`(counts) and layers['counts'], block by
    block (`stored_per_row` from `scan`), then obs, var, varm, obsm and uns of the
    AnnData `finish()` returns (its X is not written) by anndata's writer. The file
    appears at `path` only when complete. `on_block`(first row, log-normalised block)
    sees every block as it is written, before `finish` is called: the cells outside the
    sketch are placed there, so the counts are read and normalised once."""
    indptr = np.concatenate([[0], np.cumsum(stored_per_row)]).astype(np.int64)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        layers = f.create_group("layers")
        layers.attrs.update({"encoding-type": "dict", "encoding-version": "0.1.0"})
        targets = [
            _csr_group(f, "X", indptr, merged.n_vars),
            _csr_group(layers, "counts", indptr, merged.n_vars),
        ]
        for start, counts in merged.blocks():
            values = lognorm(counts)
            lo = int(indptr[start])
            for group, m in zip(targets, (values, counts), strict=True):
                group["data"][lo : lo + m.nnz] = m.data
                group["indices"][lo : lo + m.nnz] = m.indices
            if on_block is not None:
                on_block(start, values)
        shell = finish()
        f.attrs["encoding-type"] = "anndata"
        f.attrs["encoding-version"] = "0.1.0"
        kwargs = {"compression": "gzip", "compression_opts": GZIP_LEVEL}
        for key in ("obs", "var"):
            ad.io.write_elem(f, key, getattr(shell, key), dataset_kwargs=kwargs)
        for key in ("obsm", "varm", "obsp", "varp"):
            ad.io.write_elem(f, key, dict(getattr(shell, key)), dataset_kwargs=kwargs)
        ad.io.write_elem(f, "uns", dict(shell.uns), dataset_kwargs=kwargs)
    return shell


def _csr_group(parent: Any, name: str, indptr: np.ndarray, n_vars: int) -> h5py.Group:
    """An empty h5ad csr_matrix group sized for `indptr` (data float32, int32 gene
    indices, 64-bit row pointers), shuffled and gzip-compressed in chunks."""
    g = parent.create_group(name)
    g.attrs["encoding-type"] = "csr_matrix"
    g.attrs["encoding-version"] = "0.1.0"
    g.attrs["shape"] = (len(indptr) - 1, n_vars)
    nnz = int(indptr[-1])
    # byte shuffle before gzip (an HDF5 built-in filter, readable everywhere): the same
    # size, 28% less time than gzip alone on the cohort's values and gene indices
    opts = {"compression": "gzip", "compression_opts": GZIP_LEVEL, "shuffle": True} if nnz else {}
    g.create_dataset("data", shape=(nnz,), dtype=np.float32, **opts)
    g.create_dataset("indices", shape=(nnz,), dtype=np.int32, **opts)
    g.create_dataset("indptr", data=indptr)
    return g
