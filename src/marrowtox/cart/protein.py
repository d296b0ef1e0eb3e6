"""CAR T activation and exhaustion by surface protein (CITE-seq).

Proteins of the panel (singlecell.protein.car_panel: CD69, CD25, HLA-DR, CD38, PD-1
(CD279), TIM-3 (CD366), LAG-3 (CD223), TIGIT) compared between CAR T cells and the
non-CAR T cells of the same sample: mean normalised value of each group, their
difference and a two-sided Mann-Whitney U p-value. A protein not in the panel, or a
group without cells, is reported as missing (empty), never as 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

from marrowtox.celltypes import T_TYPES
from marrowtox.singlecell.genespace import safe_key


def column(protein: str) -> str:
    return safe_key(protein).replace("-", "_")


def car_protein_panel(
    values: pd.DataFrame, cell_type: pd.Series, car_positive: pd.Series, panel: list[str]
) -> dict[str, object]:
    """One row of columns `prot_<protein>_car`, `_noncar`, `_diff`, `_p` plus counts.

    values: cells x proteins (normalised); cell_type and car_positive per cell."""
    t = cell_type.reindex(values.index).astype(str).isin(list(T_TYPES)).to_numpy()
    car = car_positive.reindex(values.index).fillna(False).to_numpy(dtype=bool) & t
    non = t & ~car
    row: dict[str, object] = {
        "prot_n_car_t": int(car.sum()),
        "prot_n_noncar_t": int(non.sum()),
    }
    measured = [p for p in panel if p in values.columns]
    row["prot_panel_measured"] = ",".join(measured)
    row["prot_panel_missing"] = ",".join(p for p in panel if p not in values.columns)
    for p in panel:
        c = column(p)
        if p not in values.columns or not car.any() or not non.any():
            row.update({f"prot_{c}_car": None, f"prot_{c}_noncar": None})
            row.update({f"prot_{c}_diff": None, f"prot_{c}_p": None})
            continue
        v = values[p].to_numpy(dtype=float)
        a, b = v[car], v[non]
        row[f"prot_{c}_car"] = float(a.mean())
        row[f"prot_{c}_noncar"] = float(b.mean())
        row[f"prot_{c}_diff"] = float(a.mean() - b.mean())
        row[f"prot_{c}_p"] = (
            float(mannwhitneyu(a, b, alternative="two-sided").pvalue)
            if np.ptp(np.concatenate([a, b])) > 0
            else 1.0
        )
    if not car.any():
        row["prot_panel_note"] = "no CAR T cells: CAR T protein panel not measured"
    elif not non.any():
        row["prot_panel_note"] = "no non-CAR T cells to compare with"
    else:
        row["prot_panel_note"] = ""
    return row
