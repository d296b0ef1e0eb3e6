"""Per-patient report (issue 16): the timeline, the flag row, every marrow timepoint, QC.

Assertions are checked against the result tables and the planted truth of the demo
cohort, not against numbers copied into the test. The results come from the session
workflow run (`demo_run`), or, for development, from a finished run named by
MARROWTOX_RESULTS (its demo inputs: MARROWTOX_DEMO, default <results>/../demo):

    MARROWTOX_RESULTS=/work/main/results .venv/bin/pytest -q tests/test_report_timeline.py

Tests that read results are marked `workflow` (without MARROWTOX_RESULTS they run the
whole workflow once per session); the clone-definition tests need no results.
"""

from __future__ import annotations

import base64
import inspect
import io
import os
import re
from pathlib import Path

import pandas as pd
import pytest

from marrowtox.report import plots, timeline
from marrowtox.report.flags import classify_clone
from marrowtox.report.html import fmt
from marrowtox.samplesheet import is_marrow

DATA_URI = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")


def demo_paths(request: pytest.FixtureRequest) -> dict[str, Path]:
    """{"demo": inputs folder, "results": results folder} of a finished demo run."""
    env = os.environ.get("MARROWTOX_RESULTS")
    if env:
        results = Path(env)
        if not (results / "clinical").is_dir():
            pytest.skip(f"MARROWTOX_RESULTS={env} holds no finished run")
        demo = Path(os.environ.get("MARROWTOX_DEMO", results.parent / "demo"))
        return {"demo": demo, "results": results}
    run = request.getfixturevalue("demo_run")
    return {"demo": run["demo"], "results": run["results"]}


def render_reports(
    paths: dict[str, Path], out: Path, pseudonymise: bool
) -> dict[str, dict[str, object]]:
    """Render every patient's report (and the cohort's) with the CLI, in process.

    Returns per patient the HTML, the output path and the text of every artist drawn
    into each figure (keyed by the plotting function), captured by wrapping png():
    image pixels cannot be grepped, the figures' Text objects can.
    """
    from marrowtox.cli import main

    samples = pd.read_csv(paths["demo"] / "samples.tsv", sep="\t")
    texts: dict[str, list[str]] = {}
    originals = {plots: plots.png, timeline: timeline.png}

    def capture(module):
        def png(fig, *args, **kwargs):
            data = originals[module](fig, *args, **kwargs)  # draws: tick labels exist now
            caller = inspect.stack()[1].function
            found = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
            texts.setdefault(caller, []).extend(found)
            return data

        return png

    flag = ["--pseudonymise"] if pseudonymise else []
    rendered: dict[str, dict[str, object]] = {}
    with pytest.MonkeyPatch.context() as mp:
        for module in originals:
            mp.setattr(module, "png", capture(module))
        for patient in sorted(samples["patient"].unique()):
            texts.clear()
            stem = patient
            if pseudonymise:
                from marrowtox.report.names import Names

                stem = Names(samples, True).file_stem(patient)
            page = out / f"{stem}.html"
            args = ["report-patient", "--samples", str(paths["demo"] / "samples.tsv")]
            args += ["--events", str(paths["demo"] / "events.tsv"), "--patient", patient]
            if (paths["demo"] / "flow.tsv").is_file():  # as the workflow's reports
                args += ["--flow", str(paths["demo"] / "flow.tsv")]
            assert main([*args, "--results", str(paths["results"]), "--out", str(page), *flag]) == 0
            rendered[patient] = {"html": page.read_text(), "path": page, "texts": dict(texts)}
        texts.clear()
        page = out / "cohort.html"
        args = ["report-cohort", "--samples", str(paths["demo"] / "samples.tsv")]
        assert main([*args, "--results", str(paths["results"]), "--out", str(page), *flag]) == 0
        rendered["__cohort__"] = {"html": page.read_text(), "path": page, "texts": dict(texts)}
    return rendered


def section(html: str, sid: str) -> str:
    m = re.search(rf'<section id="{sid}".*?</section>', html, flags=re.S)
    assert m, f"no section {sid}"
    return m.group(0)


def visible_text(html: str) -> str:
    """The page without its base64 image payloads and tags, entities decoded."""
    import html as h

    return h.unescape(re.sub(r"<[^>]+>", " ", DATA_URI.sub("", html)))


