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
