"""The patient timeline: one figure, stacked panels on a shared day axis (day 0 = infusion).

Why one figure: the question of a per-patient report is whether marrow state and
clones line up with the hematotoxicity of that patient, which only shows when ANC,
events, marrow sampling and VAFs are read against the same days. Everything drawn
comes from a result table; a value that was not measured is drawn or written as
missing, never as zero.

Panels: ANC (symlog axis, linear below 100/uL so values near 0 stay readable; lines
at 1500/1000/500/100 /uL; shaded days of ANC <= 500 and <= 100 on the daily grid the
ICAHT grade is computed from; the early day 0-30 and late day 31+ ICAHT windows with
their grades), platelets, hemoglobin, events, CAR T % of T cells and HSPC % at every
marrow scRNA timepoint, and clone VAFs (95% CI; undetected = open marker at the limit
of detection; 2% CHIP line). Marrow sampling days are vertical lines through all panels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from marrowtox.report.marrow import Timepoint
from marrowtox.report.plots import GRADE_SHADE, OKABE_ITO, plt, png

ANC_LINES = (1500, 1000, 500, 100)
CHIP_VAF_PCT = 2.0
MARROW = "#6A3D9A"  # marrow sampling days: a colour no data series uses
EVENT_ROWS = {
    "infusion": ("infusion", "*", OKABE_ITO[7]),
    "crs": ("CRS", "s", OKABE_ITO[5]),
    "crs_resolved": ("CRS", "o", OKABE_ITO[5]),
    "icans": ("ICANS", "D", OKABE_ITO[6]),
    "iec_hs": ("IEC-HS", "h", OKABE_ITO[5]),
    "tocilizumab": ("tocilizumab", "v", OKABE_ITO[4]),
    "steroids": ("steroids", "^", OKABE_ITO[0]),
    "gcsf": ("G-CSF", "P", OKABE_ITO[2]),
    "transfusion": ("transfusion", "X", OKABE_ITO[1]),
    "next_therapy": ("other", "|", OKABE_ITO[8]),
    "progression": ("other", "|", OKABE_ITO[8]),
    "death": ("other", "|", OKABE_ITO[7]),
    "last_follow_up": ("other", "|", OKABE_ITO[8]),
}
OTHER_TEXT = {
    "next_therapy": "next therapy",
    "progression": "progression",
    "death": "death",
    "last_follow_up": "last follow-up",
}


@dataclass
class TimelineData:
    """What the timeline draws, already restricted to one patient."""

    title: str
    labs: pd.DataFrame | None
    grid: pd.DataFrame | None
    events: pd.DataFrame | None
    scores: pd.Series | None
    marrow: list[Timepoint]
    clones: pd.DataFrame | None
    marrow_days: list[tuple[int, str]] = field(default_factory=list)
    has_dna: bool = False
    #: marrow flow cytometry CAR+ % of CD3+ (day, %) drawn beside the scRNA CAR T %
    flow_car: list[tuple[int, float]] = field(default_factory=list)


def _grade_text(scores: pd.Series | None, window: str) -> tuple[str, int | None]:
    if scores is None:
        return "not computed (no clinical scores)", None
    g = scores.get(f"icaht_{window}_grade")
    if g is None or pd.isna(g):
        return "not computed", None
    return f"grade {int(g)}", int(g)


def _raw_runs(days: np.ndarray, values: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Consecutive grid days with ANC <= threshold (missing days end a run)."""
    out: list[tuple[int, int]] = []
    for d, v in zip(days, values, strict=True):
        if not np.isnan(v) and v <= threshold:
            if out and out[-1][1] == d - 1:
                out[-1] = (out[-1][0], int(d))
            else:
                out.append((int(d), int(d)))
    return out


def _not_measured(ax, text: str) -> None:
    ax.text(
        0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#A33", fontsize=8
    )
    ax.set_yticks([])


