"""Cohort scale (issue 27): the workflow writes the cohort table and the clinical files in
parts of patients so that `snakemake -n` stays linear in the cohort size; the joined
parts must be the very files one job over the whole cohort writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from marrowtox.clinical.scores import ClinicalParams, run_clinical
from marrowtox.clinical.tables import load_clinical_tables
from marrowtox.errors import InputError
from marrowtox.report.build import merge_cohort_parts, write_cohort_table


def _sheet(patients: list[str]) -> pd.DataFrame:
    rows = []
    for p in patients:
        rows += [
            (p, f"{p}_BL", "scrna", "BL", -7, "x.h5"),
            (p, f"{p}_D28", "scrna", "D28", 28, "y.h5"),
        ]
    df = pd.DataFrame(rows, columns=["patient", "sample", "assay", "timepoint", "day", "path"])
    for c in ("batch", "normal", "chemistry", "car_construct"):
        df[c] = ""
    return df


def _signature(results: Path, sample: str, index: float) -> None:
    d = results / "signatures"
    d.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "cell_type": ["HSC/MPP", "HSC/MPP"],
            "gene_set": ["HALLMARK_INTERFERON_GAMMA_RESPONSE", "PROGRAM_X"],
            "index_vs_baseline": [index, 99.0],
        }
    ).to_csv(d / f"{sample}.by_celltype.tsv", sep="\t", index=False)


def test_joined_parts_are_the_one_job_table_and_scale(tmp_path: Path) -> None:
    samples = _sheet(["P01", "P02", "P03"])
    results = tmp_path / "results"
    # the cohort's largest |index| is in the second part, and is negative; PROGRAM_X
    # rows (not Hallmark) must not set the scale
    _signature(results, "P01_D28", 1.0)
    _signature(results, "P03_D28", -2.5)
    whole, scale = tmp_path / "whole.tsv", tmp_path / "whole.scale.tsv"
    write_cohort_table(samples, results, whole, scale)
    parts = [["P01", "P02"], ["P03"]]
    for i, pts in enumerate(parts):
        write_cohort_table(
            samples, results, tmp_path / f"t{i}.tsv", tmp_path / f"s{i}.tsv", patients=pts
        )
    assert list(pd.read_csv(tmp_path / "t1.tsv", sep="\t")["patient"]) == ["P03"]
    out, out_scale = tmp_path / "joined.tsv", tmp_path / "joined.scale.tsv"
    merge_cohort_parts(
        [tmp_path / "t0.tsv", tmp_path / "t1.tsv"],
        [tmp_path / "s0.tsv", tmp_path / "s1.tsv"],
        out,
        out_scale,
    )
    assert out.read_bytes() == whole.read_bytes()
    assert out_scale.read_bytes() == scale.read_bytes()
    joined = pd.read_csv(out_scale, sep="\t")
    assert joined["hallmark_index_limit"].iloc[0] == pytest.approx(2.5)
    assert joined["n_samples"].iloc[0] == 2


def test_parts_refuse_unknown_patients_and_foreign_files(tmp_path: Path) -> None:
    samples = _sheet(["P01"])
    with pytest.raises(InputError, match="P99 not in the sample sheet"):
        write_cohort_table(samples, tmp_path, tmp_path / "t.tsv", patients=["P99"])
    other = tmp_path / "other.tsv"
    other.write_text("sample\tvalue\nS1\t1\n")
    with pytest.raises(InputError, match=r"other\.tsv, column 'patient'"):
        merge_cohort_parts([other], [other], tmp_path / "o.tsv", tmp_path / "o.scale.tsv")


def test_clinical_parts_and_cohort_job_write_the_one_job_files(tmp_path: Path) -> None:
    """Per-patient files from parts (write="patients") plus the cohort files
    (write="cohort") are byte for byte those of one run (write="all"), on the demo's
    planted clinical course."""
    from marrowtox.demo import clinical as demo_clinical

    demo_clinical.generate(tmp_path, 7)
    patients, labs, events = load_clinical_tables(
        tmp_path / "labs.tsv", tmp_path / "events.tsv", None, None
    )
    assert len(patients) >= 3
    one, split = tmp_path / "one", tmp_path / "split"
    run_clinical(patients, labs, events, one, ClinicalParams())
    half = len(patients) // 2
    run_clinical(patients[:half], labs, events, split, ClinicalParams(), "patients")
    run_clinical(patients[half:], labs, events, split, ClinicalParams(), "patients")
    assert not (split / "cohort.tsv").exists()
    run_clinical(patients, labs, events, split, ClinicalParams(), "cohort")
    files = sorted(f.name for f in one.iterdir())
    assert files == sorted(f.name for f in split.iterdir())
    assert len(files) == 3 * len(patients) + 2
    for name in files:
        assert (split / name).read_bytes() == (one / name).read_bytes(), name
