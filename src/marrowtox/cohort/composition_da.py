"""Differential abundance of marrow cell types: which populations shift after infusion
and with hematotoxicity, with the patient sample (not the cell) as the unit.

Three comparisons, each by propeller (marrowtox.cohort.propeller):
- post_vs_baseline: the post-infusion marrow (first sample in the `post_days` window)
  against the patient's marrow baseline (latest marrow sample on or before day 0),
  paired by patient (design ~ patient + time);
- icaht_early: post-infusion marrow of early ICAHT grade >= `icaht_high_grade` against
  the lower grades (design ~ group);
- car_hematotox: post-infusion marrow of CAR-HEMATOTOX high against low risk.
Only marrow samples (samples.tsv `specimen`; blood and product are other tissues). A
comparison with fewer than `min_samples` samples (or pairs) in a group is not tested:
its rows say "too few samples" and carry no p-value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from marrowtox.cohort.propeller import LinearTest, linear_test, transform_proportions
from marrowtox.errors import InputError
from marrowtox.marrow_pairs import baseline_and_post

COLUMNS = [
    "comparison", "contrast", "cell_type", "group_a", "group_b", "n_a", "n_b",
    "prop_a", "prop_b", "prop_ratio", "effect", "ci_low", "ci_high", "t", "df",
    "p_value", "fdr", "transform", "status",
]  # fmt: skip
#: a label that is not a cell type (cells the annotation could not place): counted in
#: the totals, never tested
UNKNOWN = "unknown"


@dataclass(frozen=True)
class DASettings:
    """config cohort.composition_da (workflow/schemas/config.cohort.schema.yaml)."""

    min_samples: int
    min_cells: int
    post_days: tuple[int, int]
    icaht_high_grade: int
    transform: str
    moderate: bool
    conf_level: float


@dataclass(frozen=True)
class DAInputs:
    """Per-sample composition tables, the sample sheet and the clinical scores."""

    compositions: list[Path]
    samples: pd.DataFrame  # marrowtox.samplesheet.load_samples
    scores: pd.DataFrame | None  # results/clinical/cohort.tsv, or None without labs
    settings: DASettings
    notes: list[str] = field(default_factory=list)


def read_counts(paths: list[Path]) -> pd.DataFrame:
    """Samples x cell types cell counts from results/singlecell/{sample}.composition.tsv."""
    frames = []
    for p in paths:
        df = pd.read_csv(p, sep="\t")
        missing = {"sample", "cell_type", "n_cells"} - set(df.columns)
        if missing:
            raise InputError(
                f"missing columns {sorted(missing)}", file=p, expected="sample, cell_type, n_cells"
            )
        frames.append(df)
    long = pd.concat(frames, ignore_index=True)
    return long.pivot_table(
        index="sample", columns="cell_type", values="n_cells", aggfunc="sum", fill_value=0
    )


def _testable(counts: pd.DataFrame) -> list[str]:
    return [c for c in counts.columns if c != UNKNOWN and counts[c].sum() > 0]


def _rows(
    name: str, contrast: str, groups: tuple[str, str], counts: pd.DataFrame,
    labels: pd.Series, design: pd.DataFrame, s: DASettings, n: tuple[int, int],
) -> pd.DataFrame:  # fmt: skip
    """One comparison's rows: group_b vs group_a per cell type, or the refusal."""
    types = [c for c in counts.columns if c != UNKNOWN]
    props = counts.div(counts.sum(axis=1), axis=0)
    a, b = (props.loc[labels.index[labels == g]] for g in groups)
    base = pd.DataFrame({
        "comparison": name, "contrast": contrast, "cell_type": types,
        "group_a": groups[0], "group_b": groups[1], "n_a": n[0], "n_b": n[1],
        "prop_a": [a[t].mean() if len(a) else np.nan for t in types],
        "prop_b": [b[t].mean() if len(b) else np.nan for t in types],
        "transform": s.transform,
    })  # fmt: skip
    with np.errstate(divide="ignore", invalid="ignore"):
        base["prop_ratio"] = base["prop_b"] / base["prop_a"]
    if min(n) < s.min_samples:
        unit = "pairs" if name == "post_vs_baseline" else "samples"
        base["status"] = (
            f"too few samples: {n[0]} and {n[1]} {unit} in {groups[0]} and {groups[1]} "
            f"(minimum {s.min_samples} per group); not tested"
        )
        return base.reindex(columns=COLUMNS)
    testable = _testable(counts.loc[labels.index])
    y = transform_proportions(counts.loc[labels.index], s.transform)[testable]
    res = linear_test(LinearTest(y, design.loc[labels.index], "effect", s.conf_level, s.moderate))
    base = base.merge(res, on="cell_type", how="left")
    tested = base["p_value"].notna()
    from statsmodels.stats.multitest import multipletests

    base.loc[tested, "fdr"] = multipletests(base.loc[tested, "p_value"], method="fdr_bh")[1]
    base["status"] = np.where(tested, "tested", "not tested: no cells of this type in any sample")
    return base.reindex(columns=COLUMNS)


