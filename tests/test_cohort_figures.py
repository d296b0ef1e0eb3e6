"""Cohort-report figures of the cohort statistics (issue 19, item 5): the curve tables
written by `cohort-stats` equal lifelines run directly, ROC points integrate to the row's
AUC, too few events give text not a curve, and the demo's cohort HTML has ROC, KM and
cumulative-incidence figures embedded with their numbers at risk."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marrowtox.cohort import associations as assoc
from marrowtox.cohort import survival
from marrowtox.report import cohort_stats_section as sec

EXACT = 1e-12


def events_table(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["patient", "day", "event", "cause"])
    df["grade"] = None
    return df


#: A 2 d, B 3 c, C 4 d, D 4 d, E 6 c, F 7 d, G 9 c (Kaplan-Meier by hand:
#: S = 6/7 from day 2, 18/35 from day 4, 9/35 from day 7)
KM_EVENTS = [
    ("A", 2, "death", ""),
    ("B", 3, "last_follow_up", ""),
    ("C", 4, "death", ""),
    ("D", 4, "death", ""),
    ("E", 6, "last_follow_up", ""),
    ("F", 7, "death", ""),
    ("G", 9, "last_follow_up", ""),
]


def steps(curves: pd.DataFrame, analysis: str) -> pd.DataFrame:
    c = curves[(curves["analysis"] == analysis) & (curves["kind"] == survival.STEP)]
    return c.set_index("time")


def test_km_curve_is_lifelines_and_the_hand_product_limit() -> None:
    from lifelines import KaplanMeierFitter

    ev = events_table(KM_EVENTS)
    curves = survival.survival_curves(ev, times=[3, 7], min_events=4)
    km = steps(curves, "os_km")
    assert km.index.tolist() == [0, 2, 3, 4, 6, 7, 9]
    assert km["estimate"].tolist() == pytest.approx(
        [1, 6 / 7, 6 / 7, 18 / 35, 18 / 35, 9 / 35, 9 / 35], abs=EXACT
    )
    # lifelines run directly on the same table
    kmf = KaplanMeierFitter(alpha=0.05).fit([2, 3, 4, 4, 6, 7, 9], [1, 0, 1, 1, 0, 1, 0])
    direct = kmf.survival_function_.iloc[:, 0]
    assert km["estimate"].to_numpy() == pytest.approx(direct.to_numpy(), abs=EXACT)
    ci = kmf.confidence_interval_survival_function_
    assert km["ci_low"].to_numpy() == pytest.approx(ci.iloc[:, 0].to_numpy(), abs=EXACT)
    assert km["ci_high"].to_numpy() == pytest.approx(ci.iloc[:, 1].to_numpy(), abs=EXACT)
    assert km["n_at_risk"].tolist() == kmf.event_table["at_risk"].tolist()
    assert km["n_events"].tolist() == kmf.event_table["observed"].cumsum().tolist()
    risk = curves[(curves["analysis"] == "os_km") & (curves["kind"] == survival.AT_RISK)]
    assert risk["time"].tolist() == [0, 3, 7] and risk["n_at_risk"].tolist() == [7, 6, 2]
    assert risk["n_events"].tolist() == [0, 1, 4]


def test_cif_curve_is_lifelines_aalen_johansen() -> None:
    from lifelines import AalenJohansenFitter

    # no ties (lifelines jitters tied times at random): a NRM 2, b relapse 3, c cens 4,
    # d NRM 5, e relapse 7, f cens 8, g NRM 9, h relapse 11 (death from relapse)
    ev = events_table(
        [
            ("a", 2, "death", "infection"),
            ("b", 3, "progression", ""),
            ("b", 20, "last_follow_up", ""),
            ("c", 4, "last_follow_up", ""),
            ("d", 5, "death", ""),
            ("e", 7, "progression", ""),
            ("e", 10, "death", "relapse"),
            ("f", 8, "last_follow_up", ""),
            ("g", 9, "death", "crs"),
            ("h", 11, "death", "relapse"),
        ]
    )
    curves = survival.survival_curves(ev, times=[5], min_events=3)
    times = np.array([2, 3, 4, 5, 7, 8, 9, 11], dtype=float)
    cause = np.array([1, 2, 0, 1, 2, 0, 1, 2])
    for analysis, code in (("cif_nrm", 1), ("cif_relapse", 2)):
        c = steps(curves, analysis)
        assert c.index.tolist() == [0, *times.tolist()]
        ajf = AalenJohansenFitter(alpha=0.05, calculate_variance=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            ajf.fit(times + survival.AJ_ORIGIN, cause, event_of_interest=code)
        direct = ajf.cumulative_density_.iloc[:, 0]
        expected = [float(direct[direct.index <= t + survival.AJ_ORIGIN].iloc[-1]) for t in c.index]
        assert c["estimate"].tolist() == pytest.approx(expected, abs=EXACT)
        assert c["n_at_risk"].tolist() == [8, 8, 7, 6, 5, 4, 3, 2, 1]
    # by hand: CIF_nrm = 1/8 from day 2; S(5-) = 7/8 x 6/7 = 6/8, 5 at risk: + 6/8 x 1/5
    nrm = steps(curves, "cif_nrm")["estimate"]
    assert nrm[2] == pytest.approx(1 / 8, abs=EXACT)
    assert nrm[5] == pytest.approx(1 / 8 + 6 / 8 * 1 / 5, abs=EXACT)


def test_cif_curve_ties_resolved_as_by_hand() -> None:
    # tied NRM and relapse on day 3 (test_cohort_stats.test_aalen_johansen_by_hand):
    # CIF_nrm 1/8, 1/4, 1/4, 13/32; CIF_relapse 0, 1/8, 9/32, 19/32 at days 2, 3, 5/6, 8
    ev = events_table(
        [
            ("P1", 2, "death", ""),
            ("P2", 3, "progression", ""),
            ("P2", 10, "death", "relapse"),
            ("P3", 3, "death", "infection"),
            ("P4", 4, "last_follow_up", ""),
            ("P5", 5, "progression", ""),
            ("P5", 9, "last_follow_up", ""),
            ("P6", 6, "death", ""),
            ("P7", 6, "last_follow_up", ""),
            ("P8", 8, "death", "relapse"),
        ]
    )
    curves = survival.survival_curves(ev, times=[8], min_events=3)
    nrm, rel = steps(curves, "cif_nrm")["estimate"], steps(curves, "cif_relapse")["estimate"]
    assert nrm.index.tolist() == [0, 2, 3, 4, 5, 6, 8]  # whole days: no jitter shows
    assert nrm[[2, 3, 5, 6, 8]].tolist() == pytest.approx(
        [1 / 8, 1 / 4, 1 / 4, 13 / 32, 13 / 32], abs=EXACT
    )
    assert rel[[2, 3, 5, 6, 8]].tolist() == pytest.approx(
        [0, 1 / 8, 9 / 32, 9 / 32, 19 / 32], abs=EXACT
    )
    again = survival.survival_curves(ev, times=[8], min_events=3)
    pd.testing.assert_frame_equal(curves, again)  # deterministic


def test_too_few_events_text_not_curve() -> None:
    ev = events_table(
        [(f"p{i}", 100 + i, "last_follow_up", "") for i in range(8)]
        + [("d1", 40, "death", ""), ("d2", 60, "death", "")]
    )
    curves = survival.survival_curves(ev, min_events=5)
    km = curves[curves["analysis"] == "os_km"]
    assert km["kind"].tolist() == [survival.NOT_DRAWN]
    assert "too few events: 2 deaths (< 5)" in km["note"].iloc[0]
    assert (curves["kind"] == survival.STEP).sum() == 0  # no NRM/relapse curve either
    assert sec.survival_figure(curves, ("os_km",), "overall survival") is None
    html = sec.section(None, None, None, curves)
    assert "overall survival: too few events: 2 deaths (&lt; 5): no curve." in html
    assert "non-relapse mortality: too few events: 2 non-relapse deaths" in html
    assert "<img" not in html


def _simulated(n: int = 60, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    severe = rng.random(n) < 0.35
    rows = []
    for m, shift in {"planted": 1.5, "null1": 0.0, "null2": 0.0}.items():
        x = np.exp(rng.normal(0, 1, n) + shift * severe)
        for w in ("baseline", "d1_3"):
            for i in range(n):
                v, c, lim = (np.nan, "left", 0.3) if x[i] < 0.3 else (x[i], "", np.nan)
                rows.append((f"p{i:03d}", w, m, "serum", 1, v, c, lim))
    values = pd.DataFrame(
        rows,
        columns=["patient", "window", "analyte", "specimen", "day", "value", "censor", "limit"],
    )
    ep = pd.DataFrame({"crs_ge3": severe.astype(float)}, index=[f"p{i:03d}" for i in range(n)])
    return values, ep


def test_roc_points_integrate_to_the_rows_auc_one_curve_per_marker() -> None:
    values, ep = _simulated()
    table = assoc.associations(values, ep, seed=1, n_boot=200)
    roc = assoc.roc_table(values, ep, table, 2)
    assert list(roc.columns) == assoc.ROC_COLUMNS
    per = roc.groupby("rank").first()
    assert per["marker"].iloc[0] == "planted" and per["marker"].is_unique and len(per) == 2
    for _, g in roc.groupby("rank"):
        x, y = g["fpr"].to_numpy(), g["tpr"].to_numpy()
        area = float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))
        assert area == pytest.approx(g["auc"].iloc[0], abs=1e-12)
        assert x[0] == y[0] == 0 and x[-1] == y[-1] == 1
    # the best row of the marker, as the associations table orders them
    best = assoc.top_rows(table, 1).iloc[0]
    assert (per.iloc[0][["window", "endpoint"]] == best[["window", "endpoint"]]).all()


def test_demo_cohort_html_has_roc_km_and_cif_with_numbers_at_risk(tmp_path: Path) -> None:
    from marrowtox.cohort.commands import main
    from marrowtox.demo import clinical

    clinical.stats_cohort(tmp_path, 7)
    d = tmp_path / "cohort_stats"
    res = tmp_path / "results"
    out = res / "cohort"
    args = ["--labs", str(d / "labs.tsv"), "--events", str(d / "events.tsv"), "--n-boot", "300"]
    for flag, name in (
        ("associations", "associations"),
        ("correlations", "correlations"),
        ("survival", "survival"),
        ("roc", "roc"),
        ("curves", "survival_curves"),
    ):
        args += [f"--out-{flag}", str(out / f"{name}.tsv")]
    assert main(args) == 0
    roc = pd.read_csv(out / "roc.tsv", sep="\t")
    first = roc[roc["rank"] == 1].iloc[0]
    assert (first["marker"], first["window"], first["endpoint"]) == ("ang2", "d1_3", "crs_ge3")
    assert roc["rank"].nunique() == 4  # config.cohort.roc_markers default
    curves = pd.read_csv(out / "survival_curves.tsv", sep="\t", keep_default_na=False)
    for analysis in ("os_km", "cif_nrm", "cif_relapse"):
        assert (curves[curves["analysis"] == analysis]["kind"] == survival.STEP).any()
    report = tmp_path / "cohort.html"
    report.write_text("<html><body><main></main></body></html>")
    sec.append_to(report, res)
    html = report.read_text()
    alts = re.findall(r"<img alt='([^']*)' src='data:image/png;base64,", html)
    assert len(alts) == 4 == html.count("<img")  # forest, ROC, KM, CIF: all embedded
    assert alts[1].startswith("ROC curves of the top 4 markers")
    assert alts[2].startswith("Kaplan-Meier overall survival; numbers at risk at days 0/30/90")
    assert "Cumulative incidence of non-relapse mortality" in alts[3]
    assert "at risk (alive, no relapse) 80/" in alts[3]
    assert "Descriptive: at most 80 patients per curve" in html
    assert not re.search(r"src=['\"](?!data:)", html)  # no external request
    patients = set(pd.read_csv(d / "events.tsv", sep="\t")["patient"])
    assert not any(re.search(rf"\b{re.escape(p)}\b", html) for p in patients)
    # the numbers at risk drawn under the KM axis are those of the table
    fig = sec.survival_figure(curves, ("os_km",), "overall survival")
    drawn = [t.get_text() for t in fig.axes[1].texts]
    risk = curves[(curves["analysis"] == "os_km") & (curves["kind"] == survival.AT_RISK)]
    assert drawn == [str(v) for v in risk["n_at_risk"]]
    assert risk["n_at_risk"].iloc[0] == 80


def test_workflow_demo_writes_curve_tables_and_says_too_few_events(demo_run) -> None:
    """The 6-patient demo: rule cohort_stats writes roc.tsv and survival_curves.tsv; with
    2 deaths the cohort report names each survival curve it does not draw and draws none;
    the ROC curves (3 vs 3 patients for early ICAHT >= 3) are flagged small n."""
    from marrowtox.layout import path

    r = demo_run["results"]
    roc = pd.read_csv(path("cohort_roc", r), sep="\t")
    assert list(roc.columns) == assoc.ROC_COLUMNS and roc["rank"].nunique() == 4
    assert roc["small_n"].all() and (roc["n_pos"] + roc["n_neg"] <= 6).all()
    curves = pd.read_csv(path("cohort_survival_curves", r), sep="\t", keep_default_na=False)
    assert set(curves["kind"]) == {survival.NOT_DRAWN}
    html = path("cohort_report", r).read_text(encoding="utf-8")
    start = html.index("id='cohort-stats'")
    section = html[
        start : html.index("</section>", start)
    ]  # the sections after it have own figures
    assert "overall survival: too few events: 2 deaths (&lt; 5): no curve." in section
    assert "non-relapse mortality: too few events: 1 non-relapse deaths" in section
    assert "No curve has enough events to be drawn" in section
    alts = re.findall(r"<img alt='([^']*)' src='data:image/png;base64,", section)
    assert len(alts) == 2 == section.count("<img")  # forest plot and ROC; no KM, no CIF
    assert alts[1].startswith("ROC curves of the top 4 markers")
