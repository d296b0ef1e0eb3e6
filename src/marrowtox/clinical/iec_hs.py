"""IEC-HS candidate flag (Hines et al., TCT 2023;29:438.e1): a prompt for review.

Flag when ferritin rises above 2x its value at infusion (latest value on or before
day 0) after infusion, together with at least one of: fibrinogen < 150 mg/dL, LDH
above the upper limit of normal, creatinine > 1.5x baseline, transaminases > 5x ULN,
or new/worsening cytopenia (platelets < 50 x 10^9/L after day 14). The flag is not a
diagnosis: the report says so. The ULNs are configurable (defaults: LDH 250 U/L,
ALT/AST 40 U/L).
"""

from __future__ import annotations

import pandas as pd


def assess(
    labs: pd.DataFrame, ldh_uln: float = 250.0, transaminase_uln: float = 40.0
) -> tuple[str, str]:
    """Return (flag, reason): flag is 'candidate', 'no' or 'not assessable'."""
    fer = labs[labs["analyte"] == "ferritin"]
    base = fer[fer["day"] <= 0]
    post = fer[fer["day"] > 0]
    if base.empty or post.empty:
        return "not assessable", "ferritin before and after infusion needed"
    ref = float(base.sort_values("day")["value"].iloc[-1])
    if float(post["value"].max()) <= 2 * ref:
        return "no", "ferritin never above 2x its value at infusion"
    post_labs = labs[labs["day"] > 0]
    reasons = []

    def any_post(analyte: str, cond) -> bool:
        v = post_labs.loc[post_labs["analyte"] == analyte, "value"]
        return bool(cond(v).any()) if not v.empty else False

    if any_post("fibrinogen", lambda v: v < 150):
        reasons.append("fibrinogen < 150 mg/dL")
    if any_post("ldh", lambda v: v > ldh_uln):
        reasons.append(f"LDH > ULN ({ldh_uln:g} U/L)")
    cre = labs[(labs["analyte"] == "creatinine") & (labs["day"] <= 0)]
    if not cre.empty:
        c0 = float(cre.sort_values("day")["value"].iloc[-1])
        if any_post("creatinine", lambda v: v > 1.5 * c0):
            reasons.append("creatinine > 1.5x baseline")
    for t in ("alt", "ast"):
        if any_post(t, lambda v: v > 5 * transaminase_uln):
            reasons.append(f"{t.upper()} > 5x ULN")
    late_plt = labs[(labs["analyte"] == "plt") & (labs["day"] > 14)]["value"]
    if (late_plt < 50).any():
        reasons.append("platelets < 50 after day 14")
    if reasons:
        return "candidate", "ferritin > 2x infusion value with " + "; ".join(
            reasons
        ) + " (prompt for review, not a diagnosis)"
    return "no", "ferritin rise without a second criterion"
