"""Marker x window x endpoint associations, and marrow-plasma vs blood-count correlations.

Every row of the table says how many patients it rests on (n_pos, n_neg), how many of
their values were censored (n_censored; n_recensored observed values tied into the
censored group, marrowtox.cohort.censored), and either its numbers or the reason it has
none: an AUC from 2 positives is noise that reads like a finding.

Statistics:
* AUC: sklearn.metrics.roc_auc_score on censoring-aware rank codes (ties count 1/2),
  equal to the Mann-Whitney U of the positives / (n_pos x n_neg).
* 95% interval: percentile bootstrap, stratified (positives and negatives resampled
  separately, so every resample has both classes; the default of pROC, Robin et al.,
  BMC Bioinformatics 2011;12:77), `n_boot` resamples from numpy's Generator seeded by
  (seed, a stable hash of the row), so a row's interval does not depend on which other
  rows the table has. The resampled AUCs are computed by a vectorised count of the same
  pairs (tests check it equals roc_auc_score on the original sample).
* Mann-Whitney: scipy.stats.mannwhitneyu, two-sided, method "auto" (exact without ties
  in small samples, else normal approximation with tie correction).
* q: Benjamini-Hochberg (J R Stat Soc B 1995;57:289) over all Mann-Whitney p of the table
  (statsmodels multipletests, fdr_bh). Fisher p at published cut-offs test a hypothesis
  fixed before the data (the cut-off's publication) and are reported unadjusted.
* Published cut-offs (CUTOFFS): 2x2 table, conditional maximum-likelihood odds ratio with
  its exact interval (scipy.stats.contingency.odds_ratio, as R's fisher.test reports)
  and the two-sided Fisher exact p.
* Spearman: scipy.stats.spearmanr on censoring-aware rank codes of both variables.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from marrowtox.cohort.censored import MARROW, RankCodes, censoring_note, rank_codes

#: Window name of per-patient score columns (e.g. easix_baseline from `marrowtox
#: clinical`, computed there in its own baseline window).
SCORES_WINDOW = "scores"
SCORES_SPECIMEN = "score"
#: Score columns used as markers when the scores table has them.
SCORE_MARKERS = ("easix_baseline", "m_easix_baseline", "s_easix_baseline", "car_hematotox_score")


@dataclass(frozen=True)
class Endpoint:
    name: str
    description: str
    source: str


#: Binary endpoints. CRS/ICANS: maximum ASTCT grade (Lee et al., BBMT 2019;25:625) of the
#: patient's events; a patient in events.tsv without a crs row has grade 0. IEC-HS: any
#: iec_hs event (Hines et al., TCT 2023;29:438.e1). ICAHT from the scores table (Rejeski
#: et al., Blood 2023;142:865). crs_icans_ge3 is the endpoint of the EASIX cut-off
#: (Korell et al., Front Immunol 2022; Pennisi et al., Blood Adv 2021).
ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("crs_ge2", "CRS grade >= 2", "Lee 2019 BBMT (ASTCT)"),
    Endpoint("crs_ge3", "CRS grade >= 3", "Lee 2019 BBMT (ASTCT)"),
    Endpoint("icans_ge2", "ICANS grade >= 2", "Lee 2019 BBMT (ASTCT)"),
    Endpoint("icans_ge3", "ICANS grade >= 3", "Lee 2019 BBMT (ASTCT)"),
    Endpoint("crs_icans_ge3", "CRS or ICANS grade >= 3", "Korell 2022 Front Immunol"),
    Endpoint("iec_hs", "IEC-HS flagged (iec_hs event)", "Hines 2023 TCT"),
    Endpoint("icaht_early_ge3", "early ICAHT grade >= 3", "Rejeski 2023 Blood"),
    Endpoint("icaht_late_ge2", "late ICAHT grade >= 2", "Rejeski 2023 Blood"),
)
#: (event, minimum grade) of the graded event endpoints
GRADED_ENDPOINTS: dict[str, tuple[tuple[str, int], ...]] = {
    "crs_ge2": (("crs", 2),),
    "crs_ge3": (("crs", 3),),
    "icans_ge2": (("icans", 2),),
    "icans_ge3": (("icans", 3),),
    "crs_icans_ge3": (("crs", 3), ("icans", 3)),
}
#: endpoint -> (scores column, minimum grade)
SCORE_ENDPOINTS: dict[str, tuple[str, int]] = {
    "icaht_early_ge3": ("icaht_early_grade", 3),
    "icaht_late_ge2": ("icaht_late_grade", 2),
}


@dataclass(frozen=True)
class Cutoff:
    marker: str
    window: str
    op: str  # ">" or ">="
    threshold: float
    endpoints: tuple[str, ...]
    source: str


#: Published cut-offs. No validated CAR T cut-off exists for the endothelial panel
#: (Moreno-Castano 2023), so none is listed for it.
CUTOFFS: tuple[Cutoff, ...] = (
    # EASIX > 4.67 before lymphodepletion: ~4-fold odds of grade >= 3 CRS/ICANS.
    Cutoff(
        "easix_baseline",
        SCORES_WINDOW,
        ">",
        4.67,
        ("crs_icans_ge3", "crs_ge3", "icans_ge3"),
        "Korell 2022 Front Immunol (EASIX > 4.67 before lymphodepletion)",
    ),
    Cutoff(
        "easix",
        "baseline",
        ">",
        4.67,
        ("crs_icans_ge3", "crs_ge3", "icans_ge3"),
        "Korell 2022 Front Immunol (EASIX > 4.67 before lymphodepletion)",
    ),
    # CAR-HEMATOTOX high risk >= 2 (defined for neutropenia duration; applied to early
    # ICAHT >= 3, the EHA/EBMT grade of the same group).
    Cutoff(
        "car_hematotox_score",
        SCORES_WINDOW,
        ">=",
        2,
        ("icaht_early_ge3",),
        "Rejeski 2021 Blood (CAR-HEMATOTOX high risk >= 2); Rejeski 2023 Blood (ICAHT)",
    ),
)

COLUMNS = [
    "marker",
    "specimen",
    "window",
    "endpoint",
    "n",
    "n_pos",
    "n_neg",
    "small_n",
    "n_censored",
    "n_recensored",
    "auc",
    "auc_ci_low",
    "auc_ci_high",
    "n_boot",
    "mw_u",
    "mw_p",
    "q_bh",
    "cutoff",
    "cutoff_source",
    "n_above_pos",
    "n_above_neg",
    "n_below_pos",
    "n_below_neg",
    "n_cutoff_unknown",
    "odds_ratio",
    "or_ci_low",
    "or_ci_high",
    "fisher_p",
    "censoring",
    "reason",
]
CORRELATION_COLUMNS = [
    "marker",
    "marker_specimen",
    "count",
    "count_specimen",
    "window",
    "n",
    "n_censored",
    "n_recensored",
    "rho",
    "p",
    "q_bh",
    "censoring",
    "reason",
]
#: Blood counts of the marrow-plasma correlations (whole blood).
BLOOD_COUNTS = ("anc", "plt", "hb")


def endpoint_table(events: pd.DataFrame | None, scores: pd.DataFrame | None) -> pd.DataFrame:
    """Per patient (index) 1.0 / 0.0 / NaN for every endpoint of ENDPOINTS.

    A patient not in events.tsv has no recorded events: event endpoints are missing
    (as in marrowtox.clinical.scores), never 0. Score endpoints are missing where the
    grade is missing or the scores table was not given.
    """
    patients: set[str] = set()
    if events is not None:
        patients |= set(events["patient"])
    if scores is not None:
        patients |= set(scores["patient"])
    idx = pd.Index(sorted(patients), name="patient")
    out = pd.DataFrame(np.nan, index=idx, columns=[e.name for e in ENDPOINTS])
    if events is not None:
        in_events = idx.isin(sorted(set(events["patient"])))
        grades = {}
        for ev in ("crs", "icans"):
            g = events.loc[events["event"] == ev].dropna(subset=["grade"])
            grades[ev] = (
                g.assign(grade=g["grade"].astype(int)).groupby("patient")["grade"].max()
                if not g.empty
                else pd.Series(dtype=int)
            )
        for name, rules in GRADED_ENDPOINTS.items():
            pos = np.zeros(len(idx), dtype=bool)
            for ev, minimum in rules:
                pos |= grades[ev].reindex(idx).fillna(0).to_numpy() >= minimum
            out.loc[in_events, name] = pos[in_events].astype(float)
        hs = set(events.loc[events["event"] == "iec_hs", "patient"])
        out.loc[in_events, "iec_hs"] = idx[in_events].isin(sorted(hs)).astype(float)
    if scores is not None:
        for name, (col, minimum) in SCORE_ENDPOINTS.items():
            if col not in scores.columns:
                continue
            g = scores[col].reindex(idx).to_numpy(dtype=float)
            out[name] = np.where(np.isnan(g), np.nan, (g >= minimum).astype(float))
    return out


def score_values(scores: pd.DataFrame, columns: tuple[str, ...] = SCORE_MARKERS) -> pd.DataFrame:
    """Score columns as window values (window 'scores', specimen 'score'), uncensored."""
    rows = []
    for col in columns:
        if col not in scores.columns:
            continue
        v = scores[col].to_numpy(dtype=float)
        ok = ~np.isnan(v)
        rows.append(
            pd.DataFrame(
                {
                    "patient": scores["patient"].to_numpy()[ok],
                    "window": SCORES_WINDOW,
                    "analyte": col,
                    "specimen": SCORES_SPECIMEN,
                    "day": np.nan,
                    "value": v[ok],
                    "censor": "",
                    "limit": np.nan,
                }
            )
        )
    if not rows:
        return pd.DataFrame(
            columns=["patient", "window", "analyte", "specimen", "day", "value", "censor", "limit"]
        )
    return pd.concat(rows, ignore_index=True)


def bootstrap_auc(
    codes_pos: np.ndarray, codes_neg: np.ndarray, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """AUC of `n_boot` stratified resamples, vectorised.

    Per resample b: AUC_b = sum over resampled positives i of (N_b[< c_i] + N_b[c_i] / 2)
    / (n_pos n_neg), with N_b the counts of each rank code among the resampled negatives:
    the concordant-pair count of roc_auc_score (ties 1/2), without a loop per resample.
    """
    n_pos, n_neg = len(codes_pos), len(codes_neg)
    k = int(max(codes_pos.max(), codes_neg.max())) + 1
    offset = (np.arange(n_boot, dtype=np.int64) * k)[:, None]
    pos = codes_pos[rng.integers(0, n_pos, size=(n_boot, n_pos))] + offset
    neg = codes_neg[rng.integers(0, n_neg, size=(n_boot, n_neg))] + offset
    counts = np.bincount(neg.ravel(), minlength=n_boot * k)
    # 2 x (negatives below k) + (negatives at k) = 2 x cumulative count - count at k
    twice = 2 * np.cumsum(counts.reshape(n_boot, k), axis=1).ravel() - counts
    return twice[pos.ravel()].reshape(n_boot, n_pos).sum(axis=1) / (2.0 * n_pos * n_neg)


def _row_rng(seed: int, key: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(key.encode("utf-8"))])


def bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q over the non-missing p; NaN stays NaN."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p, dtype=float)
    q = np.full(len(p), np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        q[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return q


def _cutoff_stats(
    sub: pd.DataFrame, y: np.ndarray, c: Cutoff, min_per_group: int, conf_level: float
) -> dict:
    from scipy.stats import fisher_exact
    from scipy.stats.contingency import odds_ratio

    from marrowtox.cohort.censored import cutoff_side

    side = cutoff_side(
        sub["value"].to_numpy(),
        sub["censor"].to_numpy(),
        sub["limit"].to_numpy(),
        c.op,
        c.threshold,
    )
    known = ~np.isnan(side)
    above, yk = side[known] == 1, y[known] == 1
    a, b = int((above & yk).sum()), int((above & ~yk).sum())
    cc, d = int((~above & yk).sum()), int((~above & ~yk).sum())
    out = {
        "cutoff": f"{c.op}{c.threshold:g}",
        "cutoff_source": c.source,
        "n_above_pos": a,
        "n_above_neg": b,
        "n_below_pos": cc,
        "n_below_neg": d,
        "n_cutoff_unknown": int((~known).sum()),
    }
    if a + cc < min_per_group or b + d < min_per_group:
        out["cutoff_reason"] = (
            f"cut-off: n_pos={a + cc}, n_neg={b + d} with a known side (< {min_per_group} per group)"
        )
        return out
    table = np.array([[a, b], [cc, d]])
    res = odds_ratio(table, kind="conditional")
    ci = res.confidence_interval(confidence_level=conf_level)
    out.update(
        odds_ratio=float(res.statistic),
        or_ci_low=float(ci.low),
        or_ci_high=float(ci.high),
        fisher_p=float(fisher_exact(table, alternative="two-sided").pvalue),
    )
    return out


def _row_data(
    g: pd.DataFrame, endpoints: pd.DataFrame, ep: str
) -> tuple[pd.DataFrame, np.ndarray, RankCodes]:
    """Values of one marker x window with a known endpoint `ep`, the endpoint (1/0) and
    their censoring-aware rank codes: what one association row rests on."""
    y_all = endpoints.loc[g["patient"], ep].to_numpy(dtype=float)
    ok = ~np.isnan(y_all)
    sub, y = g[ok], y_all[ok]
    rc = rank_codes(sub["value"].to_numpy(), sub["censor"].to_numpy(), sub["limit"].to_numpy())
    return sub, y, rc


def _rank_statistics(
    codes: np.ndarray,
    pos: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    quantiles: tuple[float, float],
) -> dict[str, float | int]:
    """AUC, Mann-Whitney U and p, and the bootstrap interval of the AUC, on the
    censoring-aware rank codes of one row (positives: `pos`)."""
    from scipy.stats import mannwhitneyu
    from sklearn.metrics import roc_auc_score

    mw = mannwhitneyu(codes[pos], codes[~pos], alternative="two-sided")
    boot = bootstrap_auc(codes[pos], codes[~pos], n_boot, rng)
    lo, hi = (float(v) for v in np.quantile(boot, quantiles))
    return {
        "auc": float(roc_auc_score(pos.astype(int), codes)),
        "mw_u": float(mw.statistic),
        "mw_p": float(mw.pvalue),
        "auc_ci_low": lo,
        "auc_ci_high": hi,
        "n_boot": n_boot,
    }


def _add_cutoff(
    row: dict[str, Any],
    sub: pd.DataFrame,
    y: np.ndarray,
    c: Cutoff,
    min_per_group: int,
    conf_level: float,
) -> list[str]:
    """The published cut-off's 2x2 statistics into `row`; returns the reasons it gave
    for what it could not compute."""
    cs = _cutoff_stats(sub, y, c, min_per_group, conf_level)
    reasons = [cs.pop("cutoff_reason")] if "cutoff_reason" in cs else []
    row.update(cs)
    if cs["n_cutoff_unknown"]:
        note = (
            f"cut-off: {cs['n_cutoff_unknown']} censored values whose side "
            "is unknown left out of the 2x2 table"
        )
        row["censoring"] = "; ".join(p for p in (row["censoring"], note) if p)
    return reasons


def associations(
    values: pd.DataFrame,
    endpoints: pd.DataFrame,
    *,
    seed: int,
    n_boot: int = 2000,
    min_per_group: int = 3,
    caveat_min_per_group: int = 10,
    conf_level: float = 0.95,
    cutoffs: tuple[Cutoff, ...] = CUTOFFS,
    window_order: tuple[str, ...] = (),
) -> pd.DataFrame:
    """One row per marker (analyte, specimen) x window x endpoint; see the module doc.

    `values`: window values (marrowtox.cohort.windows.window_values, plus score_values);
    `endpoints`: endpoint_table. Rows whose groups are smaller than `min_per_group` keep
    their counts and carry a reason; their statistics are missing, never a number. Rows
    with statistics but fewer than `caveat_min_per_group` positives or negatives are
    flagged `small_n`.
    """
    lo_q, hi_q = (1 - conf_level) / 2, 1 - (1 - conf_level) / 2
    cut_by = {(c.marker, c.window): c for c in cutoffs}
    worder = {w: i for i, w in enumerate(window_order)}
    eorder = [e.name for e in ENDPOINTS if e.name in endpoints.columns]
    rows = []
    groups = values.groupby(["analyte", "specimen", "window"], sort=False)
    keys = sorted(groups.groups, key=lambda k: (k[0], k[1], worder.get(k[2], len(worder)), k[2]))
    for analyte, specimen, window in keys:
        g = groups.get_group((analyte, specimen, window))
        g = g[g["patient"].isin(endpoints.index)]
        for ep in eorder:
            sub, y, rc = _row_data(g, endpoints, ep)
            pos = y == 1
            row = {c: np.nan for c in COLUMNS}
            row.update(
                marker=analyte,
                specimen=specimen,
                window=window,
                endpoint=ep,
                n=len(y),
                n_pos=int(pos.sum()),
                n_neg=int((~pos).sum()),
                n_censored=int((sub["censor"] != "").sum()),
                n_recensored=0,
                reason="",
            )
            reasons = []
            row["n_recensored"] = rc.n_recensored
            row["censoring"] = censoring_note(
                sub["censor"].to_numpy(), sub["limit"].to_numpy(), rc.n_recensored
            )
            if row["n_pos"] < min_per_group or row["n_neg"] < min_per_group:
                reasons.append(
                    f"n_pos={row['n_pos']}, n_neg={row['n_neg']} (< {min_per_group} per group)"
                )
            elif rc.codes is None:
                reasons.append(rc.reason)
            elif len(np.unique(rc.codes)) == 1:
                reasons.append("all values tie (e.g. all below the limit): no rank information")
            else:
                rng = _row_rng(seed, f"{analyte}|{specimen}|{window}|{ep}")
                row.update(_rank_statistics(rc.codes, pos, n_boot, rng, (lo_q, hi_q)))
            c = cut_by.get((analyte, window))
            if c is not None and ep in c.endpoints and specimen != MARROW:
                reasons += _add_cutoff(row, sub, y, c, min_per_group, conf_level)
            row["reason"] = "; ".join(reasons)
            rows.append(row)
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["q_bh"] = bh(out["mw_p"].to_numpy(dtype=float))
    out["small_n"] = out["auc"].notna() & (
        np.minimum(out["n_pos"], out["n_neg"]) < caveat_min_per_group
    )
    return out


def correlations(
    values: pd.DataFrame,
    *,
    counts: tuple[str, ...] = BLOOD_COUNTS,
    marker_specimen: str = MARROW,
    count_specimen: str = "whole_blood",
    min_pairs: int = 5,
    window_order: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Spearman rho between each marrow-plasma analyte and each blood count, per window
    (both values of one patient from the same window). BH q over the whole table."""
    from scipy.stats import spearmanr

    worder = {w: i for i, w in enumerate(window_order)}
    mar = values[values["specimen"] == marker_specimen]
    cnt = values[(values["specimen"] == count_specimen) & values["analyte"].isin(counts)]
    rows = []
    mgroups = mar.groupby(["analyte", "window"], sort=False)
    cgroups = dict(tuple(cnt.groupby(["analyte", "window"], sort=False)))
    keys = sorted(mgroups.groups, key=lambda k: (k[0], worder.get(k[1], len(worder)), k[1]))
    for analyte, window in keys:
        m = mgroups.get_group((analyte, window)).set_index("patient")
        for count in counts:
            row = {c: np.nan for c in CORRELATION_COLUMNS}
            row.update(
                marker=analyte,
                marker_specimen=marker_specimen,
                count=count,
                count_specimen=count_specimen,
                window=window,
                reason="",
            )
            cg = cgroups.get((count, window))
            if cg is None:
                row.update(
                    n=0, n_censored=0, n_recensored=0, censoring="", reason=f"no {count} in window"
                )
                rows.append(row)
                continue
            pair = m.join(cg.set_index("patient"), how="inner", lsuffix="_m", rsuffix="_c")
            pair = pair.sort_index()
            rm = rank_codes(
                pair["value_m"].to_numpy(), pair["censor_m"].to_numpy(), pair["limit_m"].to_numpy()
            )
            rcn = rank_codes(
                pair["value_c"].to_numpy(), pair["censor_c"].to_numpy(), pair["limit_c"].to_numpy()
            )
            row.update(
                n=len(pair),
                n_censored=rm.n_censored + rcn.n_censored,
                n_recensored=rm.n_recensored + rcn.n_recensored,
                censoring="; ".join(
                    f"{name}: {note}"
                    for name, note in (
                        (
                            analyte,
                            censoring_note(pair["censor_m"], pair["limit_m"], rm.n_recensored),
                        ),
                        (
                            count,
                            censoring_note(pair["censor_c"], pair["limit_c"], rcn.n_recensored),
                        ),
                    )
                    if note
                ),
            )
            if len(pair) < min_pairs:
                row["reason"] = f"n={len(pair)} pairs (< {min_pairs})"
            elif rm.codes is None or rcn.codes is None:
                row["reason"] = rm.reason or rcn.reason
            elif len(np.unique(rm.codes)) == 1 or len(np.unique(rcn.codes)) == 1:
                row["reason"] = "a variable is constant after censoring: no rank information"
            else:
                res = spearmanr(rm.codes, rcn.codes)
                row["rho"], row["p"] = float(res.statistic), float(res.pvalue)
            rows.append(row)
    out = pd.DataFrame(rows, columns=CORRELATION_COLUMNS)
    out["q_bh"] = bh(out["p"].to_numpy(dtype=float))
    return out


