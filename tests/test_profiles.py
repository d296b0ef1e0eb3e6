"""profiles/local and profiles/slurm: valid, portable and consistent with the rules."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def profile(name):
    return yaml.safe_load((ROOT / "profiles" / name / "config.yaml").read_text())


def rule_names():
    text = "".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    return set(re.findall(r"^rule\s+(\w+)\s*:", text, flags=re.M))


def test_slurm_profile_uses_plugin_and_retries_with_more_memory():
    p = profile("slurm")
    assert p["executor"] == "slurm"
    assert int(p["jobs"]) >= 1
    assert int(p["retries"]) >= 1
    assert "attempt" in str(p["default-resources"]["mem_mb"])


def test_slurm_profile_leaves_site_settings_and_threads_alone():
    p = profile("slurm")
    res = p.get("default-resources", {})
    # account and partition are the user's (docs/hpc.md); a hard-coded one breaks other sites
    assert "slurm_account" not in res and "slurm_partition" not in res
    # cpus_per_task in default-resources would override every rule's `threads`
    assert "cpus_per_task" not in res
    for rule, r in p.get("set-resources", {}).items():
        assert "cpus_per_task" not in r, rule


@pytest.mark.parametrize("name", ["local", "slurm"])
def test_set_resources_name_existing_rules(name):
    p = profile(name)
    unknown = set(p.get("set-resources", {})) - rule_names()
    assert not unknown, f"profiles/{name} sets resources of unknown rules {unknown}"


@pytest.mark.parametrize("name", ["local", "slurm"])
def test_profile_dry_run(tmp_path, name):
    """Snakemake accepts the profile (keys, expressions) on the smoke workflow."""
    shutil.copytree(ROOT / "tests" / "data" / "slurm_smoke", tmp_path / "w")
    proc = subprocess.run(
        [SNAKEMAKE, "--profile", str(ROOT / "profiles" / name), "-n"],
        cwd=tmp_path / "w",
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"mem_mb=600\b", proc.stdout + proc.stderr)


def test_slurm_groups_make_one_single_cell_job_per_patient(tmp_path):
    """The profile's groups on the real Snakefile (bench/dag.py's placeholder cohort,
    3 patients x 3 time points x scRNA + DNA): each patient's 6 single-cell jobs
    (sc_process and cart_call of 3 samples) are one group job, the group
    jobs form no cycle with the jobs outside them, and the cohort is far fewer
    submissions than jobs (docs/hpc.md "Jobs per patient")."""
    sys.path.insert(0, str(ROOT / "bench"))
    import dag

    cfg = dag.make_cohort(tmp_path / "c", 3)
    proc = subprocess.run(
        [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--configfile", str(cfg)]
        + ["--directory", str(tmp_path / "c"), "--cores", "1", "--dag"],
        cwd=tmp_path / "c",
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    p = profile("slurm")
    got = dag.slurm_jobs(proc.stdout, p["groups"], p.get("group-components", {}))
    assert got["sizes"]["sample"] == [6, 6, 6], got["sizes"]
    ungrouped = dag.slurm_jobs(proc.stdout, {}, {})
    # 8 jobs per patient (3 x sc_process and cart_call with the signatures; ch_call
    # with the clone tracking, report_patient) and the cohort's
    assert ungrouped["submissions"] == got["jobs"] > 8 * 3
    # per patient: its single-cell group and its ch_call; the leaves are packed; the
    # rest is a constant of cohort-level jobs (panel of normals, clinical scores,
    # integration, statistics, composition and pseudobulk DE, cohort table and report)
    assert got["submissions"] <= 2 * 3 + 15, got
