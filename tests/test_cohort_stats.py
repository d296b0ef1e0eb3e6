"""Cohort statistics (issue 19): hand-computed AUC, Kaplan-Meier and Aalen-Johansen,
censoring-aware ranks, planted markers, too-few-events reasons, BH q."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marrowtox.cohort import associations as assoc
from marrowtox.cohort import survival
from marrowtox.cohort.censored import (
    LabValue,
    cutoff_side,
    load_panel,
    parse_value,
    rank_codes,
    read_labs,
)
from marrowtox.cohort.windows import (
    derive_ratio,
    parse_windows,
    read_events,
    window_values,
)
from marrowtox.errors import InputError

EXACT = 1e-12  # lifelines multiplies survival factors as exp(sum(log(...))): float rounding


def values_table(pos: list[str | float], neg: list[str | float], marker: str = "il6") -> tuple:
    """Window values + endpoint table of positives and negatives for one marker."""
    rows, ep = [], {}
    for k, (v, y) in enumerate([(v, 1.0) for v in pos] + [(v, 0.0) for v in neg]):
        lv = parse_value(str(v))
        rows.append(
            {
                "patient": f"p{k}",
                "window": "baseline",
                "analyte": marker,
                "specimen": "serum",
                "day": -1,
                "value": np.nan if lv.censor else lv.value,
                "censor": lv.censor or "",
                "limit": np.nan if lv.limit is None else lv.limit,
            }
        )
        ep[f"p{k}"] = y
    endpoints = pd.DataFrame({"crs_ge3": pd.Series(ep)})
    return pd.DataFrame(rows), endpoints


def test_auc_by_hand() -> None:
    # positives 3, 7, 9; negatives 1, 4, 7, 8. Concordant pairs (pos > neg) count 1, ties 1/2:
    #   3: > 1                      -> 1
    #   7: > 1, > 4, = 7 (1/2)      -> 2.5
    #   9: > 1, 4, 7, 8             -> 4
    # AUC = 7.5 / (3 x 4) = 0.625 = Mann-Whitney U of the positives / 12
    values, endpoints = values_table([3, 7, 9], [1, 4, 7, 8])
    row = assoc.associations(values, endpoints, seed=1, n_boot=200).iloc[0]
    assert row["auc"] == 0.625
    assert row["mw_u"] == 7.5
    assert (row["n_pos"], row["n_neg"], row["n_censored"]) == (3, 4, 0)
    assert row["auc_ci_low"] <= row["auc"] <= row["auc_ci_high"]


def test_bootstrap_auc_equals_roc_auc_score_per_resample() -> None:
    from sklearn.metrics import roc_auc_score

    gen = np.random.default_rng(3)
    cp, cn = gen.integers(0, 6, 9), gen.integers(0, 6, 13)
    got = assoc.bootstrap_auc(cp, cn, 50, np.random.default_rng(5))
    rng = np.random.default_rng(5)  # the same draws: positives' indices, then negatives'
    ip, ineg = rng.integers(0, 9, size=(50, 9)), rng.integers(0, 13, size=(50, 13))
    for b in range(50):
        y = np.r_[np.ones(9), np.zeros(13)]
        assert got[b] == pytest.approx(roc_auc_score(y, np.r_[cp[ip[b]], cn[ineg[b]]]), abs=EXACT)


def test_bootstrap_interval_is_seeded() -> None:
    values, endpoints = values_table([3, 7, 9, 11, 2], [1, 4, 7, 8, 5, 6])
    a = assoc.associations(values, endpoints, seed=7, n_boot=300)
    b = assoc.associations(values, endpoints, seed=7, n_boot=300)
    c = assoc.associations(values, endpoints, seed=8, n_boot=300)
    pd.testing.assert_frame_equal(a, b)
    assert (a["auc_ci_low"].iloc[0], a["auc_ci_high"].iloc[0]) != (
        c["auc_ci_low"].iloc[0],
        c["auc_ci_high"].iloc[0],
    )


def test_parse_censored_values() -> None:
    assert parse_value("12.5") == LabValue(12.5)
    assert parse_value("<5") == LabValue(None, "left", 5.0)
    assert parse_value("< 5") == LabValue(None, "left", 5.0)
    assert parse_value("<LLOQ", lloq=1.5) == LabValue(None, "left", 1.5)
    assert parse_value(">1000") == LabValue(None, "right", 1000.0)
    assert parse_value(">ULOQ", uloq=5000) == LabValue(None, "right", 5000.0)
    for bad in ("<LLOQ", "<=5", "abc", "-3", "<", ""):
        with pytest.raises(ValueError):
            parse_value(bad)


def test_censored_value_never_enters_as_its_limit() -> None:
    # One LLOQ (5): "<5" ties with "<5" and with the observed 3 (all below 5) and ranks
    # below 5, 6, 8. Codes: {<5, 3} -> 0, 5 -> 1, 6 -> 2, 8 -> 3.
    # positives <5, <5, 8 -> 0, 0, 3; negatives 3, 5, 6, <5 -> 0, 1, 2, 0
    #   each <5 positive: tie with 3 (1/2), tie with <5 (1/2) -> 1; two of them -> 2
    #   8: above all four -> 4
    # censoring-aware AUC = 6 / 12 = 0.5.
    # "<5" written as 5: positives 5, 5, 8 vs 3, 5, 6, 5 -> (1 + .5 + .5) x 2 + 4 = 8 -> 8/12;
    # as LLOQ/2 = 2.5: (.5) x 2 + 4 = 5 -> 5/12. Both differ from 0.5.
    values, endpoints = values_table(["<5", "<5", 8], [3, 5, 6, "<5"])
    row = assoc.associations(values, endpoints, seed=1, n_boot=100).iloc[0]
    assert row["auc"] == 0.5
    assert row["n_censored"] == 3 and row["n_recensored"] == 1
    as_limit = assoc.associations(*values_table([5, 5, 8], [3, 5, 6, 5]), seed=1, n_boot=100)
    as_half = assoc.associations(*values_table([2.5, 2.5, 8], [3, 5, 6, 2.5]), seed=1, n_boot=100)
    assert as_limit["auc"].iloc[0] == pytest.approx(8 / 12, abs=EXACT)
    assert as_half["auc"].iloc[0] == pytest.approx(5 / 12, abs=EXACT)


def test_rank_codes_several_limits_and_right_censoring() -> None:
    # limits <2 and <5: the highest (5) rules; observed 3 is re-censored into the low tie
    # group; >100 ranks above every observed value <= 100 and ties with 150 (> 100).
    v = np.array([np.nan, np.nan, 3, 5, 7, np.nan, 150])
    c = np.array(["left", "left", "", "", "", "right", ""], dtype=object)
    lim = np.array([2, 5, np.nan, np.nan, np.nan, 100, np.nan])
    rc = rank_codes(v, c, lim)
    assert rc.codes.tolist() == [0, 0, 0, 1, 2, 3, 3]
    assert (rc.n_censored, rc.n_recensored) == (3, 2)
    # left limit above right limit: no ranking, a reason
    bad = rank_codes(np.array([np.nan, np.nan]), np.array(["left", "right"]), np.array([10, 5]))
    assert bad.codes is None and "no ranking" in bad.reason


def test_cutoff_side_censored() -> None:
    v = np.array([np.nan, np.nan, np.nan, 4.67, 5.0])
    c = np.array(["left", "left", "right", "", ""], dtype=object)
    lim = np.array([3.0, 10.0, 5.0, np.nan, np.nan])
    side = cutoff_side(v, c, lim, ">", 4.67)
    # <3 surely below; <10 unknown; >5 surely above; 4.67 is not > 4.67; 5 is
    assert side[0] == 0 and np.isnan(side[1]) and side[2] == 1 and side[3] == 0 and side[4] == 1


def test_spearman_on_censored_ranks() -> None:
    from scipy.stats import spearmanr

    rows = []
    marrow = ["<5", "<5", "3", "6", "7"]
    anc = [100, 300, 200, 500, 400]
    for k, (m, a) in enumerate(zip(marrow, anc, strict=True)):
        lv = parse_value(m)
        rows.append(
            (f"p{k}", "d28", "il6", "marrow_plasma", 28, lv.value, lv.censor or "", lv.limit)
        )
        rows.append((f"p{k}", "d28", "anc", "whole_blood", 28, float(a), "", None))
    values = pd.DataFrame(
        rows,
        columns=["patient", "window", "analyte", "specimen", "day", "value", "censor", "limit"],
    ).astype({"value": float, "limit": float})
    out = assoc.correlations(values, counts=("anc",), min_pairs=5)
    # codes: <5, <5, 3 -> 0 (tie below the LLOQ), 6 -> 1, 7 -> 2
    expected = spearmanr([0, 0, 0, 1, 2], anc).statistic
    assert out["rho"].iloc[0] == pytest.approx(expected, abs=EXACT)
    assert out["rho"].iloc[0] != pytest.approx(spearmanr([5, 5, 3, 6, 7], anc).statistic)
    few = assoc.correlations(values, counts=("anc",), min_pairs=6)
    assert np.isnan(few["rho"].iloc[0]) and "pairs" in few["reason"].iloc[0]


def write(path: Path, text: str) -> Path:
    path.write_text(text.replace("|", "\t"), encoding="utf-8")
    return path


def test_read_labs_keeps_censoring_and_refuses_bad_cells(tmp_path: Path) -> None:
    labs = write(
        tmp_path / "labs.tsv",
        "patient|day|analyte|value|unit|specimen|lloq\n"
        "p1|-2|IL-6|<LLOQ|pg/mL||1.5\n"
        "p1|-2|Ang-2|< 100|ng/mL||\n"
        "p1|28|IFN-gamma|>1000|pg/mL|marrow_plasma|\n"
        "p1|-2|crp|12|mg/L||\n",
    )
    df = read_labs(labs).set_index("analyte")
    assert df.loc["il6", "censor"] == "left" and df.loc["il6", "limit"] == 1.5
    assert np.isnan(df.loc["il6", "value"])
    assert df.loc["ang2", "limit"] == 100000.0  # ng/mL -> pg/mL, the limit converted too
    assert df.loc["ifng", "censor"] == "right" and df.loc["ifng", "specimen"] == "marrow_plasma"
    assert df.loc["crp", "value"] == pytest.approx(1.2) and df.loc["crp", "specimen"] == "serum"
    for line, column in (
        ("p1|0|il6|<LLOQ|pg/mL||\n", "value"),
        ("p1|0|il6|n.d.|pg/mL||\n", "value"),
        ("p1|0|il-99|5|pg/mL||\n", "analyte"),
        ("p1|0|il6|5|ng/L?||\n", "unit"),
        ("p1|0|il6|5|pg/mL|marrow|\n", "specimen"),
        ("p1|d0|il6|5|pg/mL||\n", "day"),
    ):
        bad = write(tmp_path / "bad.tsv", "patient|day|analyte|value|unit|specimen|lloq\n" + line)
        with pytest.raises(InputError) as exc:
            read_labs(bad)
        assert exc.value.column == column and exc.value.row == 2


def test_read_labs_reads_units_as_the_preflight_does(tmp_path: Path) -> None:
    """A unit the pre-flight accepts (case-insensitive, issue 25 item 6) is not refused
    by the cohort statistics mid-run: one reading of analytes and units."""
    labs = write(
        tmp_path / "labs.tsv",
        "patient|day|analyte|value|unit\np1|-2|CRP|12|mg/l\np1|-2|IL6|5|PG/ML\n",
    )
    df = read_labs(labs).set_index("analyte")
    assert df.loc["crp", "value"] == pytest.approx(1.2)  # mg/L -> mg/dL
    assert df.loc["il6", "value"] == pytest.approx(5.0)


def test_ratio_propagates_censoring() -> None:
    labs = pd.DataFrame(
        {
            "patient": ["a", "a", "b", "b", "c", "c"],
            "day": [0] * 6,
            "analyte": ["ang2", "ang1"] * 3,
            "specimen": ["serum"] * 6,
            "value": [np.nan, 50.0, 100.0, np.nan, np.nan, np.nan],
            "censor": ["left", "", "", "left", "left", "left"],
            "limit": [100.0, np.nan, np.nan, 50.0, 100.0, 50.0],
        }
    )
    r = derive_ratio(labs, {"ang1"}).query("analyte == 'ang2_ang1'").set_index("patient")
    # a: <100 / 50 -> <2; b: 100 / <50 -> >2; c: <100 / <50 -> unknown, left missing
    assert (r.loc["a", "censor"], r.loc["a", "limit"]) == ("left", 2.0)
    assert (r.loc["b", "censor"], r.loc["b", "limit"]) == ("right", 2.0)
    assert "c" not in r.index


def test_window_rule_latest_most_adverse_and_event_anchor() -> None:
    panel = load_panel()
    labs = pd.DataFrame(
        {
            "patient": ["a"] * 6,
            "day": [-5, -2, -2, 4, 5, 6],
            "analyte": ["il6", "il6", "il6", "il6", "il6", "il6"],
            "specimen": ["serum"] * 6,
            "value": [10.0, 20.0, 15.0, 30.0, 40.0, 50.0],
            "censor": [""] * 6,
            "limit": [np.nan] * 6,
        }
    )
    events = pd.DataFrame(
        {"patient": ["a", "a"], "day": [3, 4], "event": ["crs", "crs"], "grade": [1, 2]}
    )
    windows = parse_windows(
        {
            "baseline": {"anchor": "infusion", "days": [-10, -1]},
            "crs_24_48h": {"anchor": "crs", "days": [1, 2]},
        }
    )
    v = window_values(labs, events, windows, panel).set_index("window")
    assert v.loc["baseline", "day"] == -2 and v.loc["baseline", "value"] == 20.0  # most adverse
    # CRS onset = first crs day (3): window days 4..5, latest = day 5
    assert v.loc["crs_24_48h", "day"] == 5 and v.loc["crs_24_48h", "value"] == 40.0
    for bad in (
        {"w": {"anchor": "moon", "days": [0, 1]}},
        {"w": {"anchor": "infusion", "days": [3, 1]}},
        {"w": {"anchor": "infusion", "days": [0.5, 1]}},
        {"w": {"anchor": "infusion"}},
    ):
        with pytest.raises(InputError):
            parse_windows(bad)


def test_endpoints_missing_not_zero() -> None:
    events = pd.DataFrame(
        {
            "patient": ["a", "a", "b", "c"],
            "day": [0, 2, 0, 0],
            "event": ["infusion", "crs", "infusion", "infusion"],
            "grade": [None, 3, None, None],
        }
    )
    scores = pd.DataFrame(
        {"patient": ["a", "d"], "icaht_early_grade": [3.0, np.nan], "icaht_late_grade": [1.0, 2.0]}
    ).set_index("patient", drop=False)
    ep = assoc.endpoint_table(events, scores)
    assert ep.loc["a", "crs_ge3"] == 1 and ep.loc["b", "crs_ge3"] == 0
    assert np.isnan(ep.loc["d", "crs_ge2"])  # not in events.tsv: not recorded, not grade 0
    assert ep.loc["a", "icaht_early_ge3"] == 1 and np.isnan(ep.loc["d", "icaht_early_ge3"])
    assert ep.loc["d", "icaht_late_ge2"] == 1 and np.isnan(ep.loc["b", "icaht_late_ge2"])


def events_table(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["patient", "day", "event", "cause"])
    df["grade"] = None
    return df


def test_kaplan_meier_by_hand() -> None:
    # time (days), death=1 / censored=0:
    #   A 2 d, B 3 c, C 4 d, D 4 d, E 6 c, F 7 d, G 9 c
    # product-limit: t=2: 7 at risk, 1 death -> S = 6/7
    #                t=4: 5 at risk (B censored at 3), 2 deaths -> S = 6/7 x 3/5 = 18/35
    #                t=7: 2 at risk (E censored at 6), 1 death -> S = 18/35 x 1/2 = 9/35
    ev = events_table(
        [
            ("A", 2, "death", ""),
            ("B", 3, "last_follow_up", ""),
            ("C", 4, "death", ""),
            ("D", 4, "death", ""),
            ("E", 6, "last_follow_up", ""),
            ("F", 7, "death", ""),
            ("G", 9, "last_follow_up", ""),
        ]
    )
    data, missing = survival.os_data(ev)
    rows = pd.DataFrame(survival.kaplan_meier(data, [1, 2, 4, 5, 7, 8], min_events=4))
    expected = [1, 6 / 7, 18 / 35, 18 / 35, 9 / 35, 9 / 35]
    assert rows["estimate"].tolist() == pytest.approx(expected, abs=EXACT)
    assert rows["n_at_risk"].tolist() == [7, 7, 5, 3, 2, 1]
    assert rows["n_events"].tolist() == [0, 1, 3, 3, 4, 4]
    assert (rows["ci_low"] <= rows["estimate"]).all() and (
        rows["estimate"] <= rows["ci_high"]
    ).all()
    # 4 deaths < 5: a reason, never a number
    few = pd.DataFrame(survival.kaplan_meier(data, [2, 7], min_events=5))
    assert few["estimate"].isna().all() and few["note"].str.contains("too few events").all()


def test_aalen_johansen_by_hand() -> None:
    # time, cause (1 NRM, 2 relapse, 0 censored):
    #   P1 2 NRM; P2 3 relapse (progression; death later); P3 3 NRM (tied with P2);
    #   P4 4 cens; P5 5 relapse; P6 6 NRM; P7 6 cens (after the event of day 6);
    #   P8 8 relapse (death with cause relapse, no progression recorded)
    # CIF_k(t) = sum over event times s <= t of S(s-) d_k(s) / n(s); S all-cause KM
    #   t=2: n=8, d1=1        CIF1 = 1/8                 S = 7/8
    #   t=3: n=7, d1=1, d2=1  CIF1 += 7/8 x 1/7 = 1/4;   CIF2 = 7/8 x 1/7 = 1/8;  S = 5/8
    #   t=5: n=4, d2=1        CIF2 += 5/8 x 1/4 -> 9/32; S = 15/32
    #   t=6: n=3, d1=1        CIF1 += 15/32 x 1/3 -> 13/32; S = 10/32
    #   t=8: n=1, d2=1        CIF2 += 10/32 -> 19/32;  CIF1 + CIF2 + S = 1
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
    data, _ = survival.competing_data(ev)
    rows = pd.DataFrame(survival.cumulative_incidence(data, [2, 3, 5, 6, 8], min_events=3))
    nrm = rows[rows["analysis"] == "cif_nrm"]
    rel = rows[rows["analysis"] == "cif_relapse"]
    assert nrm["estimate"].tolist() == pytest.approx(
        [1 / 8, 1 / 4, 1 / 4, 13 / 32, 13 / 32], abs=EXACT
    )
    assert rel["estimate"].tolist() == pytest.approx([0, 1 / 8, 9 / 32, 9 / 32, 19 / 32], abs=EXACT)
    assert nrm["n_at_risk"].tolist() == [8, 7, 4, 3, 1]
    assert nrm["n_events"].tolist() == [1, 2, 2, 3, 3]
    ok = nrm.dropna(subset=["ci_low"])
    assert ((ok["ci_low"] <= ok["estimate"]) & (ok["estimate"] <= ok["ci_high"])).all()
    few = pd.DataFrame(survival.cumulative_incidence(data, [8], min_events=4))
    assert few["estimate"].isna().all() and few["note"].str.contains("too few events").all()


def test_aalen_johansen_counts_death_on_day_0() -> None:
    # lifelines zeroes the first row of its Aalen-Johansen table; a death on the day of
    # infusion must still count. a NRM day 0, b censored 5, c relapse 10, d NRM 12:
    #   t=0: n=4, d1=1 -> CIF1 = 1/4, S = 3/4; t=10: n=2 (b censored), d2=1 -> S = 3/8;
    #   t=12: n=1, d1=1 -> CIF1 = 1/4 + 3/8 = 5/8
    ev = events_table(
        [
            ("a", 0, "death", ""),
            ("b", 5, "last_follow_up", ""),
            ("c", 10, "progression", ""),
            ("c", 11, "last_follow_up", ""),
            ("d", 12, "death", ""),
        ]
    )
    data, _ = survival.competing_data(ev)
    rows = pd.DataFrame(survival.cumulative_incidence(data, [0, 12], min_events=1))
    nrm = rows[rows["analysis"] == "cif_nrm"]["estimate"].tolist()
    assert nrm == pytest.approx([1 / 4, 5 / 8], abs=EXACT)


def simulated(n: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded cohort: severe CRS in ~1/3; 'planted' shifted by 1 SD (log scale) in CRS >= 3,
    'null1'..'null5' independent of it."""
    rng = np.random.default_rng(seed)
    severe = rng.random(n) < 1 / 3
    rows = []
    markers = {"planted": 1.0, **{f"null{k}": 0.0 for k in range(1, 6)}}
    for m, shift in markers.items():
        x = np.exp(rng.normal(0, 1, n) + shift * severe)
        for i in range(n):
            rows.append((f"p{i:03d}", "baseline", m, "serum", -1, x[i], "", np.nan))
    values = pd.DataFrame(
        rows,
        columns=["patient", "window", "analyte", "specimen", "day", "value", "censor", "limit"],
    )
    endpoints = pd.DataFrame(
        {"crs_ge3": severe.astype(float)}, index=[f"p{i:03d}" for i in range(n)]
    )
    return values, endpoints


