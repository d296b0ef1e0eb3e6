"""Every bench in bench/ runs from a fresh clone (issue 26 Done-when): each answers
--help, and runs once at its smallest size, so a config or API change cannot break one
unseen (bench/dag.py once failed on main because the shipped config named the demo's
flow table). The figures are not checked: benches print, never pass or fail."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCHES = sorted(p.name for p in (REPO / "bench").glob("*.py"))

#: The smallest run of each bench; "{demo}" is a generated demo cohort. A bench added
#: without an entry here fails test_every_bench_has_a_smoke_run.
SMOKE: dict[str, list[str]] = {
    "annotation_lopo.py": ["--patients", "AML314"],
    "annotation_reliability.py": ["--no-real"],
    "car_calibration.py": ["--per-level", "1", "--cells", "400"],
    "ch.py": ["--demo", "{demo}", "--samples", "1", "--freebayes-timeout", "30"],
    "cohort_stats.py": ["--patients", "30", "--n-boot", "20"],
    "dag.py": ["--sizes", "2"],
    "doublets.py": ["--cells", "300", "--plans", "1"],
    "genotype.py": ["--cells", "200", "--sites", "3"],
    "singlecell.py": ["--cells", "800", "--batch-size", "400", "--jobs", "1", "--skip-plain"],
}
#: Further modes of a bench, each at its smallest size (run besides its SMOKE entry).
MODES: dict[str, list[str]] = {
    # umierrorcorrect2 (the peer) needs its own venv and Debian's bwa: not in the smoke run
    "ch.py --umi": ["--umi", "--sites-per-level", "1", "--molecules", "200", "--no-peer"],
    "ch.py --umi-real": ["--umi-real", "--no-peer"],
    "dag.py --floor": ["--floor", "--sizes", "2"],
}
#: Benches that measure on ../shared/data/real only (skipped where it is absent).
NEEDS_REAL_DATA = {"annotation_lopo.py"}
#: Tools a bench cannot measure without (the others skip the tools they lack).
NEEDS = {
    "dag.py": "/usr/bin/time",
    "singlecell.py": "/usr/bin/time",
    "doublets.py": "/usr/bin/time",
}


def run_bench(name: str, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """The bench as a user runs it, with this checkout's package first on the path."""
    path = os.pathsep.join(p for p in (str(REPO / "src"), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "PYTHONHASHSEED": "0"}
    return subprocess.run(
        [sys.executable, str(REPO / "bench" / name), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_every_bench_has_a_smoke_run() -> None:
    assert set(BENCHES) == set(SMOKE)


@pytest.mark.parametrize("name", BENCHES)
def test_bench_help(name: str) -> None:
    proc = run_bench(name, "--help", timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "usage:" in proc.stdout


@pytest.mark.parametrize("name", sorted(SMOKE))
def test_bench_runs_at_smallest_size(name: str, request: pytest.FixtureRequest) -> None:
    tool = NEEDS.get(name)
    if tool and not (Path(tool).exists() or shutil.which(tool)):
        pytest.skip(f"{name} measures with {tool}, not installed (make sysdeps)")
    if name in NEEDS_REAL_DATA:
        from realdata import vangalen_dir

        if vangalen_dir() is None:
            pytest.skip(f"{name} measures on ../shared/data/real, absent here")
    args = SMOKE[name]
    if any("{demo}" in a for a in args):
        demo = request.getfixturevalue("demo_data")
        args = [a.replace("{demo}", str(demo)) for a in args]
    proc = run_bench(name, *args)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert proc.stdout.strip(), "a bench prints its figures"


@pytest.mark.parametrize("mode", sorted(MODES))
def test_bench_modes_run_at_smallest_size(mode: str) -> None:
    proc = run_bench(mode.split()[0], *MODES[mode])
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert proc.stdout.strip(), "a bench prints its figures"