#: Columns of results/cohort/roc.tsv: one row per ROC point of each top marker's best row.
ROC_COLUMNS = [
    "rank",
    "marker",
    "specimen",
    "window",
    "endpoint",
    "auc",
    "auc_ci_low",
    "auc_ci_high",
    "q_bh",
    "n_pos",
    "n_neg",
    "small_n",
    "fpr",
    "tpr",
]


def top_rows(table: pd.DataFrame, n: int | None = None) -> pd.DataFrame:
    """Rows with an AUC, best first: BH q, then distance of the AUC from 0.5 (then names,
    so ties are ordered the same on every run)."""
    a = table[pd.to_numeric(table["auc"], errors="coerce").notna()].copy()
    if a.empty:
        return a
    a["_q"] = pd.to_numeric(a["q_bh"], errors="coerce")
    a["_d"] = -(pd.to_numeric(a["auc"], errors="coerce") - 0.5).abs()
    a = a.sort_values(["_q", "_d", "marker", "specimen", "window", "endpoint"], kind="stable")
    a = a.drop(columns=["_q", "_d"])
    return a if n is None else a.head(n)


def top_markers(table: pd.DataFrame, n: int) -> pd.DataFrame:
    """The best row (top_rows order) of each of the `n` best markers (analyte x
    specimen): one ROC curve per marker, not four windows of the same one."""
    return top_rows(table).drop_duplicates(["marker", "specimen"]).head(n)


