"""HSPC after vs before infusion: the inflammatory response of the progenitors.

Per patient the HSPC (HSC/MPP, LMPP) of the baseline marrow and of the post-infusion
marrow (marrowtox.marrow_pairs) are summed into two pseudobulk profiles and compared
within the patient (DESeq2, ~ patient + time). HSPC are few after infusion in exactly
the patients of interest (the depleted marrow), so the minimum cells per profile
matters: a patient below it is named and left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from marrowtox.celltypes import HSPC_TYPES
from marrowtox.marrow_pairs import baseline_and_post
from marrowtox.singlecell.pseudobulk_de import (
    DESettings,
    PairedDE,
    paired_de,
    programs_refused,
    refusal,
)

POST, BASELINE = "post", "baseline"
COMPARISON = "HSPC post-infusion vs baseline"


@dataclass(frozen=True)
class HspcDEInputs:
    h5ads: dict[str, Path]  # sample -> annotated object (layer counts, obs cell_type)
    samples: pd.DataFrame  # marrowtox.samplesheet.load_samples
    post_days: tuple[int, int]
    gene_sets: dict[str, list[str]]
    settings: DESettings


def hspc_cells(path: Path, patient: str, when: str):
    import anndata as ad

    from marrowtox.errors import InputError

    a = ad.read_h5ad(path)
    if "cell_type" not in a.obs or "counts" not in a.layers:
        raise InputError(
            "obs cell_type or layer counts missing", file=path, expected="an annotated object"
        )
    h = a[a.obs["cell_type"].astype(str).isin(HSPC_TYPES).to_numpy()].copy()
    del h.obsm, h.uns
    h.obs = pd.DataFrame({"pair": patient, "group": when}, index=h.obs_names)
    return h


def hspc_post_vs_baseline(inp: HspcDEInputs, notes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    import anndata as ad

    pairs = baseline_and_post(inp.samples, inp.post_days, inp.h5ads).dropna()
    if pairs.empty:
        why = f"not tested: no patient has both a marrow baseline and a marrow on days {inp.post_days[0]}-{inp.post_days[1]}"
        return refusal(COMPARISON, why), programs_refused(inp.gene_sets, why)
    parts = []
    for patient, row in pairs.iterrows():
        parts.append(hspc_cells(inp.h5ads[row["baseline"]], str(patient), BASELINE))
        parts.append(hspc_cells(inp.h5ads[row["post"]], str(patient), POST))
    cells = ad.concat(
        parts, join="inner", index_unique="-", keys=[str(i) for i in range(len(parts))]
    )
    spec = PairedDE(
        cells, COMPARISON, POST, BASELINE, "patient", inp.settings, inp.gene_sets, notes
    )
    return paired_de(spec)
