"""Cohort report section of the cohort statistics (issue 19): which markers predict toxicity.

Reads results/cohort/associations.tsv and results/cohort/survival.tsv (written by
`marrowtox cohort-stats`) and renders one HTML section: the top markers by BH q with
AUC and its bootstrap interval, n per group and how censored values entered; a forest
plot of the same rows; the survival and competing-risk rows with numbers at risk. The
small-n caveat is always printed, and rows flagged small_n (fewer than
config.cohort.caveat_min_per_group per group) are marked in the table and the plot.

Figures (embedded PNG, drawn from the tables `marrowtox cohort-stats` writes; nothing is
estimated here): ROC curves of the top markers (results/cohort/roc.tsv, AUC and its
bootstrap interval in the legend), the Kaplan-Meier overall-survival curve(s) and the
Aalen-Johansen cumulative incidence of non-relapse mortality with relapse competing
(results/cohort/survival_curves.tsv), each with its numbers at risk under the axis. A
curve with too few events (config.cohort.min_events) is not drawn: the text says so.

Only marker, specimen, window and endpoint names reach the page (never a patient id),
and every text is HTML-escaped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from marrowtox.atomic import write_text
from marrowtox.layout import path as layout_path
from marrowtox.report.cell_text import escaped as _e
from marrowtox.report.cell_text import number as _num

#: Rows shown in the table and the forest plot (a page, not the whole table: the TSV has
#: every row).
TOP = 15
#: Survival analyses shown, in this order.
SURVIVAL = ("os_km", "cif_nrm", "cif_relapse", "cox_os")
SURVIVAL_LABEL = {
    "os_km": "overall survival (Kaplan-Meier)",
    "cif_nrm": "non-relapse mortality (Aalen-Johansen, relapse competing)",
    "cif_relapse": "relapse/progression (Aalen-Johansen, NRM competing)",
    "cox_os": "Cox hazard ratio, overall survival",
}


def _flag(v: object) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes")


def top_rows(assoc: pd.DataFrame, n: int = TOP) -> pd.DataFrame:
    """Rows with an AUC, best first: BH q, then distance of the AUC from 0.5 (the order
    of marrowtox.cohort.associations.top_rows, which also picks the ROC markers)."""
    from marrowtox.cohort.associations import top_rows as ordered

    return ordered(assoc, n)


def forest_plot(rows: pd.DataFrame) -> bytes | None:
    """AUC with its interval per row, reference line at 0.5; small-n rows hollow."""
    if rows.empty:
        return None
    from marrowtox.report.plots import OKABE_ITO, plt, png

    labels = [f"{r.marker} [{r.specimen}] {r.window} -> {r.endpoint}" for r in rows.itertuples()]
    auc = rows["auc"].to_numpy(dtype=float)
    lo = rows["auc_ci_low"].to_numpy(dtype=float)
    hi = rows["auc_ci_high"].to_numpy(dtype=float)
    small = np.array([_flag(v) for v in rows["small_n"]], dtype=bool)
    y = np.arange(len(rows))[::-1]
    fig, ax = plt.subplots(figsize=(6.5, 0.32 * len(rows) + 1.0))
    ax.axvline(0.5, color=OKABE_ITO[8], lw=1, ls="--")
    ax.hlines(y, lo, hi, color=OKABE_ITO[4], lw=1.5)
    ax.scatter(auc[~small], y[~small], color=OKABE_ITO[4], zorder=3, s=22, label="AUC")
    if small.any():
        ax.scatter(
            auc[small],
            y[small],
            facecolor="white",
            edgecolor=OKABE_ITO[5],
            zorder=3,
            s=22,
            label="small n (see caveat)",
        )
    ax.set_yticks(y, labels)
    ax.set_xlim(0, 1)
    ax.set_xlabel("AUC (bootstrap 95% interval); 0.5 = no discrimination")
    ax.legend(loc="lower right", frameon=False, fontsize=7)
    return png(fig)


def _row_label(r: object) -> str:
    return f"{r.marker} [{r.specimen}] {r.window} -> {r.endpoint}"  # type: ignore[attr-defined]


def roc_figure(roc: pd.DataFrame):
    """ROC curves of roc.tsv, one per rank; legend: AUC (bootstrap interval), n pos/neg.
    Returns the matplotlib Figure (None without curves)."""
    if roc is None or roc.empty:
        return None
    from marrowtox.report.plots import OKABE_ITO, plt

    fig, ax = plt.subplots(figsize=(5.2, 5.0))
    ax.plot([0, 1], [0, 1], color=OKABE_ITO[8], lw=1, ls="--", label="no discrimination")
    for k, (_, g) in enumerate(roc.groupby("rank", sort=True)):
        r = g.iloc[0]
        small = " small n" if _flag(r["small_n"]) else ""
        label = (
            f"{_row_label(r)}: AUC {_num(r['auc'])} ({_num(r['auc_ci_low'])}-"
            f"{_num(r['auc_ci_high'])}), n {int(r['n_pos'])}/{int(r['n_neg'])}{small}"
        )
        colour = [OKABE_ITO[i] for i in (4, 5, 2, 0, 6, 1, 7)][k % 7]
        ax.plot(g["fpr"], g["tpr"], color=colour, lw=1.6, label=label)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_aspect("equal")
    ax.set_xlabel("1 - specificity (false-positive rate)")
    ax.set_ylabel("sensitivity (true-positive rate)")
    ax.set_title("ROC of the top markers (best row of each, by BH q)", fontsize=9)
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.14), frameon=False, fontsize=7)
    return fig


#: (analysis, label, line style) of the survival figures
CURVE_STYLE = {
    "os_km": ("overall survival", "-"),
    "cif_nrm": ("non-relapse mortality", "-"),
    "cif_relapse": ("relapse/progression (competing)", "--"),
}


def _curve_label(analysis: str, group: str) -> str:
    label = CURVE_STYLE[analysis][0]
    return label if group == "all" else f"{label}, {group}"


def risk_table(curves: pd.DataFrame, analyses: tuple[str, ...]) -> pd.DataFrame:
    """Numbers at risk of the drawn curves: one row per curve label, one column per day."""
    r = curves[(curves["kind"] == "at_risk") & curves["analysis"].isin(analyses)]
    if r.empty:
        return pd.DataFrame()
    r = r.assign(curve=[_curve_label(a, g) for a, g in zip(r["analysis"], r["group"], strict=True)])
    order = list(dict.fromkeys(r["curve"]))
    t = r.pivot(index="curve", columns="time", values="n_at_risk").reindex(order).astype(int)
    if len(t) > 1 and set(analyses) <= {"cif_nrm", "cif_relapse"}:
        # competing risks: both curves share one risk set (alive and relapse-free)
        t = t.iloc[:1].set_axis(["at risk (alive, no relapse)"])
    return t


def survival_figure(curves: pd.DataFrame, analyses: tuple[str, ...], ylabel: str):
    """Step curves (with their interval) of `analyses`, and under the axis the numbers
    at risk at the table's days. Only STEP rows are drawn; None when there are none."""
    if curves is None or curves.empty:
        return None
    steps = curves[(curves["kind"] == "step") & curves["analysis"].isin(analyses)]
    if steps.empty:
        return None
    from marrowtox.report.plots import OKABE_ITO, plt

    risk = risk_table(curves[curves["analysis"].isin(steps["analysis"].unique())], analyses)
    n_rows = max(len(risk), 1)
    fig, (ax, tab) = plt.subplots(
        2,
        1,
        figsize=(6.5, 3.6 + 0.22 * n_rows),
        sharex=True,
        gridspec_kw={"height_ratios": [4.0, 0.35 + 0.3 * n_rows], "hspace": 0.6},
    )
    colours = [OKABE_ITO[i] for i in (4, 5, 2, 0, 6, 1)]
    for k, ((analysis, group), g) in enumerate(steps.groupby(["analysis", "group"], sort=False)):
        g = g.sort_values("time")
        colour = colours[k % len(colours)]
        x, y = g["time"].to_numpy(float), g["estimate"].to_numpy(float)
        ax.step(
            x,
            y,
            where="post",
            color=colour,
            ls=CURVE_STYLE[analysis][1],
            lw=1.6,
            label=_curve_label(analysis, group),
        )
        lo, hi = g["ci_low"].to_numpy(float), g["ci_high"].to_numpy(float)
        ok = np.isfinite(lo) & np.isfinite(hi)
        ax.fill_between(x[ok], lo[ok], hi[ok], step="post", color=colour, alpha=0.15, lw=0)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", frameon=False, fontsize=7)
    ax.tick_params(labelbottom=True)
    ax.set_xlabel("days after CAR T infusion")
    days = [float(c) for c in risk.columns]
    ax.set_xticks(days)
    ax.set_xlim(min(days + [0.0]), max(days + [float(steps["time"].max())]) * 1.02 or 1.0)
    tab.set_ylim(-0.5, n_rows - 0.5)
    tab.set_yticks(range(n_rows)[::-1], list(risk.index) if len(risk) else [""], fontsize=8)
    for i, (_, row) in enumerate(risk.iterrows()):
        for d, v in row.items():
            tab.text(float(d), n_rows - 1 - i, str(int(v)), ha="center", va="center", fontsize=8)
    tab.set_title("numbers at risk", fontsize=8, loc="left")
    for side in ("left", "bottom", "top", "right"):
        tab.spines[side].set_visible(False)
    tab.tick_params(left=False, bottom=False, labelbottom=False)
    return fig


