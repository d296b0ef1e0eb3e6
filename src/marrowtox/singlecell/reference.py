"""Reference route of annotation: a CellTypist model trained on a labelled marrow atlas.

Why a reference: on panels and chemistries that miss the classic markers (the real
NeurIPS 2021 marrow in ../shared/data/real/bmmc_cite has 1,000 random genes), marker
sets are not assessable, while a classifier trained on labelled cells of the same kind
still separates the lineages. CellTypist (Dominguez Conde et al., Science 2022) is the
field's well-kept logistic-regression annotator; the model is trained here, written to
results/ and reused; it is never downloaded. A model trained elsewhere can be given as
a file.

Labels of the reference are mapped to marrowtox types by a YAML map (config), and the
probability of a marrowtox type is the probability of its best-matching reference
label, normalised over the types (see `predict` for why not the sum). CellTypist uses the model features the sample measured (its own
gene space); the share found is reported per sample.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import yaml

from marrowtox.atomic import atomic_path
from marrowtox.celltypes import CELL_TYPES, UNKNOWN
from marrowtox.errors import InputError
from marrowtox.singlecell.lognorm import TARGET_SUM


@dataclass(frozen=True)
class ReferenceParams:
    """Training settings (schema: singlecell.annotate.reference)."""

    label_column: str
    C: float
    max_iter: int
    min_cells_per_label: int
    seed: int = 0

    @classmethod
    def from_config(cls, section: dict[str, Any], seed: int = 0) -> ReferenceParams:
        from marrowtox.settings import section_defaults

        values = {**section_defaults("singlecell", "annotate", "reference"), **section}
        names = {f.name for f in fields(cls)} - {"seed"}
        return cls(**{k: values[k] for k in names}, seed=seed)


def _celltypist():
    """CellTypist keeps a model folder under $HOME at import; point it inside the
    working directory (no path outside the project, nothing downloaded)."""
    os.environ.setdefault("CELLTYPIST_FOLDER", str(Path(".snakemake", "celltypist").resolve()))
    import celltypist

    return celltypist


def lognormalise(adata: ad.AnnData) -> ad.AnnData:
    """log1p of counts per 10,000: the expression CellTypist models expect."""
    import scanpy as sc

    b = adata.copy()
    sc.pp.normalize_total(b, target_sum=TARGET_SUM)
    sc.pp.log1p(b)
    return b


def read_reference(path: str, label_column: str) -> ad.AnnData:
    """The labelled reference: raw counts (X or layers['counts']), symbols, labels."""
    from marrowtox.singlecell.genespace import to_symbols
    from marrowtox.singlecell.io import _check_raw

    p = Path(path)
    if not p.exists():
        raise InputError("reference file not found", file=p, expected="a labelled .h5ad")
    try:
        adata = ad.read_h5ad(p)
    except (OSError, KeyError, ValueError) as exc:
        raise InputError(f"cannot read reference: {exc}", file=p, expected="an .h5ad") from None
    if label_column not in adata.obs:
        raise InputError(
            f"no obs column {label_column!r} (columns: {', '.join(map(str, adata.obs.columns))})",
            file=p,
            column=label_column,
            expected="the label column named in singlecell.annotate.reference.label_column",
        )
    where = "X"
    if "counts" in adata.layers:
        adata.X = adata.layers["counts"]
        where = "layers['counts']"
    _check_raw(adata.X, p, where)
    from scipy import sparse

    adata.X = sparse.csr_matrix(adata.X, dtype=np.float32)
    adata.layers.clear()
    return to_symbols(adata, str(p))


def train_model(reference: str, params: ReferenceParams, out: str) -> pd.DataFrame:
    """Train a CellTypist model on the reference and write it to `out` (pickle).

    Labels with fewer than `min_cells_per_label` cells are left out of training (a
    class of one or two cells is noise to a logistic regression); the returned table
    says how many cells each label had and whether it was used.
    """
    celltypist = _celltypist()
    ref = read_reference(reference, params.label_column)
    labels = ref.obs[params.label_column].astype(str)
    counts = labels.value_counts()
    keep_labels = counts.index[counts >= params.min_cells_per_label]
    if len(keep_labels) < 2:
        raise InputError(
            f"fewer than 2 labels with >= {params.min_cells_per_label} cells in the reference",
            file=reference,
            column=params.label_column,
            expected="a labelled reference with several cell types",
        )
    ref = lognormalise(ref[labels.isin(keep_labels).to_numpy()].copy())
    np.random.seed(params.seed)  # celltypist draws from numpy's global generator
    model = celltypist.train(
        ref,
        labels=params.label_column,
        C=params.C,
        max_iter=params.max_iter,
        feature_selection=False,
        n_jobs=1,
        check_expression=False,
    )
    with atomic_path(out) as tmp:
        model.write(str(tmp))
    return pd.DataFrame(
        {
            "label": counts.index,
            "n_cells": counts.to_numpy(),
            "used": counts.index.isin(keep_labels),
        }
    )


def load_label_map(path: str) -> dict[str, str]:
    """Reference label -> marrowtox type (or 'unknown'), checked against the vocabulary."""
    p = Path(path)
    if not p.exists():
        raise InputError("label map not found", file=p, expected="a YAML map label: type")
    with open(p, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh) or {}
    mapping = doc.get("labels", doc)
    if not isinstance(mapping, dict) or not mapping:
        raise InputError("no 'labels' mapping", file=p, expected="labels: {reference label: type}")
    allowed = {*CELL_TYPES, UNKNOWN}
    for label, target in mapping.items():
        if target not in allowed:
            raise InputError(
                f"label {label!r} maps to {target!r}",
                file=p,
                expected="one of " + ", ".join(sorted(allowed)),
            )
    return {str(k): str(v) for k, v in mapping.items()}


def load_model(path: str):
    celltypist = _celltypist()
    p = Path(path)
    if not p.is_file():
        raise InputError("reference model not found", file=p, expected="a CellTypist .pkl")
    return celltypist.models.Model.load(str(p))


def check_map_covers(model, label_map: dict[str, str], map_path: str) -> None:
    missing = [str(c) for c in model.cell_types if str(c) not in label_map]
    if missing:
        raise InputError(
            f"{len(missing)} reference label(s) have no marrowtox type: {', '.join(missing[:10])}",
            file=map_path,
            expected="every label of the model mapped (use 'unknown' to drop one)",
        )


def feature_share(adata: ad.AnnData, model) -> float:
    """Share of the model's features among the genes the sample measured."""
    return float(np.isin(model.features, adata.var_names).mean())


