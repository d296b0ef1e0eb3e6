"""Clinical scores reproduce the published definitions exactly (issue 4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from marrowtox.clinical import biomarkers, easix, hematotox, icaht
from marrowtox.clinical.anc_grid import daily_grid
from marrowtox.clinical.iec_hs import assess
from marrowtox.clinical.scores import ClinicalParams, patient_scores, run_clinical
from marrowtox.clinical.tables import load_clinical_tables
from marrowtox.clinical.units import normalise_labs, validate_labs
from marrowtox.errors import InputError


def series(values_by_day: dict[int, float]) -> pd.DataFrame:
    return pd.DataFrame({"day": list(values_by_day), "value": list(values_by_day.values())})


def course(
    le500: int = 0, le100: int = 0, start: int = 2, low: float = 300, deep: float = 50
) -> pd.DataFrame:
    """Daily ANC day -5..100 with `le500` days <= 500 of which `le100` days <= 100."""
    v = {d: 2500.0 for d in range(-5, 101)}
    for k in range(le500):
        v[start + k] = low
    for k in range(le100):
        v[start + k] = deep
    return series(v)


def early(df: pd.DataFrame, events: pd.DataFrame | None = None) -> icaht.IcahtResult:
    return icaht.grade(df, events)[0]


@pytest.mark.parametrize(
    ("le500", "grade"), [(0, 0), (1, 1), (6, 1), (7, 2), (13, 2), (14, 3), (29, 3)]
)
def test_early_grade_by_duration_le500(le500: int, grade: int) -> None:
    r = early(course(le500))
    assert r.longest_le500 == le500
    assert r.early_grade == grade


def test_early_grade4_no_recovery_full_window() -> None:
    r = early(course(31, start=0))
    assert r.longest_le500 == 31 and r.early_grade == 4


@pytest.mark.parametrize(("le100", "grade"), [(6, 1), (7, 3), (13, 3), (14, 4), (20, 4)])
def test_early_grade_by_depth_le100(le100: int, grade: int) -> None:
    # <= 100 for le100 days, nothing else <= 500: the depth route alone sets the grade
    r = early(course(le100, le100))
    assert r.longest_le100 == le100
    assert r.early_grade == max(grade, icaht.early_grade_from_durations(le100, 0))


def test_boundaries_exactly_500_and_100_count() -> None:
    assert early(course(7, low=500.0)).early_grade == 2
    assert early(course(7, low=500.1)).early_grade == 0
    assert early(course(7, 7, deep=100.0)).early_grade == 3
    assert early(course(7, 7, deep=100.1)).early_grade == 2


def test_runs_split_by_two_days_merge_three_do_not() -> None:
    v = {d: 2500.0 for d in range(-5, 101)}
    for d in list(range(2, 7)) + list(range(9, 14)):  # 5 + 5 days, 2 days above between
        v[d] = 300
    r = early(series(v))
    assert r.longest_le500 == 12 and r.early_grade == 2  # merged span 2..13
    v = {d: 2500.0 for d in range(-5, 101)}
    for d in list(range(2, 7)) + list(range(10, 15)):  # 3 days above between
        v[d] = 300
    r = early(series(v))
    assert r.longest_le500 == 5 and r.early_grade == 1


def test_gap_up_to_seven_days_interpolated_longer_left_missing() -> None:
    v = {d: 300.0 for d in range(0, 20)}
    v.update({d: 2500.0 for d in range(-5, 0)})
    v.update({d: 2500.0 for d in range(20, 101)})
    short = {d: x for d, x in v.items() if not 5 <= d <= 11}  # 7 missing days
    grid = daily_grid(series(short), 0, 30)
    assert grid.loc[grid["day"].between(5, 11), "interpolated"].all()
    assert early(series(short)).longest_le500 == 20
    long = {d: x for d, x in v.items() if not 5 <= d <= 12}  # 8 missing days
    grid = daily_grid(series(long), 0, 30)
    assert grid.loc[grid["day"].between(5, 12), "missing"].all()
    r = early(series(long))
    assert r.longest_le500 == 7  # run broken by the unknown days
    assert any("without ANC" in n for n in r.notes)


def test_interpolation_is_linear() -> None:
    grid = daily_grid(series({0: 100.0, 4: 500.0}), 0, 4)
    assert grid["anc"].tolist() == pytest.approx([100, 200, 300, 400, 500])


def test_early_death_without_recovery_is_grade4() -> None:
    v = {d: 2500.0 for d in range(-5, 0)}
    v.update({d: 300.0 for d in range(0, 9)})
    ev = pd.DataFrame({"day": [0, 9], "event": ["infusion", "death"]})
    r = early(series(v), ev)
    assert r.early_grade == 4
    # the same course without a death is graded on its duration
    assert early(series(v)).early_grade == 2


@pytest.mark.parametrize(
    ("nadirs", "grade"),
    [((1600, 1700), 0), ((1400, 1500), 1), ((900, 1000), 2), ((400, 500), 3), ((50, 100), 4)],
)
def test_late_grades_from_confirmed_nadir(nadirs: tuple[float, float], grade: int) -> None:
    v = {d: 2500.0 for d in range(-5, 101)}
    v[40], v[50] = nadirs
    r = early(series(v))
    assert r.late_grade == grade


def test_late_single_transient_value_not_graded_and_window_ends_at_next_therapy() -> None:
    v = {d: 2500.0 for d in range(-5, 101)}
    v[40] = 50
    assert early(series(v)).late_grade == 0  # one value is not a confirmed nadir
    v[70] = 80
    assert early(series(v)).late_grade == 4
    ev = pd.DataFrame({"day": [60], "event": ["next_therapy"]})
    r = early(series(v), ev)
    assert r.late_window_end == 59 and r.late_grade == 0


@pytest.mark.parametrize(
    ("analyte", "value", "points"),
    [
        ("plt", 175.01, 0),
        ("plt", 175, 1),
        ("plt", 75, 1),
        ("plt", 74.99, 2),
        ("anc", 1200, 0),
        ("anc", 1199.9, 1),
        ("hb", 9.0, 0),
        ("hb", 8.99, 1),
        ("crp", 2.99, 0),
        ("crp", 3.0, 1),
        ("ferritin", 649.9, 0),
        ("ferritin", 650, 1),
        ("ferritin", 2000, 1),
        ("ferritin", 2000.1, 2),
    ],
)
def test_car_hematotox_point_boundaries(analyte: str, value: float, points: int) -> None:
    assert hematotox.POINTS[analyte](value) == points


def test_car_hematotox_latest_value_and_missing_input() -> None:
    labs = pd.DataFrame(
        [
            ("p", -9, "plt", 300.0),
            ("p", -2, "plt", 60.0),
            ("p", -2, "anc", 1000.0),
            ("p", -2, "hb", 8.0),
            ("p", -2, "crp", 4.0),
            ("p", -2, "ferritin", 2500.0),
            ("p", 3, "plt", 10.0),
        ],
        columns=["patient", "day", "analyte", "value"],
    )
    r = hematotox.score(labs, (-10, -1))
    assert r.score == 7 and r.risk == "high" and r.points["plt"] == 2
    r = hematotox.score(labs[labs["analyte"] != "hb"], (-10, -1))
    assert r.score is None and r.missing == ["hb"]
    assert hematotox.score(labs, (-10, -5)).missing == ["anc", "hb", "crp", "ferritin"]


def _pre_and_post_chemo_labs() -> pd.DataFrame:
    """Day -5 (before lymphodepletion): CAR-HEMATOTOX 2; day 0 (after it): 5."""
    rows = [
        ("p", -5, "plt", 150.0),  # 1
        ("p", -5, "anc", 1000.0),  # 1
        ("p", -5, "hb", 10.0),
        ("p", -5, "crp", 1.0),
        ("p", -5, "ferritin", 500.0),
        ("p", -5, "ldh", 200.0),
        ("p", -5, "creatinine", 1.0),
        ("p", 0, "plt", 60.0),  # 2
        ("p", 0, "anc", 1000.0),  # 1
        ("p", 0, "hb", 8.0),  # 1
        ("p", 0, "crp", 4.0),  # 1
        ("p", 0, "ferritin", 500.0),
        ("p", 0, "ldh", 400.0),
        ("p", 0, "creatinine", 1.0),
    ]
    units = {"plt": "10^9/L", "anc": "/uL", "hb": "g/dL", "crp": "mg/dL", "ferritin": "ng/mL"}
    units |= {"ldh": "U/L", "creatinine": "mg/dL"}
    df = pd.DataFrame(rows, columns=["patient", "day", "analyte", "value"])
    return df.assign(unit=df["analyte"].map(units))


def test_car_hematotox_uses_values_before_lymphodepletion() -> None:
    """Issue 25: day-0 labs after chemotherapy score 5; the day -5 values give 2, with
    the lymphodepletion event and, by the default window, without it (then said to be
    assumed)."""
    labs = _pre_and_post_chemo_labs()
    assert hematotox.score(labs, (-10, 0)).score == 5  # the old default window
    ld = pd.DataFrame(
        [("p", -5, "lymphodepletion", None, "Flu/Cy"), ("p", 0, "infusion", None, "")],
        columns=["patient", "day", "event", "grade", "regimen"],
    )
    with_event, *_ = patient_scores("p", labs, ld, ClinicalParams())
    assert with_event["car_hematotox_score"] == 2
    assert with_event["car_hematotox_inputs"].count("@d-5") == 5
    assert "Flu/Cy" in with_event["baseline_basis"]
    assert "assumed" not in with_event["baseline_basis"]
    assert with_event["easix_baseline"] == pytest.approx(200 * 1.0 / 150)
    without, *_ = patient_scores("p", labs, ld[ld["event"] == "infusion"], ClinicalParams())
    assert without["car_hematotox_score"] == 2
    assert "assumed on day -5" in without["baseline_basis"]
    # no events table at all: the same default window
    assert patient_scores("p", labs, None, ClinicalParams())[0]["car_hematotox_score"] == 2
    # an earlier start moves the window: day -5 values are then after it
    early = ld.assign(day=[-7, 0])
    row, *_ = patient_scores("p", labs, early, ClinicalParams())
    assert row["car_hematotox_score"] is None and "before lymphodepletion" in row["status"]


def test_default_baseline_window_ends_before_infusion() -> None:
    from marrowtox.settings import section_defaults

    first, last = section_defaults("clinical")["baseline_window"]
    assert last < 0 and first <= last
    assert ClinicalParams().baseline_window == (first, last)


@pytest.mark.parametrize(
    ("rows", "column", "text"),
    [
        ([("p", -5, "lymphodepletion", ""), ("p", -4, "lymphodepletion", "")], "event", "second"),
        ([("p", 0, "lymphodepletion", "")], "day", "on or after the infusion"),
        ([("p", 3, "steroids", "Flu/Cy")], "regimen", "carries a regimen"),
    ],
)
def test_lymphodepletion_rows_are_checked(rows: list, column: str, text: str) -> None:
    from marrowtox.clinical.events import validate_events

    df = pd.DataFrame(rows, columns=["patient", "day", "event", "regimen"]).assign(grade=None)
    with pytest.raises(InputError) as info:
        validate_events(df, "events.tsv")
    assert info.value.column == column and text in info.value.detail
    assert info.value.row == len(rows) + 1


def test_lymphodepletion_event_with_regimen_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "events.tsv").write_text(
        "patient\tday\tevent\tgrade\tregimen\nP1\t-5\tlymphodepletion\t\tFlu/Cy\n"
        "P1\t0\tinfusion\t\t\n"
    )
    _, _, events = load_clinical_tables(None, tmp_path / "events.tsv", None, ["P1"])
    assert list(events["event"]) == ["lymphodepletion", "infusion"]


def test_easix_family_values() -> None:
    assert easix.easix(250.0, 1.1, 150.0) == pytest.approx(250 * 1.1 / 150, abs=1e-9)
    assert easix.m_easix(250.0, 2.5, 150.0) == pytest.approx(250 * 2.5 / 150, abs=1e-9)
    assert easix.s_easix(250.0, 150.0) == pytest.approx(5 / 3, abs=1e-9)
    labs = pd.DataFrame(
        [(-3, "ldh", 300.0), (-3, "creatinine", 1.2), (-3, "plt", 80.0), (-3, "crp", 2.0)],
        columns=["day", "analyte", "value"],
    )
    v = easix.at(labs, (-10, -1))
    assert v["easix"] == pytest.approx(4.5, abs=1e-9)
    assert v["log2_easix"] == pytest.approx(np.log2(4.5), abs=1e-9)
    assert v["m_easix"] == pytest.approx(7.5, abs=1e-9)


def test_units_convert_and_reject(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "patient": ["p"] * 5,
            "day": [0] * 5,
            "analyte": ["anc", "crp", "hb", "creatinine", "plt"],
            "value": [0.8, 25.0, 95.0, 88.4, 150000.0],
            "unit": ["10^9/L", "mg/L", "g/L", "umol/L", "/uL"],
        }
    )
    validate_labs(df, "labs.tsv")
    n = normalise_labs(df).set_index("analyte")["value"]
    assert n["anc"] == pytest.approx(800) and n["crp"] == pytest.approx(2.5)
    assert (
        n["hb"] == pytest.approx(9.5)
        and n["creatinine"] == pytest.approx(1.0)
        and n["plt"] == pytest.approx(150)
    )
    for analyte, value, unit, col in [
        ("anc", 5.0, "mmol/L", "unit"),
        ("neutrophils", 5.0, "/uL", "analyte"),
        ("anc", -1.0, "/uL", "value"),
        ("anc", 2e6, "/uL", "value"),
    ]:
        bad = pd.DataFrame(
            {"patient": ["p"], "day": [0], "analyte": [analyte], "value": [value], "unit": [unit]}
        )
        with pytest.raises(InputError) as info:
            validate_labs(bad, "labs.tsv")
        assert info.value.column == col and info.value.row == 2


def iec(labs: list[tuple[int, str, float]], events: list[tuple[int, str, float | None]] | None):
    """IEC-HS flag of one patient with the schema's default limits."""
    lab_df = pd.DataFrame(labs, columns=["day", "analyte", "value"])
    ev = None if events is None else pd.DataFrame(events, columns=["day", "event", "grade"])
    return assess(lab_df, ev, ClinicalParams().iec_hs_limits())


