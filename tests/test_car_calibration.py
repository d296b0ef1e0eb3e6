"""CAR+ calling calibrated on real CAR UMI distributions (issue 24 item 2).

Simulated samples (marrowtox.cart.simulate, shaped on real 10x 5' CAR UMIs) over four
ambient levels, sorted CD3+CAR+ and unsorted marrow, 20-80% of CAR T cells without a
CAR UMI. The Done-when lines are asserted on them; the figures print with -s.
"""

from __future__ import annotations

import re
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from marrowtox.cart import calibration as cal
from marrowtox.cart.calling import (
    NOT_DETECTED,
    NOT_MEASURABLE,
    CarParams,
    call_car,
    summary,
)
from marrowtox.cart.simulate import CAR_FEATURE, Scenario, simulate
from marrowtox.celltypes import T_TYPES

CELLS = 2000

#: A small grid for the suite (the full one: bench/car_calibration.py, figures in
#: docs/car-calling.md): 4 samples at each of the 4 ambient levels, seeds fixed.
GRID = cal.Grid(per_level=4, cells=CELLS)


@pytest.fixture(scope="module")
def runs() -> pd.DataFrame:
    d = cal.run_grid(GRID)
    with pd.option_context("display.width", 200, "display.max_rows", 100):
        print(d.round(3).to_string())
    return d


def test_false_discoveries_at_every_ambient_level(runs: pd.DataFrame) -> None:
    """<= 5% of calls are false at every ambient level, 20% contamination included:
    the calls use the ambient rate's upper confidence bound (mixture.upper_ambient_fit);
    at the best fit 20% contamination gave 8% (sorted samples, ambient unidentified)."""
    calls = runs.groupby("level")["calls"].sum()
    fdr = cal.false_discovery_by_level(runs)
    print("false discoveries / calls by contamination:", fdr.round(4).to_dict())
    assert (calls > 0).all()
    assert (fdr <= 0.05).all()


def test_sensitivity_where_ambient_is_low(runs: pd.DataFrame) -> None:
    """Where ambient explains < 0.1 CAR UMI per cell, the calls hold >= 0.8 of the CAR
    T cells with >= 1 CAR UMI, pooled (the Done-when). Per sample: every sample with a
    strong CAR (mean >= 1 UMI per CAR T cell) keeps >= 0.7 of its own, every sample
    with a raw matrix (its soup droplets pin the ambient rate) >= 0.6 (full grid: min
    0.65, a sorted sample at 20% contamination where even the true a keeps 0.72). Not
    asserted: sorted samples without a raw matrix and with weak CAR keep 0.27-0.77
    (docs/car-calling.md: 2% and 20% contamination give the same T/NK CAR counts)."""
    pooled, per = cal.low_ambient_sensitivity(runs)
    print(
        f"calls / CAR T cells with >= 1 CAR UMI, ambient < 0.1 UMI per cell: pooled "
        f"{pooled:.3f}; per sample median {per.median():.3f}, min {per.min():.3f}"
    )
    low = runs[(runs["ambient_per_cell"] < cal.LOW_AMBIENT) & (runs["held"] >= cal.MIN_HELD)]
    strong, raw = low[low["car_umis_mean"] >= 1.0], low[low["raw_matrix"]]
    assert len(strong) >= 2 and len(raw) >= 2
    assert (strong["sensitivity"] >= 0.7).all()
    assert (raw["sensitivity"] >= 0.6).all()
    assert pooled >= 0.8


def _sorted_with_soup(contamination: float, seed: int) -> tuple[ad.AnnData, ad.AnnData, float]:
    """A sorted CD3+CAR+ sample with weak CAR (few non-lymphoid cells: the ambient rate
    is not seen in the cells) and its raw matrix's empty droplets; the true ambient CAR
    rate per library UMI."""
    sc = Scenario(CELLS, True, 70.0, 99.5, 0.3, 0.5, 1.5, contamination, n_empty=3000)
    sim = simulate(sc, seed=seed)
    lib = sim.adata.layers["counts"][:, 0].toarray().ravel()
    return sim.adata, sim.empties, float(sim.adata.obs["car_ambient_expected"].sum() / lib.sum())


