"""IEC-HS candidate flag (Hines et al., TCT 2023;29:438.e1): a prompt for review.

The rule is shared/docs/clinical-definitions.md, section IEC-HS: flag when ferritin
rises above 2x the upper limit of normal or 2x its value at infusion *as CRS resolves
or after initial improvement*, with at least one of: transaminases > 5x ULN,
fibrinogen < 150 mg/dL, LDH > ULN, creatinine > 1.5x baseline, new or worsening
cytopenia. The flag is not a diagnosis: the report says so.

How the parts are read (docs/cohort-stats.md, "IEC-HS"):

- Timing. The CRS course comes from events.tsv: CRS improves on the first later `crs`
  row with a lower grade than the peak, and resolves on a `crs_resolved` row; the
  earlier of the two starts the IEC-HS window. Hyperinflammation during active CRS is
  CRS, not IEC-HS, so only values from that day on count, and ferritin must be a new
  onset (never above the limit before) or a worsening (above every value before). A
  patient with events but no CRS has nothing to resolve: the window starts after
  infusion. CRS with neither improvement nor resolution recorded, or no events at all,
  cannot be timed: "not assessable" when the laboratory criteria are met.
- The second criterion is sought in the same window (it accompanies the ferritin rise).
- New or worsening cytopenia: platelets or ANC in the window below the configured
  cytopenia limit and below every value of that analyte from infusion to the window.
- "and/or rises fast" is not quantified by the definition and is not used.

ULNs and cytopenia limits are laboratory-specific: config `clinical` (schema
workflow/schemas/config.clinical.schema.yaml).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# Fixed by the definition (clinical-definitions.md, IEC-HS), not laboratory-specific.
FERRITIN_FOLD = 2.0
TRANSAMINASE_FOLD = 5.0
FIBRINOGEN_BELOW = 150.0  # mg/dL
CREATININE_FOLD = 1.5
REVIEW = "prompt for review, not a diagnosis"


@dataclass(frozen=True)
class Limits:
    """Laboratory limits the IEC-HS prompt compares against (config `clinical`)."""

    ldh_uln: float
    transaminase_uln: float
    ferritin_uln: float
    cytopenia_plt: float  # 10^9/L
    cytopenia_anc: float  # /uL


@dataclass(frozen=True)
class CrsTiming:
    """First day of the IEC-HS window (None: cannot be timed) and how it was found."""

    start: int | None
    basis: str


def crs_timing(events: pd.DataFrame | None) -> CrsTiming:
    """The day CRS first improves or resolves (clinical-definitions.md, IEC-HS timing)."""
    if events is None or events.empty:
        return CrsTiming(None, "no events recorded, so the CRS course is unknown")
    crs = events[events["event"] == "crs"].sort_values("day")
    resolved = events.loc[events["event"] == "crs_resolved", "day"]
    if crs.empty:
        if not resolved.empty:
            return CrsTiming(int(resolved.min()), f"CRS resolved on day {int(resolved.min())}")
        return CrsTiming(1, "no CRS recorded, so the window starts after infusion")
    grades = crs["grade"].astype(float)
    peak_day = int(crs.loc[grades.idxmax(), "day"])
    later = crs[(crs["day"] > peak_day) & (grades < grades.max())]
    days = []
    if not later.empty:
        days.append((int(later["day"].min()), "CRS improved"))
    if not resolved.empty:
        days.append((int(resolved.min()), "CRS resolved"))
    if not days:
        return CrsTiming(
            None,
            "CRS improvement or resolution not recorded (a crs_resolved row or a later "
            "crs row of lower grade in events.tsv gives it)",
        )
    day, what = min(days)
    return CrsTiming(day, f"{what} on day {day}")


def _values(labs: pd.DataFrame, analyte: str, first: int, last: float) -> pd.Series:
    sel = (labs["analyte"] == analyte) & (labs["day"] >= first) & (labs["day"] <= last)
    return labs.loc[sel, "value"].astype(float)


def _latest_at_infusion(labs: pd.DataFrame, analyte: str) -> float | None:
    v = labs[(labs["analyte"] == analyte) & (labs["day"] <= 0)].sort_values("day")
    return float(v["value"].iloc[-1]) if not v.empty else None


def ferritin_rise(labs: pd.DataFrame, start: int, uln: float) -> str | None:
    """Ferritin above 2x ULN or 2x its infusion value, new or worsening from `start`."""
    at_infusion = _latest_at_infusion(labs, "ferritin")
    limits = [FERRITIN_FOLD * uln] + ([FERRITIN_FOLD * at_infusion] if at_infusion else [])
    limit = min(limits)
    window = _values(labs, "ferritin", start, float("inf"))
    before = _values(labs, "ferritin", 1, start - 1)
    above_before = before[before > limit]
    rise = window[(window > limit) & (window > (above_before.max() if len(above_before) else 0))]
    if rise.empty:
        return None
    basis = f"2x ULN {uln:g}" if limit == FERRITIN_FOLD * uln else f"2x infusion {at_infusion:g}"
    return f"ferritin {rise.max():g} ng/mL > {limit:g} ({basis})"


def second_criteria(labs: pd.DataFrame, start: int, limits: Limits) -> list[str]:
    """The accompanying criteria met from `start` on (clinical-definitions.md, IEC-HS)."""
    inf = float("inf")
    found = []
    for t in ("alt", "ast"):
        if (_values(labs, t, start, inf) > TRANSAMINASE_FOLD * limits.transaminase_uln).any():
            found.append(f"{t.upper()} > 5x ULN ({limits.transaminase_uln:g} U/L)")
    if (_values(labs, "fibrinogen", start, inf) < FIBRINOGEN_BELOW).any():
        found.append("fibrinogen < 150 mg/dL")
    if (_values(labs, "ldh", start, inf) > limits.ldh_uln).any():
        found.append(f"LDH > ULN ({limits.ldh_uln:g} U/L)")
    c0 = _latest_at_infusion(labs, "creatinine")
    if c0 is not None and (_values(labs, "creatinine", start, inf) > CREATININE_FOLD * c0).any():
        found.append("creatinine > 1.5x baseline")
    for analyte, limit in (("plt", limits.cytopenia_plt), ("anc", limits.cytopenia_anc)):
        window = _values(labs, analyte, start, inf)
        before = _values(labs, analyte, 1, start - 1)
        floor = min(limit, before.min()) if not before.empty else limit
        if (window < floor).any():
            found.append(f"new or worsening cytopenia ({analyte.upper()} < {floor:g})")
    return found


def assess(labs: pd.DataFrame, events: pd.DataFrame | None, limits: Limits) -> tuple[str, str]:
    """Return (flag, reason): flag is 'candidate', 'no' or 'not assessable'."""
    if labs[labs["analyte"] == "ferritin"].empty:
        return "not assessable", "no ferritin value"
    timing = crs_timing(events)
    # the laboratory criteria at any time after infusion: if they are never met, the
    # answer is "no" whatever the CRS course
    rise_any = ferritin_rise(labs, 1, limits.ferritin_uln)
    if rise_any is None:
        return "no", "ferritin never above 2x ULN or 2x its value at infusion"
    if not second_criteria(labs, 1, limits):
        return "no", f"{rise_any} without a second criterion"
    if timing.start is None:
        return "not assessable", f"{rise_any} with a second criterion, but {timing.basis}"
    rise = ferritin_rise(labs, timing.start, limits.ferritin_uln)
    if rise is None:
        return "no", (
            f"ferritin rise only during active CRS ({timing.basis}; no new or worsening "
            "rise after it)"
        )
    second = second_criteria(labs, timing.start, limits)
    if not second:
        return "no", f"{rise} after {timing.basis} without a second criterion then"
    return "candidate", f"{rise} after {timing.basis} with {'; '.join(second)} ({REVIEW})"
