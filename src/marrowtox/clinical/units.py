"""Accepted units per analyte, conversion to canonical units, and plausibility checks.

Units are converted, never guessed: an ANC of 0.8 could be 10^9/L or a typo in /uL,
and grading it the wrong way changes an ICAHT grade. Unknown analytes or units are
errors naming the row. Canonical units are those of the published scores:
ANC /uL (ICAHT, CAR-HEMATOTOX), platelets 10^9/L, Hb g/dL, CRP mg/dL, ferritin ng/mL,
creatinine mg/dL, LDH U/L (EASIX family).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from marrowtox.errors import InputError, data_row


@dataclass(frozen=True)
class Analyte:
    canonical: str
    factors: dict[str, float]  # unit -> multiply to get the canonical unit
    max_plausible: float  # in canonical units; above it the value is an entry error


# creatinine: 1 mg/dL = 88.4 umol/L (molar mass 113.12 g/mol; the conventional factor); Hb: 1 g/dL = 10 g/L; CRP: 1 mg/dL = 10 mg/L.
ANALYTES: dict[str, Analyte] = {
    "anc": Analyte(
        "/uL",
        {"/uL": 1.0, "cells/uL": 1.0, "10^9/L": 1000.0, "G/L": 1000.0, "10^3/uL": 1000.0},
        1e6,
    ),
    "plt": Analyte("10^9/L", {"10^9/L": 1.0, "G/L": 1.0, "10^3/uL": 1.0, "/uL": 1e-3}, 5000.0),
    "hb": Analyte("g/dL", {"g/dL": 1.0, "g/L": 0.1, "mmol/L": 1.611}, 30.0),
    "crp": Analyte("mg/dL", {"mg/dL": 1.0, "mg/L": 0.1}, 100.0),
    "ferritin": Analyte("ng/mL", {"ng/mL": 1.0, "ug/L": 1.0}, 500000.0),
    "ldh": Analyte("U/L", {"U/L": 1.0, "IU/L": 1.0}, 100000.0),
    "creatinine": Analyte("mg/dL", {"mg/dL": 1.0, "umol/L": 1.0 / 88.4}, 30.0),
    "fibrinogen": Analyte("mg/dL", {"mg/dL": 1.0, "g/L": 100.0}, 2000.0),
    "d_dimer": Analyte("mg/L FEU", {"mg/L FEU": 1.0, "ug/mL FEU": 1.0, "ng/mL FEU": 1e-3}, 1000.0),
    "il6": Analyte("pg/mL", {"pg/mL": 1.0, "ng/L": 1.0}, 1e7),
    "ang1": Analyte("pg/mL", {"pg/mL": 1.0, "ng/mL": 1000.0}, 1e7),
    "ang2": Analyte("pg/mL", {"pg/mL": 1.0, "ng/mL": 1000.0}, 1e7),
    "vwf": Analyte("%", {"%": 1.0, "IU/dL": 1.0, "IU/mL": 100.0}, 2000.0),
    "sc5b9": Analyte("ng/mL", {"ng/mL": 1.0, "ug/L": 1.0}, 1e6),
    "svcam1": Analyte("ng/mL", {"ng/mL": 1.0, "ug/L": 1.0}, 1e6),
    "stm": Analyte("ng/mL", {"ng/mL": 1.0, "pg/mL": 1e-3}, 1e5),
    "alt": Analyte("U/L", {"U/L": 1.0, "IU/L": 1.0}, 100000.0),
    "ast": Analyte("U/L", {"U/L": 1.0, "IU/L": 1.0}, 100000.0),
}


def validate_labs(df: pd.DataFrame, path: str | Path) -> None:
    """Check analytes, units and plausibility of every row, before any work starts."""
    for i, (analyte, unit, value) in enumerate(
        zip(df["analyte"], df["unit"], df["value"], strict=True)
    ):
        a = ANALYTES.get(str(analyte).lower())
        if a is None:
            raise InputError(
                f"unknown analyte {analyte!r}",
                file=path,
                row=data_row(i),
                column="analyte",
                expected="one of " + ", ".join(ANALYTES),
            )
        if unit not in a.factors:
            raise InputError(
                f"unit {unit!r} not accepted for {analyte}",
                file=path,
                row=data_row(i),
                column="unit",
                expected="one of " + ", ".join(a.factors),
            )
        v = float(value)
        if not np.isfinite(v) or v < 0:
            raise InputError(
                f"implausible value {value!r} for {analyte}",
                file=path,
                row=data_row(i),
                column="value",
                expected="a finite, non-negative number",
            )
        if v * a.factors[unit] > a.max_plausible:
            raise InputError(
                f"implausible value {value} {unit} for {analyte}",
                file=path,
                row=data_row(i),
                column="value",
                expected=f"at most {a.max_plausible:g} {a.canonical} after conversion (check the unit)",
            )
    check_distribution(df, path)


PLAUSIBLE = Path(__file__).resolve().parents[3] / "resources" / "labs" / "plausible_ranges.tsv"


def check_distribution(df: pd.DataFrame, path: str | Path, ranges: str | Path = PLAUSIBLE) -> None:
    """Refuse a column of values whose distribution does not fit its declared unit.

    ANC of 0.4-8 labelled "/uL" is valid value by value, but graded as /uL it makes every
    patient ICAHT grade 4: the table in resources/labs/plausible_ranges.tsv (with sources)
    says what a declared unit's values look like.
    """
    table = pd.read_csv(ranges, sep="\t", comment="#")
    analyte = df["analyte"].astype(str).str.lower()
    for r in table.itertuples():
        for unit in df.loc[analyte == r.analyte, "unit"].unique():
            rows = np.flatnonzero(
                (analyte == r.analyte).to_numpy() & (df["unit"] == unit).to_numpy()
            )
            if len(rows) < r.min_values:
                continue
            canon = (
                df["value"].iloc[rows].astype(float).to_numpy() * ANALYTES[r.analyte].factors[unit]
            )
            p95, p05 = np.percentile(canon, 95), np.percentile(canon, 5)
            if p95 < r.p95_min or p05 > r.p05_max:
                seen = f"95th percentile {p95:g}" if p95 < r.p95_min else f"5th percentile {p05:g}"
                raise InputError(
                    f"{len(rows)} {r.analyte} values in {unit} have a {seen} {r.canonical_unit} "
                    f"(first: {df['value'].iloc[rows[0]]!r}): {r.likely_cause}",
                    file=path,
                    row=data_row(int(rows[0])),
                    column="unit",
                    expected=f"{r.analyte} values whose 95th percentile is >= {r.p95_min:g} and "
                    f"5th percentile <= {r.p05_max:g} {r.canonical_unit} ({r.source})",
                )


def normalise_labs(df: pd.DataFrame) -> pd.DataFrame:
    """Labs in canonical units: columns patient, day, analyte, value, unit."""
    out = df[["patient", "day", "analyte", "value", "unit"]].copy()
    out["analyte"] = out["analyte"].str.lower()
    factor = [ANALYTES[a].factors[u] for a, u in zip(out["analyte"], out["unit"], strict=True)]
    out["value"] = out["value"].astype(float) * np.array(factor, dtype=float)
    out["unit"] = [ANALYTES[a].canonical for a in out["analyte"]]
    out["day"] = out["day"].astype(int)
    return out.sort_values(["patient", "day", "analyte"], kind="stable").reset_index(drop=True)
