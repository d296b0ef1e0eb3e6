"""The figure of one clone: its VAF trajectory beside its mutant-cell fractions.

It draws with both the report's figure helpers (plots) and the timeline's VAF panel, so
it lives above both: plots and timeline stay free of each other's imports (imports go
one way: clone_figure -> timeline -> plots).
"""

from __future__ import annotations

import pandas as pd

from marrowtox.genotype.carriers import CARRIER, NOT_COVERED
from marrowtox.report.clone_cells import type_key
from marrowtox.report.plots import OKABE_ITO, plt, png
from marrowtox.report.timeline import vaf_panel


def clone_cells_figure(
    clone_rows: pd.DataFrame, cells: pd.DataFrame | None, labels: dict[str, str], title: str
) -> bytes:
    """One clone: its VAF trajectory (left, as on the timeline) beside the mutant-cell
    fraction by cell type with 95% intervals (right), one marker per genotyped sample.

    A cell type "not covered" in a sample is written beside its row, never drawn at 0;
    samples without a barcoded BAM are named in the panel title as not genotyped.
    """
    types = (
        sorted(set(cells["cell_type"].astype(str)), key=type_key)
        if cells is not None and not cells.empty
        else []
    )
    fig, (left, right) = plt.subplots(
        1,
        2,
        figsize=(9.6, max(2.6, 0.26 * len(types) + 1.3)),
        gridspec_kw={"width_ratios": [1, 1.35], "wspace": 0.45},
    )
    vaf_panel(left, clone_rows, True)
    left.set_xlabel("day relative to infusion")
    left.set_title(f"{title}: VAF in marrow DNA", fontsize=8)
    right.set_title(f"{title}: mutant-cell fraction by cell type (95% CI)", fontsize=8)
    if not types:
        right.text(
            0.5,
            0.5,
            "not genotyped: no cell-barcoded BAM reached this site",
            ha="center",
            va="center",
            transform=right.transAxes,
            fontsize=8,
            color="#a33",
        )
        right.set_xticks([])
        right.set_yticks([])
        return png(fig)
    samples = list(dict.fromkeys(cells.sort_values("day")["sample"].astype(str)))
    h = 0.7 / max(len(samples), 1)
    notes: dict[str, list[str]] = {t: [] for t in types}
    for j, s in enumerate(samples):
        c = OKABE_ITO[[4, 5, 2, 6, 0][j % 5]]
        sub = cells[cells["sample"].astype(str) == s]
        for _, r in sub.iterrows():
            i = types.index(str(r["cell_type"]))
            y = i - 0.35 + h * (j + 0.5)
            if r["call"] == NOT_COVERED or pd.isna(r["mutant_fraction"]):
                notes[str(r["cell_type"])].append(labels.get(s, s).split(" (")[0])
                continue
            f, lo, hi = (100 * float(r[k]) for k in ("mutant_fraction", "ci_low", "ci_high"))
            right.errorbar(
                f,
                y,
                xerr=[[max(f - lo, 0)], [max(hi - f, 0)]],
                fmt="o",
                color=c,
                mfc=c if r["call"] == CARRIER else "white",
                ms=4.5,
                capsize=2,
                lw=1,
            )
        right.plot([], [], "o", color=c, label=labels.get(s, s))
    for i, t in enumerate(types):
        if notes[t]:
            right.annotate(
                "not covered: " + ", ".join(notes[t]),
                (1.0, i),
                xycoords=("axes fraction", "data"),
                xytext=(3, 0),
                textcoords="offset points",
                fontsize=6,
                va="center",
                color="#a33",
            )
    right.set_yticks(range(len(types)), types, fontsize=7)
    right.set_ylim(len(types) - 0.5, -0.5)
    right.set_xlim(-2, 102)
    right.set_xlabel("% of covered cells carrying the clone (filled = carrier call)")
    right.legend(fontsize=6.5, frameon=True, framealpha=0.85, loc="best")
    return png(fig)
