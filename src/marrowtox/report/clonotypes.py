"""T-cell receptor clonotypes in the reports (marrowtox.cart.clonotypes): the patient
report's expansion table and shared product clonotypes, and the cohort table's columns.

Missing is said with its reason: no vdj file, no post-infusion sample with one, too
few CAR T cells with a TCR; never a 0 or a share of nothing.
"""

from __future__ import annotations

import pandas as pd

from marrowtox.report.inputs import Results, read_tsv
from marrowtox.report.names import Names
from marrowtox.samplesheet import is_marrow

COLUMNS = [
    "tcr_sample",
    "tcr_expanded_car_clonotypes",
    "tcr_top_car_clone_share",
    "tcr_product_clones_shared",
]
#: Clonotypes listed per patient in the report (the largest CAR T clonotypes).
TOP_SHOWN = 10


def _vdj(samples: pd.DataFrame) -> pd.DataFrame:
    if "vdj" not in samples.columns:
        return samples.iloc[0:0]
    return samples[samples["vdj"].fillna("").astype(str) != ""]


def cohort_values(patient: str, samples: pd.DataFrame, res: Results) -> tuple[dict, list[str]]:
    """The tcr_* columns of patients.tsv and the reasons of those left empty. The sample
    is the first post-infusion whole-marrow sample with a vdj file, else the first
    post-infusion non-product sample with one (blood or a sort: named in tcr_sample)."""
    values: dict = dict.fromkeys(COLUMNS)
    ps = _vdj(samples[(samples["patient"] == patient) & (samples["assay"] == "scrna")])
    ps = ps.sort_values("day")
    if ps.empty:
        return values, ["tcr_*: no vdj file (T-cell receptors) in samples.tsv"]
    missing: list[str] = []
    post = ps[(ps["day"] > 0) & (ps["specimen"] != "product")]
    pick = post[is_marrow(post)] if is_marrow(post).any() else post
    clon = read_tsv(res.vdj_clonotypes(patient))
    if pick.empty:
        missing.append(
            "tcr_expanded_car_clonotypes, tcr_top_car_clone_share: no post-infusion sample with a vdj file"
        )
    else:
        s = str(pick["sample"].iloc[0])
        values["tcr_sample"] = s
        exp = read_tsv(res.vdj_expansion(s))
        car = exp[exp["group"] == "CAR T"] if exp is not None else None
        if car is None or car.empty:
            missing.append(f"tcr_*: no clonotype table for {s}")
        elif pd.isna(car["top_clone_share"].iloc[0]):
            missing.append(
                f"tcr_expanded_car_clonotypes, tcr_top_car_clone_share: {s} {car['note'].iloc[0]}"
            )
        else:
            values["tcr_expanded_car_clonotypes"] = int(car["expanded_clonotypes"].iloc[0])
            values["tcr_top_car_clone_share"] = float(car["top_clone_share"].iloc[0])
    product_days = ps.loc[ps["specimen"] == "product", "day"]
    later = ps[(ps["specimen"] != "product") & (ps["day"] >= product_days.min())]
    if product_days.empty:
        missing.append("tcr_product_clones_shared: no product sample with a vdj file")
    elif later.empty:
        missing.append("tcr_product_clones_shared: no sample with a vdj file after the product")
    elif clon is None:
        missing.append("tcr_product_clones_shared: no clonotype table")
    else:
        values["tcr_product_clones_shared"] = int(
            clon.loc[clon["shared_with_product"].astype(bool), "clone_id"].nunique()
        )
    return values, missing


def section(patient: str, samples: pd.DataFrame, res: Results, names: Names) -> dict:
    """The patient report's clonotype section: per sample and group the expansion, and
    the largest CAR T clonotypes with the samples they are in; `reason` when none."""
    ps = _vdj(samples[(samples["patient"] == patient) & (samples["assay"] == "scrna")])
    if ps.empty:
        return {"reason": "no vdj file (T-cell receptor contigs) in samples.tsv for this patient"}
    exp_rows = []
    for s, sp, fr, d in zip(ps["sample"], ps["specimen"], ps["fraction"], ps["day"], strict=True):
        exp = read_tsv(res.vdj_expansion(str(s)))
        what = sp if str(fr).startswith("whole_") else f"{sp}, sorted {fr}"
        if exp is None:
            exp_rows.append(
                {
                    "sample": names.sample(str(s)),
                    "what": what,
                    "day": str(d),
                    "note": "no clonotype table",
                }
            )
            continue
        for r in exp.itertuples(index=False):
            share = "" if pd.isna(r.top_clone_share) else f"{100 * float(r.top_clone_share):.1f}"
            exp_rows.append(
                {
                    "sample": names.sample(str(s)),
                    "what": what,
                    "day": str(d),
                    "group": str(r.group),
                    "t_cells": str(r.t_cells),
                    "with_tcr": str(r.with_tcr),
                    "clonotypes": "" if pd.isna(r.clonotypes) else str(int(r.clonotypes)),
                    "expanded": ""
                    if pd.isna(r.expanded_clonotypes)
                    else str(int(r.expanded_clonotypes)),
                    "top": share,
                    "clonality": "" if pd.isna(r.clonality) else f"{float(r.clonality):.2f}",
                    "note": "" if pd.isna(r.note) else str(r.note),
                }
            )
    clon = read_tsv(res.vdj_clonotypes(patient))
    top_rows = []
    if clon is not None and not clon.empty:
        car = (
            clon.groupby("clone_id")
            .agg(car=("car_cells", "sum"))
            .sort_values("car", ascending=False)
        )
        for cid in car.index[:TOP_SHOWN]:
            g = clon[clon["clone_id"] == cid]
            if int(g["car_cells"].sum()) == 0:
                continue
            top_rows.append(
                {
                    "clone": str(cid),
                    "cdr3": f"{g['tra_cdr3'].iloc[0]} / {g['trb_cdr3'].iloc[0]}",
                    "where": "; ".join(
                        f"{names.sample(str(s))}: {int(c)} CAR T ({'' if pd.isna(x) else f'{100 * float(x):.1f}%'}), {int(n)} non-CAR"
                        for s, c, x, n in zip(
                            g["sample"],
                            g["car_cells"],
                            g["car_share"],
                            g["non_car_cells"],
                            strict=True,
                        )
                    ),
                    "product": "yes" if bool(g["shared_with_product"].astype(bool).any()) else "no",
                }
            )
    return {"reason": "", "expansion": exp_rows, "top": top_rows}
