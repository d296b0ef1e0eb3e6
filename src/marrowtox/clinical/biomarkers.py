"""Endothelial and inflammatory biomarker trajectories (Moreno-Castano et al., JITC 2023).

No validated CAR T cut-offs exist, so values are summarised, not thresholded: baseline
(latest before infusion), peak after infusion, day of peak, fold change from baseline
and its log2. Ang-2/Ang-1 is derived per day where both were measured.
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
]


def with_ratio(labs: pd.DataFrame) -> pd.DataFrame:
    a1 = labs[labs["analyte"] == "ang1"].groupby("day")["value"].mean()
    a2 = labs[labs["analyte"] == "ang2"].groupby("day")["value"].mean()
    both = a1.index.intersection(a2.index)
    ratio = pd.DataFrame(
        {
            "day": both,
            "analyte": "ang2_ang1",
            "value": (a2[both] / a1[both]).to_numpy(),
            "unit": "ratio",
        }
    )
    return pd.concat([labs[["day", "analyte", "value", "unit"]], ratio], ignore_index=True)


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
        peak = post.loc[post["value"].idxmax()] if not post.empty else None
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
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
