"""The cohort picture is a display leaf (issue 24, item 1): per-sample results never
wait on it, HVG selection survives batches that break seurat_v3's loess, and a failed
integration is a note in the cohort report, not a missing result."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scanpy as sc
from scipy import sparse

from marrowtox.report.cohort_picture import SKIPPED, cohort_picture
from marrowtox.singlecell.embed import EmbedParams
from marrowtox.singlecell.hvg import select_hvgs
from marrowtox.singlecell.integrate import IntegrateParams
from marrowtox.singlecell.steps import integrate_step, sample_step

N_GENES = 300


def _clustered(n_cells: int, seed: int, genes: list[str] | None = None) -> ad.AnnData:
    """Three populations with their own up-regulated genes (NB counts)."""
    rng = np.random.default_rng(seed)
    genes = genes or [f"G{i}" for i in range(N_GENES)]
    base = rng.gamma(0.6, 1.0, size=len(genes))
    group = rng.integers(0, 3, size=n_cells)
    mean = np.tile(base, (n_cells, 1))
    for g in range(3):
        mean[group == g, g * 30 : g * 30 + 30] *= 8
    x = rng.negative_binomial(2, 2 / (2 + mean)).astype(np.float32)
    a = ad.AnnData(sparse.csr_matrix(x), var=pd.DataFrame(index=genes))
    a.obs_names = [f"c{seed}_{i}" for i in range(n_cells)]
    a.obs["group"] = group.astype(str)
    a.obs["batch"] = f"b{seed}"
    return a


def _flat(n_cells: int, seed: int) -> ad.AnnData:
    """A shallow, featureless batch: every gene the same Poisson mean (the loess of
    seurat_v3 has nothing to fit, as on the real Seq-Well + 10x cohort of the issue)."""
    rng = np.random.default_rng(seed)
    x = rng.poisson(0.05, size=(n_cells, N_GENES)).astype(np.float32)
    a = ad.AnnData(sparse.csr_matrix(x), var=pd.DataFrame(index=[f"G{i}" for i in range(N_GENES)]))
    a.obs_names = [f"f{seed}_{i}" for i in range(n_cells)]
    a.obs["batch"] = f"f{seed}"
    return a


def _labels(a: ad.AnnData, path: Path) -> Path:
    pd.DataFrame(
        {
            "barcode": a.obs_names,
            "leiden_sample": "0",
            "cell_type": "monocyte",
            "cell_type_confidence": 0.9,
            "cell_type_route": "markers",
            "cell_type_ontology_term_id": "CL:0000576",
        }
    ).to_csv(path, sep="\t", index=False)
    return path


def test_hvg_falls_back_when_a_shallow_batch_breaks_the_loess():
    cohort = ad.concat([_clustered(300, 1), _flat(100, 2)])
    with pytest.raises(ValueError, match="singularit|condition number"):
        sc.pp.highly_variable_genes(
            cohort, n_top_genes=100, flavor="seurat_v3", batch_key="batch", inplace=False
        )
    res = select_hvgs(cohort, 100, "batch")
    assert res.flavour.startswith("seurat") and res.flavour != "seurat_v3"
    assert "seurat_v3:" in res.note
    assert len(res.genes) == 100
    # the planted population genes are chosen well above chance (30 of 90 at random;
    # the featureless batch dilutes the per-batch ranking)
    planted = {f"G{i}" for i in range(90)}
    assert len(planted & set(res.genes)) >= 50
    clean = select_hvgs(_clustered(300, 3), 100)
    assert clean.flavour == "seurat_v3" and clean.note == ""


def test_sample_step_embeds_each_sample_on_its_own(tmp_path):
    a = _clustered(400, 4)
    a.write_h5ad(tmp_path / "s.h5ad")
    params = EmbedParams.from_config({}, seed=0)
    sample_step(
        str(tmp_path / "s.h5ad"),
        str(_labels(a, tmp_path / "s.labels.tsv")),
        "s",
        str(tmp_path / "out.h5ad"),
        str(tmp_path / "s.composition.tsv"),
        params,
    )
    out = ad.read_h5ad(tmp_path / "out.h5ad")
    xy = out.obsm["X_umap"]
    assert xy.shape == (400, 2) and np.isfinite(xy).all()
    # the planted populations are apart in the sample's own embedding
    centres = pd.DataFrame(xy, index=out.obs_names).groupby(a.obs["group"].to_numpy()).mean()
    spread = np.linalg.norm(xy - xy.mean(axis=0), axis=1).mean()
    assert (
        np.min(
            [
                np.linalg.norm(centres.iloc[i] - centres.iloc[j])
                for i in range(3)
                for j in range(i + 1, 3)
            ]
        )
        > spread
    )
    assert (tmp_path / "s.composition.tsv").is_file()
    # a sample too small for a kNN picture: a note, no embedding, the rest written
    small = _clustered(params.min_cells - 1, 5)
    small.write_h5ad(tmp_path / "t.h5ad")
    sample_step(
        str(tmp_path / "t.h5ad"),
        str(_labels(small, tmp_path / "t.labels.tsv")),
        "t",
        str(tmp_path / "t.out.h5ad"),
        str(tmp_path / "t.composition.tsv"),
        params,
    )
    t = ad.read_h5ad(tmp_path / "t.out.h5ad")
    assert "X_umap" not in t.obsm and "fewer than" in t.uns["embedding_note"]


def test_failed_integration_is_a_note_and_the_merged_cells_are_kept(tmp_path):
    # two samples that share no gene: no gene is measured by all, nothing to embed
    a = _clustered(120, 6)
    b = _clustered(120, 7, genes=[f"H{i}" for i in range(N_GENES)])
    paths, labels = [], []
    for name, x in (("A", a), ("B", b)):
        x.write_h5ad(tmp_path / f"{name}.h5ad")
        paths.append(str(tmp_path / f"{name}.h5ad"))
        labels.append(str(_labels(x, tmp_path / f"{name}.labels.tsv")))
    results = tmp_path / "results"
    row = integrate_step(
        paths,
        ["A", "B"],
        IntegrateParams.from_config({}, 0),
        str(results / "singlecell" / "cohort.h5ad"),
        labels=labels,
        umap_png=str(results / "singlecell" / "plots" / "umap_celltypes.png"),
        out_status=str(results / "singlecell" / "integrate.tsv"),
    )
    assert row.loc[0, "status"] == "failed"
    cohort = ad.read_h5ad(results / "singlecell" / "cohort.h5ad")
    assert cohort.n_obs == 240 and "X_umap" not in cohort.obsm
    # the cohort object's contract holds: raw counts in a layer, X log-normalised
    counts = cohort.layers["counts"]
    assert float(counts.sum()) == float(a.X.sum() + b.X.sum())
    assert float(cohort.X.max()) < 15  # log1p of counts per 10,000
    assert set(cohort.obs["cell_type"].astype(str)) == {"monocyte"}
    assert cohort.uns["integration"]["note"].startswith("cohort integration failed")
    pic = cohort_picture(results)
    assert pic.uri == "" and pic.note.startswith("not drawn: cohort integration failed")
    assert (results / "singlecell" / "plots" / "umap_celltypes.png").stat().st_size > 0


def test_integrated_cohort_picture_and_skipped_picture(tmp_path):
    results = tmp_path / "results"
    assert cohort_picture(results).note == SKIPPED
    paths, labels = [], []
    for name, x in (("A", _clustered(150, 8)), ("B", _flat(100, 9))):
        x.write_h5ad(tmp_path / f"{name}.h5ad")
        paths.append(str(tmp_path / f"{name}.h5ad"))
        labels.append(str(_labels(x, tmp_path / f"{name}.labels.tsv")))
    row = integrate_step(
        paths,
        ["A", "B"],
        IntegrateParams.from_config({"n_top_genes": 100}, 0),
        str(results / "singlecell" / "cohort.h5ad"),
        labels=labels,
        umap_png=str(results / "singlecell" / "plots" / "umap_celltypes.png"),
        out_status=str(results / "singlecell" / "integrate.tsv"),
    )
    # the mixed cohort that crashed seurat_v3 now integrates, and says how
    assert row.loc[0, "status"] == "integrated"
    assert row.loc[0, "hvg_flavour"] != "seurat_v3" and "seurat_v3:" in row.loc[0, "note"]
    pic = cohort_picture(results)
    assert pic.uri.startswith("data:image/png;base64,")
    assert "250 cells of 2 samples" in pic.note and "HVG flavour seurat" in pic.note
