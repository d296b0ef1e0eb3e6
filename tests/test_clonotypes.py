"""T-cell receptor clonotypes (issue 28 item 3): scirpy reading of Cell Ranger and AIRR
contigs, CAR T vs non-CAR T expansion, clonotypes shared with the product."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from marrowtox.cart.clonotypes import (
    CAR,
    ClonotypeParams,
    VdjInputs,
    VdjSample,
    clonality,
    clonotype_step,
)
from marrowtox.demo.vdj import CAR_CLONES, _receptor, airr_tsv, tenx_csv
from marrowtox.errors import InputError
from marrowtox.samplesheet import load_samples


def _sample(tmp: Path, name: str, fmt: str, plan: list[tuple[str, dict, bool]], day: int,
            specimen: str) -> VdjSample:  # fmt: skip
    """Contigs and CAR calls of cells `plan` = [(barcode, receptor, car_positive)]."""
    a = pd.DataFrame([{"barcode": b, **r} for b, r, _ in plan])
    contigs = tmp / f"{name}.{'csv' if fmt == '10x' else 'tsv'}"
    contigs.write_text(tenx_csv(a) if fmt == "10x" else airr_tsv(a))
    cells = pd.DataFrame(
        {
            "barcode": [b for b, _, _ in plan],
            "cell_type": "CD8 T",
            "car_positive": [c for *_, c in plan],
        }
    )
    cells.loc[len(cells)] = ["GGGG-1", "monocyte", False]  # not a T cell: never counted
    cp = tmp / f"{name}.cells.tsv"
    cells.to_csv(cp, sep="\t", index=False)
    return VdjSample(name, day, specimen, f"whole_{specimen}", str(contigs), str(cp))


def test_expanded_car_clonotype_and_product_sharing(tmp_path: Path) -> None:
    import numpy as np

    r = np.random.default_rng(1)
    big, small = _receptor(r), _receptor(r)
    marrow = [(f"M{i:03d}-1", big, True) for i in range(12)]
    marrow += [(f"M{i:03d}-1", small, True) for i in range(12, 16)]
    marrow += [(f"M{i:03d}-1", _receptor(r), True) for i in range(16, 30)]
    marrow += [(f"M{i:03d}-1", _receptor(r), False) for i in range(30, 60)]
    product = [(f"P{i:03d}-1", big, True) for i in range(2)]
    product += [(f"P{i:03d}-1", _receptor(r), True) for i in range(2, 25)]
    inputs = VdjInputs(
        "P1",
        [
            _sample(tmp_path, "prod", "airr", product, 0, "product"),
            _sample(tmp_path, "bm", "10x", marrow, 28, "marrow"),
        ],
    )
    res = clonotype_step(inputs, ClonotypeParams(min_expanded_cells=3, min_tcr_cells=20))
    exp = res.expansion["bm"].set_index("group")
    assert exp.at[CAR, "with_tcr"] == 30 and exp.at[CAR, "expanded_clonotypes"] == 2
    assert exp.at[CAR, "top_clone_share"] == pytest.approx(12 / 30)
    assert exp.at["non-CAR T", "expanded_clonotypes"] == 0
    c = res.clonotypes
    big_id = c.loc[(c["sample"] == "bm") & (c["car_cells"] == 12), "clone_id"].iloc[0]
    assert set(c.loc[c["shared_with_product"], "clone_id"]) == {big_id}
    # the product has 25 CAR T cells, 2 in the big clone: not expanded there (< 3)
    prod = c[(c["sample"] == "prod") & (c["clone_id"] == big_id)]
    assert not prod["expanded_car"].iloc[0] and prod["in_product"].iloc[0]
    assert len(res.cells["bm"]) == 60  # the monocyte is not a T cell


def test_too_few_tcr_cells_say_so(tmp_path: Path) -> None:
    import numpy as np

    r = np.random.default_rng(2)
    rec = _receptor(r)
    plan = [(f"A{i}-1", rec, True) for i in range(3)] + [
        (f"B{i}-1", _receptor(r), False) for i in range(25)
    ]
    res = clonotype_step(
        VdjInputs("P1", [_sample(tmp_path, "s", "10x", plan, 28, "marrow")]), ClonotypeParams()
    )
    car = res.expansion["s"].set_index("group").loc[CAR]
    assert pd.isna(car["top_clone_share"]) and pd.isna(car["expanded_clonotypes"])
    assert "too few CAR T cells with a TCR (3 < cart.clonotypes.min_tcr_cells = 20)" in car["note"]


def test_contigs_of_other_cells_refused(tmp_path: Path) -> None:
    import numpy as np

    r = np.random.default_rng(3)
    s = _sample(
        tmp_path, "s", "10x", [(f"A{i}-1", _receptor(r), True) for i in range(5)], 28, "marrow"
    )
    pd.DataFrame({"barcode": ["ZZZ-1"], "cell_type": ["CD8 T"], "car_positive": [True]}).to_csv(
        s.car_cells, sep="\t", index=False
    )
    with pytest.raises(InputError, match="no barcode of the contigs matches a cell of sample s"):
        clonotype_step(VdjInputs("P1", [s]), ClonotypeParams())


def test_clonality_bounds() -> None:
    import numpy as np

    assert clonality(np.array([1, 1, 1, 1])) == pytest.approx(0.0, abs=1e-12)
    assert clonality(np.array([97, 1, 1, 1])) > 0.8


def test_vdj_column_checked(tmp_path: Path) -> None:
    head = "patient\tsample\tassay\ttimepoint\tday\tpath\tvdj\n"
    (tmp_path / "a.bam").write_text("")
    (tmp_path / "a.bam.bai").write_text("")
    (tmp_path / "c.txt").write_text("")
    p = tmp_path / "samples.tsv"
    p.write_text(head + "P1\ta\tdna\tBL\t-7\ta.bam\tc.txt\n")
    with pytest.raises(InputError, match="only read for scrna rows"):
        load_samples(p)
    (tmp_path / "b.h5").write_text("")
    p.write_text(head + "P1\tb\tscrna\tBL\t-7\tb.h5\tc.txt\n")
    with pytest.raises(InputError, match="unsupported VDJ input"):
        load_samples(p)
    p.write_text(head + "P1\tb\tscrna\tBL\t-7\tb.h5\tmissing.csv\n")
    with pytest.raises(InputError, match="file not found"):
        load_samples(p)


@pytest.mark.workflow
def test_demo_planted_car_clonotypes_found(demo_run) -> None:
    """The three planted CAR T clonotypes of P05 are the top expanded CAR T clonotypes
    of its day-28 marrow and of its CD3+CAR+ sort, and the product clonotypes found again."""
    res, demo = demo_run["results"], demo_run["demo"]
    truth = pd.read_csv(demo / "truth" / "vdj_clonotypes.tsv", sep="\t")
    planted = truth[truth["clone"].isin(list(CAR_CLONES))].drop_duplicates("clone")
    planted_trb = set(planted["trb_aa"])
    c = pd.read_csv(res / "vdj" / "P05.clonotypes.tsv", sep="\t")
    for s in ("P05_D28_sc", "P05_D28sort_sc"):
        top = c[c["sample"] == s].sort_values("car_cells", ascending=False).head(len(CAR_CLONES))
        assert set(top["trb_cdr3"]) == planted_trb, s
        assert top["expanded_car"].all()
        exp = pd.read_csv(res / "vdj" / f"{s}.expansion.tsv", sep="\t").set_index("group")
        # the largest planted clone is 22% of CAR T cells (called CAR+ cells dilute a little)
        assert exp.at[CAR, "top_clone_share"] == pytest.approx(max(CAR_CLONES.values()), abs=0.05)
    shared = set(c.loc[c["shared_with_product"], "trb_cdr3"])
    assert planted_trb <= shared
    pt = pd.read_csv(res / "cohort" / "patients.tsv", sep="\t").set_index("patient")
    assert pt.at["P05", "tcr_sample"] == "P05_D28_sc"
    assert pt.at["P05", "tcr_expanded_car_clonotypes"] >= len(CAR_CLONES)
    assert pt.at["P05", "tcr_product_clones_shared"] >= len(CAR_CLONES)
    assert pd.isna(pt.at["P01", "tcr_top_car_clone_share"])
    assert "tcr_*: no vdj file (T-cell receptors) in samples.tsv" in pt.at["P01", "missing"]
    html = (res / "reports" / "P05.html").read_text()
    assert 'id="tcr"' in html and "Largest CAR T clonotypes" in html
    assert "no vdj file" in (res / "reports" / "P01.html").read_text()


def test_cohort_columns_missing_with_reason(tmp_path: Path) -> None:
    """No vdj file, no product, too few CAR T cells: each tcr_* value stays empty and
    `missing` says why (never 0)."""
    from marrowtox.report.clonotypes import cohort_values
    from marrowtox.report.inputs import Results

    samples = pd.DataFrame(
        {
            "patient": ["P1", "P2"],
            "sample": ["a", "b"],
            "assay": ["scrna", "scrna"],
            "day": [28, 28],
            "specimen": ["marrow", "marrow"],
            "fraction": ["whole_marrow", "whole_marrow"],
            "vdj": ["", "b.csv"],
        }
    )
    res = Results(tmp_path)
    (tmp_path / "vdj").mkdir()
    from marrowtox.cart.clonotypes import EXPANSION_COLUMNS

    row = {"sample": "b", "group": CAR, "t_cells": 5, "with_tcr": 4}
    row["note"] = "too few CAR T cells with a TCR (4 < 20)"
    pd.DataFrame([row], columns=EXPANSION_COLUMNS).to_csv(
        tmp_path / "vdj" / "b.expansion.tsv", sep="\t", index=False
    )
    v1, why1 = cohort_values("P1", samples, res)
    assert all(v is None for v in v1.values())
    assert why1 == ["tcr_*: no vdj file (T-cell receptors) in samples.tsv"]
    v2, why2 = cohort_values("P2", samples, res)
    assert v2["tcr_sample"] == "b" and v2["tcr_top_car_clone_share"] is None
    assert any("too few CAR T cells with a TCR" in w for w in why2)
    assert "tcr_product_clones_shared: no product sample with a vdj file" in why2
