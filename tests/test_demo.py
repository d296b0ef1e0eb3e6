"""The demo cohort generator: deterministic, small, and complete (issue 2)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pysam
import pytest

from marrowtox.demo.cohort import COHORT
from marrowtox.demo.generate import generate_cohort
from marrowtox.inputs import load_all
from marrowtox.samplesheet import is_marrow

SEED = 7


@pytest.fixture(scope="module")
def demo_twice(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    a = tmp_path_factory.mktemp("demo_a") / "demo"
    b = tmp_path_factory.mktemp("demo_b") / "demo"
    generate_cohort(a, SEED)
    generate_cohort(b, SEED)
    return a, b


def bam_digest(path: Path) -> str:
    """Checksum of the reads as text (what `samtools view | md5sum` sees)."""
    h = hashlib.md5()
    with pysam.AlignmentFile(str(path), "rb") as bam:
        for read in bam.fetch(until_eof=True):
            h.update(read.to_string().encode())
            h.update(b"\n")
    return h.hexdigest()


def test_tables_byte_identical(demo_twice: tuple[Path, Path]) -> None:
    a, b = demo_twice
    tables = sorted(
        p.relative_to(a)
        for p in a.rglob("*")
        if p.suffix in {".tsv", ".vcf", ".bed", ".gtf", ".fa"}
    )
    assert Path("samples.tsv") in tables and Path("labs.tsv") in tables
    for rel in tables:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


def test_reads_identical(demo_twice: tuple[Path, Path]) -> None:
    a, b = demo_twice
    bams = sorted(a.rglob("*.bam"))
    assert bams
    for bam in bams:
        assert bam_digest(bam) == bam_digest(b / bam.relative_to(a)), bam.name


def test_scrna_identical(demo_twice: tuple[Path, Path]) -> None:
    a, b = demo_twice
    files = sorted([*a.rglob("*.h5"), *a.rglob("*.h5ad")])
    assert files
    import scanpy as sc

    for f in files:
        fa = sc.read_10x_h5(f) if f.suffix == ".h5" else sc.read_h5ad(f)
        fb = (
            sc.read_10x_h5(b / f.relative_to(a))
            if f.suffix == ".h5"
            else sc.read_h5ad(b / f.relative_to(a))
        )
        assert list(fa.obs_names) == list(fb.obs_names)
        xa = fa.layers["counts"] if "counts" in fa.layers else fa.X
        xb = fb.layers["counts"] if "counts" in fb.layers else fb.X
        assert (xa != xb).nnz == 0, f.name


def test_size_and_sheet_valid(demo_twice: tuple[Path, Path]) -> None:
    a, _ = demo_twice
    total = sum(p.stat().st_size for p in a.rglob("*") if p.is_file())
    assert total < 50 * 2**20, f"demo is {total / 2**20:.1f} MiB"
    tables = load_all(
        {
            "samples": str(a / "samples.tsv"),
            "labs": str(a / "labs.tsv"),
            "events": str(a / "events.tsv"),
        }
    )
    s = tables.samples
    assert sorted(s["patient"].unique()) == [p.patient for p in COHORT]
    # the planned marrow timepoints; the product and the sorted samples (issue 28) apart
    s = s[is_marrow(s)]
    for plan in COHORT:
        for assay in ("scrna", "dna"):
            tps = set(s[(s["patient"] == plan.patient) & (s["assay"] == assay)]["timepoint"])
            assert tps == set(plan.timepoints), (plan.patient, assay)
    truth = pd.read_csv(a / "truth" / "patients.tsv", sep="\t")
    assert list(truth["patient"]) == [p.patient for p in COHORT]


def test_other_seed_differs(demo_twice: tuple[Path, Path], tmp_path: Path) -> None:
    a, _ = demo_twice
    from marrowtox.demo import clinical

    clinical.generate(tmp_path, SEED + 1)
    assert (a / "labs.tsv").read_bytes() != (tmp_path / "labs.tsv").read_bytes()
