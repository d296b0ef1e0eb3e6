"""The demo plants what the cohort statistics must find (issue 19, item 6): the tables
recover it, and the 6-patient demo's small numbers are reported as too few."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from marrowtox.cohort.commands import main
from marrowtox.demo import clinical as demo_clinical


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo_clinical")
    demo_clinical.generate(out, 7)
    return out


def _run(labs: Path, events: Path, out: Path, *extra: str) -> dict[str, pd.DataFrame]:
    paths = {k: out / f"{k}.tsv" for k in ("associations", "correlations", "survival")}
    args = ["--labs", str(labs), "--events", str(events), *extra]
    for k, p in paths.items():
        args += [f"--out-{k}", str(p)]
    assert main(args) == 0
    return {k: pd.read_csv(p, sep="\t", keep_default_na=True) for k, p in paths.items()}


@pytest.fixture(scope="module")
def stats(demo: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    d = demo / "cohort_stats"
    return _run(
        d / "labs.tsv",
        d / "events.tsv",
        tmp_path_factory.mktemp("stats"),
        "--times",
        "30",
        "365",
        "1000",
    )


def _row(a: pd.DataFrame, marker: str, specimen: str, window: str, endpoint: str) -> pd.Series:
    sel = (
        (a["marker"] == marker)
        & (a["specimen"] == specimen)
        & (a["window"] == window)
        & (a["endpoint"] == endpoint)
    )
    assert sel.sum() == 1, (marker, window, endpoint)
    return a[sel].iloc[0]


def test_stats_cohort_tables_pass_the_preflight_checks(demo: Path) -> None:
    from marrowtox.clinical.events import validate_events
    from marrowtox.clinical.units import validate_labs
    from marrowtox.samplesheet import load_schema, read_table

    d = demo / "cohort_stats"
    labs = read_table(d / "labs.tsv", load_schema("labs.schema.yaml"), "labs")
    validate_labs(labs, d / "labs.tsv")
    assert labs["value"].astype(str).str.startswith(("<", ">")).sum() > 10
    ev = read_table(d / "events.tsv", load_schema("events.schema.yaml"), "events")
    validate_events(ev, d / "events.tsv")


def test_planted_marker_separates_severe_crs_and_null_marker_does_not(
    stats: dict[str, pd.DataFrame], demo: Path
) -> None:
    a = stats["associations"]
    truth = pd.read_csv(demo / "truth" / "cohort_stats.tsv", sep="\t")
    planted = _row(a, "ang2", "serum", "d1_3", "crs_ge3")
    assert planted["n_pos"] == int((truth["crs_max_grade"] >= 3).sum())
    assert planted["n_pos"] + planted["n_neg"] == len(truth)
    assert planted["auc_ci_low"] > 0.5 and planted["q_bh"] < 0.05
    assert planted["n_censored"] > 0  # '>10000' values enter by rank, as stated
    assert "above a limit ranked" in planted["censoring"]
    null = _row(a, "il2", "serum", "d1_3", "crs_ge3")
    assert null["auc_ci_low"] < 0.5 < null["auc_ci_high"]
    # Ang-2 before infusion carries no planted effect either
    base = _row(a, "ang2", "serum", "baseline", "crs_ge3")
    assert base["auc_ci_low"] < 0.5 < base["auc_ci_high"]


def test_censored_il6_is_ranked_not_valued(stats: dict[str, pd.DataFrame], demo: Path) -> None:
    labs = pd.read_csv(demo / "cohort_stats" / "labs.tsv", sep="\t", dtype=str)
    n_lloq = int(((labs["analyte"] == "IL-6") & (labs["value"] == "<LLOQ")).sum())
    row = _row(stats["associations"], "il6", "serum", "baseline", "crs_ge3")
    assert row["n_censored"] == n_lloq > 0
    assert "tied with every value < 5" in row["censoring"]


def test_marrow_plasma_ifng_inverse_to_platelets(stats: dict[str, pd.DataFrame]) -> None:
    c = stats["correlations"].set_index(["marker", "count", "window"])
    r = c.loc[("ifng", "plt", "d28")]
    assert r["marker_specimen"] == "marrow_plasma" and r["count_specimen"] == "whole_blood"
    assert r["rho"] < -0.5 and r["q_bh"] < 0.05


def test_deaths_of_both_kinds_counted_as_planted(
    stats: dict[str, pd.DataFrame], demo: Path
) -> None:
    truth = pd.read_csv(demo / "truth" / "cohort_stats.tsv", sep="\t")
    n = truth["outcome"].value_counts()
    s = stats["survival"]
    s = s[s["group"] == "all"].set_index(["analysis", "time"]).sort_index()
    assert s.loc[("cif_nrm", 1000.0), "n_events"] == n["nrm"] >= 5
    relapses = n["relapse_death"] + n["relapse_alive"]
    assert s.loc[("cif_relapse", 1000.0), "n_events"] == relapses
    assert s.loc[("os_km", 1000.0), "n_events"] == n["nrm"] + n["relapse_death"]
    nrm, rel = s.loc[("cif_nrm", 365.0), "estimate"], s.loc[("cif_relapse", 365.0), "estimate"]
    km = s.loc[("os_km", 365.0), "estimate"]
    assert 0 < nrm < rel < 1 and 0 < km < 1
    # every death is a non-relapse death or follows a relapse: P(dead) <= NRM + relapse
    assert 1 - km <= nrm + rel


def test_six_patient_demo_small_numbers_say_so(demo: Path, tmp_path: Path) -> None:
    t = _run(demo / "labs.tsv", demo / "events.tsv", tmp_path, "--n-boot", "200")
    a, c, s = t["associations"], t["correlations"], t["survival"]
    # 6 patients: no endpoint has 3 per group from events alone -> reasons, no AUC
    assert a["auc"].isna().all() and a["reason"].str.contains("per group").all()
    il10 = a[a["marker"] == "il10"]
    assert il10["n_censored"].sum() > 0
    r = c.set_index(["marker", "count", "window"]).loc[("ifng", "plt", "d28")]
    assert r["n"] == 6 and r["rho"] < 0
    # 2 deaths (P05 non-relapse, P06 relapse): too few for any survival number
    assert s["estimate"].isna().all()
    assert s.loc[s["analysis"] == "os_km", "note"].str.contains("too few events: 2 deaths").all()
