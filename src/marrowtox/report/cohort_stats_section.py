"""Cohort report section of the cohort statistics (issue 19): which markers predict toxicity.

Reads results/cohort/associations.tsv and results/cohort/survival.tsv (written by
`marrowtox cohort-stats`) and renders one HTML section: the top markers by BH q with
AUC and its bootstrap interval, n per group and how censored values entered; a forest
plot of the same rows; the survival and competing-risk rows with numbers at risk. The
small-n caveat is always printed, and rows flagged small_n (fewer than
config.cohort.caveat_min_per_group per group) are marked in the table and the plot.

Only marker, specimen, window and endpoint names reach the page (never a patient id),
and every text is HTML-escaped.
"""

from __future__ import annotations

import html as _html
from pathlib import Path

import numpy as np
import pandas as pd

from marrowtox.atomic import write_text
from marrowtox.layout import path as layout_path

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


def _e(v: object) -> str:
    return _html.escape("" if v is None or (isinstance(v, float) and v != v) else str(v))


def _num(v: object, digits: int = 2) -> str:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if f != f:
        return ""
    return f"{f:.{digits}g}" if abs(f) < 1e-2 and f != 0 else f"{f:.{digits}f}"


def _flag(v: object) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes")


def top_rows(assoc: pd.DataFrame, n: int = TOP) -> pd.DataFrame:
    """Rows with an AUC, best first: BH q, then distance of the AUC from 0.5."""
    a = assoc[pd.to_numeric(assoc["auc"], errors="coerce").notna()].copy()
    if a.empty:
        return a
    a["_q"] = pd.to_numeric(a["q_bh"], errors="coerce")
    a["_d"] = -(pd.to_numeric(a["auc"], errors="coerce") - 0.5).abs()
    a = a.sort_values(["_q", "_d", "marker", "window", "endpoint"], kind="stable")
    return a.drop(columns=["_q", "_d"]).head(n)


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


def section(assoc: pd.DataFrame | None, surv: pd.DataFrame | None) -> str:
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
    )
    i = text.rfind("</main>")
    text = text[:i] + block + text[i:] if i >= 0 else text + block
    write_text(text, report)
