"""Reports in headless Chromium: the new sections are there, nothing overflows its box,
the cohort table sorts, and no request leaves the page (issue 16 item 7, issue 17 item 5).

A probe script is added to a copy of each page (the page's own Content-Security-Policy
forbids inline scripts in patient reports, so the copy drops that one meta tag); it
measures layout after rendering and writes the result into the DOM, which
`chromium --dump-dom` prints. Skips when Debian chromium is not installed
(`make sysdeps` installs it).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from marrowtox.atomic import write_tsv
from marrowtox.layout import path as layout_path
from marrowtox.report.build import cohort_report, patient_report, write_cohort_table

PROBE = """<script>
(function () {
  var bad = [], de = document.documentElement;
  if (de.scrollWidth > de.clientWidth + 1) { bad.push("page " + de.scrollWidth + ">" + de.clientWidth); }
  document.querySelectorAll("section, .flag, .clone, header").forEach(function (e) {
    if (e.scrollWidth > e.clientWidth + 1) {
      bad.push((e.id || e.className || e.tagName) + " " + e.scrollWidth + ">" + e.clientWidth);
    }
  });
  document.querySelectorAll("img").forEach(function (i) {
    var box = i.closest("section").getBoundingClientRect(), r = i.getBoundingClientRect();
    if (r.right > box.right + 1 || r.width < 50) { bad.push("img " + i.alt); }
  });
  var sorted = null, th = document.querySelector("#cohort-table th[data-probe-sort]");
  if (th) {
    th.click();
    var i = Array.prototype.indexOf.call(th.parentNode.cells, th);
    sorted = Array.prototype.map.call(document.querySelectorAll("#cohort-table tbody tr"),
      function (tr) { return tr.cells[i].getAttribute("data-key"); });
  }
  var ids = Array.prototype.map.call(document.querySelectorAll("[id]"), function (e) { return e.id; });
  document.body.setAttribute("data-probe", JSON.stringify({overflow: bad, ids: ids, sorted: sorted}));
})();
</script>"""


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        pytest.skip("Debian chromium not installed (make sysdeps)")
    return exe


def probe(page: Path, tmp_path: Path, sort_header: str | None = None) -> dict:
    """Render a copy of `page` with the probe; the probe's findings and the console."""
    html = page.read_text()
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    if sort_header:
        html = html.replace(f">{sort_header}</th>", f" data-probe-sort>{sort_header}</th>", 1)
    copy = tmp_path / f"probe_{page.name}"
    copy.write_text(html.replace("</body>", PROBE + "</body>"))
    proc = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,2400",
            "--virtual-time-budget=3000",
            "--dump-dom",
            copy.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    m = re.search(r"data-probe=\"([^\"]*)\"", proc.stdout)
    assert m, proc.stderr[-2000:]
    found = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    found["console"] = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln]
    return found


@pytest.fixture()
def reports(tmp_path: Path) -> Path:
    """The two reports of the clone-to-cell fixture (a genotyped and a DNA-only patient)."""
    import test_report_clone_cells as fx

    r = tmp_path / "results"
    write_tsv(fx.clone_rows(), layout_path("clones", r, patient="PX-17"))
    write_tsv(fx.cell_table(), layout_path("clone_cells", r, patient="PX-17"))
    s = fx.sheet()
    write_cohort_table(s, r, r / "cohort" / "patients.tsv")
    out = tmp_path / "reports"
    patient_report("PX-17", s, None, r, out / "PX-17.html")
    cohort_report(s, r, out / "cohort.html")
    return out


def test_patient_report_in_chromium(reports: Path, tmp_path: Path) -> None:
    found = probe(reports / "PX-17.html", tmp_path)
    assert {"timeline", "flags", "clones", "clone-cells", "qc"} <= set(found["ids"])
    assert found["overflow"] == []
    assert found["console"] == []


