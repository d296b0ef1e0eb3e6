"""Marrow cell types from surface proteins (the protein route).

Per cell and type: score = mean normalised value of the type's positive proteins
minus the mean of its negative proteins (those measured; resources/markers/
marrow_adt.yaml, each set cited). Types with fewer than `min_proteins` positive
proteins in the panel are "not assessable in this sample" and never become a label.
Confidence is a softmax over the assessable types' scores with a stated temperature;
a cell whose best type does not beat the best type of another lineage by `margin`,
whose best score is under `min_score`, or whose confidence is under `min_confidence`
is "unknown". Isotype controls are never markers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import yaml

from marrowtox.celltypes import CELL_TYPES, LINEAGE, UNKNOWN
from marrowtox.errors import InputError
from marrowtox.singlecell.genespace import safe_key


@dataclass(frozen=True)
class ProteinParams:
    """Settings of the protein route; defaults and descriptions in the schema
    (singlecell.protein), built by `from_config`."""

    min_proteins: int
    margin: float
    min_score: float
    temperature: float
    min_confidence: float

    @classmethod
    def from_config(cls, section: dict[str, Any]) -> ProteinParams:
        from marrowtox.settings import section_defaults

        values = {**section_defaults("singlecell", "protein"), **section}
        return cls(**{f.name: values[f.name] for f in fields(cls)})


@dataclass(frozen=True)
class ProteinSet:
    positive: list[str]
    negative: list[str]
    source: str
    required: list[str]  # defining antigens: without them the set is not assessable


def load_protein_markers(path: str | Path) -> dict[str, ProteinSet]:
    try:
        with open(path, encoding="utf-8") as fh:
            model = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read protein marker model: {exc}", file=path) from None
    out = {}
    for name, spec in (model or {}).get("cell_types", {}).items():
        if name not in CELL_TYPES:
            raise InputError(
                f"unknown cell type {name!r}", file=path, expected="one of " + ", ".join(CELL_TYPES)
            )
        if not spec.get("positive") or not spec.get("source"):
            raise InputError(f"cell type {name!r} needs positive proteins and a source", file=path)
        required = list(spec.get("required", []))
        stray = [p for p in required if p not in spec["positive"]]
        if stray:
            raise InputError(
                f"cell type {name!r}: required {', '.join(stray)} not among its positive proteins",
                file=path,
            )
        out[name] = ProteinSet(
            list(spec["positive"]), list(spec.get("negative", [])), str(spec["source"]), required
        )
    if not out:
        raise InputError("no cell_types in the protein marker model", file=path)
    return out


def assess(measured: pd.Index, markers: dict[str, ProteinSet], min_proteins: int) -> pd.DataFrame:
    rows = []
    for name in CELL_TYPES:
        s = markers.get(name)
        pos = s.positive if s else []
        used = [p for p in pos if p in measured]
        neg = [p for p in (s.negative if s else []) if p in measured]
        lacking = [p for p in (s.required if s else []) if p not in measured]
        ok = len(used) >= min_proteins and not lacking
        if not pos:
            status = "no protein set in the model"
        elif lacking:
            status = f"not assessable in this sample: defining protein {', '.join(lacking)} not in the panel"
        elif ok:
            status = "scored"
        else:
            status = (
                f"not assessable in this sample: {len(used)} of {len(pos)} proteins "
                f"in the panel (< {min_proteins})"
            )
        rows.append(
            {
                "cell_type": name,
                "proteins_in_model": len(pos),
                "proteins_measured": len(used),
                "proteins_used": ",".join(used),
                "proteins_missing": ",".join(p for p in pos if p not in measured),
                "negative_used": ",".join(neg),
                "assessable": ok,
                "status": status,
            }
        )
    return pd.DataFrame(rows)


def score_proteins(
    prot: ad.AnnData, markers: dict[str, ProteinSet], params: ProteinParams
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-cell protein label, confidence and scores; and the per-type assessment.
    `prot.X` holds normalised values (CLR, DSB or as given)."""
    iso = (
        prot.var["isotype"].to_numpy(bool) if "isotype" in prot.var else np.zeros(prot.n_vars, bool)
    )
    measured = prot.var_names[~iso]
    table = assess(measured, markers, params.min_proteins)
    out = pd.DataFrame(index=prot.obs_names)
    ok = table[table["assessable"]]
    if ok.empty:
        out["protein_label"] = UNKNOWN
        out["protein_confidence"] = np.nan
        return out, table
    x = np.asarray(prot.X, dtype=np.float64)
    col = {p: i for i, p in enumerate(prot.var_names)}
    scores = {}
    for r in ok.itertuples():
        pos = x[:, [col[p] for p in r.proteins_used.split(",")]].mean(axis=1)
        neg_names = [p for p in r.negative_used.split(",") if p]
        neg = x[:, [col[p] for p in neg_names]].mean(axis=1) if neg_names else 0.0
        scores[r.cell_type] = pos - neg
    s = pd.DataFrame(scores, index=prot.obs_names)
    arr = s.to_numpy()
    cols = np.array(s.columns)
    order = np.argsort(-arr, axis=1)
    rows = np.arange(len(arr))
    best = arr[rows, order[:, 0]]
    labels = cols[order[:, 0]].astype(object)
    prob = np.exp((arr - best[:, None]) / params.temperature)
    prob /= prob.sum(axis=1, keepdims=True)
    confidence = prob[rows, order[:, 0]]
    group = np.array([LINEAGE[c] for c in cols])
    other = np.where(group[None, :] != group[order[:, 0]][:, None], arr, -np.inf).max(axis=1)
    other = np.where(np.isfinite(other), other, best - np.inf)
    unknown = (
        (best - other < params.margin)
        | (best < params.min_score)
        | (confidence < params.min_confidence)
    )
    labels[unknown] = UNKNOWN
    out["protein_label"] = labels
    out["protein_confidence"] = confidence
    for name in s.columns:
        out[f"protein_score_{safe_key(name)}"] = s[name].to_numpy()
    return out, table
