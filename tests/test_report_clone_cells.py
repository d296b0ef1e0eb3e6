"""Reports: which cell types carry each clone (issue 17 item 5), the cohort table's
headers and sorting, pseudonymous report file names (issue 16)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from marrowtox.atomic import write_tsv
from marrowtox.genotype.steps import CAR_T
from marrowtox.layout import path as layout_path
from marrowtox.layout import report_stem
from marrowtox.report import clone_cells, glossary
from marrowtox.report.build import (
    cohort_report,
    cohort_rows,
    patient_report,
    rank_text,
    write_cohort_table,
)
from marrowtox.report.names import Names

ROOT = Path(__file__).resolve().parents[1]


def sheet() -> pd.DataFrame:
    rows = [
        ("PX-17", "PX-17_BL_dna", "dna", "BL", -7, "a.bam", ""),
        ("PX-17", "PX-17_BL_sc", "scrna", "BL", -7, "a.h5", ""),
        ("PX-17", "PX-17_D28_dna", "dna", "D28", 28, "b.bam", ""),
        ("PX-17", "PX-17_D28_sc", "scrna", "D28", 28, "b.h5", "scbam/PX-17_D28_sc.bam"),
        ("QY-42", "QY-42_BL_dna", "dna", "BL", -7, "c.bam", ""),
    ]
    df = pd.DataFrame(
        rows, columns=["patient", "sample", "assay", "timepoint", "day", "path", "bam"]
    )
    for c in ("batch", "normal", "chemistry", "car_construct"):
        df[c] = ""
    return df


def clone_rows() -> pd.DataFrame:
    base = {
        "patient": "PX-17",
        "chrom": "chr2",
        "pos": 25234373,
        "ref": "C",
        "alt": "T",
        "gene": "DNMT3A",
        "hgvsp": "p.Arg882His",
        "hgvsp_short": "p.R882H",
        "chip_rule": "hotspot",
        "depth": 1000,
        "lod_vaf": 0.004,
        "status": "expanding",
    }
    rows = [
        {
            **base,
            "sample": "PX-17_BL_dna",
            "day": -7,
            "alt_count": 20,
            "vaf": 0.02,
            "vaf_ci_low": 0.013,
            "vaf_ci_high": 0.03,
            "detected": True,
        },
        {
            **base,
            "sample": "PX-17_D28_dna",
            "day": 28,
            "alt_count": 80,
            "vaf": 0.08,
            "vaf_ci_low": 0.065,
            "vaf_ci_high": 0.098,
            "detected": True,
        },
    ]
    tet2 = {
        **base,
        "chrom": "chr4",
        "pos": 105236000,
        "ref": "C",
        "alt": "T",
        "gene": "TET2",
        "hgvsp": "p.Gln1034Ter",
        "hgvsp_short": "p.Q1034*",
        "status": "stable",
    }
    rows += [
        {
            **tet2,
            "sample": "PX-17_BL_dna",
            "day": -7,
            "alt_count": 30,
            "vaf": 0.03,
            "vaf_ci_low": 0.021,
            "vaf_ci_high": 0.042,
            "detected": True,
        },
        {
            **tet2,
            "sample": "PX-17_D28_dna",
            "day": 28,
            "alt_count": 31,
            "vaf": 0.031,
            "vaf_ci_low": 0.022,
            "vaf_ci_high": 0.043,
            "detected": True,
        },
    ]
    return pd.DataFrame(rows)


def cc(
    variant: str, cell_type: str, n: int, k: int, frac: float, lo: float, hi: float, call: str
) -> dict:
    return {
        "sample": "PX-17_D28_sc",
        "day": 28,
        "variant": variant,
        "cell_type": cell_type,
        "cells_covered": n,
        "cells_alt": k,
        "alt_cell_fraction": k / n if n else None,
        "mutant_fraction": frac,
        "ci_low": lo,
        "ci_high": hi,
        "background_rate": 0.001,
        "p_value": 0.001 if call == "carrier" else 0.5,
        "call": call,
    }


def cell_table() -> pd.DataFrame:
    nan = float("nan")
    return pd.DataFrame(
        [
            cc("DNMT3A_R882H", "HSC/MPP", 120, 30, 0.5, 0.38, 0.63, "carrier"),
            cc("DNMT3A_R882H", "monocyte", 300, 70, 0.45, 0.37, 0.54, "carrier"),
            cc("DNMT3A_R882H", "CD4 T", 200, 1, 0.0, 0.0, 0.02, "not carrier"),
            cc("DNMT3A_R882H", "erythroid", 2, 0, nan, nan, nan, "not covered"),
            cc("TET2_Q1034*", "CD4 T", 150, 20, 0.28, 0.18, 0.39, "carrier"),
            cc("TET2_Q1034*", CAR_T, 40, 9, 0.41, 0.22, 0.62, "carrier"),
            cc("TET2_Q1034*", "monocyte", 250, 0, 0.0, 0.0, 0.03, "not carrier"),
        ]
    )


@pytest.fixture()
def results(tmp_path: Path) -> Path:
    r = tmp_path / "results"
    write_tsv(clone_rows(), layout_path("clones", r, patient="PX-17"))
    write_tsv(cell_table(), layout_path("clone_cells", r, patient="PX-17"))
    return r


def test_clone_variant_ids_match_the_genotyper() -> None:
    c = clone_rows().iloc[0]
    ids = clone_cells.clone_variant_ids(c)
    assert ids[0] == "DNMT3A_R882H"
    assert ids[-1] == "chr2_25234373_C_T" or ids[-1].startswith("chr2")


def test_fractions_table_not_covered_and_not_genotyped() -> None:
    s = sheet()
    names = Names(s, False)
    sc = s[(s["patient"] == "PX-17") & (s["assay"] == "scrna")]
    got = clone_cells.fractions(clone_rows().iloc[0], cell_table(), sc, names)
    assert got.variant == "DNMT3A_R882H"
    assert got.genotyped == [False, True]  # BL has no bam
    rows = dict(got.rows)
    assert [t for t, _ in got.rows] == ["HSC/MPP", "monocyte", "erythroid", "CD4 T"]
    assert rows["HSC/MPP"][0] == ("not genotyped", "nm")
    text, cls = rows["HSC/MPP"][1]
    assert text == "50.0% (38.0%-63.0%); 30/120 cells with alt" and cls == "carrier"
    # not covered is said, never shown as 0
    text, cls = rows["erythroid"][1]
    assert text.startswith("not covered (2 cells") and cls == "nm" and "0.0%" not in text
    assert got.carrier_types == ["HSC/MPP", "monocyte"]
    assert got.in_car_t == []
    tet2 = clone_cells.fractions(clone_rows().iloc[2], cell_table(), sc, names)
    assert tet2.carrier_types == ["CD4 T", CAR_T]
    assert len(tet2.in_car_t) == 1 and tet2.in_car_t[0].startswith("41.0% (22.0%-62.0%)")


def test_fractions_without_any_genotyping() -> None:
    s = sheet().assign(bam="")
    sc = s[(s["patient"] == "PX-17") & (s["assay"] == "scrna")]
    got = clone_cells.fractions(clone_rows().iloc[0], None, sc, Names(s, False))
    assert got.variant is None and got.rows == [] and got.genotyped == [False, False]


def test_carrier_lineages() -> None:
    text = clone_cells.carrier_lineages(clone_rows(), cell_table())
    assert text == "DNMT3A R882H: HSPC, myeloid; TET2 Q1034*: T/NK, CAR T"
    assert clone_cells.carrier_lineages(clone_rows(), None) is None
    uncovered = cell_table().assign(call="not covered")
    assert "DNMT3A R882H: not covered" in clone_cells.carrier_lineages(clone_rows(), uncovered)


def test_patient_report_shows_fractions_and_flags_car_t(results: Path, tmp_path: Path) -> None:
    s = sheet()
    write_cohort_table(s, results, results / "cohort" / "patients.tsv")
    table = pd.read_csv(results / "cohort" / "patients.tsv", sep="\t").set_index("patient")
    assert table.loc["PX-17", "ch_carrier_lineages"].endswith("TET2 Q1034*: T/NK, CAR T")
    assert pd.isna(table.loc["QY-42", "ch_carrier_lineages"])
    assert "not genotyped" in table.loc["QY-42", "missing"]
    out = tmp_path / "p.html"
    patient_report("PX-17", s, None, results, out)
    page = out.read_text()
    section = page[page.index('id="clone-cells"') : page.index('id="qc"')]
    assert section.count('class="clone"') == 2
    assert "in CAR T cells" in section and "not genotyped" in section
    assert "not covered (2 cells reached)" in section
    assert section.count("<img") == 2
    flags = page[page.index('id="flags"') : page.index('id="marrow"')]
    assert "clone in CAR T cells: TET2 Q1034*" in flags
    assert "clone in CAR T cells: DNMT3A" not in flags


def test_rank_says_its_direction() -> None:
    vals = pd.Series([1.0, 2.0, 3.0, 3.0, 5.0, 8.0])
    assert rank_text(1.0, vals) == "lowest of 6"
    assert rank_text(8.0, vals) == "highest of 6"
    assert rank_text(2.0, vals) == "2nd lowest of 6"
    assert rank_text(3.0, vals) == "3rd lowest of 6 (tied with 1 other)"


def test_cohort_rows_headers_units_percent_links() -> None:
    shown = pd.DataFrame(
        {"patient": ["A", "B"], "ch_max_vaf": [0.141, None], "bm_cart_pct": [14.4, 2.0]}
    )
    cols, rows = cohort_rows(shown, ["a_stem", "b_stem"])
    assert [c["header"] for c in cols] == ["Patient", "Max VAF (%)", "Marrow CAR T (% of cells)"]
    assert rows[0][0]["href"] == "a_stem.html"
    assert rows[0][1]["text"] == "14.10" and float(rows[0][1]["key"]) == pytest.approx(14.1)
    assert rows[1][1]["text"] == "" and rows[1][1]["key"] == ""  # not measured sorts last


def test_glossary_covers_every_column_and_is_in_the_readme() -> None:
    from marrowtox.report.cohort_table import COLUMNS

    assert set(COLUMNS) == set(glossary.GLOSSARY)
    assert glossary.markdown() in (ROOT / "README.md").read_text()


def test_pseudonymous_file_stems() -> None:
    s = sheet()
    names = Names(s, True)
    assert report_stem("PX-17", ["QY-42", "PX-17"], True) == "patient_001"
    assert report_stem("PX-17", ["QY-42", "PX-17"], False) == "PX-17"
    assert names.file_stem("QY-42") == "patient_002"
    assert names.patient_of_stem("patient_002") == "QY-42"
    assert Names(s, False).patient_of_stem("PX-17") == "PX-17"
    with pytest.raises(KeyError, match="patient_009"):
        names.patient_of_stem("patient_009")


def test_pseudonymised_outputs_carry_no_id(results: Path, tmp_path: Path) -> None:
    s = sheet()
    write_cohort_table(s, results, results / "cohort" / "patients.tsv")
    out = tmp_path / "reports"
    names = Names(s, True)
    for p in ("PX-17", "QY-42"):
        patient_report(
            names.file_stem(p), s, None, results, out / f"{names.file_stem(p)}.html", True
        )
    cohort_report(s, results, out / "cohort.html", pseudonymise=True)
    ids = [*s["patient"], *s["sample"], "PX", "QY"]
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["cohort.html", "patient_001.html", "patient_002.html"]
    for f in files:
        # base64 image data can hold any two letters by chance: checked apart (PNG chunks:
        # tests/test_report_pseudonymise.py)
        text = re.sub(r"data:image/png;base64,[^\"]+", "", f.read_text())
        assert not any(i in f.name for i in ids)
        leaked = [i for i in ids if i in text]
        assert not leaked, (f.name, leaked)
    page = (out / "patient_001.html").read_text()
    assert "clone in CAR T cells" in page and "Patient 001" in page
    cohort = (out / "cohort.html").read_text()
    assert 'href="patient_001.html"' in cohort and 'href="patient_002.html"' in cohort
    # a small-n caveat beside each of the two correlations
    assert cohort.count('<p class="cap caveat">With n = ') == 2
    # the cohort table's sort script is inline, and nothing is fetched from anywhere
    assert not re.search(r'(src|href)="(https?:)?//', cohort)
    assert "<script>" in cohort and "<script src" not in cohort
