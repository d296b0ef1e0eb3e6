"""Flow populations (issue 20, item 5): flow.tsv checked before any job, percents from
counts, the demo's flow consistent with its truth, flow beside the scRNA estimates and
the flow columns of results/cohort/patients.tsv."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from test_samplesheet import GOOD, make_sheet

from marrowtox.clinical.flow import load_flow, validate_flow
from marrowtox.errors import InputError
from marrowtox.inputs import load_all

FLOW_HEADER = "patient\tday\tspecimen\tpopulation\tparent\tcount\tpercent\n"
FLOW_GOOD = [
    "P1\t-7\tmarrow\tCD45+\tviable\t20000\t",
    "P1\t-7\tmarrow\tCD34+\tCD45+\t\t2.5",
    "P1\t28\tmarrow\tCD45+\tviable\t10000\t",
    "P1\t28\tmarrow\tCD3+\tCD45+\t2500\t",
    "P1\t28\tmarrow\tCAR+\tCD3+\t\t12.5",
    "P1\t14\tblood\tCAR+\tCD3+\t\t30",
]


def _flow(tmp: Path, rows: list[str], header: str = FLOW_HEADER) -> Path:
    p = tmp / "flow.tsv"
    p.write_text(header + "".join(r + "\n" for r in rows))
    return p


def _load(tmp: Path, rows: list[str], header: str = FLOW_HEADER):
    sheet = make_sheet(tmp, GOOD)
    return load_all(
        {"samples": str(sheet), "labs": None, "events": None, "flow": str(_flow(tmp, rows, header))}
    )


def test_good_flow_fills_percent_from_counts(tmp_path: Path) -> None:
    f = _load(tmp_path, FLOW_GOOD).flow
    assert len(f) == 6
    cd3 = f[(f["population"] == "CD3+") & (f["day"] == 28)].iloc[0]
    assert cd3["percent"] == 25.0 and cd3["percent_source"] == "from counts"
    top = f[(f["population"] == "CD45+") & (f["day"] == -7)].iloc[0]
    assert pd.isna(top["percent"]) and top["percent_source"] == "count only"
    assert f.loc[f["population"] == "CD34+", "percent_source"].tolist() == ["given"]


def test_no_flow_configured_is_none(tmp_path: Path) -> None:
    sheet = make_sheet(tmp_path, GOOD)
    assert load_all({"samples": str(sheet), "labs": None, "events": None}).flow is None


@pytest.mark.parametrize(
    "row_index, new, needles",
    [
        # percent outside 0-100
        (
            1,
            "P1\t-7\tmarrow\tCD34+\tCD45+\t\t120",
            ["row 3", "column 'percent'", "'120'", "0 to 100"],
        ),
        # a percent sign
        (
            1,
            "P1\t-7\tmarrow\tCD34+\tCD45+\t\t2.5%",
            ["row 3", "column 'percent'", "'2.5%'", "0 to 100"],
        ),
        # unknown patient
        (
            1,
            "P7\t-7\tmarrow\tCD34+\tCD45+\t\t2.5",
            ["row 3", "column 'patient'", "'P7' is not in the sample sheet"],
        ),
        # neither count nor percent
        (
            4,
            "P1\t28\tmarrow\tCAR+\tCD3+\t\t",
            ["row 6", "column 'percent'", "neither count nor percent"],
        ),
        # specimen not in the vocabulary
        (
            5,
            "P1\t14\tPB\tCAR+\tCD3+\t\t30",
            ["row 7", "column 'specimen'", "'PB'", "marrow, blood"],
        ),
        # negative or fractional count
        (3, "P1\t28\tmarrow\tCD3+\tCD45+\t-5\t", ["row 5", "column 'count'", "'-5'", "at least 0"]),
        (3, "P1\t28\tmarrow\tCD3+\tCD45+\t25.5\t", ["row 5", "column 'count'", "'25.5'"]),
        # a count above its parent's
        (
            3,
            "P1\t28\tmarrow\tCD3+\tCD45+\t12000\t",
            ["row 5", "column 'count'", "exceeds the count 10000", "row 4"],
        ),
        # own parent
        (1, "P1\t-7\tmarrow\tCD34+\tcd34 +\t\t2.5", ["row 3", "column 'parent'", "its own parent"]),
        # a day written as text
        (
            1,
            "P1\td-7\tmarrow\tCD34+\tCD45+\t\t2.5",
            ["row 3", "column 'day'", "'d-7'", "an integer"],
        ),
    ],
)
def test_bad_flow_rows_refused(
    tmp_path: Path, row_index: int, new: str, needles: list[str]
) -> None:
    rows = list(FLOW_GOOD)
    rows[row_index] = new
    with pytest.raises(InputError) as info:
        _load(tmp_path, rows)
    msg = str(info.value)
    assert msg.startswith(f"file {tmp_path / 'flow.tsv'}"), msg
    for n in needles:
        assert n in msg, (n, msg)


def test_duplicate_flow_row_names_the_first(tmp_path: Path) -> None:
    rows = [*FLOW_GOOD, "P1\t28\tmarrow\tcar +\tCD3+\t\t13"]  # same gate, other spelling
    with pytest.raises(InputError) as info:
        _load(tmp_path, rows)
    assert (info.value.row, info.value.column) == (8, "population")
    assert "appears twice (first in row 6)" in str(info.value)


def test_missing_and_misspelt_columns(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="required column is missing"):
        _load(
            tmp_path,
            ["P1\t-7\tmarrow\tCD34+\t2.5"],
            "patient\tday\tspecimen\tpopulation\tpercent\n",
        )
    with pytest.raises(InputError, match="did you mean 'percent'"):
        _load(
            tmp_path,
            ["P1\t-7\tmarrow\tCD34+\tCD45+\t2.5"],
            "patient\tday\tspecimen\tpopulation\tparent\tpercnt\n",
        )


def test_flow_table_not_found(tmp_path: Path) -> None:
    sheet = make_sheet(tmp_path, GOOD)
    with pytest.raises(InputError, match="flow table not found"):
        load_all(
            {"samples": str(sheet), "labs": None, "events": None, "flow": str(tmp_path / "x.tsv")}
        )


def test_cli_validate_refuses_bad_flow_without_traceback(tmp_path: Path) -> None:
    sheet = make_sheet(tmp_path, GOOD)
    rows = list(FLOW_GOOD)
    rows[1] = "P1\t-7\tmarrow\tCD34+\tCD45+\t\t101"
    flow = _flow(tmp_path, rows)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"samples: {sheet}\nlabs: null\nevents: null\nflow: {flow}\n"
        "reference: {fasta: x.fa, gtf: x.gtf, panel_bed: x.bed}\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "marrowtox.cli",
            "validate",
            "--config",
            str(cfg),
            "--no-file-check",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "flow.tsv" in proc.stderr and "row 3" in proc.stderr and "'101'" in proc.stderr


def test_validate_flow_keeps_names_and_compares_without_case() -> None:
    df = pd.DataFrame(
        {
            "patient": ["P1", "P1"],
            "day": [28, 28],
            "specimen": ["marrow", "marrow"],
            "population": ["CD3 +", "CAR+"],
            "parent": ["CD45+", "cd3+"],
            "count": [400, 100],
            "percent": [None, None],
        }
    )
    out = validate_flow(df, "f.tsv")
    assert out["population"].tolist() == ["CD3+", "CAR+"]
    assert out.loc[1, "percent"] == 25.0  # CAR+ 100 of CD3+ 400, parent named "cd3+"


# ---- demo flow.tsv against the planted truth ----


def test_demo_flow_matches_truth(demo_data: Path) -> None:
    """CAR+ of CD3+ near the planted CAR T fraction of T cells, CD34+ of CD45+ near the
    planted HSPC fraction (binomial sampling of 20,000 CD45+ events)."""
    from marrowtox.celltypes import HSPC_TYPES, T_TYPES

    samples = pd.read_csv(demo_data / "samples.tsv", sep="\t")
    flow = load_flow(demo_data / "flow.tsv", set(samples["patient"]))
    cells = pd.read_csv(demo_data / "truth" / "cells.tsv", sep="\t")
    cells = cells[~cells["doublet"] & ~cells["low_quality"]]
    truth = pd.read_csv(demo_data / "truth" / "scrna_samples.tsv", sep="\t")
    n_car = 0
    for _, s in truth.iterrows():
        f = flow[(flow["patient"] == s["patient"]) & (flow["day"] == s["day"])]
        f = f[f["specimen"] == "marrow"].set_index(["population", "parent"])["percent"]
        if s["patient"] == "P06":
            assert f.empty  # a patient without flow
            continue
        c = cells[cells["sample"] == s["sample"]]
        cd45 = c[~c["cell_type"].isin(["erythroid", "stromal"])]
        t = cd45[cd45["cell_type"].isin(list(T_TYPES))]
        hspc = 100 * cd45["cell_type"].isin(list(HSPC_TYPES)).mean()
        assert abs(f[("CD34+", "CD45+")] - hspc) < 0.75, s["sample"]
        assert abs(f[("CD3+", "CD45+")] - 100 * len(t) / len(cd45)) < 1.5, s["sample"]
        if s["day"] > 0:
            car = 100 * t["car_t"].mean()
            assert abs(f[("CAR+", "CD3+")] - car) < 2.0, s["sample"]
            n_car += 1
        else:
            assert ("CAR+", "CD3+") not in f.index
    assert n_car == 7
    blood = flow[flow["specimen"] == "blood"]
    assert blood[["patient", "day"]].values.tolist() == [["P05", 14]]


# ---- report side: scRNA estimates, comparison rows, patients.tsv columns ----


def _results(tmp: Path) -> Path:
    """A results folder with one marrow sample's composition and CAR T table."""
    res = tmp / "results"
    (res / "singlecell").mkdir(parents=True)
    (res / "cart").mkdir()
    comp = pd.DataFrame(
        {
            "sample": "P1_D28_sc",
            "cell_type": ["HSC/MPP", "LMPP", "CD4 T", "CD8 T", "erythroid", "monocyte"],
            "n_cells": [10, 10, 100, 100, 300, 780],
            "is_hspc": [True, True, False, False, False, False],
        }
    )
    comp.to_csv(res / "singlecell" / "P1_D28_sc.composition.tsv", sep="\t", index=False)
    cart = pd.DataFrame(
        [
            {
                "sample": "P1_D28_sc",
                "n_car_t": 50,
                "car_t_pct_of_cells": 3.85,
                "car_t_pct_of_t": 25.0,
                "car_status": "measured",
            }
        ]
    )
    cart.to_csv(res / "cart" / "P1_D28_sc.tsv", sep="\t", index=False)
    return res