def roc_table(
    values: pd.DataFrame, endpoints: pd.DataFrame, table: pd.DataFrame, n: int
) -> pd.DataFrame:
    """ROC points (sklearn.metrics.roc_curve on the row's censoring-aware rank codes, all
    thresholds kept) of the top `n` markers of the associations `table`; the area under
    these points is the row's AUC. Rank codes are not values, so no threshold column."""
    from sklearn.metrics import roc_curve

    parts = []
    for rank, r in enumerate(top_markers(table, n).itertuples(), start=1):
        sel = (
            (values["analyte"] == r.marker)
            & (values["specimen"] == r.specimen)
            & (values["window"] == r.window)
        )
        g = values[sel]
        g = g[g["patient"].isin(endpoints.index)]
        _, y, rc = _row_data(g, endpoints, r.endpoint)
        fpr, tpr, _ = roc_curve((y == 1).astype(int), rc.codes, drop_intermediate=False)
        part = pd.DataFrame({"fpr": fpr, "tpr": tpr})
        for c in ROC_COLUMNS:
            if c not in ("rank", "fpr", "tpr"):
                part[c] = getattr(r, c)
        part["rank"] = rank
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=ROC_COLUMNS)
    return pd.concat(parts, ignore_index=True)[ROC_COLUMNS]