RESOLVED_CRS = [(1, "crs", 2), (5, "crs_resolved", None)]


def test_iec_hs_flag_needs_second_criterion() -> None:
    base = [(0, "ferritin", 500.0), (10, "ferritin", 1500.0)]
    assert iec(base, RESOLVED_CRS)[0] == "no"
    flag, reason = iec(base + [(10, "fibrinogen", 120.0)], RESOLVED_CRS)
    assert flag == "candidate" and "not a diagnosis" in reason


def test_iec_hs_ferritin_600_with_ldh_just_above_uln_during_grade1_crs_is_not_flagged() -> None:
    """The case of issue 25: ferritin 600 ng/mL and LDH just above ULN during grade-1
    CRS. The timing criterion of clinical-definitions.md (onset as CRS resolves or after
    initial improvement) is not met, and 600 is not above 2x the ULN (300); the old
    code flagged it from the 2x-infusion-value rule alone."""
    labs = [(0, "ferritin", 250.0), (2, "ferritin", 600.0), (2, "ldh", 260.0)]
    flag, reason = iec(labs, [(1, "crs", 1), (6, "crs_resolved", None)])
    assert flag == "no" and "during active CRS" in reason


def test_iec_hs_new_rise_after_crs_resolves_is_flagged() -> None:
    """The must-flag side: the same patient whose ferritin rises to 2400 after CRS
    resolved (day 6), with LDH above ULN then."""
    labs = [
        (0, "ferritin", 250.0),
        (2, "ferritin", 600.0),
        (2, "ldh", 260.0),
        (9, "ferritin", 2400.0),
        (9, "ldh", 400.0),
    ]
    flag, reason = iec(labs, [(1, "crs", 1), (6, "crs_resolved", None)])
    assert flag == "candidate", reason
    assert "CRS resolved on day 6" in reason and "LDH > ULN" in reason


