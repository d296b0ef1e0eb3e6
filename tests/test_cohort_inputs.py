"""Inputs of the cohort statistics (issue 19): events.tsv outcomes, configured windows,
the planted demo cohort."""

from __future__ import annotations

from pathlib import Path

import pytest

from marrowtox.clinical.events import validate_events
from marrowtox.errors import InputError
from marrowtox.samplesheet import load_schema, read_table


def _events(tmp_path: Path, rows: list[str]) -> Path:
    p = tmp_path / "events.tsv"
    p.write_text(
        "patient\tday\tevent\tgrade\tcause\n" + "".join(r + "\n" for r in rows), encoding="utf-8"
    )
    return p


def _check(p: Path) -> None:
    validate_events(read_table(p, load_schema("events.schema.yaml"), "events"), p)


def test_outcomes_with_cause_are_accepted(tmp_path: Path) -> None:
    _check(
        _events(
            tmp_path,
            [
                "P1\t0\tinfusion\t\t",
                "P1\t40\tprogression\t\t",
                "P1\t90\tdeath\t\trelapse",
                "P2\t0\tinfusion\t\t",
                "P2\t20\tdeath\t\tinfection",
                "P2\t20\tlast_follow_up\t\t",
                "P3\t0\tinfusion\t\t",
                "P3\t15\tdeath\t\tnon_relapse",
                "P4\t365\tlast_follow_up\t\t",
            ],
        )
    )


@pytest.mark.parametrize(
    ("rows", "row", "column", "words"),
    [
        (["P1\t5\tcrs\t2\trelapse"], 2, "cause", ("carries a cause",)),
        (["P1\t5\tdeath\t\tsepsis"], 2, "cause", ("infection",)),
        (["P1\t5\tdeath\t\t", "P1\t9\tdeath\t\t"], 3, "event", ("second death",)),
        (["P1\t30\tdeath\t\t", "P1\t60\tlast_follow_up\t\t"], 3, "day", ("after the death",)),
        (["P1\t60\tgcsf\t\t", "P1\t30\tdeath\t\t"], 2, "day", ("after the death", "day 30")),
        (
            ["P1\t30\tlast_follow_up\t\t", "P1\t60\tlast_follow_up\t\t"],
            3,
            "event",
            ("second last_follow_up",),
        ),
    ],
)
def test_outcome_errors_name_row_and_column(
    tmp_path: Path, rows: list[str], row: int, column: str, words: tuple[str, ...]
) -> None:
    p = _events(tmp_path, rows)
    with pytest.raises(InputError) as info:
        _check(p)
    assert (info.value.row, info.value.column) == (row, column), str(info.value)
    for w in words:
        assert w in str(info.value)


def test_cohort_reader_takes_causes_from_the_schema(tmp_path: Path) -> None:
    from marrowtox.cohort.windows import CAUSES, read_events

    assert "relapse" in CAUSES and "non_relapse" in CAUSES
    p = _events(tmp_path, ["P1\t0\tinfusion\t\t", "P1\t12\tdeath\t\tnon_relapse"])
    ev = read_events(p)
    assert ev.loc[ev["event"] == "death", "cause"].iloc[0] == "non_relapse"
    bad = _events(tmp_path, ["P1\t30\tdeath\t\t", "P1\t31\tlast_follow_up\t\t"])
    with pytest.raises(InputError, match="after the death"):
        read_events(bad)


# ---- settings: config.cohort from its schema ---------------------------------------


def _tiny_cohort(tmp_path: Path) -> list[str]:
    labs = ["patient\tday\tanalyte\tvalue\tunit"]
    events = ["patient\tday\tevent\tgrade"]
    for i in range(8):
        p = f"p{i}"
        events += [
            f"{p}\t0\tinfusion\t",
            f"{p}\t2\tcrs\t{1 + i % 3}",
            f"{p}\t100\tlast_follow_up\t",
        ]
        labs += [f"{p}\t-4\til6\t{3 + i}\tpg/mL", f"{p}\t5\til6\t{10 + 3 * i}\tpg/mL"]
    (tmp_path / "labs.tsv").write_text("\n".join(labs) + "\n", encoding="utf-8")
    (tmp_path / "events.tsv").write_text("\n".join(events) + "\n", encoding="utf-8")
    args = ["--labs", str(tmp_path / "labs.tsv"), "--events", str(tmp_path / "events.tsv")]
    for k in ("associations", "correlations", "survival"):
        args += [f"--out-{k}", str(tmp_path / f"{k}.tsv")]
    return args