def _risk_text(curves: pd.DataFrame, analyses: tuple[str, ...]) -> str:
    """'numbers at risk at days 0/30/90: overall survival 80/70/55' (the figure's alt)."""
    t = risk_table(curves, analyses)
    if t.empty:
        return ""
    days = "/".join(f"{float(c):g}" for c in t.columns)
    rows = "; ".join(f"{k} {'/'.join(str(v) for v in r)}" for k, r in t.iterrows())
    return f"numbers at risk at days {days}: {rows}"


def _not_drawn(curves: pd.DataFrame, analyses: tuple[str, ...]) -> list[str]:
    nd = curves[(curves["kind"] == "not_drawn") & curves["analysis"].isin(analyses)]
    return [
        f"{_curve_label(a, g)}: {n}"
        for a, g, n in zip(nd["analysis"], nd["group"], nd["note"], strict=True)
    ]


def _survival_caveat(curves: pd.DataFrame) -> str:
    start = curves[(curves["kind"] == "at_risk") & (curves["time"] == 0)]
    if start.empty:
        return (
            "No curve has enough events to be drawn (fewer than config.cohort.min_events); "
            "a curve from a handful of events would read like a finding."
        )
    n = int(start["n_at_risk"].max())
    return (
        f"Descriptive: at most {n} patients per curve. Curves with fewer events than "
        "config.cohort.min_events are not drawn; the shaded band is the 95% interval "
        "(log-log for Kaplan-Meier, Aalen-Johansen variance for the cumulative incidence) "
        "and widens as the number at risk falls: read the tail against the numbers at risk."
    )


