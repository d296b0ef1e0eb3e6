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


def test_report_says_when_the_lymphodepletion_start_was_assumed(tmp_path: Path) -> None:
    """Issue 25 item 2: without a lymphodepletion event the patient report says the start
    was assumed; with one, it names the day and regimen."""
    from marrowtox.clinical.scores import ClinicalParams, run_clinical

    samples = sheet(
        [("P1", "S1", "scrna", "BL", -7, "x.h5"), ("P2", "S2", "scrna", "BL", -7, "y.h5")]
    )
    labs = pd.DataFrame(
        [
            (p, -5, a, v, u)
            for p in ("P1", "P2")
            for a, v, u in (
                ("plt", 150.0, "10^9/L"),
                ("anc", 1000.0, "/uL"),
                ("hb", 10.0, "g/dL"),
                ("crp", 1.0, "mg/dL"),
                ("ferritin", 500.0, "ng/mL"),
            )
        ],
        columns=["patient", "day", "analyte", "value", "unit"],
    )
    events = pd.DataFrame(
        [("P1", -6, "lymphodepletion", None, "Flu/Cy"), ("P2", 0, "infusion", None, "")],
        columns=["patient", "day", "event", "grade", "regimen"],
    )
    results = tmp_path / "results"
    run_clinical(["P1", "P2"], labs, events, results / "clinical", ClinicalParams())
    write_cohort_table(samples, results, results / "cohort" / "patients.tsv")
    for p in ("P1", "P2"):
        patient_report(p, samples, events, results, tmp_path / f"{p}.html")
    p1, p2 = ((tmp_path / f"{p}.html").read_text() for p in ("P1", "P2"))
    assert "assumed on day -5" in p2 and "assumed" not in p1
    assert "lymphodepletion (Flu/Cy) started on day -6" in p1


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


def test_nothing_callable_is_missing_never_zero(tmp_path: Path) -> None:
    """Issue 25 item 3: a cohort built to be not callable in every branch (DNA below
    ch.min_depth on every target, no T/NK cell for CAR T %, no annotated cell for HSPC %,
    flow counts under an empty parent gate) has no 0 in those columns of patients.tsv,
    each with its reason in `missing`, and the patient report says why CH is empty."""
    from marrowtox.clinical.flow import load_flow
    from marrowtox.layout import Results

    samples = sheet(
        [
            ("P1", "P1_BL", "scrna", "BL", -7, "x.h5"),
            ("P1", "P1_D28", "scrna", "D28", 28, "y.h5"),
            ("P1", "P1_D28_dna", "dna", "D28", 28, "z.bam"),
        ]
    )
    samples["bam"] = ""
    res = Results(tmp_path / "results")
    files = {
        res.lod("P1_D28_dna"): pd.DataFrame(
            {
                "target": ["DNMT3A_1", "TET2_3"],
                "chrom": ["chr2", "chr4"],
                "start": [1, 1],
                "end": [100, 100],
                "median_depth": [30, 38],
                "error_rate": [0.001, 0.001],
                "lod_vaf": [0.26, 0.24],
                "callable": [False, False],
            }
        ),
        res.calls("P1_D28_dna"): pd.DataFrame(
            columns=["chrom", "pos", "ref", "alt", "chip", "vaf"]
        ),
        res.clones("P1"): pd.DataFrame(
            columns=["gene", "chrom", "pos", "ref", "alt", "day", "status"]
        ),
        res.cart("P1_D28"): pd.DataFrame(
            [{"sample": "P1_D28", "n_cells": 0, "n_t_cells": 0, "car_status": "measured"}]
        ).assign(car_t_pct_of_cells=None, car_t_pct_of_t=None, cart_score_activation=None),
    }
    for s in ("P1_BL", "P1_D28"):
        files[res.composition(s)] = pd.DataFrame(
            {
                "sample": [s, s],
                "cell_type": ["HSPC", "T"],
                "n_cells": [0, 0],
                "fraction": [float("nan")] * 2,
                "is_hspc": [True, False],
            }
        )
    for path, df in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(path, sep="\t", index=False)
    flow_tsv = tmp_path / "flow.tsv"
    flow_tsv.write_text(
        "patient\tday\tspecimen\tpopulation\tparent\tcount\tpercent\n"
        "P1\t-7\tmarrow\tCD45+\tviable\t0\t\n"
        "P1\t-7\tmarrow\tCD34+\tCD45+\t0\t\n"
        "P1\t28\tmarrow\tCD45+\tviable\t0\t\n"
        "P1\t28\tmarrow\tCD34+\tCD45+\t0\t\n"
        "P1\t28\tmarrow\tCD3+\tCD45+\t0\t\n"
        "P1\t28\tmarrow\tCAR+\tCD3+\t0\t\n"
    )
    flow = load_flow(flow_tsv, {"P1"})
    out = res.root / "cohort" / "patients.tsv"
    write_cohort_table(samples, res.root, out, flow=flow, min_depth=100)
    row = pd.read_csv(out, sep="\t").iloc[0]
    measured = (
        "ch_n_chip",
        "ch_max_vaf",
        "ch_n_emergent",
        "bm_cart_pct",
        "bm_cart_pct_of_t",
        "hspc_pct_baseline",
        "hspc_pct_post",
        "flow_cd34_pct_baseline",
        "flow_cd34_pct_post",
        "flow_cart_pct_of_t",
    )
    for col in measured:
        assert pd.isna(row[col]), (col, row[col])
    # no numeric column holds a 0 (the counts of samples are not results)
    for col, v in row.items():
        if col not in ("n_scrna_samples", "n_dna_samples"):
            assert not (isinstance(v, int | float) and v == 0), (col, v)
    why = row["missing"]
    assert "P1_D28_dna not callable, median depth 34 < 100; detection limit 25% VAF" in why
    for col in measured[3:]:
        assert f"{col}: not callable" in why, col
    patient_report("P1", samples, None, res.root, tmp_path / "P1.html", min_depth=100)
    html = (tmp_path / "P1.html").read_text()
    assert "CH: P1_D28_dna not callable, median depth 34 &lt; 100" in html
    assert "no clone detected" not in html