def paired_comparison(counts: pd.DataFrame, pairs: pd.DataFrame, s: DASettings) -> pd.DataFrame:
    """Post-infusion vs baseline, paired by patient: design ~ patient + time."""
    both = pairs.dropna()
    ids = list(both["baseline"]) + list(both["post"])
    labels = pd.Series(["baseline"] * len(both) + ["post"] * len(both), index=ids)
    patients = list(both.index) * 2
    design = pd.get_dummies(pd.Series(patients, index=ids), drop_first=True, dtype=float)
    design.insert(0, "intercept", 1.0)
    design["effect"] = (labels == "post").astype(float)
    contrast = f"marrow day {s.post_days[0]} to {s.post_days[1]} vs baseline, paired by patient"
    return _rows(
        "post_vs_baseline", contrast, ("baseline", "post"), counts.loc[ids], labels, design, s,
        (len(both), len(both)),
    )  # fmt: skip


def group_comparison(
    name: str, contrast: str, counts: pd.DataFrame, groups: pd.Series, s: DASettings
) -> pd.DataFrame:
    """post-infusion marrow of group "high" vs "low" (index: sample): design ~ group."""
    design = pd.DataFrame(
        {"intercept": 1.0, "effect": (groups == "high").astype(float)}, index=groups.index
    )
    n = (int((groups == "low").sum()), int((groups == "high").sum()))
    return _rows(name, contrast, ("low", "high"), counts.loc[groups.index], groups, design, s, n)


def toxicity_groups(
    scores: pd.DataFrame, pairs: pd.DataFrame, s: DASettings
) -> dict[str, pd.Series]:
    """post sample -> "high"/"low" for early ICAHT and CAR-HEMATOTOX; patients without
    a post sample or without the score are left out (named in the log)."""
    sc = scores.set_index(scores["patient"].astype(str))
    post = pairs["post"].dropna()
    out = {}
    grade = pd.to_numeric(sc.get("icaht_early_grade"), errors="coerce")
    risk = sc.get("car_hematotox_risk")
    for name, values in (
        (
            "icaht_early",
            grade.map(
                lambda g: np.nan if pd.isna(g) else ("high" if g >= s.icaht_high_grade else "low")
            ),
        ),
        ("car_hematotox", risk.where(risk.isin(["high", "low"])) if risk is not None else None),
    ):
        if values is None:
            out[name] = pd.Series(dtype=object)
            continue
        g = values.reindex(post.index).dropna()
        out[name] = pd.Series(g.to_numpy(), index=post.loc[g.index].to_numpy())
    return out


def composition_da(inp: DAInputs) -> pd.DataFrame:
    """The composition_da.tsv table: every comparison's rows (refusals included)."""
    s = inp.settings
    counts = read_counts(inp.compositions)
    small = counts.index[counts.sum(axis=1) < s.min_cells]
    for sample in small:
        inp.notes.append(
            f"{sample}: {int(counts.loc[sample].sum())} cells < min_cells {s.min_cells}; left out"
        )
    counts = counts.drop(index=small)
    pairs = baseline_and_post(inp.samples, s.post_days, counts.index)
    parts = [paired_comparison(counts, pairs, s)]
    contrasts = {
        "icaht_early": f"marrow day {s.post_days[0]} to {s.post_days[1]}: early ICAHT grade >= {s.icaht_high_grade} (high) vs below (low)",
        "car_hematotox": f"marrow day {s.post_days[0]} to {s.post_days[1]}: CAR-HEMATOTOX high vs low risk",
    }
    if inp.scores is None:
        groups = {k: pd.Series(dtype=object) for k in contrasts}
        inp.notes.append(
            "no clinical scores (labs/events not configured): toxicity groups not tested"
        )
    else:
        groups = toxicity_groups(inp.scores, pairs, s)
    for name, contrast in contrasts.items():
        parts.append(group_comparison(name, contrast, counts, groups[name], s))
    out = pd.concat(parts, ignore_index=True)
    return out.reindex(columns=COLUMNS)