def _anc_panel(ax, d: TimelineData) -> None:
    labs = d.labs
    anc = labs[labs["analyte"] == "anc"].sort_values("day") if labs is not None else None
    ax.set_yscale("symlog", linthresh=100, linscale=0.6)
    if anc is None or anc.empty:
        _not_measured(ax, "ANC: not measured (no labs for this patient)")
        return
    grid = d.grid
    if grid is not None and not grid.empty:
        days = grid["day"].to_numpy(dtype=int)
        vals = grid["anc"].to_numpy(dtype=float)
        for thr, color, alpha, lab in (
            (500, OKABE_ITO[0], 0.22, "ANC <= 500 (daily grid)"),
            (100, OKABE_ITO[5], 0.30, "ANC <= 100 (daily grid)"),
        ):
            for i, (a, b) in enumerate(_raw_runs(days, vals, thr)):
                ax.axvspan(
                    a - 0.5, b + 0.5, color=color, alpha=alpha, lw=0, label=lab if i == 0 else None
                )
        interp = grid[grid["interpolated"].astype(str).str.lower() == "true"]
        if not interp.empty:
            ax.plot(
                interp["day"],
                interp["anc"],
                "x",
                ms=3,
                color=OKABE_ITO[8],
                label="interpolated (grid)",
            )
    ax.plot(
        anc["day"], anc["value"], "o-", ms=2.5, lw=0.8, color=OKABE_ITO[4], label="ANC measured"
    )
    for thr, ls in zip(ANC_LINES, ("-", "--", "--", ":"), strict=True):
        ax.axhline(thr, color="#555555", lw=0.7, ls=ls)
        ax.annotate(
            f"{thr}/uL",
            (1.0, thr),
            xycoords=("axes fraction", "data"),
            xytext=(3, 0),
            textcoords="offset points",
            fontsize=7,
            va="center",
            color="#333333",
        )
    top = max(float(anc["value"].max()) * 3, 5000.0)
    ax.set_ylim(0, top)
    ax.set_yticks([0, 50, 100, 500, 1000, 1500, 5000] + ([10000] if top > 10000 else []))
    ax.set_yticklabels(
        ["0", "50", "100", "500", "1000", "1500", "5000"] + (["10000"] if top > 10000 else [])
    )
    ax.set_ylabel("ANC (/uL)")
    # ICAHT windows as bars along the top of the panel, with their grades
    early_txt, early_g = _grade_text(d.scores, "early")
    late_txt, late_g = _grade_text(d.scores, "late")
    late_end = 100
    if d.scores is not None and not pd.isna(d.scores.get("late_window_end")):
        late_end = int(d.scores["late_window_end"])
    for (a, b), txt, g, name in (
        ((0, 30), early_txt, early_g, "early ICAHT d0-30"),
        ((31, late_end), late_txt, late_g, f"late ICAHT d31-{late_end}"),
    ):
        if b < a:
            continue
        color = GRADE_SHADE.get(g, "#DDDDDD") if g else "#DDDDDD"
        ax.axvspan(a - 0.5, b + 0.5, ymin=0.90, ymax=1.0, color=color, alpha=0.85, lw=0)
        ax.text(
            (a + b) / 2,
            0.95,
            f"{name}: {txt}",
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="center",
            fontsize=7.5,
            fontweight="bold",
        )
    ax.axvline(30.5, color="#333333", lw=0.8, ls="-.")
    ax.legend(fontsize=6.5, ncol=2, loc="best", frameon=True, framealpha=0.85)


def _lab_panel(ax, labs: pd.DataFrame | None, analyte: str, name: str, color: str) -> None:
    sub = labs[labs["analyte"] == analyte].sort_values("day") if labs is not None else None
    if sub is None or sub.empty:
        _not_measured(ax, f"{name}: not measured")
        ax.set_ylabel(name)
        return
    ax.plot(sub["day"], sub["value"], "o-", ms=2.5, lw=0.9, color=color)
    ax.set_ylabel(f"{name}\n({sub['unit'].iloc[0]})")
    ax.set_ylim(bottom=0)


