"""The shipped default reference model: chemistry-robust features and training, offline.

Why a shipped model: a sample annotated alone by marker scores blended with its own
cluster mean loses small populations to their neighbours (real held-back marrow of van
Galen 2019: B 0/21, cDC 1/82). A classifier trained on real labelled marrow calls each
cell on its own profile. It is trained once, offline, by tools/build_default_model.py
from public labelled marrow in ../shared/data/real, and shipped in resources/models/
with its provenance; the workflow never downloads a model.

Why these features: the model is applied to each sample on the genes that sample
measured (10x 3' or 5', Seq-Well, panels). A gene a standard 10x GRCh38 reference does
not measure, or whose level depends on the chemistry more than on the cell type
(mitochondrial and ribosomal transcripts, MALAT1/NEAT1 nuclear retention, sex-linked
genes), is left out before selection; of the rest, the genes that best separate each
label from all others (Welch t-test, scanpy.tl.rank_genes_groups) are kept, a fixed
number per label, so that a rare type keeps as many features as a common one and the
model stays small (a few MB).

Every setting is read from the build file beside the model
(resources/models/marrow_default.build.yaml); the leave-one-patient-out benchmark
(bench/annotation_lopo.py) trains each fold with this same code and file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
import yaml

from marrowtox.atomic import atomic_path
from marrowtox.errors import InputError

REPO = Path(__file__).resolve().parents[3]
BUILD_FILE = REPO / "resources" / "models" / "marrow_default.build.yaml"


@dataclass(frozen=True)
class BuildParams:
    """Settings of the default model's training (the build file; no defaults in code)."""

    malignant: str  # "lineage": AML "-like" cells train their lineage; "exclude"
    lineage_like: list[str]  # under "exclude": types whose "-like" cells still train them
    exclude_genes_regex: str
    min_cells_per_gene: int
    top_genes_per_label: int
    min_cells_per_label: int
    C: float
    max_iter: int
    class_weight: str | None
    seed: int

    @classmethod
    def load(cls, path: str | Path = BUILD_FILE) -> BuildParams:
        """From the build file's `training` section; a missing key is an error naming it."""
        with open(path, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh)
        section = doc.get("training", {})
        names = list(cls.__dataclass_fields__)
        missing = [k for k in names if k not in section]
        if missing:
            raise InputError(
                f"build settings missing: {', '.join(missing)}",
                file=path,
                expected="training: {" + ", ".join(names) + "}",
            )
        if section["malignant"] not in ("lineage", "exclude"):
            raise InputError(
                f"malignant: {section['malignant']!r}", file=path, expected="lineage or exclude"
            )
        values = {k: section[k] for k in names}
        values["lineage_like"] = list(values["lineage_like"] or [])
        return cls(**values)


def training_labels(
    labels: pd.Series, malignant: str, lineage_like: Iterable[str] = ()
) -> pd.Series:
    """The label each cell trains: van Galen's malignant '<type>-like' cells train the
    normal type they are named after ('lineage') or are left out ('exclude': NaN),
    except, under 'exclude', the types in `lineage_like` whose '-like' cells train the
    type all the same.

    Why a per-type exception: the '-like' cells of a committed type (GMP-like) carry
    that type's programme, and one patient holds 110 of the 121 normal GMPs of van
    Galen's marrow, so without its GMP-like cells a model trained on the other patients
    sees 11-32 GMPs; primitive blasts (HSC-like, Prog-like) are left out, because
    training them pulled early erythroid cells to Prog (resources/models/README.md)."""
    labels = labels.astype(str)
    like = labels.str.endswith("-like")
    stem = labels.str.removesuffix("-like")
    if malignant == "lineage":
        return stem
    return stem.where(~like | stem.isin(list(lineage_like)))


def candidate_genes(
    genes: Iterable[str], exclude_regex: str, measured_in: set[str] | None
) -> list[str]:
    """Genes the model may use: not chemistry-dominated (regex), and measured by the
    other chemistry's gene set when one is given (e.g. a 10x GRCh38 feature list)."""
    pattern = re.compile(exclude_regex)
    return [g for g in genes if not pattern.match(g) and (measured_in is None or g in measured_in)]


def select_features(lognorm: ad.AnnData, labels: pd.Series, params: BuildParams) -> list[str]:
    """The union over labels of the `top_genes_per_label` genes with the largest Welch t
    statistic of that label against all other cells (positive markers only: a gene's
    absence carries little weight in shallow data)."""
    import scanpy as sc

    view = ad.AnnData(lognorm.X, obs=pd.DataFrame({"y": labels.to_numpy()}, dtype="category"))
    view.obs_names = lognorm.obs_names
    view.var_names = lognorm.var_names
    sc.tl.rank_genes_groups(
        view, "y", method="t-test", n_genes=params.top_genes_per_label, use_raw=False
    )
    names = pd.DataFrame(view.uns["rank_genes_groups"]["names"]).to_numpy().ravel()
    chosen = set(map(str, names))
    return [g for g in lognorm.var_names if g in chosen]  # the matrix's own gene order


def train(
    counts: ad.AnnData,
    labels: pd.Series,
    params: BuildParams,
    measured_in: set[str] | None = None,
) -> tuple[Any, pd.DataFrame]:
    """A CellTypist model from raw counts and per-cell labels (NaN: not trained).

    Returns the model and a table of cells per label (used or below
    `min_cells_per_label`). Deterministic: CellTypist draws from numpy's global
    generator, seeded here.
    """
    from marrowtox.singlecell.reference import _celltypist, lognormalise

    celltypist = _celltypist()
    labels = pd.Series(labels.to_numpy(), index=counts.obs_names)
    counts_per_label = labels.value_counts()
    keep_labels = counts_per_label.index[counts_per_label >= params.min_cells_per_label]
    keep = labels.isin(keep_labels).to_numpy()
    sub = counts[keep].copy()
    y = labels[keep]
    detected = np.asarray((sub.X > 0).sum(axis=0)).ravel()
    genes = candidate_genes(
        sub.var_names[detected >= params.min_cells_per_gene],
        params.exclude_genes_regex,
        measured_in,
    )
    sub = lognormalise(sub[:, genes].copy())
    features = select_features(sub, y, params)
    sub = sub[:, features].copy()
    sub.obs["label"] = y.to_numpy()
    np.random.seed(params.seed)
    model = celltypist.train(
        sub,
        labels="label",
        C=params.C,
        max_iter=params.max_iter,
        feature_selection=False,
        n_jobs=1,
        check_expression=False,
        class_weight=params.class_weight,
        random_state=params.seed,
    )
    table = pd.DataFrame(
        {
            "label": counts_per_label.index.astype(str),
            "n_cells": counts_per_label.to_numpy(),
            "used": counts_per_label.index.isin(keep_labels),
        }
    )
    return model, table


def write_model(model: Any, path: str | Path) -> str:
    """Write the model atomically; returns its sha256 (for the provenance file)."""
    with atomic_path(path) as tmp:
        model.write(str(tmp))
    return sha256(path)


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
