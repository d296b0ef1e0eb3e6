"""Per-timepoint marrow values of one patient: CAR T %, HSPC %, composition, QC.

Every scRNA marrow sample of the patient is a row, in day order, not only the first
after infusion: the point of a per-patient report is the course over time. Values are
read from the per-sample result tables; a missing table gives a row that says why,
never a zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from marrowtox.report.html import fmt
from marrowtox.report.inputs import Results, read_tsv
from marrowtox.report.names import Names

IFNG = "HALLMARK_INTERFERON_GAMMA_RESPONSE"
QC_KEYS = (
    "sample",
    "day",
    "before",
    "after",
    "fails",
    "doublets",
    "final",
    "counts",
    "genes",
    "top20",
    "mt",
    "nmads",
    "note",
)


@dataclass
class Timepoint:
    """One marrow scRNA sample; None = not measured (`note` says why)."""

    sample: str
    label: str
    timepoint: str
    day: int
    n_cells: int | None = None
    n_hspc: int | None = None
    hspc_pct: float | None = None
    n_t: int | None = None
    n_car_t: int | None = None
    car_pct_of_cells: float | None = None
    car_pct_of_t: float | None = None
    car_threshold: float | None = None
    car_pct_of_t_est: float | None = None  # corrected for sensitivity and ambient
    car_pct_of_t_lo: float | None = None
    car_pct_of_t_hi: float | None = None
    hspc_ifng: float | None = None
    hspc_ifng_n: int | None = None
    is_reference: bool = False
    note: str = ""


def _num(v: object) -> float | None:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if f != f else f


def timepoints(scrna: pd.DataFrame, res: Results, names: Names) -> list[Timepoint]:
    """One Timepoint per scRNA sample row of `scrna` (sample, timepoint, day)."""
    out = []
    for s, tp, d in scrna.sort_values("day")[["sample", "timepoint", "day"]].itertuples(
        index=False
    ):
        t = Timepoint(str(s), names.sample(s), str(tp), int(d))
        notes = []
        comp = read_tsv(res.composition(s))
        if comp is None or comp["n_cells"].sum() == 0:
            notes.append("no composition table")
        else:
            t.n_cells = int(comp["n_cells"].sum())
            t.n_hspc = int(comp.loc[comp["is_hspc"].astype(bool), "n_cells"].sum())
            t.hspc_pct = 100.0 * t.n_hspc / t.n_cells
        cart = read_tsv(res.cart(s))
        if cart is None:
            notes.append("CAR T: no CAR T table")
        else:
            c = cart.iloc[0]
            t.n_t = None if _num(c.get("n_t_cells")) is None else int(c["n_t_cells"])
            if c.get("car_status") not in ("measured", "not detected"):
                notes.append(f"CAR T: {c.get('car_status')}")
            else:
                t.car_pct_of_t_est = _num(c.get("car_t_pct_of_t_est"))
                t.car_pct_of_t_lo = _num(c.get("car_t_pct_of_t_lo"))
                t.car_pct_of_t_hi = _num(c.get("car_t_pct_of_t_hi"))
                if c.get("car_status") == "not detected":
                    notes.append("CAR T: not detected")
                t.n_car_t = None if _num(c.get("n_car_t")) is None else int(c["n_car_t"])
                t.car_pct_of_cells = _num(c.get("car_t_pct_of_cells"))
                t.car_pct_of_t = _num(c.get("car_t_pct_of_t"))
                t.car_threshold = _num(c.get("car_threshold"))
                if t.car_pct_of_t is None:
                    notes.append("CAR T % of T: no T cells")
        sig = read_tsv(res.signatures(s))
        if sig is not None:
            hit = sig[(sig["cell_type"] == "HSPC") & (sig["gene_set"] == IFNG)]
            if not hit.empty:
                t.hspc_ifng = _num(hit["index_vs_baseline"].iloc[0])
                t.hspc_ifng_n = int(hit["n_cells"].iloc[0])
                src = hit["baseline_source"].iloc[0] if "baseline_source" in hit else ""
                # the patient's own baseline scored against itself: 0 by construction
                t.is_reference = bool(t.day <= 0 and src == "patient" and t.hspc_ifng == 0)
        t.note = "; ".join(notes)
        out.append(t)
    return out


def _estimate_text(t: Timepoint) -> str:
    """Corrected CAR T % of T cells with its 95% interval, or the bound when CAR is
    not detected; "" when the CAR T table has neither (not measurable, older run)."""
    est, lo, hi = t.car_pct_of_t_est, t.car_pct_of_t_lo, t.car_pct_of_t_hi
    if est is not None and lo is not None and hi is not None:
        return f"{est:.1f} ({lo:.1f}-{hi:.1f})"
    if hi is not None:
        return f"not detected (< {hi:.2f}, 95% bound)"
    return ""


def timepoint_rows(tps: list[Timepoint]) -> list[dict[str, str]]:
    """Table cells (formatted strings, "" = not measured) for the marrow table."""
    rows = []
    for t in tps:
        rows.append(
            {
                "sample": t.label,
                "day": str(t.day),
                "cells": fmt(t.n_cells),
                "hspc": "" if t.n_hspc is None else f"{t.n_hspc} ({fmt(t.hspc_pct, 2)}%)",
                "t": fmt(t.n_t),
                "car": "" if t.n_car_t is None else str(t.n_car_t),
                "car_pct_cells": fmt(t.car_pct_of_cells, 2),
                "car_pct_t": fmt(t.car_pct_of_t, 1),
                "car_pct_t_est": _estimate_text(t),
                "threshold": ""
                if t.car_threshold is None
                else f">= {fmt(t.car_threshold)} UMIs at the median library size",
                "ifng": ""
                if t.hspc_ifng is None
                else f"baseline reference (n = {t.hspc_ifng_n} HSPC)"
                if t.is_reference
                else f"{fmt(t.hspc_ifng, 2)} (n = {t.hspc_ifng_n} HSPC)",
                "note": t.note,
            }
        )
    return rows


def composition_table(
    comps: dict[str, pd.DataFrame], names: Names
) -> tuple[list[str], list[list[str]]]:
    """Cell types x timepoints, each cell "n (x.x%)": counts beside the fractions."""
    if not comps:
        return [], []
    samples = list(comps)
    types: list[str] = []
    for c in comps.values():
        types += [t for t in c["cell_type"] if t not in types]
    rows = []
    for ct in types:
        cells = [ct]
        for s in samples:
            hit = comps[s][comps[s]["cell_type"] == ct]
            if hit.empty:
                cells.append("")
            else:
                n, f = int(hit["n_cells"].iloc[0]), float(hit["fraction"].iloc[0])
                cells.append(f"{n} ({100 * f:.1f}%)")
        rows.append(cells)
    rows.append(["all cells", *[str(int(comps[s]["n_cells"].sum())) for s in samples]])
    return [names.timepoint(s) for s in samples], rows


def qc_rows(scrna: pd.DataFrame, res: Results, names: Names) -> list[dict[str, str]]:
    """Per scRNA sample: cells before/after QC, doublets, and the thresholds applied.

    Doublets: the doublet table lists every cell that passed QC with its call; whether
    flagged doublets were removed is read off the data (cells in the composition table
    = cells after QC - flagged doublets), not assumed from the configuration.
    """
    rows = []
    for s, d in scrna.sort_values("day")[["sample", "day"]].itertuples(index=False):
        q = read_tsv(res.qc(s))
        dbl = read_tsv(res.doublets(s))
        comp = read_tsv(res.composition(s))
        row = dict.fromkeys(QC_KEYS, "") | {"sample": names.sample(s), "day": str(d)}
        if q is None:
            row["note"] = "no QC table"
            rows.append(row)
            continue
        r = q.iloc[0]
        n_after = int(r["n_cells_after"])
        row.update(
            {
                "before": fmt(r["n_cells_before"]),
                "after": fmt(n_after),
                "fails": (
                    f"counts {fmt(r['n_fail_counts'])}, genes {fmt(r['n_fail_genes'])}, "
                    f"top-20 genes {fmt(r['n_fail_top20'])}, mito {fmt(r['n_fail_mt'])}"
                ),
                "counts": f"{fmt(r['min_total_counts'], 0)}-{fmt(r['max_total_counts'], 0)}",
                "genes": f"{fmt(r['min_genes'], 0)}-{fmt(r['max_genes'], 0)}",
                "top20": f"{fmt(r['min_pct_top20'], 1)}-{fmt(r['max_pct_top20'], 1)}",
                "mt": (
                    f"<= {fmt(r['max_pct_mt'], 2)} ({fmt(r['nmads_mt'])} MADs: "
                    f"{fmt(r['max_pct_mt_mad'], 2)}, cap {fmt(r['max_pct_mt_cap'])})"
                ),
                "nmads": fmt(r["nmads"]),
                "note": "",
            }
        )
        if dbl is None:
            row["doublets"] = ""
            row["final"] = ""
            row["note"] = "no doublet table"
        else:
            flagged = int(dbl["predicted_doublet"].astype(str).str.lower().eq("true").sum())
            final = int(comp["n_cells"].sum()) if comp is not None else None
            if final is None:
                state = "flagged"
            elif final == n_after - flagged:
                state = "removed"
            elif final == n_after:
                state = "flagged, kept"
            else:
                state = "flagged"
                row["note"] = f"{n_after - flagged - final} more cells left out after doublets"
            row["doublets"] = f"{flagged} {state} (of {len(dbl)} scored)"
            row["final"] = fmt(final)
        rows.append(row)
    return rows
