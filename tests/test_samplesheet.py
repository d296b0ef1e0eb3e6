"""Pre-flight validation of the sample sheet, labs and events: each fault is named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from marrowtox.errors import InputError
from marrowtox.inputs import load_all
from marrowtox.samplesheet import load_samples

HEADER = "patient\tsample\tassay\ttimepoint\tday\tpath\tbatch\n"


def make_sheet(tmp: Path, rows: list[str], header: str = HEADER) -> Path:
    (tmp / "data").mkdir(exist_ok=True)
    for name in ("a.h5", "b.h5", "c.bam", "c.bam.bai", "noidx.bam"):
        (tmp / "data" / name).write_bytes(b"")
    sheet = tmp / "samples.tsv"
    sheet.write_text(header + "".join(r + "\n" for r in rows))
    return sheet


GOOD = [
    "P1\tP1_BL_sc\tscrna\tBL\t-7\tdata/a.h5\tb1",
    "P1\tP1_D28_sc\tscrna\tD28\t28\tdata/b.h5\tb1",
    "P1\tP1_BL_dna\tdna\tBL\t-7\tdata/c.bam\t",
]


def test_good_sheet_resolves_paths_relative_to_sheet(tmp_path: Path) -> None:
    df = load_samples(make_sheet(tmp_path, GOOD))
    assert list(df.index) == ["P1_BL_sc", "P1_D28_sc", "P1_BL_dna"]
    assert df.at["P1_BL_sc", "path"] == str(tmp_path / "data" / "a.h5")
    assert df.at["P1_D28_sc", "day"] == 28
    # an empty batch falls back to the patient
    assert df.at["P1_BL_dna", "batch"] == "P1"


def fault(tmp_path: Path, rows: list[str], header: str = HEADER) -> InputError:
    sheet = make_sheet(tmp_path, rows, header)
    with pytest.raises(InputError) as info:
        load_samples(sheet)
    assert str(sheet) in str(info.value)
    return info.value


def test_missing_column(tmp_path: Path) -> None:
    header = "patient\tsample\tassay\ttimepoint\tpath\tbatch\n"
    rows = [r.replace("\t-7\t", "\t").replace("\t28\t", "\t") for r in GOOD]
    err = fault(tmp_path, rows, header)
    assert err.column == "day" and err.row == 1
    assert "required column is missing" in str(err)


def test_misspelt_column_suggests_name(tmp_path: Path) -> None:
    err = fault(tmp_path, GOOD, HEADER.replace("batch", "bacth"))
    assert err.column == "bacth"
    assert "did you mean 'batch'" in str(err)


def test_unknown_assay(tmp_path: Path) -> None:
    rows = GOOD[:2] + [GOOD[2].replace("\tdna\t", "\tatac\t")]
    err = fault(tmp_path, rows)
    assert (err.row, err.column) == (4, "assay")
    assert "scrna, dna" in str(err) and "'atac'" in str(err)


@pytest.mark.parametrize("day", ["d28", "28.5", ""])
def test_non_integer_day(tmp_path: Path, day: str) -> None:
    rows = [GOOD[0], GOOD[1].replace("\t28\t", f"\t{day}\t"), GOOD[2]]
    err = fault(tmp_path, rows)
    assert (err.row, err.column) == (3, "day")
    assert "integer" in str(err)


def test_missing_file(tmp_path: Path) -> None:
    rows = [GOOD[0].replace("a.h5", "gone.h5")] + GOOD[1:]
    err = fault(tmp_path, rows)
    assert (err.row, err.column) == (2, "path")
    assert "gone.h5" in str(err)


def test_duplicate_sample_id(tmp_path: Path) -> None:
    rows = GOOD + [GOOD[1].replace("b.h5", "a.h5")]
    err = fault(tmp_path, rows)
    assert (err.row, err.column) == (5, "sample")
    assert "duplicate sample id 'P1_D28_sc'" in str(err) and "row 3" in str(err)


def test_bam_without_index(tmp_path: Path) -> None:
    rows = GOOD[:2] + [GOOD[2].replace("c.bam", "noidx.bam")]
    err = fault(tmp_path, rows)
    assert (err.row, err.column) == (4, "path")
    assert "index" in str(err) and "samtools index" in str(err)


def test_sample_id_with_path_characters_refused(tmp_path: Path) -> None:
    rows = [GOOD[0].replace("P1_BL_sc", "P1/BL sc")] + GOOD[1:]
    err = fault(tmp_path, rows)
    assert (err.row, err.column) == (2, "sample")


def test_labs_patient_not_in_samples(tmp_path: Path) -> None:
    sheet = make_sheet(tmp_path, GOOD)
    labs = tmp_path / "labs.tsv"
    labs.write_text(
        "patient\tday\tanalyte\tvalue\tunit\nP1\t0\tanc\t1500\t/uL\nP2\t1\tanc\t900\t/uL\n"
    )
    with pytest.raises(InputError) as info:
        load_all({"samples": str(sheet), "labs": str(labs), "events": None})
    assert (info.value.row, info.value.column) == (3, "patient")
    assert "'P2' is not in the sample sheet" in str(info.value)


def test_events_unknown_event(tmp_path: Path) -> None:
    sheet = make_sheet(tmp_path, GOOD)
    events = tmp_path / "events.tsv"
    events.write_text("patient\tday\tevent\tgrade\nP1\t0\tinfusion\t\nP1\t3\tcrs_fever\t1\n")
    with pytest.raises(InputError) as info:
        load_all({"samples": str(sheet), "labs": None, "events": str(events)})
    assert (info.value.row, info.value.column) == (3, "event")


def test_cli_validate_reports_without_traceback(tmp_path: Path) -> None:
    rows = GOOD[:2] + [GOOD[2].replace("c.bam", "noidx.bam")]
    sheet = make_sheet(tmp_path, rows)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"samples: {sheet}\nlabs: null\nevents: null\n"
        "reference: {fasta: x.fa, gtf: x.gtf, panel_bed: x.bed}\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "marrowtox.cli", "validate", "--config", str(cfg)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "row 4" in proc.stderr and "column 'path'" in proc.stderr


def test_validate_prints_every_fault_at_once(tmp_path: Path, capsys) -> None:
    """Issue 25 item 5: three tables with one mistake each and a config typo: one run of
    `marrowtox validate` names all four, one line each; the config key is called a key
    and gets "did you mean"."""
    import yaml

    from marrowtox.cli import main

    (tmp_path / "samples.tsv").write_text(
        "patient\tsample\tassay\ttimepoint\tday\tpath\nP1\tS1\tscrna\tBL\td28\tx.h5\n"
    )
    (tmp_path / "labs.tsv").write_text(
        "patient\tday\tanalyte\tvalue\tunit\nP1\t0\tneutrophilz\t800\t/uL\n"
    )
    (tmp_path / "events.tsv").write_text("patient\tday\tevent\tgrade\nP1\t2\tcrx\t1\n")
    cfg = {
        "samples": str(tmp_path / "samples.tsv"),
        "labs": str(tmp_path / "labs.tsv"),
        "events": str(tmp_path / "events.tsv"),
        "reference": {"fasta": "", "gtf": "", "panel_bed": ""},
        "ch": {"min_dept": 50},
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    rc = main(["validate", "--config", str(tmp_path / "config.yaml"), "--no-file-check"])
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 4, err
    assert "key 'ch.min_dept'" in err and "did you mean 'min_depth'" in err
    assert "samples.tsv, row 2, column 'day'" in err
    assert "labs.tsv, row 2, column 'analyte'" in err
    assert "events.tsv, row 2, column 'event'" in err


def test_validate_lists_every_faulty_row_of_a_table(tmp_path: Path, capsys) -> None:
    """Issue 25 item 5: a table with several bad rows lists each one (one line per row),
    not only its first: cells refused by the schema, rows refused by the sheet's own
    checks (duplicate ids, unknown construct), labs rows of unknown patients beside
    unknown analytes and units, events rows without a grade."""
    import yaml

    from marrowtox.cli import main

    head = "patient\tsample\tassay\ttimepoint\tday\tpath\n"
    (tmp_path / "bad_cells.tsv").write_text(
        head
        + "P1\tS1\tscrna\tBL\t-7\tx.h5\n"
        + "P1\tS2\tscrna\tD28\tseven\tx.h5\n"
        + "P2\tS3\tscrnaa\tBL\t-7\tx.h5\n"
        + "P2\tS4\tdna\tBL\tx\tx.bam\n"
    )
    cfg = {"samples": str(tmp_path / "bad_cells.tsv")}
    (tmp_path / "a.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["validate", "--config", str(tmp_path / "a.yaml"), "--no-file-check"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 3, err
    for row, col in ((3, "day"), (4, "assay"), (5, "day")):
        assert f"row {row}, column '{col}'" in err

    (tmp_path / "dups.tsv").write_text(
        head
        + "P1\tS1\tscrna\tBL\t-7\tx.h5\n"
        + "P1\tS1\tscrna\tD28\t28\tx.h5\n"
        + "P2\tS3\tscrna\tBL\t-7\tx.h5\n"
        + "P2\tS3\tscrna\tD28\t28\tx.h5\n"
    )
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"samples": str(tmp_path / "dups.tsv")}))
    assert main(["validate", "--config", str(tmp_path / "c.yaml"), "--no-file-check"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 2, err
    assert "row 3, column 'sample'" in err and "row 5, column 'sample'" in err

    (tmp_path / "samples.tsv").write_text(
        head + "P1\tS1\tscrna\tBL\t-7\tx.h5\n" + "P2\tS3\tscrna\tBL\t-7\tx.h5\n"
    )
    (tmp_path / "labs.tsv").write_text(
        "patient\tday\tanalyte\tvalue\tunit\n"
        "P1\t-5\tanc\t1000\tcells/uL\n"
        "P1\t-5\tneutrophilz\t1\tcells/uL\n"
        "P9\t-5\tanc\t900\tcells/uL\n"
        "P2\t-5\tplatelets\t90\tfurlongs\n"
    )
    (tmp_path / "events.tsv").write_text(
        "patient\tday\tevent\tgrade\nP1\t0\tinfusion\t\nP1\t2\tcrs\t\nP2\t3\ticans\t\n"
    )
    cfg = {k: str(tmp_path / f"{k}.tsv") for k in ("samples", "labs", "events")}
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["validate", "--config", str(tmp_path / "b.yaml"), "--no-file-check"]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert "Traceback" not in err and len(lines) == 5, err
    assert "labs.tsv, row 3, column 'analyte'" in err
    assert "labs.tsv, row 4, column 'patient'" in err
    assert "labs.tsv, row 5, column 'unit'" in err
    assert "events.tsv, row 3, column 'grade'" in err and "events.tsv, row 4" in err


def test_many_faulty_rows_are_capped_with_a_count(tmp_path: Path) -> None:
    """A sheet with more bad rows than MAX_FAULTS: one line each up to the cap, then a
    count of the rest."""
    import pytest

    from marrowtox.errors import MAX_FAULTS, InputError
    from marrowtox.samplesheet import load_samples

    n = MAX_FAULTS + 7
    rows = "".join(f"P{i}\tS{i}\tscrna\tBL\tday{i}\tx.h5\n" for i in range(n))
    (tmp_path / "s.tsv").write_text("patient\tsample\tassay\ttimepoint\tday\tpath\n" + rows)
    with pytest.raises(InputError) as exc:
        load_samples(tmp_path / "s.tsv", check_files=False)
    text = str(exc.value)
    assert text.count("column 'day'") == MAX_FAULTS and text.endswith("... and 7 more faults")


def test_fault_list_is_capped_with_a_count() -> None:
    from marrowtox.errors import MAX_FAULTS, InputError, InputErrors

    text = str(InputErrors([InputError(f"fault {i}", row=i) for i in range(MAX_FAULTS + 5)]))
    assert text.count("\n") == MAX_FAULTS and text.endswith("... and 5 more faults")


SPECIMEN_HEADER = "patient\tsample\tassay\ttimepoint\tday\tpath\tspecimen\n"


def test_specimen_column_vocabulary_and_default(tmp_path: Path) -> None:
    """specimen: marrow by default for scrna, case-insensitive with aliases (issue 25
    item 1); an unknown specimen is refused naming row, column and the accepted ones."""
    rows = [
        "P1\tP1_BL\tscrna\tBL\t-7\tdata/a.h5\tMarrow",
        "P1\tP1_prod\tscrna\tprod\t0\tdata/b.h5\tPRODUCT",
        "P1\tP1_D28\tscrna\tD28\t28\tdata/a.h5\t",
        "P1\tP1_pb\tscrna\tD7\t7\tdata/b.h5\tPB",
        "P1\tP1_dna\tdna\tBL\t-7\tdata/c.bam\t",
    ]
    df = load_samples(make_sheet(tmp_path, rows, SPECIMEN_HEADER))
    assert df["specimen"].to_dict() == {
        "P1_BL": "marrow",
        "P1_prod": "product",
        "P1_D28": "marrow",
        "P1_pb": "blood",
        "P1_dna": None,
    }
    assert not df.at["P1_D28", "specimen_given"] and df.at["P1_prod", "specimen_given"]
    err = fault(tmp_path, ["P1\tP1_BL\tscrna\tBL\t-7\tdata/a.h5\tplasma"], SPECIMEN_HEADER)
    assert (err.row, err.column) == (2, "specimen") and "apheresis" in str(err)


def test_day0_scrna_without_specimen_warns(tmp_path: Path) -> None:
    rows = ["P1\tP1_d0\tscrna\tD0\t0\tdata/a.h5\t", "P1\tP1_BL\tscrna\tBL\t-7\tdata/b.h5\t"]
    tables = load_all({"samples": str(make_sheet(tmp_path, rows, SPECIMEN_HEADER))})
    assert len(tables.warnings) == 1
    assert "P1_d0" in tables.warnings[0] and "specimen" in tables.warnings[0]
    # no column at all (an old sheet): same warning
    tables = load_all(
        {"samples": str(make_sheet(tmp_path, ["P1\tP1_d0\tscrna\tD0\t0\tdata/a.h5\t"]))}
    )
    assert any("P1_d0" in w for w in tables.warnings)
    # said: no warning
    rows = ["P1\tP1_d0\tscrna\tD0\t0\tdata/a.h5\tproduct"]
    assert load_all({"samples": str(make_sheet(tmp_path, rows, SPECIMEN_HEADER))}).warnings == []


def _composition(res_root: Path, sample: str, hspc: int, other: int) -> None:
    from marrowtox.layout import Results

    out = Results(res_root).composition(sample)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        f"cell_type\tn_cells\tis_hspc\nHSC/MPP\t{hspc}\tTrue\nMonocyte\t{other}\tFalse\n"
    )


def test_day0_product_is_not_the_marrow_baseline(tmp_path: Path) -> None:
    """A day-0 CAR T product next to a day -7 marrow: the marrow is the baseline and the
    HSPC baseline comes from it (before: the latest scRNA sample on or before day 0, the
    product, with 0% HSPC)."""
    from marrowtox.layout import Results
    from marrowtox.report.cohort_table import patient_row

    rows = [
        "P1\tP1_BM\tscrna\tBL\t-7\tdata/a.h5\tmarrow",
        "P1\tP1_prod\tscrna\tprod\t0\tdata/b.h5\tproduct",
    ]
    samples = load_samples(make_sheet(tmp_path, rows, SPECIMEN_HEADER))
    _composition(tmp_path / "res", "P1_BM", 268, 9732)
    _composition(tmp_path / "res", "P1_prod", 0, 5000)
    row = patient_row("P1", samples.reset_index(drop=True), Results(tmp_path / "res"))
    assert row["hspc_pct_baseline"] == pytest.approx(2.68)
    assert row["n_scrna_samples"] == 2


def test_umi_column_default_and_vocabulary(tmp_path: Path) -> None:
    """umi (issue 29): absent or empty = none (every read counted, the behaviour without
    UMIs); rx / read_name on dna rows; refused on scrna rows and outside the vocabulary,
    naming row and column."""
    assert set(load_samples(make_sheet(tmp_path, GOOD))["umi"]) == {"none"}
    header = "patient\tsample\tassay\ttimepoint\tday\tpath\tumi\n"
    rows = [
        "P1\tP1_BL_sc\tscrna\tBL\t-7\tdata/a.h5\t",
        "P1\tP1_BL_dna\tdna\tBL\t-7\tdata/c.bam\trx",
        "P1\tP1_D28_dna\tdna\tD28\t28\tdata/c.bam\t",
    ]
    df = load_samples(make_sheet(tmp_path, rows, header))
    assert df["umi"].to_dict() == {"P1_BL_sc": "none", "P1_BL_dna": "rx", "P1_D28_dna": "none"}
    err = fault(tmp_path, ["P1\tP1_BL_sc\tscrna\tBL\t-7\tdata/a.h5\trx"], header)
    assert (err.row, err.column) == (2, "umi") and "scrna" in str(err)
    err = fault(tmp_path, ["P1\tP1_dna\tdna\tBL\t-7\tdata/c.bam\ttag"], header)
    assert err.column == "umi" and "read_name" in str(err)
    # inline (a FASTQ with the UMI at the read start) needs its umi_layout
    err = fault(tmp_path, ["P1\tP1_dna\tdna\tBL\t-7\tdata/c.bam\tinline"], header)
    assert err.column == "umi_layout" and "without a umi_layout" in str(err)
