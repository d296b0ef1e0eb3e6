"""Run the whole workflow on a freshly generated demo cohort, once per test session.

The workflow tests (planted truth recovered end to end, reports rendered, reruns
identical) all read the results of this one run, so `make test` pays for it once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def prepare_workdir(workdir: Path, demo: Path, overrides: dict | None = None) -> Path:
    """A working directory with its own config pointing at `demo`; returns the config path."""
    workdir.mkdir(parents=True, exist_ok=True)
    with open(REPO / "config" / "config.yaml", encoding="utf-8") as fh:
        config = yaml.safe_load(fh)
    config["samples"] = str(demo / "samples.tsv")
    config["labs"] = str(demo / "labs.tsv")
    config["events"] = str(demo / "events.tsv")
    # optional flow populations: the demo's, where the cohort has them
    config["flow"] = str(demo / "flow.tsv") if (demo / "flow.tsv").is_file() else None
    config["reference"] = {
        "fasta": str(demo / "reference" / "panel.fa"),
        "gtf": str(demo / "reference" / "panel.gtf"),
        "panel_bed": str(demo / "reference" / "panel.bed"),
    }
    for key, value in (overrides or {}).items():
        config[key] = value
    (workdir / "config").mkdir(exist_ok=True)
    cfg = workdir / "config" / "config.yaml"
    cfg.write_text(yaml.safe_dump(config, sort_keys=False))
    return cfg


def snakemake(
    workdir: Path, *args: str, cores: int = 2, check: bool = True, timeout: float | None = 3600
) -> subprocess.CompletedProcess[str]:
    cmd = [
        str(SNAKEMAKE),
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(workdir / "config" / "config.yaml"),
        "--cores",
        str(cores),
        "--quiet",
        "rules",
        *args,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


def copy_results(src: Path, dst: Path) -> None:
    shutil.copytree(src / "results", dst / "results")