def test_iec_hs_after_initial_improvement_and_worsening_only() -> None:
    # improvement: grade 3 on day 2, grade 1 on day 4 -> window from day 4
    labs = [(0, "ferritin", 300.0), (5, "ferritin", 3000.0), (5, "fibrinogen", 100.0)]
    flag, reason = iec(labs, [(2, "crs", 3), (4, "crs", 1)])
    assert flag == "candidate" and "CRS improved on day 4" in reason
    # ferritin high during CRS and falling after it: no new onset or worsening
    labs = [(0, "ferritin", 300.0), (3, "ferritin", 5000.0), (8, "ferritin", 2000.0)]
    assert iec(labs + [(8, "fibrinogen", 100.0)], RESOLVED_CRS)[0] == "no"
    # second criterion only during CRS: not with the rise after it
    labs = [(0, "ferritin", 300.0), (8, "ferritin", 2000.0), (2, "fibrinogen", 100.0)]
    assert iec(labs, RESOLVED_CRS)[0] == "no"


def test_iec_hs_without_a_timed_crs_is_not_assessable_and_uln_counts() -> None:
    labs = [(8, "ferritin", 700.0), (8, "alt", 250.0)]  # no infusion value: 2x ULN 300
    flag, reason = iec(labs, [(1, "crs", 2)])
    assert flag == "not assessable" and "crs_resolved" in reason
    assert iec(labs, None)[0] == "not assessable"
    # events but no CRS: nothing to resolve, the window starts after infusion
    flag, reason = iec(labs, [(-5, "lymphodepletion", None)])
    assert flag == "candidate" and "2x ULN 300" in reason and "ALT > 5x ULN" in reason
    # new cytopenia after resolution, platelets fine before
    labs = [(0, "ferritin", 200.0), (7, "ferritin", 900.0), (3, "plt", 90.0), (8, "plt", 30.0)]
    flag, reason = iec(labs, RESOLVED_CRS)
    assert flag == "candidate" and "cytopenia" in reason