def test_schema_is_the_source_of_windows_and_defaults() -> None:
    from marrowtox.cohort.windows import load_windows
    from marrowtox.settings import section_defaults

    d = section_defaults("cohort")
    assert {w.name: (w.anchor, w.first, w.last) for w in load_windows(None)} == {
        k: (v["anchor"], *v["days"]) for k, v in d["windows"].items()
    }
    assert d["windows"]["baseline"] == {"anchor": "infusion", "days": [-10, -1]}
    assert d["windows"]["crs_24_48h"] == {"anchor": "crs", "days": [1, 2]}
    import yaml

    cfg = yaml.safe_load((Path(__file__).parents[1] / "config" / "config.yaml").read_text())
    assert cfg["cohort"]["windows"] == d["windows"]


def test_configured_windows_reach_the_tables(tmp_path: Path) -> None:
    import pandas as pd

    from marrowtox.cohort.commands import main

    args = _tiny_cohort(tmp_path) + ["--n-boot", "50", "--cox"]
    windows = {
        "pre": {"anchor": "infusion", "days": [-7, -1]},
        "early": {"anchor": "crs", "days": [0, 5]},
    }
    assert main(args, windows=windows) == 0
    a = pd.read_csv(tmp_path / "associations.tsv", sep="\t")
    assert set(a["window"]) == {"pre", "early"}
    assert main(args) == 0  # schema defaults: baseline (-10..-1) holds day -4, d1_3 nothing
    a = pd.read_csv(tmp_path / "associations.tsv", sep="\t")
    assert "baseline" in set(a["window"]) and "pre" not in set(a["window"])


@pytest.mark.parametrize(
    ("extra", "windows", "words"),
    [
        (["--n-boot", "0"], None, ("--n-boot", "minimum")),
        (["--conf-level", "1.5"], None, ("--conf-level",)),
        (["--times", "thirty"], None, ("--times 'thirty'",)),
        (
            [],
            {"pre": {"anchor": "lymphodepletion", "days": [-7, -1]}},
            ("config.cohort.windows.pre",),
        ),
        ([], {"pre": {"anchor": "infusion", "days": [-1]}}, ("config.cohort.windows.pre.days",)),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, capsys, extra, windows, words) -> None:
    from marrowtox.cohort.commands import main

    assert main(_tiny_cohort(tmp_path) + extra, windows=windows) == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err, err
    assert not (tmp_path / "associations.tsv").exists()


@pytest.mark.parametrize(
    ("table", "line", "row", "column", "words"),
    [
        # above validate's plausibility ceiling (CRP at most 100 mg/dL)
        ("labs", "p0\t3\tcrp\t150\tmg/dL", 18, "value", ("implausible value 150", "at most 100")),
        # a censored score input: validate refuses it, cohort-stats' own reader does not
        ("labs", "p0\t3\tcrp\t<0.5\tmg/dL", 18, "value", ("censored value '<0.5'", "crp")),
        # U+2212 MINUS SIGN in the day column
        ("labs", "p0\t\u22123\til6\t4\tpg/mL", 18, "day", ("U+2212 MINUS SIGN", "'-'")),
        ("events", "p0\t5\tcrs\t5", 26, "grade", ("crs needs an ASTCT grade (got 5)", "1-4")),
        ("events", "p0\t50\tdeath\t", 4, "day", ("after the death", "day 50")),
    ],
)
def test_cohort_stats_applies_the_validate_checks_before_any_work(
    tmp_path: Path, capsys, table: str, line: str, row: int, column: str, words: tuple[str, ...]
) -> None:
    """`cohort-stats` outside the workflow refuses what `marrowtox validate` refuses,
    naming file, row, column, the value seen and what was expected; nothing is written."""
    from marrowtox.cohort.commands import main

    args = _tiny_cohort(tmp_path)
    path = tmp_path / f"{table}.tsv"
    with path.open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"file {path}, row {row}, column '{column}'" in err, err
    assert "(expected " in err
    for w in words:
        assert w in err, err
    assert not any((tmp_path / f"{k}.tsv").exists() for k in ("associations", "survival"))
