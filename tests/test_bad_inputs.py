"""Bad-input suite (issue 7): every case ends in a clear error before any job, or in a
documented graceful result.

Errors are checked through `marrowtox validate` (the same pre-flight that
workflow/rules/common.smk runs before Snakemake schedules a job): exit code 2, one
line naming the file, row and column, the expectation, and no traceback. A few cases
also go through Snakemake itself to show that no job starts. Cases are listed in
docs/bad-inputs.md with their outcome.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
import yaml
from workflow_run import demo_config

from marrowtox.cli import main

MARROWTOX = str(Path(sys.executable).with_name("marrowtox"))


@pytest.fixture
def cohort(demo_data: Path, tmp_path: Path) -> Path:
    """A copy of the demo's tables and reference (data files linked by absolute path)."""
    d = tmp_path / "cohort"
    (d / "ref").mkdir(parents=True)
    sheet = pd.read_csv(demo_data / "samples.tsv", sep="\t", dtype=str, keep_default_na=False)
    # every file column of the sheet (samples.schema.yaml), where the demo fills it
    for col in ("path", "bam", "raw_matrix", "adt", "vdj"):
        if col in sheet.columns:
            sheet[col] = [str(demo_data / f) if f else "" for f in sheet[col]]
    sheet.to_csv(d / "samples.tsv", sep="\t", index=False)
    for t in ("labs.tsv", "events.tsv", "flow.tsv"):
        shutil.copy(demo_data / t, d / t)
    for f in ("panel.fa", "panel.fa.fai", "panel.gtf", "panel.bed"):
        shutil.copy(demo_data / "reference" / f, d / "ref" / f)
    # the shipped config with the demo overlay (config/demo.yaml), as `make demo` runs it
    config = demo_config(demo_data)
    config.update(
        samples=str(d / "samples.tsv"),
        labs=str(d / "labs.tsv"),
        events=str(d / "events.tsv"),
        flow=str(d / "flow.tsv"),
        reference={
            "fasta": str(d / "ref" / "panel.fa"),
            "gtf": str(d / "ref" / "panel.gtf"),
            "panel_bed": str(d / "ref" / "panel.bed"),
        },
    )
    # the demo normals of ch.pon_bams, relative to the demo's sample sheet
    config["ch"]["pon_bams"] = [str(demo_data / p) for p in config["ch"]["pon_bams"]]
    (d / "config.yaml").write_text(yaml.safe_dump(config))
    return d


