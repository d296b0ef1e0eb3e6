"""Endothelial and inflammatory biomarker trajectories (Moreno-Castano et al., JITC 2023).

No validated CAR T cut-offs exist, so values are summarised, not thresholded: baseline
(latest before infusion), peak after infusion, day of peak, fold change from baseline
and its log2. Ang-2/Ang-1 is derived per day where both were measured.

Censored values (marrowtox.clinical.units.normalise_labs: value NaN, censor "left" /
"right") are never replaced by their limit: a censored latest pre-infusion value leaves
the baseline missing (not the one before it); a right-censored value after infusion
leaves the peak missing (it lies above the limit, by how much is unknown); the peak is
the highest observed value otherwise, missing if all are censored. A day with a
censored Ang-1 or Ang-2 has no ratio. `n_censored` counts the censored values.
"""

from __future__ import annotations

import math

import pandas as pd

BIOMARKERS = (
    "ang1",
    "ang2",
    "ang2_ang1",
    "vwf",
    "sc5b9",
    "svcam1",
    "stm",
    "d_dimer",
    "fibrinogen",
    "il6",
    "ferritin",
    "crp",
)
COLUMNS = [
    "patient",
    "biomarker",
    "unit",
    "baseline",
    "baseline_day",
    "peak",
    "peak_day",
    "fold_change",
    "log2_fold_change",
    "n_values",
    "n_censored",
]


def _censor(labs: pd.DataFrame) -> pd.Series:
    if "censor" not in labs.columns:
        return pd.Series("", index=labs.index)
    return labs["censor"].fillna("").astype(str)


def with_ratio(labs: pd.DataFrame) -> pd.DataFrame:
    labs = labs.assign(censor=_censor(labs))
    cens = labs[labs["censor"] != ""]
    a1 = labs[labs["analyte"] == "ang1"].groupby("day")["value"].mean()
    a2 = labs[labs["analyte"] == "ang2"].groupby("day")["value"].mean()
    # a censored Ang-1 or Ang-2 that day: no ratio (the mean would skip it silently)
    bad = set(cens.loc[cens["analyte"].isin(["ang1", "ang2"]), "day"])
    a1 = a1[~a1.index.isin(sorted(bad))]
    both = a1.index.intersection(a2.index)
    ratio = pd.DataFrame(
        {
            "day": both,
            "analyte": "ang2_ang1",
            "value": (a2[both] / a1[both]).to_numpy(),
            "unit": "ratio",
            "censor": "",
        }
    )
    return pd.concat(
        [labs[["day", "analyte", "value", "unit", "censor"]], ratio], ignore_index=True
    )


def trajectories(patient: str, labs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    allv = with_ratio(labs)
    for b in BIOMARKERS:
        sub = allv[allv["analyte"] == b].sort_values("day")
        if sub.empty:
            continue
        pre = sub[sub["day"] <= 0]
        post = sub[sub["day"] > 0]
        base = pre.iloc[-1] if not pre.empty else None
        if base is not None and base["censor"] != "":
            base = None  # censored: unknown, not the limit and not an older value
        seen = post[post["censor"] == ""]
        peak = None
        if not seen.empty and not (post["censor"] == "right").any():
            peak = seen.loc[seen["value"].idxmax()]
        fc = None
        if base is not None and peak is not None and base["value"] > 0:
            fc = float(peak["value"] / base["value"])
        rows.append(
            {
                "patient": patient,
                "biomarker": b,
                "unit": sub["unit"].iloc[0],
                "baseline": None if base is None else float(base["value"]),
                "baseline_day": None if base is None else int(base["day"]),
                "peak": None if peak is None else float(peak["value"]),
                "peak_day": None if peak is None else int(peak["day"]),
                "fold_change": fc,
                "log2_fold_change": math.log2(fc) if fc else None,
                "n_values": len(sub),
                "n_censored": int((sub["censor"] != "").sum()),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