def _prior(adata: ad.AnnData, empties: ad.AnnData | None, params: CarParams):
    from marrowtox.cart.calling import ambient_prior, feature_sums, soup_droplets
    from marrowtox.celltypes import NON_LYMPHOID_TYPES

    car, lib = feature_sums(adata, [CAR_FEATURE])
    ref = adata.obs["cell_type"].isin(list(NON_LYMPHOID_TYPES)).to_numpy()
    return ambient_prior(car, lib, ref, soup_droplets(empties, [CAR_FEATURE], params), params)


@pytest.mark.parametrize("contamination", [0.02, 0.2])
def test_soup_droplets_give_the_ambient_rate(contamination: float) -> None:
    """With a raw matrix the soup droplets give the ambient rate of a sorted sample
    (where the cells cannot): within 30% of the truth at 2% and at 20% contamination,
    while the prior alone (no raw matrix) sits at its 10% whatever the truth. Barcodes
    past the plateau (1-3 UMIs) are left out: counted, they would shrink the soup per
    droplet and the ambient rate several-fold."""
    adata, empties, truth = _sorted_with_soup(contamination, seed=5)
    params = CarParams()
    prior, source = _prior(adata, empties, params)
    print(f"contamination {contamination}: ambient rate {prior.rate:.3g}, true {truth:.3g}")
    assert abs(np.log(prior.rate / truth)) < np.log(1.3)
    seen = re.search(r"soup droplets of the raw matrix .*contamination ([0-9.]+)\)", source)
    assert seen and float(seen.group(1)) == pytest.approx(contamination, rel=0.1)
    without, source = _prior(adata, None, params)
    assert "prior weight" in source
    assert abs(np.log(without.rate / truth)) > np.log(1.3)
    # 20,000 off-plateau barcodes of 1-3 UMIs (barcode errors, beads outside droplets)
    r = np.random.default_rng(0)
    tail = ad.AnnData(
        sparse.csr_matrix(np.column_stack([r.integers(1, 4, 20000), np.zeros(20000)])),
        var=pd.DataFrame(index=empties.var_names),
    )
    raw = ad.concat([empties, tail])
    assert _prior(adata, raw, params)[0].rate == pytest.approx(prior.rate)
    unfiltered = CarParams(empty_min_umis=1)
    assert _prior(adata, raw, unfiltered)[0].rate < prior.rate / 3


def test_few_soup_droplets_fall_back_to_the_prior() -> None:
    adata, empties, _ = _sorted_with_soup(0.05, seed=6)
    params = CarParams()
    few = empties[: params.empty_min_droplets - 1].copy()
    _, source = _prior(adata, few, params)
    assert "prior weight" in source and "soup droplets" not in source
    # the sample table says why the raw matrix was not used
    source = call_car(adata, [CAR_FEATURE], params, few).ambient_source
    assert "raw matrix not used: fewer than 100 soup droplets" in source
    used = call_car(adata, [CAR_FEATURE], params, empties).ambient_source
    assert "soup droplets of the raw matrix" in used and "not used" not in used


def test_interval_of_car_t_pct_covers_the_truth(runs: pd.DataFrame) -> None:
    measured = runs[runs["status"] != NOT_MEASURABLE]
    assert measured[["lo", "hi"]].notna().all().all()
    cover = cal.coverage(runs)
    print(f"95% interval holds the true CAR T % of T in {cover:.3f} of {len(measured)} samples")
    assert cover >= 0.9
    est = measured["est"].dropna()
    assert (est >= 0).all() and (est <= 100).all()