def test_cohort_report_in_chromium_sorts(reports: Path, tmp_path: Path) -> None:
    found = probe(reports / "cohort.html", tmp_path, sort_header="DNA samples (n)")
    assert {"patients", "clones"} <= set(found["ids"])
    assert found["overflow"] == []
    assert found["console"] == []
    keys = found["sorted"]
    assert keys == [repr(1.0), repr(2.0)]  # PX-17 (2 DNA samples) came first unsorted
    # one click: ascending; not-measured cells (empty key) stay last
    measured = [float(k) for k in keys if k]
    assert measured == sorted(measured) and keys[len(measured) :] == [""] * (
        len(keys) - len(measured)
    )


@pytest.mark.workflow
def test_demo_reports_in_chromium(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Every demo report (session `demo_run`, or MARROWTOX_RESULTS of a finished run)."""
    from test_report_timeline import demo_paths

    reports = demo_paths(request)["results"] / "reports"
    pages = sorted(reports.glob("*.html"))
    assert len(pages) == 7
    for page in pages:
        found = probe(page, tmp_path)
        assert found["overflow"] == [], (page.name, found["overflow"])
        assert found["console"] == [], page.name
        if page.name != "cohort.html":
            assert {"timeline", "flags", "clones", "qc"} <= set(found["ids"]), page.name
    # the demo genotypes every post-infusion marrow: each patient has the clone section
    for page in pages:
        if page.name != "cohort.html":
            assert "clone-cells" in probe(page, tmp_path)["ids"], page.name


@pytest.mark.workflow
def test_demo_car_t_clone_flag_matches_the_genotyping(request: pytest.FixtureRequest) -> None:
    """A patient's report flags a clone in CAR T cells exactly when clone_cells.tsv calls
    a carrier in CAR T cells for one of its clones (the demo plants TET2 in CAR T)."""
    import pandas as pd
    from test_report_timeline import demo_paths

    from marrowtox.genotype.steps import CAR_T

    results = demo_paths(request)["results"]
    flagged = 0
    for page in sorted((results / "reports").glob("P*.html")):
        cells = layout_path("clone_cells", results, patient=page.stem)
        t = pd.read_csv(cells, sep="\t") if cells.is_file() else pd.DataFrame(columns=["call"])
        car = t[(t.get("cell_type") == CAR_T) & (t["call"] == "carrier")] if len(t) else t
        text = page.read_text()
        flags = text[text.index('id="flags"') : text.index('id="marrow"')]
        assert ("clone in CAR T cells" in flags) == (not car.empty), page.name
        flagged += not car.empty
    assert flagged >= 1  # the planted TET2 clone


STICKY_PROBE = """<script>
(function () {
  var box = document.querySelector("#patients .tablebox"), table = document.getElementById("cohort-table");
  var heads = Array.prototype.slice.call(table.querySelectorAll("thead th"));
  var clinical = heads.filter(function (h) { return h.classList.contains("clinical"); });
  var inView = clinical.every(function (h) { return h.getBoundingClientRect().right <= window.innerWidth; });
  table.style.minWidth = "4000px";  // a wide cohort table: force sideways scrolling
  var cell = table.querySelector("tbody td"), before = cell.getBoundingClientRect().left;
  box.scrollLeft = 1500;
  var after = cell.getBoundingClientRect().left;
  document.body.setAttribute("data-sticky", JSON.stringify({
    clinical: clinical.length, in_view: inView, scrolled: box.scrollLeft,
    first_moved: Math.abs(after - before), first_header: heads[0].textContent}));
})();
</script>"""


def test_cohort_table_patient_column_sticks_and_clinical_columns_in_view(
    reports: Path, tmp_path: Path
) -> None:
    """Issue 25 item 7: in Chromium the clinical columns are on screen without scrolling
    and the patient column stays put when the table scrolls sideways."""
    page = reports / "cohort.html"
    copy = tmp_path / "sticky.html"
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text())
    copy.write_text(html.replace("</body>", STICKY_PROBE + "</body>"))
    proc = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1200,1600",
            "--virtual-time-budget=3000",
            "--dump-dom",
            copy.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    m = re.search(r"data-sticky=\"([^\"]*)\"", proc.stdout)
    assert m, proc.stderr[-2000:]
    found = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert found["first_header"].strip().lower().startswith("patient")
    assert found["clinical"] >= 8 and found["in_view"], found
    assert found["scrolled"] > 1000 and found["first_moved"] < 1, found
