"""Accepted units per analyte, conversion to canonical units, and plausibility checks.

Units are converted, never guessed: an ANC of 0.8 could be 10^9/L or a typo in /uL,
and grading it the wrong way changes an ICAHT grade. Unknown analytes or units are
errors naming the row. Canonical units are those of the published scores:
ANC /uL (ICAHT, CAR-HEMATOTOX), platelets 10^9/L, Hb g/dL, CRP mg/dL, ferritin ng/mL,
creatinine mg/dL, LDH U/L (EASIX family).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marrowtox.clinical.censoring import VALUE_EXPECTED, LabValue, parse_value
from marrowtox.errors import InputError, data_row, every, shown


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


#: Analytes the per-patient scores read as numbers, with the scores that read them. A
#: censored value ("<0.1", ">ULOQ") of these is refused before any job: ICAHT counts
#: days at or below 500/100 /uL, CAR-HEMATOTOX and EASIX take the number itself, and
#: shared/docs/clinical-definitions.md defines none of them on an interval. Writing the
#: limit instead would silently decide a grade. Every other panel analyte may be
#: censored; marrowtox.cohort.censored states how censored values enter each statistic.
NUMBER_NEEDED: dict[str, str] = {
    "anc": "ICAHT, CAR-HEMATOTOX",
    "plt": "CAR-HEMATOTOX, EASIX, IEC-HS",
    "hb": "CAR-HEMATOTOX",
    "crp": "CAR-HEMATOTOX, m-EASIX",
    "ferritin": "CAR-HEMATOTOX, IEC-HS",
    "ldh": "EASIX, IEC-HS",
    "creatinine": "EASIX, IEC-HS",
    "fibrinogen": "IEC-HS",
    "alt": "IEC-HS",
    "ast": "IEC-HS",
}

PANEL = Path(__file__).resolve().parents[3] / "resources" / "biomarkers.tsv"


@cache
def _panel(path: str) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(alias -> name, name -> canonical unit, name -> default specimen) of a panel."""
    panel = pd.read_csv(path, sep="\t", comment="#", dtype=str, keep_default_na=False)
    aliases: dict[str, str] = {}
    for name, more in zip(panel["name"], panel["aliases"], strict=True):
        aliases[name.lower()] = name
        for a in more.split(","):
            if a.strip():
                aliases[a.strip().lower()] = name
    units = dict(zip(panel["name"], panel["unit"], strict=True))
    specimens = dict(zip(panel["name"], panel["specimen_default"], strict=True))
    return aliases, units, specimens


def panel_maps(path: str | Path = PANEL) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    return _panel(str(path))


def resolve_analyte(text: str, path: str | Path, i: int, panel: str | Path = PANEL) -> str:
    """Panel name of an analyte written as its name or any alias (case-insensitive).

    Unknown: an InputError naming the closest known name, so "IL6 " or "Ang2" typos are
    a one-line fix and a new cytokine is one row in resources/biomarkers.tsv.
    """
    aliases, _, _ = panel_maps(panel)
    name = aliases.get(str(text).strip().lower())
    if name is not None:
        return name
    close = difflib.get_close_matches(str(text).strip().lower(), list(aliases), n=1, cutoff=0.6)
    hint = f"; closest known name: {close[0]!r} ({aliases[close[0]]})" if close else ""
    raise InputError(
        f"unknown analyte {text!r}{hint}",
        file=path,
        row=data_row(i),
        column="analyte",
        expected=f"a name or alias listed in {Path(panel).name} (add a row there for a new "
        "analyte)",
    )


#: Spellings of the same unit (issue 25 item 6): mm3 is a microlitre, and the micro
#: sign is written u. Applied before the case-insensitive match of accepted_unit.
UNIT_ALIASES: tuple[tuple[str, str], ...] = (
    ("mm^3", "uL"),
    ("mm3", "uL"),
    ("\u00b5", "u"),  # micro sign
    ("\u03bc", "u"),  # Greek mu
)


def accepted_unit(name: str, unit: str, panel: str | Path = PANEL) -> str | None:
    """The accepted spelling of `unit` for analyte `name`, matched case-insensitively
    after UNIT_ALIASES (`cells/mm3` -> cells/uL, `mg/l` -> mg/L), or None. Within one
    analyte no two accepted units differ only by case, so the match is unambiguous."""
    _, units, _ = panel_maps(panel)
    a = ANALYTES.get(name)
    accepted = list(dict.fromkeys([units[name], *(a.factors if a is not None else ())]))
    u = str(unit).strip()
    for old, new in UNIT_ALIASES:
        u = u.replace(old, new)
    if u in accepted:
        return u
    hits = [x for x in accepted if x.lower() == u.lower()]
    return hits[0] if len(hits) == 1 else None