def test_zero_car_umis_not_detected_with_upper_bound() -> None:
    sc = Scenario(CELLS, False, 0.0, 20.0, 5.0, 1.0, 1.5, 0.05)
    sim = simulate(sc, seed=3)
    assert sim.adata.obs["car_t"].sum() == 0
    res = call_car(sim.adata, [CAR_FEATURE], CarParams())
    assert res.status == NOT_DETECTED
    row = summary("S", sim.adata, res, []).iloc[0]
    assert row["car_status"] == NOT_DETECTED
    assert pd.isna(row["car_t_pct_of_t_est"])  # no estimate, not a bare 0
    n_tnk = int(sim.adata.obs["cell_type"].isin([*T_TYPES, "NK"]).sum())
    n_t = int(sim.adata.obs["cell_type"].isin(list(T_TYPES)).sum())
    # (1 - f * s)^n = 0.05 at the assumed sensitivity s
    p = CarParams()
    f = (1 - (1 - p.interval_level) ** (1 / n_tnk)) / p.not_detected_sensitivity
    assert row["car_t_pct_of_t_hi"] == pytest.approx(100 * f * n_tnk / n_t)
    assert 0 < row["car_t_pct_of_t_hi"] < 10 and row["car_t_pct_of_t_lo"] == 0


def test_demo_sample_calls_keep_f1() -> None:
    """The demo's own CAR model (marrowtox.demo.scrna): F1 >= 0.95 and no ambient-only
    cell called, on the day +28 samples of every demo patient."""
    from marrowtox.demo.cohort import COHORT, rng
    from marrowtox.demo.scrna import gene_model, simulate_sample

    r = rng(7, 0)
    model = gene_model(r)
    shift = np.zeros(len(model.genes))
    tp = fp = fn = ambient_called = 0
    for plan in COHORT:
        mat, truth = simulate_sample(r, model, plan, "D28", shift)
        a = ad.AnnData(
            sparse.csr_matrix(mat, dtype=np.float32),
            obs=pd.DataFrame(
                {"cell_type": truth["cell_type"].to_numpy()},
                index=[f"c{i}" for i in range(mat.shape[0])],
            ),
            var=pd.DataFrame(index=[*model.genes, CAR_FEATURE]),
        )
        res = call_car(a, [CAR_FEATURE], CarParams())
        called = res.cells["car_positive"].to_numpy(dtype=bool)
        real = truth["car_t"].to_numpy(dtype=bool)
        tp += int((called & real).sum())
        fp += int((called & ~real).sum())
        fn += int((~called & real).sum())
        ambient = truth["ambient_car"].to_numpy(dtype=bool)
        ambient_called += int((called & ambient & ~real).sum())
    f1 = 2 * tp / (2 * tp + fp + fn)
    print(f"demo D28 CAR+ calls: F1 {f1:.3f} (tp {tp}, fp {fp}, fn {fn}; ambient {ambient_called})")
    # demo CAR T cells also carry 1-2 CAR UMIs: a few ambient-only cells are called, as
    # the FDR allows (<= 5% of calls), never a fixed floor's zero
    assert f1 >= 0.95 and ambient_called <= 0.05 * (tp + fp)


def test_features_named_only_in_config_give_no_warning(tmp_path: Path) -> None:
    from marrowtox.preflight import car_feature_warnings

    a = ad.AnnData(
        sparse.csr_matrix(np.ones((3, 2), np.float32)),
        var=pd.DataFrame(index=["CD3E", "MYCAR_scFv"]),
    )
    path = tmp_path / "s.h5ad"
    a.write_h5ad(path)
    samples = pd.DataFrame(
        {
            "sample": ["S1"],
            "assay": ["scrna"],
            "path": [str(path)],
            "day": [28],
            "car_construct": ["fmc63_41bbz"],
        }
    )
    assert car_feature_warnings(samples, {"features": ["MYCAR_scFv"]}) == []
    # the construct's own feature is absent: without the config, the warning stands
    (warning,) = car_feature_warnings(samples)
    assert "no CAR feature" in warning and "CAR_FMC63_41BBz" in warning


def test_removed_min_umis_is_refused_with_its_reason() -> None:
    from marrowtox.errors import InputError
    from marrowtox.validate_commands import validate_config

    with pytest.raises(InputError, match=r"cart\.min_umis was removed.*1-3 CAR UMIs"):
        validate_config({"cart": {"min_umis": 3}}, "config.yaml")


def test_car_call_cli_refuses_min_umis(capsys: pytest.CaptureFixture[str]) -> None:
    from marrowtox.cli import main

    args = ["car-call", "--h5ad", "x.h5ad", "--sample", "S", "--min-umis", "3"]
    args += ["--out-h5ad", "o.h5ad", "--out-tsv", "o.tsv", "--out-cells", "c.tsv"]
    assert main(args) == 2
    assert "--min-umis: was removed" in capsys.readouterr().err