def test_product_sample_is_shown_as_product_not_marrow(tmp_path: Path) -> None:
    """A day-0 CAR T product is reported as the product with its CAR+ %, not as a
    marrow time point (issue 25 item 1)."""
    from marrowtox.layout import Results

    samples = sheet(
        [("P1", "BM", "scrna", "BL", -7, "x.h5"), ("P1", "PROD", "scrna", "inf", 0, "y.h5")]
    )
    samples["specimen"] = ["marrow", "product"]
    results = tmp_path / "results"
    cart = Results(results).cart("PROD")
    cart.parent.mkdir(parents=True, exist_ok=True)
    cart.write_text(
        "car_status\tcar_t_pct_of_cells\tcar_t_pct_of_t\tcart_score_exhaustion\t"
        "cart_score_cx3cr1_effector\nmeasured\t41.5\t62.25\t0.734\t-0.21\n"
    )
    write_cohort_table(samples, results, results / "cohort" / "patients.tsv")
    out = tmp_path / "p.html"
    patient_report("P1", samples, None, results, out)
    html = out.read_text()
    section = html[html.index('id="specimens"') :]
    section = section[: section.index("</section>")]
    assert "PROD" in section and "product" in section and "41.50" in section
    # the programs at infusion: the product's CAR T program scores (issue 25 item 1)
    assert "programs at infusion" in section
    assert "exhaustion 0.73" in section and "cx3cr1 effector -0.21" in section
    marrow = html[html.index('id="marrow"') :]
    assert "PROD" not in marrow[: marrow.index("</section>")]


# ---- issue 25 item 7: cohort table, UMAP by cell type, "not measured" line, stale outputs


def test_cohort_table_shows_patient_then_clinical_columns(tmp_path: Path) -> None:
    """The clinical columns come right after the patient (shaded headers) and the
    patient column is sticky; patients.tsv keeps its stable column order."""
    from marrowtox.report.build import CLINICAL_FIRST
    from marrowtox.report.cohort_table import COLUMNS

    samples = sheet([("P1", "S1", "scrna", "BL", -7, "x.h5")])
    results = tmp_path / "results"
    write_cohort_table(samples, results, results / "cohort" / "patients.tsv")
    assert list(pd.read_csv(results / "cohort" / "patients.tsv", sep="\t").columns) == COLUMNS
    cohort_report(samples, results, tmp_path / "c.html")
    html = (tmp_path / "c.html").read_text()
    head = html[html.index('<table id="cohort-table"') : html.index("</thead>")]
    titles = [t for t in head.split("<th ")[1:]]
    assert ">patient<" in titles[0].lower() or "patient" in titles[0].lower()
    clinical = [t for t in titles[1 : 1 + len(CLINICAL_FIRST)]]
    assert all(" clinical" in t.split(">")[0] for t in clinical), clinical
    assert "tablebox td:first-child{position:sticky;left:0" in html
    assert "missing" in titles[-1].split(">")[0] or "wide" in titles[-1].split(">")[0]