def unit_factor(name: str, unit: str, path: str | Path, i: int, panel: str | Path = PANEL) -> float:
    """Factor to the canonical unit; an unaccepted unit names the accepted ones."""
    _, units, _ = panel_maps(panel)
    canonical = units[name]
    u = accepted_unit(name, unit, panel)
    if u == canonical:
        return 1.0
    a = ANALYTES.get(name)
    if a is not None and u in a.factors:
        return a.factors[u]
    accepted = list(dict.fromkeys([canonical, *(a.factors if a is not None else ())]))
    raise InputError(
        f"unit {unit!r} not accepted for {name} (canonical unit {canonical})",
        file=path,
        row=data_row(i),
        column="unit",
        expected="one of " + ", ".join(accepted) + " (case-insensitive; mm3 = uL; other "
        "units are not converted: convert the values or add the factor to "
        "marrowtox.clinical.units)",
    )


def _cell(df: pd.DataFrame, col: str, i: int) -> Any:
    if col not in df.columns:
        return None
    v = df[col].iat[i]
    return None if v is None or (isinstance(v, float) and np.isnan(v)) or v == "" else v


def parse_row_value(df: pd.DataFrame, i: int, path: str | Path, name: str) -> Any:
    """LabValue of row i (marrowtox.clinical.censoring.parse_value), in the row's unit."""

    raw = df["value"].iat[i]
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        v = float(raw)
        if not np.isfinite(v) or v < 0:
            raise InputError(
                f"implausible value {shown(raw)} for {name}",
                file=path,
                row=data_row(i),
                column="value",
                expected="a finite, non-negative number",
            )
        return LabValue(v)
    limits = []
    for col in ("lloq", "uloq"):
        x = _cell(df, col, i)
        limits.append(None if x is None else float(x))
    try:
        lv = parse_value(str(raw), limits[0], limits[1])
    except ValueError as exc:
        raise InputError(
            f"{exc} for {name}", file=path, row=data_row(i), column="value", expected=VALUE_EXPECTED
        ) from None
    if lv.is_censored and name in NUMBER_NEEDED:
        raise InputError(
            f"censored value {shown(raw)} for {name}, which {NUMBER_NEEDED[name]} read as a number",
            file=path,
            row=data_row(i),
            column="value",
            expected=f"a measured number for {name} (a value below/above the assay limit "
            "cannot be graded without inventing it; leave the row out if there is none)",
        )
    return lv


def validate_labs(df: pd.DataFrame, path: str | Path, panel: str | Path = PANEL) -> None:
    """Check analytes, units, specimens, censored values and plausibility of every row,
    before any work starts (the pre-flight, `marrowtox validate` and `marrowtox
    cohort-stats` run this; `panel`: the biomarker panel the analytes are names of)."""

    def check(item: tuple[int, tuple[str, str]]) -> None:
        i, (analyte, unit) = item
        name = resolve_analyte(analyte, path, i, panel)
        factor = unit_factor(name, unit, path, i, panel)
        lv = parse_row_value(df, i, path, name)
        a = ANALYTES.get(name)
        if lv.value is not None and a is not None and lv.value * factor > a.max_plausible:
            raise InputError(
                f"implausible value {df['value'].iat[i]} {unit} for {name}",
                file=path,
                row=data_row(i),
                column="value",
                expected=f"at most {a.max_plausible:g} {a.canonical} after conversion (check the unit)",
            )

    # every faulty row at once (issue 25 item 5); the distribution check needs valid rows
    every(enumerate(zip(df["analyte"], df["unit"], strict=True)), check)
    check_distribution(df, path, panel=panel)


PLAUSIBLE = Path(__file__).resolve().parents[3] / "resources" / "labs" / "plausible_ranges.tsv"


def _resolved(df: pd.DataFrame, panel: str | Path = PANEL) -> pd.Series:
    aliases, _, _ = panel_maps(panel)
    return df["analyte"].astype(str).str.strip().str.lower().map(aliases)


