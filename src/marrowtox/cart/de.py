"""CAR T vs non-CAR T cells of the same marrow: which genes and programs separate them.

The seed study found that marrow CAR T cells carry an activated, inflammatory program.
Per marrow sample the CAR+ and CAR- T cells (annotation CD4 T / CD8 T; CAR call of
rule cart_call) are summed into two pseudobulk profiles and compared within the sample
(DESeq2, ~ sample + car): patient and time effects cancel, as in a paired test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from marrowtox.celltypes import T_TYPES
from marrowtox.singlecell.pseudobulk_de import (
    DESettings,
    PairedDE,
    paired_de,
    programs_refused,
    refusal,
)

CAR, NON_CAR = "CAR", "nonCAR"
COMPARISON = "CAR T vs non-CAR T"


@dataclass(frozen=True)
class CarDEInputs:
    """Per-sample CAR-called objects (results/singlecell/{sample}.h5ad) of the marrow
    samples, the gene sets and the settings."""

    h5ads: list[Path]
    gene_sets: dict[str, list[str]]
    settings: DESettings


def t_cells(path: Path):
    """The T cells of one sample, obs `pair` = sample and `group` = CAR / nonCAR."""
    import anndata as ad

    from marrowtox.errors import InputError

    a = ad.read_h5ad(path)
    for col in ("cell_type", "car_positive"):
        if col not in a.obs:
            raise InputError(
                f"obs column {col!r} missing",
                file=path,
                expected="a CAR-called object (rule cart_call)",
            )
    if "counts" not in a.layers:
        raise InputError(
            "layer 'counts' missing", file=path, expected="raw counts in layers['counts']"
        )
    t = a[a.obs["cell_type"].astype(str).isin(T_TYPES).to_numpy()].copy()
    car = t.obs["car_positive"].astype("boolean").fillna(False).to_numpy(bool)
    t.obs["pair"] = str(a.obs["sample"].iloc[0]) if "sample" in a.obs and a.n_obs else path.stem
    t.obs["group"] = pd.Categorical([CAR if c else NON_CAR for c in car], categories=[CAR, NON_CAR])
    del t.obsm, t.uns
    t.obs = t.obs[["pair", "group"]]
    return t


def car_vs_noncar(inp: CarDEInputs, notes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    import anndata as ad

    if not inp.h5ads:  # e.g. a cohort of pre-infusion marrow and products only
        reason = "not tested: no post-infusion marrow sample with CAR calls"
        notes.append(reason)
        return refusal(COMPARISON, reason), programs_refused(inp.gene_sets, reason)
    parts = [t_cells(p) for p in inp.h5ads]
    cells = ad.concat(
        parts, join="inner", index_unique="-", keys=[str(p) for p in range(len(parts))]
    )
    spec = PairedDE(cells, COMPARISON, CAR, NON_CAR, "sample", inp.settings, inp.gene_sets, notes)
    return paired_de(spec)
