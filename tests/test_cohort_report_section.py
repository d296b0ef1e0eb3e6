"""Cohort report section of the cohort statistics (marrowtox.report.cohort_stats_section)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from marrowtox.cohort.associations import COLUMNS
from marrowtox.cohort.survival import COLUMNS as SURVIVAL_COLUMNS
from marrowtox.report import cohort_stats_section as sec


def assoc_table(rows: list[dict]) -> pd.DataFrame:
    full = []
    for r in rows:
        row = {c: np.nan for c in COLUMNS}
        row.update(specimen="serum", window="d1_3", endpoint="crs_ge3", n=40, n_pos=10)
        row.update(n_neg=30, n_censored=0, small_n=False, censoring=np.nan, reason="")
        row.update(r)
        full.append(row)
    return pd.DataFrame(full, columns=COLUMNS)


def test_top_rows_by_q_then_distance_from_half_without_missing() -> None:
    a = assoc_table(
        [
            {"marker": "weak", "auc": 0.55, "q_bh": 0.5, "auc_ci_low": 0.4, "auc_ci_high": 0.7},
            {"marker": "best", "auc": 0.9, "q_bh": 0.001, "auc_ci_low": 0.8, "auc_ci_high": 0.97},
            {"marker": "low", "auc": 0.1, "q_bh": 0.5, "auc_ci_low": 0.02, "auc_ci_high": 0.2},
            {"marker": "none", "reason": "n_pos=1, n_neg=5 (< 3 per group)"},
        ]
    )
    assert list(sec.top_rows(a)["marker"]) == ["best", "low", "weak"]
    assert list(sec.top_rows(a, n=1)["marker"]) == ["best"]


def test_section_escapes_marks_small_n_and_states_caveat() -> None:
    a = assoc_table(
        [
            {
                "marker": "<script>x</script>",
                "auc": 0.8,
                "q_bh": 0.01,
                "auc_ci_low": 0.6,
                "auc_ci_high": 0.95,
                "small_n": True,
                "n_pos": 4,
                "n_censored": 3,
                "censoring": "3 below a limit ranked, not given a number",
            },
            {"marker": "il6", "reason": "n_pos=2, n_neg=5 (< 3 per group)"},
        ]
    )
    html = sec.section(a, None)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "Exploratory: 2 marker x window x endpoint rows, 1 with enough" in html
    assert "1 rows have fewer patients per group" in html
    assert "small n; 3 below a limit ranked" in html
    assert "0.60-0.95" in html and "4 / 30" in html
    assert "data:image/png;base64," in html  # the forest plot
    assert "il6" not in html  # no AUC: in the TSV with its reason, not in the top table


def test_section_without_tables_says_why() -> None:
    html = sec.section(None, None)
    assert "Not computed" in html and "<table" not in html
    empty = sec.section(assoc_table([{"marker": "il6", "reason": "too few"}]), None)
    assert "No row has enough patients" in empty and "<img" not in empty


def test_forest_plot_png_and_none() -> None:
    a = assoc_table([{"marker": "m", "auc": 0.7, "auc_ci_low": 0.6, "auc_ci_high": 0.8}])
    assert sec.forest_plot(a).startswith(b"\x89PNG")
    assert sec.forest_plot(a.iloc[:0]) is None


def test_append_to_places_section_inside_main_with_survival(tmp_path: Path) -> None:
    results = tmp_path / "results"
    (results / "cohort").mkdir(parents=True)
    a = assoc_table(
        [{"marker": "ang2", "auc": 0.9, "q_bh": 0.01, "auc_ci_low": 0.8, "auc_ci_high": 1}]
    )
    a.to_csv(results / "cohort" / "associations.tsv", sep="\t", index=False)
    s = pd.DataFrame(
        [
            {
                "analysis": "os_km",
                "group": "all",
                "time": 365,
                "n_at_risk": 3,
                "n_events": 2,
                "note": "too few events: 2 deaths (< 5)",
            }
        ],
        columns=SURVIVAL_COLUMNS,
    )
    s.to_csv(results / "cohort" / "survival.tsv", sep="\t", index=False)
    report = tmp_path / "cohort.html"
    report.write_text("<html><body><main><section>old</section></main></body></html>")
    sec.append_to(report, results)
    text = report.read_text()
    i, j = text.index("id='cohort-stats'"), text.index("</main>")
    assert text.index("old") < i < j
    assert "overall survival (Kaplan-Meier)" in text and "too few events: 2 deaths" in text
    assert "ang2" in text


def test_demo_stats_cohort_planted_marker_on_top(tmp_path: Path) -> None:
    from marrowtox.cohort.commands import main
    from marrowtox.demo import clinical

    clinical.stats_cohort(tmp_path, 7)
    d = tmp_path / "cohort_stats"
    out = {k: tmp_path / f"{k}.tsv" for k in ("a", "c", "s")}
    args = ["--labs", str(d / "labs.tsv"), "--events", str(d / "events.tsv"), "--n-boot", "300"]
    args += ["--out-associations", str(out["a"]), "--out-correlations", str(out["c"])]
    assert main([*args, "--out-survival", str(out["s"])]) == 0
    top = sec.top_rows(pd.read_csv(out["a"], sep="\t"), n=3)
    assert (top["marker"] == "ang2").all() and set(top["window"]) <= {
        "d1_3",
        "crs_onset",
        "crs_24_48h",
    }
    patients = set(pd.read_csv(d / "events.tsv", sep="\t")["patient"])
    html = sec.section(pd.read_csv(out["a"], sep="\t"), pd.read_csv(out["s"], sep="\t"))
    assert not any(p in html for p in patients)  # no patient id on the page
