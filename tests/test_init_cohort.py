"""`marrowtox init` (issue 26 item 2): a starter cohort from Cell Ranger folders and BAMs.

A tmp folder is laid out as Cell Ranger writes it (count runs with an .h5 or a matrix
folder, a multi run with per_sample_outs, VDJ and metrics files beside them) with tiny
10x files, plus a folder of indexed BAMs. The written sheet must pass `marrowtox
validate` once the day column is filled.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
import yaml
from scipy import io as spio
from scipy import sparse

from marrowtox.cli import main
from marrowtox.demo.scrna import write_10x_h5
from marrowtox.errors import InputError
from marrowtox.init_cohort import init_cohort

GENES = ["CD3E", "CD8A", "CD34", "HBB", "LYZ", "MT-CO1", "MT-ND1", "GAPDH"]
PATTERN = r"^(?P<patient>P\d+)_(?P<timepoint>[A-Z0-9]+)"
CONTIG = ("chr1", 2000)


def tiny_counts(seed: int, n_cells: int = 30) -> tuple[sparse.csr_matrix, list[str]]:
    r = np.random.default_rng(seed)
    mat = sparse.csr_matrix(r.poisson(3, size=(n_cells, len(GENES))).astype(np.int32))
    bcs = [f"{''.join(r.choice(list('ACGT'), 16))}-1" for _ in range(n_cells)]
    return mat, bcs


def write_h5(path: Path, seed: int, antibodies: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    mat, bcs = tiny_counts(seed)
    adt = None
    if antibodies:
        adt = (np.full((mat.shape[0], 2), 5, dtype=np.int32), ["CD3_TotalSeqC", "CD19_TotalSeqC"])
    write_10x_h5(path, mat, GENES, [f"ENSG{i:011d}" for i in range(len(GENES))], bcs, adt)


def write_matrix_folder(folder: Path, seed: int) -> None:
    folder.mkdir(parents=True)
    mat, bcs = tiny_counts(seed)
    with gzip.open(folder / "matrix.mtx.gz", "wb") as fh:
        spio.mmwrite(fh, sparse.coo_matrix(mat.T), field="integer")
    with gzip.open(folder / "barcodes.tsv.gz", "wt") as fh:
        fh.write("\n".join(bcs) + "\n")
    with gzip.open(folder / "features.tsv.gz", "wt") as fh:
        fh.writelines(f"ENSG{i:011d}\t{g}\tGene Expression\n" for i, g in enumerate(GENES))


def write_bam(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": CONTIG[0], "LN": CONTIG[1]}]}
    with pysam.AlignmentFile(str(path), "wb", header=header) as bam:
        read = pysam.AlignedSegment()
        read.query_name, read.query_sequence = "r1", "A" * 50
        read.reference_id, read.reference_start, read.mapping_quality = 0, 100, 60
        read.cigarstring, read.query_qualities = "50M", pysam.qualitystring_to_array("I" * 50)
        bam.write(read)
    pysam.index(str(path))


def write_reference(d: Path) -> dict[str, str]:
    d.mkdir()
    (d / "ref.fa").write_text(f">{CONTIG[0]}\n" + "ACGT" * (CONTIG[1] // 4) + "\n")
    pysam.faidx(str(d / "ref.fa"))
    (d / "panel.bed").write_text(f"{CONTIG[0]}\t100\t400\tTET2\n")
    (d / "genes.gtf").write_text(
        f'{CONTIG[0]}\tHAVANA\tgene\t101\t400\t.\t+\t.\tgene_id "G1"; gene_name "TET2";\n'
    )
    return {
        "fasta": str(d / "ref.fa"),
        "gtf": str(d / "genes.gtf"),
        "panel_bed": str(d / "panel.bed"),
    }


@pytest.fixture
def cellranger(tmp_path: Path) -> Path:
    """Cell Ranger outputs of two patients: count (.h5 + raw), count (matrix folder),
    multi (per_sample_outs, shared raw), with the files Cell Ranger writes beside."""
    root = tmp_path / "cellranger"
    write_h5(root / "P01_BL" / "outs" / "filtered_feature_bc_matrix.h5", 1)
    write_h5(root / "P01_BL" / "outs" / "raw_feature_bc_matrix.h5", 2)
    (root / "P01_BL" / "outs" / "metrics_summary.csv").write_text("Estimated Number of Cells\n30\n")
    write_matrix_folder(root / "P01_D28" / "outs" / "filtered_feature_bc_matrix", 3)
    multi = root / "run3" / "outs"
    write_h5(
        multi / "per_sample_outs" / "P02_BL" / "count" / "sample_filtered_feature_bc_matrix.h5", 4
    )
    write_h5(
        multi / "per_sample_outs" / "P02_D28" / "count" / "sample_filtered_feature_bc_matrix.h5", 5
    )
    write_h5(multi / "multi" / "count" / "raw_feature_bc_matrix.h5", 6)
    (multi / "per_sample_outs" / "P02_BL" / "vdj_t").mkdir()
    return root


@pytest.fixture
def bams(tmp_path: Path) -> Path:
    for name in ("P01_BL_dna", "P02_BL_dna"):
        write_bam(tmp_path / "bams" / f"{name}.bam")
    return tmp_path / "bams"


def read_sheet(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def test_init_writes_one_row_per_sample_that_validates_after_filling_day(
    cellranger: Path, bams: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "mycohort"
    ref = write_reference(tmp_path / "ref")
    args = ["init", "--out", str(out), "--scrna", str(cellranger), "--dna", str(bams)]
    args += ["--pattern", PATTERN, "--fasta", ref["fasta"], "--gtf", ref["gtf"]]
    assert main([*args, "--panel-bed", ref["panel_bed"]]) == 0
    printed = capsys.readouterr().out
    assert "fill the empty day cells" in printed
    sheet = read_sheet(out / "samples.tsv")
    assert sorted(sheet["sample"]) == [
        "P01_BL", "P01_BL_dna", "P01_D28", "P02_BL", "P02_BL_dna", "P02_D28",
    ]  # fmt: skip
    by = sheet.set_index("sample")
    assert by.loc["P01_BL", "path"].endswith("P01_BL/outs/filtered_feature_bc_matrix.h5")
    assert by.loc["P01_D28", "path"].endswith("outs/filtered_feature_bc_matrix")
    assert by.loc["P02_D28", "path"].endswith("P02_D28/count/sample_filtered_feature_bc_matrix.h5")
    assert by.loc["P02_BL_dna", "assay"] == "dna" and by.loc["P02_BL_dna", "path"].endswith(".bam")
    assert list(by["patient"]) == [s[:3] for s in by.index]
    assert set(by.loc[["P01_BL", "P01_BL_dna"], "timepoint"]) == {"BL"}
    # no proteins: the raw matrix is of no use (DSB only), so it is not named
    assert set(by["raw_matrix"]) == {""}
    assert set(by["day"]) == {""}  # the user's to fill
    # as written, validate names the empty day cells
    config = out / "config.yaml"
    assert main(["validate", "--config", str(config)]) == 2
    assert "column 'day'" in capsys.readouterr().err
    # the user fills the day column: the sheet passes the whole pre-flight
    sheet["day"] = ["-5" if tp == "BL" else "28" for tp in sheet["timepoint"]]
    sheet.to_csv(out / "samples.tsv", sep="\t", index=False)
    assert main(["validate", "--config", str(config)]) == 0, capsys.readouterr().err
    assert "2 patients, 4 scRNA and 2 DNA samples" in capsys.readouterr().out


def test_config_points_at_the_written_tables(cellranger: Path, tmp_path: Path) -> None:
    out = tmp_path / "c"
    paths, _ = init_cohort(out, [cellranger], [], PATTERN)
    config = yaml.safe_load(paths["config"].read_text())
    assert Path(config["samples"]) == (out / "samples.tsv").resolve()
    assert config["labs"] is None and config["events"] is None and config["flow"] is None
    assert "reference" not in config  # scRNA only: no genome asked for
    for name, header in (
        ("labs", "patient\tday\tanalyte\tvalue\tunit"),
        ("events", "patient\tday\tevent\tgrade"),
    ):
        lines = paths[name].read_text().splitlines()
        assert lines[0] == header
        assert len(lines) > 2 and all(line.startswith("#") for line in lines[1:])


def test_templates_with_examples_uncommented_validate(cellranger: Path, tmp_path: Path) -> None:
    """The templates' example rows are valid rows (patient P01 exists here)."""
    out = tmp_path / "c"
    paths, _ = init_cohort(out, [cellranger], [], PATTERN)
    sheet = read_sheet(paths["samples"])
    sheet["day"] = "0"
    sheet.to_csv(paths["samples"], sep="\t", index=False)
    for name in ("labs", "events"):
        rows = [ln.removeprefix("# ") for ln in paths[name].read_text().splitlines()]
        paths[name].write_text(
            "\n".join(r for r in rows if r.startswith(("patient", "P01"))) + "\n"
        )
    config = yaml.safe_load(paths["config"].read_text())
    config.update(labs=str(paths["labs"]), events=str(paths["events"]))
    paths["config"].write_text(yaml.safe_dump(config))
    assert main(["validate", "--config", str(paths["config"]), "--no-file-check"]) == 0