def _events_panel(ax, events: pd.DataFrame | None) -> None:
    ax.set_ylabel("events")
    if events is None or events.empty:
        _not_measured(ax, "no events recorded for this patient")
        return
    order = []
    for e in EVENT_ROWS:
        row = EVENT_ROWS[e][0]
        if (events["event"] == e).any() and row not in order:
            order.append(row)
    if (~events["event"].isin(list(EVENT_ROWS))).any() and "other" not in order:
        order.append("other")
    y = {r: i for i, r in enumerate(reversed(order))}
    others: list[list[tuple[float, str]]] = []  # "other" events, clustered by day
    for _, e in events.sort_values("day").iterrows():
        row, marker, color = EVENT_ROWS.get(e["event"], ("other", "|", OKABE_ITO[8]))
        ax.plot(e["day"], y[row], marker, color=color, ms=6 if marker != "|" else 9, mew=1.5)
        grade = e.get("grade")
        if row == "other":
            text = f"{OTHER_TEXT.get(e['event'], str(e['event']))} d{int(e['day'])}"
            if others and e["day"] - others[-1][-1][0] <= 6:
                others[-1].append((float(e["day"]), text))
            else:
                others.append([(float(e["day"]), text)])
        elif grade is not None and not pd.isna(grade):
            ax.annotate(
                f"G{int(grade)}",
                (e["day"], y[row]),
                xytext=(5, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
                fontweight="bold",
            )
    # one label per cluster of nearby "other" events, so close days do not overprint
    for cluster in others:
        ax.annotate(
            ", ".join(t for _, t in cluster),
            (cluster[0][0], y["other"]),
            xytext=(-5, 0),
            textcoords="offset points",
            va="center",
            ha="right",
            fontsize=7,
        )
    ax.set_yticks(list(y.values()), list(y.keys()), fontsize=7)
    ax.set_ylim(-0.7, len(y) - 0.3)


def _marrow_panel(ax, tps: list[Timepoint], attr: str, ylabel: str, color: str) -> None:
    ax.set_ylabel(ylabel)
    if not tps:
        _not_measured(ax, "no marrow scRNA sample")
        return
    pts = [(t.day, getattr(t, attr)) for t in tps]
    have = [(x, v) for x, v in pts if v is not None]
    if have:
        ax.plot(*zip(*have, strict=True), "o-", color=color, ms=5, lw=1.2)
    top = max([v for _, v in have], default=1.0) or 1.0
    for t in tps:
        v = getattr(t, attr)
        if v is None:
            ax.plot(t.day, 0, "x", color="#A33", ms=6)
            ax.annotate(
                "not measured",
                (t.day, 0),
                xytext=(4, 4),
                textcoords="offset points",
                fontsize=6.5,
                color="#A33",
            )
        else:
            n = (
                f" ({t.n_car_t}/{t.n_t})"
                if attr == "car_pct_of_t" and t.n_car_t is not None
                else f" ({t.n_hspc}/{t.n_cells})"
                if attr == "hspc_pct" and t.n_hspc is not None
                else ""
            )
            ax.annotate(
                f"{v:.1f}%{n}",
                (t.day, v),
                xytext=(5, 3),
                textcoords="offset points",
                fontsize=7,
            )
    ax.set_ylim(0, top * 1.45)


def _flow_points(ax, pts: list[tuple[int, float]], color: str) -> None:
    """Flow cytometry of the same population (CAR+ % of CD3+, marrow) as open diamonds
    beside the scRNA estimate, so a disagreement between the assays shows."""
    if not pts:
        return
    days, vals = zip(*pts, strict=True)
    ax.plot(days, vals, "D", mfc="none", mec=color, ms=6, mew=1.3, label="flow CAR+ of CD3+")
    for x, v in pts:
        ax.annotate(
            f"flow {v:.1f}%", (x, v), xytext=(5, -9), textcoords="offset points", fontsize=6.5
        )
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, max(hi, 1.45 * max(vals)))
    ax.legend(loc="upper left", fontsize=6.5, frameon=False)