def test_comparison_rows_put_flow_beside_scrna(tmp_path: Path) -> None:
    from marrowtox.report.flow import comparison_rows
    from marrowtox.report.inputs import Results

    flow = _load(tmp_path, FLOW_GOOD).flow
    res = Results(_results(tmp_path))
    sc = pd.DataFrame({"sample": ["P1_BL_sc", "P1_D28_sc"], "day": [-7, 28]})
    rows = {
        (r["day"], r["specimen"], r["population"]): r for r in comparison_rows(flow, "P1", sc, res)
    }
    car = rows[("28", "marrow", "CAR+ of CD3+")]
    assert (car["flow"], car["scrna"], car["sample"]) == ("12.50", "25", "P1_D28_sc")
    t = rows[("28", "marrow", "CD3+ of CD45+")]  # CD45+ types: 1,000 cells (erythroid out)
    assert (t["flow"], t["source"], t["scrna"]) == ("25", "from counts", "20")
    assert rows[("14", "blood", "CAR+ of CD3+")]["note"] == "blood: not compared with marrow scRNA"
    assert rows[("14", "blood", "CAR+ of CD3+")]["scrna"] == ""
    base = rows[("-7", "marrow", "CD34+ of CD45+")]  # the baseline sample has no results
    assert base["scrna"] == "" and base["note"] == "scRNA estimate not measured"
    assert rows[("28", "marrow", "CD45+ of viable")]["flow"] == "10000 events"