@pytest.fixture(scope="module")
def paths(request: pytest.FixtureRequest) -> dict[str, Path]:
    return demo_paths(request)


@pytest.fixture(scope="module")
def reports(paths, tmp_path_factory) -> dict[str, dict[str, object]]:
    return render_reports(paths, tmp_path_factory.mktemp("reports"), pseudonymise=False)


@pytest.fixture(scope="module")
def samples(paths) -> pd.DataFrame:
    return pd.read_csv(paths["demo"] / "samples.tsv", sep="\t")


def patients(samples: pd.DataFrame) -> list[str]:
    return sorted(samples["patient"].unique())


@pytest.mark.workflow
def test_timeline_is_the_first_figure_and_inline(reports, samples) -> None:
    for p in patients(samples):
        html = str(reports[p]["html"])
        tl = section(html, "timeline")
        assert html.index('id="timeline"') < html.index('id="flags"') < html.index("Summary")
        m = DATA_URI.search(tl)
        assert m, f"{p}: no inline timeline image"
        from PIL import Image

        img = Image.open(io.BytesIO(base64.b64decode(m.group(1))))
        assert img.format == "PNG" and img.size[0] > 600 and img.size[1] > 900
        # self-contained: nothing fetched from elsewhere
        assert not re.search(r"(src|href)=\"(https?:)?//", html)
        assert "<link" not in html and "<script" not in html


@pytest.mark.workflow
def test_anc_thresholds_and_icaht_windows_with_grades(reports, samples, paths) -> None:
    for p in patients(samples):
        texts = reports[p]["texts"]["figure"]
        for thr in ("1500/uL", "1000/uL", "500/uL", "100/uL"):
            assert thr in texts, (p, thr)
        s = pd.read_csv(paths["results"] / "clinical" / f"{p}.scores.tsv", sep="\t").iloc[0]
        early = f"grade {int(s['icaht_early_grade'])}"
        late = f"grade {int(s['icaht_late_grade'])}"
        assert f"early ICAHT d0-30: {early}" in texts
        assert f"late ICAHT d31-{int(s['late_window_end'])}: {late}" in texts


@pytest.mark.workflow
def test_neutropenia_shading_is_the_graded_series(paths, samples) -> None:
    """Shaded days (ANC <= 500 / <= 100 in day 0-30) = the counts the grading reported."""
    for p in patients(samples):
        grid = pd.read_csv(paths["results"] / "clinical" / f"{p}.anc_grid.tsv", sep="\t")
        s = pd.read_csv(paths["results"] / "clinical" / f"{p}.scores.tsv", sep="\t").iloc[0]
        days, vals = grid["day"].to_numpy(int), grid["anc"].to_numpy(float)
        for thr, col in ((500, "days_anc_le_500_d0_30"), (100, "days_anc_le_100_d0_30")):
            runs = timeline._raw_runs(days, vals, thr)
            shaded = sum(max(0, min(b, 30) - max(a, 0) + 1) for a, b in runs)
            assert shaded == int(s[col]), (p, thr)


