"""read_table checks each distinct value of a column once (schemas whose constraints are
all on single cells): the typed table and the first error are those of the row-by-row
check it replaces."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from marrowtox.errors import InputError
from marrowtox.samplesheet import CELLWISE_KEYS, _check_rows, _column_types, load_schema, read_table

LABS = load_schema("labs.schema.yaml")
EVENTS = load_schema("events.schema.yaml")


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _row_by_row(path: Path, schema: dict) -> pd.DataFrame:
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    return _check_rows(df, path, schema, _column_types(schema), list(schema["required"]))


def test_shipped_table_schemas_are_cellwise() -> None:
    for name in ("samples.schema.yaml", "labs.schema.yaml", "events.schema.yaml"):
        assert set(load_schema(name)) <= CELLWISE_KEYS, name


def test_same_typed_table_as_row_by_row(tmp_path: Path) -> None:
    p = _write(
        tmp_path / "labs.tsv",
        ["patient\tday\tanalyte\tvalue\tunit\tlloq"]
        + [
            f"P{i % 3}\t{i - 5}\til6\t{'<LLOQ' if i % 4 == 0 else 2.5 * i}\tpg/mL\t"
            f"{'5' if i % 4 == 0 else ''}"
            for i in range(40)
        ],
    )
    fast = read_table(p, LABS, "labs")
    pd.testing.assert_frame_equal(fast, _row_by_row(p, LABS))
    for c in fast.columns:  # the cells' Python types too (int days, float/str values)
        assert (fast[c].map(type) == _row_by_row(p, LABS)[c].map(type)).all(), c
    e = _write(
        tmp_path / "events.tsv",
        ["patient\tday\tevent\tgrade", "P1\t0\tinfusion\t", "P1\t2\tcrs\t2", "P2\t0\tinfusion\t"],
    )
    pd.testing.assert_frame_equal(read_table(e, EVENTS, "events"), _row_by_row(e, EVENTS))


@pytest.mark.parametrize(
    ("bad", "row", "column", "words"),
    [
        ({7: "P1\td7\tinfusion\t"}, 9, "day", ("invalid value 'd7'", "an integer")),
        ({4: "P1\t\u22127\tinfusion\t", 7: "P1\tx\tinfusion\t"}, 6, "day", ("U+2212",)),
        ({5: "P1\t3\tfever\t"}, 7, "event", ("invalid value 'fever'", "one of")),
        ({2: "\t3\tcrs\t2"}, 4, "patient", ("invalid value ''",)),
    ],
)
def test_first_bad_row_and_message_as_row_by_row(
    tmp_path: Path, bad: dict[int, str], row: int, column: str, words: tuple[str, ...]
) -> None:
    rows = [bad.get(i, f"P{i}\t0\tinfusion\t") for i in range(10)]
    p = _write(tmp_path / "events.tsv", ["patient\tday\tevent\tgrade", *rows])
    with pytest.raises(InputError) as fast:
        read_table(p, EVENTS, "events")
    with pytest.raises(InputError) as slow:
        _row_by_row(p, EVENTS)
    assert str(fast.value) == str(slow.value)
    assert (fast.value.row, fast.value.column) == (row, column)
    for w in words:
        assert w in str(fast.value)
