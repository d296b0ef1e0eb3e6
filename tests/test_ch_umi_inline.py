"""Inline UMIs from FASTQ (issue 29 item 1): the sample sheet's `umi: inline` +
`umi_layout`, the pre-flight's check that the reads hold the layout, the extraction
(`ch-umi-extract`) and alignment (`ch-align`) steps, and the workflow rules
ch_umi_extract -> ch_align -> ch_consensus on a tiny FASTQ."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
import yaml
from workflow_run import REPO, demo_config

from marrowtox.ch.steps import AlignInputs, ExtractInputs, align_step, extract_step
from marrowtox.ch.umi_extract import InlineLayout, check_layout, parse_layout
from marrowtox.cli import main
from marrowtox.errors import InputError

SPACER = "ATGGGAAAGAGTGTCC"  # the SiMSen-Seq hairpin spacer of the real reads
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def write_reads(
    path: Path, ref: str, starts: list[int], umi_length: int, spacer: str, seed: int = 1
) -> list[str]:
    """A read 1 FASTQ: UMI + spacer + 60 reference bases from each start, three reads per
    molecule (one UMI each); returns the UMIs in read order."""
    rng = np.random.default_rng(seed)
    umis = []
    with gzip.open(path, "wt") as fh:
        for m, s in enumerate(starts):
            umi = "".join(rng.choice(list("ACGT"), umi_length))
            for k in range(3):
                seq = umi + spacer + ref[s : s + 60]
                fh.write(f"@m{m}r{k} 1:N:0\n{seq}\n+\n{'F' * len(seq)}\n")
                umis.append(umi)
    return umis


@pytest.fixture
def ref(tmp_path: Path) -> tuple[Path, str]:
    rng = np.random.default_rng(29)
    seq = "".join(rng.choice(list("ACGT"), 3000))
    fa = tmp_path / "ref.fa"
    fa.write_text(f">c1\n{seq}\n")
    pysam.faidx(str(fa))
    return fa, seq


def test_layout_text_is_parsed_or_refused() -> None:
    assert parse_layout("19+16") == (19, 16)
    assert parse_layout(" 12+0 ") == (12, 0)
    for bad in ("19", "19-16", "0+16", "a+b"):
        with pytest.raises(InputError) as info:
            parse_layout(bad)
        assert info.value.column == "umi_layout" and "19+16" in (info.value.expected or "")


def test_preflight_layout_check_finds_a_wrong_umi_length(ref, tmp_path: Path) -> None:
    _, seq = ref
    fq = tmp_path / "r1.fastq.gz"
    write_reads(fq, seq, list(range(100, 2500, 60)), 19, SPACER)
    check_layout(str(fq), InlineLayout(19, 16))  # what the reads hold: no error
    with pytest.raises(InputError) as info:  # the spacer is not one base later
        check_layout(str(fq), InlineLayout(20, 16))
    assert info.value.column == "umi_layout" and info.value.file == str(fq)
    assert "no common spacer at bases 21-36" in str(info.value)
    with pytest.raises(InputError, match="longer than UMI"):  # reads too short for it
        check_layout(str(fq), InlineLayout(60, 40))


def test_extract_then_align_puts_each_reads_umi_in_rx(ref, tmp_path: Path) -> None:
    fa, seq = ref
    fq = tmp_path / "r1.fastq.gz"
    starts = list(range(100, 2500, 60))
    umis = write_reads(fq, seq, starts, 8, SPACER)
    out_fq = tmp_path / "x.fastq.gz"
    ex = extract_step(ExtractInputs("S", str(fq), InlineLayout(8, 16), str(out_fq)))
    assert (ex["reads"], ex["kept"], ex["spacer"]) == (len(umis), len(umis), SPACER)
    al = align_step(AlignInputs("S", str(out_fq), str(fa), str(tmp_path / "a.bam")))
    assert al["aligned"] == len(umis)
    with pysam.AlignmentFile(str(tmp_path / "a.bam")) as bam:
        got = {r.query_name: (r.get_tag("RX"), r.reference_start) for r in bam}
    for m, s in enumerate(starts):  # the planted UMI and position of each molecule
        for k in range(3):
            assert got[f"m{m}r{k}"] == (umis[3 * m], s)


def test_align_refuses_reads_without_a_umi_in_the_name(ref, tmp_path: Path) -> None:
    fa, seq = ref
    fq = tmp_path / "plain.fastq"
    fq.write_text(f"@read1\n{seq[:60]}\n+\n{'F' * 60}\n")
    with pytest.raises(InputError, match="no UMI as the last '_' field"):
        align_step(AlignInputs("S", str(fq), str(fa), str(tmp_path / "a.bam")))
    assert not (tmp_path / "a.bam").exists()


# ---- the sample sheet and the workflow ----------------------------------------------

SAMPLE = "P01_D60_umi"


@pytest.fixture
def inline_cohort(demo_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The demo cohort plus one inline-UMI FASTQ row (reads from the demo panel)."""
    d = tmp_path / "cohort"
    d.mkdir()
    sheet = pd.read_csv(demo_data / "samples.tsv", sep="\t", dtype=str, keep_default_na=False)
    for col in ("path", "bam", "raw_matrix", "adt", "vdj"):
        if col in sheet.columns:
            sheet[col] = [str(demo_data / f) if f else "" for f in sheet[col]]
    fa = demo_data / "reference" / "panel.fa"
    bed = pd.read_csv(demo_data / "reference" / "panel.bed", sep="\t", header=None)
    chrom, start = bed.iloc[0, 0], int(bed.iloc[0, 1])
    with pysam.FastaFile(str(fa)) as f:
        contig = f.fetch(chrom)
    fq = d / "umi_R1.fastq.gz"
    write_reads(fq, contig, [start + 10 * i for i in range(12)], 12, SPACER[:6])
    row = {c: "" for c in sheet.columns}
    row.update(patient="P01", sample=SAMPLE, assay="dna", timepoint="D60", day="60",
               path=str(fq), umi="inline", umi_layout="12+6")  # fmt: skip
    sheet = pd.concat([sheet, pd.DataFrame([row])], ignore_index=True).fillna("")
    sheet.to_csv(d / "samples.tsv", sep="\t", index=False)
    config = demo_config(demo_data)
    config["samples"] = str(d / "samples.tsv")
    config["ch"]["pon_bams"] = [str(demo_data / p) for p in config["ch"]["pon_bams"]]
    (d / "config.yaml").write_text(yaml.safe_dump(config))
    return d, fq


