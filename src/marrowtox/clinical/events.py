"""Toxicity events: validation of ASTCT grades and maximum CRS/ICANS grades.

CRS and ICANS are graded by clinicians (ASTCT consensus, Lee et al., BBMT 2019;25:625);
marrowtox takes grades from events.tsv and checks them: crs and icans need a grade
1-4, other events must not carry one (a grade on "gcsf" is almost surely a shifted
column).

Outcomes (issue 19): `progression` (day of relapse or progression), `death` with an
optional `cause` (relapse or a non-relapse cause; only death rows carry one) and
`last_follow_up` (last day known alive). A patient has at most one death and one
last_follow_up, no event after death, and no last_follow_up after death: a table that
says otherwise would put the patient at risk after dying, and survival curves would
count a death twice or never.

Lymphodepletion (issue 25): one `lymphodepletion` row per patient at its start day,
before infusion (a negative day); its regimen, if given, goes in its own `regimen`
column, because `grade` holds ASTCT grades and a regimen there would read as a shifted
column. Pre-lymphodepletion scores take their values up to that day
(marrowtox.clinical.hematotox.pre_lymphodepletion).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from marrowtox.errors import InputError, data_row, every

GRADED = {"crs", "icans"}


def _shown(v: object) -> str:
    """A cell as the user typed it (a grade read as 5.0 is shown as 5)."""
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def validate_events(df: pd.DataFrame, path: str | Path, patients: set[str] | None = None) -> None:
    graded = df[df["event"].isin(sorted(GRADED))]
    if "grade" not in df.columns and not graded.empty:
        # the column itself is missing (not an empty cell): say so
        i = int(np.flatnonzero(df["event"].isin(sorted(GRADED)).to_numpy())[0])
        raise InputError(
            f"column 'grade' is missing, and row {data_row(i)} is a "
            f"{df['event'].iat[i]} event, which needs an ASTCT grade",
            file=path,
            row=1,
            column="grade",
            expected="a header with a grade column (ASTCT grade 1-4 on crs and icans rows)",
        )

    def check(item: tuple[int, tuple]) -> None:
        i, row = item
        grade = getattr(row, "grade", None)
        grade = None if grade is None or (isinstance(grade, float) and pd.isna(grade)) else grade
        if row.event in GRADED:
            if grade is None or int(grade) not in (1, 2, 3, 4):
                raise InputError(
                    f"{row.event} needs an ASTCT grade "
                    f"({'empty' if grade is None else f'got {_shown(grade)}'})",
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

    # every faulty row at once (issue 25 item 5), then the table-wide rules
    every(enumerate(df.itertuples(index=False)), check)
    check_outcomes(df, path)
    check_lymphodepletion(df, path)
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


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, float) and pd.isna(v)) or v == ""


def check_outcomes(df: pd.DataFrame, path: str | Path) -> None:
    """Cause only on death rows; one death and one last_follow_up per patient; nothing
    after death (module docstring). Rows are named as the user sees them."""
    if "cause" in df.columns:
        for i, (event, cause) in enumerate(zip(df["event"], df["cause"], strict=True)):
            if not _blank(cause) and event != "death":
                raise InputError(
                    f"event {event!r} carries a cause ({cause})",
                    file=path,
                    row=data_row(i),
                    column="cause",
                    expected="empty (a cause only on death rows)",
                )
    pos = pd.Series(range(len(df)), index=df.index)
    for event in ("death", "last_follow_up"):
        rows = df[df["event"] == event]
        dup = rows["patient"].duplicated()
        if dup.any():
            i = int(pos[rows.index[dup.to_numpy()][0]])
            raise InputError(
                f"patient {df['patient'].iat[i]!r} has a second {event} row",
                file=path,
                row=data_row(i),
                column="event",
                expected=f"at most one {event} per patient",
            )
    deaths = df[df["event"] == "death"].set_index("patient")["day"]
    if deaths.empty:
        return
    for i, (patient, day, event) in enumerate(
        zip(df["patient"], df["day"], df["event"], strict=True)
    ):
        if event == "death" or patient not in deaths.index:
            continue
        if int(day) > int(deaths[patient]):
            raise InputError(
                f"{event} on day {day} after the death of {patient!r} on day "
                f"{int(deaths[patient])}",
                file=path,
                row=data_row(i),
                column="day",
                expected=f"a day <= {int(deaths[patient])} (or fix the death row)",
            )


def check_lymphodepletion(df: pd.DataFrame, path: str | Path) -> None:
    """A regimen only on lymphodepletion rows; one lymphodepletion per patient, before
    infusion (module docstring)."""
    if "regimen" in df.columns:
        for i, (event, regimen) in enumerate(zip(df["event"], df["regimen"], strict=True)):
            if not _blank(regimen) and event != "lymphodepletion":
                raise InputError(
                    f"event {event!r} carries a regimen ({regimen})",
                    file=path,
                    row=data_row(i),
                    column="regimen",
                    expected="empty (a regimen only on the lymphodepletion row)",
                )
    first: dict[str, int] = {}
    for i, (patient, day, event) in enumerate(
        zip(df["patient"], df["day"], df["event"], strict=True)
    ):
        if event != "lymphodepletion":
            continue
        if patient in first:
            raise InputError(
                f"patient {patient!r} has a second lymphodepletion row (first in row "
                f"{data_row(first[patient])})",
                file=path,
                row=data_row(i),
                column="event",
                expected="one lymphodepletion row per patient, on the first day of the "
                "chemotherapy",
            )
        first[patient] = i
        if int(day) >= 0:
            raise InputError(
                f"lymphodepletion on day {int(day)}: on or after the infusion",
                file=path,
                row=data_row(i),
                column="day",
                expected="a negative day: the first day of lymphodepleting chemotherapy "
                "before infusion (day 0), e.g. -5",
            )