def test_patients_tsv_flow_columns(tmp_path: Path) -> None:
    from marrowtox.report.build import write_cohort_table
    from marrowtox.report.glossary import GLOSSARY

    tables = _load(tmp_path, [*FLOW_GOOD, "P1\t90\tmarrow\tCD34+\tCD45+\t\t4"])
    samples = tables.samples.reset_index(drop=True)
    out, results = tmp_path / "patients.tsv", _results(tmp_path)
    write_cohort_table(samples, results, out, flow=tables.flow)
    row = pd.read_csv(out, sep="\t").iloc[0]
    assert row["flow_cd34_pct_baseline"] == 2.5  # day -7
    assert row["flow_cd34_pct_post"] == 4.0  # day 90, the first CD34+ after day 0
    assert row["flow_cart_pct_of_t"] == 12.5  # marrow day 28 (blood day 14 is not marrow)
    for c in ("flow_cd34_pct_baseline", "flow_cd34_pct_post", "flow_cart_pct_of_t"):
        assert c in GLOSSARY
    # without flow: the columns are there, empty, and the reason is given
    write_cohort_table(samples, results, out, flow=None)
    row = pd.read_csv(out, sep="\t").iloc[0]
    assert pd.isna(row["flow_cart_pct_of_t"]) and pd.isna(row["flow_cd34_pct_baseline"])
    assert "flow_*: no flow.tsv configured" in row["missing"]


