"""Cohort report sections of issue 28: marrow composition shifts (differential
abundance) and pseudobulk differential expression (CAR T vs non-CAR T; HSPC after vs
before infusion).

Figures are drawn from the tables the analyses write (nothing is estimated here): a
forest plot of each cell type's effect with its interval per comparison, a volcano and
a program bar chart per DE analysis. A comparison the data could not support is shown
as the table's reason, in words. Only cell-type, gene and program names and the
analyses' own texts reach the page, HTML-escaped (sample ids in the `pairs` column are
not shown).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from marrowtox.atomic import write_text
from marrowtox.layout import path as layout_path
from marrowtox.report.cell_text import escaped as _e
from marrowtox.report.cell_text import number as _num

#: genes listed per DE analysis (the TSV has every gene)
TOP_GENES = 12
COMPARISON_TITLE = {
    "post_vs_baseline": "post-infusion vs baseline marrow (paired by patient)",
    "icaht_early": "early ICAHT high vs low",
    "car_hematotox": "CAR-HEMATOTOX high vs low",
}


def da_forest(da: pd.DataFrame) -> bytes | None:
    """Effect (logit difference, group b minus a) and interval per cell type, one panel
    per tested comparison; rows with FDR < 0.05 filled."""
    tested = da[da["status"] == "tested"]
    comps = list(dict.fromkeys(tested["comparison"]))
    if not comps:
        return None
    from marrowtox.report.plots import OKABE_ITO, plt, png

    types = sorted(tested["cell_type"].unique())
    fig, axes = plt.subplots(
        1,
        len(comps),
        figsize=(3.2 * len(comps) + 1.2, 0.3 * len(types) + 1.3),
        sharey=True,
        squeeze=False,
    )
    y = np.arange(len(types))[::-1]
    for ax, comp in zip(axes[0], comps, strict=True):
        sub = tested[tested["comparison"] == comp].set_index("cell_type").reindex(types)
        eff, lo, hi = (sub[c].to_numpy(float) for c in ("effect", "ci_low", "ci_high"))
        sig = sub["fdr"].to_numpy(float) < 0.05
        ax.axvline(0, color=OKABE_ITO[8], lw=1, ls="--")
        ax.hlines(y, lo, hi, color=OKABE_ITO[4], lw=1.5)
        ax.scatter(eff[sig], y[sig], color=OKABE_ITO[5], zorder=3, s=24, label="FDR < 0.05")
        ax.scatter(
            eff[~sig],
            y[~sig],
            facecolor="white",
            edgecolor=OKABE_ITO[4],
            zorder=3,
            s=24,
            label="FDR >= 0.05",
        )
        ax.set_title(COMPARISON_TITLE.get(comp, comp), fontsize=8)
        ax.set_xlabel(
            f"effect ({sub['transform'].dropna().iloc[0]} difference, 95% CI)", fontsize=8
        )
    axes[0][0].set_yticks(y, types)
    axes[0][-1].legend(loc="lower right", frameon=False, fontsize=7)
    return png(fig)


def volcano(de: pd.DataFrame, title: str, highlight: list[str]) -> bytes | None:
    """log2 fold change vs -log10 p; genes at the table's significance filled; the top
    `highlight` genes named."""
    t = de.dropna(subset=["log2fc", "p_value"])
    if t.empty:
        return None
    from marrowtox.report.plots import OKABE_ITO, plt, png

    sig = t["significant"].astype(str).str.lower().eq("true").to_numpy()
    x = t["log2fc"].to_numpy(float)
    y = -np.log10(np.clip(t["p_value"].to_numpy(float), 1e-300, 1))
    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    ax.scatter(x[~sig], y[~sig], s=6, color=OKABE_ITO[8], label="not significant")
    ax.scatter(x[sig], y[sig], s=8, color=OKABE_ITO[5], label="FDR below the setting")
    for _, r in t[t["gene"].isin(highlight)].iterrows():
        ax.annotate(str(r["gene"]), (r["log2fc"], -np.log10(max(r["p_value"], 1e-300))), fontsize=6)
    ax.axvline(0, color=OKABE_ITO[8], lw=0.8, ls="--")
    ax.set_xlabel("log2 fold change")
    ax.set_ylabel("-log10 p")
    ax.set_title(title, fontsize=9)
    ax.legend(frameon=False, fontsize=7)
    return png(fig)


def program_bars(programs: pd.DataFrame, title: str) -> bytes | None:
    """ulm activity per scored program, FDR < 0.05 filled."""
    p = programs.dropna(subset=["activity"])
    if p.empty:
        return None
    from marrowtox.report.plots import OKABE_ITO, plt, png

    p = p.sort_values("activity")
    colours = [OKABE_ITO[5] if f < 0.05 else OKABE_ITO[8] for f in p["fdr"].astype(float)]
    fig, ax = plt.subplots(figsize=(5.5, 0.3 * len(p) + 1.2))
    ax.barh(p["program"], p["activity"].astype(float), color=colours)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("program activity (decoupler ulm t; filled: FDR < 0.05)")
    ax.set_title(title, fontsize=9)
    return png(fig)


def _da_html(da: pd.DataFrame | None) -> list[str]:
    from marrowtox.report.html import data_uri

    out = ["<section id='composition-da'><h2>Which marrow populations shift</h2>"]
    if da is None:
        out.append(
            "<p>Not computed: results/cohort/composition_da.tsv is absent (no marrow scRNA samples).</p></section>"
        )
        return out
    out.append(
        "<p>propeller (Phipson et al. 2022): per sample, cell-type proportions on the logit "
        "scale; the patient sample, not the cell, is the unit. Effect: difference of the "
        "second group minus the first, with its 95% interval; FDR by Benjamini-Hochberg "
        "within each comparison.</p>"
    )
    for comp, g in da.groupby("comparison", sort=False):
        title = COMPARISON_TITLE.get(str(comp), str(comp))
        if not (g["status"] == "tested").any():
            out.append(f"<p><b>{_e(title)}</b>: {_e(g['status'].iloc[0])}</p>")
    uri = data_uri(da_forest(da))
    if uri:
        out.append(f"<img alt='effect and 95% interval per cell type and comparison' src='{uri}'>")
    tested = da[(da["status"] == "tested")].sort_values(["comparison", "p_value"])
    if not tested.empty:
        head = "<tr><th>comparison</th><th>cell type</th><th>n</th><th>mean proportion</th><th>effect (95% CI)</th><th>p</th><th>FDR</th></tr>"
        rows = [
            f"<tr><td>{_e(COMPARISON_TITLE.get(r.comparison, r.comparison))}</td><td>{_e(r.cell_type)}</td>"
            f"<td>{_e(r.n_a)} / {_e(r.n_b)}</td><td>{_num(r.prop_a, 3)} &rarr; {_num(r.prop_b, 3)}</td>"
            f"<td>{_num(r.effect)} ({_num(r.ci_low)} to {_num(r.ci_high)})</td><td>{_num(r.p_value)}</td><td>{_num(r.fdr)}</td></tr>"
            for r in tested[tested["fdr"] < 0.25].itertuples()
        ]
        if rows:
            out.append(
                f"<h3>Cell types at FDR &lt; 0.25</h3><div class='scroll'><table>{head}{''.join(rows)}</table></div>"
            )
    out.append("</section>")
    return out


def _de_html(
    key: str, title: str, de: pd.DataFrame | None, programs: pd.DataFrame | None
) -> list[str]:
    from marrowtox.report.html import data_uri

    out = [f"<section id='{key}'><h2>{_e(title)}</h2>"]
    if de is None:
        return [*out, "<p>Not computed: no table (no scRNA marrow samples).</p></section>"]
    tested = de.dropna(subset=["p_value"])
    if tested.empty:
        return [*out, f"<p>{_e(de['status'].iloc[0])}</p></section>"]
    n_sig = int(tested["significant"].astype(str).str.lower().eq("true").sum())
    out.append(
        f"<p>Pseudobulk DESeq2 (pydeseq2), design ~ pair + group, {int(tested['n_pairs'].iloc[0])} "
        f"pairs; {len(tested)} genes tested, {n_sig} significant.</p>"
    )
    top = tested.sort_values("p_value").head(TOP_GENES)
    uri = data_uri(volcano(de, title, list(top["gene"])))
    if uri:
        out.append(f"<img alt='volcano plot' src='{uri}'>")
    if programs is not None:
        uri = data_uri(program_bars(programs, f"Programs: {title}"))
        if uri:
            out.append(f"<img alt='program activity bar chart' src='{uri}'>")
        unscored = programs[programs["activity"].isna()]
        if len(unscored):
            out.append(
                "<p>"
                + "; ".join(f"{_e(r.program)}: {_e(r.status)}" for r in unscored.itertuples())
                + "</p>"
            )
    head = "<tr><th>gene</th><th>log2 FC</th><th>p</th><th>FDR</th></tr>"
    rows = [
        f"<tr><td>{_e(r.gene)}</td><td>{_num(r.log2fc)}</td><td>{_num(r.p_value)}</td><td>{_num(r.fdr)}</td></tr>"
        for r in top.itertuples()
    ]
    out.append(f"<div class='scroll'><table>{head}{''.join(rows)}</table></div></section>")
    return out


def section(results: str | Path) -> str:
    def read(name: str) -> pd.DataFrame | None:
        p = layout_path(name, results)
        return pd.read_csv(p, sep="\t") if p.is_file() else None

    out = _da_html(read("composition_da"))
    out += _de_html(
        "de-car",
        "CAR T vs non-CAR T cells of the same marrow",
        read("de_car"),
        read("de_car_programs"),
    )
    out += _de_html(
        "de-hspc", "HSPC after vs before infusion", read("de_hspc"), read("de_hspc_programs")
    )
    return "".join(out)


def append_to(report: str | Path, results: str | Path) -> None:
    """Insert the sections before </main> of a written cohort report (atomic rewrite)."""
    report = Path(report)
    text = report.read_text(encoding="utf-8")
    block = section(results)
    i = text.rfind("</main>")
    text = text[:i] + block + text[i:] if i >= 0 else text + block
    write_text(text, report)