def _figures(roc: pd.DataFrame | None, curves: pd.DataFrame | None) -> list[str]:
    from marrowtox.report.html import data_uri
    from marrowtox.report.plots import png

    out = []
    if roc is not None:
        fig = roc_figure(roc)
        if fig is None:
            out.append("<p>No ROC curve: no marker has enough patients per group for an AUC.</p>")
        else:
            n = roc["rank"].nunique()
            out.append(f"<h3>ROC curves of the top {n} markers</h3>")
            out.append(
                f"<img alt='ROC curves of the top {n} markers by BH q, AUC with bootstrap "
                f"95% interval in the legend' src='{data_uri(png(fig))}'>"
            )
    if curves is not None and not curves.empty:
        out.append("<h3>Survival and cumulative-incidence curves</h3>")
        out.append(f"<p class='caveat'>{_e(_survival_caveat(curves))}</p>")
        for analyses, title, ylabel in (
            (("os_km",), "Kaplan-Meier overall survival", "overall survival"),
            (
                ("cif_nrm", "cif_relapse"),
                "Cumulative incidence of non-relapse mortality (Aalen-Johansen, relapse "
                "as competing risk)",
                "cumulative incidence",
            ),
        ):
            fig = survival_figure(curves, analyses, ylabel)
            drawn = curves[(curves["kind"] == "step") & curves["analysis"].isin(analyses)]
            alt = f"{title}; {_risk_text(curves[curves['analysis'].isin(drawn['analysis'].unique())], analyses)}"
            out.append(f"<h4>{_e(title)}</h4>")
            if fig is not None:
                out.append(f"<img alt='{_e(alt)}' src='{data_uri(png(fig))}'>")
            for text in _not_drawn(curves, analyses):
                out.append(f"<p>{_e(text)}.</p>")
    return out


def _caveat(assoc: pd.DataFrame) -> str:
    n = pd.to_numeric(assoc["n"], errors="coerce").max() if not assoc.empty else 0
    n_stat = int(pd.to_numeric(assoc["auc"], errors="coerce").notna().sum())
    n_small = int(sum(_flag(v) for v in assoc["small_n"])) if "small_n" in assoc else 0
    return (
        f"Exploratory: {len(assoc)} marker x window x endpoint rows, {n_stat} with enough "
        f"patients for an AUC (at most {_num(n, 0) or 0} patients per row); q is "
        "Benjamini-Hochberg over all of them. "
        f"{n_small} rows have fewer patients per group than config.cohort.caveat_min_per_group "
        "(marked small n): their intervals are wide and a single patient can move them. "
        "Rows with too few patients have no AUC at all (their reason is in "
        "results/cohort/associations.tsv). Censored values ('<5') enter by rank, never as "
        "their limit (column censoring)."
    )