def test_planted_marker_interval_excludes_half_null_includes() -> None:
    values, endpoints = simulated(150, seed=2024)
    out = assoc.associations(values, endpoints, seed=11, n_boot=1000).set_index("marker")
    assert out.loc["planted", "auc_ci_low"] > 0.5
    assert out.loc["planted", "q_bh"] < 0.05
    for m in ("null1", "null2", "null3", "null4", "null5"):
        assert out.loc[m, "auc_ci_low"] < 0.5 < out.loc[m, "auc_ci_high"], m


def test_bh_q_monotone_and_at_least_p() -> None:
    values, endpoints = simulated(80, seed=5)
    out = assoc.associations(values, endpoints, seed=1, n_boot=100)
    t = out.dropna(subset=["mw_p"]).sort_values("mw_p")
    assert (t["q_bh"].to_numpy() >= t["mw_p"].to_numpy() - EXACT).all()
    assert (np.diff(t["q_bh"].to_numpy()) >= -EXACT).all()
    assert (t["q_bh"] <= 1).all()


def test_too_few_per_group_gives_reason_not_number() -> None:
    values, endpoints = values_table([3, 7], [1, 4, 7, 8])
    row = assoc.associations(values, endpoints, seed=1, n_boot=100, min_per_group=3).iloc[0]
    assert np.isnan(row["auc"]) and np.isnan(row["mw_p"]) and np.isnan(row["q_bh"])
    assert "per group" in row["reason"] and row["n_pos"] == 2


