"""Demo labs and events: blood-count courses built to reach planted ICAHT grades.

Each patient's daily ANC is laid out as explicit runs (baseline, decline, days at or
below 500 and 100/uL, recovery, late dips), with values kept away from the grading
thresholds so gap interpolation cannot move a grade. Baseline CAR-HEMATOTOX inputs
give the planted risk group. Units are mixed on purpose (ANC /uL and 10^9/L, CRP
mg/dL and mg/L, Hb g/dL and g/L, creatinine mg/dL and umol/L) so unit conversion is
exercised. Planted values go to truth/clinical.tsv.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from marrowtox.atomic import write_tsv
from marrowtox.demo.cohort import COHORT, rng


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
        events.append((p, 0, "infusion", ""))
        crs = {"P01": 1, "P02": 1, "P03": 2, "P04": 2, "P05": 3, "P06": 2}[p]
        events.append((p, 2, "crs", crs))
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
        # CAR-HEMATOTOX uses the latest value in day -10..0: for ANC that is day 0
        score = hematotox_points({**b, "anc": anc[0]})
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
        })
        assert (score >= 2) == (plan.hematotox_risk == "high"), p
    labs_df = pd.DataFrame(labs, columns=["patient", "day", "analyte", "value", "unit"])
    labs_df = labs_df.sort_values(["patient", "day", "analyte"], kind="stable")
    write_tsv(labs_df, out / "labs.tsv")
    ev = pd.DataFrame(events, columns=["patient", "day", "event", "grade"])
    write_tsv(ev.sort_values(["patient", "day"], kind="stable"), out / "events.tsv")
    (out / "truth").mkdir(exist_ok=True)
    write_tsv(pd.DataFrame(truth), out / "truth" / "clinical.tsv")