def test_demo_planted_grades_reproduced(tmp_path: Path) -> None:
    from marrowtox.demo import clinical as demo_clinical
    from marrowtox.demo.cohort import COHORT

    demo_clinical.generate(tmp_path, 7)
    patients, labs, events = load_clinical_tables(
        tmp_path / "labs.tsv", tmp_path / "events.tsv", None, None
    )
    cohort = run_clinical(patients, labs, events, tmp_path / "out", ClinicalParams()).set_index(
        "patient"
    )
    truth = pd.read_csv(tmp_path / "truth" / "clinical.tsv", sep="\t").set_index("patient")
    for plan in COHORT:
        row = cohort.loc[plan.patient]
        assert row["icaht_early_grade"] == plan.icaht_early_grade, plan.patient
        assert row["icaht_late_grade"] == plan.icaht_late_grade, plan.patient
        assert row["car_hematotox_risk"] == plan.hematotox_risk, plan.patient
        for col in (
            "car_hematotox_score",
            "days_anc_le_500_d0_30",
            "days_anc_le_100_d0_30",
            "crs_max_grade",
            "icans_max_grade",
            "iec_hs_flag",
        ):
            assert row[col] == truth.loc[plan.patient, col], (plan.patient, col)
        # every demo CRS has a crs_resolved row: IEC-HS is assessable (issue 25)
        assert row["iec_hs_flag"] != "not assessable", (plan.patient, row["iec_hs_reason"])
        assert "CRS resolved" in row["iec_hs_reason"] or "never above" in row["iec_hs_reason"]
        assert row["easix_baseline"] == pytest.approx(
            truth.loc[plan.patient, "easix_baseline"], rel=1e-5
        )
    assert (tmp_path / "out" / "P05.anc_grid.tsv").exists()