def test_cox_too_few_events_and_censored_covariate() -> None:
    os_ = pd.DataFrame(
        {
            "patient": list("abcdefgh"),
            "time": [5, 8, 9, 20, 30, 40, 50, 60],
            "event": [1, 1, 0] + [0] * 5,
        }
    )
    cov = pd.DataFrame(
        {
            "patient": list("abcdefgh"),
            "value": [np.nan, 4.0, 2.0, 1.0, 3.0, 5.0, 6.0, 7.0],
            "censor": ["left"] + [""] * 7,
        }
    )
    spec = survival.CoxSpec("il6", "baseline")
    row = survival.cox(os_, cov, spec, [10, 30], min_events=5)
    assert np.isnan(row["estimate"]) and "too few events" in row["note"]
    assert row["n_censored_covariate"] == 1 and row["n_at_risk"] == 7 and row["n_events"] == 1


def test_easix_cutoff_fisher(tmp_path: Path) -> None:
    from scipy.stats import fisher_exact

    # EASIX > 4.67 (Korell 2022): positives 6, 8, 3, 9; negatives 2, 5, 1, 3, 4, "<3"
    values, endpoints = values_table([6, 8, 3, 9], [2, 5, 1, 3, 4, "<3"], marker="easix_baseline")
    values["window"], values["specimen"] = assoc.SCORES_WINDOW, assoc.SCORES_SPECIMEN
    row = assoc.associations(values, endpoints, seed=1, n_boot=100).iloc[0]
    # above: pos 6, 8, 9 (3), neg 5 (1); below: pos 3 (1), neg 2, 1, 3, 4, <3 (5)
    assert (row["n_above_pos"], row["n_above_neg"], row["n_below_pos"], row["n_below_neg"]) == (
        3,
        1,
        1,
        5,
    )
    assert row["fisher_p"] == pytest.approx(fisher_exact([[3, 1], [1, 5]]).pvalue, abs=EXACT)
    assert row["or_ci_low"] < row["odds_ratio"] < row["or_ci_high"]
    assert "Korell" in row["cutoff_source"]


