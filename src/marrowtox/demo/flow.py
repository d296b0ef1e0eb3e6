"""Demo flow.tsv: pre-gated flow populations consistent with the planted truth.

For every marrow scRNA sample of P01-P05 (P06 has no flow, so a patient without flow
shows as not measured): CD45+ events of the viable gate (a count), CD34+ % of CD45+
(HSC/MPP + LMPP among the CD45+ types of the sample's true cells), CD3+ of CD45+ (a
count: its percent comes from the CD45+ count) and, after infusion, CAR+ % of CD3+
(the planted CAR T cells among the true T cells). Each is a binomial draw over the
acquired events, so flow and scRNA agree within sampling error, as two measurements
of one aspirate would. P05 also has a blood CAR+ of CD3+ on day 14 (no marrow that
day: shown, not compared). Own random stream (21): nothing else in the demo changes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from marrowtox.atomic import write_tsv
from marrowtox.celltypes import HSPC_TYPES, T_TYPES
from marrowtox.demo.cohort import rng

STREAM = 21
CD45_EVENTS = 20_000  # CD45+ events acquired per marrow tube
NO_FLOW = ("P06",)
CD45_NEGATIVE = ("erythroid", "stromal")
BLOOD = ("P05", 14)  # a blood CAR+ of CD3+ measurement between the marrow timepoints


def rows_for(sample: pd.Series, cells: pd.DataFrame, r: np.random.Generator) -> list[dict]:
    """The flow rows of one marrow sample from its true (singlet, good-quality) cells."""
    c = cells[~cells["doublet"] & ~cells["low_quality"]]
    cd45 = c[~c["cell_type"].isin(CD45_NEGATIVE)]
    t = cd45[cd45["cell_type"].isin(list(T_TYPES))]
    p_cd34 = cd45["cell_type"].isin(list(HSPC_TYPES)).mean()
    base = {"patient": sample["patient"], "day": int(sample["day"]), "specimen": "marrow"}
    n_cd3 = int(r.binomial(CD45_EVENTS, len(t) / len(cd45)))
    out = [
        {**base, "population": "CD45+", "parent": "viable", "count": CD45_EVENTS},
        {
            **base,
            "population": "CD34+",
            "parent": "CD45+",
            "percent": round(100 * r.binomial(CD45_EVENTS, p_cd34) / CD45_EVENTS, 2),
        },
        {**base, "population": "CD3+", "parent": "CD45+", "count": n_cd3},
    ]
    if sample["day"] > 0 and n_cd3 > 0:
        p_car = float(t["car_t"].mean()) if len(t) else 0.0
        out.append(
            {
                **base,
                "population": "CAR+",
                "parent": "CD3+",
                "percent": round(100 * r.binomial(n_cd3, p_car) / n_cd3, 2),
            }
        )
    return out


def generate(out: Path, seed: int) -> Path:
    """Write out/flow.tsv from out/truth (written by the scRNA generator first)."""
    r = rng(seed, STREAM)
    truth = out / "truth"
    samples = pd.read_csv(truth / "scrna_samples.tsv", sep="\t")
    cells = pd.read_csv(truth / "cells.tsv", sep="\t", dtype={"barcode": str})
    rows: list[dict] = []
    for _, s in samples.sort_values(["patient", "day"]).iterrows():
        if s["patient"] in NO_FLOW:
            continue
        rows += rows_for(s, cells[cells["sample"] == s["sample"]], r)
    patient, day = BLOOD
    post = [x for x in rows if x["patient"] == patient and x["population"] == "CAR+"]
    if post:
        rows.append({**post[0], "day": day, "specimen": "blood"})
    columns = ["patient", "day", "specimen", "population", "parent", "count", "percent"]
    table = pd.DataFrame(rows, columns=columns)
    table["count"] = table["count"].astype("Int64")
    table = table.sort_values(["patient", "day", "specimen"], kind="stable")
    write_tsv(table, out / "flow.tsv")
    return out / "flow.tsv"