def test_patient_without_labs_is_explained(tmp_path: Path) -> None:
    cohort = run_clinical(["X1"], None, None, tmp_path, ClinicalParams())
    assert cohort.loc[0, "status"].startswith("no labs for this patient")
    assert pd.isna(cohort.loc[0, "icaht_early_grade"])


# ---- panel analytes, specimens and censored values (issue 19) ----------------------


def _labs_file(tmp_path: Path, rows: list[str]) -> Path:
    p = tmp_path / "labs.tsv"
    head = "patient\tday\tanalyte\tvalue\tunit\tspecimen\tlloq\n"
    p.write_text(head + "".join(r + "\n" for r in rows), encoding="utf-8")
    return p


def _read_labs(p: Path) -> pd.DataFrame:
    from marrowtox.samplesheet import load_schema, read_table

    return read_table(p, load_schema("labs.schema.yaml"), "labs")


def test_panel_aliases_specimens_and_censored_values_pass_validation(tmp_path: Path) -> None:
    p = _labs_file(
        tmp_path,
        [
            "P1\t-5\tIL-6\t<5\tpg/mL\t\t",
            "P1\t1\tIFN-gamma\t<LLOQ\tpg/mL\tmarrow_plasma\t2",
            "P1\t1\tAng-2\t>20000\tpg/mL\tserum\t",
            "P1\t1\tanc\t0.5\t10^9/L\t\t",
            "P1\t2\tIL6\t12\tng/L\tserum\t",
        ],
    )
    df = _read_labs(p)
    validate_labs(df, p)
    n = normalise_labs(df)
    # marrow plasma is not a blood value: not in the clinical step's table
    assert "ifng" not in set(n["analyte"])
    il6 = n[n["analyte"] == "il6"].set_index("day")
    assert np.isnan(il6.loc[-5, "value"]) and il6.loc[-5, "censor"] == "left"
    assert il6.loc[-5, "limit"] == 5.0 and il6.loc[2, "value"] == 12.0
    assert il6.loc[2, "censor"] == ""
    ang2 = n[n["analyte"] == "ang2"].iloc[0]
    assert ang2["censor"] == "right" and np.isnan(ang2["value"]) and ang2["limit"] == 20000
    assert n.loc[n["analyte"] == "anc", "value"].iloc[0] == pytest.approx(500)


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "column", "words"),
    [
        ("anc", "<0.1", "10^9/L", "value", ("censored value '<0.1' for anc", "ICAHT")),
        ("plt", ">1000", "10^9/L", "value", ("plt", "EASIX")),
        ("IL-66", "5", "pg/mL", "analyte", ("unknown analyte 'IL-66'", "closest known name")),
        ("Angiopoetin-2", "5", "pg/mL", "analyte", ("closest known name", "(ang2)")),
        ("il6", "5", "mg/L", "unit", ("not accepted for il6", "pg/mL")),
        ("il6", "<LLOQ", "pg/mL", "value", ("needs its limit in the lloq column",)),
        ("il6", "<=5", "pg/mL", "value", ("'<=' / '>='",)),
        ("il6", "five", "pg/mL", "value", ("cannot read 'five'",)),
    ],
)
def test_lab_input_errors_name_row_column_and_fix(
    tmp_path: Path, analyte: str, value: str, unit: str, column: str, words: tuple[str, ...]
) -> None:
    p = _labs_file(
        tmp_path, ["P1\t0\tanc\t1500\t/uL\t\t", f"P1\t1\t{analyte}\t{value}\t{unit}\t\t"]
    )
    with pytest.raises(InputError) as info:
        validate_labs(_read_labs(p), p)
    assert info.value.row == 3 and info.value.column == column
    assert str(p) in str(info.value)
    for w in words:
        assert w in str(info.value), (w, str(info.value))