def test_panel_covers_issue_and_agrees_with_units() -> None:
    from marrowtox.clinical.units import ANALYTES

    panel = load_panel()
    need = {
        "ang1", "ang2", "ang2_ang1", "vwf", "adamts13", "stm", "svcam1", "stnfr1", "st2",
        "sc5b9", "pai1", "d_dimer", "fibrinogen", "il6", "il8", "il10", "ifng", "tnf",
        "mcp1", "il1ra", "il15", "il2", "il1b", "gmcsf", "ferritin", "crp",
    }  # fmt: skip
    assert need <= set(panel["name"])
    assert (panel["source"].str.len() > 0).all()
    assert set(panel["adverse"]) <= {"high", "low"}
    for name, a in ANALYTES.items():
        if name in panel.index:
            assert panel.at[name, "unit"] == a.canonical, name


def test_cli_end_to_end_and_bad_input(tmp_path: Path) -> None:
    from marrowtox.cohort.commands import main

    rng = np.random.default_rng(9)
    lab_lines, ev_lines = (
        ["patient\tday\tanalyte\tvalue\tunit\tlloq"],
        ["patient\tday\tevent\tgrade\tcause"],
    )
    for i in range(30):
        p = f"p{i:02d}"
        grade = int(rng.integers(0, 4))
        ev_lines.append(f"{p}\t0\tinfusion\t\t")
        if grade:
            ev_lines.append(f"{p}\t2\tcrs\t{grade}\t")
        if i % 4 == 0:
            ev_lines.append(f"{p}\t{40 + i}\tdeath\t\t{'relapse' if i % 8 == 0 else 'infection'}")
        else:
            ev_lines.append(f"{p}\t{200 + i}\tlast_follow_up\t\t")
        for d in (-3, 1, 3):
            v = rng.lognormal(1 + 0.5 * grade, 1)
            lab_lines.append(f"{p}\t{d}\til6\t{'<LLOQ' if v < 2 else f'{v:.3g}'}\tpg/mL\t2")
    labs = write(tmp_path / "labs.tsv", "\n".join(lab_lines) + "\n")
    events = write(tmp_path / "events.tsv", "\n".join(ev_lines) + "\n")
    outs = {k: tmp_path / f"{k}.tsv" for k in ("a", "c", "s")}
    args = ["--labs", str(labs), "--events", str(events), "--n-boot", "100"]
    args += ["--out-associations", str(outs["a"]), "--out-correlations", str(outs["c"])]
    args += ["--out-survival", str(outs["s"])]
    assert main(args) == 0
    a = pd.read_csv(outs["a"], sep="\t")
    assert list(a.columns) == assoc.COLUMNS
    assert a["n_censored"].sum() > 0
    s = pd.read_csv(outs["s"], sep="\t")
    assert list(s.columns) == survival.COLUMNS
    assert set(s["analysis"]) == {"os_km", "cif_nrm", "cif_relapse", "cox_os"}
    first = outs["a"].read_bytes()
    assert main(args) == 0 and outs["a"].read_bytes() == first  # deterministic
    # bad input: an error naming the file/row/column, no output written
    bad = write(tmp_path / "bad_events.tsv", "patient\tday\tevent\tgrade\tcause\np00\t3\tcrs\t\t\n")
    assert (
        main(
            [*args[:2], "--events", str(bad), *args[4:], "--out-survival", str(tmp_path / "x.tsv")]
        )
        == 2
    )
    assert not (tmp_path / "x.tsv").exists()
    with pytest.raises(InputError) as exc:
        read_events(write(tmp_path / "e.tsv", "patient\tday\tevent\tcause\np\t5\tcrs\trelapse\n"))
    assert exc.value.column in ("grade", "cause")
