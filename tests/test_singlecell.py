"""Single-cell branch: readers, QC, doublets, annotation, mouse mapping (issue 8).

Cohort-level figures on the demo (macro-F1 >= 0.90, QC and doublet recovery) are
asserted in test_workflow.py on the workflow's own outputs.
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from marrowtox.demo import scrna
from marrowtox.demo.cohort import COHORT
from marrowtox.errors import InputError
from marrowtox.singlecell.annotate import (
    AnnotateParams,
    composition,
    load_markers,
    sample_graph,
    score_markers,
)
from marrowtox.singlecell.doublets import DoubletParams, call_doublets
from marrowtox.singlecell.io import read_counts
from marrowtox.singlecell.organism import to_mouse
from marrowtox.singlecell.qc import QCParams, run_qc

MARKERS = Path(__file__).resolve().parents[1] / "resources" / "markers" / "marrow.yaml"


@pytest.fixture(scope="module")
def sample() -> tuple[ad.AnnData, pd.DataFrame]:
    r = np.random.default_rng(3)
    model = scrna.gene_model(r)
    plan = COHORT[4]
    mat, truth = scrna.simulate_sample(r, model, plan, "D28", np.zeros(len(model.genes)))
    genes = model.genes + ["CAR_FMC63_CD28z"]
    a = ad.AnnData(
        mat.astype(np.float32),
        obs=pd.DataFrame(index=[f"c{i}" for i in range(mat.shape[0])]),
        var=pd.DataFrame(index=genes),
    )
    truth.index = a.obs_names
    return a, truth


def test_reader_refuses_normalised_input(tmp_path: Path, sample) -> None:
    a, _ = sample
    b = a.copy()
    b.X = sparse.csr_matrix(np.log1p(b.X.toarray()))
    p = tmp_path / "norm.h5ad"
    b.write_h5ad(p)
    with pytest.raises(InputError) as info:
        read_counts(p)
    assert "non-integer" in str(info.value) and str(p) in str(info.value)
    c = a.copy()
    c.layers["counts"] = c.X.copy()
    c.X = sparse.csr_matrix(np.log1p(c.X.toarray()))
    c.write_h5ad(tmp_path / "ok.h5ad")
    assert read_counts(tmp_path / "ok.h5ad").X.sum() == a.X.sum()  # raw counts taken from the layer
    (tmp_path / "broken.h5").write_bytes(b"\x89HDF\r\n\x1a\ntruncated")
    with pytest.raises(InputError, match="cannot read"):
        read_counts(tmp_path / "broken.h5")


def test_qc_removes_low_quality_and_keeps_good_cells(sample) -> None:
    a, truth = sample
    kept, table = run_qc(a.copy(), QCParams(), "s")
    lq = truth["low_quality"].to_numpy()
    is_kept = a.obs_names.isin(kept.obs_names)
    assert (~is_kept[lq]).mean() >= 0.9
    good = ~lq & ~truth["doublet"].to_numpy()
    assert (~is_kept[good]).mean() < 0.05
    row = table.iloc[0]
    assert row["n_cells_before"] == a.n_obs and row["n_cells_after"] == kept.n_obs
    assert row["max_pct_mt"] <= 20 and row["min_total_counts"] < row["median_total_counts"]


def test_doublets_flagged_per_sample(sample) -> None:
    a, truth = sample
    kept, _ = run_qc(a.copy(), QCParams(), "s")
    flagged = call_doublets(kept, DoubletParams.from_config({"remove": False}))
    t = truth.loc[flagged.obs_names, "doublet"].to_numpy()
    pred = flagged.obs["predicted_doublet"].to_numpy()
    assert "doublet_score" in flagged.obs
    assert pred[t].mean() >= 0.5  # recall
    assert t[pred].mean() >= 0.5  # precision


def _lognorm(a: ad.AnnData) -> ad.AnnData:
    import scanpy as sc

    b = a.copy()
    b.layers["counts"] = b.X.copy()
    sc.pp.normalize_total(b, target_sum=1e4)
    sc.pp.log1p(b)
    return b


def _own_clusters(b, params):
    """The sample's own Leiden clusters, as sc-process passes them to score_markers."""
    graph = sample_graph(b, params)
    return None if graph is None else graph.clusters


def test_annotation_recovers_cell_types(sample) -> None:
    a, truth = sample
    b = _lognorm(a)
    params = AnnotateParams.from_config({})
    clusters = _own_clusters(b, params)
    out, assess = score_markers(b, load_markers(MARKERS), params, clusters)
    clean = ~truth["doublet"].to_numpy() & ~truth["low_quality"].to_numpy()
    acc = (out["marker_label"].to_numpy()[clean] == truth["cell_type"].to_numpy()[clean]).mean()
    assert acc >= 0.9
    lmpp = assess.set_index("cell_type").loc["LMPP"]  # too few LMPP markers in the demo genes
    assert not lmpp["assessable"] and lmpp["status"].startswith("not assessable")
    assert (out["marker_label"] != "LMPP").all()
    # keys without '/': anndata will refuse them
    assert "score_ct_HSC_MPP" in out.columns and not any("/" in c for c in out.columns)
    b.obs["sample"] = "s"
    b.obs["cell_type"] = out["marker_label"].to_numpy()
    comp = composition(b.obs, "s")
    assert comp["n_cells"].sum() == b.n_obs and comp.loc[comp["is_hspc"], "cell_type"].tolist() == [
        "HSC/MPP",
        "LMPP",
    ]


