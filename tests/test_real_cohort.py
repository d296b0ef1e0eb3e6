"""A real cohort end to end (issue 24, item 4): the 7 van Galen marrow aspirates
(Seq-Well, ~2,000-3,000 UMIs per cell) and the real CAR T product (10x 5', ~330 UMIs per
cell) in one workflow run, with the cohort integration broken on purpose.

What it shows:
- a mixed-chemistry cohort runs end to end: every patient report and the cohort report
  are written, and per-sample results never wait on the cohort picture (here it fails:
  `singlecell.integrate.min_cells_per_gene` above the cohort's cell count, valid in
  form);
- the cohort report says why there is no cohort picture;
- the same cohort integrates with the default settings (the seurat_v3 loess that
  crashed on it falls back to another HVG flavour, stated);
- per-patient labels agree with the authors' (coarse classes, normal cells), and the
  CAR T product is labelled T/NK.
Skips cleanly when ../shared/data/real is absent.
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import pandas as pd
import pytest
import yaml
from realdata import VANGALEN_PATIENTS, vangalen_dir, vangalen_h5ad
from workflow_run import prepare_workdir, snakemake

from marrowtox.celltypes import COARSE

pytestmark = pytest.mark.realdata

#: The authors' normal types -> marrowtox coarse classes (celltypes.COARSE); malignant
#: "-like" cells are left out of accuracy (their label is a resemblance, not a type).
AUTHOR_COARSE = {
    "HSC": "HSPC",
    "Prog": "HSPC",
    "GMP": "myeloid",
    "ProMono": "myeloid",
    "Mono": "myeloid",
    "cDC": "myeloid",
    "pDC": "myeloid",
    "earlyEry": "erythroid",
    "lateEry": "erythroid",
    "ProB": "B",
    "B": "B",
    "Plasma": "B",
    "T": "T",
    "CTL": "T",
    "NK": "NK",
}
#: Coarse accuracy on normal cells per patient. The default model was trained on these
#: patients, so this is the workflow's plumbing on real data; the leave-one-patient-out
#: figure (a model that never saw the patient) is tests/test_annotation_vangalen.py and
#: bench/annotation_lopo.py (0.881 overall). Measured here: 0.94-1.00 per patient.
MIN_PATIENT_ACCURACY = 0.90
PRODUCT = "ID38low"
#: no gene is seen in this many cells of every sample: nothing to embed, valid in form
BROKEN = {"min_cells_per_gene": 10**9}


@pytest.fixture(scope="module")
def real_run(real_data: Path, tmp_path_factory: pytest.TempPathFactory, demo_data: Path):
    if vangalen_dir() is None:
        pytest.skip("vangalen_marrow absent")
    base = tmp_path_factory.mktemp("real_cohort")
    data = base / "data"
    data.mkdir()
    rows = []
    for p in VANGALEN_PATIENTS:
        h5ad = vangalen_h5ad(p, data)
        rows.append([p, f"{p}_D0", "scrna", "baseline", -7, h5ad.name, "seqwell"])
    product = real_data / "cart_product_scrna" / f"{PRODUCT}.filtered_feature_bc_matrix.h5"
    rows.append(["ID38", "ID38_product", "scrna", "product", 0, str(product), "SC5P"])
    sheet = pd.DataFrame(
        rows, columns=["patient", "sample", "assay", "timepoint", "day", "path", "batch"]
    )
    sheet.to_csv(data / "samples.tsv", sep="\t", index=False)
    work = base / "work"
    cfg = prepare_workdir(work, demo_data)
    config = yaml.safe_load(cfg.read_text())
    config.update({"samples": str(data / "samples.tsv"), "labs": None, "events": None})
    config["flow"] = None
    config["ch"]["pon_bams"] = []
    config["singlecell"]["integrate"].update(BROKEN)
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    snakemake(work, "--rerun-incomplete")
    return {"work": work, "results": work / "results", "sheet": sheet, "data": data}


def test_every_report_is_written_when_the_cohort_picture_fails(real_run) -> None:
    reports = real_run["results"] / "reports"
    for p in real_run["sheet"]["patient"].unique():
        html = (reports / f"{p}.html").read_text(encoding="utf-8")
        assert html.rstrip().endswith("</html>")
    status = pd.read_csv(real_run["results"] / "singlecell" / "integrate.tsv", sep="\t")
    assert status.loc[0, "status"] == "failed"
    cohort = (reports / "cohort.html").read_text(encoding="utf-8")
    assert "not drawn: cohort integration failed" in cohort
    # the per-sample embeddings exist all the same
    for s in real_run["sheet"]["sample"]:
        a = ad.read_h5ad(real_run["results"] / "singlecell" / f"{s}.h5ad", backed="r")
        assert a.obsm["X_umap"].shape == (a.n_obs, 2)
        a.file.close()


def test_the_mixed_chemistry_cohort_integrates_with_defaults(real_run, tmp_path) -> None:
    from marrowtox.singlecell.integrate import IntegrateParams
    from marrowtox.singlecell.steps import integrate_step

    samples = list(real_run["sheet"]["sample"])
    res = real_run["results"] / "singlecell"
    row = integrate_step(
        [str(res / "doublets" / f"{s}.h5ad") for s in samples],
        samples,
        IntegrateParams.from_config({}, 0),
        str(tmp_path / "cohort.h5ad"),
        labels=[str(res / "labels" / f"{s}.tsv") for s in samples],
        out_status=str(tmp_path / "integrate.tsv"),
    )
    print(row.to_string())
    assert row.loc[0, "status"] == "integrated", row.loc[0, "note"]
    assert row.loc[0, "harmony"] == "yes"


def test_labels_agree_with_the_authors_per_patient(real_run) -> None:
    res = real_run["results"] / "singlecell" / "labels"
    lines = []
    for p in VANGALEN_PATIENTS:
        truth = ad.read_h5ad(real_run["data"] / f"{p}.h5ad", backed="r").obs["CellType"]
        labels = pd.read_csv(res / f"{p}_D0.tsv", sep="\t", dtype={"barcode": str})
        labels = labels.set_index("barcode")
        author = truth.reindex(labels.index).astype(str)
        normal = author.isin(list(AUTHOR_COARSE))
        want = author[normal].map(AUTHOR_COARSE)
        got = labels.loc[normal, "cell_type"].astype(str).map(COARSE).fillna("unknown")
        acc = float((want == got).mean())
        lines.append(f"{p}: {acc:.3f} of {int(normal.sum())} normal cells")
        assert acc >= MIN_PATIENT_ACCURACY, lines[-1]
    print("\n".join(lines))


def test_the_car_t_product_is_t_nk_and_car_not_measurable(real_run) -> None:
    comp = pd.read_csv(
        real_run["results"] / "singlecell" / "ID38_product.composition.tsv", sep="\t"
    )
    frac = comp.set_index("cell_type")["n_cells"]
    t_nk = frac.reindex(["CD4 T", "CD8 T", "NK"]).fillna(0).sum() / frac.sum()
    assert t_nk >= 0.90, comp.to_string()
    cart = pd.read_csv(real_run["results"] / "cart" / "ID38_product.tsv", sep="\t")
    assert cart.loc[0, "car_status"].startswith("not measurable")
