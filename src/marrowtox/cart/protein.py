"""CAR T activation and exhaustion by surface protein (CITE-seq).

Proteins of the panel (singlecell.protein.car_panel: CD69, CD25, HLA-DR, CD38, PD-1
(CD279), TIM-3 (CD366), LAG-3 (CD223), TIGIT) compared between CAR T cells and the
non-CAR T cells of the same sample: mean normalised value of each group, their
difference and a two-sided Mann-Whitney U p-value. A protein not in the panel, or a
group without cells, is reported as missing (empty), never as 0.

`cart_call` computes the panel (it makes the CAR calls) from the sample's protein
input, normalised as `sc_protein` does (marrowtox.prot.steps.normalised_proteins), and
writes it into results/cart/<sample>.tsv. The T cells are those of the RNA labels, the
same cells as `n_t_cells` and `car_t_pct_of_t`. A sample without proteins has the same
columns, empty.
"""

from __future__ import annotations

from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
from scipy.stats import mannwhitneyu

from marrowtox.cart.calling import NOT_DETECTED
from marrowtox.celltypes import T_TYPES
from marrowtox.singlecell.genespace import safe_key


def column(protein: str) -> str:
    return safe_key(protein).replace("-", "_")


NO_PROTEIN = "no protein data"


def car_protein_panel(
    values: pd.DataFrame | None,
    cell_type: pd.Series | None,
    car_positive: pd.Series | None,
    panel: list[str],
) -> dict[str, object]:
    """One row of columns `prot_<protein>_car`, `_noncar`, `_diff`, `_p` plus counts.

    values: cells x proteins (normalised); cell_type and car_positive per cell.
    values None (a sample without proteins): the same columns, all empty."""
    if values is None:
        row: dict[str, object] = {"prot_n_car_t": None, "prot_n_noncar_t": None}
        row.update({"prot_panel_measured": "", "prot_panel_missing": ""})
        for p in panel:
            c = column(p)
            row.update({f"prot_{c}_{k}": None for k in ("car", "noncar", "diff", "p")})
        row["prot_panel_note"] = NO_PROTEIN
        return row
    if cell_type is None or car_positive is None:
        raise ValueError("cell_type and car_positive are needed with protein values")
    t = cell_type.reindex(values.index).astype(str).isin(list(T_TYPES)).to_numpy()
    car = car_positive.reindex(values.index).fillna(False).to_numpy(dtype=bool) & t
    non = t & ~car
    row = {
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


def sample_car_panel(
    adata: ad.AnnData,
    sample: str,
    section: dict[str, Any],
    raw_path: str | None = None,
    adt_path: str = "",
    empty_droplets: str | None = None,
    seed: int = 0,
) -> dict[str, object]:
    """The panel columns of results/cart/<sample>.tsv for an AnnData with CAR calls
    (obs car_positive, RNA cell_type). raw_path None: the sample has no proteins.
    `prot_normalisation` records the method (as in the protein outputs)."""
    from marrowtox.settings import section_defaults

    section = {**section_defaults("singlecell", "protein"), **section}
    panel = list(section["car_panel"])
    if raw_path is None:
        return {**car_protein_panel(None, None, None, panel), "prot_normalisation": ""}
    from marrowtox.prot.steps import normalised_proteins

    p, _ = normalised_proteins(
        adata.obs_names, sample, raw_path, adt_path, section, empty_droplets, seed
    )
    values = pd.DataFrame(np.asarray(p.X), index=p.obs_names, columns=p.var_names)
    obs = adata.obs.loc[p.obs_names]
    car = (
        obs["car_positive"].astype(bool)
        if "car_positive" in obs
        else pd.Series(False, index=p.obs_names)
    )
    row = car_protein_panel(values, obs["cell_type"].astype(str), car, panel)
    status = str(adata.uns.get("car_status", "measured"))
    # "not detected" is a measured result (cells were called, none CAR+): 0 CAR T cells;
    # without a CAR feature there are no calls: the counts are missing, not 0
    if status not in ("measured", NOT_DETECTED):
        row["prot_n_car_t"] = row["prot_n_noncar_t"] = None
        row["prot_panel_note"] = f"CAR T cells not called ({status})"
    return {**row, "prot_normalisation": p.uns["protein_normalisation"]}
