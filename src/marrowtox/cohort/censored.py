"""Lab values with censoring ("<5", "<LLOQ", ">1000") and how they enter each statistic.

An immunoassay reports "<5 pg/mL" when the analyte is below its lower limit of
quantification. Writing 5 (or 2.5, or 0) in its place invents a number: for a cytokine
that is undetectable in most patients before infusion, the substitute decides the AUC.
So a censored value is kept as what it is: a value known only to lie below (left) or
above (right) a limit, and every statistic says how it uses it.

How censored values enter each statistic (the rule implemented by `rank_codes`):

* Rank statistics (AUC, Mann-Whitney U, Spearman rho) use ranks only, so censored values
  can take part without being given a number. Per analysis (one marker, one window, one
  endpoint; or one pair of variables for Spearman) let L be the highest left-censoring
  limit and U the lowest right-censoring limit among the values in that analysis. Then
  - a left-censored value "<l" ranks below every observed value >= L and ties with every
    value below L, observed or censored ("<5" ties with "<5", with "<2" and with an
    observed 3; it ranks below an observed 5 or 7 when L = 5);
  - a right-censored value ">u" ranks above every observed value <= U and ties with
    every value above U;
  - observed values between L and U keep their order.
  With a single limit per analyte (the usual case) this is exactly "ranks below every
  observed value above its limit, ties with everything below that limit". With several
  limits, observed values below the highest limit are re-censored to it first (counted
  in `n_recensored`): the rule of Helsel (Statistics for Censored Environmental Data,
  2nd ed., Wiley 2012, ch. 9 on rank tests with multiple reporting limits), which keeps
  the ranking a valid total order; the pairwise alternative (Gehan, Biometrika 1965;
  52:203) is not a ranking and cannot be passed to scipy/sklearn.
  If L > U no order exists between the two censored groups: the analysis reports a
  reason instead of a number.
* A published cut-off ("EASIX > 4.67"): a censored value is classified only when its
  whole interval lies on one side ("<3" is below a cut-off of 4.67; "<10" is unknown and
  left out, counted in `n_censored`). See `cutoff_side`.
* Cox regression cannot take a censored covariate: patients whose marker is censored are
  left out and counted in the survival table's `n_censored` (marrowtox.cohort.survival).
* Derived values (Ang-2/Ang-1, EASIX) propagate censoring only where the direction is
  known (marrowtox.cohort.windows.derive_ratio); otherwise the derived value is missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from marrowtox.clinical.censoring import (  # noqa: F401 - re-exported: the statistics' vocabulary
    LEFT,
    LIMIT_TOKENS,
    RIGHT,
    VALUE_EXPECTED,
    LabValue,
    nonnegative_number,
    parse_value,
)
from marrowtox.clinical.units import PANEL, panel_maps, resolve_analyte, unit_factor
from marrowtox.errors import InputError, data_row
from marrowtox.samplesheet import load_schema

#: specimens accepted in the labs' specimen column (workflow/schemas/labs.schema.yaml);
#: marrow_plasma is the marrow aspirate supernatant, csf cerebrospinal fluid, the others
#: are peripheral blood.
SPECIMENS: tuple[str, ...] = tuple(
    load_schema("labs.schema.yaml")["properties"]["specimen"]["enum"]
)
MARROW = "marrow_plasma"


@dataclass(frozen=True)
class RankCodes:
    """Integer codes whose order is the censoring-aware ranking of `rank_codes`."""

    codes: np.ndarray | None  # None when no ranking exists (left limit above right limit)
    n_censored: int
    n_recensored: int
    reason: str | None = None


def rank_codes(value: np.ndarray, censor: np.ndarray, limit: np.ndarray) -> RankCodes:
    """Codes 0..K with the tie structure of the module's rule (module docstring).

    Rank statistics are invariant to any order-preserving recoding, so AUC, Mann-Whitney
    and Spearman computed on these codes are the censoring-aware statistics; no censored
    value is ever given its limit (or any other number) as a value.
    """
    value = np.asarray(value, dtype=float)
    censor = np.asarray(censor, dtype=object)
    limit = np.asarray(limit, dtype=float)
    left = censor == LEFT
    right = censor == RIGHT
    obs = ~(left | right)
    n_cens = int(left.sum() + right.sum())
    lo = float(limit[left].max()) if left.any() else -math.inf
    hi = float(limit[right].min()) if right.any() else math.inf
    if lo > hi:
        return RankCodes(
            None,
            n_cens,
            0,
            f"left-censoring limit {lo:g} above right-censoring limit {hi:g}: no ranking",
        )
    low_group = left | (obs & (value < lo))
    high_group = right | (obs & (value > hi))
    middle = obs & ~low_group & ~high_group
    n_re = int((obs & ~middle).sum())
    codes = np.zeros(len(value), dtype=np.int64)
    if middle.any():
        uniq, inv = np.unique(value[middle], return_inverse=True)
        codes[middle] = inv + 1
        top = len(uniq) + 1
    else:
        top = 1
    codes[high_group] = top
    return RankCodes(codes, n_cens, n_re)


def censoring_note(censor: np.ndarray, limit: np.ndarray, n_recensored: int) -> str:
    """How this analysis's censored values entered its rank statistics (output column
    `censoring`); empty when none was censored. Words of the module rule, with its L/U."""
    censor = np.asarray(censor, dtype=object)
    limit = np.asarray(limit, dtype=float)
    left, right = censor == LEFT, censor == RIGHT
    parts = []
    if left.any():
        lo = float(limit[left].max())
        parts.append(
            f"{int(left.sum())} below a limit ranked, not given a number: tied with every "
            f"value < {lo:g}, below every value >= {lo:g}"
        )
    if right.any():
        hi = float(limit[right].min())
        parts.append(
            f"{int(right.sum())} above a limit ranked: tied with every value > {hi:g}, "
            f"above every value <= {hi:g}"
        )
    if parts and n_recensored:
        parts.append(f"{n_recensored} observed values beyond a limit tied with them")
    return "; ".join(parts)


def cutoff_side(
    value: np.ndarray, censor: np.ndarray, limit: np.ndarray, op: str, threshold: float
) -> np.ndarray:
    """1.0 where the value is beyond the cut-off, 0.0 where not, NaN where unknown.

    A left-censored "<l" is known to be below any threshold t >= l, so for op ">" it is 0
    when l <= t (values < l <= t) and unknown otherwise; for ">=", 0 when l <= t too.
    Right-censored ">u" is beyond t for ">" when u >= t, for ">=" when u >= t.
    """
    value = np.asarray(value, dtype=float)
    censor = np.asarray(censor, dtype=object)
    limit = np.asarray(limit, dtype=float)
    out = np.full(len(value), np.nan)
    obs = ~np.isin(censor, [LEFT, RIGHT])
    if op == ">":
        out[obs] = (value[obs] > threshold).astype(float)
    elif op == ">=":
        out[obs] = (value[obs] >= threshold).astype(float)
    else:
        raise ValueError(f"unknown cut-off operator {op!r}")
    left = censor == LEFT
    right = censor == RIGHT
    out[left & (limit <= threshold)] = 0.0
    out[right & (limit >= threshold)] = 1.0
    return out


def load_panel(path: str | Path = PANEL) -> pd.DataFrame:
    """The biomarker panel (resources/biomarkers.tsv), indexed by analyte name."""
    panel = pd.read_csv(path, sep="\t", comment="#", dtype=str, keep_default_na=False)
    return panel.set_index("name", drop=False)


LABS_REQUIRED = ("patient", "day", "analyte", "value", "unit")
LABS_OPTIONAL = ("specimen", "lloq", "uloq")


def read_tsv(path: str | Path, what: str) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{what} table not found", file=path, expected="an existing TSV file")
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot parse {what} table: {exc}", file=path, expected="tab-separated text"
        ) from None
    df.columns = [c.strip().lstrip("\ufeff") for c in df.columns]
    return df


def check_columns(
    df: pd.DataFrame,
    path: str | Path,
    required: tuple[str, ...],
    optional: tuple[str, ...] | None,
) -> None:
    """Unknown or missing columns are errors before any work (a misspelt 'specimen'
    would otherwise silently put marrow values with blood values). `optional` None:
    any further column is allowed (a scores table carries many)."""
    for col in required:
        if col not in df.columns:
            raise InputError(
                "required column is missing",
                file=path,
                row=1,
                column=col,
                expected=f"header with columns {list(required)}",
            )
    if optional is not None:
        for col in df.columns:
            if col not in required and col not in optional:
                raise InputError(
                    "unknown column",
                    file=path,
                    row=1,
                    column=col,
                    expected=f"columns {list(required) + list(optional)}",
                )


def _int_cell(text: str, path: str | Path, i: int, column: str) -> int:
    try:
        return int(text.strip(), 10)
    except ValueError:
        raise InputError(
            f"invalid value {text!r}",
            file=path,
            row=data_row(i),
            column=column,
            expected="an integer (e.g. -7 or 28)",
        ) from None


def _float_cell(text: str, path: str | Path, i: int, column: str) -> float | None:
    if not text.strip():
        return None
    try:
        return nonnegative_number(text.strip())
    except ValueError:
        raise InputError(
            f"invalid value {text!r}",
            file=path,
            row=data_row(i),
            column=column,
            expected="a non-negative number or empty",
        ) from None


def read_labs(path: str | Path, panel: str | Path = PANEL) -> pd.DataFrame:
    """Read a long labs table with censored values; every row checked before any work.

    Columns: patient, day, analyte, value, unit, and optional specimen, lloq, uloq.
    Analytes and units are read exactly as the pre-flight reads them
    (marrowtox.clinical.units: any alias of the `panel`, case-insensitive units with
    their stated aliases, values and limits converted alike), so a table the pre-flight
    accepted is never refused here. Returns patient, day, analyte, specimen, value,
    censor, limit with value NaN for censored rows and censor "" for observed ones.
    """
    df = read_tsv(path, "labs")
    check_columns(df, path, LABS_REQUIRED, LABS_OPTIONAL)
    _, _, default_specimen = panel_maps(panel)
    n = len(df)
    patient = df["patient"].str.strip().to_numpy(dtype=object)
    day = np.empty(n, dtype=np.int64)
    analyte = np.empty(n, dtype=object)
    specimen = np.empty(n, dtype=object)
    value = np.full(n, np.nan)
    censor = np.full(n, "", dtype=object)
    limit = np.full(n, np.nan)
    has_spec = "specimen" in df.columns
    lloqs = df["lloq"].tolist() if "lloq" in df.columns else [""] * n
    uloqs = df["uloq"].tolist() if "uloq" in df.columns else [""] * n
    for i, (p, d, a, v, u) in enumerate(
        zip(patient, df["day"], df["analyte"], df["value"], df["unit"], strict=True)
    ):
        if not p:
            raise InputError("empty patient id", file=path, row=data_row(i), column="patient")
        day[i] = _int_cell(d, path, i, "day")
        name = resolve_analyte(a, path, i, panel)
        analyte[i] = name
        factor = unit_factor(name, u, path, i, panel)
        spec = df["specimen"].iat[i].strip() if has_spec else ""
        if not spec:
            spec = default_specimen[name]
        elif spec not in SPECIMENS:
            raise InputError(
                f"unknown specimen {spec!r}",
                file=path,
                row=data_row(i),
                column="specimen",
                expected="one of " + ", ".join(SPECIMENS) + " (or empty: the panel's default)",
            )
        specimen[i] = spec
        lo = _float_cell(lloqs[i], path, i, "lloq")
        hi = _float_cell(uloqs[i], path, i, "uloq")
        try:
            lv = parse_value(v, lo, hi)
        except ValueError as exc:
            raise InputError(
                str(exc), file=path, row=data_row(i), column="value", expected=VALUE_EXPECTED
            ) from None
        if lv.censor is None:
            value[i] = float(lv.value) * factor
        else:
            censor[i] = lv.censor
            limit[i] = float(lv.limit) * factor
    out = pd.DataFrame(
        {
            "patient": patient,
            "day": day,
            "analyte": analyte,
            "specimen": specimen,
            "value": value,
            "censor": censor,
            "limit": limit,
        }
    )
    return out.sort_values(["patient", "analyte", "specimen", "day"], kind="stable").reset_index(
        drop=True
    )
