"""Demo labs and events: blood-count courses built to reach planted ICAHT grades.

Each patient's daily ANC is laid out as explicit runs (baseline, decline, days at or
below 500 and 100/uL, recovery, late dips), with values kept away from the grading
thresholds so gap interpolation cannot move a grade. Baseline CAR-HEMATOTOX inputs
give the planted risk group. Units are mixed on purpose (ANC /uL and 10^9/L, CRP
mg/dL and mg/L, Hb g/dL and g/L, creatinine mg/dL and umol/L) so unit conversion is
exercised. Planted values go to truth/clinical.tsv.

For the cohort statistics (issue 19) two things are added without touching a single
existing value (their random numbers come from separate streams, `rng(seed, 4)` and
`rng(seed, 5)`):

* rows of the 6-patient demo: marrow-plasma IFN-gamma at each marrow timepoint, planted
  to rise with the marrow inflammation (and so fall with the day-28 platelets), serum
  IL-10 censored below its limit ("<5") in the milder courses, and outcomes after day
  100 (P05 a non-relapse death, P06 progression and a relapse death);
* a larger clinical-only cohort in cohort_stats/ (labs.tsv, events.tsv; its patients
  have no marrow samples) with the planted truth in truth/cohort_stats.tsv: Ang-2 at
  days 1-3 separates CRS grade >= 3, IL-2 at days 1-3 is a null marker, marrow-plasma
  IFN-gamma at day 28 is inversely related to the day-28 platelets, IL-6 is censored
  "<LLOQ" (lloq 5) and Ang-2 above 10000 (">10000"), and deaths of both kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from marrowtox.atomic import FLOAT_FORMAT, write_tsv
from marrowtox.demo.cohort import COHORT, TIMEPOINT_DAYS, rng


@dataclass(frozen=True)
class Course:
    """Days of neutropenia within day 0-30 and the late course."""

    le500_start: int  # first day with ANC <= 500 (0 = none)
    le500_days: int  # consecutive days <= 500
    le100_days: int  # consecutive days <= 100, centred in the <= 500 run
    late_nadirs: tuple[float, float]  # two lowest ANC values in day 31-100 (/uL)
    baseline: dict[str, float]  # CAR-HEMATOTOX inputs at baseline, canonical units
    anc_unit: str = "/uL"


COURSES: dict[str, Course] = {
    # grade 0: never <= 500
    "P01": Course(0, 0, 0, (2600, 2900), {"plt": 250, "anc": 3500, "hb": 12.5, "crp": 0.5, "ferritin": 300}),
    # grade 1: 4 days <= 500
    "P02": Course(5, 4, 0, (2100, 2300), {"plt": 150, "anc": 2800, "hb": 11.0, "crp": 1.0, "ferritin": 400}, "10^9/L"),
    # grade 2: 10 days <= 500; late grade 1 (<= 1500)
    "P03": Course(3, 10, 0, (1250, 1300), {"plt": 200, "anc": 1500, "hb": 9.5, "crp": 2.0, "ferritin": 700}),
    # grade 3 by duration: 18 days <= 500 (only 3 days <= 100)
    "P04": Course(2, 18, 3, (1800, 2000), {"plt": 120, "anc": 1100, "hb": 10.0, "crp": 1.0, "ferritin": 500}),
    # grade 4 by depth: 16 days <= 100; late grade 3 (<= 500)
    "P05": Course(1, 26, 16, (350, 420), {"plt": 60, "anc": 900, "hb": 8.5, "crp": 4.0, "ferritin": 2500}),
    # grade 3 by depth: 9 days <= 100 within 12 days <= 500; late grade 2 (<= 1000)
    "P06": Course(2, 12, 9, (800, 900), {"plt": 80, "anc": 1500, "hb": 8.8, "crp": 3.5, "ferritin": 1500}, "10^9/L"),
}
#: Days missing from the daily ANC series (short gaps in flat stretches).
MISSING_DAYS = {"P01": (12, 13, 14), "P03": (20, 21), "P05": (9, 10), "P06": (25,)}
NEXT_THERAPY = {"P06": 85}
#: lymphodepleting regimen of the patients with a lymphodepletion row (day -5)
LYMPHODEPLETION = {"P01": "Flu/Cy", "P02": "Flu/Cy", "P03": "bendamustine", "P04": "Flu/Cy"}
#: CRS onset (day) and days until it resolves, by maximum ASTCT grade: the `crs_resolved`
#: row times the IEC-HS window (clinical-definitions.md, IEC-HS); without it the flag is
#: "not assessable". Higher grades last longer (median CRS duration ~5-7 days in the
#: pivotal CAR T trials; the demo only needs a plausible order).
CRS_ONSET = 2
CRS_DAYS = {1: 3, 2: 5, 3: 7, 4: 9}


def hematotox_points(b: dict[str, float]) -> int:
    """CAR-HEMATOTOX (Rejeski, Blood 2021) points, used here only to write the truth."""
    plt = 0 if b["plt"] > 175 else (1 if b["plt"] >= 75 else 2)
    anc = 0 if b["anc"] >= 1200 else 1
    hb = 0 if b["hb"] >= 9.0 else 1
    crp = 0 if b["crp"] < 3.0 else 1
    fer = 0 if b["ferritin"] < 650 else (1 if b["ferritin"] <= 2000 else 2)
    return plt + anc + hb + crp + fer


def anc_series(c: Course, r: np.random.Generator) -> dict[int, float]:
    """ANC (/uL) per day, -10..+100, following the course with small noise."""
    out: dict[int, float] = {}
    base = c.baseline["anc"]
    for d in range(-10, 0):
        out[d] = base * float(r.uniform(0.95, 1.05)) if d != -5 else base
    s, n5, n1 = c.le500_start, c.le500_days, c.le100_days
    for d in range(0, 31):
        if n5 and s <= d < s + n5:
            k = d - s
            lo100 = (n5 - n1) // 2
            out[d] = float(r.uniform(30, 80)) if n1 and lo100 <= k < lo100 + n1 else float(r.uniform(200, 420))
        elif n5 and d < s:
            out[d] = max(700.0, base * (1 - (d + 1) / (s + 2)))
        elif n5:
            out[d] = float(min(700 + 120 * (d - s - n5), 3000) * r.uniform(0.97, 1.03))
        else:
            out[d] = float(r.uniform(800, 1400))
    lo1, lo2 = c.late_nadirs
    dips = {45: lo1, 52: lo2}
    for d in range(31, 101):
        if d in dips:
            out[d] = dips[d]
        elif (d - 31) % 3 == 0:
            floor = max(lo2 + 150, 1600) if lo2 > 1500 else lo2 + 150
            out[d] = float(max(floor, 2500 * r.uniform(0.95, 1.05)) if d > 60 else floor + 100)
    return out


def generate(out: Path, seed: int) -> None:
    r = rng(seed, 2)
    labs: list[tuple] = []
    events: list[tuple] = []
    truth: list[dict] = []
    for plan in COHORT:
        p, c = plan.patient, COURSES[plan.patient]
        sev = plan.icaht_early_grade / 4.0
        anc = anc_series(c, r)
        end = NEXT_THERAPY.get(p, 101)
        for d, v in sorted(anc.items()):
            if d in MISSING_DAYS.get(p, ()) or d >= end:
                continue
            if c.anc_unit == "10^9/L":
                labs.append((p, d, "anc", round(v / 1000.0, 4), "10^9/L"))
            else:
                labs.append((p, d, "anc", round(v, 1), "/uL"))
        b = c.baseline
        # an older, different baseline value: the latest in the window must be used
        labs.append((p, -9, "plt", round(b["plt"] * 1.3, 1), "10^9/L"))
        labs.append((p, -5, "plt", b["plt"], "10^9/L"))
        hb_gl = p in ("P02", "P05")
        labs.append((p, -5, "hb", b["hb"] * 10 if hb_gl else b["hb"], "g/L" if hb_gl else "g/dL"))
        crp_mgl = p in ("P03", "P04", "P06")
        labs.append((p, -5, "crp", b["crp"] * 10 if crp_mgl else b["crp"], "mg/L" if crp_mgl else "mg/dL"))
        labs.append((p, -5, "ferritin", b["ferritin"], "ng/mL"))
        ldh0 = 180 + 250 * sev
        creat0 = 0.8 + 0.3 * sev
        easix = {}
        for d, f in ((-5, 1.0), (0, 1.1), (1, 1.3), (2, 1.5), (3, 1.6)):
            ldh = round(ldh0 * f * (1 + 0.4 * sev * (d > 0)), 1)
            creat = round(creat0 * (1 + 0.1 * sev * (d > 0)), 2)
            plt = round(b["plt"] * (1.0 if d <= 0 else 0.8 - 0.05 * d), 1)
            if p == "P04":
                umol = round(creat * 88.4, 1)
                labs.append((p, d, "creatinine", umol, "umol/L"))
                creat = umol / 88.4  # truth from the value as written
            else:
                labs.append((p, d, "creatinine", creat, "mg/dL"))
            labs.append((p, d, "ldh", ldh, "U/L"))
            if d >= 0:
                labs.append((p, d, "plt", plt, "10^9/L"))
            easix[d] = ldh * creat / plt if d != -5 else ldh * creat / b["plt"]
        for d in (7, 14, 21, 28, 60, 90):
            if d < end:
                labs.append((p, d, "plt", round(b["plt"] * (0.4 + 0.02 * d) * (1 - 0.4 * sev), 1), "10^9/L"))
                labs.append((p, d, "hb", round(b["hb"] * (0.9 + 0.001 * d), 2) * (10 if hb_gl else 1), "g/L" if hb_gl else "g/dL"))
        # endothelial and inflammatory biomarkers: peaks rise with toxicity
        markers = {
            "ang1": (8000, -0.4, "pg/mL"), "ang2": (1200, 1.5, "pg/mL"), "vwf": (110, 1.0, "%"),
            "sc5b9": (200, 1.4, "ng/mL"), "svcam1": (80, 2.0, "ng/mL"), "stm": (4, 0.8, "ng/mL"),
            "d_dimer": (0.5, 2.0, "mg/L FEU"), "fibrinogen": (300, 0.5, "mg/dL"), "il6": (5, 4.0, "pg/mL"),
            "ferritin": (b["ferritin"], 1.2, "ng/mL"), "crp": (b["crp"], 2.5, "mg/dL"),
        }
        for name, (base, gain, unit) in markers.items():
            for d, shape in ((1, 0.5), (3, 1.0), (7, 0.7), (14, 0.3), (28, 0.1)):
                v = base * np.exp(gain * sev * shape) * r.uniform(0.95, 1.05)
                if name == "crp" and crp_mgl:
                    labs.append((p, d, name, round(v * 10, 3), "mg/L"))
                else:
                    labs.append((p, d, name, round(float(v), 3), unit))
            if name not in ("ferritin", "crp"):
                labs.append((p, -5, name, round(base, 3), unit))
        # lymphodepletion recorded for P01-P04 (P05, P06: start assumed at the end of
        # clinical.baseline_window, as the report then says)
        if p in LYMPHODEPLETION:
            events.append((p, -5, "lymphodepletion", "", "", LYMPHODEPLETION[p]))
        events.append((p, 0, "infusion", ""))
        crs = {"P01": 1, "P02": 1, "P03": 2, "P04": 2, "P05": 3, "P06": 2}[p]
        events.append((p, CRS_ONSET, "crs", crs))
        events.append((p, CRS_ONSET + CRS_DAYS[crs], "crs_resolved", ""))
        if crs >= 2:
            events.append((p, 3, "tocilizumab", ""))
        icans = {"P05": 2, "P06": 1}.get(p)
        if icans:
            events.append((p, 5, "icans", icans))
        if icans and icans >= 2:
            events.append((p, 5, "steroids", ""))
        if plan.icaht_early_grade >= 3:
            events.append((p, 10, "gcsf", ""))
            events.append((p, 12, "transfusion", ""))
        if p in NEXT_THERAPY:
            events.append((p, NEXT_THERAPY[p], "next_therapy", ""))
        events.append((p, min(end - 1, 100), "last_follow_up", ""))
        # CAR-HEMATOTOX uses the latest value before lymphodepletion (day -5): the
        # baseline, not the day-0 count after chemotherapy
        score = hematotox_points({**b, "anc": anc[-5]})
        grid = [anc[d] for d in range(0, 31)]
        truth.append({
            "patient": p,
            "icaht_early_grade": plan.icaht_early_grade,
            "icaht_late_grade": plan.icaht_late_grade,
            "car_hematotox_score": score,
            "car_hematotox_risk": "high" if score >= 2 else "low",
            "days_anc_le_500_d0_30": sum(v <= 500 for v in grid),
            "days_anc_le_100_d0_30": sum(v <= 100 for v in grid),
            "easix_baseline": round(easix[-5], 6),
            "crs_max_grade": crs,
            "icans_max_grade": icans or 0,
            # ferritin peaks on day 3 (shape 1.0 above) and only falls after CRS
            # resolves: no new or worsening rise, so no IEC-HS candidate
            "iec_hs_flag": "no",
        })
        assert (score >= 2) == (plan.hematotox_risk == "high"), p
    labs_df = pd.DataFrame(labs, columns=["patient", "day", "analyte", "value", "unit"])
    # censored values are text: numbers formatted as write_tsv formats a float column
    labs_df["value"] = labs_df["value"].map(lambda v: FLOAT_FORMAT % v)
    extra_labs, extra_events = cohort_stats_rows(seed)
    labs_df["specimen"] = ""
    labs_df = pd.concat([labs_df, extra_labs[labs_df.columns]], ignore_index=True)
    events += extra_events
    labs_df = labs_df.sort_values(["patient", "day", "analyte"], kind="stable")
    write_tsv(labs_df, out / "labs.tsv")
    events = [(*e, *[""] * (6 - len(e))) for e in events]
    ev = pd.DataFrame(events, columns=["patient", "day", "event", "grade", "cause", "regimen"])
    write_tsv(ev.sort_values(["patient", "day"], kind="stable"), out / "events.tsv")
    (out / "truth").mkdir(exist_ok=True)
    write_tsv(pd.DataFrame(truth), out / "truth" / "clinical.tsv")
    stats_cohort(out, seed)


#: Outcomes of the 6-patient demo, after day 100 so that no ICAHT window moves:
#: (patient, day, event, cause). P06's progression is on its next-therapy day.
DEMO_OUTCOMES = (
    ("P05", 130, "death", "infection"),
    ("P06", 85, "progression", ""),
    ("P06", 150, "death", "relapse"),
)
#: Assay limits of the planted censored values (pg/mL).
IL10_LLOQ = 5.0
IFNG_MARROW_LLOQ = 2.0


def cohort_stats_rows(seed: int) -> tuple[pd.DataFrame, list[tuple]]:
    """New rows of the 6-patient demo (module docstring); own random stream."""
    r = rng(seed, 4)
    rows: list[tuple] = []
    for plan in COHORT:
        p = plan.patient
        end = NEXT_THERAPY.get(p, 101)
        sev = plan.icaht_early_grade / 4.0
        for tp in plan.timepoints:
            d = TIMEPOINT_DAYS[tp]
            if d >= end:
                continue
            if tp == "BL":
                v = 1.5 + 2.0 * plan.inflammation * float(r.uniform(0.9, 1.1))
            else:
                v = 8.0 * np.exp(3.0 * plan.inflammation) * float(r.uniform(0.95, 1.05))
            text = f"<{IFNG_MARROW_LLOQ:g}" if v < IFNG_MARROW_LLOQ else round(v, 3)
            rows.append((p, d, "ifng", text, "pg/mL", "marrow_plasma"))
        for d, shape in ((-5, 0.0), (1, 0.5), (3, 1.0), (7, 0.6)):
            v = 2.0 * np.exp(3.0 * sev * shape) * float(r.uniform(0.9, 1.1))
            text = f"<{IL10_LLOQ:g}" if v < IL10_LLOQ else round(v, 3)
            rows.append((p, d, "il10", text, "pg/mL", "serum"))
    labs = pd.DataFrame(rows, columns=["patient", "day", "analyte", "value", "unit", "specimen"])
    events = [(p, d, e, "", c) for p, d, e, c in DEMO_OUTCOMES]
    return labs, events


#: The clinical-only cohort of the cohort statistics: size and planted effects.
STATS_N = 80
#: P(CRS grade 0..4), a usual distribution after CD19 CAR T (grade >= 3 in ~15%).
CRS_GRADE_P = (0.25, 0.35, 0.25, 0.10, 0.05)
ANG2_ULOQ = 10000.0
IL6_LLOQ = 5.0


def stats_cohort(out: Path, seed: int, n: int = STATS_N) -> None:
    """cohort_stats/labs.tsv, cohort_stats/events.tsv and truth/cohort_stats.tsv."""
    r = rng(seed, 5)
    labs: list[tuple] = []
    events: list[tuple] = []
    truth: list[dict] = []
    grades = r.choice(5, size=n, p=CRS_GRADE_P)
    for i in range(n):
        p, g = f"C{i + 1:03d}", int(grades[i])
        severe = g >= 3
        events.append((p, 0, "infusion", "", ""))
        onset = int(r.integers(1, 5))
        if g:
            events.append((p, onset, "crs", g, ""))
        if g >= 2 and r.random() < 0.4:
            events.append((p, onset + 3, "icans", int(r.integers(1, 4)), ""))
        # Ang-2 (serum, days 1-3): ~3-fold higher in CRS >= 3; the top few above the ULOQ
        for d in (1, 3):
            v = 2500.0 * np.exp(1.1 * severe + r.normal(0, 0.35))
            text = f">{ANG2_ULOQ:g}" if v > ANG2_ULOQ else round(float(v), 1)
            labs.append((p, d, "Ang-2", text, "pg/mL", "serum", ""))
        labs.append(
            (p, -5, "Ang-2", round(float(2000.0 * np.exp(r.normal(0, 0.3))), 1), "pg/mL", "", "")
        )
        # IL-2 (serum, days 1-3): independent of everything (the null marker)
        labs.append(
            (p, 2, "IL-2", round(float(np.exp(r.normal(2.0, 0.6))), 2), "pg/mL", "serum", "")
        )
        # IL-6 at baseline: mostly below the assay's LLOQ, given as <LLOQ with the limit
        v = float(np.exp(r.normal(1.2, 0.8)))
        labs.append(
            (p, -5, "IL-6", "<LLOQ" if v < IL6_LLOQ else round(v, 2), "pg/mL", "", IL6_LLOQ)
        )
        # day 28 marrow: IFN-gamma in marrow plasma up, platelets down, one latent factor
        z = float(r.normal())
        ifng = 12.0 * np.exp(0.9 * z + r.normal(0, 0.3))
        plt = 140.0 * np.exp(-0.45 * z + r.normal(0, 0.15))
        labs.append(
            (
                p,
                28,
                "IFN-gamma",
                "<2" if ifng < 2 else round(float(ifng), 2),
                "pg/mL",
                "marrow_plasma",
                "",
            )
        )
        labs.append((p, 28, "plt", round(float(plt), 1), "10^9/L", "", ""))
        # outcomes: relapse (then maybe death from it), non-relapse death, or alive
        u = r.random()
        if u < 0.15:
            cause, day = (
                "infection" if r.random() < 0.6 else "non_relapse",
                int(r.integers(20, 300)),
            )
            events.append((p, day, "death", "", cause))
            outcome = "nrm"
        elif u < 0.45:
            prog = int(r.integers(60, 300))
            events.append((p, prog, "progression", "", ""))
            if r.random() < 0.5:
                day = prog + int(r.integers(20, 150))
                events.append((p, day, "death", "", "relapse"))
                outcome = "relapse_death"
            else:
                day = prog + int(r.integers(30, 200))
                events.append((p, day, "last_follow_up", "", ""))
                outcome = "relapse_alive"
        else:
            day = int(r.integers(200, 540))
            events.append((p, day, "last_follow_up", "", ""))
            outcome = "alive"
        truth.append(
            {
                "patient": p,
                "crs_max_grade": g,
                "ang2_planted_shift": 1.1 * severe,
                "day28_latent": round(z, 6),
                "outcome": outcome,
                "outcome_day": day,
            }
        )
    d = out / "cohort_stats"
    d.mkdir(exist_ok=True)
    lab_cols = ["patient", "day", "analyte", "value", "unit", "specimen", "lloq"]
    write_tsv(
        pd.DataFrame(labs, columns=lab_cols).sort_values(["patient", "day"], kind="stable"),
        d / "labs.tsv",
    )
    ev_cols = ["patient", "day", "event", "grade", "cause"]
    write_tsv(
        pd.DataFrame(events, columns=ev_cols).sort_values(["patient", "day"], kind="stable"),
        d / "events.tsv",
    )
    (out / "truth").mkdir(exist_ok=True)
    write_tsv(pd.DataFrame(truth), out / "truth" / "cohort_stats.tsv")
