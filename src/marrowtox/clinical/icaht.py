"""ICAHT grading (Rejeski et al., Blood 2023;142:865; EHA/EBMT consensus).

Early ICAHT (day 0-30) from the duration of neutropenia:
  grade 1: ANC <= 500/uL for 1-6 days; 2: 7-13 days; 3: 14-30 days or ANC <= 100/uL
  for 7-13 days; 4: >= 31 days (no recovery) or ANC <= 100/uL for >= 14 days.
Late ICAHT (after day 30) from the confirmed nadir: 1: <= 1500; 2: <= 1000;
  3: <= 500; 4: <= 100/uL.

Boundary decisions (the publication leaves them open; tested in tests/test_clinical.py):
- "<=" is inclusive: ANC exactly 500 counts as <= 500, exactly 100 as <= 100.
- Runs: consecutive grid days at or below the threshold. Two runs merge unless ANC
  stays above the threshold for at least 3 consecutive days between them; a merged
  run's duration is its span (first to last day, the 1-2 intervening days included,
  as one neutropenic episode). Missing days (gaps > 7 days) break runs and are reported.
  The same rule is applied to <= 100 runs with 100 as the threshold.
- No recovery: a <= 500 run that starts on day 0-3 and lasts to the last available
  value of a patient who died or left follow-up before day 30 is graded 4.
- Late window: day 31 to the earliest of day 100, the day before next therapy or
  progression, death and last follow-up. The nadir is confirmed by two values: the
  grade comes from the second-lowest daily ANC in the window (the higher of the two
  lowest), so one transient value cannot set the grade. Fewer than two values: not
  computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from marrowtox.clinical.anc_grid import daily_grid

EARLY_FIRST, EARLY_LAST = 0, 30
LATE_FIRST, LATE_LAST = 31, 100
MERGE_MIN_ABOVE = 3


def runs(
    values: np.ndarray, threshold: float, min_above: int = MERGE_MIN_ABOVE
) -> list[tuple[int, int]]:
    """Merged runs (start, end index, inclusive) of values <= threshold.

    NaN (missing) days break runs and are never bridged.
    """
    raw: list[list[int]] = []
    for i, v in enumerate(values):
        if not np.isnan(v) and v <= threshold:
            if raw and raw[-1][1] == i - 1:
                raw[-1][1] = i
            else:
                raw.append([i, i])
    merged: list[list[int]] = []
    for r in raw:
        if merged:
            between = values[merged[-1][1] + 1 : r[0]]
            if not np.isnan(between).any() and between.size < min_above:
                merged[-1][1] = r[1]
                continue
        merged.append(r)
    return [(a, b) for a, b in merged]


def longest(rs: list[tuple[int, int]]) -> tuple[int, tuple[int, int] | None]:
    if not rs:
        return 0, None
    best = max(rs, key=lambda r: (r[1] - r[0], -r[0]))
    return best[1] - best[0] + 1, best


def early_grade_from_durations(days_le500: int, days_le100: int, no_recovery: bool = False) -> int:
    """Early ICAHT grade from the longest run durations (Rejeski 2023, table 1)."""
    if no_recovery or days_le500 >= 31 or days_le100 >= 14:
        return 4
    if days_le500 >= 14 or days_le100 >= 7:
        return 3
    if days_le500 >= 7:
        return 2
    if days_le500 >= 1:
        return 1
    return 0


def late_grade_from_nadir(confirmed_nadir: float) -> int:
    if confirmed_nadir <= 100:
        return 4
    if confirmed_nadir <= 500:
        return 3
    if confirmed_nadir <= 1000:
        return 2
    if confirmed_nadir <= 1500:
        return 1
    return 0


@dataclass
class IcahtResult:
    early_grade: int | None = None
    late_grade: int | None = None
    days_le500_d0_30: int | None = None
    days_le100_d0_30: int | None = None
    days_le500_d0_60: int | None = None
    days_le100_d0_60: int | None = None
    longest_le500: int | None = None
    longest_le100: int | None = None
    recovery_day: int | None = None
    anc_le1000_day21: bool | None = None
    late_window_end: int | None = None
    late_confirmed_nadir: float | None = None
    notes: list[str] = field(default_factory=list)


def grade(
    anc: pd.DataFrame, events: pd.DataFrame | None = None
) -> tuple[IcahtResult, pd.DataFrame]:
    """Grade one patient. `anc`: day, value (/uL); `events`: day, event. Returns grid too."""
    res = IcahtResult()
    ev = events if events is not None else pd.DataFrame(columns=["day", "event"])
    grid = daily_grid(anc, EARLY_FIRST, 60)
    early = grid[grid["day"] <= EARLY_LAST]
    vals = early["anc"].to_numpy(dtype=float)
    if np.isnan(vals).all():
        res.notes.append("early ICAHT not computed: no ANC in day 0-30")
    else:
        n_missing = int(np.isnan(vals).sum())
        if n_missing:
            miss = early.loc[early["missing"], "day"].tolist()
            res.notes.append(
                f"{n_missing} day(s) of day 0-30 without ANC (gap > 7 days or outside follow-up): {miss}"
            )
        r500, r100 = runs(vals, 500), runs(vals, 100)
        res.longest_le500, best = longest(r500)
        res.longest_le100, _ = longest(r100)
        res.days_le500_d0_30 = int(np.nansum(vals <= 500))
        res.days_le100_d0_30 = int(np.nansum(vals <= 100))
        leave = ev[ev["event"].isin(["death", "last_follow_up"]) & (ev["day"] <= EARLY_LAST)]
        last_obs = int(early.loc[~early["missing"], "day"].max())
        no_recovery = bool(
            best is not None
            and best[0] <= 3
            and best[1] == last_obs
            and not leave.empty
            and last_obs < EARLY_LAST
        )
        if no_recovery:
            res.notes.append("no recovery: neutropenia from day <= 3 until death/end of follow-up")
        res.early_grade = early_grade_from_durations(
            res.longest_le500, res.longest_le100, no_recovery
        )
        if n_missing and res.early_grade < 4:
            res.notes.append("early grade may be underestimated because of missing days")
        if best is not None:
            after = grid[(grid["day"] > best[1])]["anc"].to_numpy(dtype=float)
            days_after = grid[(grid["day"] > best[1])]["day"].to_numpy()
            for k in range(max(after.size - 2, 0)):
                if np.all(after[k : k + 3] > 500):
                    res.recovery_day = int(days_after[k])
                    break
        d21 = grid.loc[grid["day"] == 21, "anc"]
        if not d21.empty and not np.isnan(d21.iloc[0]):
            res.anc_le1000_day21 = bool(d21.iloc[0] <= 1000)
    to60 = grid["anc"].to_numpy(dtype=float)
    if not np.isnan(to60).all():
        res.days_le500_d0_60 = int(np.nansum(to60 <= 500))
        res.days_le100_d0_60 = int(np.nansum(to60 <= 100))
    # late ICAHT: confirmed nadir in the late window
    end = LATE_LAST
    for name, offset in (
        ("next_therapy", -1),
        ("progression", -1),
        ("death", 0),
        ("last_follow_up", 0),
    ):
        d = ev.loc[ev["event"] == name, "day"]
        if not d.empty:
            end = min(end, int(d.min()) + offset)
    res.late_window_end = end
    daily = anc.groupby("day")["value"].min()
    late = daily[(daily.index >= LATE_FIRST) & (daily.index <= end)].sort_values()
    if end < LATE_FIRST:
        res.notes.append("late ICAHT not computed: follow-up ends before day 31")
    elif late.size < 2:
        res.notes.append(
            f"late ICAHT not computed: {late.size} ANC value(s) in day 31-{end}, two needed"
        )
    else:
        res.late_confirmed_nadir = float(late.iloc[1])
        res.late_grade = late_grade_from_nadir(res.late_confirmed_nadir)
    return res, grid