def test_without_pattern_patient_and_timepoint_are_left_to_fill(
    cellranger: Path, tmp_path: Path
) -> None:
    paths, notes = init_cohort(tmp_path / "c", [cellranger])
    sheet = read_sheet(paths["samples"])
    assert set(sheet["patient"]) == {""} and set(sheet["timepoint"]) == {""}
    assert any("patient, timepoint, day" in n for n in notes)


def test_multi_run_with_antibodies_names_the_shared_raw_matrix(tmp_path: Path) -> None:
    outs = tmp_path / "cr" / "run1" / "outs"
    write_h5(
        outs / "per_sample_outs" / "P03_BL" / "count" / "sample_filtered_feature_bc_matrix.h5",
        7,
        antibodies=True,
    )
    write_h5(outs / "multi" / "count" / "raw_feature_bc_matrix.h5", 8, antibodies=True)
    paths, _ = init_cohort(tmp_path / "c", [tmp_path / "cr"], [], PATTERN)
    (row,) = read_sheet(paths["samples"]).to_dict("records")
    assert row["raw_matrix"].endswith("outs/multi/count/raw_feature_bc_matrix.h5")


def test_refuses_to_overwrite(cellranger: Path, tmp_path: Path) -> None:
    out = tmp_path / "c"
    out.mkdir()
    (out / "events.tsv").write_text("mine\n")
    with pytest.raises(InputError, match="does not overwrite") as info:
        init_cohort(out, [cellranger])
    assert info.value.file == str(out / "events.tsv")
    assert (out / "events.tsv").read_text() == "mine\n"
    assert not (out / "samples.tsv").exists()  # nothing written before refusing