def edit_table(path: Path, fn: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    fn(df).to_csv(path, sep="\t", index=False)


def set_path(cohort: Path, sample: str, new: Path) -> int:
    """Point `sample` at `new`; returns its row number as a spreadsheet shows it."""
    sheet = cohort / "samples.tsv"
    df = pd.read_csv(sheet, sep="\t", dtype=str, keep_default_na=False)
    i = int(np.flatnonzero(df["sample"] == sample)[0])
    df.loc[i, "path"] = str(new)
    df.to_csv(sheet, sep="\t", index=False)
    return i + 2


def sample_file(demo_data: Path, sample: str) -> Path:
    sheet = pd.read_csv(demo_data / "samples.tsv", sep="\t")
    return demo_data / sheet.set_index("sample").at[sample, "path"]


def refused(cohort: Path, capsys: pytest.CaptureFixture[str], *needles: str) -> str:
    """`marrowtox validate` exits 2 with one clear line containing every needle."""
    rc = main(["validate", "--config", str(cohort / "config.yaml")])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err and err.count("\n") == 1, err
    for n in needles:
        assert n in err, (n, err)
    return err


# ---- sample sheet ----------------------------------------------------------------


def test_missing_column(cohort: Path, capsys) -> None:
    edit_table(cohort / "samples.tsv", lambda d: d.drop(columns=["day"]))
    refused(cohort, capsys, "samples.tsv", "column 'day'", "required column is missing")


def test_misspelt_column(cohort: Path, capsys) -> None:
    edit_table(cohort / "samples.tsv", lambda d: d.rename(columns={"timepoint": "timpoint"}))
    refused(cohort, capsys, "column 'timpoint'", "timepoint")


def test_duplicate_sample_id(cohort: Path, capsys) -> None:
    def dup(d: pd.DataFrame) -> pd.DataFrame:
        d.loc[3, "sample"] = d.loc[1, "sample"]
        return d

    edit_table(cohort / "samples.tsv", dup)
    refused(cohort, capsys, "row 5", "column 'sample'", "duplicate sample id", "unique")


def test_unknown_assay(cohort: Path, capsys) -> None:
    def bad(d: pd.DataFrame) -> pd.DataFrame:
        d.loc[0, "assay"] = "atac"
        return d

    edit_table(cohort / "samples.tsv", bad)
    refused(cohort, capsys, "row 2", "column 'assay'", "atac")


def test_non_numeric_day(cohort: Path, capsys) -> None:
    def bad(d: pd.DataFrame) -> pd.DataFrame:
        d.loc[2, "day"] = "d28"
        return d

    edit_table(cohort / "samples.tsv", bad)
    refused(cohort, capsys, "row 4", "column 'day'", "d28")


def test_missing_file(cohort: Path, capsys) -> None:
    row = set_path(cohort, "P01_BL_sc", cohort / "nope.h5")
    refused(cohort, capsys, f"row {row}", "column 'path'", "file not found", "nope.h5")


def test_bam_without_index(cohort: Path, demo_data: Path, capsys) -> None:
    bam = cohort / "noindex.bam"
    shutil.copy(sample_file(demo_data, "P01_BL_dna"), bam)
    row = set_path(cohort, "P01_BL_dna", bam)
    refused(cohort, capsys, f"row {row}", "column 'path'", "samtools index")


def test_header_only_sheet(cohort: Path, capsys) -> None:
    edit_table(cohort / "samples.tsv", lambda d: d.iloc[0:0])
    refused(cohort, capsys, "samples.tsv", "no rows")


def test_sample_id_with_shell_characters(cohort: Path, capsys) -> None:
    def bad(d: pd.DataFrame) -> pd.DataFrame:
        d.loc[0, "sample"] = "P01;rm -rf"
        return d

    edit_table(cohort / "samples.tsv", bad)
    refused(cohort, capsys, "row 2", "column 'sample'")


# ---- single-cell files --------------------------------------------------------------


def test_truncated_10x_h5(cohort: Path, demo_data: Path, capsys) -> None:
    src = sample_file(demo_data, "P01_BL_sc")
    bad = cohort / "truncated.h5"
    bad.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    row = set_path(cohort, "P01_BL_sc", bad)
    refused(cohort, capsys, f"row {row}", "column 'path'", "truncated.h5", "truncated or corrupted")


def test_corrupted_h5ad(cohort: Path, capsys) -> None:
    bad = cohort / "garbage.h5ad"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    row = set_path(cohort, "P02_D28_sc", bad)
    refused(cohort, capsys, f"row {row}", "garbage.h5ad", "not a readable HDF5")


def test_hdf5_that_is_not_10x(cohort: Path, capsys) -> None:
    import h5py

    bad = cohort / "other.h5"
    with h5py.File(bad, "w") as f:
        f["something"] = np.arange(3)
    row = set_path(cohort, "P01_BL_sc", bad)
    refused(cohort, capsys, f"row {row}", "no 'matrix' group")


def _h5ad_variant(demo_data: Path, cohort: Path, name: str, fn: Callable) -> Path:
    import anndata as ad

    a = ad.read_h5ad(sample_file(demo_data, "P02_D28_sc"))
    fn(a)
    out = cohort / name
    a.write_h5ad(out)
    return out


def test_normalised_counts_refused(cohort: Path, demo_data: Path, capsys) -> None:
    import scanpy as sc

    def norm(a) -> None:
        a.X = a.X.astype(np.float32)
        a.layers.clear()
        sc.pp.normalize_total(a, target_sum=1e4)
        sc.pp.log1p(a)

    row = set_path(cohort, "P02_D28_sc", _h5ad_variant(demo_data, cohort, "norm.h5ad", norm))
    refused(cohort, capsys, f"row {row}", "non-integer values", "raw UMI counts")


def test_negative_counts_refused(cohort: Path, demo_data: Path, capsys) -> None:
    def neg(a) -> None:
        a.layers.clear()
        a.X = a.X.astype(np.float32)
        a.X.data -= 3

    row = set_path(cohort, "P02_D28_sc", _h5ad_variant(demo_data, cohort, "neg.h5ad", neg))
    refused(cohort, capsys, f"row {row}", "negative values")


def test_no_cell_passes_qc_is_named(cohort: Path, demo_data: Path, tmp_path: Path) -> None:
    """Only QC itself can know: the step fails with the sample, file and thresholds named."""

    def mito(a) -> None:
        a.layers.clear()
        a.var_names = [f"MT-{g}" for g in a.var_names]  # every count mitochondrial

    path = _h5ad_variant(demo_data, cohort, "allmt.h5ad", mito)
    proc = subprocess.run(
        [MARROWTOX, "sc-qc", "--input", str(path), "--sample", "S1", "--patient", "P"]
        + ["--batch", "b", "--out-h5ad", str(tmp_path / "o.h5ad")]
        + ["--out-tsv", str(tmp_path / "o.tsv"), "--out-png", str(tmp_path / "o.png")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "no cell of sample S1 passed QC" in proc.stderr and "allmt.h5ad" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o.h5ad").exists()  # nothing half-written


# ---- DNA files and reference --------------------------------------------------------


def _rewrite_header(src: Path, out: Path, fn: Callable[[dict], dict]) -> Path:
    with pysam.AlignmentFile(str(src)) as b:
        header = fn(b.header.to_dict())
    with pysam.AlignmentFile(str(out), "wb", header=header):
        pass  # header only: what the pre-flight reads
    pysam.index(str(out))
    return out


def test_bam_contigs_not_in_fasta(cohort: Path, demo_data: Path, capsys) -> None:
    def rename(h: dict) -> dict:
        h["SQ"] = [{**sq, "SN": sq["SN"].replace("chr", "scaffold")} for sq in h["SQ"]]
        return h

    bam = _rewrite_header(sample_file(demo_data, "P01_BL_dna"), cohort / "x.bam", rename)
    row = set_path(cohort, "P01_BL_dna", bam)
    refused(cohort, capsys, f"row {row}", "not in the BAM header", "configured FASTA")


def test_bam_chr_prefix_mismatch(cohort: Path, demo_data: Path, capsys) -> None:
    def strip(h: dict) -> dict:
        h["SQ"] = [{**sq, "SN": sq["SN"].removeprefix("chr")} for sq in h["SQ"]]
        return h

    bam = _rewrite_header(sample_file(demo_data, "P01_BL_dna"), cohort / "x.bam", strip)
    row = set_path(cohort, "P01_BL_dna", bam)
    refused(cohort, capsys, f"row {row}", "chr-prefix mismatch")


def test_bam_other_assembly_lengths(cohort: Path, demo_data: Path, capsys) -> None:
    def longer(h: dict) -> dict:
        h["SQ"] = [{**sq, "LN": sq["LN"] + 1000} for sq in h["SQ"]]
        return h

    bam = _rewrite_header(sample_file(demo_data, "P01_BL_dna"), cohort / "x.bam", longer)
    row = set_path(cohort, "P01_BL_dna", bam)
    refused(cohort, capsys, f"row {row}", "another assembly")


def test_corrupted_bam(cohort: Path, capsys) -> None:
    bam = cohort / "junk.bam"
    bam.write_bytes(b"not a bam at all" * 64)
    (cohort / "junk.bam.bai").write_bytes(b"")
    row = set_path(cohort, "P01_BL_dna", bam)
    refused(cohort, capsys, f"row {row}", "junk.bam", "not a readable BAM")


def test_bed_chr_prefix_mismatch(cohort: Path, capsys) -> None:
    bed = cohort / "ref" / "panel.bed"
    bed.write_text(bed.read_text().replace("chr", ""))
    refused(cohort, capsys, "panel.bed", "row 1", "column 'chrom'", "chr-prefix mismatch")


def test_bed_target_beyond_contig(cohort: Path, capsys) -> None:
    bed = cohort / "ref" / "panel.bed"
    lines = bed.read_text().splitlines()
    f = lines[1].split("\t")
    f[2] = "99999999"
    lines[1] = "\t".join(f)
    bed.write_text("\n".join(lines) + "\n")
    refused(cohort, capsys, "panel.bed", "row 2", "column 'end'", "same assembly")


def test_gtf_chr_prefix_mismatch(cohort: Path, capsys) -> None:
    gtf = cohort / "ref" / "panel.gtf"
    gtf.write_text("".join(line.removeprefix("chr") for line in gtf.open()))
    refused(cohort, capsys, "panel.gtf", "row 1", "column 'seqname'", "chr-prefix mismatch")


def test_dna_sample_without_reads_on_panel(demo_data: Path, tmp_path: Path) -> None:
    """Graceful: no calls, every target 'not callable' with depth 0, so "not detected" is
    never claimed where nothing could be seen."""
    bam = _rewrite_header(sample_file(demo_data, "P01_BL_dna"), tmp_path / "empty.bam", dict)
    ref = demo_data / "reference"
    out = {k: tmp_path / f"o.{k}" for k in ("vcf.gz", "tsv", "lod.tsv")}
    rc = main(
        ["ch-call", "--bam", str(bam), "--sample", "E", "--fasta", str(ref / "panel.fa")]
        + ["--bed", str(ref / "panel.bed"), "--gtf", str(ref / "panel.gtf")]
        + ["--out-vcf", str(out["vcf.gz"]), "--out-tsv", str(out["tsv"])]
        + ["--out-lod", str(out["lod.tsv"])]
    )
    assert rc == 0
    assert pd.read_csv(out["tsv"], sep="\t").empty
    lod = pd.read_csv(out["lod.tsv"], sep="\t")
    assert len(lod) == 8 and (lod["median_depth"] == 0).all() and (~lod["callable"]).all()
    assert lod["lod_vaf"].isna().all()
    with pysam.VariantFile(str(out["vcf.gz"])) as v:
        assert list(v) == []


# ---- labs, events, config -----------------------------------------------------------


def _edit_row(path: Path, row: int, col: str, value: str) -> None:
    def f(d: pd.DataFrame) -> pd.DataFrame:
        d.loc[row - 2, col] = value
        return d

    edit_table(path, f)


def test_unknown_analyte(cohort: Path, capsys) -> None:
    _edit_row(cohort / "labs.tsv", 7, "analyte", "neutrophils")
    refused(cohort, capsys, "labs.tsv", "row 7", "column 'analyte'", "unknown analyte")


def test_unknown_unit(cohort: Path, capsys) -> None:
    _edit_row(cohort / "labs.tsv", 3, "unit", "cells/mL")
    refused(cohort, capsys, "labs.tsv", "row 3", "column 'unit'", "cells/mL")


def test_negative_count(cohort: Path, capsys) -> None:
    _edit_row(cohort / "labs.tsv", 4, "value", "-120")
    refused(cohort, capsys, "labs.tsv", "row 4", "column 'value'", "non-negative")


def test_non_numeric_lab_value(cohort: Path, capsys) -> None:
    _edit_row(cohort / "labs.tsv", 5, "value", "<0.1")
    refused(cohort, capsys, "labs.tsv", "row 5", "column 'value'")


def test_wrong_unit_scale_is_implausible(cohort: Path, capsys) -> None:
    _edit_row(cohort / "labs.tsv", 4, "value", "3651800")  # /uL value typed as 10^9/L
    _edit_row(cohort / "labs.tsv", 4, "unit", "10^9/L")
    refused(cohort, capsys, "labs.tsv", "row 4", "check the unit")


def test_patient_in_labs_not_in_samples(cohort: Path, capsys) -> None:
    _edit_row(cohort / "labs.tsv", 6, "patient", "P1O")
    refused(cohort, capsys, "labs.tsv", "row 6", "column 'patient'", "not in the sample sheet")


def test_unknown_event(cohort: Path, capsys) -> None:
    _edit_row(cohort / "events.tsv", 3, "event", "fever")
    refused(cohort, capsys, "events.tsv", "row 3", "column 'event'", "fever")


def test_event_non_numeric_day(cohort: Path, capsys) -> None:
    _edit_row(cohort / "events.tsv", 2, "day", "day0")
    refused(cohort, capsys, "events.tsv", "row 2", "column 'day'")


def test_config_wrong_type(cohort: Path, capsys) -> None:
    cfg = yaml.safe_load((cohort / "config.yaml").read_text())
    cfg["seed"] = "seven"
    (cohort / "config.yaml").write_text(yaml.safe_dump(cfg))
    refused(cohort, capsys, "config.yaml", "key 'seed'", "integer")


def test_config_unknown_key(cohort: Path, capsys) -> None:
    cfg = yaml.safe_load((cohort / "config.yaml").read_text())
    cfg["sampels"] = "x.tsv"
    (cohort / "config.yaml").write_text(yaml.safe_dump(cfg))
    refused(cohort, capsys, "config.yaml", "sampels")


# ---- through Snakemake: refused before any job; odd paths work ----------------------


def _snakemake(cohort: Path, *targets: str) -> subprocess.CompletedProcess[str]:
    from workflow_run import REPO, SNAKEMAKE

    return subprocess.run(
        [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory", str(cohort)]
        + ["--configfile", str(cohort / "config.yaml"), "--cores", "2", "--quiet", "rules"]
        + (["--", *targets] if targets else []),
        capture_output=True,
        text=True,
        timeout=900,
    )


def test_snakemake_refuses_corrupted_file_before_any_job(cohort: Path) -> None:
    bad = cohort / "garbage.h5ad"
    bad.write_bytes(b"\x89HDF\r\n" + b"\0" * 100)
    row = set_path(cohort, "P02_D28_sc", bad)
    proc = _snakemake(cohort)
    assert proc.returncode != 0
    assert f"row {row}" in proc.stderr and "garbage.h5ad" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (cohort / "results").exists() and not (cohort / "logs").exists()


def test_paths_with_spaces_and_shell_metacharacters(demo_data: Path, tmp_path: Path) -> None:
    """Data, tables and working directory under names a shell would split or expand."""
    odd = tmp_path / "my data $(touch pwned) & 'x';"
    shutil.copytree(demo_data, odd / "demo")
    cohort = odd / "work"
    cohort.mkdir()
    from workflow_run import prepare_workdir

    cfg = prepare_workdir(cohort, odd / "demo")
    shutil.move(cfg, cohort / "config.yaml")
    proc = _snakemake(cohort, "results/ch/P01.clones.tsv", "results/singlecell/P01_BL_sc.qc.tsv")
    assert proc.returncode == 0, proc.stderr[-3000:]
    clones = pd.read_csv(cohort / "results" / "ch" / "P01.clones.tsv", sep="\t")
    assert "DNMT3A" in set(clones["gene"])
    assert not list(tmp_path.rglob("pwned"))


# ---- valid in form, wrong in substance (issue 15) ------------------------------------


def test_anc_in_10e9_labelled_per_ul(cohort: Path, capsys) -> None:
    """ANC values of 0.1-10 with unit /uL: valid row by row, but every patient would be
    graded ICAHT 4. The column's distribution gives it away."""

    def f(d: pd.DataFrame) -> pd.DataFrame:
        m = d["analyte"] == "anc"
        factor = np.where(d.loc[m, "unit"] == "/uL", 1e-3, 1.0)
        d.loc[m, "value"] = [f"{v:.3g}" for v in d.loc[m, "value"].astype(float) * factor]
        d.loc[m, "unit"] = "/uL"
        return d

    edit_table(cohort / "labs.tsv", f)
    refused(cohort, capsys, "labs.tsv", "column 'unit'", "anc values in /uL", "look like 10^9/L")


def test_comma_separated_sheet(cohort: Path, capsys) -> None:
    df = pd.read_csv(cohort / "samples.tsv", sep="\t", dtype=str, keep_default_na=False)
    df.to_csv(cohort / "samples.tsv", sep=",", index=False)
    refused(cohort, capsys, "samples.tsv", "comma-separated", "tab-separated")


def test_semicolon_separated_labs(cohort: Path, capsys) -> None:
    df = pd.read_csv(cohort / "labs.tsv", sep="\t", dtype=str, keep_default_na=False)
    df.to_csv(cohort / "labs.tsv", sep=";", index=False)
    refused(cohort, capsys, "labs.tsv", "semicolon-separated")


def test_unicode_minus_in_day(cohort: Path, capsys) -> None:
    sheet = pd.read_csv(cohort / "samples.tsv", sep="\t", dtype=str, keep_default_na=False)
    row = int(np.flatnonzero(sheet["day"].astype(int) < 0)[0]) + 2
    _edit_row(cohort / "samples.tsv", row, "day", "\u22127")
    refused(cohort, capsys, "samples.tsv", f"row {row}", "column 'day'", "U+2212 MINUS SIGN", "'-'")


def test_unknown_car_construct(cohort: Path, capsys) -> None:
    sheet = pd.read_csv(cohort / "samples.tsv", sep="\t", dtype=str, keep_default_na=False)
    row = int(np.flatnonzero(sheet["car_construct"] != "")[0]) + 2
    _edit_row(cohort / "samples.tsv", row, "car_construct", "kymriah")
    refused(
        cohort, capsys, "samples.tsv", f"row {row}", "column 'car_construct'", "kymriah", "tisa-cel"
    )


def test_typo_in_branch_config_section(cohort: Path, capsys) -> None:
    cfg = yaml.safe_load((cohort / "config.yaml").read_text())
    cfg["ch"]["min_dept"] = 50
    (cohort / "config.yaml").write_text(yaml.safe_dump(cfg))
    refused(cohort, capsys, "config.yaml", "key 'ch.min_dept'", "did you mean 'min_depth'")


def test_typo_in_branch_config_refused_by_dry_run(cohort: Path) -> None:
    cfg = yaml.safe_load((cohort / "config.yaml").read_text())
    cfg["singlecell"]["annotate"]["min_gene"] = 2
    (cohort / "config.yaml").write_text(yaml.safe_dump(cfg))
    proc = _snakemake(cohort, "-n")
    out = proc.stderr + proc.stdout  # Snakemake logs a WorkflowError to either
    assert proc.returncode != 0 and "min_gene" in out, out[-2000:]
    assert not (cohort / "results").exists()


def test_ensembl_ids_without_symbols(cohort: Path, demo_data: Path, capsys) -> None:
    def ens(a) -> None:
        a.var_names = [f"ENSG{i:011d}" for i in range(a.n_vars)]
        a.var = a.var[[]]

    row = set_path(cohort, "P02_D28_sc", _h5ad_variant(demo_data, cohort, "ens.h5ad", ens))
    refused(cohort, capsys, f"row {row}", "Ensembl gene ids", "no symbol column")


def test_ensembl_ids_with_symbol_column_accepted(cohort: Path, demo_data: Path, capsys) -> None:
    def ens(a) -> None:
        a.var["feature_name"] = a.var_names.to_numpy()
        a.var_names = [f"ENSG{i:011d}" for i in range(a.n_vars)]

    set_path(cohort, "P02_D28_sc", _h5ad_variant(demo_data, cohort, "ens_sym.h5ad", ens))
    assert main(["validate", "--config", str(cohort / "config.yaml")]) == 0


def test_samples_sharing_few_genes_warned(cohort: Path, demo_data: Path, capsys) -> None:
    """A sample of another panel (200 genes): valid, but the cohort embedding can use only
    the shared genes; validate says so and still passes."""

    def panel(a) -> None:
        a._inplace_subset_var(np.arange(200))

    set_path(cohort, "P02_D28_sc", _h5ad_variant(demo_data, cohort, "panel.h5ad", panel))
    assert main(["validate", "--config", str(cohort / "config.yaml")]) == 0
    out = capsys.readouterr().out
    assert "warning:" in out and "share only 200 genes" in out and "P02_D28_sc" in out


def test_patient_without_events_is_not_recorded(tmp_path: Path) -> None:
    from marrowtox.clinical.scores import ClinicalParams, patient_scores

    events = pd.DataFrame(columns=["patient", "day", "event", "grade"])
    row, _, _ = patient_scores("P9", None, events, ClinicalParams())
    assert row["crs_max_grade"] is None and row["icans_max_grade"] is None
    ev = pd.DataFrame({"patient": ["P9"], "day": [0], "event": ["infusion"], "grade": [None]})
    row, _, _ = patient_scores("P9", None, ev, ClinicalParams())
    assert row["crs_max_grade"] == 0  # events recorded, no CRS among them


def test_post_infusion_sample_without_car_feature_warned(
    cohort: Path, demo_data: Path, capsys
) -> None:
    def no_car(a) -> None:
        a._inplace_subset_var(~a.var_names.str.startswith("CAR_"))

    set_path(cohort, "P02_D28_sc", _h5ad_variant(demo_data, cohort, "nocar.h5ad", no_car))
    assert main(["validate", "--config", str(cohort / "config.yaml")]) == 0
    out = capsys.readouterr().out
    assert "P02_D28_sc" in out and "no CAR feature" in out and "not measurable" in out


def test_no_mitochondrial_genes_for_organism_warned(cohort: Path, capsys) -> None:
    """Human data run with organism: mouse: no mt- gene, QC's mito criterion is blind."""
    cfg = yaml.safe_load((cohort / "config.yaml").read_text())
    cfg["organism"] = "mouse"
    (cohort / "config.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["validate", "--config", str(cohort / "config.yaml")]) == 0
    out = capsys.readouterr().out
    assert "no mitochondrial gene (mt-*)" in out and "organism 'mouse'" in out
