"""Editing one setting or one shipped file reruns exactly the jobs that use it (issue 15).

Dry runs (`snakemake -n`) on the finished demo run: which rules Snakemake would run,
and why. Rules pass only the settings they use, and every file a step reads (gene
sets, CAR constructs, CHIP rules, panel of normals, marker model) is a rule input.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd
import yaml
from workflow_run import REPO, snakemake

SC_RULES = {"sc_process", "sc_integrate"}


def _planned(proc_out: str) -> dict[str, int]:
    """Rule -> job count from the dry run's job stats table."""
    stats = proc_out.split("Job stats:", 1)[1] if "Job stats:" in proc_out else ""
    out = {}
    for line in stats.splitlines():
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if m and m.group(1) not in ("total",):
            out[m.group(1)] = int(m.group(2))
    return out


def _dry(work: Path, config: Path, *args: str) -> dict[str, int]:
    proc = snakemake(work, "-n", "--configfile", str(config), *args)
    return _planned(proc.stdout + proc.stderr)


def test_nothing_to_do_after_the_run(demo_run) -> None:
    work = demo_run["work"]
    assert _dry(work, work / "config" / "config.yaml") == {}


def test_changing_min_alt_reruns_only_ch_jobs(demo_run, tmp_path: Path) -> None:
    work = demo_run["work"]
    cfg = yaml.safe_load((work / "config" / "config.yaml").read_text())
    cfg["ch"]["min_alt"] = cfg["ch"]["min_alt"] + 1
    edited = tmp_path / "config.yaml"
    edited.write_text(yaml.safe_dump(cfg, sort_keys=False))
    planned = _dry(work, edited, "--rerun-triggers", "params")
    # one calling job per patient with DNA (its samples in one process), each once
    sheet = pd.read_csv(demo_run["demo"] / "samples.tsv", sep="\t", keep_default_na=False)
    dna_patients = sorted(set(sheet.loc[sheet["assay"] == "dna", "patient"]))
    assert len(dna_patients) > 1
    ch_jobs = {r: n for r, n in planned.items() if r.startswith("ch_call_")}
    assert ch_jobs == {f"ch_call_{p}": 1 for p in dna_patients}, planned
    assert not SC_RULES & set(planned), planned
    assert not {r for r in planned if r.startswith("clinical_scores")}, planned
    # the CH calls are the genotyper's sites, whose per-cell columns go into the samples'
    # final h5ad: only the samples with a BAM rerun from there, the others not at all
    with_bam = int((sheet["bam"] != "").sum())
    assert 0 < with_bam < 15
    for rule in ("sc_genotype", "sc_carriers", "cart_call"):
        assert planned.get(rule) == with_bam, (rule, planned)


def test_editing_a_gene_set_reruns_signature_jobs(demo_run) -> None:
    """An edited shipped GMT reruns the jobs that read it, nothing upstream (the file is
    restored afterwards)."""
    work = demo_run["work"]
    gmt = REPO / "resources" / "genesets" / "hallmark_inflammation.v7.5.1.gmt"
    original = gmt.read_bytes()
    st = gmt.stat()
    try:
        gmt.write_bytes(original + b"MARROWTOX_TEST_SET\ttest\tCD34\tGATA2\n")
        planned = _dry(work, work / "config" / "config.yaml")
    finally:
        gmt.write_bytes(original)
        os.utime(gmt, ns=(st.st_atime_ns, st.st_mtime_ns))
    sheet = pd.read_csv(demo_run["demo"] / "samples.tsv", sep="\t")
    n_scrna = int((sheet["assay"] == "scrna").sum())  # marrow, the product and the sort
    # cart_call writes the signatures too (one job per sample, docs/hpc.md)
    assert planned.get("cart_call") == n_scrna and "signatures" not in planned, planned
    # the pseudobulk DE reads the gene sets too (program activity)
    assert planned.get("cart_de") == 1 and planned.get("hspc_de") == 1, planned
    assert not SC_RULES & set(planned), planned
    assert not any(r.startswith("ch_call") for r in planned), planned


def test_missing_panel_of_normals_refused_before_any_job(demo_run, tmp_path: Path) -> None:
    work = demo_run["work"]
    cfg = yaml.safe_load((work / "config" / "config.yaml").read_text())
    cfg["ch"]["panel_of_normals"] = str(tmp_path / "absent_pon.vcf.gz")
    edited = tmp_path / "config.yaml"
    edited.write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = snakemake(work, "-n", "--configfile", str(edited), check=False)
    assert proc.returncode != 0
    err = proc.stderr + proc.stdout  # Snakemake logs a WorkflowError to either
    assert "absent_pon.vcf.gz" in err and "ch.panel_of_normals" in err, err[-2000:]
    assert "file not found" in err


def test_missing_pon_bam_refused_before_any_job(demo_run, tmp_path: Path) -> None:
    """A normal of ch.pon_bams that does not exist is named before any job (not a
    MissingInputException of ch_pon after the DAG is built)."""
    work = demo_run["work"]
    cfg = yaml.safe_load((work / "config" / "config.yaml").read_text())
    cfg["ch"]["pon_bams"] = [*cfg["ch"]["pon_bams"], "dna/normals/N99_absent.bam"]
    edited = tmp_path / "config.yaml"
    edited.write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = snakemake(work, "-n", "--configfile", str(edited), check=False)
    assert proc.returncode != 0
    err = proc.stderr + proc.stdout
    assert "ch.pon_bams" in err and "N99_absent.bam" in err and "file not found" in err, err[-2000:]