@pytest.mark.parametrize(
    ("name", "converter"),
    [
        ("GSM1_counts.txt.gz", "ad.read_text"),
        ("GSM2_counts.csv", "ad.read_csv"),
        ("sample.loom", "ad.read_loom"),
        ("seurat.rds", "zellkonverter"),
    ],
)
def test_unreadable_format_names_the_converter(tmp_path: Path, name: str, converter: str) -> None:
    geo = tmp_path / "geo"
    geo.mkdir()
    (geo / name).write_bytes(b"x")
    with pytest.raises(InputError, match="no scRNA matrix found") as info:
        init_cohort(tmp_path / "c", [geo])
    assert name in str(info.value) and converter in str(info.value)
    # beside readable samples, the file is skipped with the same advice
    write_h5(geo / "P09_BL.h5", 9)
    _, notes = init_cohort(tmp_path / "d", [geo])
    assert any(name in n and converter in n for n in notes)


def test_bad_pattern_is_refused(cellranger: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="named group"):
        init_cohort(tmp_path / "c", [cellranger], [], r"(?P<patient>P\d+)")


@pytest.mark.parametrize(
    ("name", "converter"),
    [
        ("GSM1_counts.txt.gz", "ad.read_text"),
        ("GSM1_counts.tsv", "ad.read_text"),
        ("GSM2_counts.csv.gz", "ad.read_csv"),
        ("sample.loom", "ad.read_loom"),
    ],
)
def test_sheet_naming_an_unread_format_is_refused_with_its_converter(
    tmp_path: Path, name: str, converter: str
) -> None:
    """The same advice when the user writes such a file into samples.tsv themselves."""
    from marrowtox.samplesheet import load_samples

    (tmp_path / name).write_bytes(b"x")
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(
        f"patient\tsample\tassay\ttimepoint\tday\tpath\nP1\tP1_BL\tscrna\tBL\t-5\t{name}\n"
    )
    with pytest.raises(InputError) as info:
        load_samples(sheet)
    assert (info.value.row, info.value.column) == (2, "path")
    assert converter in str(info.value) and "h5ad" in str(info.value)