def test_unknown_specimen_is_refused_by_the_schema(tmp_path: Path) -> None:
    p = _labs_file(tmp_path, ["P1\t0\til6\t5\tpg/mL\tmarrow\t"])
    with pytest.raises(InputError) as info:
        _read_labs(p)
    assert info.value.column == "specimen" and "marrow_plasma" in str(info.value)


def test_biomarker_trajectory_never_uses_a_censored_value_as_a_number() -> None:
    labs = pd.DataFrame(
        [
            (-9, "il6", 4.0, ""),
            (-5, "il6", np.nan, "left"),  # latest baseline: censored
            (1, "il6", 40.0, ""),
            (3, "il6", 90.0, ""),
            (-5, "ang2", 1000.0, ""),
            (1, "ang2", 3000.0, ""),
            (3, "ang2", np.nan, "right"),  # above the assay range: the peak is unknown
        ],
        columns=["day", "analyte", "value", "censor"],
    ).assign(unit="pg/mL")
    t = biomarkers.trajectories("P1", labs).set_index("biomarker")
    assert pd.isna(t.loc["il6", "baseline"]) and pd.isna(t.loc["il6", "fold_change"])
    assert t.loc["il6", "peak"] == 90.0 and t.loc["il6", "n_censored"] == 1
    assert t.loc["ang2", "baseline"] == 1000.0 and pd.isna(t.loc["ang2", "peak"])


