"""Real labelled marrow for tests and benchmarks: van Galen et al. 2019 as h5ad.

The shared folder `../shared/data/real/vangalen_marrow/` (README there) holds, per AML
patient at diagnosis, a Seq-Well genes x cells table of raw UMI counts
(`*.dem.txt.gz`) and the authors' per-cell annotation (`*.anno.txt.gz`, column
`CellType`). Tests, benchmarks and the offline builder of the shipped reference model
(tools/build_default_model.py) all read it through `vangalen_h5ad`, so every consumer
sees the same cells, genes and labels.

Importable from tests (tests/ is on sys.path via conftest.py) and from scripts after
`sys.path.insert(0, "<repo>/tests")`:

    from realdata import VANGALEN_PATIENTS, vangalen_dir, vangalen_h5ad
    h5ad = vangalen_h5ad("AML314", tmp_path)   # raw integer counts in X, obs CellType

`vangalen_dir()` returns None when the shared folder is absent (a user's clone): callers
skip (tests) or stop with a message (scripts); nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
#: Where the shared real data sit, in order of preference (CI checkout layout first).
REAL_DATA_CANDIDATES = (REPO.parent / "shared" / "data" / "real", Path("/work/shared/data/real"))

#: The 7 patients of the shared copy (GEO GSE116256, day 0 aspirates).
VANGALEN_PATIENTS: tuple[str, ...] = (
    "AML210A",
    "AML314",
    "AML328",
    "AML329",
    "AML371",
    "AML420B",
    "AML475",
)

#: The 15 normal cell types of van Galen 2019; malignant cells carry "<type>-like".
VANGALEN_NORMAL: tuple[str, ...] = (
    "HSC",
    "Prog",
    "GMP",
    "ProMono",
    "Mono",
    "cDC",
    "pDC",
    "earlyEry",
    "lateEry",
    "ProB",
    "B",
    "Plasma",
    "T",
    "CTL",
    "NK",
)


def real_data_dir() -> Path | None:
    """The shared real-data folder, or None when this checkout has none."""
    for p in REAL_DATA_CANDIDATES:
        if p.is_dir():
            return p
    return None


def vangalen_dir() -> Path | None:
    """The vangalen_marrow folder, or None when absent."""
    base = real_data_dir()
    if base is None or not (base / "vangalen_marrow").is_dir():
        return None
    return base / "vangalen_marrow"


def _one(folder: Path, patient: str, kind: str) -> Path:
    """The single `*_<patient>-D0.<kind>.txt.gz` file (GSM prefixes differ per file)."""
    hits = sorted(folder.glob(f"*_{patient}-*.{kind}.txt.gz"))
    if len(hits) != 1:
        raise FileNotFoundError(f"expected one {kind} file of {patient} in {folder}, found {hits}")
    return hits[0]


def read_vangalen(patient: str, folder: Path | None = None):
    """One patient as AnnData: raw integer UMI counts (cells x genes, CSR int32) in X,
    the authors' annotation in obs (CellType and the other columns), gene symbols as
    var_names. Cells of the count table without an annotation row are dropped (none in
    the shared copy); an annotated cell without counts is an error."""
    import anndata as ad
    from scipy import sparse

    folder = folder or vangalen_dir()
    if folder is None:
        raise FileNotFoundError("vangalen_marrow folder absent (../shared/data/real)")
    anno = pd.read_csv(_one(folder, patient, "anno"), sep="\t", index_col=0)
    dem = pd.read_csv(_one(folder, patient, "dem"), sep="\t", index_col=0)
    missing = anno.index.difference(dem.columns)
    if len(missing):
        raise ValueError(f"{len(missing)} annotated cells of {patient} have no counts")
    counts = dem.loc[:, anno.index].to_numpy(dtype=np.int32).T
    genes = dem.index.astype(str)
    keep = ~genes.duplicated()  # a symbol listed twice keeps its first row
    adata = ad.AnnData(
        sparse.csr_matrix(counts[:, keep]),
        obs=anno.assign(patient=patient),
        var=pd.DataFrame(index=pd.Index(genes[keep], name="gene")),
    )
    adata.obs["CellType"] = adata.obs["CellType"].astype(str)
    adata.obs["malignant"] = adata.obs["CellType"].str.endswith("-like")
    return adata


def vangalen_h5ad(patient: str, out_dir: Path | str, folder: Path | None = None) -> Path:
    """Write `<out_dir>/<patient>.h5ad` (raw counts in X, obs CellType) once and return
    its path; an existing file is reused (several tests share one conversion)."""
    out = Path(out_dir) / f"{patient}.h5ad"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        adata = read_vangalen(patient, folder)
        tmp = out.with_suffix(".tmp.h5ad")
        adata.write_h5ad(tmp)
        tmp.rename(out)
    return out


# ---- leave-one-patient-out evaluation of the default model (bench and test) ----------

#: Classes the issue's targets are stated for (van Galen labels pooled as in issue 24).
VANGALEN_CLASS: dict[str, str] = {
    "HSC": "HSC/Prog",
    "Prog": "HSC/Prog",
    "GMP": "GMP",
    "ProMono": "ProMono/Mono",
    "Mono": "ProMono/Mono",
    "cDC": "cDC",
    "pDC": "pDC",
    "earlyEry": "earlyEry/lateEry",
    "lateEry": "earlyEry/lateEry",
    "ProB": "ProB/B",
    "B": "ProB/B",
    "Plasma": "Plasma",
    "T": "T",
    "CTL": "CTL",
    "NK": "NK",
}
VANGALEN_MAP = REPO / "resources" / "reference_maps" / "vangalen2019.yaml"
#: A cell whose authors' best score among its class's labels (`Score_<label>` of the
#: anno files, their classifier's vote share) beats their best score of another class
#: by more than this is "confidently labelled". The labels are themselves classifier
#: calls; the margin tells a miss of ours on a clear cell from one on a cell the authors
#: nearly called otherwise (figures in resources/models/README.md). Reported beside,
#: never instead of, the recall on all cells.
AUTHOR_MARGIN = 0.1


def prepare_sample(raw: Path, sample: str, work: Path) -> Path:
    """QC and doublet removal as the workflow runs them (tests/test_annotation_real.py);
    returns the per-sample h5ad that annotation reads."""
    from marrowtox.singlecell.doublets import DoubletParams
    from marrowtox.singlecell.qc import QCParams
    from marrowtox.singlecell.steps import doublet_step, qc_step

    qc_h5ad = work / f"{sample}.qc.h5ad"
    meta = {"patient": sample, "timepoint": "x", "day": 0, "batch": sample}
    qc_step(
        str(raw),
        sample,
        meta,
        QCParams(),
        str(qc_h5ad),
        str(work / f"{sample}.qc.tsv"),
        str(work / f"{sample}.qc.png"),
    )
    out = work / f"{sample}.h5ad"
    doublet_step(str(qc_h5ad), str(out), DoubletParams.from_config({}))
    return out


def fold_model(patient: str, work: Path, build_file: Path | None = None) -> Path:
    """The model of one fold: trained on the 6 other patients by
    tools/build_default_model.py `build` (the shipped model's settings); reused when
    `work/<patient>/model.pkl` exists (settings of the bench change nothing here)."""
    import sys

    from marrowtox.singlecell.default_model import BUILD_FILE, write_model

    path = Path(work) / patient / "model.pkl"
    if not path.exists():
        sys.path.insert(0, str(REPO / "tools"))
        from build_default_model import build

        path.parent.mkdir(parents=True, exist_ok=True)
        others = [p for p in VANGALEN_PATIENTS if p != patient]
        model, _ = build(others, build_file=build_file or BUILD_FILE)
        write_model(model, path)
    return path


def author_margin(obs: pd.DataFrame, classes: dict[str, str] | None = None) -> pd.Series:
    """Per cell, the authors' best score among the labels of its class (`classes`,
    default VANGALEN_CLASS: HSC and Prog are one class) minus their best score of
    another class; NaN for a label outside the classes (the malignant "-like" ones)."""
    classes = classes or VANGALEN_CLASS
    scores = obs.filter(like="Score_").rename(columns=lambda c: c.removeprefix("Score_"))
    values = scores.to_numpy(dtype=float)
    col_class = np.array([classes.get(c, c) for c in scores.columns], dtype=object)
    own_class = obs["CellType"].astype(str).map(classes).to_numpy(dtype=object)
    same = col_class[None, :] == own_class[:, None]
    own = np.where(same, values, -np.inf).max(axis=1)
    other = np.where(same, -np.inf, values).max(axis=1)
    margin = np.where(pd.isna(own_class), np.nan, own - other)
    return pd.Series(margin, index=obs.index, name="author_margin")


def prepared_patient(patient: str, work: Path) -> tuple[Path, pd.DataFrame]:
    """The held-out patient after QC and doublets (labels removed before), and the
    authors' label (`CellType`) and its margin (`author_margin`) of all its cells;
    reused when already prepared in `work`."""
    import anndata as ad

    folder = Path(work) / patient
    folder.mkdir(parents=True, exist_ok=True)
    h5ad = vangalen_h5ad(patient, Path(work) / "h5ad")
    obs = ad.read_h5ad(h5ad, backed="r").obs
    truth = pd.DataFrame(
        {"CellType": obs["CellType"].astype(str), "author_margin": author_margin(obs)}
    )
    prepared = folder / f"{patient}.h5ad"
    if not prepared.exists():
        a = ad.read_h5ad(h5ad)
        a.obs = a.obs[[]]  # the workflow never sees the labels
        raw = folder / f"{patient}.raw.h5ad"
        a.write_h5ad(raw)
        prepare_sample(raw, patient, folder)
    return prepared, truth


def lopo_fold(
    patient: str, work: Path, annotate: dict | None = None, build_file: Path | None = None
) -> pd.DataFrame:
    """One fold: a model trained on the 6 other patients (`fold_model`), the held-out
    patient through QC, doublets and annotate_step (the workflow's path; `annotate`
    overrides singlecell.annotate settings). One row per normal cell that survives QC:
    truth, class, call, route, both routes' calls, coarse correctness."""
    from marrowtox.celltypes import COARSE, UNKNOWN
    from marrowtox.singlecell.annotate import AnnotateParams
    from marrowtox.singlecell.reference import load_label_map
    from marrowtox.singlecell.steps import annotate_step

    model_path = fold_model(patient, work, build_file)
    prepared, truth = prepared_patient(patient, work)
    folder = Path(work) / patient
    annotate_step(
        str(prepared),
        patient,
        str(REPO / "resources" / "markers" / "marrow.yaml"),
        "human",
        AnnotateParams.from_config(annotate or {}, seed=0),
        str(folder / "labels.tsv"),
        str(folder / "annotation.tsv"),
        model_path=str(model_path),
        label_map_path=str(VANGALEN_MAP),
    )
    labels = pd.read_csv(folder / "labels.tsv", sep="\t", dtype={"barcode": str}).set_index(
        "barcode"
    )
    label_map = load_label_map(str(VANGALEN_MAP))
    t = truth.loc[labels.index, "CellType"]
    normal = t.isin(list(VANGALEN_CLASS)).to_numpy()
    out = pd.DataFrame(
        {
            "patient": patient,
            "truth": t,
            "class": t.map(VANGALEN_CLASS),
            "call": labels["cell_type"].astype(str),
            "route": labels["cell_type_route"].astype(str),
            "marker_label": labels["marker_label"].astype(str),
            "marker_confidence": labels["marker_confidence"],
            "reference_type": labels.get("reference_type", UNKNOWN),
            "reference_confidence": labels.get("reference_confidence", float("nan")),
            "author_margin": truth.loc[labels.index, "author_margin"],
        }
    )[normal]
    true_coarse = out["truth"].map(lambda x: COARSE[label_map[x]])
    out["correct"] = out["call"].map(lambda x: COARSE.get(x, UNKNOWN)) == true_coarse
    return out


def per_class(cells: pd.DataFrame) -> pd.DataFrame:
    """Recall (coarse) per class with its n and the most frequent call of its misses;
    beside it, the recall on the confidently labelled cells (`AUTHOR_MARGIN`)."""
    rows = []
    for cls, sub in cells.groupby("class", sort=False):
        wrong = sub.loc[~sub["correct"], "call"].value_counts()
        clear = sub.loc[sub["author_margin"] > AUTHOR_MARGIN, "correct"]
        rows.append(
            {
                "class": cls,
                "n": len(sub),
                "correct": int(sub["correct"].sum()),
                "recall": float(sub["correct"].mean()),
                "top_miss": f"{wrong.index[0]} ({wrong.iloc[0]})" if len(wrong) else "",
                "n_clear": len(clear),
                "recall_clear": float(clear.mean()) if len(clear) else float("nan"),
            }
        )
    order = list(dict.fromkeys(VANGALEN_CLASS.values()))
    return pd.DataFrame(rows).set_index("class").reindex(order).dropna(subset=["n"])