def _numeric(values: pd.Series) -> np.ndarray:
    """Observed values as floats; censored text ("<5") as NaN."""
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def check_distribution(
    df: pd.DataFrame, path: str | Path, ranges: str | Path = PLAUSIBLE, panel: str | Path = PANEL
) -> None:
    """Refuse a column of values whose distribution does not fit its declared unit.

    ANC of 0.4-8 labelled "/uL" is valid value by value, but graded as /uL it makes every
    patient ICAHT grade 4: the table in resources/labs/plausible_ranges.tsv (with sources)
    says what a declared unit's values look like. Observed values only (censored values
    have no number to compare).
    """
    table = pd.read_csv(ranges, sep="\t", comment="#")
    analyte = _resolved(df, panel)
    values = _numeric(df["value"])
    df = df.assign(unit=_accepted_units(df, analyte, panel))
    for r in table.itertuples():
        for unit in df.loc[analyte == r.analyte, "unit"].unique():
            rows = np.flatnonzero(
                (analyte == r.analyte).to_numpy()
                & (df["unit"] == unit).to_numpy()
                & ~np.isnan(values)
            )
            if len(rows) < r.min_values:
                continue
            canon = values[rows] * ANALYTES[r.analyte].factors[unit]
            p95, p05 = np.percentile(canon, 95), np.percentile(canon, 5)
            if p95 < r.p95_min or p05 > r.p05_max:
                seen = f"95th percentile {p95:g}" if p95 < r.p95_min else f"5th percentile {p05:g}"
                raise InputError(
                    f"{len(rows)} {r.analyte} values in {unit} have a {seen} {r.canonical_unit} "
                    f"(first: {shown(df['value'].iloc[rows[0]])}): {r.likely_cause}",
                    file=path,
                    row=data_row(int(rows[0])),
                    column="unit",
                    expected=f"{r.analyte} values whose 95th percentile is >= {r.p95_min:g} and "
                    f"5th percentile <= {r.p05_max:g} {r.canonical_unit} ({r.source})",
                )


def _accepted_units(df: pd.DataFrame, name: pd.Series, panel: str | Path = PANEL) -> list:
    """Each row's unit in its accepted spelling (accepted_unit; validated rows), the
    text as written where it is not accepted (validate_labs refuses those)."""
    return [
        accepted_unit(a, u, panel) or str(u).strip() if isinstance(a, str) else u
        for a, u in zip(name, df["unit"], strict=True)
    ]


#: Columns of the clinical step's normalised labs.
NORMALISED_COLUMNS = ["patient", "day", "analyte", "value", "unit", "censor", "limit"]


def normalise_labs(df: pd.DataFrame) -> pd.DataFrame:
    """Labs of the per-patient clinical step in canonical units (validated by validate_labs).

    Columns NORMALISED_COLUMNS. Analytes are panel names (aliases resolved); values and
    assay limits are converted alike. Censored rows (possible only for analytes outside
    NUMBER_NEEDED) keep value NaN, `censor` "left"/"right" and their `limit`, never the
    limit as a value; observed rows have censor "". Only rows in the analyte's default
    specimen are kept (a marrow-plasma or CSF value is not a blood value: those rows are
    for `marrowtox cohort-stats`, which reads the raw labs table with its specimens).
    """
    _, units, specimens = panel_maps()
    name = _resolved(df)
    if "specimen" in df.columns:
        spec = df["specimen"].where(df["specimen"].notna() & (df["specimen"] != ""), None)
        keep = (spec.isna() | (spec == name.map(specimens))).to_numpy()
    else:
        keep = np.ones(len(df), dtype=bool)
    values = _numeric(df["value"])
    factor = np.array(
        [
            1.0 if u == units[a] else ANALYTES[a].factors[u]
            for a, u in zip(name, _accepted_units(df, name), strict=True)
        ],
        dtype=float,
    )
    censor = np.full(len(df), "", dtype=object)
    limit = np.full(len(df), np.nan)
    for i in np.flatnonzero(np.isnan(values)):
        lv = parse_row_value(df, int(i), "labs", name.iat[int(i)])
        censor[i], limit[i] = lv.censor, lv.limit
    out = pd.DataFrame(
        {
            "patient": df["patient"].to_numpy(),
            "day": df["day"].astype(int).to_numpy(),
            "analyte": name.to_numpy(),
            "value": values * factor,
            "unit": name.map(units).to_numpy(),
            "censor": censor,
            "limit": limit * factor,
        }
    )[keep]
    return out.sort_values(["patient", "day", "analyte"], kind="stable").reset_index(drop=True)