def test_patient_umap_is_coloured_by_cell_type() -> None:
    """Every cell type's colour is in the UMAP figure (not only grey cells with HSPC and
    CAR T marked), and the same type has the same colour in every panel."""
    import io

    import matplotlib.image
    import numpy as np

    from marrowtox.report import plots

    rng = np.random.default_rng(0)
    types = ["HSC/MPP", "GMP/neutrophil", "monocyte", "CD4 T", "B", "erythroid"]
    panels = []
    for k in range(2):
        obs = pd.DataFrame(
            {
                "cell_type": rng.choice(types, 600),
                "car_positive": rng.random(600) < 0.05,
            }
        )
        centres = {t: np.array([i * 6.0, (i % 2) * 6.0]) for i, t in enumerate(types)}
        xy = np.stack([centres[t] for t in obs["cell_type"]]) + rng.normal(0, 1, (600, 2))
        panels.append((f"day {k}", obs, xy))
    colours = plots.celltype_colours(types)
    assert colours == plots.celltype_colours(list(reversed(types)))
    img = matplotlib.image.imread(io.BytesIO(plots.umaps(panels)))[..., :3]
    pixels = (img.reshape(-1, 3) * 255).round()
    for t, hexc in colours.items():
        rgb = np.array([int(hexc[i : i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(pixels - rgb).max(axis=1) <= 12).sum() > 50, t


def test_empty_panels_collapse_into_one_not_measured_line(tmp_path: Path) -> None:
    """A patient without scRNA figures and with only CRP and ferritin measured: one
    "not measured" line lists the figures and the biomarker panels without data; no
    empty panel is drawn for them."""
    from marrowtox.clinical.scores import ClinicalParams, run_clinical

    samples = sheet([("P1", "D1", "dna", "BL", -7, "a.bam")])
    labs = pd.DataFrame(
        [("P1", d, a, v * (1 + d / 10), u) for d in (-5, 1, 3, 7)
         for a, v, u in (("crp", 1.0, "mg/dL"), ("ferritin", 500.0, "ng/mL"))],
        columns=["patient", "day", "analyte", "value", "unit"],
    )  # fmt: skip
    results = tmp_path / "results"
    run_clinical(["P1"], labs, None, results / "clinical", ClinicalParams())
    write_cohort_table(samples, results, results / "cohort" / "patients.tsv")
    patient_report("P1", samples, None, results, tmp_path / "p.html")
    html = (tmp_path / "p.html").read_text()
    assert html.count('id="not-measured"') == 1
    line = html[html.index('id="not-measured"') :]
    line = line[: line.index("</p>")]
    for what in ("marrow composition", "UMAP", "inflammation scores", "CAR T programs"):
        assert what in line, what
    assert "biomarkers ang2, ang1, vwf, sc5b9, svcam1, il6 (no value in labs.tsv)" in line
    assert "ferritin" not in line and "crp" not in line
    assert "Endothelial and inflammatory biomarkers" in html  # the measured panels drawn
    for title in ("UMAP of every marrow timepoint", "Marrow composition at every timepoint"):
        assert title not in html


def test_outputs_of_removed_samples_are_listed_removed_and_never_shown(
    tmp_path: Path, capsys
) -> None:
    """A sample and a patient dropped from the sheet: `marrowtox stale` lists their
    files (and only theirs), --remove deletes them, the cohort report notes them and
    shows none of their values."""
    from marrowtox.cli import main
    from marrowtox.layout import Results
    from marrowtox.stale import find_stale

    samples = sheet([("P1", "P1_BL", "scrna", "BL", -7, "x.h5")])
    results = tmp_path / "results"
    res = Results(results)
    keep = [
        res.cart("P1_BL"),
        results / "cart" / "P1_BL.cells.tsv",
        res.scores("P1"),
        results / "singlecell" / "cohort.h5ad",  # the cohort's own outputs
        results / "reports" / "cohort.html",
    ]
    gone = [
        res.cart("OLD_D28"),
        results / "cart" / "OLD_D28.cells.tsv",
        res.composition("OLD_D28"),
        res.scores("P7"),
        results / "reports" / "P7.html",
    ]
    mine = results / "notes" / "my_notes.txt"
    for f in [*keep, *gone, mine]:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("car_status\tcar_t_pct_of_cells\nmeasured\t99.25\n")
    stale = find_stale(results, samples)
    assert sorted(stale.files) == sorted(gone)
    assert set(stale.samples) == {"OLD_D28"} and set(stale.patients) == {"P7"}
    write_cohort_table(samples, results, results / "cohort" / "patients.tsv")
    cohort_report(samples, results, tmp_path / "c.html")
    html = (tmp_path / "c.html").read_text()
    note = html[html.index('id="stale"') :]
    note = note[: note.index("</p>")]
    assert "sample OLD_D28 (3 files)" in note and "patient P7 (2 files)" in note
    assert "marrowtox stale" in note
    rest = html.replace(note, "")
    assert "OLD_D28" not in rest and "P7" not in rest and "99.25" not in html
    cohort_report(samples, results, tmp_path / "pseudo.html", pseudonymise=True)
    pseudo = (tmp_path / "pseudo.html").read_text()
    assert "1 samples and 1 patients" in pseudo and "OLD_D28" not in pseudo
    sheet_tsv = tmp_path / "samples.tsv"
    samples[["patient", "sample", "assay", "timepoint", "day", "path"]].to_csv(
        sheet_tsv, sep="\t", index=False
    )
    args = ["stale", "--samples", str(sheet_tsv), "--results", str(results)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert all(str(f) in out for f in gone) and "--remove" in out
    assert all(f.exists() for f in gone)
    assert main([*args, "--remove"]) == 0
    assert not any(f.exists() for f in gone) and all(f.exists() for f in keep) and mine.exists()