def _set(d: Path, **cells: str) -> int:
    sheet = pd.read_csv(d / "samples.tsv", sep="\t", dtype=str, keep_default_na=False)
    i = int(np.flatnonzero(sheet["sample"] == SAMPLE)[0])
    for k, v in cells.items():
        sheet.loc[i, k] = v
    sheet.to_csv(d / "samples.tsv", sep="\t", index=False)
    return i + 2  # the row as a spreadsheet shows it


def _validate(d: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(["validate", "--config", str(d / "config.yaml")])
    return rc, capsys.readouterr().err


def test_sheet_and_preflight_check_the_inline_layout(inline_cohort, capsys) -> None:
    d, fq = inline_cohort
    rc, err = _validate(d, capsys)
    assert rc == 0, err
    row = _set(d, umi_layout="15+6")  # the spacer is not where this layout says
    rc, err = _validate(d, capsys)
    assert rc == 2 and "Traceback" not in err
    for needle in (str(d / "samples.tsv"), f"row {row}", "umi_layout", str(fq), "spacer"):
        assert needle in err, (needle, err)
    _set(d, umi_layout="", umi="rx")
    rc, err = _validate(d, capsys)  # a FASTQ without umi: inline is not a DNA input
    assert rc == 2 and "umi: inline" in err and "column path" in err.replace("'", ""), err
    _set(d, umi_layout="12+6", umi="rx")
    rc, err = _validate(d, capsys)  # a layout on a row that does not use it
    assert rc == 2 and "umi_layout" in err and "inline" in err, err


def test_workflow_extracts_aligns_and_collapses_an_inline_umi_fastq(inline_cohort) -> None:
    d, _ = inline_cohort
    target = f"results/ch/consensus/{SAMPLE}.bam"
    cmd = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--directory", str(d),
           "--configfile", str(d / "config.yaml"), "--cores", "1"]  # fmt: skip
    dry = subprocess.run([*cmd, "-n", target], capture_output=True, text=True)
    assert dry.returncode == 0, dry.stderr[-3000:]
    jobs = dry.stdout + dry.stderr
    for rule in ("ch_umi_extract", "ch_align", "ch_consensus"):
        assert f"rule {rule}:" in jobs or f"{rule} " in jobs, (rule, jobs[-2000:])
    run = subprocess.run([*cmd, target], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-3000:]
    qc = pd.read_csv(d / "results" / "ch" / f"{SAMPLE}.umi_qc.tsv", sep="\t").iloc[0]
    # 12 molecules of 3 reads each: 36 aligned reads collapse into 12 consensus reads
    assert (qc["templates"], qc["families"], qc["molecules"]) == (36, 12, 12)
    align = pd.read_csv(d / "results" / "ch" / "umi" / f"{SAMPLE}.align.tsv", sep="\t")
    assert int(align["aligned"].iloc[0]) == 36
    for b in ("ch_umi_extract", "ch_align", "ch_consensus"):
        assert (d / "benchmarks" / b / f"{SAMPLE}.tsv").exists()