def test_type_without_measured_markers_is_never_called(sample) -> None:
    """A panel that lacks most DC markers: DC is 'not assessable', no cell is called DC,
    though the sample holds real DCs (they become unknown or another type)."""
    a, truth = sample
    markers = load_markers(MARKERS)
    drop = [g for g in markers["DC"] if g in a.var_names][1:]  # keep one DC marker only
    b = _lognorm(a[:, ~a.var_names.isin(drop)].copy())
    params = AnnotateParams.from_config({})
    out, assess = score_markers(b, markers, params, _own_clusters(b, params))
    dc = assess.set_index("cell_type").loc["DC"]
    assert not dc["assessable"] and dc["markers_measured"] == 1
    assert (truth["cell_type"] == "DC").sum() > 20
    assert (out["marker_label"] == "DC").sum() == 0


def test_combine_rule() -> None:
    from marrowtox.singlecell.labels import combine, load_ontology, route_agreement

    idx = pd.Index(["a", "b", "c", "d"])
    markers = pd.DataFrame(
        {
            "marker_label": ["CD4 T", "unknown", "NK", "unknown"],
            "marker_confidence": [0.9, 0.1, 0.8, 0.1],
        },
        index=idx,
    )
    ref = pd.DataFrame(
        {
            "reference_type": ["CD8 T", "monocyte", "NK", "DC"],
            "reference_confidence": [0.9, 0.5, 0.1, 0.15],
        },
        index=idx,
    )
    out = combine(markers, ref, 0.2)
    assert out["cell_type"].astype(str).tolist() == ["CD8 T", "monocyte", "NK", "unknown"]
    assert out["cell_type_route"].tolist() == ["reference", "reference", "markers", "none"]
    assert np.isnan(out["cell_type_confidence"].iloc[3])  # missing, never 0
    assert route_agreement(markers, ref) == 0.5
    onto = load_ontology()
    assert onto["monocyte"] == "CL:0000576" and onto["unknown"] == "unknown"


def test_ensembl_ids_are_mapped_or_refused(tmp_path: Path, sample) -> None:
    a, _ = sample
    b = a.copy()
    b.var["feature_name"] = b.var_names.to_numpy()
    b.var_names = [f"ENSG{i:011d}" for i in range(b.n_vars)]
    b.write_h5ad(tmp_path / "ens.h5ad")
    r = read_counts(tmp_path / "ens.h5ad")
    assert list(r.var_names[:5]) == list(a.var_names[:5])
    assert r.var["gene_ids"].iloc[0] == "ENSG00000000000"
    c = b.copy()
    del c.var["feature_name"]
    c.write_h5ad(tmp_path / "ens_only.h5ad")
    with pytest.raises(InputError, match="Ensembl gene ids"):
        read_counts(tmp_path / "ens_only.h5ad")
    from marrowtox.preflight import ensembl_problem, scrna_genes

    assert scrna_genes(str(tmp_path / "ens.h5ad"))[:3] == list(a.var_names[:3])
    assert "Ensembl" in ensembl_problem(scrna_genes(str(tmp_path / "ens_only.h5ad")))
    # duplicated symbols stay apart (first keeps the plain symbol)
    d = b.copy()
    d.var["feature_name"] = ["CD34"] * 2 + list(a.var_names[2:])
    d.write_h5ad(tmp_path / "dup.h5ad")
    assert list(read_counts(tmp_path / "dup.h5ad").var_names[:2]) == ["CD34", "CD34-1"]


def test_shared_gene_warning() -> None:
    from marrowtox.singlecell.genespace import shared_gene_report

    full = [f"G{i}" for i in range(100)]
    panel = full[:10]
    warnings = shared_gene_report({"s1": full, "s2": full, "s3": panel}, 50, 0.9)
    # one reference with and without a CAR feature: nothing lost, no warning
    assert shared_gene_report({"a": full, "b": [*full[:-1], "CAR_X"]}, 500, 0.9) == []
    assert len(warnings) == 1 and "share only 10 genes" in warnings[0]
    assert shared_gene_report({"s1": full, "s2": full}, 50) == []


def test_mouse_symbols() -> None:
    assert (
        to_mouse("CD34") == "Cd34"
        and to_mouse("MT-CO1") == "mt-Co1"
        and to_mouse("HLA-DRA") == "H2-Ea"
    )
    m = load_markers(MARKERS, "mouse")
    assert "Cd34" in m["HSC/MPP"]