def vaf_panel(ax, clones: pd.DataFrame | None, has_dna: bool) -> None:
    """Clone VAF over time on `ax` (also the left half of report.clone_figure's figure);
    a value below the detection limit is drawn at its limit and dotted, never at 0."""
    ax.set_ylabel("clone VAF (%)")
    if not has_dna:
        _not_measured(ax, "clones: not measured (no DNA sample)")
        return
    if clones is None:
        _not_measured(ax, "clones: not measured (no clone table)")
        return
    if clones.empty:
        _not_measured(ax, "no clone detected at any DNA timepoint")
        return
    ax.set_yscale("log")
    lo_all = []
    for i, (_, g) in enumerate(clones.groupby(["chrom", "pos", "ref", "alt"], sort=False)):
        g = g.sort_values("day")
        c = OKABE_ITO[[4, 5, 2, 6, 0, 1, 7][i % 7]]
        det = g["detected"].astype(str).str.lower().eq("true")
        y = np.where(det, 100 * g["vaf"], 100 * g["lod_vaf"])
        ok = ~np.isnan(y)
        protein = g["hgvsp_short"].iloc[0] if isinstance(g["hgvsp_short"].iloc[0], str) else ""
        x, yy, dd = g["day"].to_numpy(float)[ok], y[ok], det.to_numpy()[ok]
        # solid between two detected values; dotted where a segment touches an LOD point
        # (the VAF there is only known to be below it)
        for k in range(len(x) - 1):
            ax.plot(
                x[k : k + 2],
                yy[k : k + 2],
                "-" if dd[k] and dd[k + 1] else ":",
                color=c,
                lw=1.1,
                alpha=0.8,
            )
        ax.plot([], [], "-", color=c, label=f"{g['gene'].iloc[0]} {protein}".strip())
        d = g[det & ok]
        if not d.empty:
            ax.errorbar(
                d["day"].to_numpy(float),
                100 * d["vaf"].to_numpy(float),
                yerr=np.vstack(
                    [
                        (100 * (d["vaf"] - d["vaf_ci_low"])).clip(lower=0).to_numpy(float),
                        (100 * (d["vaf_ci_high"] - d["vaf"])).clip(lower=0).to_numpy(float),
                    ]
                ),
                fmt="o",
                color=c,
                ms=5,
                capsize=2,
                lw=1,
            )
            lo_all += list(100 * d["vaf_ci_low"].clip(lower=1e-4))
        u = g[~det & ok]
        for _, r in u.iterrows():
            ax.plot(r["day"], 100 * r["lod_vaf"], "o", mfc="white", mec=c, ms=6, mew=1.3)
            ax.annotate(
                f"< LOD {100 * r['lod_vaf']:.2f}%",
                (r["day"], 100 * r["lod_vaf"]),
                xytext=(5, -9),
                textcoords="offset points",
                fontsize=6.5,
                color=c,
            )
            lo_all.append(100 * r["lod_vaf"])
    ax.axhline(CHIP_VAF_PCT, color="#555555", ls="--", lw=0.8)
    ax.annotate(
        "CHIP 2%",
        (1.0, CHIP_VAF_PCT),
        xycoords=("axes fraction", "data"),
        xytext=(3, 0),
        textcoords="offset points",
        fontsize=7,
        va="center",
    )
    # legend entries for the marker meaning
    ax.plot([], [], "o", color="#555555", ms=5, label="detected (95% CI)")
    ax.plot([], [], "o", mfc="white", mec="#555555", ms=6, label="not detected: at LOD")
    hi = 100 * float(clones["vaf_ci_high"].max())
    ax.set_ylim(max(min(min(lo_all, default=0.5) / 2, 1.0), 0.05), max(hi * 2, 5))
    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if ax.get_ylim()[0] <= t]
    ticks = [t for t in ticks if t <= ax.get_ylim()[1]]
    ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.legend(fontsize=6.5, loc="best", frameon=True, framealpha=0.85, ncol=2)


def day_limits(d: TimelineData) -> tuple[float, float]:
    """The shared day axis: every lab, event and marrow day, and at least days 0-30.
    The biomarker panels use the same limits, so a day sits at one place in the report."""
    days = []
    for frame, col in ((d.labs, "day"), (d.events, "day")):
        if frame is not None and not frame.empty:
            days += [float(frame[col].min()), float(frame[col].max())]
    days += [x for x, _ in d.marrow_days] + [0, 30]
    return min(days) - 4, max(days) + 12


def figure(d: TimelineData) -> bytes:
    """The stacked timeline figure as PNG bytes."""
    ratios = [3.2, 1.1, 1.1, 1.9, 1.25, 1.25, 2.0]
    fig, axes = plt.subplots(
        len(ratios),
        1,
        figsize=(10, 13.5),
        sharex=True,
        gridspec_kw={"height_ratios": ratios, "hspace": 0.12},
    )
    anc, pl, hb, ev, car, hspc, vaf = axes
    _anc_panel(anc, d)
    _lab_panel(pl, d.labs, "plt", "platelets", OKABE_ITO[2])
    _lab_panel(hb, d.labs, "hb", "hemoglobin", OKABE_ITO[0])
    _events_panel(ev, d.events)
    _marrow_panel(car, d.marrow, "car_pct_of_t", "CAR T\n% of T cells", OKABE_ITO[5])
    _flow_points(car, d.flow_car, OKABE_ITO[5])
    _marrow_panel(hspc, d.marrow, "hspc_pct", "HSPC\n% of cells", OKABE_ITO[4])
    vaf_panel(vaf, d.clones, d.has_dna)
    anc.set_xlim(*day_limits(d))
    for x, lab in d.marrow_days:
        for ax in axes:
            ax.axvline(x, color=MARROW, lw=1.0, ls=(0, (4, 3)), alpha=0.8, zorder=0.5)
        anc.annotate(
            f"marrow {lab}",
            (x, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=7.5,
            color=MARROW,
            fontweight="bold",
        )
    for ax in axes:
        ax.axvline(0, color="#222222", lw=0.8, zorder=0.5)
        ax.grid(axis="x", color="#EEEEEE", lw=0.6)
    vaf.set_xlabel("day relative to CAR T infusion (day 0)")
    fig.suptitle(d.title, x=0.08, ha="left", y=0.915, fontsize=11, fontweight="bold")
    return png(fig, dpi=90)
