"""Flow cytometry beside the scRNA estimates: the patient report's "flow vs scRNA"
table and the flow columns of results/cohort/patients.tsv (docs/flow.md).

A flow row is compared with the marrow scRNA sample of the same patient and day, for
the populations of marrowtox.clinical.flow.COMPARABLE. CD45+ on the scRNA side: the
cell types other than erythroid (mature erythroid cells are CD45-negative) and
stromal cells, without unknown cells.
"""

from __future__ import annotations

import pandas as pd

from marrowtox.celltypes import HSPC_TYPES, T_TYPES, UNKNOWN
from marrowtox.clinical.flow import COMPARABLE, gate
from marrowtox.report import html
from marrowtox.report.inputs import Results, read_tsv

CD45_NEGATIVE_TYPES = frozenset({"erythroid", "stromal", UNKNOWN})
B_TYPES = frozenset({"pre-B/B"})


def scrna_estimates(res: Results, sample: str) -> dict[tuple[str, str], float | None]:
    """The scRNA value (%) of each comparable population in one sample (None: not
    measured, e.g. CAR calls not made)."""
    out: dict[tuple[str, str], float | None] = dict.fromkeys(COMPARABLE)
    cd45 = 0.0
    comp = read_tsv(res.composition(sample))
    if comp is not None:
        n = comp.set_index(comp["cell_type"].astype(str))["n_cells"].astype(float)
        cd45 = n[~n.index.isin(list(CD45_NEGATIVE_TYPES))].sum()
        if cd45 > 0:
            out[("CD34+", "CD45+")] = 100 * n[n.index.isin(list(HSPC_TYPES))].sum() / cd45
            out[("CD3+", "CD45+")] = 100 * n[n.index.isin(list(T_TYPES))].sum() / cd45
            out[("CD19+", "CD45+")] = 100 * n[n.index.isin(list(B_TYPES))].sum() / cd45
    cart = read_tsv(res.cart(sample))
    if cart is not None and str(cart.loc[0, "car_status"]) == "measured":
        v = cart.loc[0, "car_t_pct_of_t"]
        out[("CAR+", "CD3+")] = None if pd.isna(v) else float(v)
        if cd45 > 0:
            out[("CAR+", "CD45+")] = 100 * float(cart.loc[0, "n_car_t"]) / cd45
    return out


def comparison_rows(
    flow: pd.DataFrame | None, patient: str, sc: pd.DataFrame, res: Results
) -> list[dict[str, str]]:
    """One row per flow measurement of the patient: flow %, the scRNA estimate of the
    marrow sample of that day where one is defined, and why not otherwise."""
    if flow is None:
        return []
    rows = []
    by_day = {int(d): s for d, s in zip(sc["day"], sc["sample"], strict=True)}
    cache: dict[str, dict] = {}
    mine = flow[flow["patient"] == patient].sort_values(["day", "specimen", "parent"])
    for _, r in mine.iterrows():
        key = (gate(r["population"]), gate(r["parent"]))
        sample = by_day.get(int(r["day"]))
        est, note, what, shown = None, "", COMPARABLE.get(key, ""), ""
        if key not in COMPARABLE:
            note = "no scRNA counterpart defined for this population"
        elif r["specimen"] != "marrow":
            note = f"{r['specimen']}: not compared with marrow scRNA"
        elif sample is None:
            note = f"no marrow scRNA sample on day {int(r['day'])}"
        else:
            shown = sample
            est = cache.setdefault(sample, scrna_estimates(res, sample))[key]
            if est is None:
                note = "scRNA estimate not measured"
        rows.append(
            {
                "day": html.fmt(r["day"]),
                "specimen": str(r["specimen"]),
                "population": f"{r['population']} of {r['parent']}",
                "flow": (
                    html.fmt(r["percent"], 2)
                    if not pd.isna(r["percent"])
                    else f"{html.fmt(r['count'])} events"
                ),
                "source": str(r.get("percent_source", "given")),
                "scrna": html.fmt(est, 2) if est is not None else "",
                "sample": shown,
                "what": what,
                "note": note,
            }
        )
    return rows


def car_points(flow: pd.DataFrame | None, patient: str) -> list[tuple[int, float]]:
    """(day, %) of the patient's marrow CAR+ of CD3+ flow rows, for the timeline's CAR T
    panel (the same population as its scRNA CAR T % of T cells)."""
    if flow is None:
        return []
    mine = flow[(flow["patient"] == patient) & (flow["specimen"] == "marrow")]
    keep = pd.Series(
        [
            (gate(r["population"]), gate(r["parent"])) == ("CAR+", "CD3+")
            and not pd.isna(r["percent"])
            for _, r in mine.iterrows()
        ],
        index=mine.index,
        dtype=bool,
    )  # a boolean mask also when the patient has no flow row
    sel = mine[keep].sort_values("day")
    return [(int(d), float(v)) for d, v in zip(sel["day"], sel["percent"], strict=True)]


#: patients.tsv columns from flow.tsv: (column, population, parent, when)
COLUMNS = (
    ("flow_cd34_pct_baseline", "CD34+", "CD45+", "baseline"),
    ("flow_cd34_pct_post", "CD34+", "CD45+", "post"),
    ("flow_cart_pct_of_t", "CAR+", "CD3+", "post"),
)


def cohort_values(flow: pd.DataFrame | None, patient: str) -> tuple[dict, list[str]]:
    """The flow columns of one patient (marrow only: the last measurement on or before
    day 0 for baseline, the first after day 0 for post) and the reasons of the empty ones."""
    out: dict = {c: None for c, *_ in COLUMNS}
    if flow is None:
        return out, ["flow_*: no flow.tsv configured"]
    mine = flow[(flow["patient"] == patient) & (flow["specimen"] == "marrow")]
    if mine.empty:
        return out, ["flow_*: no marrow row in flow.tsv"]
    missing = []
    for col, pop, parent, when in COLUMNS:
        hit = mine[
            (mine["population"].map(gate) == gate(pop)) & (mine["parent"].map(gate) == gate(parent))
        ]
        hit = hit[hit["day"] <= 0] if when == "baseline" else hit[hit["day"] > 0]
        hit = hit.sort_values("day")
        if hit.empty:
            missing.append(
                f"{col}: no marrow {pop} of {parent} {'before' if when == 'baseline' else 'after'} infusion"
            )
            continue
        pick = hit.iloc[-1 if when == "baseline" else 0]
        v = pick["percent"]
        out[col] = None if pd.isna(v) else float(v)
        if out[col] is None:
            # a count without a percent: no parent count, or a parent gate of 0 events
            # (a percent of nothing is not callable, never 0%)
            missing.append(
                f"{col}: not callable, {pop} of {parent} on day {int(pick['day'])} has no "
                "percent (parent gate count 0 or not given)"
            )
    return out, missing
