"""RNA and protein labels combined by one stated rule, and their agreement.

Rule (docs/protein.md), per cell:
1. the protein route called type T and the RNA marker set of T is not assessable in
   the sample (and the RNA label does not come from the reference route): protein;
2. else the RNA label, when the RNA routes called one (route kept: markers/reference);
3. else the protein label, when the protein route called one: protein;
4. else "unknown".
So proteins decide where the RNA could not judge (few markers measured, shallow
cells), and never overrule an RNA call that had its evidence.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from marrowtox.celltypes import CELL_TYPES, COARSE, UNKNOWN


def combine(rna: pd.DataFrame, protein: pd.DataFrame, rna_not_assessable: set[str]) -> pd.DataFrame:
    """rna: cell_type, cell_type_route (and confidence) per cell; protein: protein_label,
    protein_confidence. Returns combined label, confidence and route."""
    r_lab = rna["cell_type"].astype(str).to_numpy()
    r_route = rna["cell_type_route"].astype(str).to_numpy()
    r_conf = rna["cell_type_confidence"].to_numpy(dtype=float)
    p = protein.reindex(rna.index)
    p_lab = p["protein_label"].fillna(UNKNOWN).astype(str).to_numpy()
    p_conf = p["protein_confidence"].to_numpy(dtype=float)
    p_called = p_lab != UNKNOWN
    rule1 = p_called & np.isin(p_lab, list(rna_not_assessable)) & (r_route != "reference")
    rna_called = r_lab != UNKNOWN
    label = np.where(rule1, p_lab, np.where(rna_called, r_lab, np.where(p_called, p_lab, UNKNOWN)))
    route = np.where(
        rule1, "protein", np.where(rna_called, r_route, np.where(p_called, "protein", "none"))
    )
    conf = np.where(route == "protein", p_conf, np.where(route == "none", np.nan, r_conf))
    return pd.DataFrame(
        {
            "combined_label": pd.Categorical(label, categories=[*CELL_TYPES, UNKNOWN]),
            "combined_confidence": conf,
            "combined_route": route,
        },
        index=rna.index,
    )


def agreement(rna_labels: pd.Series, protein_labels: pd.Series) -> dict[str, float | int]:
    """Agreement of RNA and protein labels on cells both routes called (NaN if none)."""
    r = rna_labels.astype(str)
    p = protein_labels.reindex(r.index).fillna(UNKNOWN).astype(str)
    both = (r != UNKNOWN) & (p != UNKNOWN)
    n = int(both.sum())
    exact = float((r[both] == p[both]).mean()) if n else float("nan")
    coarse = float((r[both].map(COARSE) == p[both].map(COARSE)).mean()) if n else float("nan")
    return {
        "n_cells": len(r),
        "n_rna_called": int((r != UNKNOWN).sum()),
        "n_protein_called": int((p != UNKNOWN).sum()),
        "n_both_called": n,
        "agreement_type": exact,
        "agreement_coarse": coarse,
    }