@pytest.mark.workflow
def test_every_marrow_timepoint_in_table_and_timeline(reports, samples, paths) -> None:
    res = paths["results"]
    for p in patients(samples):
        html = str(reports[p]["html"])
        rows = re.findall(r'<tr class="tp">(.*?)</tr>', section(html, "marrow"), flags=re.S)
        sc = samples[(samples["patient"] == p) & (samples["assay"] == "scrna")].sort_values("day")
        sc = sc[is_marrow(sc)]  # the product and sorted samples are not marrow time points
        assert len(rows) == len(sc) >= 2, p
        texts = reports[p]["texts"]["figure"]
        for row, (_, s) in zip(rows, sc.iterrows(), strict=True):
            cells = [c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
            assert cells[0] == s["sample"] and cells[1] == str(s["day"])
            cart = pd.read_csv(res / "cart" / f"{s['sample']}.tsv", sep="\t").iloc[0]
            comp = pd.read_csv(res / "singlecell" / f"{s['sample']}.composition.tsv", sep="\t")
            n_hspc = int(comp.loc[comp["is_hspc"], "n_cells"].sum())
            assert cells[2] == str(int(comp["n_cells"].sum()))
            assert cells[3].startswith(f"{n_hspc} (")
            assert cells[7] == fmt(cart["car_t_pct_of_t"], 1)
            # the same values are drawn at this timepoint in the timeline
            car = f"{cart['car_t_pct_of_t']:.1f}% ({int(cart['n_car_t'])}/{int(cart['n_t_cells'])})"
            assert car in texts, (p, car)
            hspc = f"{100 * n_hspc / comp['n_cells'].sum():.1f}% ({n_hspc}/{int(comp['n_cells'].sum())})"
            assert hspc in texts, (p, hspc)
        # marrow sampling days labelled on the timeline
        for tp in samples.loc[(samples["patient"] == p) & is_marrow(samples), "timepoint"].unique():
            assert f"marrow {tp}" in texts


def truth_clones(paths) -> pd.DataFrame:
    """Planted CHIP clones with their first and last VAF (in day order of timepoints)."""
    v = pd.read_csv(paths["demo"] / "truth" / "variants.tsv", sep="\t")
    v = v[v["kind"] == "chip"]
    days = pd.read_csv(paths["demo"] / "samples.tsv", sep="\t").set_index("sample")["day"]
    v = v.assign(day=v["sample"].map(days)).sort_values("day")
    g = v.groupby(["patient", "gene", "pos"], sort=False)["vaf"]
    return pd.DataFrame({"first": g.first(), "last": g.last(), "n": g.size()}).reset_index()


@pytest.mark.workflow
def test_flag_row_names_the_expanding_and_emergent_clones(reports, samples, paths) -> None:
    t = truth_clones(paths)
    expanding = t[(t["first"] > 0) & (t["last"] >= 2 * t["first"]) & (t["n"] >= 2)]
    emergent = t[(t["first"] == 0) & (t["last"] > 0)]
    assert "TP53" in set(expanding["gene"]), "the demo plants an expanding TP53 clone"
    for p in patients(samples):
        flags = visible_text(section(str(reports[p]["html"]), "flags"))
        want_exp = set(expanding.loc[expanding["patient"] == p, "gene"])
        want_em = set(emergent.loc[emergent["patient"] == p, "gene"])
        got_exp = set(re.findall(r"expanding clone: (\S+)", flags))
        got_em = set(re.findall(r"emergent clone: (\S+)", flags))
        assert got_exp == want_exp, (p, flags)
        assert got_em == want_em, (p, flags)
        clones = pd.read_csv(paths["results"] / "ch" / f"{p}.clones.tsv", sep="\t")
        for gene in want_exp:
            for v in clones.loc[clones["gene"] == gene, "vaf"]:
                assert f"{100 * v:.2f}%" in flags  # every VAF of the trajectory is written


@pytest.mark.workflow
def test_iec_hs_and_car_hematotox_flags_follow_the_scores(reports, samples, paths) -> None:
    names = {"plt": "platelets", "anc": "ANC", "hb": "hemoglobin", "crp": "CRP"}
    names["ferritin"] = "ferritin"
    seen_high = False
    for p in patients(samples):
        flags = visible_text(section(str(reports[p]["html"]), "flags"))
        s = pd.read_csv(paths["results"] / "clinical" / f"{p}.scores.tsv", sep="\t").iloc[0]
        assert ("IEC-HS: review" in flags) == (s["iec_hs_flag"] == "candidate"), p
        high = s["car_hematotox_risk"] == "high"
        assert ("CAR-HEMATOTOX high" in flags) == high, p
        if high:
            seen_high = True
            inputs = dict(i.split("=") for i in s["car_hematotox_inputs"].split(";"))
            for item, pts in (i.split("=") for i in s["car_hematotox_points"].split(";")):
                value = inputs[item].split("@")[0]
                shown = f"{names[item]} {value}" in flags
                assert shown == (float(pts) > 0), (p, item)
    assert seen_high


@pytest.mark.workflow
def test_clone_panel_draws_lod_and_chip_line(reports, samples, paths) -> None:
    drew_lod = False
    for p in patients(samples):
        texts = reports[p]["texts"]["figure"]
        f = paths["results"] / "ch" / f"{p}.clones.tsv"
        if not f.is_file():
            continue
        clones = pd.read_csv(f, sep="\t")
        if clones.empty:
            continue
        assert "CHIP 2%" in texts
        for _, r in clones[~clones["detected"]].iterrows():
            assert f"< LOD {100 * r['lod_vaf']:.2f}%" in texts, p
            drew_lod = True
        for g in clones["gene"].unique():
            assert any(t.startswith(g) for t in texts), (p, g)
    assert drew_lod, "the demo has an undetected timepoint (emergent clone)"


@pytest.mark.workflow
def test_cell_counts_beside_per_cell_type_scores(reports, samples, paths) -> None:
    for p in patients(samples):
        texts = reports[p]["texts"].get("inflammation_heatmap", [])
        html = str(reports[p]["html"])
        marrow = (samples["patient"] == p) & (samples["assay"] == "scrna") & is_marrow(samples)
        for s in samples.loc[marrow, "sample"]:
            sig = pd.read_csv(paths["results"] / "signatures" / f"{s}.by_celltype.tsv", sep="\t")
            sub = sig[sig["gene_set"].str.startswith("HALLMARK_")]
            if sub["index_vs_baseline"].abs().max() > 0:
                assert f"{s} " in " ".join(texts)  # panel of this timepoint
                counts = {t.split()[0] for t in texts if t.startswith("n=")}
                for n in sub["n_cells"].unique():
                    assert f"n={int(n)}" in counts, (p, s, n)
                # a row without an index (CAR T: none in the baseline) keeps its count
                for n in sub.loc[sub["index_vs_baseline"].isna(), "n_cells"].unique():
                    assert f"n={int(n)} (no index)" in texts, (p, s, n)
            comp = pd.read_csv(paths["results"] / "singlecell" / f"{s}.composition.tsv", sep="\t")
            for _, r in comp.iterrows():  # cells per type table: count beside percentage
                assert f"{int(r['n_cells'])} ({100 * r['fraction']:.1f}%)" in html


@pytest.mark.workflow
def test_qc_section_per_scrna_sample(reports, samples, paths) -> None:
    for p in patients(samples):
        qc = section(str(reports[p]["html"]), "qc")
        for s in samples.loc[(samples["patient"] == p) & (samples["assay"] == "scrna"), "sample"]:
            q = pd.read_csv(paths["results"] / "singlecell" / f"{s}.qc.tsv", sep="\t").iloc[0]
            d = pd.read_csv(paths["results"] / "singlecell" / f"{s}.doublets.tsv", sep="\t")
            row = re.search(rf"<tr><td class=\"l\">{s}</td>.*?</tr>", qc, flags=re.S)
            assert row, (p, s)
            cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(0), flags=re.S)
            assert cells[2] == str(int(q["n_cells_before"]))
            assert cells[3] == str(int(q["n_cells_after"]))
            assert cells[5].startswith(f"{int(d['predicted_doublet'].sum())} removed")
            assert f"{q['max_pct_mt']:.2f}" in cells[10]
            assert cells[7] == f"{q['min_total_counts']:.0f}-{q['max_total_counts']:.0f}"


