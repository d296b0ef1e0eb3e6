"""Readers for raw single-cell counts: 10x HDF5, 10x matrix folder, .h5ad.

Every downstream step (QC by MADs, scrublet, seurat_v3 HVGs, CAR UMI tests) assumes
raw integer UMI counts. A normalised or log-transformed matrix silently gives wrong
answers, so it is refused here with a clear error.

Only Gene Expression features are read: the Antibody Capture features of a CITE-seq
matrix (feature_type "Antibody Capture") are the protein modality, read by
marrowtox.prot.io, and never mixed into the genes (an ADT named "CD4" is not the CD4
gene).
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
from scipy import sparse

from marrowtox.errors import InputError
from marrowtox.singlecell.genespace import to_symbols

#: 10x feature type of antibody-derived tags (CITE-seq): the protein modality.
ANTIBODY = "Antibody Capture"


def _check_raw(x, path: str | Path, where: str) -> None:
    data = x.data if sparse.issparse(x) else np.asarray(x).ravel()
    sample = data[:2_000_000]
    if sample.size and (sample.min() < 0):
        raise InputError(
            f"negative values in {where}",
            file=path,
            expected="raw UMI counts (non-negative integers)",
        )
    if sample.size and not np.all(np.equal(np.mod(sample, 1), 0)):
        raise InputError(
            f"non-integer values in {where} (normalised or log-transformed?)",
            file=path,
            expected="raw UMI counts; put raw counts in X or layers['counts']",
        )


def read_counts(path: str | Path) -> ad.AnnData:
    """Raw counts as AnnData (cells x genes, CSR float32), unique symbols, ids in var.

    Ensembl-keyed matrices are mapped to symbols from a symbols column (genespace)."""
    import scanpy as sc

    p = Path(path)
    if not p.exists():
        raise InputError(
            "file not found", file=p, expected="a 10x HDF5, 10x matrix folder or .h5ad"
        )
    try:
        if p.is_dir():
            adata = sc.read_10x_mtx(p, var_names="gene_symbols", make_unique=False, gex_only=True)
            where = "matrix.mtx"
        elif p.suffix == ".h5":
            adata = sc.read_10x_h5(p, gex_only=True)
            where = "matrix"
        elif p.suffix == ".h5ad":
            adata = ad.read_h5ad(p)
            if "feature_types" in adata.var:
                adata = adata[:, (adata.var["feature_types"] != ANTIBODY).to_numpy()].copy()
            if "counts" in adata.layers:
                adata.X = adata.layers["counts"]
                where = "layers['counts']"
            else:
                where = "X"
        else:
            raise InputError(
                "unsupported file type", file=p, expected=".h5, .h5ad or a 10x matrix folder"
            )
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(
            f"cannot read single-cell file: {exc.__class__.__name__}: {exc}",
            file=p,
            expected="an intact 10x HDF5, 10x matrix folder or .h5ad",
        ) from None
    _check_raw(adata.X, p, where)
    adata.X = sparse.csr_matrix(adata.X, dtype=np.float32)
    adata.layers.clear()
    adata = to_symbols(adata, str(p))
    if "gene_ids" not in adata.var:
        adata.var["gene_ids"] = adata.var_names.astype(str)
    adata.obs_names = adata.obs_names.astype(str)
    keep = [c for c in ("gene_ids", "feature_types") if c in adata.var]
    adata.var = adata.var[keep].copy()
    adata.obs = adata.obs[[]].copy()
    return adata