def predict(
    lognorm: ad.AnnData,
    model,
    label_map: dict[str, str],
    neighbours=None,
    neighbour_weight: float = 0.0,
) -> tuple[pd.DataFrame, float]:
    """Per-cell reference label, mapped type and its probability; share of model
    features the sample measured.

    `neighbours` (rows: a cell's kNN weights in its own sample) blends each cell's type
    probabilities with its neighbours' mean by `neighbour_weight`: a shallow cell's
    profile is noisy, its neighbourhood less so, and unlike a cluster mean a
    neighbourhood of k cells does not absorb a population of more than k cells."""
    celltypist = _celltypist()
    found = feature_share(lognorm, model)
    if found == 0:
        out = pd.DataFrame(index=lognorm.obs_names)
        out["reference_label"] = UNKNOWN
        out["reference_type"] = UNKNOWN
        out["reference_confidence"] = np.nan
        return out, found
    pred = celltypist.annotate(lognorm, model=model, majority_voting=False)
    prob = pred.probability_matrix
    targets = np.array([label_map[str(c)] for c in prob.columns])
    types = [t for t in dict.fromkeys(targets) if t != UNKNOWN]
    # A type's evidence is its best-matching reference label (max, not sum: a sum
    # favours types the atlas splits finely; 17 T-cell labels against 4 NK/ILC ones
    # called 70% of real NK cells T in bmmc_cite), normalised over the types.
    by_type = pd.DataFrame(
        {t: prob.loc[:, targets == t].max(axis=1).to_numpy() for t in types},
        index=lognorm.obs_names,
    )
    by_type = by_type.div(by_type.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    if neighbours is not None and neighbour_weight > 0:
        smooth = neighbours @ by_type.to_numpy()
        by_type = (1 - neighbour_weight) * by_type + neighbour_weight * smooth
    out = pd.DataFrame(index=lognorm.obs_names)
    out["reference_label"] = pred.predicted_labels["predicted_labels"].astype(str).to_numpy()
    best = by_type.to_numpy().argmax(axis=1)
    out["reference_type"] = np.array(by_type.columns)[best]
    out["reference_confidence"] = by_type.to_numpy().max(axis=1)
    return out, found
