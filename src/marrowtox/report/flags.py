"""The flag row of a patient report: what a reader should look at first.

Each flag is derived from a result table with a rule written down here, so a flag can
be checked by hand against the numbers shown further down the same report. A flag is
a prompt for review, never a diagnosis.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from marrowtox.report.names import Names

CLONE_KEY = ["chrom", "pos", "ref", "alt"]
EXPANSION_FOLD = 2.0
HEMATOTOX_ITEMS = {
    "plt": ("platelets", "10^9/L"),
    "anc": ("ANC", "/uL"),
    "hb": ("hemoglobin", "g/dL"),
    "crp": ("CRP", "mg/dL"),
    "ferritin": ("ferritin", "ng/mL"),
}


@dataclass(frozen=True)
class Flag:
    """One flag: `level` is "high" (red), "warn" (amber) or "info" (neutral)."""

    level: str
    title: str
    text: str


def _pct(v: float) -> str:
    return f"{100 * float(v):.2f}%"


def clone_trajectory(g: pd.DataFrame, names: Names) -> str:
    """'1.83% (BL day -7) → 5.91% (D28 day 28)', undetected points with their LOD."""
    parts = []
    for _, r in g.sort_values("day").iterrows():
        where = names.short(r["sample"])
        if pd.isna(r["vaf"]):
            parts.append(f"no coverage ({where})")
        elif bool(r["detected"]):
            parts.append(f"{_pct(r['vaf'])} ({where})")
        else:
            lod = "" if pd.isna(r["lod_vaf"]) else f" {_pct(r['lod_vaf'])}"
            parts.append(f"not detected, LOD{lod} ({where})")
    return " → ".join(parts)


def classify_clone(g: pd.DataFrame) -> str | None:
    """ "expanding", "emergent" or None for one clone's rows (one per DNA timepoint).

    expanding: detected at every timepoint, the VAF rises from each timepoint to the
      next (so with two timepoints one rise, with three two consecutive rises), the
      last VAF is at least 2x the first, and the rise is beyond sampling noise (the 95%
      intervals of the first and last VAF do not overlap). A 2-fold rise is large
      against the ~10-20% relative spread of a VAF at panel depth, and requiring every
      step to rise keeps one noisy timepoint from calling an expansion.
    emergent: not detected at the first timepoint (the baseline marrow, day <= 0) with a
      limit of detection there below the VAF it later reached, and detected at a later
      timepoint. If the baseline LOD was above the later VAF, its absence at baseline
      was not measurable and the clone is not called emergent.
    Timepoints without coverage (VAF missing) make both calls impossible.
    """
    r = g.sort_values("day")
    if len(r) < 2 or r["vaf"].isna().any():
        return None
    det = r["detected"].astype(bool).to_numpy()
    vaf = r["vaf"].astype(float).to_numpy()
    first, last = r.iloc[0], r.iloc[-1]
    if det.all():
        rising = bool((vaf[1:] > vaf[:-1]).all())
        if (
            rising
            and vaf[-1] >= EXPANSION_FOLD * vaf[0]
            and float(last["vaf_ci_low"]) > float(first["vaf_ci_high"])
        ):
            return "expanding"
        return None
    if not det[0] and int(first["day"]) <= 0 and det[1:].any():
        later = float(r.loc[r["detected"].astype(bool), "vaf"].max())
        if not pd.isna(first["lod_vaf"]) and float(first["lod_vaf"]) < later:
            return "emergent"
    return None


def clone_flags(clones: pd.DataFrame | None, names: Names) -> list[Flag]:
    if clones is None or clones.empty:
        return []
    out = []
    for _, g in clones.groupby(CLONE_KEY, sort=False):
        kind = classify_clone(g)
        if kind is None:
            continue
        c = g.iloc[0]
        protein = c["hgvsp_short"] if isinstance(c.get("hgvsp_short"), str) else ""
        out.append(
            Flag(
                "high" if kind == "expanding" else "warn",
                f"{kind} clone: {c['gene']} {protein}".strip(),
                clone_trajectory(g, names),
            )
        )
    return out


def _items(spec: object) -> dict[str, str]:
    """'plt=2;anc=1' -> {'plt': '2', 'anc': '1'} (empty cells give {})."""
    if not isinstance(spec, str) or not spec:
        return {}
    return dict(p.split("=", 1) for p in spec.split(";") if "=" in p)


def hematotox_flag(scores: pd.DataFrame | None) -> Flag | None:
    """CAR-HEMATOTOX high (score >= 2), naming each item that scored, with its value."""
    if scores is None or scores.empty:
        return None
    s = scores.iloc[0]
    if pd.isna(s.get("car_hematotox_score")):
        missing = s.get("car_hematotox_missing")
        why = missing if isinstance(missing, str) and missing else "inputs missing"
        return Flag("info", "CAR-HEMATOTOX not computed", f"missing: {why}")
    if s.get("car_hematotox_risk") != "high":
        return None
    points, inputs = _items(s.get("car_hematotox_points")), _items(s.get("car_hematotox_inputs"))
    scored = []
    for key, pts in points.items():
        if float(pts) <= 0:
            continue
        name, unit = HEMATOTOX_ITEMS.get(key, (key, ""))
        value, _, day = inputs.get(key, "").partition("@d")
        at = f" {value} {unit} on day {day}" if value else ""
        scored.append(f"{name}{at} ({pts} point{'s' if float(pts) != 1 else ''})")
    return Flag(
        "high",
        f"CAR-HEMATOTOX high: {int(float(s['car_hematotox_score']))} points (high risk: >= 2)",
        "; ".join(scored) or "no item scored",
    )


def iec_hs_flag(scores: pd.DataFrame | None) -> Flag | None:
    if scores is None or scores.empty or scores.iloc[0].get("iec_hs_flag") != "candidate":
        return None
    reason = scores.iloc[0].get("iec_hs_reason")
    return Flag(
        "high",
        "IEC-HS: review",
        (reason if isinstance(reason, str) else "")
        + ("" if "not a diagnosis" in str(reason) else " (prompt for review, not a diagnosis)"),
    )


def icaht_flag(scores: pd.DataFrame | None) -> Flag | None:
    """Severe ICAHT (early or late grade >= 3): the outcome the other flags may explain."""
    if scores is None or scores.empty:
        return None
    s = scores.iloc[0]
    grades = {
        w: (None if pd.isna(s.get(f"icaht_{w}_grade")) else int(s[f"icaht_{w}_grade"]))
        for w in ("early", "late")
    }
    severe = [f"{w} grade {g}" for w, g in grades.items() if g is not None and g >= 3]
    if not severe:
        return None
    d500 = s.get("days_anc_le_500_d0_30")
    extra = "" if pd.isna(d500) else f"; {int(d500)} days of ANC <= 500/uL in day 0-30"
    return Flag("high", "severe ICAHT", ", ".join(severe) + extra)


def patient_flags(
    clones: pd.DataFrame | None, scores: pd.DataFrame | None, has_dna: bool, names: Names
) -> tuple[list[Flag], list[str]]:
    """The flags, and one line per check that found nothing or could not run (so an
    empty flag row says what was checked, not only that nothing was found)."""
    flags: list[Flag] = []
    quiet: list[str] = []
    f = icaht_flag(scores)
    flags += [f] if f else []
    cf = clone_flags(clones, names)
    flags += cf
    if not has_dna:
        quiet.append("clones: not measured (no DNA sample)")
    elif clones is None:
        quiet.append("clones: not measured (no clone table)")
    elif not cf:
        quiet.append("no expanding or emergent clone")
    if scores is None:
        quiet.append("IEC-HS and CAR-HEMATOTOX: not measured (no clinical scores)")
        return flags, quiet
    f = iec_hs_flag(scores)
    if f:
        flags.append(f)
    else:
        quiet.append(f"IEC-HS: {scores.iloc[0].get('iec_hs_flag') or 'not flagged'}")
    f = hematotox_flag(scores)
    if f:
        flags.append(f)
    elif not pd.isna(scores.iloc[0].get("car_hematotox_score")):
        quiet.append(
            f"CAR-HEMATOTOX {int(float(scores.iloc[0]['car_hematotox_score']))} "
            f"({scores.iloc[0]['car_hematotox_risk']} risk)"
        )
    return flags, quiet


def car_t_clone_flags(ccs: list) -> list[Flag]:
    """A clone called carrier in CAR T cells (the CAR product carries the clone; a TET2
    clone in CAR T cells: Fraietta et al., Nature 2018). `ccs`: CloneCells of the
    patient's clones (marrowtox.report.clone_cells.fractions)."""
    return [
        Flag("high", f"clone in CAR T cells: {c.label}", "; ".join(c.in_car_t))
        for c in ccs
        if c.in_car_t
    ]
