"""The shipped default reference model on real held-back marrow (issue 24 item 3).

Leave one patient out on van Galen 2019 (../shared/data/real/vangalen_marrow): a model
is trained on the other 6 patients with the shipped model's own build settings, and the
held-out patient runs through QC, doublets and annotate_step with the default
settings. The bench (bench/annotation_lopo.py) runs all 7 folds; this test runs a
subset of held-out patients to stay within a few minutes on 2 cores. Also: the shipped
model itself is what the workflow uses by default, it keeps the real CAR T product
T/NK, and it steps aside on samples that measure few of its features (the simulated
demo). Skips when the shared data are absent.
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import yaml
from realdata import author_margin, lopo_fold, per_class, prepare_sample, vangalen_dir

from marrowtox.settings import section_defaults
from marrowtox.singlecell.annotate import AnnotateParams
from marrowtox.singlecell.default_model import sha256
from marrowtox.singlecell.steps import annotate_step

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO / "resources" / "models"
pytestmark = pytest.mark.realdata

#: Held-out patients of the test (all 7 in the bench): together they hold >= 10 cells
#: of 8 classes (HSC/Prog, ProMono/Mono, earlyEry/lateEry, ProB/B, Plasma, T, CTL, NK).
#: Not every class passes on all 7 patients (ProB/B does not; docs/annotation.md):
#: this subset guards what holds against regressions.
HELD_OUT = ("AML420B", "AML328")
#: Targets of issue 24 (normal cells, coarse level).
MIN_ACCURACY = 0.85
MIN_RECALL = 0.70
MIN_CLASS_CELLS = 10


@pytest.fixture(scope="module")
def vangalen(real_data: Path) -> Path:
    folder = vangalen_dir()
    if folder is None:
        pytest.skip("vangalen_marrow absent from the real-data folder")
    return folder


@pytest.fixture(scope="module")
def lopo(vangalen: Path, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    work = tmp_path_factory.mktemp("lopo")
    return pd.concat([lopo_fold(p, work) for p in HELD_OUT])


def test_held_out_patients_meet_the_targets(lopo: pd.DataFrame) -> None:
    table = per_class(lopo)
    acc = float(lopo["correct"].mean())
    print(f"\nLOPO {', '.join(HELD_OUT)}: coarse accuracy {acc:.3f} over {len(lopo)} normal cells")
    print(table.to_string(float_format=lambda x: f"{x:.3f}"))
    assert acc >= MIN_ACCURACY
    judged = table[table["n"] >= MIN_CLASS_CELLS]
    assert len(judged) >= 6  # the subset really tests several classes
    low = judged[judged["recall"] < MIN_RECALL]
    assert low.empty, f"classes under {MIN_RECALL}: {low.to_dict('index')}"
    # the reference decides most cells; the marker cross-check a minority
    assert (lopo["route"] == "reference").mean() > 0.8


def test_author_margin_is_own_class_score_minus_best_other_class() -> None:
    """The confidence of the authors' label: best score of its class minus the best
    score of another class (HSC and Prog are one class), negative when they scored
    another class higher, NaN for a label outside the classes."""
    obs = pd.DataFrame(
        {
            "CellType": ["B", "cDC", "GMP-like", "HSC"],
            "Score_B": [0.5, 0.4, 0.1, 0.1],
            "Score_cDC": [0.2, 0.3, 0.2, 0.1],
            "Score_T": [0.3, 0.3, 0.7, 0.1],
            "Score_HSC": [0.0, 0.0, 0.0, 0.3],
            "Score_Prog": [0.0, 0.0, 0.0, 0.4],
        }
    )
    got = author_margin(obs).to_numpy()
    np.testing.assert_allclose(got[[0, 1, 3]], [0.2, -0.1, 0.3])
    assert np.isnan(got[2])


def test_shipped_model_is_the_default_and_documented() -> None:
    """The schema's default is the shipped model, its provenance names the file's
    sha256, and the model is small."""
    ref = section_defaults("singlecell", "annotate", "reference")
    model = REPO / ref["default_model"]
    assert model.is_file() and (REPO / ref["default_label_map"]).is_file()
    prov = yaml.safe_load((MODELS / "marrow_default.provenance.yaml").read_text())
    assert prov["sha256"] == sha256(model)
    assert model.stat().st_size < 5 * 2**20
    assert prov["celltypist"] == "1.7.1"
    assert set(prov["labels"]) <= set(prov["training_cells_per_label"])
    assert "Leave-one-patient-out validation" in (MODELS / "README.md").read_text()


def _default_annotate(h5ad: Path, sample: str, work: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """annotate_step as the workflow calls it with an empty reference section."""
    ref = section_defaults("singlecell", "annotate", "reference")
    table = annotate_step(
        str(h5ad),
        sample,
        str(REPO / "resources" / "markers" / "marrow.yaml"),
        "human",
        AnnotateParams.from_config({}, seed=0),
        str(work / f"{sample}.labels.tsv"),
        str(work / f"{sample}.annotation.tsv"),
        model_path=str(REPO / ref["default_model"]),
        label_map_path=str(REPO / ref["default_label_map"]),
    )
    labels = pd.read_csv(work / f"{sample}.labels.tsv", sep="\t", dtype={"barcode": str})
    return labels, table


def test_car_t_product_stays_t_nk_with_the_default_model(real_data: Path, tmp_path: Path) -> None:
    raw = real_data / "cart_product_scrna" / "ID38low.filtered_feature_bc_matrix.h5"
    labels, table = _default_annotate(prepare_sample(raw, "ID38low", tmp_path), "ID38low", tmp_path)
    share = float(labels["cell_type"].isin(["CD4 T", "CD8 T", "NK"]).mean())
    print(f"\nCAR T product with the default model: {share:.3f} T/NK of {len(labels)} cells")
    assert share >= 0.9
    assert table["reference_status"].iloc[0] == "used"
    assert table["reference_features_measured"].iloc[0] > 0.99  # features chosen 10x-measured
    assert table["n_by_reference"].sum() > table["n_by_markers"].sum()


def test_default_model_steps_aside_on_the_simulated_demo(tmp_path: Path) -> None:
    """The demo's genes are a few hundred real symbols plus synthetic fillers: the
    model finds a small share of its features, so the marker route decides, and the
    planted types are still recovered."""
    from sklearn.metrics import f1_score

    from marrowtox.demo import scrna
    from marrowtox.demo.cohort import COHORT

    r = np.random.default_rng(3)
    model = scrna.gene_model(r)
    mat, truth = scrna.simulate_sample(r, model, COHORT[4], "D28", np.zeros(len(model.genes)))
    clean = ~truth["doublet"].to_numpy() & ~truth["low_quality"].to_numpy()
    a = ad.AnnData(mat.astype(np.float32), var=pd.DataFrame(index=[*model.genes, "CAR"]))
    a.obs_names = [f"c{i}" for i in range(a.n_obs)]
    a[clean].copy().write_h5ad(tmp_path / "demo.h5ad")
    labels, table = _default_annotate(tmp_path / "demo.h5ad", "demo", tmp_path)
    t = truth["cell_type"].to_numpy()[clean]
    f1 = f1_score(t, labels["cell_type"].astype(str), labels=sorted(set(t)), average="macro")
    print(f"\ndemo: model features measured {table['reference_features_measured'].iloc[0]:.3f}")
    assert table["reference_status"].iloc[0].startswith("not used")
    assert (labels["cell_type_route"] != "reference").all()
    assert f1 >= 0.90


def test_training_labels_keep_only_the_named_like_cells() -> None:
    """Under `malignant: exclude`, the '-like' cells of the types in `lineage_like`
    train their type and every other '-like' cell is left out; `lineage` trains all of
    them as their type. The shipped build file names GMP (resources/models/README.md)."""
    from marrowtox.singlecell.default_model import BuildParams, training_labels

    labels = pd.Series(["GMP-like", "GMP", "Prog-like", "HSC-like", "T", "ProB"])
    got = training_labels(labels, "exclude", ["GMP"])
    assert got.tolist()[:2] == ["GMP", "GMP"]
    assert got.iloc[2:4].isna().all()
    assert got.tolist()[4:] == ["T", "ProB"]
    assert pd.isna(training_labels(labels, "exclude").iloc[0])
    assert training_labels(labels, "lineage").tolist() == ["GMP", "GMP", "Prog", "HSC", "T", "ProB"]
    shipped = BuildParams.load()
    assert shipped.malignant == "exclude" and shipped.lineage_like == ["GMP"]
