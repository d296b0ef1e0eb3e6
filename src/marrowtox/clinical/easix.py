"""EASIX family (Pennisi et al., Blood Adv 2021;5:3397; Korell et al., Front Immunol 2022).

EASIX = LDH (U/L) x creatinine (mg/dL) / platelets (10^9/L); m-EASIX uses CRP (mg/dL)
instead of creatinine; s-EASIX = LDH / platelets. Reported with log2. A published
cut-off: EASIX > 4.67 before lymphodepletion (Korell 2022).
Timepoints: baseline (latest values in the baseline window, each analyte separately),
day 0 and days +1..+3 (values of that day).
"""

from __future__ import annotations

import math

import pandas as pd

from marrowtox.clinical.hematotox import baseline_value

EASIX_CUTOFF = 4.67


def easix(ldh: float, creatinine: float, platelets: float) -> float:
    return ldh * creatinine / platelets


def m_easix(ldh: float, crp: float, platelets: float) -> float:
    return ldh * crp / platelets


def s_easix(ldh: float, platelets: float) -> float:
    return ldh / platelets


def _log2(v: float | None) -> float | None:
    return math.log2(v) if v is not None and v > 0 else None


def at(labs: pd.DataFrame, window: tuple[int, int]) -> dict[str, float | None]:
    """EASIX, m-EASIX, s-EASIX and log2 from the latest values within `window`."""
    vals = {a: baseline_value(labs, a, window) for a in ("ldh", "creatinine", "crp", "plt")}
    v = {k: (x[0] if x else None) for k, x in vals.items()}
    out: dict[str, float | None] = {"easix": None, "m_easix": None, "s_easix": None}
    if v["ldh"] is not None and v["plt"]:
        out["s_easix"] = s_easix(v["ldh"], v["plt"])
        if v["creatinine"] is not None:
            out["easix"] = easix(v["ldh"], v["creatinine"], v["plt"])
        if v["crp"] is not None:
            out["m_easix"] = m_easix(v["ldh"], v["crp"], v["plt"])
    out["log2_easix"] = _log2(out["easix"])
    out["log2_m_easix"] = _log2(out["m_easix"])
    out["log2_s_easix"] = _log2(out["s_easix"])
    return out
