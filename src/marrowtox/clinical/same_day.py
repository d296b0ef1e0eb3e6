"""Several values of one analyte on one day: a stated rule, never a silent pick.

Two ANC values on the same day (40 and 900 /uL) are either repeat draws or an entry
error; which one a score uses decides a grade. The rule (issue 25 item 4):

- every value is kept, and each score reduces a day's values by its own documented
  rule: the most adverse value (ICAHT: "each day's lowest ANC", clinical-definitions.md,
  ICAHT; CAR-HEMATOTOX and EASIX: lowest count, highest CRP/ferritin/LDH/creatinine,
  marrowtox.clinical.hematotox.baseline_value), so a repeat draw cannot lower a risk;
- the pre-flight and `marrowtox validate` warn, naming the rows, the values and the
  value the scores use; rows that repeat the same value are named as duplicates;
- with config `clinical.same_day_values: refuse` the first conflict is refused instead
  (for cohorts where one value per day is a data-entry invariant).

Groups are one patient, day, analyte (aliases resolved) and specimen (empty = the
analyte's default specimen); values are compared in canonical units.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from marrowtox.clinical.hematotox import ADVERSE_HIGH
from marrowtox.clinical.units import PANEL, panel_maps, resolve_analyte, unit_factor
from marrowtox.errors import InputError, data_row


@dataclass(frozen=True)
class SameDay:
    """One group of several values of an analyte on one patient's day."""

    patient: str
    day: int
    analyte: str
    specimen: str
    rows: tuple[int, ...]  # spreadsheet rows (header = 1)
    values: tuple[float, ...]  # canonical units
    unit: str

    @property
    def conflicting(self) -> bool:
        return len(set(self.values)) > 1

    @property
    def used(self) -> float:
        """The value the scores use (the most adverse)."""
        return max(self.values) if self.analyte in ADVERSE_HIGH else min(self.values)

    def text(self, path: str | Path) -> str:
        rows = ", ".join(str(r) for r in self.rows)
        vals = ", ".join(f"{v:g}" for v in self.values)
        where = f"{self.patient} day {self.day}"
        if self.specimen:
            where += f" ({self.specimen})"
        if not self.conflicting:
            return (
                f"{path} rows {rows}: {len(self.rows)} identical {self.analyte} values "
                f"({vals} {self.unit}) for {where}: counted once"
            )
        side = "highest" if self.analyte in ADVERSE_HIGH else "lowest"
        return (
            f"{path} rows {rows}: {len(self.rows)} different {self.analyte} values for "
            f"{where} ({vals} {self.unit}): the scores use the most adverse, the {side} "
            f"({self.used:g}); remove the wrong row if one is an entry error"
        )


def same_day_groups(df: pd.DataFrame, path: str | Path, panel: str | Path = PANEL) -> list[SameDay]:
    """Groups of several values of one analyte on one patient's day (validated labs)."""
    if df is None or df.empty:
        return []
    _, units, _ = panel_maps(panel)
    names = [resolve_analyte(a, path, i, panel) for i, a in enumerate(df["analyte"])]
    factors = [
        unit_factor(n, u, path, i, panel)
        for i, (n, u) in enumerate(zip(names, df["unit"], strict=True))
    ]
    values = pd.to_numeric(df["value"], errors="coerce").to_numpy(dtype=float) * np.array(factors)
    specimen = (
        df["specimen"].fillna("").astype(str).str.strip()
        if "specimen" in df.columns
        else pd.Series([""] * len(df))
    )
    key = pd.DataFrame(
        {
            "patient": df["patient"].astype(str).to_numpy(),
            "day": pd.to_numeric(df["day"], errors="coerce").to_numpy(),
            "analyte": names,
            "specimen": specimen.to_numpy(),
            "value": values,
            "pos": np.arange(len(df)),
        }
    )
    key = key[~np.isnan(key["value"])]  # censored values ("<5") have no number to compare
    out = []
    for (patient, day, analyte, spec), g in key.groupby(
        ["patient", "day", "analyte", "specimen"], sort=False
    ):
        if len(g) < 2:
            continue
        out.append(
            SameDay(
                str(patient),
                int(day),
                str(analyte),
                str(spec),
                tuple(data_row(int(p)) for p in g["pos"]),
                tuple(float(v) for v in g["value"]),
                units[analyte],
            )
        )
    return out


def check_same_day(
    df: pd.DataFrame | None, path: str | Path, policy: str, panel: str | Path = PANEL
) -> list[str]:
    """Warnings for same-day values (module docstring); with policy 'refuse', an
    InputError for the first conflicting group."""
    if df is None:
        return []
    groups = same_day_groups(df, path, panel)
    if policy == "refuse":
        for g in groups:
            if g.conflicting:
                raise InputError(
                    f"{len(g.rows)} different {g.analyte} values for {g.patient} on day "
                    f"{g.day} ({', '.join(f'{v:g}' for v in g.values)} {g.unit}) in rows "
                    f"{', '.join(str(r) for r in g.rows)}",
                    file=path,
                    row=g.rows[-1],
                    column="value",
                    expected="one value per analyte, patient and day (config "
                    "clinical.same_day_values is 'refuse'; 'most_adverse' keeps them)",
                )
    return [g.text(path) for g in groups]
