"""Interrupted runs and determinism (issue 7).

Two runs of a one-patient cohort (its baseline and day-28 marrow, scRNA and DNA, and
the cohort jobs; one patient since session 9, two before, to keep CI under 30 min):
A with --cores 2, uninterrupted; B with --cores 1, killed with SIGKILL while jobs
run, then resumed as the README says (`--unlock`, then `--rerun-incomplete`). Every
table of B must be byte-identical to A's and the h5ad obs/obsm numerically identical:
this shows at once that results do not depend on the number of cores or job order,
and that an interrupted run loses nothing and takes no partial file as complete.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
from workflow_run import REPO, SNAKEMAKE, prepare_workdir, snakemake

PATIENTS = ("P01",)


@pytest.fixture(scope="module")
def small_cohort(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("small") / "demo"
    d.mkdir()
    sheet = pd.read_csv(demo_data / "samples.tsv", sep="\t", dtype=str, keep_default_na=False)
    sheet = sheet[sheet["patient"].isin(PATIENTS)].copy()
    sheet["path"] = [str(demo_data / p) for p in sheet["path"]]
    sheet["bam"] = [str(demo_data / b) if isinstance(b, str) and b else "" for b in sheet["bam"]]
    sheet["raw_matrix"] = [
        str(demo_data / b) if isinstance(b, str) and b else "" for b in sheet["raw_matrix"]
    ]
    sheet.to_csv(d / "samples.tsv", sep="\t", index=False)
    for t in ("labs.tsv", "events.tsv"):
        df = pd.read_csv(demo_data / t, sep="\t", dtype=str, keep_default_na=False)
        df[df["patient"].isin(PATIENTS)].to_csv(d / t, sep="\t", index=False)
    (d / "reference").symlink_to(demo_data / "reference")
    # config ch.pon_bams names the demo normals relative to the sample sheet's folder
    (d / "dna").symlink_to(demo_data / "dna")
    return d


def _complete(path: Path) -> bool:
    """A result under its final name must be whole (atomic writes)."""
    if path.suffix == ".h5ad":
        with h5py.File(path, "r") as f:
            return "obs" in f and "X" in f
    if path.suffix == ".tsv":
        pd.read_csv(path, sep="\t")
        return True
    if path.name.endswith(".vcf.gz"):
        import pysam

        with pysam.VariantFile(str(path)) as v:
            list(v)
        return True
    if path.suffix == ".html":
        return path.read_text(encoding="utf-8").rstrip().endswith("</html>")
    return True


@pytest.fixture(scope="module")
def runs(small_cohort: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("reruns")
    a, b = base / "a", base / "b"
    prepare_workdir(a, small_cohort)
    snakemake(a, cores=2)
    prepare_workdir(b, small_cohort)
    cmd = [
        str(SNAKEMAKE),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(b),
        "--configfile",
        str(b / "config" / "config.yaml"),
        "--cores",
        "1",
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    # Kill once some per-sample results exist and later jobs are still to come.
    deadline = time.time() + 900
    doublets = b / "results" / "singlecell" / "doublets"
    while time.time() < deadline and proc.poll() is None:
        if doublets.is_dir() and len(list(doublets.glob("*.h5ad"))) >= 2:
            break
        time.sleep(0.5)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    time.sleep(3)  # let the next job start writing
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    killed = {
        p.relative_to(b): _complete(p)
        for p in (b / "results").rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }
    snakemake(b, "--unlock", cores=1)
    snakemake(b, "--rerun-incomplete", cores=1)
    return {"a": a, "b": b, "killed": killed}  # type: ignore[dict-item]


def test_interrupted_run_left_no_partial_result(runs) -> None:
    killed = runs["killed"]
    assert killed, "nothing was written before the kill"
    assert all(killed.values()), [str(p) for p, ok in killed.items() if not ok]
    final = runs["b"] / "results" / "cohort" / "patients.tsv"
    assert final.exists()
    assert not (runs["b"] / ".snakemake" / "incomplete").exists() or not any(
        (runs["b"] / ".snakemake" / "incomplete").iterdir()
    )


def _tables(root: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(root)): p
        for p in (root / "results").rglob("*.tsv")
        if not p.name.startswith(".")
    }


def test_tables_identical_cores_1_vs_2_and_after_kill(runs) -> None:
    ta, tb = _tables(runs["a"]), _tables(runs["b"])
    assert set(ta) == set(tb) and len(ta) > 20
    differ = [k for k in sorted(ta) if ta[k].read_bytes() != tb[k].read_bytes()]
    assert not differ, differ


def test_h5ad_obs_obsm_identical(runs) -> None:
    files = sorted((runs["a"] / "results" / "singlecell").rglob("*.h5ad"))
    assert files
    for fa in files:
        rel = fa.relative_to(runs["a"])
        x, y = ad.read_h5ad(fa), ad.read_h5ad(runs["b"] / rel)
        pd.testing.assert_frame_equal(x.obs, y.obs, check_exact=True, obj=str(rel))
        assert set(x.obsm) == set(y.obsm), rel
        for k in x.obsm:
            assert np.array_equal(np.asarray(x.obsm[k]), np.asarray(y.obsm[k])), (rel, k)
