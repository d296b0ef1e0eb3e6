"""Protein normalisation with muon: CLR per cell, or DSB when empty droplets are given.

CLR (muon.prot.pp.clr, Seurat flavour: log1p of counts over their geometric-mean-like
centre) is computed across the proteins of each cell (`margin: cell`, as in Stoeckius
et al., Nat Methods 2017) or across cells for each protein (`margin: protein`).
DSB (muon.prot.pp.dsb; Mulè et al., Nat Commun 2022) subtracts the ambient background
measured in empty droplets and, with isotype controls, the cell-specific technical
component. Values already normalised upstream are never normalised again.
"""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
from scipy import sparse

from marrowtox.errors import InputError

AXIS = {"cell": 1, "protein": 0}


def clr(a: ad.AnnData, margin: str = "cell") -> str:
    """CLR in place (X); returns the method text recorded in uns['protein_normalisation']."""
    from muon import prot as pt

    if margin not in AXIS:
        raise InputError(f"unknown CLR margin {margin!r}", expected="cell or protein")
    a.X = sparse.csr_matrix(a.X, dtype=np.float32)
    if margin == "protein":
        a.X = a.X.tocsc()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        pt.pp.clr(a, axis=AXIS[margin])
    a.X = sparse.csr_matrix(a.X).toarray().astype(np.float32)
    return f"CLR (muon.prot.pp.clr, seurat flavour, across {'proteins of each cell' if margin == 'cell' else 'cells per protein'})"


def background_droplets(
    empty: ad.AnnData, cells: list[str] | ad.AnnData, log10_range: tuple[float, float]
) -> ad.AnnData:
    """Background droplets of a raw matrix for DSB: not a cell barcode, and protein
    library size within `log10_range` (Mule et al. 2022, dsb vignette: 10^1.5-10^3),
    so that the millions of unstained, zero-count barcodes of a raw matrix do not pull
    the ambient estimate to zero."""
    names = cells.obs_names if isinstance(cells, ad.AnnData) else list(cells)
    not_cell = ~empty.obs_names.isin(names)
    total = np.asarray(empty.X.sum(axis=1)).ravel()
    with np.errstate(divide="ignore"):
        lg = np.log10(total)
    lo, hi = log10_range
    return empty[not_cell & (lg >= lo) & (lg <= hi)]


def dsb(
    a: ad.AnnData,
    empty: ad.AnnData,
    isotypes: list[str],
    pseudocount: int,
    seed: int,
    log10_range: tuple[float, float] = (1.5, 3.0),
    min_empty: int = 2,
) -> str:
    """DSB in place against the background droplets of a raw matrix (same proteins);
    isotypes used when present."""
    from muon import prot as pt

    missing = a.var_names.difference(empty.var_names)
    if len(missing):
        raise InputError(
            f"{len(missing)} proteins (e.g. {missing[0]}) are not in the empty-droplet matrix",
            expected="empty droplets of the same run (same antibody panel)",
        )
    empty = background_droplets(empty, a, tuple(log10_range))[:, a.var_names].copy()
    if empty.n_obs < max(min_empty, 2):
        raise InputError(
            f"{empty.n_obs} background droplets besides the cells (protein counts "
            f"10^{log10_range[0]}-10^{log10_range[1]})",
            expected=f"a raw (unfiltered) matrix with at least {max(min_empty, 2)}",
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", FutureWarning)
        pt.pp.dsb(
            a,
            empty,
            pseudocount=pseudocount,
            isotype_controls=isotypes or None,
            random_state=seed,
        )
    a.X = np.asarray(a.X, dtype=np.float32)
    iso = f", isotype controls {', '.join(isotypes)}" if isotypes else ""
    return f"DSB (muon.prot.pp.dsb, {empty.n_obs} empty droplets, pseudocount {pseudocount}{iso})"
