"""Reading protein (ADT) counts from the three accepted places, with the checks.

1. The Antibody Capture features of a 10x HDF5 or matrix folder (Cell Ranger
   `count`/`multi` with a feature reference). The RNA reader
   (marrowtox.singlecell.io.read_counts) keeps only Gene Expression features, so the
   same file gives both modalities without mixing them.
2. An .h5ad of protein counts for the same barcodes (samples.tsv column `adt`; raw
   counts in X or layers['counts']); a 10x file or folder there works as in 1.
3. obsm['protein'] of an RNA .h5ad (a DataFrame, or an array with names in
   uns['protein_names']); atlases often ship CLR values there.

Negative values are refused. Non-integer values are taken as already normalised (no
second normalisation) with a warning, unless `refuse_normalised` is set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

from marrowtox.errors import InputError
from marrowtox.prot.header import ANTIBODY, has_proteins  # noqa: F401 - re-exported
from marrowtox.prot.names import canonical_names, isotype_controls, load_aliases

log = logging.getLogger(__name__)

SAMPLE_VALUES = 200_000


@dataclass
class Proteins:
    """Protein counts of one sample (cells x proteins) and how they were found."""

    adata: ad.AnnData  # X: counts, or given normalised values; var: original_name, isotype
    source: str  # "10x Antibody Capture", "adt h5ad", "obsm['protein']"
    path: str
    normalised: bool  # values were non-integer: used as given
    isotypes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _values(x) -> np.ndarray:
    return (x.data if sparse.issparse(x) else np.asarray(x).ravel())[:SAMPLE_VALUES]


def value_kind(x) -> str:
    """'counts', 'normalised' (non-integer, non-negative... or negative CLR) or 'negative'."""
    v = _values(x)
    if v.size == 0:
        return "counts"
    if not np.all(np.isfinite(v)):
        return "non-finite"
    integer = bool(np.all(np.mod(v, 1) == 0))
    if integer and v.min() < 0:
        return "negative"
    return "counts" if integer else "normalised"


def _read_10x_adt(p: Path) -> ad.AnnData | None:
    import scanpy as sc

    if p.is_dir():
        a = sc.read_10x_mtx(p, var_names="gene_symbols", make_unique=False, gex_only=False)
    else:
        a = sc.read_10x_h5(p, gex_only=False)
    if "feature_types" not in a.var:
        return None
    keep = (a.var["feature_types"] == ANTIBODY).to_numpy()
    if not keep.any():
        return None
    return a[:, keep].copy()


def _read(path: str | Path, obsm_key: str) -> tuple[ad.AnnData | None, str]:
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", file=p, expected="a protein matrix")
    try:
        if p.is_dir() or p.suffix == ".h5":
            return _read_10x_adt(p), f"10x {ANTIBODY}"
        if p.suffix != ".h5ad":
            raise InputError(
                "unsupported protein file type", file=p, expected=".h5, .h5ad or a matrix folder"
            )
        a = ad.read_h5ad(p)
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(
            f"cannot read protein file: {exc.__class__.__name__}: {exc}",
            file=p,
            expected="an intact 10x HDF5, matrix folder or .h5ad",
        ) from None
    if obsm_key in a.obsm:
        m = a.obsm[obsm_key]
        if isinstance(m, pd.DataFrame):
            names, x = [str(c) for c in m.columns], m.to_numpy(dtype=np.float64)
        else:
            names = [str(n) for n in a.uns.get(f"{obsm_key}_names", [])]
            x = m.toarray() if sparse.issparse(m) else np.asarray(m, dtype=np.float64)
            if len(names) != x.shape[1]:
                raise InputError(
                    f"obsm['{obsm_key}'] is an array without names",
                    file=p,
                    expected=f"a DataFrame, or uns['{obsm_key}_names'] with {x.shape[1]} names",
                )
        out = ad.AnnData(
            X=x, obs=pd.DataFrame(index=a.obs_names.astype(str)), var=pd.DataFrame(index=names)
        )
        return out, f"obsm['{obsm_key}']"
    if "feature_types" in a.var and (a.var["feature_types"] == ANTIBODY).any():
        a = a[:, (a.var["feature_types"] == ANTIBODY).to_numpy()].copy()
    elif "feature_types" in a.var and (a.var["feature_types"] == "Gene Expression").all():
        return None, "h5ad"
    if "counts" in a.layers:
        a.X = a.layers["counts"]
    return a, "adt h5ad"


def read_proteins(
    path: str | Path,
    *,
    obsm_key: str = "protein",
    aliases: str | Path | None = None,
    isotypes: tuple[str, ...] | list[str] = (),
    refuse_normalised: bool = False,
) -> Proteins | None:
    """Protein data of one file (None when it holds none: a plain RNA matrix)."""
    a, source = _read(path, obsm_key)
    if a is None:
        return None
    a.obs_names = a.obs_names.astype(str)
    original = [str(n) for n in a.var_names]
    names = canonical_names(original, load_aliases(aliases) if aliases else load_aliases())
    a.var = pd.DataFrame({"original_name": original}, index=pd.Index(names, name="protein"))
    kind = value_kind(a.X)
    if kind in ("negative", "non-finite"):
        raise InputError(
            f"{'negative' if kind == 'negative' else 'NaN or infinite'} protein values in {source}",
            file=path,
            expected="raw antibody UMI counts (non-negative integers) or normalised values",
        )
    warnings = []
    normalised = kind == "normalised"
    if normalised:
        msg = (
            f"{path}: protein values in {source} are not integers: taken as already "
            "normalised (no second normalisation; CLR/DSB not applied)"
        )
        if refuse_normalised:
            raise InputError(
                f"protein values in {source} are not integers (already normalised?)",
                file=path,
                expected="raw antibody counts (singlecell.protein.refuse_normalised is set)",
            )
        warnings.append(msg)
        log.warning(msg)
    renamed = [f"{o}->{n}" for o, n in zip(original, names, strict=True) if o != n]
    if renamed:
        log.debug("antibody names mapped: %s", ", ".join(renamed))
    iso = isotype_controls(original, names, isotypes, str(path))
    a.var["isotype"] = a.var_names.isin(iso)
    a.X = (
        sparse.csr_matrix(a.X, dtype=np.float32)
        if not normalised
        else np.asarray(a.X.toarray() if sparse.issparse(a.X) else a.X, dtype=np.float32)
    )
    a.layers.clear()
    a.obs = a.obs[[]].copy()
    for k in list(a.obsm):
        del a.obsm[k]
    return Proteins(a, source, str(path), normalised, iso, warnings)


def sample_proteins(rna_path: str, adt_path: str = "", **kw) -> Proteins | None:
    """The protein data of a sample: the `adt` file if given, else what the RNA file holds."""
    return read_proteins(adt_path or rna_path, **kw)


def barcode_overlap(rna_barcodes: pd.Index, prot: ad.AnnData) -> tuple[int, int, int]:
    """(shared, RNA cells, protein barcodes)."""
    shared = int(pd.Index(rna_barcodes).isin(prot.obs_names).sum())
    return shared, len(rna_barcodes), prot.n_obs
