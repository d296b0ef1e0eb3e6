"""Snakemake workflow catalog layout (issue 26 item 4), as
snakemake-workflows/dna-seq-varlociraptor: workflow/Snakefile beside config/README.md and
the catalog yml; the top-level Snakefile a one-line include; `snakemake --lint` clean."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from workflow_run import REPO, SNAKEMAKE


def test_workflow_snakefile_in_catalog_layout() -> None:
    workflow = (REPO / "workflow" / "Snakefile").read_text()
    assert 'configfile: "config/config.yaml"' in workflow
    includes = re.findall(r'^include: "(.+)"$', workflow, flags=re.M)
    assert includes and all(i.startswith("rules/") for i in includes)
    assert all((REPO / "workflow" / i).is_file() for i in includes)
    assert {f"rules/{p.name}" for p in (REPO / "workflow" / "rules").glob("*.smk")} == set(includes)
    assert re.search(r"^rule all:", workflow, flags=re.M)
    for beside in ("config/README.md", "config/config.yaml", ".snakemake-workflow-catalog.yml"):
        assert (REPO / beside).is_file(), beside
    top = [
        line
        for line in (REPO / "Snakefile").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    # one include that keeps workflow/Snakefile's default target (rule all): a plain
    # `include:` would keep the includer's, and `snakemake` from the root would do nothing
    assert top == ['workflow.include("workflow/Snakefile", overwrite_default_target=True)']


def _snakemake(work: Path, snakefile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [SNAKEMAKE, "--snakefile", str(snakefile), "--directory", str(work)]
    cmd += ["--configfile", str(work / "config" / "demo.yaml"), *args]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


def test_lint_clean_with_demo_overlay(repo_like: Path) -> None:
    """`make lint`'s snakemake --lint (the demo overlay gives it a sample sheet)."""
    proc = _snakemake(repo_like, REPO / "Snakefile", "--lint")
    said = proc.stdout + proc.stderr
    assert proc.returncode == 0, said[-3000:]
    assert "Congratulations, your workflow is in a good condition!" in said, said[-3000:]


def test_both_snakefiles_plan_the_same_jobs(repo_like: Path) -> None:
    """workflow/Snakefile run directly is the same workflow as the top-level include
    (shipped resources resolve from REPO_DIR either way)."""
    plans = []
    for snakefile in (REPO / "Snakefile", REPO / "workflow" / "Snakefile"):
        proc = _snakemake(repo_like, snakefile, "-n", "--cores", "1", "--quiet", "rules")
        assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
        plans.append(re.findall(r"^(\w+)\s+(\d+)$", proc.stdout + proc.stderr, flags=re.M))
    assert ("all", "1") in plans[0]  # the default target, from either Snakefile
    assert plans[0] == plans[1]


def test_lint_clean_with_the_shipped_config_alone() -> None:
    """`snakemake --lint` from the root, as the catalog and a new user run it: the rules
    are linted over an empty cohort, while a run of the same config still stops at the
    pre-flight naming the placeholders."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    lint = subprocess.run(
        [SNAKEMAKE, "--lint"], cwd=REPO, capture_output=True, text=True, env=env, timeout=600
    )
    said = lint.stdout + lint.stderr
    assert lint.returncode == 0, said[-3000:]
    assert "Congratulations, your workflow is in a good condition!" in said, said[-3000:]
    run = subprocess.run(
        [SNAKEMAKE, "-n"], cwd=REPO, capture_output=True, text=True, env=env, timeout=600
    )
    assert run.returncode != 0
    assert "config key samples: set it to your samples.tsv" in run.stdout + run.stderr
