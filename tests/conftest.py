"""Shared fixtures: paths of the repository and of the optional real data."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "data" / "real"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def real_data() -> Path:
    if not REAL_DATA.is_dir():
        pytest.skip(f"real data folder {REAL_DATA} absent (only in the project's CI checkout)")
    return REAL_DATA


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly generated demo cohort (read-only for tests: copy what you modify)."""
    from marrowtox.demo.generate import generate_cohort

    demo = tmp_path_factory.mktemp("demo_data") / "demo"
    generate_cohort(demo, 7)
    return demo


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory, demo_data: Path) -> dict[str, Path]:
    """The whole workflow run once on the demo cohort (shared by tests)."""
    from workflow_run import prepare_workdir, snakemake

    base = tmp_path_factory.mktemp("demo_run")
    demo = demo_data
    work = base / "work"
    prepare_workdir(work, demo)
    snakemake(work, "--rerun-incomplete")
    return {"demo": demo, "work": work, "results": work / "results"}


@pytest.fixture
def repo_like(demo_data: Path, tmp_path: Path) -> Path:
    """A working directory laid out like the repository after `make demo`: the shipped
    config/ (config.yaml, demo.yaml) and a demo/ cohort beside it."""
    import shutil

    work = tmp_path / "work"
    shutil.copytree(REPO / "config", work / "config")
    (work / "demo").symlink_to(demo_data, target_is_directory=True)
    return work
