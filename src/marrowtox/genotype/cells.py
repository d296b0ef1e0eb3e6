"""Per-cell genotype columns for the per-sample AnnData (`geno_<gene>_<protein>`).

A cell is "alt" when any of its UMIs at the site carries the alternative allele, "ref"
when it has reference UMIs only, and missing (NA) when no UMI reaches the site: with 3'
chemistry most cells are never covered far from the transcript end, and an uncovered
cell is unknown, not wild type. Cells whose only UMIs carry a third allele are also NA.
One UMI of the alt allele is enough for "alt" per cell, as in GoT (Nam et al., Nature
2019); whether a cell type carries the clone is decided by the carrier test against the
sample's own background (marrowtox.genotype.carriers), not by these columns.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

PREFIX = "geno_"
STATES = ["ref", "alt"]


def column_name(variant: str) -> str:
    """`geno_<variant>`; variant ids carry no '/' (marrowtox.genotype.sites)."""
    return PREFIX + variant


def cell_genotypes(
    counts: pd.DataFrame, barcodes: Sequence[str], variants: Sequence[str]
) -> pd.DataFrame:
    """One categorical column per variant (ref / alt / NA), indexed by `barcodes`.

    `counts` is the long table of marrowtox.genotype.count (variant, barcode, ref_umis,
    alt_umis, other_umis); barcodes absent from it are NA.
    """
    index = pd.Index(list(barcodes), dtype=object)
    out = {}
    for variant in variants:
        rows = counts[counts["variant"] == variant]
        state = np.where(
            rows["alt_umis"].to_numpy() > 0,
            "alt",
            np.where(rows["ref_umis"].to_numpy() > 0, "ref", None),
        )
        per_cell = pd.Series(state, index=rows["barcode"].astype(str).to_numpy(), dtype=object)
        per_cell = per_cell[~per_cell.index.duplicated()]
        values = per_cell.reindex(index)
        out[column_name(variant)] = pd.Categorical(values.to_numpy(), categories=STATES)
    return pd.DataFrame(out, index=index)


__all__ = ["PREFIX", "STATES", "cell_genotypes", "column_name"]
