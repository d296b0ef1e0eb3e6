"""results/cohort/patients.tsv: one row per patient, every branch joined.

Empty cells mean "not measured"; the `missing` column says why for each of them, so
a reader never takes an absent value for a zero. A value computed from nothing
callable is missing too (issue 25 item 3): a DNA sample whose every target is below
`ch.min_depth` has no CH result, not "0 clones" (clinical-definitions.md, clonal
hematopoiesis: not detected is not the same as not callable); a CAR T % of no T cell,
an HSPC % of no cell and a flow percent of an empty parent gate are missing with why.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from marrowtox.layout import path as layout_path
from marrowtox.report.clone_cells import carrier_lineages
from marrowtox.report.clonotypes import COLUMNS as TCR_COLUMNS
from marrowtox.report.clonotypes import cohort_values as tcr_values
from marrowtox.report.flow import COLUMNS as FLOW_COLUMNS
from marrowtox.report.flow import cohort_values as flow_values
from marrowtox.report.inputs import Results, read_tsv
from marrowtox.samplesheet import is_marrow, is_sorted
from marrowtox.settings import section_defaults

#: the clinical scores copied from results/clinical/<patient>.scores.tsv
CLINICAL_COLUMNS = (
    "car_hematotox_score",
    "car_hematotox_risk",
    "icaht_early_grade",
    "icaht_late_grade",
    "days_anc_le_500_d0_30",
    "easix_baseline",
    "crs_max_grade",
    "icans_max_grade",
    "iec_hs_flag",
)
COLUMNS = [
    "patient",
    "n_scrna_samples",
    "n_dna_samples",
    "bm_cart_sample",
    "bm_cart_pct",
    "bm_cart_pct_of_t",
    "bm_cart_pct_of_t_est",
    "bm_cart_pct_of_t_lo",
    "bm_cart_pct_of_t_hi",
    "cart_activation_score",
    "hspc_pct_baseline",
    "hspc_pct_post",
    "hspc_ifng_index",
    "ch_n_chip",
    "ch_max_vaf",
    "ch_n_emergent",
    "ch_carrier_lineages",
    *TCR_COLUMNS,
    *CLINICAL_COLUMNS,
    *(c for c, *_ in FLOW_COLUMNS),
    "missing",
]
IFNG = "HALLMARK_INTERFERON_GAMMA_RESPONSE"
#: car_status values with CAR T numbers (marrowtox.cart.calling): "not detected" has
#: zero calls and an upper bound, not a missing value
MEASURED_STATES = ("measured", "not detected")


def _car_estimate(row: dict, cart: pd.Series, missing: list[str]) -> None:
    """bm_cart_pct_of_t_est/_lo/_hi from the sample's corrected estimate and interval
    (car_t_pct_of_t_est/_lo/_hi); a CAR T table of an older run has none of them."""
    for part in ("est", "lo", "hi"):
        v = cart.get(f"car_t_pct_of_t_{part}")
        row[f"bm_cart_pct_of_t_{part}"] = None if v is None or pd.isna(v) else float(v)
    hi = row["bm_cart_pct_of_t_hi"]
    if row["bm_cart_pct_of_t_est"] is None:
        missing.append(
            "bm_cart_pct_of_t_est: CAR not detected (no CAR UMI in any T/NK cell; "
            f"< {hi:.3g}% of T cells, 95% bound in bm_cart_pct_of_t_hi)"
            if hi is not None
            else "bm_cart_pct_of_t_est: no corrected estimate in the CAR T table"
        )


def ch_not_callable(lod: pd.DataFrame | None, min_depth: int) -> str | None:
    """Why a DNA sample has no callable target ('not callable, median depth 34 < 100;
    detection limit 25% VAF'), or None when some target is callable or the per-target
    table (results/ch/<sample>.lod.tsv) is absent (an older run: nothing to say)."""
    if lod is None or lod.empty:
        return None if lod is None else "not callable: no panel target in the LOD table"
    callable_ = lod["callable"].astype(str).str.lower().isin(["true", "1"])
    if callable_.any():
        return None
    depth = pd.to_numeric(lod["median_depth"], errors="coerce").median()
    lods = pd.to_numeric(lod["lod_vaf"], errors="coerce").dropna()
    limit = (
        f"detection limit {100 * lods.median():.3g}% VAF"
        if not lods.empty
        else "no detection limit (no reads)"
    )
    return f"not callable, median depth {depth:.0f} < {min_depth}; {limit}"


def _hspc_pct(res: Results, sample: str | None) -> float | None:
    if sample is None:
        return None
    comp = read_tsv(res.composition(sample))
    if comp is None or comp["n_cells"].sum() == 0:
        return None
    return float(
        100 * comp.loc[comp["is_hspc"].astype(bool), "n_cells"].sum() / comp["n_cells"].sum()
    )


def _carrier_lineages(
    row: dict, patient: str, sc: pd.DataFrame, res: Results, missing: list
) -> None:
    """ch_carrier_lineages: per clone, the lineages called carriers in marrow scRNA."""
    bam = sc["bam"] if "bam" in sc else pd.Series([], dtype=object)
    if not bam.fillna("").astype(str).str.strip().ne("").any():
        missing.append("ch_carrier_lineages: not genotyped (no scRNA sample with a bam)")
        return
    clones = read_tsv(res.clones(patient))
    cells = read_tsv(layout_path("clone_cells", res.root, patient=patient))
    row["ch_carrier_lineages"] = carrier_lineages(clones, cells)
    if row["ch_carrier_lineages"] is None:
        missing.append("ch_carrier_lineages: no clone genotyped in single cells")


def _post_marrow(row: dict, post_s: str, res: Results, missing: list[str]) -> None:
    """CAR T %, its corrected estimate, the activation score and the HSPC IFN-g index
    of the first post-infusion marrow sample."""
    row["bm_cart_sample"] = post_s
    cart = read_tsv(res.cart(post_s))
    if cart is None:
        missing.append(f"bm_cart_pct: no CAR T table for {post_s}")
    elif cart.loc[0, "car_status"] not in MEASURED_STATES:
        missing.append(f"bm_cart_pct: {cart.loc[0, 'car_status']}")
    else:
        row["bm_cart_pct"] = _number(cart.loc[0, "car_t_pct_of_cells"])
        row["bm_cart_pct_of_t"] = _number(cart.loc[0, "car_t_pct_of_t"])
        if row["bm_cart_pct"] is None:
            missing.append(f"bm_cart_pct: not callable, no cell in {post_s}")
        if row["bm_cart_pct_of_t"] is None:
            missing.append(f"bm_cart_pct_of_t: not callable, no T/NK cell in {post_s}")
        _car_estimate(row, cart.loc[0], missing)
        act = cart.loc[0].get("cart_score_activation")
        if act is None or pd.isna(act):
            missing.append("cart_activation_score: no CAR T cells called")
        else:
            row["cart_activation_score"] = act
    sig = read_tsv(res.signatures(post_s))
    if sig is not None:
        hit = sig[(sig["cell_type"] == "HSPC") & (sig["gene_set"] == IFNG)]
        if not hit.empty and not pd.isna(hit["index_vs_baseline"].iloc[0]):
            row["hspc_ifng_index"] = hit["index_vs_baseline"].iloc[0]
        else:
            missing.append("hspc_ifng_index: too few HSPC or no baseline marrow")


def _hspc_pcts(
    row: dict, base_s: str | None, post_s: str | None, res: Results, missing: list[str]
) -> None:
    row["hspc_pct_baseline"] = _hspc_pct(res, base_s)
    if base_s is None:
        missing.append("hspc_pct_baseline: no baseline marrow scRNA sample")
    elif row["hspc_pct_baseline"] is None:
        missing.append(f"hspc_pct_baseline: not callable, no annotated cell in {base_s}")
    row["hspc_pct_post"] = _hspc_pct(res, post_s)
    if post_s is not None and row["hspc_pct_post"] is None:
        missing.append(f"hspc_pct_post: not callable, no annotated cell in {post_s}")


def _ch_values(
    row: dict, patient: str, dna: pd.DataFrame, res: Results, min_depth: int, missing: list[str]
) -> list[str]:
    """ch_* from the callable whole-specimen DNA samples; returns those samples. A DNA
    sample that is not callable is named with its reason, never counted as 0 clones."""
    uncallable = {
        str(s): why
        for s in dna["sample"]
        if (why := ch_not_callable(read_tsv(res.lod(s)), min_depth)) is not None
    }
    callable_dna = [s for s in dna["sample"] if str(s) not in uncallable]
    if uncallable:
        missing.append(
            ("ch_*: " if not callable_dna else "ch_* (from the other DNA samples): ")
            + "; ".join(f"{s} {why}" for s, why in uncallable.items())
        )
    if dna.empty:
        missing.append("ch_*: no DNA sample")
    if not callable_dna:
        return callable_dna  # every DNA sample not callable: ch_* stay missing
    calls = [c for s in callable_dna if (c := read_tsv(res.calls(s))) is not None]
    if not calls:
        missing.append("ch_*: CH calls not available")
        return callable_dna
    allc = pd.concat(calls)
    chip = allc[allc["chip"].fillna("").astype(str).isin(["CHIP", "low-VAF CH"])]
    row["ch_n_chip"] = int(chip.drop_duplicates(["chrom", "pos", "ref", "alt"]).shape[0])
    row["ch_max_vaf"] = float(chip["vaf"].max()) if not chip.empty else 0.0
    clones = read_tsv(res.clones(patient))
    if clones is not None and "status" in clones:
        row["ch_n_emergent"] = int(
            clones.loc[clones["status"] == "emergent"]
            .drop_duplicates(["chrom", "pos", "ref", "alt"])
            .shape[0]
        )
    else:
        missing.append("ch_n_emergent: no clone table")
    return callable_dna


def _clinical_values(row: dict, patient: str, res: Results, missing: list[str]) -> None:
    scores = read_tsv(res.scores(patient))
    if scores is None:
        missing.append("clinical: no clinical scores")
        return
    s = scores.iloc[0]
    for c in CLINICAL_COLUMNS:
        v = s.get(c)
        row[c] = None if v is None or (isinstance(v, float) and np.isnan(v)) else v
    if s.get("status") not in (None, "complete") and not pd.isna(s.get("status")):
        missing.append(f"clinical: {s['status']}")


def patient_row(
    patient: str,
    samples: pd.DataFrame,
    res: Results,
    flow: pd.DataFrame | None = None,
    min_depth: int | None = None,
) -> dict:
    """One patient's row; `min_depth`: config ch.min_depth (schema default when None),
    only quoted in the reason of a not-callable DNA sample. Every value left empty gets
    its reason in `missing`."""
    if min_depth is None:
        min_depth = int(section_defaults("ch")["min_depth"])
    row: dict = dict.fromkeys(COLUMNS)
    row["patient"] = patient
    missing: list[str] = []
    ps = samples[samples["patient"] == patient].sort_values("day")
    sc = ps[ps["assay"] == "scrna"]
    dna = ps[ps["assay"] == "dna"]
    row["n_scrna_samples"], row["n_dna_samples"] = len(sc), len(dna)
    # only marrow samples are the marrow baseline and marrow time points: a day-0 CAR T
    # product or a blood sample is not marrow (samples.tsv specimen; issue 25 item 1)
    bm = sc[is_marrow(sc)]
    base, post = bm[bm["day"] <= 0], bm[bm["day"] > 0]
    base_s = base["sample"].iloc[-1] if not base.empty else None
    post_s = post["sample"].iloc[0] if not post.empty else None
    if post_s is None:
        missing.append("bm_cart_pct: no post-infusion marrow scRNA sample")
    else:
        _post_marrow(row, post_s, res, missing)
    _hspc_pcts(row, base_s, post_s, res, missing)
    # ch_* are of the whole specimens: a sorted fraction's VAF (a CD14 sort holds a
    # myeloid clone at a higher VAF) is the lineage table's (rule ch_lineage)
    if _ch_values(row, patient, dna[~is_sorted(dna)], res, min_depth, missing):
        _carrier_lineages(row, patient, sc, res, missing)
    tcr, why_tcr = tcr_values(patient, samples, res)
    row.update(tcr)
    missing += why_tcr
    _clinical_values(row, patient, res, missing)
    values, why = flow_values(flow, patient)
    row.update(values)
    missing += why
    row["missing"] = "; ".join(missing)
    return row


def build(
    samples: pd.DataFrame,
    res: Results,
    flow: pd.DataFrame | None = None,
    min_depth: int | None = None,
) -> pd.DataFrame:
    """flow: the checked flow.tsv (marrowtox.clinical.flow.load_flow), or None;
    min_depth: config ch.min_depth (patient_row)."""
    patients = sorted(samples["patient"].unique())
    return pd.DataFrame(
        [patient_row(p, samples, res, flow, min_depth) for p in patients], columns=COLUMNS
    )


def _number(v: object) -> float | None:
    """A table cell as a float, None when empty (NaN is "not measured", never 0)."""
    return None if v is None or pd.isna(v) else float(v)