def _assoc_table(rows: pd.DataFrame) -> str:
    head = (
        "<tr><th class='l'>marker</th><th class='l'>specimen</th><th class='l'>window</th>"
        "<th class='l'>endpoint</th><th>AUC</th><th>95% interval</th><th>Mann-Whitney p</th>"
        "<th>BH q</th><th>n pos / neg</th><th>censored</th><th class='l'>note</th></tr>"
    )
    body = []
    for r in rows.itertuples():
        note = "small n; " if _flag(r.small_n) else ""
        note += str(r.censoring) if isinstance(r.censoring, str) else ""
        body.append(
            "<tr>"
            + "".join(f"<td class='l'>{_e(v)}</td>" for v in (r.marker, r.specimen, r.window))
            + f"<td class='l'>{_e(r.endpoint)}</td><td>{_num(r.auc)}</td>"
            f"<td>{_num(r.auc_ci_low)}-{_num(r.auc_ci_high)}</td><td>{_num(r.mw_p, 3)}</td>"
            f"<td>{_num(r.q_bh, 3)}</td><td>{_e(r.n_pos)} / {_e(r.n_neg)}</td>"
            f"<td>{_e(r.n_censored)}</td><td class='l'>{_e(note)}</td></tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def _survival_table(surv: pd.DataFrame) -> str:
    head = (
        "<tr><th class='l'>analysis</th><th class='l'>group</th><th>day</th><th>estimate</th>"
        "<th>95% interval</th><th>at risk</th><th>events</th><th class='l'>note</th></tr>"
    )
    body = []
    for analysis in SURVIVAL:
        for r in surv[surv["analysis"] == analysis].itertuples():
            body.append(
                f"<tr><td class='l'>{_e(SURVIVAL_LABEL[analysis])}</td>"
                f"<td class='l'>{_e(r.group)}</td><td>{_num(r.time, 0)}</td>"
                f"<td>{_num(r.estimate)}</td>"
                f"<td>{_num(r.ci_low)}-{_num(r.ci_high)}</td><td>{_e(r.n_at_risk)}</td>"
                f"<td>{_e(r.n_events)}</td><td class='l'>{_e(r.note)}</td></tr>"
            )
    return f"<table>{head}{''.join(body)}</table>"


def section(
    assoc: pd.DataFrame | None,
    surv: pd.DataFrame | None,
    roc: pd.DataFrame | None = None,
    curves: pd.DataFrame | None = None,
) -> str:
    """The HTML section (a string to place inside <main>)."""
    from marrowtox.report.html import data_uri

    out = ["<section id='cohort-stats'><h2>Which markers predict toxicity</h2>"]
    if assoc is None:
        out.append(
            "<p>Not computed: the cohort statistics need a labs and an events table "
            "(results/cohort/associations.tsv is absent).</p>"
        )
    else:
        out.append(f"<p class='caveat'>{_e(_caveat(assoc))}</p>")
        rows = top_rows(assoc)
        if rows.empty:
            out.append("<p>No row has enough patients per group for an AUC.</p>")
        else:
            out.append(f"<h3>Top {len(rows)} rows by BH q</h3>")
            out.append(f"<div class='scroll'>{_assoc_table(rows)}</div>")
            uri = data_uri(forest_plot(rows))
            if uri:
                out.append(f"<img alt='forest plot of AUC with 95% intervals' src='{uri}'>")
        out += _figures(roc, None)
    if curves is not None:
        out += _figures(None, curves)
    if surv is not None and not surv.empty:
        out.append("<h3>Survival and competing risks</h3>")
        out.append(f"<div class='scroll'>{_survival_table(surv)}</div>")
    out.append("</section>")
    return "".join(out)


def _read(p: Path) -> pd.DataFrame | None:
    return pd.read_csv(p, sep="\t") if p.is_file() else None


def append_to(report: str | Path, results: str | Path) -> None:
    """Insert the section before </main> of a written cohort report (atomic rewrite)."""
    report = Path(report)
    text = report.read_text(encoding="utf-8")
    block = section(
        _read(layout_path("cohort_associations", results)),
        _read(layout_path("cohort_survival", results)),
        _read(layout_path("cohort_roc", results)),
        _read(layout_path("cohort_survival_curves", results)),
    )
    i = text.rfind("</main>")
    text = text[:i] + block + text[i:] if i >= 0 else text + block
    write_text(text, report)
