"""Time windows anchored to infusion or to an event, and one value per patient and window.

A biomarker association means nothing without saying when the marker was measured:
IL-6 at day +1 predicts severe CRS differently from IL-6 at CRS onset. Windows are
declared in a config mapping (name -> anchor, [first, last] days relative to the
anchor), so that a cohort's analysis plan is written down before the numbers are seen.

Rule for the value of a window (blood labs and marrow plasma alike): the latest value
in the window, each analyte and specimen separately; several values on that latest day
-> the most adverse one (highest, or lowest for analytes whose `adverse` is "low" in
resources/biomarkers.tsv), comparing a censored value by its limit for this choice only
and, at an equal number, preferring the observed value. The chosen record keeps its
censoring. This is the baseline rule of marrowtox.clinical.hematotox (latest, most
adverse), so the cohort tables agree with the per-patient scores.
Event anchors are the first day of that event (CRS onset = first day with a crs row);
a patient without the event has no value in that window.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marrowtox.cohort.censored import LEFT, RIGHT, check_columns, read_tsv
from marrowtox.errors import InputError, data_row
from marrowtox.samplesheet import load_schema


def default_windows() -> dict[str, dict[str, Any]]:
    """The windows of config.cohort.windows as the schema's default states them
    (workflow/schemas/config.cohort.schema.yaml): before lymphodepletion, day of infusion,
    early days, CRS onset and the following 24-48 h, and d28, the usual restaging marrow
    (day +28 +- 1 week) that the marrow-plasma correlations need."""
    from marrowtox.settings import section_defaults

    return section_defaults("cohort")["windows"]


#: Events that may anchor a window (first occurrence per patient), as the schema lists them.
ANCHORS: tuple[str, ...] = tuple(
    load_schema("config.cohort.schema.yaml")["properties"]["windows"]["additionalProperties"][
        "properties"
    ]["anchor"]["enum"]
)
#: Derived analytes get this specimen (their inputs may come from several specimens).
DERIVED = "derived"
#: death causes of the events.tsv `cause` column (death rows only; from
#: workflow/schemas/events.schema.yaml); "relapse" is death from the malignancy, every
#: other cause is non-relapse (marrowtox.cohort.survival).
CAUSES: tuple[str, ...] = tuple(load_schema("events.schema.yaml")["properties"]["cause"]["enum"])
RELAPSE_CAUSE = "relapse"


@dataclass(frozen=True)
class Window:
    name: str
    anchor: str
    first: int
    last: int


def parse_windows(config: Mapping[str, Any], source: str | Path | None = None) -> list[Window]:
    """Windows from a config mapping; anything malformed is an InputError naming it."""
    if isinstance(config, Mapping) and isinstance(config.get("windows"), Mapping):
        config = config["windows"]
    if not isinstance(config, Mapping) or not config:
        raise InputError(
            "no windows defined",
            file=source,
            expected="a mapping name -> {anchor: infusion|crs|..., days: [first, last]}",
        )
    out = []
    for name, spec in config.items():
        where = f"window {name!r}"
        if not isinstance(spec, Mapping) or set(spec) != {"anchor", "days"}:
            raise InputError(
                f"{where} must have exactly the keys anchor and days",
                file=source,
                expected="{anchor: infusion, days: [-10, -1]}",
            )
        anchor = spec["anchor"]
        if anchor not in ANCHORS:
            raise InputError(
                f"{where}: unknown anchor {anchor!r}",
                file=source,
                expected="one of " + ", ".join(ANCHORS),
            )
        days = spec["days"]
        ok = (
            isinstance(days, list | tuple)
            and len(days) == 2
            and all(isinstance(d, int) and not isinstance(d, bool) for d in days)
        )
        if not ok or days[0] > days[1]:
            raise InputError(
                f"{where}: days {days!r}",
                file=source,
                expected="two integers [first, last] with first <= last, relative to the anchor",
            )
        out.append(Window(str(name), anchor, int(days[0]), int(days[1])))
    return out


def load_windows(path: str | Path | None) -> list[Window]:
    """Windows from a YAML file (a mapping of windows, optionally under `windows:`)."""
    if path is None:
        return parse_windows(default_windows())
    import yaml

    p = Path(path)
    if not p.is_file():
        raise InputError("windows file not found", file=p, expected="an existing YAML file")
    try:
        cfg = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"cannot parse windows YAML: {exc}", file=p) from None
    return parse_windows(cfg, p)


EVENTS_REQUIRED = ("patient", "day", "event")
#: every other column of the events schema (grade, cause, regimen, ...): one list, so a
#: column the pre-flight accepts is never refused here
EVENTS_OPTIONAL = tuple(
    c for c in load_schema("events.schema.yaml")["properties"] if c not in EVENTS_REQUIRED
)


def read_events(path: str | Path) -> pd.DataFrame:
    """events.tsv with the optional proposed `cause` column (death rows only).

    Event names come from workflow/schemas/events.schema.yaml; grades are checked by
    marrowtox.clinical.events.validate_events, the same rule as the pre-flight.
    """
    from marrowtox.clinical.events import validate_events
    from marrowtox.samplesheet import load_schema, vocabulary

    schema = load_schema("events.schema.yaml")
    events_enum = schema["properties"]["event"]["enum"]
    # event names in any case and with the schema's aliases, as the pre-flight reads them
    df = vocabulary(read_tsv(path, "events"), schema)
    check_columns(df, path, EVENTS_REQUIRED, EVENTS_OPTIONAL)
    days, grades, causes = [], [], []
    for i, rec in enumerate(df.to_dict(orient="records")):
        try:
            days.append(int(rec["day"].strip(), 10))
        except ValueError:
            raise InputError(
                f"invalid value {rec['day']!r}",
                file=path,
                row=data_row(i),
                column="day",
                expected="an integer (e.g. -7 or 28)",
            ) from None
        ev = rec["event"].strip()
        if ev not in events_enum:
            raise InputError(
                f"unknown event {ev!r}",
                file=path,
                row=data_row(i),
                column="event",
                expected="one of " + ", ".join(events_enum),
            )
        g = rec.get("grade", "").strip()
        try:
            grades.append(int(g, 10) if g else None)
        except ValueError:
            raise InputError(
                f"invalid value {g!r}",
                file=path,
                row=data_row(i),
                column="grade",
                expected="an integer 1-4 or empty",
            ) from None
        c = rec.get("cause", "").strip()
        if c and ev != "death":
            raise InputError(
                f"event {ev!r} carries a cause ({c})",
                file=path,
                row=data_row(i),
                column="cause",
                expected="empty (a cause only on death rows)",
            )
        if c and c not in CAUSES:
            raise InputError(
                f"unknown cause of death {c!r}",
                file=path,
                row=data_row(i),
                column="cause",
                expected="one of " + ", ".join(CAUSES) + " or empty",
            )
        causes.append(c)
    out = pd.DataFrame(
        {
            "patient": df["patient"].str.strip(),
            "day": days,
            "event": df["event"].str.strip(),
            "grade": pd.array(grades, dtype=object),
            "cause": causes,
        }
    )
    validate_events(out, path)
    return out


def read_scores(path: str | Path, numeric: tuple[str, ...]) -> pd.DataFrame:
    """Per-patient scores (e.g. results/clinical/cohort.tsv), indexed by patient.

    Only the `numeric` columns present are parsed (empty -> NaN); any other column is
    kept as text, so the clinical step's whole cohort table can be passed as it is.
    """
    df = read_tsv(path, "scores")
    check_columns(df, path, ("patient",), None)
    dup = df["patient"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(
            f"patient {df['patient'].iat[i]!r} appears twice",
            file=path,
            row=data_row(i),
            column="patient",
            expected="one row per patient",
        )
    for col in numeric:
        if col not in df.columns:
            continue
        vals = np.full(len(df), np.nan)
        for i, text in enumerate(df[col]):
            t = text.strip()
            if not t:
                continue
            try:
                vals[i] = float(t)
            except ValueError:
                raise InputError(
                    f"invalid value {text!r}",
                    file=path,
                    row=data_row(i),
                    column=col,
                    expected="a number or empty",
                ) from None
            if not math.isfinite(vals[i]):
                raise InputError(
                    f"invalid value {text!r}",
                    file=path,
                    row=data_row(i),
                    column=col,
                    expected="a finite number or empty",
                )
        df[col] = vals
    return df.set_index("patient", drop=False)


def anchor_days(events: pd.DataFrame | None, anchor: str, patients: pd.Index) -> pd.Series:
    """Anchor day per patient: 0 for infusion (days are relative to it), else first event day."""
    if anchor == "infusion":
        return pd.Series(0, index=patients, dtype=np.int64)
    if events is None:
        return pd.Series(dtype=np.int64)
    ev = events[events["event"] == anchor]
    return ev.groupby("patient")["day"].min().astype(np.int64)


def _choice_key(df: pd.DataFrame, adverse_low: set[str]) -> tuple[np.ndarray, np.ndarray]:
    observed = (df["censor"] == "").to_numpy()
    num = np.where(observed, df["value"].to_numpy(), df["limit"].to_numpy())
    low = df["analyte"].isin(adverse_low).to_numpy()
    return np.where(low, -num, num), observed.astype(np.int8)


def _latest_most_adverse(df: pd.DataFrame, adverse_low: set[str], keys: list[str]) -> pd.DataFrame:
    """One row per `keys` group: the latest day, then the most adverse (module rule)."""
    if df.empty:
        return df
    key, obs = _choice_key(df, adverse_low)
    tmp = df.assign(_key=key, _obs=obs)
    tmp = tmp.sort_values([*keys, "day", "_key", "_obs"], kind="stable")
    tmp = tmp.drop_duplicates(keys, keep="last")
    return tmp.drop(columns=["_key", "_obs"])


def interval(value: np.ndarray, censor: np.ndarray, limit: np.ndarray) -> tuple[np.ndarray, ...]:
    """Bounds [lo, hi] of non-negative values: '<l' -> [0, l], '>u' -> [u, inf]."""
    lo = np.where(censor == LEFT, 0.0, np.where(censor == RIGHT, limit, value))
    hi = np.where(censor == LEFT, limit, np.where(censor == RIGHT, np.inf, value))
    return lo.astype(float), hi.astype(float)


def from_interval(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Back to (value, censor, limit); NaN value and censor "drop" where the direction is
    unknown (e.g. '<a' / '<b': the ratio can be anything)."""
    value = np.full(len(lo), np.nan)
    censor = np.full(len(lo), "drop", dtype=object)
    limit = np.full(len(lo), np.nan)
    finite = np.isfinite(lo) & ~np.isnan(hi)
    point = finite & (lo == hi)
    value[point], censor[point] = lo[point], ""
    left = finite & ~point & (lo == 0) & np.isfinite(hi)
    censor[left], limit[left] = LEFT, hi[left]
    right = finite & ~point & (lo > 0) & np.isinf(hi)
    censor[right], limit[right] = RIGHT, lo[right]
    return value, censor, limit