# ---- several values of one analyte on one day (issue 25 item 4) --------------------


def _labs_with_two_anc(tmp_path: Path, policy: str | None = None) -> dict:
    (tmp_path / "samples.tsv").write_text(
        "patient\tsample\tassay\ttimepoint\tday\tpath\nP1\tS1\tscrna\tBL\t-7\tx.h5\n"
    )
    (tmp_path / "labs.tsv").write_text(
        "patient\tday\tanalyte\tvalue\tunit\n"
        "P1\t3\tanc\t40\t/uL\n"
        "P1\t3\tANC\t0.9\t10^9/L\n"
        "P1\t4\tcrp\t5\tmg/dL\n"
        "P1\t4\tcrp\t50\tmg/L\n"
    )
    config: dict = {"samples": str(tmp_path / "samples.tsv"), "labs": str(tmp_path / "labs.tsv")}
    if policy:
        config["clinical"] = {"same_day_values": policy}
    return config


def test_same_day_values_warn_naming_rows_and_rule(tmp_path: Path) -> None:
    """ANC 40 and 900 on one day: a warning naming both rows, the values and the value
    the scores use (the lowest); the same CRP written in two units: a duplicate."""
    from marrowtox.inputs import load_all

    tables = load_all(_labs_with_two_anc(tmp_path), check_files=False)
    conflict = [w for w in tables.warnings if "anc" in w]
    assert len(conflict) == 1 and "rows 2, 3" in conflict[0]
    assert "40, 900 /uL" in conflict[0] and "the lowest (40)" in conflict[0]
    dup = [w for w in tables.warnings if "crp" in w]
    assert len(dup) == 1 and "identical" in dup[0] and "rows 4, 5" in dup[0]


def test_same_day_values_refused_when_configured(tmp_path: Path) -> None:
    from marrowtox.inputs import load_all

    with pytest.raises(InputError) as info:
        load_all(_labs_with_two_anc(tmp_path, "refuse"), check_files=False)
    assert info.value.row == 3 and info.value.column == "value"
    assert "rows 2, 3" in info.value.detail and "40, 900" in info.value.detail


def test_same_day_values_scores_use_the_most_adverse() -> None:
    """ICAHT's grid takes the day's lowest ANC; EASIX the day's highest LDH."""
    labs = pd.DataFrame(
        [(-5, "ldh", 200.0), (-5, "ldh", 400.0), (-5, "creatinine", 1.0), (-5, "plt", 100.0)],
        columns=["day", "analyte", "value"],
    )
    assert easix.at(labs, (-10, -5))["easix"] == pytest.approx(4.0)
    grid = daily_grid(pd.DataFrame({"day": [0, 0], "value": [40.0, 900.0]}), 0, 0)
    assert float(grid.loc[grid["day"] == 0, "anc"].iloc[0]) == 40.0