def clone(days, vafs, detected, lods=None, ci=0.1) -> pd.DataFrame:
    lods = lods or [0.007] * len(days)
    return pd.DataFrame(
        {
            "day": days,
            "vaf": vafs,
            "detected": detected,
            "lod_vaf": lods,
            "vaf_ci_low": [v * (1 - ci) for v in vafs],
            "vaf_ci_high": [v * (1 + ci) for v in vafs],
        }
    )


@pytest.mark.parametrize(
    ("days", "vafs", "detected", "lods", "want"),
    [
        ([-7, 28, 90], [0.02, 0.06, 0.14], [True] * 3, None, "expanding"),
        ([-7, 28], [0.02, 0.045], [True] * 2, None, "expanding"),
        ([-7, 28, 90], [0.05, 0.052, 0.067], [True] * 3, None, None),  # rising, < 2x
        ([-7, 28, 90], [0.02, 0.08, 0.06], [True] * 3, None, None),  # 3x but fell last
        ([-7, 28, 90], [0.0, 0.0, 0.08], [False, False, True], None, "emergent"),
        ([-7, 90], [0.0, 0.01], [False, True], [0.02, 0.007], None),  # baseline LOD too high
        ([-7, 28], [0.1, 0.11], [True, True], None, None),
    ],
)
def test_expanding_and_emergent_definitions(days, vafs, detected, lods, want) -> None:
    assert classify_clone(clone(days, vafs, detected, lods)) == want


