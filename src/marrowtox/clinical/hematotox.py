"""CAR-HEMATOTOX (Rejeski et al., Blood 2021;138:2499), measured before lymphodepletion.

| variable | 0 | 1 | 2 |  platelets (10^9/L) > 175 | 75-175 | < 75; ANC (/uL) >= 1200 | < 1200;
hemoglobin (g/dL) >= 9.0 | < 9.0; CRP (mg/dL) < 3.0 | >= 3.0; ferritin (ng/mL) < 650 |
650-2000 | > 2000. Score 0-7; low risk 0-1, high risk >= 2.
Boundaries: platelets exactly 175 and exactly 75 score 1 (the 75-175 band is closed);
ferritin exactly 650 and exactly 2000 score 1 (closed band).
Baseline value: the latest value before lymphodepletion (clinical-definitions.md,
CAR-HEMATOTOX: values after it reflect the chemotherapy, not the patient's reserve), in
the window of `pre_lymphodepletion` (the `lymphodepletion` event of events.tsv, or the
configured default window with the start assumed); several values on that day: the
most adverse one (lowest count, highest CRP/ferritin), so a repeat draw cannot lower
the risk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

INPUTS = ("plt", "anc", "hb", "crp", "ferritin")
#: Analytes whose adverse direction is high (the rest: low is adverse). LDH and
#: creatinine are here for EASIX (higher is worse), which reads baseline_value too.
ADVERSE_HIGH = frozenset({"crp", "ferritin", "ldh", "creatinine"})


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


@dataclass(frozen=True)
class PreLymphodepletion:
    """The days whose labs are "before lymphodepletion" for one patient, and why."""

    window: tuple[int, int]
    start: int
    assumed: bool
    regimen: str | None = None

    def text(self) -> str:
        """One sentence for the report and scores.tsv (`baseline_basis`)."""
        first, last = self.window
        if self.assumed:
            return (
                f"lymphodepletion start not in events.tsv: assumed on day {self.start} "
                f"(clinical.baseline_window); baseline values from day {first} to {last}"
            )
        regimen = f" ({self.regimen})" if self.regimen else ""
        return (
            f"lymphodepletion{regimen} started on day {self.start} (events.tsv); baseline "
            f"values from day {first} to {last}"
        )


def pre_lymphodepletion(
    events: pd.DataFrame | None, default_window: tuple[int, int], lookback: int
) -> PreLymphodepletion:
    """Window of pre-lymphodepletion values (clinical-definitions.md, CAR-HEMATOTOX).

    With a `lymphodepletion` event: `lookback` days before its start up to the start
    day itself (labs of the start day are drawn before the first dose). Without it: the
    configured default window, whose last day is the assumed start (standard day -5);
    the report says it was assumed, because values drawn during the chemotherapy
    would score the chemotherapy rather than the patient's marrow reserve."""
    ld = None
    if events is not None and not events.empty and "event" in events:
        ld = events[events["event"] == "lymphodepletion"]
    if ld is None or ld.empty:
        return PreLymphodepletion(tuple(default_window), int(default_window[1]), True)
    start = int(ld["day"].min())
    regimen = None
    if "regimen" in ld:
        r = ld.loc[ld["day"] == start, "regimen"].dropna().astype(str).str.strip()
        regimen = next((x for x in r if x), None)
    return PreLymphodepletion((start - lookback, start), start, False, regimen)


@dataclass
class HematotoxResult:
    score: int | None
    risk: str | None
    points: dict[str, int] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def score(labs: pd.DataFrame, window: tuple[int, int]) -> HematotoxResult:
    """Score from canonical-unit labs of one patient in the pre-lymphodepletion
    `window` (pre_lymphodepletion); not computed if any input is missing."""
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
