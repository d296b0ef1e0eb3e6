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
