"""Overall survival, non-relapse mortality with relapse as competing risk, Cox hazard ratios.

Time is days from infusion (day 0). Every estimate comes with the number at risk and the
number of events up to its time, and an analysis with fewer than `min_events` events
says so instead of printing a survival curve drawn by two deaths.

* Overall survival: Kaplan-Meier (Kaplan & Meier, JASA 1958;53:457; lifelines
  KaplanMeierFitter, log-log "exponential Greenwood" interval). Event: death (any cause)
  at its day; censored at the last_follow_up day. A patient with neither is left out
  (counted in the note): without a follow-up date there is no time to censor at.
* Non-relapse mortality (NRM): cumulative incidence by Aalen-Johansen (Aalen & Johansen,
  Scand J Stat 1978;5:141; lifelines AalenJohansenFitter), CIF(t) = sum over event times
  s <= t of S(s-) d_k(s) / n(s), with relapse/progression as the competing event. NRM is
  death without prior relapse or progression (EBMT definition, Iacobelli, Bone Marrow
  Transplant 2013;48:S1). Encoding in events.tsv: a `progression` event is the competing
  event at its day; a `death` row is NRM unless a progression precedes it (or falls on
  the same day) or its proposed `cause` column says "relapse" (death from the disease
  without a recorded progression date: competing at the death day). Any other cause
  (infection, crs, icans, iec_hs, hematotoxicity, bleeding, other) or an empty cause is
  non-relapse. The relapse CIF is reported too: the two curves sum to 1 - EFS.
* Cox: univariable proportional hazards for overall survival (Cox, JRSS B 1972;34:187;
  lifelines CoxPHFitter, Efron ties), markers log2-transformed by default (HR per
  doubling) because cytokines span orders of magnitude. A censored marker value ("<5")
  cannot enter a Cox model: those patients are left out and counted in
  n_censored_covariate.

lifelines' Aalen-Johansen jitters tied times of different causes at random; here tied
events are separated deterministically instead (NRM events moved `tie_shift` days
earlier, before relapses and censorings of the same day). The Aalen-Johansen estimate
does not depend on the order of events within a tie (S(t-) (1 - d2/n) d1/(n - d2) =
S(t-) d1/n), so this is exact and reproducible.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from marrowtox.cohort.windows import RELAPSE_CAUSE

COLUMNS = [
    "analysis",
    "group",
    "time",
    "estimate",
    "ci_low",
    "ci_high",
    "n_at_risk",
    "n_events",
    "n_censored_covariate",
    "p",
    "note",
]
NRM, RELAPSE = 1, 2
#: lifelines' AalenJohansenFitter zeroes the first row of its event table, so an event at
#: duration 0 (death on the day of infusion) would be lost: durations are passed as
#: day + AJ_ORIGIN and read back at t + AJ_ORIGIN.
AJ_ORIGIN = 1.0
#: Days at which curves are reported by default.
TIMES = (30, 90, 180, 365)


def os_data(events: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """(patient, time, event) for overall survival, and how many patients had no time."""
    rows, missing = [], 0
    for patient, ev in events.groupby("patient", sort=True):
        death = ev.loc[ev["event"] == "death", "day"]
        lfu = ev.loc[ev["event"] == "last_follow_up", "day"]
        if not death.empty:
            rows.append((patient, int(death.min()), 1))
        elif not lfu.empty:
            rows.append((patient, int(lfu.max()), 0))
        else:
            missing += 1
    return pd.DataFrame(rows, columns=["patient", "time", "event"]), missing


def competing_data(events: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """(patient, time, cause) with cause 1 = NRM, 2 = relapse/progression, 0 = censored."""
    rows, missing = [], 0
    has_cause = "cause" in events.columns
    for patient, ev in events.groupby("patient", sort=True):
        prog = ev.loc[ev["event"] == "progression", "day"]
        deaths = ev[ev["event"] == "death"].sort_values("day")
        lfu = ev.loc[ev["event"] == "last_follow_up", "day"]
        if not prog.empty and (deaths.empty or prog.min() <= deaths["day"].min()):
            rows.append((patient, int(prog.min()), RELAPSE))
        elif not deaths.empty:
            cause = deaths["cause"].iloc[0] if has_cause else ""
            rows.append(
                (patient, int(deaths["day"].iloc[0]), RELAPSE if cause == RELAPSE_CAUSE else NRM)
            )
        elif not lfu.empty:
            rows.append((patient, int(lfu.max()), 0))
        else:
            missing += 1
    return pd.DataFrame(rows, columns=["patient", "time", "cause"]), missing


def at_risk(time: np.ndarray, t: float) -> int:
    """Patients still followed at t (time >= t), as in the risk table under a KM plot."""
    return int((np.asarray(time) >= t).sum())


def _step(df: pd.DataFrame, t: float) -> pd.Series:
    """Row of a right-continuous step function (lifelines' tables) in force at t."""
    return df.loc[df.index <= t].iloc[-1]


def _row(**kw: object) -> dict:
    row = {c: np.nan for c in COLUMNS}
    row["note"] = ""
    row.update(kw)
    return row


def kaplan_meier(
    data: pd.DataFrame,
    times: Sequence[float],
    *,
    group: str = "all",
    min_events: int = 5,
    conf_level: float = 0.95,
    excluded: int = 0,
) -> list[dict]:
    """Rows of os_km: S(t) at each stated time, its interval, at risk and deaths so far."""
    from lifelines import KaplanMeierFitter

    time, event = data["time"].to_numpy(dtype=float), data["event"].to_numpy(dtype=int)
    n_ev = int(event.sum())
    note = f"{excluded} patients without death or last_follow_up left out" if excluded else ""
    if n_ev < min_events:
        return [
            _row(
                analysis="os_km",
                group=group,
                time=t,
                n_at_risk=at_risk(time, t),
                n_events=int(event[time <= t].sum()),
                note=_join(f"too few events: {n_ev} deaths (< {min_events})", note),
            )
            for t in times
        ]
    kmf = KaplanMeierFitter(alpha=1 - conf_level).fit(time, event)
    ci = kmf.confidence_interval_survival_function_
    rows = []
    for t in times:
        r = _row(
            analysis="os_km",
            group=group,
            time=t,
            n_at_risk=at_risk(time, t),
            n_events=int(event[time <= t].sum()),
            note=note,
        )
        if r["n_at_risk"] == 0:
            r["note"] = _join(f"no patient followed to day {t:g}", note)
        else:
            r["estimate"] = float(kmf.survival_function_at_times(t).iloc[0])
            r["ci_low"], r["ci_high"] = _bounds(_step(ci, t))
        rows.append(r)
    return rows


def _separate_ties(time: np.ndarray, cause: np.ndarray, tie_shift: float) -> np.ndarray:
    """NRM events `tie_shift` days earlier: no two causes tie, censorings stay after."""
    return np.where(cause == NRM, time - tie_shift, time).astype(float)


def cumulative_incidence(
    data: pd.DataFrame,
    times: Sequence[float],
    *,
    min_events: int = 5,
    conf_level: float = 0.95,
    tie_shift: float = 1e-6,
    excluded: int = 0,
) -> list[dict]:
    """Rows of cif_nrm and cif_relapse (Aalen-Johansen) at each stated time."""
    time = data["time"].to_numpy(dtype=float)
    cause = data["cause"].to_numpy(dtype=int)
    shifted = _separate_ties(time, cause, tie_shift) + AJ_ORIGIN
    note = f"{excluded} patients without an event or last_follow_up left out" if excluded else ""
    rows = []
    for analysis, code, what in (
        ("cif_nrm", NRM, "non-relapse deaths"),
        ("cif_relapse", RELAPSE, "relapses/progressions"),
    ):
        n_ev = int((cause == code).sum())
        counts = [(t, at_risk(time, t), int(((cause == code) & (time <= t)).sum())) for t in times]
        if n_ev < min_events:
            rows += [
                _row(
                    analysis=analysis,
                    group="all",
                    time=t,
                    n_at_risk=nr,
                    n_events=ne,
                    note=_join(f"too few events: {n_ev} {what} (< {min_events})", note),
                )
                for t, nr, ne in counts
            ]
            continue
        ajf = _aj_fit(shifted, cause, code, conf_level)
        est = ajf.cumulative_density_
        ci = ajf.confidence_interval_
        for t, nr, ne in counts:
            r = _row(analysis=analysis, group="all", time=t, n_at_risk=nr, n_events=ne, note=note)
            r["estimate"] = float(_step(est, t + AJ_ORIGIN).iloc[0])
            r["ci_low"], r["ci_high"] = _bounds(_step(ci, t + AJ_ORIGIN))
            rows.append(r)
    return rows


def _aj_fit(shifted: np.ndarray, cause: np.ndarray, code: int, conf_level: float):
    """lifelines' AalenJohansenFitter on tie-separated durations (already + AJ_ORIGIN)."""
    from lifelines import AalenJohansenFitter

    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # the variance divides by n - d, zero when the last patients all have events
        warnings.simplefilter("ignore", RuntimeWarning)
        ajf = AalenJohansenFitter(alpha=1 - conf_level, calculate_variance=True)
        ajf.fit(shifted, cause, event_of_interest=code)
    return ajf


def _bounds(ci_row: pd.Series) -> tuple[float, float]:
    """(low, high) of a lifelines interval row, by value: lifelines 0.30 labels the
    Aalen-Johansen bounds the wrong way round (its "upper" column holds the lower bound)."""
    v = [float(x) for x in ci_row.to_numpy()]
    if not all(math.isfinite(x) for x in v):
        return np.nan, np.nan
    return min(v), max(v)


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


@dataclass(frozen=True)
class CoxSpec:
    """A marker for Cox: an analyte in a window (specimen: the panel default unless given),
    or a score column (window 'scores'); log2 unless `linear` (e.g. CAR-HEMATOTOX 0-7)."""

    marker: str
    window: str
    specimen: str | None = None
    log2: bool = True

    @property
    def label(self) -> str:
        where = self.window if self.specimen is None else f"{self.window}[{self.specimen}]"
        scale = "HR per doubling" if self.log2 else "HR per unit"
        return f"{self.marker}@{where} ({scale})"


def cox(
    os: pd.DataFrame,
    covariate: pd.DataFrame,
    spec: CoxSpec,
    times: Sequence[float],
    *,
    min_events: int = 5,
    conf_level: float = 0.95,
) -> dict:
    """One cox_os row: hazard ratio of death per doubling (or unit) of the marker.

    `covariate`: window values of this marker (patient, value, censor). Censored values
    are left out (n_censored_covariate); with log2, so are values <= 0 (noted).
    """
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError

    cov = covariate.drop_duplicates("patient").set_index("patient")
    df = os.set_index("patient").join(cov[["value", "censor"]], how="inner")
    censored = df["censor"] != ""
    n_cens = int(censored.sum())
    df = df[~censored & df["value"].notna()]
    notes = []
    if n_cens:
        notes.append(f"{n_cens} censored marker values left out (Cox needs a number)")
    if spec.log2:
        bad = df["value"] <= 0
        if bad.any():
            notes.append(f"{int(bad.sum())} values <= 0 left out (log2)")
        df = df[~bad]
        x = np.log2(df["value"].to_numpy(dtype=float))
    else:
        x = df["value"].to_numpy(dtype=float)
    time, event = df["time"].to_numpy(dtype=float), df["event"].to_numpy(dtype=int)
    risk = "/".join(str(at_risk(time, t)) for t in times)
    notes.append(f"at risk at days {'/'.join(f'{t:g}' for t in times)}: {risk}")
    row = _row(
        analysis="cox_os",
        group=spec.label,
        n_at_risk=len(df),
        n_events=int(event.sum()),
        n_censored_covariate=n_cens,
    )
    if row["n_events"] < min_events:
        notes.insert(0, f"too few events: {row['n_events']} deaths (< {min_events})")
    elif len(np.unique(x)) < 2:
        notes.insert(0, "marker constant: no hazard ratio")
    else:
        fit = pd.DataFrame({"time": time, "event": event, "x": x})
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cph = CoxPHFitter(alpha=1 - conf_level).fit(fit, "time", "event")
        except (ConvergenceError, np.linalg.LinAlgError, ValueError) as exc:
            notes.insert(0, f"Cox fit failed: {str(exc).splitlines()[0]}")
        else:
            s = cph.summary.loc["x"]
            lo = [c for c in s.index if c.startswith("exp(coef) lower")][0]
            hi = [c for c in s.index if c.startswith("exp(coef) upper")][0]
            row.update(
                estimate=float(s["exp(coef)"]),
                ci_low=float(s[lo]),
                ci_high=float(s[hi]),
                p=float(s["p"]),
            )
    row["note"] = "; ".join(notes)
    return row


def survival_table(
    events: pd.DataFrame,
    values: pd.DataFrame,
    cox_specs: Sequence[CoxSpec],
    *,
    times: Sequence[float] = TIMES,
    min_events: int = 5,
    conf_level: float = 0.95,
    strata: pd.Series | None = None,
    strata_name: str = "",
    default_specimen: dict[str, str] | None = None,
) -> pd.DataFrame:
    """All rows of results/cohort/survival.tsv (columns COLUMNS).

    `strata`: optional patient -> group label; OS is then also estimated per group
    (e.g. CAR-HEMATOTOX high/low risk, Rejeski et al., Blood 2021).
    """
    os, os_missing = os_data(events)
    rows = kaplan_meier(
        os, times, min_events=min_events, conf_level=conf_level, excluded=os_missing
    )
    if strata is not None:
        lab = os["patient"].map(strata)
        for g in sorted(lab.dropna().unique()):
            rows += kaplan_meier(
                os[lab == g],
                times,
                group=f"{strata_name}={g}",
                min_events=min_events,
                conf_level=conf_level,
            )
    cr, cr_missing = competing_data(events)
    rows += cumulative_incidence(
        cr, times, min_events=min_events, conf_level=conf_level, excluded=cr_missing
    )
    default_specimen = default_specimen or {}
    for spec in cox_specs:
        sel = (values["analyte"] == spec.marker) & (values["window"] == spec.window)
        specimen = spec.specimen or default_specimen.get(spec.marker)
        if specimen is not None:
            sel &= values["specimen"] == specimen
        cov = values.loc[sel, ["patient", "value", "censor"]]
        if cov.empty:
            rows.append(
                _row(
                    analysis="cox_os",
                    group=spec.label,
                    n_at_risk=0,
                    n_events=0,
                    n_censored_covariate=0,
                    note="no values of this marker in this window",
                )
            )
            continue
        rows.append(cox(os, cov, spec, times, min_events=min_events, conf_level=conf_level))
    return pd.DataFrame(rows, columns=COLUMNS)


#: Columns of results/cohort/survival_curves.tsv (the curves the cohort report draws).
CURVE_COLUMNS = [
    "analysis",
    "group",
    "kind",
    "time",
    "estimate",
    "ci_low",
    "ci_high",
    "n_at_risk",
    "n_events",
    "note",
]
#: kind of a survival_curves.tsv row: a point of the step function (value in force from
#: `time` on), a column of the numbers-at-risk table, or "not_drawn" (too few events: the
#: one row of that curve, with its reason in `note`).
STEP, AT_RISK, NOT_DRAWN = "step", "at_risk", "not_drawn"


def _curve_rows(
    analysis: str,
    group: str,
    time: np.ndarray,
    is_event: np.ndarray,
    points: pd.DataFrame,
    risk_times: Sequence[float],
) -> list[dict]:
    """STEP rows from `points` (index time; estimate, ci_low, ci_high) and AT_RISK rows."""
    rows = []
    for t, r in points.iterrows():
        rows.append(
            _row(
                analysis=analysis,
                group=group,
                kind=STEP,
                time=float(t),
                estimate=float(r["estimate"]),
                ci_low=r["ci_low"],
                ci_high=r["ci_high"],
                n_at_risk=at_risk(time, t),
                n_events=int(is_event[time <= t].sum()),
            )
        )
    for t in risk_times:
        rows.append(
            _row(
                analysis=analysis,
                group=group,
                kind=AT_RISK,
                time=float(t),
                n_at_risk=at_risk(time, t),
                n_events=int(is_event[time <= t].sum()),
            )
        )
    return rows


def km_curve(
    data: pd.DataFrame,
    risk_times: Sequence[float],
    *,
    group: str = "all",
    min_events: int = 5,
    conf_level: float = 0.95,
) -> list[dict]:
    """Kaplan-Meier curve of overall survival as drawn: lifelines' survival function at
    every time of its timeline (0 and each distinct follow-up day) with its interval; a
    single NOT_DRAWN row when there are fewer than `min_events` deaths."""
    from lifelines import KaplanMeierFitter

    time, event = data["time"].to_numpy(dtype=float), data["event"].to_numpy(dtype=int)
    n_ev = int(event.sum())
    if n_ev < min_events:
        return [
            _row(
                analysis="os_km",
                group=group,
                kind=NOT_DRAWN,
                n_at_risk=len(time),
                n_events=n_ev,
                note=f"too few events: {n_ev} deaths (< {min_events}): no curve",
            )
        ]
    kmf = KaplanMeierFitter(alpha=1 - conf_level).fit(time, event)
    ci = kmf.confidence_interval_survival_function_
    points = pd.DataFrame(
        {
            "estimate": kmf.survival_function_.iloc[:, 0],
            "ci_low": ci.min(axis=1),
            "ci_high": ci.max(axis=1),
        }
    )
    return _curve_rows("os_km", group, time, event == 1, points, risk_times)


def cif_curves(
    data: pd.DataFrame,
    risk_times: Sequence[float],
    *,
    min_events: int = 5,
    conf_level: float = 0.95,
    tie_shift: float = 1e-6,
) -> list[dict]:
    """Aalen-Johansen curves of NRM (relapse competing) and of relapse (NRM competing),
    evaluated at day 0 and every distinct day of the data (the value in force after all
    events of that day: the tie separation of `cumulative_incidence` never shows)."""
    time = data["time"].to_numpy(dtype=float)
    cause = data["cause"].to_numpy(dtype=int)
    shifted = _separate_ties(time, cause, tie_shift) + AJ_ORIGIN
    days = np.unique(np.concatenate([[0.0], time]))
    rows = []
    for analysis, code, what in (
        ("cif_nrm", NRM, "non-relapse deaths"),
        ("cif_relapse", RELAPSE, "relapses/progressions"),
    ):
        n_ev = int((cause == code).sum())
        if n_ev < min_events:
            rows.append(
                _row(
                    analysis=analysis,
                    group="all",
                    kind=NOT_DRAWN,
                    n_at_risk=len(time),
                    n_events=n_ev,
                    note=f"too few events: {n_ev} {what} (< {min_events}): no curve",
                )
            )
            continue
        ajf = _aj_fit(shifted, cause, code, conf_level)
        est, ci = ajf.cumulative_density_, ajf.confidence_interval_
        pts = []
        for t in days:
            lo, hi = _bounds(_step(ci, t + AJ_ORIGIN))
            pts.append((t, float(_step(est, t + AJ_ORIGIN).iloc[0]), lo, hi))
        points = pd.DataFrame(pts, columns=["time", "estimate", "ci_low", "ci_high"])
        rows += _curve_rows(
            analysis, "all", time, cause == code, points.set_index("time"), risk_times
        )
    return rows


def survival_curves(
    events: pd.DataFrame,
    *,
    times: Sequence[float] = TIMES,
    min_events: int = 5,
    conf_level: float = 0.95,
    strata: pd.Series | None = None,
    strata_name: str = "",
) -> pd.DataFrame:
    """All rows of results/cohort/survival_curves.tsv (columns CURVE_COLUMNS): the OS
    curve (and per stratum), the NRM and relapse cumulative incidences, each with its
    numbers at risk at day 0 and at `times`; the same minimum of events as the table."""
    risk_times = sorted({0.0, *(float(t) for t in times)})
    os, _ = os_data(events)
    rows = km_curve(os, risk_times, min_events=min_events, conf_level=conf_level)
    if strata is not None:
        lab = os["patient"].map(strata)
        for g in sorted(lab.dropna().unique()):
            rows += km_curve(
                os[lab == g],
                risk_times,
                group=f"{strata_name}={g}",
                min_events=min_events,
                conf_level=conf_level,
            )
    cr, _ = competing_data(events)
    rows += cif_curves(cr, risk_times, min_events=min_events, conf_level=conf_level)
    out = pd.DataFrame(rows, columns=CURVE_COLUMNS)
    out["note"] = out["note"].fillna("")
    return out
