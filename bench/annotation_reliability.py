"""Benchmark: does annotation confidence mean something? Reliability tables on labelled data.

Prints, per confidence bin, the number of cells and the fraction whose label is right,
for (a) the marker route on one demo sample (planted truth; cell types) and (b) the
reference route on real marrow: a CellTypist model trained on donor s1d1 of
../shared/data/real/bmmc_cite applied to donor s1d2 (coarse classes), plus the coarse
accuracy per class and wall time of training and annotation. Figures, never pass/fail.

Usage: .venv/bin/python bench/annotation_reliability.py [--no-real]
(without ../shared/data/real, or with --no-real, only (a) runs)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "data" / "real" / "bmmc_cite"
BINS = [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0]


def table(conf: pd.Series, ok: pd.Series) -> pd.DataFrame:
    cut = pd.cut(conf, BINS, include_lowest=True)
    out = ok.groupby(cut, observed=True).agg(["size", "mean"])
    out.columns = ["n_cells", "fraction_correct"]
    return out


def demo(work: Path) -> None:
    from marrowtox.demo import scrna
    from marrowtox.demo.cohort import COHORT
    from marrowtox.singlecell.steps import annotate_step

    r = np.random.default_rng(3)
    model = scrna.gene_model(r)
    mat, truth = scrna.simulate_sample(r, model, COHORT[4], "D28", np.zeros(len(model.genes)))
    a = ad.AnnData(mat.astype(np.float32), var=pd.DataFrame(index=model.genes + ["CAR"]))
    a.obs_names = [f"c{i}" for i in range(a.n_obs)]
    a.write_h5ad(work / "demo.h5ad")
    t0 = time.perf_counter()
    annotate_step(
        str(work / "demo.h5ad"),
        "demo",
        str(REPO / "resources" / "markers" / "marrow.yaml"),
        "human",
        _params(),
        str(work / "demo.labels.tsv"),
        str(work / "demo.annotation.tsv"),
    )
    wall = time.perf_counter() - t0
    lab = pd.read_csv(work / "demo.labels.tsv", sep="\t", dtype={"barcode": str}).set_index(
        "barcode"
    )
    truth.index = a.obs_names
    clean = ~truth["doublet"] & ~truth["low_quality"]
    ok = (lab["cell_type"] == truth["cell_type"])[clean]
    print(
        f"(a) demo sample, marker route: {clean.sum()} clean cells, accuracy {ok.mean():.3f}, "
        f"annotate {wall:.1f} s"
    )
    print(table(lab.loc[clean, "cell_type_confidence"].fillna(0), ok).to_string())


def _params():
    from marrowtox.singlecell.annotate import AnnotateParams

    return AnnotateParams.from_config({}, seed=0)


def bmmc(work: Path) -> None:
    from marrowtox.celltypes import COARSE, UNKNOWN
    from marrowtox.singlecell.reference import ReferenceParams, load_label_map
    from marrowtox.singlecell.steps import annotate_step, reference_step

    if not REAL.is_dir():
        print(f"(b) skipped: {REAL} absent")
        return
    rna = ad.read_h5ad(REAL / "rna.h5ad")
    rna.X = rna.layers["counts"]
    del rna.layers["counts"]
    rna[rna.obs["batch"] == "s1d1"].copy().write_h5ad(work / "ref.h5ad")
    q = rna[rna.obs["batch"] == "s1d2"].copy()
    truth = q.obs["cell_type"].astype(str)
    q.obs = q.obs[[]]
    q.write_h5ad(work / "s1d2.h5ad")
    t0 = time.perf_counter()
    reference_step(
        str(work / "ref.h5ad"),
        ReferenceParams.from_config({}, 0),
        str(work / "model.pkl"),
        str(work / "ref.tsv"),
    )
    t_train = time.perf_counter() - t0
    label_map_path = REPO / "resources" / "reference_maps" / "neurips2021_bmmc.yaml"
    t0 = time.perf_counter()
    annotate_step(
        str(work / "s1d2.h5ad"),
        "s1d2",
        str(REPO / "resources" / "markers" / "marrow.yaml"),
        "human",
        _params(),
        str(work / "s1d2.labels.tsv"),
        str(work / "s1d2.annotation.tsv"),
        model_path=str(work / "model.pkl"),
        label_map_path=str(label_map_path),
    )
    t_ann = time.perf_counter() - t0
    lab = pd.read_csv(work / "s1d2.labels.tsv", sep="\t", dtype={"barcode": str}).set_index(
        "barcode"
    )
    label_map = load_label_map(str(label_map_path))
    t = truth.loc[lab.index].map(lambda x: COARSE[label_map[x]])
    p = lab["cell_type"].map(lambda x: COARSE.get(x, UNKNOWN))
    ok = t == p
    print(
        f"\n(b) bmmc_cite reference route s1d1 -> s1d2: {len(t)} cells, coarse accuracy "
        f"{ok.mean():.3f}; train {t_train:.1f} s, annotate {t_ann:.1f} s"
    )
    per = ok.groupby(t).agg(["size", "mean"])
    per.columns = ["n_cells", "accuracy"]
    print(per.to_string())
    print(f"unknown: {(lab['cell_type'] == UNKNOWN).sum()} cells")
    print(table(lab["cell_type_confidence"].fillna(0), ok).to_string())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-real", action="store_true", help="only (a), the demo sample")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_annot.") as tmp:
        demo(Path(tmp))
        if args.no_real or not REAL.is_dir():
            print(f"\n(b) skipped: {'--no-real' if args.no_real else f'no {REAL}'}")
        else:
            bmmc(Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