def test_biomarker_axis_chosen_by_range_and_fold_change() -> None:
    """Issue 16 item 2: a narrow range (CRP 0.48-0.51) is linear, a decade or more is log;
    the fold change is against the last value on or before day 0, peak or nadir."""
    import pandas as pd

    from marrowtox.report.plots import axis_scale, fold_change_from_baseline

    assert axis_scale(pd.Series([0.48, 0.51, 0.50])) == "linear"
    assert axis_scale(pd.Series([2.0, 40.0, 7.0])) == "log"
    assert axis_scale(pd.Series([0.0, 40.0])) == "linear"  # a zero cannot sit on a log axis
    days, ang2 = pd.Series([-7, 0, 3, 7]), pd.Series([1.0, 2.0, 9.0, 4.0])
    assert fold_change_from_baseline(days, ang2) == (2.0, 4.5, "peak")
    ang1 = pd.Series([10.0, 10.0, 2.0, 12.0])
    assert fold_change_from_baseline(days, ang1) == (10.0, 0.2, "nadir")
    assert fold_change_from_baseline(pd.Series([3, 7]), pd.Series([1.0, 2.0])) is None


def test_heatmap_rows_pool_after_types_without_duplicate_hspc() -> None:
    """Issue 16: "HSPC" and "HSC/MPP" were two rows with the same cells; the pooled HSPC
    row goes after the cell types, labelled as a pool, and is dropped when it repeats the
    only HSPC type present."""
    import pandas as pd

    from marrowtox.report.plots import heatmap_rows

    m = pd.DataFrame(index=["monocyte", "HSC/MPP", "HSPC", "CAR T", "CD4 T"])
    n = pd.Series({"monocyte": 300, "HSC/MPP": 40, "HSPC": 40, "CAR T": 20, "CD4 T": 90})
    assert heatmap_rows([(m, n)]) == ["CD4 T", "HSC/MPP", "monocyte", "CAR T (of T cells)"]
    m2 = pd.DataFrame(index=["HSC/MPP", "LMPP", "HSPC"])
    n2 = pd.Series({"HSC/MPP": 40, "LMPP": 10, "HSPC": 50})
    assert heatmap_rows([(m2, n2)]) == ["HSC/MPP", "LMPP", "all HSPC (pooled)"]


@pytest.mark.workflow
def test_heatmap_scale_is_the_cohort_maximum_in_every_report(reports, samples, paths) -> None:
    """results/cohort/heatmap_scale.tsv (written with the cohort table) holds the largest
    |Hallmark index| of every scRNA sample, and every report's legend states that scale."""
    vals = []
    for s in samples.loc[samples["assay"] == "scrna", "sample"]:
        sig = pd.read_csv(paths["results"] / "signatures" / f"{s}.by_celltype.tsv", sep="\t")
        vals += list(sig.loc[sig["gene_set"].str.startswith("HALLMARK_"), "index_vs_baseline"])
    lim = pd.Series(vals, dtype=float).abs().max()
    scale = pd.read_csv(paths["results"] / "cohort" / "heatmap_scale.tsv", sep="\t")
    assert scale["hallmark_index_limit"].iloc[0] == pytest.approx(lim)
    assert scale["n_samples"].iloc[0] == (samples["assay"] == "scrna").sum()
    for p in patients(samples):
        texts = " ".join(reports[p]["texts"].get("inflammation_heatmap", []))
        assert f"one scale for the cohort: +/-{lim:.1f}" in texts.replace("\n", " "), p


@pytest.mark.workflow
def test_flow_car_points_beside_the_scrna_car_t_panel(reports, samples, paths) -> None:
    """Marrow flow CAR+ of CD3+ (flow.tsv) is drawn on the timeline's CAR T panel with
    its value; a patient without such flow rows has no flow marker."""
    flow = pd.read_csv(paths["demo"] / "flow.tsv", sep="\t")
    car = flow[
        (flow["specimen"] == "marrow")
        & (flow["population"].str.replace(" ", "").str.upper() == "CAR+")
        & (flow["parent"].str.replace(" ", "").str.upper() == "CD3+")
        & flow["percent"].notna()
    ]
    assert not car.empty
    for p in patients(samples):
        texts = reports[p]["texts"].get("figure", [])
        mine = car[car["patient"] == p]
        for v in mine["percent"]:
            assert f"flow {v:.1f}%" in texts, (p, v)
        assert ("flow CAR+ of CD3+" in texts) == (not mine.empty), p
