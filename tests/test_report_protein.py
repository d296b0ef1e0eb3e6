"""The patient report's surface-protein section (issue 20): shown for samples with
proteins (agreement, heatmap, CAR T panel), absent for a patient without, and
pseudonymised like the rest of the report."""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import pandas as pd
import pytest

from marrowtox.layout import path as layout_path

PANEL = ["CD69", "CD25", "HLA-DR", "CD38", "CD279", "CD366", "CD223", "TIGIT"]


def _sheet(tmp: Path) -> pd.DataFrame:
    rows = [
        ("PA", "PA_BL_sc", -7),
        ("PA", "PA_D28_sc", 28),
        ("PB", "PB_D28_sc", 28),
    ]
    return pd.DataFrame(
        [
            {
                "patient": p,
                "sample": s,
                "assay": "scrna",
                "timepoint": s.split("_")[1],
                "day": d,
                "path": str(tmp / f"{s}.h5"),
                "batch": p,
                "normal": "",
                "chemistry": "",
                "car_construct": "",
                "bam": "",
                "adt": "",
            }
            for p, s, d in rows
        ]
    )


def _results(tmp: Path) -> Path:
    res = tmp / "results"
    for s, agree in (("PA_BL_sc", 0.93), ("PA_D28_sc", 0.91)):
        a = layout_path("protein_agreement", res, sample=s)
        a.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(
            [
                {
                    "sample": s,
                    "n_rna_cells": 1800,
                    "n_shared_barcodes": 1790,
                    "n_proteins": 44,
                    "isotype_controls": "Mouse_IgG1_isotype,Rat_IgG2b_isotype",
                    "normalisation": "CLR (muon.prot.pp.clr, seurat flavour)",
                    "n_both_called": 1500,
                    "agreement_type": agree,
                    "agreement_coarse": 0.97,
                    "n_by_protein": 12,
                    "note": "",
                }
            ]
        ).to_csv(a, sep="\t", index=False)
        by = pd.DataFrame(
            [
                {"sample": s, "cell_type": t, "protein": p, "n_cells": 50, "mean": m, "median": m}
                for t, base in (("CD8 T", 2.0), ("monocyte", 0.5))
                for p, m in (("CD3", base), ("CD14", 2.5 - base))
            ]
        )
        by.to_csv(layout_path("protein_by_celltype", res, sample=s), sep="\t", index=False)
    cart = layout_path("cart", res, sample="PA_D28_sc")
    cart.parent.mkdir(parents=True, exist_ok=True)
    row = {"sample": "PA_D28_sc", "n_cells": 1800, "car_status": "measured"}
    row.update({"prot_panel_measured": ",".join(PANEL), "prot_panel_note": ""})
    for p in PANEL:
        c = p.replace("-", "_")
        row.update({f"prot_{c}_diff": 0.8, f"prot_{c}_p": 1e-12})
    pd.DataFrame([row]).to_csv(cart, sep="\t", index=False)
    return res


def _section(page: str) -> str:
    i = page.index('<section id="protein">')
    return page[i : page.index("</section>", i)]


@pytest.fixture
def reports(tmp_path: Path) -> dict[str, str]:
    from marrowtox.report.build import patient_report

    samples, res = _sheet(tmp_path), _results(tmp_path)
    out = {}
    for p, pseudo in (("PA", False), ("PB", False), ("PA", True)):
        f = tmp_path / f"{p}{pseudo}.html"
        stem = p if not pseudo else "patient_001"
        patient_report(stem, samples, None, res, f, pseudonymise=pseudo)
        out[f"{p}{'_pseudo' if pseudo else ''}"] = f.read_text()
    return out


def test_protein_section_for_samples_with_proteins(reports) -> None:
    sec = _section(reports["PA"])
    text = html_lib.unescape(re.sub(r"<[^>]+>", "|", sec))
    assert "93.0%" in text and "91.0%" in text and "97.0%" in text  # agreement per sample
    assert "1790 of 1800" in text and "CLR (muon.prot.pp.clr" in text
    assert sec.count('src="data:image/png;base64,') == 2  # one heatmap per sample
    assert "CAR T activation and exhaustion proteins" in text
    for p in PANEL:
        assert f"|{p}|" in text, p
    assert "+0.80 (p 1e-12)" in text


def test_no_protein_section_without_proteins(reports) -> None:
    assert 'id="protein"' not in reports["PB"]


def test_protein_section_pseudonymised(reports) -> None:
    page = reports["PA_pseudo"]
    sec = _section(page)
    assert "93.0%" in sec
    for ident in ("PA_BL_sc", "PA_D28_sc", "PA"):
        assert not re.search(rf"\b{ident}\b", sec), ident
