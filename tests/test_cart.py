"""CAR+ calling, BAM-based CAR UMI counting, and gene-set scoring (issue 3)."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pysam
import pytest
from scipy import sparse

from marrowtox.cart.bam import count_car_umis
from marrowtox.cart.calling import NOT_MEASURABLE, CarParams, call_car
from marrowtox.cart.constructs import load
from marrowtox.cart.features import car_features


def synthetic(n: int = 3000, seed: int = 1) -> tuple[ad.AnnData, np.ndarray, np.ndarray]:
    """Cells with planted CAR T cells and ambient CAR counts in other cells."""
    r = np.random.default_rng(seed)
    types = r.choice(["CD8 T", "CD4 T", "NK", "monocyte", "GMP/neutrophil", "erythroid"], n)
    lib = r.integers(800, 3000, n)
    car_t = np.isin(types, ["CD8 T", "CD4 T"]) & (r.random(n) < 0.15)
    ambient = ~car_t & (r.random(n) < 0.2)
    car = np.zeros(n, int)
    car[car_t] = r.poisson(r.gamma(4.0, 4.0, car_t.sum()))  # as the demo: CAR is highly expressed
    car[ambient] = 1
    x = sparse.csr_matrix(np.column_stack([lib - car, car]).astype(np.float32))
    a = ad.AnnData(
        x,
        obs=pd.DataFrame({"cell_type": types}, index=[f"c{i}" for i in range(n)]),
        var=pd.DataFrame(index=["OTHER", "CAR_FMC63_CD28z"]),
    )
    a.layers["counts"] = a.X.copy()
    return a, car_t, ambient


def test_ambient_aware_calls_recover_planted_car_t() -> None:
    a, truth, ambient = synthetic()
    res = call_car(a, ["CAR_FMC63_CD28z"], CarParams())
    called = res.cells["car_positive"].to_numpy()
    tp = (called & truth).sum()
    f1 = 2 * tp / (called.sum() + truth.sum())
    assert f1 >= 0.95
    assert not (called & ambient).any()  # ambient-only cells are never called
    assert res.threshold >= 2 and res.ambient_source.startswith("non-lymphoid")


def test_car_only_in_t_nk_lineage() -> None:
    a, _, _ = synthetic()
    a.X[np.flatnonzero(a.obs["cell_type"] == "monocyte")[:5], 1] = 50
    a.layers["counts"] = a.X.copy()
    res = call_car(a, ["CAR_FMC63_CD28z"], CarParams())
    mono = res.cells[res.cells["cell_type"] == "monocyte"]
    assert not mono["car_positive"].any()


def test_no_car_feature_is_not_measurable() -> None:
    a, _, _ = synthetic(200)
    res = call_car(a, ["CAR_BCMA_41BBz"], CarParams())
    assert res.status == NOT_MEASURABLE and res.cells is None


def test_construct_features() -> None:
    assert car_features("fmc63_cd28z") == ["CAR_FMC63_CD28z"]
    assert car_features("x", ["MYCAR"]) == ["MYCAR"]
    assert set(car_features("")) >= {"CAR_FMC63_CD28z", "CAR_BCMA_41BBz"}


def test_bam_counts_only_construct_unique_regions(tmp_path: Path) -> None:
    c = load()["fmc63_41bbz"]
    contig = c["contig"]
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": contig, "LN": 1700}]}
    bam = tmp_path / "car.bam"
    reads = [  # (barcode, umi, start): scFv (unique), 4-1BB (endogenous), vector 3' (unique)
        ("AAAC-1", "U1", 100),
        ("AAAC-1", "U1", 110),
        ("AAAC-1", "U2", 200),
        ("AAAC-1", "U3", 1400),
        ("CCCG-1", "U9", 900),
        ("CCCG-1", "U8", 950),  # only endogenous 4-1BB: must not count
        ("GGGT-1", "U5", 300),
    ]
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out:
        for i, (cb, ub, start) in enumerate(sorted(reads, key=lambda x: x[2])):
            a = pysam.AlignedSegment(out.header)
            a.query_name, a.reference_id, a.reference_start = f"r{i}", 0, start
            a.query_sequence, a.cigartuples, a.mapping_quality = "A" * 60, [(0, 60)], 255
            a.set_tag("CB", cb)
            a.set_tag("UB", ub)
            out.write(a)
    pysam.index(str(bam))
    df = count_car_umis(str(bam), c).set_index("barcode")
    assert df.loc["AAAC-1", "car_umis"] == 3  # U1 counted once
    assert "CCCG-1" not in df.index
    assert df.loc["GGGT-1", "car_umis"] == 1


@pytest.mark.realdata
def test_real_car_t_product_not_measurable_but_scored(real_data: Path, tmp_path: Path) -> None:
    import scanpy as sc

    from marrowtox.cart.steps import CarInputs, car_step
    from marrowtox.signatures.steps import shipped_sets
    from marrowtox.singlecell.io import read_counts

    a = read_counts(real_data / "cart_product_scrna" / "ID38low.filtered_feature_bc_matrix.h5")
    a.layers["counts"] = a.X.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    a.obs["cell_type"] = "CD8 T"
    src = tmp_path / "in.h5ad"
    a.write_h5ad(src)
    out = tmp_path / "out"
    skipped = car_step(
        CarInputs(
            annotated=str(src),
            sample="ID38low",
            construct="fmc63_41bbz",
            feature_override=None,
            params=CarParams(),
            gene_sets=shipped_sets(),
            organism="human",
            seed=0,
            out_h5ad=str(out / "s.h5ad"),
            out_summary=str(out / "s.tsv"),
            out_cells=str(out / "s.cells.tsv"),
        )
    )
    summary = pd.read_csv(out / "s.tsv", sep="\t")
    assert summary.loc[0, "car_status"] == NOT_MEASURABLE
    assert pd.isna(summary.loc[0, "n_car_t"])  # never a zero
    scored = ad.read_h5ad(out / "s.h5ad")
    for col in (
        "score_TCELL_CYTOTOXICITY",
        "score_TCELL_ACTIVATION",
        "score_HALLMARK_INTERFERON_GAMMA_RESPONSE",
    ):
        assert col in scored.obs and scored.obs[col].notna().all()
    assert not [s for s in skipped if s.startswith("HALLMARK")]