# ---- smaller faults (issue 25 item 6) ---------------------------------------------


def _events_tsv(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "events.tsv"
    p.write_text(text)
    return p


def test_event_names_case_insensitive_with_aliases(tmp_path: Path) -> None:
    p = _events_tsv(
        tmp_path,
        "patient\tday\tevent\tgrade\nP1\t-5\tLD\t\nP1\t0\tInfusion\t\nP1\t2\tCRS\t2\nP1\t9\tG-CSF\t\n",
    )
    _, _, events = load_clinical_tables(None, p, None, ["P1"])
    assert list(events["event"]) == ["lymphodepletion", "infusion", "crs", "gcsf"]


def test_grade_message_is_about_grades(tmp_path: Path) -> None:
    p = _events_tsv(tmp_path, "patient\tday\tevent\tgrade\nP1\t2\tcrs\tG2\n")
    with pytest.raises(InputError) as info:
        load_clinical_tables(None, p, None, ["P1"])
    assert info.value.column == "grade" and "'G2'" in str(info.value)
    assert "ASTCT" in info.value.expected and "-7" not in info.value.expected


def test_missing_grade_column_is_named_missing(tmp_path: Path) -> None:
    p = _events_tsv(tmp_path, "patient\tday\tevent\nP1\t0\tinfusion\nP1\t2\tcrs\n")
    with pytest.raises(InputError) as info:
        load_clinical_tables(None, p, None, ["P1"])
    assert info.value.column == "grade" and info.value.row == 1
    assert "column 'grade' is missing" in info.value.detail and "(empty)" not in str(info.value)


@pytest.mark.parametrize(
    ("analyte", "value", "unit", "canonical"),
    [
        ("anc", 800.0, "cells/mm3", 800.0),
        ("ANC", 800.0, "/mm3", 800.0),
        ("anc", 800.0, "/µL", 800.0),
        ("crp", 25.0, "mg/l", 2.5),
        ("plt", 150.0, "g/l", 150.0),
        ("Hb", 9.5, "G/DL", 9.5),
    ],
)
def test_units_case_insensitive_with_aliases(
    analyte: str, value: float, unit: str, canonical: float
) -> None:
    df = pd.DataFrame(
        {"patient": ["p"], "day": [0], "analyte": [analyte], "value": [value], "unit": [unit]}
    )
    validate_labs(df, "labs.tsv")
    assert normalise_labs(df)["value"].iloc[0] == pytest.approx(canonical)


def test_messages_show_values_without_python_reprs() -> None:
    """'(first: np.float64(2.1))' was printed for a unit-scale error."""
    df = pd.DataFrame(
        {
            "patient": ["p"] * 30,
            "day": list(range(30)),
            "analyte": ["anc"] * 30,
            "value": np.linspace(2.1, 6.0, 30),
            "unit": ["/uL"] * 30,
        }
    )
    with pytest.raises(InputError) as info:
        validate_labs(df, "labs.tsv")
    assert "(first: 2.1)" in str(info.value) and "np." not in str(info.value)
    bad = df.iloc[:1].assign(value=np.float64(-1.5))
    with pytest.raises(InputError) as info:
        validate_labs(bad, "labs.tsv")
    assert "-1.5" in str(info.value) and "np." not in str(info.value)


def test_relative_config_paths_named_with_their_resolved_path(tmp_path: Path, monkeypatch) -> None:
    from marrowtox.inputs import load_all

    (tmp_path / "samples.tsv").write_text(
        "patient\tsample\tassay\ttimepoint\tday\tpath\nP1\tS1\tscrna\tBL\t-7\tx.h5\n"
    )
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        load_all({"samples": "samples.tsv", "labs": "tables/labs.tsv"}, check_files=False)
    assert str(tmp_path / "tables" / "labs.tsv") in str(info.value)
    assert "relative to the working directory" in str(info.value)