def _cart_table(tmp_path: Path, **values: object) -> Path:
    res = tmp_path / "results"
    (res / "cart").mkdir(parents=True)
    row = {"sample": "P1_D28_sc", "n_car_t": 40, "car_t_pct_of_cells": 2.0}
    pd.DataFrame([{**row, **values}]).to_csv(res / "cart" / "P1_D28_sc.tsv", sep="\t", index=False)
    return res


def _patient(res: Path) -> dict:
    from marrowtox.report.cohort_table import patient_row
    from marrowtox.report.inputs import Results

    samples = pd.DataFrame(
        {"patient": ["P1"], "sample": ["P1_D28_sc"], "assay": ["scrna"], "day": [28]}
    )
    return patient_row("P1", samples, Results(res))


def test_patients_tsv_carries_the_corrected_estimate(tmp_path: Path) -> None:
    from marrowtox.report.build import car_estimate_text

    res = _cart_table(
        tmp_path,
        car_t_pct_of_t=20.0,
        car_status="measured",
        car_t_pct_of_t_est=31.5,
        car_t_pct_of_t_lo=26.0,
        car_t_pct_of_t_hi=38.25,
    )
    row = _patient(res)
    assert row["bm_cart_pct_of_t"] == 20.0  # the calls, unchanged
    assert (row["bm_cart_pct_of_t_est"], row["bm_cart_pct_of_t_lo"]) == (31.5, 26.0)
    assert row["bm_cart_pct_of_t_hi"] == 38.25
    assert car_estimate_text(pd.Series(row)) == "31.5 (26.0-38.2)"


def test_patients_tsv_not_detected_gives_the_bound(tmp_path: Path) -> None:
    from marrowtox.report.build import car_estimate_text

    res = _cart_table(
        tmp_path,
        n_car_t=0,
        car_t_pct_of_t=0.0,
        car_status=NOT_DETECTED,
        car_t_pct_of_t_lo=0.0,
        car_t_pct_of_t_hi=0.75,
    )
    row = _patient(res)
    assert row["bm_cart_pct_of_t_est"] is None and row["bm_cart_pct_of_t_hi"] == 0.75
    assert "CAR not detected" in row["missing"] and "< 0.75% of T cells" in row["missing"]
    assert car_estimate_text(pd.Series(row)) == "not detected (< 0.75, 95% bound)"


def test_sample_table_columns_and_sensitivity() -> None:
    """results/cart/<sample>.tsv keeps its columns and adds the corrected estimate; the
    fitted sensitivity matches the simulated share of CAR T cells with a CAR UMI."""
    sc = Scenario(CELLS, True, 80.0, 99.0, 0.5, 1.0, 1.5, 0.05)
    sim = simulate(sc, seed=11)
    res = call_car(sim.adata, [CAR_FEATURE], CarParams())
    row = summary("S", sim.adata, res, []).iloc[0]
    for col in (
        "n_car_t",
        "car_t_pct_of_cells",
        "car_t_pct_of_t",
        "car_threshold",
        "car_status",
        "ambient_rate",
        "ambient_source",
        "car_detection_sensitivity",
        "car_t_pct_of_t_est",
        "car_t_pct_of_t_lo",
        "car_t_pct_of_t_hi",
    ):
        assert col in row.index and not pd.isna(row[col]), col
    obs = sim.adata.obs
    held = (res.cells["car_umis"].to_numpy() >= 1)[obs["car_t"].to_numpy(dtype=bool)].mean()
    print(f"sensitivity fitted {row['car_detection_sensitivity']:.3f}, simulated {held:.3f}")
    assert abs(row["car_detection_sensitivity"] - held) < 0.1
    # the calls miss the CAR T cells without a CAR UMI; the corrected estimate does not
    assert row["car_t_pct_of_t"] < 0.8 * sim.truth_pct_of_t
    assert row["car_t_pct_of_t_lo"] <= sim.truth_pct_of_t <= row["car_t_pct_of_t_hi"]
