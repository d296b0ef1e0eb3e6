"""The patient report's surface-protein section (CITE-seq samples only; docs/protein.md).

Per marrow sample with proteins: the RNA-vs-protein label agreement of
results/singlecell/protein/<sample>.agreement.tsv, the protein x cell type heatmap
(the figure of results/singlecell/plots/<sample>.protein.png, redrawn from
<sample>.by_celltype.tsv so its title carries the report's sample label: the
pseudonym when pseudonymised), and the CAR T activation/exhaustion panel of
results/cart/<sample>.tsv (CAR T minus non-CAR T, with p). Samples without proteins
are not listed; a patient without any has no such section.
"""

from __future__ import annotations

import pandas as pd

from marrowtox.cart.protein import column
from marrowtox.layout import path as layout_path
from marrowtox.report import html
from marrowtox.report.inputs import Results, read_tsv
from marrowtox.report.names import Names


def _pct(v) -> str:
    return "" if v is None or pd.isna(v) else f"{100 * float(v):.1f}%"


def protein_section(sc: pd.DataFrame, res: Results, names: Names) -> dict | None:
    """{'samples': rows, 'figs': [(label, uri)], 'panel_cols', 'panel_rows'} or None."""
    from marrowtox.prot.steps import heatmap_figure, heatmap_title
    from marrowtox.report.plots import png

    rows, figs, panels = [], [], []
    for s, day in zip(sc["sample"], sc["day"], strict=True):
        agree = read_tsv(layout_path("protein_agreement", res.root, sample=s))
        if agree is None:
            continue
        a = agree.iloc[0]
        label = names.timepoint(s)
        rows.append(
            {
                "sample": label,
                "day": html.fmt(day),
                "cells": f"{html.fmt(a['n_shared_barcodes'])} of {html.fmt(a['n_rna_cells'])}",
                "proteins": html.fmt(a["n_proteins"]),
                "isotypes": html.fmt(a["isotype_controls"]) or "none",
                "normalisation": str(a["normalisation"]),
                "both": html.fmt(a["n_both_called"]),
                "type": _pct(a["agreement_type"]),
                "coarse": _pct(a["agreement_coarse"]),
                "by_protein": html.fmt(a["n_by_protein"]),
                "note": names.scrub(a["note"]),
            }
        )
        by = read_tsv(layout_path("protein_by_celltype", res.root, sample=s))
        if by is not None and not by.empty:
            figs.append((label, html.data_uri(png(heatmap_figure(by, heatmap_title(label))))))
        cart = read_tsv(res.cart(s))
        if cart is not None and "prot_panel_measured" in cart:
            panels.append((label, cart.iloc[0]))
    if not rows:
        return None
    panel_names: list[str] = []
    for _, c in panels:
        for p in str(c["prot_panel_measured"]).split(","):
            if p and p != "nan" and p not in panel_names:
                panel_names.append(p)
    panel_rows = []
    for p in panel_names:
        cells = []
        for _, c in panels:
            d, pv = c.get(f"prot_{column(p)}_diff"), c.get(f"prot_{column(p)}_p")
            cells.append("" if d is None or pd.isna(d) else f"{float(d):+.2f} (p {float(pv):.2g})")
        panel_rows.append((p, cells))
    notes = [
        f"{label}: {c['prot_panel_note']}"
        for label, c in panels
        if isinstance(c.get("prot_panel_note"), str) and c["prot_panel_note"]
    ]
    return {
        "samples": rows,
        "figs": figs,
        "panel_cols": [label for label, _ in panels],
        "panel_rows": panel_rows,
        "panel_notes": [names.scrub(n) for n in notes],
    }