def _quotient(num: tuple[np.ndarray, ...], den: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    with np.errstate(divide="ignore", invalid="ignore"):
        lo = num[0] / den[1]
        hi = num[1] / den[0]
    return lo, np.where(np.isnan(hi), np.inf, hi)


def _product(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    with np.errstate(invalid="ignore"):
        lo = a[0] * b[0]
        hi = a[1] * b[1]
    return np.where(np.isnan(lo), 0.0, lo), np.where(np.isnan(hi), np.inf, hi)


def derive_ratio(
    labs: pd.DataFrame,
    adverse_low: set[str],
    numerator: str = "ang2",
    denominator: str = "ang1",
    name: str = "ang2_ang1",
) -> pd.DataFrame:
    """Add Ang-2/Ang-1 per patient, day and specimen where both were measured and the
    table has no ratio of its own that day (Gust 2017, Hay 2017 report the ratio).

    Censoring propagates through the interval of the quotient: Ang-2 "<l" over Ang-1 x
    is "< l/x"; Ang-2 x over Ang-1 "<l" is "> x/l"; "<a" over "<b" is unknown and the
    ratio is left missing rather than guessed.
    """
    keys = ["patient", "day", "specimen"]
    cols = ["patient", "day", "specimen", "analyte", "value", "censor", "limit"]
    sub = labs[labs["analyte"].isin([numerator, denominator])]
    if sub.empty:
        return labs
    one = _latest_most_adverse(sub, adverse_low, [*keys, "analyte"])
    n = one[one["analyte"] == numerator].set_index(keys)
    d = one[one["analyte"] == denominator].set_index(keys)
    both = n.join(d, how="inner", lsuffix="_n", rsuffix="_d")
    have = labs.loc[labs["analyte"] == name, keys].drop_duplicates()
    if not have.empty:
        both = both.loc[~both.index.isin(pd.MultiIndex.from_frame(have))]
    if both.empty:
        return labs
    lo, hi = _quotient(
        interval(
            both["value_n"].to_numpy(), both["censor_n"].to_numpy(), both["limit_n"].to_numpy()
        ),
        interval(
            both["value_d"].to_numpy(), both["censor_d"].to_numpy(), both["limit_d"].to_numpy()
        ),
    )
    value, censor, limit = from_interval(lo, hi)
    ratio = both.reset_index()[keys].assign(analyte=name, value=value, censor=censor, limit=limit)
    ratio = ratio[ratio["censor"] != "drop"]
    out = pd.concat([labs[cols], ratio[cols]], ignore_index=True)
    return out.sort_values(["patient", "analyte", "specimen", "day"], kind="stable").reset_index(
        drop=True
    )


#: EASIX family (Pennisi et al., Blood Adv 2021;5:3397): name -> (numerator factors,
#: denominator). EASIX = LDH x creatinine / platelets; m-EASIX = LDH x CRP / platelets;
#: s-EASIX = LDH / platelets.
EASIX_FAMILY: dict[str, tuple[tuple[str, ...], str]] = {
    "easix": (("ldh", "creatinine"), "plt"),
    "m_easix": (("ldh", "crp"), "plt"),
    "s_easix": (("ldh",), "plt"),
}


def derive_easix(values: pd.DataFrame, panel: pd.DataFrame) -> pd.DataFrame:
    """EASIX, m-EASIX, s-EASIX per patient and window from the window values of their
    inputs (each input its latest value in the window, as marrowtox.clinical.easix.at).

    Inputs in their panel default specimen only (serum chemistry, whole-blood platelets),
    so a marrow-plasma LDH never enters a blood score. Censored inputs propagate through
    the interval arithmetic of `derive_ratio`; an unknown direction leaves it missing.
    """
    need = {a for num, den in EASIX_FAMILY.values() for a in (*num, den)}
    default = dict(zip(panel["name"], panel["specimen_default"], strict=True))
    sub = values[values["analyte"].isin(need)]
    sub = sub[sub["specimen"].to_numpy() == sub["analyte"].map(default).to_numpy()]
    if sub.empty:
        return values
    # one value per patient, window and analyte (one specimen each): a plain reshape
    wide = sub.set_index(["patient", "window", "analyte"])[
        ["value", "censor", "limit", "day"]
    ].unstack("analyte")
    rows = []
    for name, (num, den) in EASIX_FAMILY.items():
        inputs = (*num, den)
        if not all(("censor", a) in wide.columns for a in inputs):
            continue
        ok = np.ones(len(wide), dtype=bool)
        for a in inputs:
            ok &= wide[("censor", a)].notna().to_numpy()
        w = wide[ok]
        if w.empty:
            continue

        def iv(a: str, w: pd.DataFrame = w) -> tuple[np.ndarray, ...]:
            return interval(
                w[("value", a)].to_numpy(dtype=float),
                w[("censor", a)].to_numpy(dtype=object),
                w[("limit", a)].to_numpy(dtype=float),
            )

        acc = iv(num[0])
        for a in num[1:]:
            acc = _product(acc, iv(a))
        lo, hi = _quotient(acc, iv(den))
        value, censor, limit = from_interval(lo, hi)
        day = np.max(np.column_stack([w[("day", a)].to_numpy(dtype=float) for a in inputs]), 1)
        idx = w.index.to_frame(index=False)
        rows.append(
            idx.assign(
                analyte=name,
                specimen=DERIVED,
                day=day.astype(np.int64),
                value=value,
                censor=censor,
                limit=limit,
            )
        )
    if not rows:
        return values
    new = pd.concat(rows, ignore_index=True)
    new = new[new["censor"] != "drop"]
    return pd.concat([values, new[values.columns]], ignore_index=True)


VALUE_COLUMNS = ["patient", "window", "analyte", "specimen", "day", "value", "censor", "limit"]


def window_values(
    labs: pd.DataFrame,
    events: pd.DataFrame | None,
    windows: list[Window],
    panel: pd.DataFrame,
) -> pd.DataFrame:
    """Per patient, window, analyte and specimen: the value of the window (module rule).

    `labs` as returned by marrowtox.cohort.censored.read_labs. Ang-2/Ang-1 and the EASIX
    family are derived here, so they follow the same windows as their inputs.
    """
    adverse_low = set(panel.loc[panel["adverse"] == "low", "name"])
    labs = derive_ratio(labs, adverse_low)
    patients = pd.Index(sorted(labs["patient"].unique()))
    parts = []
    for w in windows:
        anchors = anchor_days(events, w.anchor, patients)
        a = labs["patient"].map(anchors)
        keep = a.notna().to_numpy()
        a = a.to_numpy(dtype=float)
        d = labs["day"].to_numpy()
        keep &= (d >= a + w.first) & (d <= a + w.last)
        sub = labs[keep]
        if sub.empty:
            continue
        one = _latest_most_adverse(sub, adverse_low, ["patient", "analyte", "specimen"])
        parts.append(one.assign(window=w.name))
    if not parts:
        return pd.DataFrame(columns=VALUE_COLUMNS)
    values = pd.concat(parts, ignore_index=True)[VALUE_COLUMNS]
    values = derive_easix(values, panel)
    order = {w.name: i for i, w in enumerate(windows)}
    values = values.assign(_w=values["window"].map(order))
    values = values.sort_values(["analyte", "specimen", "_w", "patient"], kind="stable")
    return values.drop(columns="_w").reset_index(drop=True)
