"""Reports: escaping, honest degradation, and rendering in headless Chromium (issue 5)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from marrowtox.report.build import cohort_report, patient_report, write_cohort_table

EVIL = "<script>alert(1)</script>&P9"


def sheet(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["patient", "sample", "assay", "timepoint", "day", "path"])
    for c in ("batch", "normal", "chemistry", "car_construct"):
        df[c] = ""
    return df


def test_patient_id_is_escaped_and_missing_branches_explained(tmp_path: Path) -> None:
    samples = sheet(
        [(EVIL, "S1", "scrna", "BL", -7, "x.h5"), (EVIL, "S2", "scrna", "D28", 28, "y.h5")]
    )
    results = tmp_path / "results"
    write_cohort_table(samples, results, results / "cohort" / "patients.tsv")
    out = tmp_path / "p.html"
    patient_report(EVIL, samples, None, results, out)
    html = out.read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;P9" in html
    assert "no DNA sample" in html and "not measured" in html
    table = pd.read_csv(results / "cohort" / "patients.tsv", sep="\t")
    assert "ch_*: no DNA sample" in table.loc[0, "missing"]
    assert "clinical: no clinical scores" in table.loc[0, "missing"]
    cohort_report(samples, results, tmp_path / "c.html")
    cohort = (tmp_path / "c.html").read_text()
    # the only script is the table sorter of the page itself; the id is escaped
    assert "<script>alert" not in cohort and cohort.count("<script") == 1
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&amp;P9" in cohort


def test_pseudonymised_reports_hide_ids(tmp_path: Path) -> None:
    samples = sheet(
        [
            ("PAT-123", "PAT-123_BL", "dna", "BL", -7, "a.bam"),
            ("PAT-456", "PAT-456_BL", "dna", "BL", -7, "b.bam"),
        ]
    )
    results = tmp_path / "results"
    write_cohort_table(samples, results, results / "cohort" / "patients.tsv")
    patient_report("PAT-456", samples, None, results, tmp_path / "p.html", pseudonymise=True)
    cohort_report(samples, results, tmp_path / "c.html", pseudonymise=True)
    for f in ("p.html", "c.html"):
        html = (tmp_path / f).read_text()
        assert "PAT-" not in html
    assert "Patient 002" in (tmp_path / "p.html").read_text()


def render(page: Path, png: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian chromium not installed")
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,2400",
            f"--screenshot={png}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.workflow
@pytest.mark.parametrize("name", ["P05.html", "cohort.html"])
def test_reports_render_in_headless_chromium(demo_run, tmp_path: Path, name: str) -> None:
    from PIL import Image

    page = demo_run["results"] / "reports" / name
    png = tmp_path / "shot.png"
    proc = render(page, png, tmp_path)
    assert png.is_file(), proc.stderr[-2000:]
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line]
    assert not console, console
    img = Image.open(png).convert("L")
    lo, hi = img.getextrema()
    assert hi - lo > 100  # not a blank page
    # keep a copy for humans (not a test artefact CI reads)
    shutil.copy(png, demo_run["work"] / f"screenshot_{name}.png")
