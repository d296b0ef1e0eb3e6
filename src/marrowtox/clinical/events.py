"""Toxicity events: validation of ASTCT grades and maximum CRS/ICANS grades.

CRS and ICANS are graded by clinicians (ASTCT consensus, Lee et al., BBMT 2019;25:625);
marrowtox takes grades from events.tsv and checks them: crs and icans need a grade
1-4, other events must not carry one (a grade on "gcsf" is almost surely a shifted
column).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from marrowtox.errors import InputError, data_row

GRADED = {"crs", "icans"}


def validate_events(df: pd.DataFrame, path: str | Path, patients: set[str] | None = None) -> None:
    for i, row in enumerate(df.itertuples(index=False)):
        grade = getattr(row, "grade", None)
        grade = None if grade is None or (isinstance(grade, float) and pd.isna(grade)) else grade
        if row.event in GRADED:
            if grade is None or int(grade) not in (1, 2, 3, 4):
                raise InputError(
                    f"{row.event} needs an ASTCT grade",
                    file=path,
                    row=data_row(i),
                    column="grade",
                    expected="an integer 1-4",
                )
        elif grade is not None:
            raise InputError(
                f"event {row.event!r} carries a grade ({grade})",
                file=path,
                row=data_row(i),
                column="grade",
                expected="empty (grades only for crs and icans)",
            )
        if patients is not None and row.patient not in patients:
            raise InputError(
                f"patient {row.patient!r} is not in the sample sheet",
                file=path,
                row=data_row(i),
                column="patient",
            )
    inf = df[df["event"] == "infusion"]
    bad = inf[inf["day"] != 0]
    if not bad.empty:
        i = int(bad.index[0])
        raise InputError(
            "infusion must be on day 0 (days are relative to infusion)",
            file=path,
            row=data_row(i),
            column="day",
            expected="0",
        )


def max_grade(events: pd.DataFrame, event: str) -> int:
    g = events.loc[events["event"] == event, "grade"].dropna()
    return int(g.max()) if not g.empty else 0
