"""CAR-HEMATOTOX (Rejeski et al., Blood 2021;138:2499), measured before lymphodepletion.

| variable | 0 | 1 | 2 |  platelets (10^9/L) > 175 | 75-175 | < 75; ANC (/uL) >= 1200 | < 1200;
hemoglobin (g/dL) >= 9.0 | < 9.0; CRP (mg/dL) < 3.0 | >= 3.0; ferritin (ng/mL) < 650 |
650-2000 | > 2000. Score 0-7; low risk 0-1, high risk >= 2.
Boundaries: platelets exactly 175 and exactly 75 score 1 (the 75-175 band is closed);
ferritin exactly 650 and exactly 2000 score 1 (closed band).
Baseline value: the latest value in the window (default day -10..0); several values on
that day: the most adverse one (lowest count, highest CRP/ferritin), so a repeat draw
cannot lower the risk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

INPUTS = ("plt", "anc", "hb", "crp", "ferritin")
ADVERSE_HIGH = {"crp", "ferritin"}


def points_platelets(v: float) -> int:
    return 0 if v > 175 else (1 if v >= 75 else 2)


def points_anc(v: float) -> int:
    return 0 if v >= 1200 else 1


def points_hb(v: float) -> int:
    return 0 if v >= 9.0 else 1


def points_crp(v: float) -> int:
    return 0 if v < 3.0 else 1


def points_ferritin(v: float) -> int:
    return 0 if v < 650 else (1 if v <= 2000 else 2)


POINTS = {
    "plt": points_platelets,
    "anc": points_anc,
    "hb": points_hb,
    "crp": points_crp,
    "ferritin": points_ferritin,
}


def baseline_value(
    labs: pd.DataFrame, analyte: str, window: tuple[int, int]
) -> tuple[float, int] | None:
    """Latest value of `analyte` in the window (most adverse on that day), with its day."""
    sub = labs[
        (labs["analyte"] == analyte) & (labs["day"] >= window[0]) & (labs["day"] <= window[1])
    ]
    if sub.empty:
        return None
    day = int(sub["day"].max())
    vals = sub.loc[sub["day"] == day, "value"]
    return (float(vals.max()) if analyte in ADVERSE_HIGH else float(vals.min())), day


@dataclass
class HematotoxResult:
    score: int | None
    risk: str | None
    points: dict[str, int] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def score(labs: pd.DataFrame, window: tuple[int, int] = (-10, 0)) -> HematotoxResult:
    """Score from canonical-unit labs of one patient; not computed if any input is missing."""
    res = HematotoxResult(None, None)
    for a in INPUTS:
        got = baseline_value(labs, a, window)
        if got is None:
            res.missing.append(a)
            continue
        v, d = got
        res.points[a] = POINTS[a](v)
        res.inputs[a] = f"{v:g}@d{d}"
    if not res.missing:
        res.score = sum(res.points.values())
        res.risk = "high" if res.score >= 2 else "low"
    return res