@pytest.mark.workflow
def test_demo_flow_in_reports_and_patients_tsv(demo_run) -> None:
    """The demo's flow values appear beside the scRNA estimates in the patient report
    and as columns of patients.tsv; P06 (no flow) says so."""
    import html as html_lib
    import re

    demo, results = demo_run["demo"], demo_run["results"]
    samples = pd.read_csv(demo / "samples.tsv", sep="\t")
    flow = load_flow(demo / "flow.tsv", set(samples["patient"]))
    table = pd.read_csv(results / "cohort" / "patients.tsv", sep="\t").set_index("patient")
    marrow = flow[flow["specimen"] == "marrow"]
    for p in ("P01", "P05"):
        f = marrow[marrow["patient"] == p]
        car = f[(f["population"] == "CAR+") & (f["day"] > 0)].sort_values("day")["percent"]
        assert table.at[p, "flow_cart_pct_of_t"] == pytest.approx(car.iloc[0])
        cd34 = f[(f["population"] == "CD34+") & (f["day"] <= 0)]["percent"]
        assert table.at[p, "flow_cd34_pct_baseline"] == pytest.approx(cd34.iloc[-1])
        # flow and scRNA CAR T % of T cells agree on the demo (one planted truth)
        assert abs(table.at[p, "flow_cart_pct_of_t"] - table.at[p, "bm_cart_pct_of_t"]) < 3
    assert pd.isna(table.at["P06", "flow_cart_pct_of_t"])
    assert "flow_*: no marrow row in flow.tsv" in table.at["P06", "missing"]

    page = (results / "reports" / "P05.html").read_text()
    section = page[page.index('<section id="flow">') :]
    section = section[: section.index("</section>")]
    text = html_lib.unescape(re.sub(r"<[^>]+>", "|", section))
    d28 = flow[(flow["patient"] == "P05") & (flow["day"] == 28) & (flow["population"] == "CAR+")]
    assert f"{d28['percent'].iloc[0]:.2f}" in text
    cart = pd.read_csv(results / "cart" / "P05_D28_sc.tsv", sep="\t").iloc[0]
    assert f"{cart['car_t_pct_of_t']:.2f}" in text  # the scRNA estimate beside it
    assert "blood: not compared with marrow scRNA" in text
    p06 = (results / "reports" / "P06.html").read_text()
    assert "not measured: no row for this patient in flow.tsv" in p06


def test_car_points_for_the_timeline() -> None:
    """Marrow CAR+ of CD3+ only (blood and other gates not), in day order; a patient
    without flow rows gets none."""
    from marrowtox.report.flow import car_points

    flow = pd.DataFrame(
        {
            "patient": ["A", "A", "A", "A", "B"],
            "day": [90, 28, 14, 28, 28],
            "specimen": ["marrow", "marrow", "blood", "marrow", "marrow"],
            "population": ["CAR+", "car +", "CAR+", "CD34+", "CD34+"],
            "parent": ["CD3+", "CD3+", "CD3+", "CD45+", "CD45+"],
            "percent": [7.5, 20.0, 40.0, 1.2, 0.8],
        }
    )
    assert car_points(flow, "A") == [(28, 20.0), (90, 7.5)]
    assert car_points(flow, "B") == []
    assert car_points(flow, "C") == []
    assert car_points(None, "A") == []
