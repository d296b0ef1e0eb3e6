"""Each patient's marrow baseline and post-infusion marrow: the pair that "after vs
before infusion" analyses compare (composition shifts, HSPC pseudobulk).

Baseline: the latest marrow scRNA sample on or before infusion (day <= 0), as the
workflow's baseline elsewhere. Post-infusion: the first marrow scRNA sample whose day
lies in the configured window (default the day-28 restaging marrow). Only marrow rows
(samples.tsv `specimen`): blood or product samples are other tissues.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from marrowtox.samplesheet import is_marrow


def baseline_and_post(
    samples: pd.DataFrame, post_days: tuple[int, int], available: Iterable[str]
) -> pd.DataFrame:
    """patient -> columns baseline, post (sample ids; NaN where the patient has none)
    among the `available` samples."""
    keep = set(available)
    sc = samples[(samples["assay"] == "scrna") & is_marrow(samples)]
    sc = sc[sc["sample"].isin(keep)].sort_values(["patient", "day"])
    out = {}
    for patient, rows in sc.groupby("patient", sort=True):
        before = rows[rows["day"] <= 0]
        after = rows[(rows["day"] >= post_days[0]) & (rows["day"] <= post_days[1])]
        out[patient] = {
            "baseline": before["sample"].iloc[-1] if len(before) else np.nan,
            "post": after["sample"].iloc[0] if len(after) else np.nan,
        }
    return pd.DataFrame.from_dict(out, orient="index", columns=["baseline", "post"])
