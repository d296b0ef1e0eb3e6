"""Sorted fractions (issue 28 item 4): the samples.tsv `fraction` column, sorted scRNA
samples kept out of the marrow, and the lineage call of CH clones from sorted DNA."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from marrowtox.ch.lineage import LYMPHOID, MULTI, MYELOID, call_lineage
from marrowtox.errors import InputError
from marrowtox.samplesheet import is_marrow, is_sorted, load_samples

HEADER = "patient\tsample\tassay\ttimepoint\tday\tpath\tspecimen\tfraction\n"


def _sheet(tmp_path: Path, rows: str) -> Path:
    p = tmp_path / "samples.tsv"
    p.write_text(HEADER + rows)
    return p


def test_fraction_defaults_aliases_and_marrow(tmp_path: Path) -> None:
    p = _sheet(
        tmp_path,
        "P1\ta\tscrna\tBL\t-7\ta.h5\t\t\n"
        "P1\tb\tscrna\tD28\t28\tb.h5\tmarrow\tcd3+car+\n"
        "P1\tc\tscrna\tD28\t28\tc.h5\tblood\t\n"
        "P1\td\tdna\tD28\t28\td.bam\tblood\tMonocytes\n"
        "P1\te\tdna\tD28\t28\te.bam\t\t\n",
    )
    s = load_samples(p, check_files=False)
    assert list(s["fraction"]) == [
        "whole_marrow",
        "CD3+CAR+",
        "whole_blood",
        "CD14",
        "whole_marrow",
    ]
    assert list(s.index[is_sorted(s)]) == ["b", "d"]
    # a CD3+CAR+ sort of marrow is not the marrow: never a time point or the baseline
    assert list(s.index[is_marrow(s)]) == ["a", "e"]


def test_whole_fraction_of_another_specimen_refused(tmp_path: Path) -> None:
    p = _sheet(tmp_path, "P1\ta\tscrna\tBL\t-7\ta.h5\tmarrow\twhole_blood\n")
    with pytest.raises(InputError) as e:
        load_samples(p, check_files=False)
    msg = str(e.value)
    assert "row 2" in msg and "fraction" in msg and "whole_blood" in msg and "whole_marrow" in msg


def test_unknown_fraction_refused_naming_the_vocabulary(tmp_path: Path) -> None:
    p = _sheet(tmp_path, "P1\ta\tdna\tBL\t-7\ta.bam\t\tCD4\n")
    with pytest.raises(InputError) as e:
        load_samples(p, check_files=False)
    assert "'CD4'" in str(e.value) and "CD14" in str(e.value)


def _rows(*rows: tuple) -> pd.DataFrame:
    cols = ["fraction", "lineage_group", "day", "depth", "vaf", "lod_vaf", "detected"]
    return pd.DataFrame(rows, columns=cols)


@pytest.mark.parametrize(
    ("rows", "lineage", "reason"),
    [
        (
            _rows(
                ("CD14", "myeloid", 28, 600, 0.3, 0.016, True),
                ("CD3", "lymphoid", 28, 600, 0.12, 0.016, True),
            ),
            MULTI,
            "CD3 d28 12.0%",
        ),
        (
            _rows(
                ("CD14", "myeloid", 28, 600, 0.0, 0.016, False),
                ("CD3", "lymphoid", 28, 600, 0.05, 0.016, True),
            ),
            LYMPHOID,
            "no myeloid",
        ),
        (
            _rows(
                ("CD14", "myeloid", 28, 600, 0.09, 0.016, True),
                ("CD3", "lymphoid", 28, 600, 0.0, 0.016, False),
            ),
            MYELOID,
            "absent from CD3 d28 LOD 1.6%",
        ),
        # a shallow lymphoid sort cannot exclude a 2% myeloid clone: no call
        (
            _rows(
                ("CD14", "myeloid", 28, 600, 0.02, 0.016, True),
                ("CD3", "lymphoid", 28, 150, 0.0, 0.05, False),
            ),
            "",
            "too shallow",
        ),
        (_rows(("CD14", "myeloid", 28, 600, 0.09, 0.016, True)), "", "no lymphoid fraction"),
        (_rows(("whole_marrow", "whole", 28, 1500, 0.2, 0.007, True)), "", "no sorted"),
        (_rows(("CD3", "lymphoid", 28, 50, 0.2, 0.2, True)), "", "below ch.min_depth"),
        (
            _rows(
                ("CD14", "myeloid", 28, 600, 0.0, 0.016, False),
                ("CD3", "lymphoid", 28, 600, 0.0, 0.016, False),
            ),
            "",
            "not detected",
        ),
    ],
)
def test_lineage_rule(rows: pd.DataFrame, lineage: str, reason: str) -> None:
    call = call_lineage(rows, min_depth=100)
    assert call.lineage == lineage
    assert reason in call.reason


@pytest.mark.workflow
def test_demo_sorted_dna_lineage_calls(demo_run) -> None:
    """P06's planted DNMT3A clone (CD14 and CD3 sorts) is multilineage, its JAK2 V617F
    clone (CD14 only) myeloid-restricted; the sorts are not time points of its course."""
    res = demo_run["results"]
    t = pd.read_csv(res / "ch" / "P06.lineage.tsv", sep="\t")
    calls = t.drop_duplicates(["chrom", "pos", "ref", "alt"]).set_index("hgvsp_short")["lineage"]
    assert calls["p.R882C"] == MULTI
    assert calls["p.V617F"] == MYELOID
    truth = pd.read_csv(demo_run["demo"] / "truth" / "sorted_variants.tsv", sep="\t")
    got = t.merge(truth, on=["sample", "chrom", "pos", "ref", "alt"], suffixes=("", "_truth"))
    assert len(got) == len(truth)
    # the measured VAF of each fraction lies near the planted one (binomial noise at ~600x)
    assert ((got["vaf"] - got["vaf_truth"]).abs() < 0.05).all(), got[["sample", "vaf", "vaf_truth"]]
    clones = pd.read_csv(res / "ch" / "P06.clones.tsv", sep="\t")
    assert not clones["sample"].str.contains("CD14|CD3").any()
    assert not (res / "ch" / "P01.lineage.tsv").exists()


@pytest.mark.workflow
def test_demo_sorted_scrna_is_not_marrow(demo_run) -> None:
    """P05's CD3+CAR+ sort of day-28 marrow (85% CAR T) never stands for the marrow: the
    cohort table's CAR T values come from the whole marrow, and the report shows the
    sort as what it is."""
    res = demo_run["results"]
    pt = pd.read_csv(res / "cohort" / "patients.tsv", sep="\t").set_index("patient")
    assert pt.at["P05", "bm_cart_sample"] == "P05_D28_sc"
    assert pt.at["P05", "bm_cart_pct"] < 30
    html = (res / "reports" / "P05.html").read_text()
    spec = html.split('id="specimens"')[1].split("</section>")[0]
    assert "P05_D28sort_sc" in spec and "marrow, sorted CD3+CAR+" in spec
    marrow = html.split('id="marrow"')[1].split("</section>")[0]
    assert "P05_D28sort_sc" not in marrow
    p06 = (res / "reports" / "P06.html").read_text()
    assert "myeloid-restricted" in p06 and "multilineage" in p06
    assert "Sorted fractions (DNA): multilineage" in p06
    assert "no sorted DNA fraction in samples.tsv" in (res / "reports" / "P01.html").read_text()
