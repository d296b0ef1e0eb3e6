"""Assemble the per-patient and cohort reports from the stable result files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from marrowtox.atomic import write_tsv
from marrowtox.report import html, plots
from marrowtox.report.cohort_table import build as build_table
from marrowtox.report.inputs import Results, read_tsv


def _h5ad_obs(path: Path) -> tuple[pd.DataFrame | None, np.ndarray | None]:
    if not path.is_file():
        return None, None
    import anndata as ad

    a = ad.read_h5ad(path, backed="r")
    obs = a.obs.copy()
    xy = np.asarray(a.obsm["X_umap"]) if "X_umap" in a.obsm else None
    a.file.close()
    return obs, xy


def write_cohort_table(samples: pd.DataFrame, results: str | Path, out: str | Path) -> pd.DataFrame:
    table = build_table(samples, Results(results))
    write_tsv(table, out)
    return table


def _label(patient: str, patients: list[str], pseudonymise: bool) -> str:
    return html.pseudonym(patient, patients) if pseudonymise else patient


def patient_report(
    patient: str,
    samples: pd.DataFrame,
    events: pd.DataFrame | None,
    results: str | Path,
    out: str | Path,
    pseudonymise: bool = False,
    products: dict | None = None,
) -> None:
    res = Results(results)
    patients = sorted(samples["patient"].unique())
    ps = samples[samples["patient"] == patient].sort_values(["day", "assay"])
    sc = ps[ps["assay"] == "scrna"]
    post = sc[sc["day"] > 0]
    post_s = post["sample"].iloc[0] if not post.empty else None
    cohort = read_tsv(res.patients)
    row = (
        cohort.set_index("patient").loc[patient]
        if cohort is not None and patient in set(cohort["patient"])
        else None
    )
    labs = read_tsv(res.labs)
    labs = labs[labs["patient"] == patient] if labs is not None else None
    labs = labs if labs is not None and not labs.empty else None
    ev = events[events["patient"] == patient] if events is not None else None
    scores = read_tsv(res.scores(patient))
    early = scores.loc[0, "icaht_early_grade"] if scores is not None else None
    comps = {s: c for s in sc["sample"] if (c := read_tsv(res.composition(s))) is not None}
    obs, xy = _h5ad_obs(res.h5ad(post_s)) if post_s else (None, None)
    cart = read_tsv(res.cart(post_s)) if post_s else None
    sig = read_tsv(res.signatures(post_s)) if post_s else None
    clones = read_tsv(res.clones(patient))
    figs = {
        "blood": html.data_uri(
            plots.blood_counts(labs, read_tsv(res.anc_grid(patient)), ev, early)
        ),
        "composition": html.data_uri(plots.composition(comps)),
        "umap": html.data_uri(plots.umap(obs, xy, f"{post_s}" if post_s else "")),
        "heatmap": html.data_uri(plots.inflammation_heatmap(sig)),
        "programs": html.data_uri(plots.cart_programs(cart)),
        "vaf": html.data_uri(plots.vaf_trajectories(clones)),
        "biomarkers": html.data_uri(plots.biomarker_trajectories(labs)),
    }
    cart_reason = "no post-infusion scRNA sample"
    if cart is not None:
        cart_reason = (
            str(cart.loc[0, "car_status"])
            if cart.loc[0, "car_status"] != "measured"
            else "no CAR T cells called"
        )
    has_dna = (ps["assay"] == "dna").any()
    ch_reason = "no DNA sample for this patient" if not has_dna else "no clone detected"
    summary = []
    if row is not None:

        def rank(col: str) -> str:
            vals = pd.to_numeric(cohort[col], errors="coerce")
            v = pd.to_numeric(pd.Series([row[col]]), errors="coerce").iloc[0]
            if pd.isna(v) or vals.notna().sum() < 2:
                return ""
            return f"cohort median {html.fmt(vals.median())} (rank {int((vals < v).sum()) + 1} of {int(vals.notna().sum())})"

        for label, col in (
            ("Marrow CAR T % (first post-infusion)", "bm_cart_pct"),
            ("CAR T % of T cells", "bm_cart_pct_of_t"),
            ("CAR T activation score", "cart_activation_score"),
            ("HSPC % baseline / post", None),
            ("HSPC IFN-gamma index", "hspc_ifng_index"),
            ("Early ICAHT grade", "icaht_early_grade"),
            ("Late ICAHT grade", "icaht_late_grade"),
            ("CAR-HEMATOTOX", None),
            ("EASIX baseline", "easix_baseline"),
            ("CRS / ICANS max grade", None),
            ("CHIP clones / max VAF / emergent", None),
        ):
            if col:
                summary.append((label, html.fmt(row[col]), rank(col)))
            elif label.startswith("HSPC %"):
                summary.append(
                    (
                        label,
                        f"{html.fmt(row['hspc_pct_baseline'])} / {html.fmt(row['hspc_pct_post'])}",
                        "",
                    )
                )
            elif label.startswith("CAR-HEMATOTOX"):
                v = (
                    ""
                    if pd.isna(row["car_hematotox_score"])
                    else f"{html.fmt(row['car_hematotox_score'])} ({row['car_hematotox_risk']} risk)"
                )
                summary.append((label, v, ""))
            elif label.startswith("CRS"):
                v = (
                    "not recorded (no row for this patient in events.tsv)"
                    if pd.isna(row["crs_max_grade"])
                    else f"{html.fmt(row['crs_max_grade'])} / {html.fmt(row['icans_max_grade'])}"
                )
                summary.append((label, v, ""))
            else:
                v = (
                    ""
                    if pd.isna(row["ch_n_chip"])
                    else (
                        f"{html.fmt(row['ch_n_chip'])} / {html.fmt(100 * float(row['ch_max_vaf']), 1)}% / "
                        f"{html.fmt(row['ch_n_emergent'])}"
                    )
                )
                summary.append((label, v, ""))
    clone_rows = []
    if clones is not None:
        for _, c in clones.sort_values(["gene", "day"]).iterrows():
            clone_rows.append(
                {
                    "gene": c["gene"],
                    "hgvsp": c.get("hgvsp", ""),
                    "sample": c["sample"],
                    "day": c["day"],
                    "vaf": html.fmt(100 * c["vaf"], 2),
                    "lod": html.fmt(100 * c["lod_vaf"], 2),
                    "ci": f"{html.fmt(100 * c['vaf_ci_low'], 2)}-{html.fmt(100 * c['vaf_ci_high'], 2)}",
                    "status": c["status"],
                }
            )
    iec = ""
    if scores is not None and scores.loc[0, "iec_hs_flag"] == "candidate":
        iec = str(scores.loc[0, "iec_hs_reason"])
    label = _label(patient, patients, pseudonymise)
    sample_list = [
        {"sample": s if not pseudonymise else f"{label} {a} day {d}", "assay": a, "day": d}
        for s, a, d in zip(ps["sample"], ps["assay"], ps["day"], strict=True)
    ]
    construct = ps["car_construct"].dropna().astype(str)
    product = (products or {}).get(patient) or (
        construct[construct != ""].iloc[0] if (construct != "").any() else "not recorded"
    )
    html.render_patient(
        out,
        patient=label,
        product=product,
        samples=sample_list,
        summary=summary,
        missing=(row["missing"] if row is not None and isinstance(row["missing"], str) else ""),
        figs=figs,
        cart_reason=cart_reason,
        ch_reason=ch_reason,
        clones=clone_rows,
        iec_hs=iec,
        footer=html.footer(res.provenance),
    )


def _spearman(df: pd.DataFrame, x: str, y: str) -> str:
    d = df[[x, y]].apply(pd.to_numeric, errors="coerce").dropna()
    if len(d) < 3:
        return f"n = {len(d)}: too few patients for a correlation"
    rho, p = spearmanr(d[x], d[y])
    return f"Spearman rho = {rho:.2f}, n = {len(d)}, p = {p:.3g}"


def cohort_report(
    samples: pd.DataFrame, results: str | Path, out: str | Path, pseudonymise: bool = False
) -> dict:
    res = Results(results)
    table = read_tsv(res.patients)
    patients = sorted(samples["patient"].unique())
    shown = table.copy()
    if pseudonymise:
        shown["patient"] = [html.pseudonym(p, patients) for p in shown["patient"]]
        shown["bm_cart_sample"] = ""
    stats = {
        "cart": _spearman(table, "bm_cart_pct", "icaht_early_grade"),
        "hspc": _spearman(table, "hspc_ifng_index", "days_anc_le_500_d0_30"),
    }
    figs = {
        "cart": html.data_uri(
            plots.scatter(
                shown,
                "bm_cart_pct",
                "icaht_early_grade",
                "marrow CAR T % of cells",
                "early ICAHT grade",
                "First post-infusion marrow",
            )
        ),
        "hspc": html.data_uri(
            plots.scatter(
                shown,
                "hspc_ifng_index",
                "days_anc_le_500_d0_30",
                "HSPC IFN-gamma index (baseline SDs)",
                "days ANC <= 500 (d0-30)",
                "HSPC inflammation vs neutropenia",
            )
        ),
    }
    t = table.dropna(subset=["car_hematotox_risk", "icaht_early_grade"])
    two = []
    for risk in ("high", "low"):
        sub = t[t["car_hematotox_risk"] == risk]
        two.append(
            (
                risk,
                int((sub["icaht_early_grade"].astype(float) >= 3).sum()),
                int((sub["icaht_early_grade"].astype(float) < 3).sum()),
            )
        )
    stats["risk"] = f"{len(t)} patients with both a risk group and an early grade."
    pre, post_, emergent = set(), set(), []
    for p in patients:
        clones = read_tsv(res.clones(p))
        if clones is None:
            continue
        det = clones[clones["detected"].astype(bool)]
        if (det["day"] <= 0).any():
            pre.add(p)
        if (det["day"] > 0).any():
            post_.add(p)
        for _, c in (
            clones[clones["status"] == "emergent"]
            .drop_duplicates(["chrom", "pos", "ref", "alt"])
            .iterrows()
        ):
            who = html.pseudonym(p, patients) if pseudonymise else p
            first = det[(det["chrom"] == c["chrom"]) & (det["pos"] == c["pos"])]["day"].min()
            emergent.append(f"{who}: {c['gene']} {c['hgvsp']} first detected on day {first}")
    n_dna = int(table["n_dna_samples"].gt(0).sum())
    stats["ch"] = (
        (
            f"Patients with DNA: {n_dna}. CH detected before infusion in {len(pre)}, after infusion in "
            f"{len(post_)}."
        )
        if n_dna
        else "not measured: no DNA samples"
    )
    rows = [[html.fmt(v) for v in r] for r in shown.itertuples(index=False)]
    html.render_cohort(
        out,
        n=len(table),
        columns=list(shown.columns),
        rows=rows,
        stats=stats,
        figs=figs,
        two_by_two=two,
        emergent=emergent,
        footer=html.footer(res.provenance),
    )
    return stats
