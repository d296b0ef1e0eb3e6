"""Build the shipped default reference model of cell-type annotation, offline.

    /work/main/.venv/bin/python tools/build_default_model.py            # all 7 patients
    /work/main/.venv/bin/python tools/build_default_model.py --check    # rebuild, compare content

Why a tools/ script and not a workflow rule or a subcommand: the model is a shipped
resource built once by the maintainers from the public labelled marrow kept in
../shared/data/real (absent from a user's clone), like the marker sets are curated
once; the workflow only reads the result. tools/ holds such maintainer scripts; they
are not installed with the package and not run by the workflow.

Inputs and settings: resources/models/marrow_default.build.yaml. Outputs:
resources/models/marrow_default.pkl (CellTypist model) and
resources/models/marrow_default.provenance.yaml (sources, training cells per label, gene
count, CellTypist version, parameters, sha256). The leave-one-patient-out validation
(bench/annotation_lopo.py) trains its folds with `build` below.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import anndata as ad
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # tests/realdata.py: the van Galen reader

from realdata import read_vangalen, real_data_dir  # noqa: E402

from marrowtox.singlecell.default_model import (  # noqa: E402
    BUILD_FILE,
    BuildParams,
    train,
    training_labels,
    write_model,
)

MODEL = REPO / "resources" / "models" / "marrow_default.pkl"
PROVENANCE = REPO / "resources" / "models" / "marrow_default.provenance.yaml"


def measured_genes(real: Path, build: dict) -> set[str]:
    """Gene symbols of the 10x feature list named in the build file."""
    import h5py

    with h5py.File(real / build["sources"]["measured_in"]["path"], "r") as fh:
        return {x.decode() for x in fh["matrix/features/name"][:]}


def training_cells(real: Path, build: dict, patients: list[str]) -> ad.AnnData:
    """Raw counts of the given van Galen patients, on the genes all of them share."""
    folder = real / "vangalen_marrow"
    parts = [read_vangalen(p, folder) for p in patients]
    return ad.concat(parts, join="inner", index_unique=None)


def build(
    patients: list[str],
    real: Path | None = None,
    build_file: Path = BUILD_FILE,
) -> tuple[Any, pd.DataFrame]:
    """Train the default model on `patients` with the build file's settings; returns the
    model and the per-label training table. Used for the shipped model (all patients)
    and for every leave-one-patient-out fold."""
    real = real or real_data_dir()
    if real is None:
        raise SystemExit("../shared/data/real is absent: the default model cannot be built here")
    with open(build_file, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    params = BuildParams.load(build_file)
    cells = training_cells(real, doc, patients)
    column = doc["sources"]["vangalen_marrow"]["label_column"]
    labels = training_labels(cells.obs[column], params.malignant, params.lineage_like)
    return train(cells, labels, params, measured_genes(real, doc))


def provenance(model: Any, table: pd.DataFrame, digest: str, build_file: Path) -> dict:
    """What a reader of the model needs to trust and reproduce it."""
    with open(build_file, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
    return {
        "model": MODEL.name,
        "sha256": digest,
        "size_bytes": MODEL.stat().st_size,
        "built_by": "tools/build_default_model.py",
        "build_file": str(build_file.relative_to(REPO)),
        "celltypist": version("celltypist"),
        "scikit_learn": version("scikit-learn"),
        "scanpy": version("scanpy"),
        "sources": doc["sources"],
        "label_map": doc["label_map"],
        "training": doc["training"],
        "n_features": len(model.features),
        "labels": [str(c) for c in model.cell_types],
        "training_cells_per_label": {
            str(r.label): {"n_cells": int(r.n_cells), "used": bool(r.used)}
            for r in table.itertuples()
        },
        "validation": "resources/models/README.md (bench/annotation_lopo.py)",
    }


def check(model: Any) -> int:
    """Compare a rebuilt model with the shipped one by content: features, labels,
    coefficients, intercepts and scaler. (The pickle also records the training date,
    so a rebuild's sha256 differs from the shipped file's even when nothing else does.)"""
    import numpy as np

    from marrowtox.singlecell.reference import load_model

    shipped = load_model(str(MODEL))
    same = (
        list(model.features) == list(shipped.features)
        and list(model.cell_types) == list(shipped.cell_types)
        and np.array_equal(model.classifier.coef_, shipped.classifier.coef_)
        and np.array_equal(model.classifier.intercept_, shipped.classifier.intercept_)
        and np.array_equal(model.scaler.mean_, shipped.scaler.mean_)
        and np.array_equal(model.scaler.scale_, shipped.scaler.scale_)
    )
    print("rebuilt model identical to the shipped one" if same else "rebuilt model DIFFERS")
    return 0 if same else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build-file", type=Path, default=BUILD_FILE)
    p.add_argument(
        "--check", action="store_true", help="rebuild and compare with the shipped model"
    )
    a = p.parse_args(argv)
    with open(a.build_file, encoding="utf-8") as fh:
        patients = yaml.safe_load(fh)["sources"]["vangalen_marrow"]["patients"]
    model, table = build(patients, build_file=a.build_file)
    if a.check:
        return check(model)
    digest = write_model(model, MODEL)
    doc = provenance(model, table, digest, a.build_file)
    PROVENANCE.write_text(
        "# Written by tools/build_default_model.py; do not edit by hand.\n"
        + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    )
    print(f"{MODEL}: {len(model.features)} features, {len(model.cell_types)} labels, {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
