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


def demo_config(demo: Path) -> dict:
    """config/config.yaml with the demo overlay (config/demo.yaml) laid over it, as `make
    demo` runs it, its demo/ paths moved to `demo` (a freshly generated cohort)."""
    from marrowtox.settings import merged

    def load(name: str) -> dict:
        with open(REPO / "config" / name, encoding="utf-8") as fh:
            return yaml.safe_load(fh)

    def moved(value: str | None) -> str | None:
        if value and value.startswith("demo/"):
            return str(demo / value.removeprefix("demo/"))
        return value

    config = merged(load("config.yaml"), load("demo.yaml"))
    for key in ("samples", "labs", "events", "flow"):
        config[key] = moved(config[key])
    # optional flow populations: the demo's, where the cohort has them
    if config["flow"] and not Path(config["flow"]).is_file():
        config["flow"] = None
    config["reference"] = {k: moved(v) for k, v in config["reference"].items()}
    return config


def prepare_workdir(workdir: Path, demo: Path, overrides: dict | None = None) -> Path:
    """A working directory with its own config (demo_config) pointing at `demo`; returns
    the config path."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = demo_config(demo)
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
