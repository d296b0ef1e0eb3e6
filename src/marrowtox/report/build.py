"""Assemble the per-patient and cohort reports from the stable result files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from marrowtox.atomic import write_tsv
from marrowtox.report import flags, html, marrow, plots, timeline
from marrowtox.report.cohort_table import build as build_table
from marrowtox.report.inputs import Results, read_tsv
from marrowtox.report.names import Names


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


def _summary(row: pd.Series | None, cohort: pd.DataFrame | None) -> list[tuple[str, str, str]]:
    """Summary rows (label, value, place in the cohort) from the cohort table row."""
    summary: list[tuple[str, str, str]] = []
    if row is None or cohort is None:
        return summary

    def rank(col: str) -> str:
        vals = pd.to_numeric(cohort[col], errors="coerce")
        v = pd.to_numeric(pd.Series([row[col]]), errors="coerce").iloc[0]
        if pd.isna(v) or vals.notna().sum() < 2:
            return ""
        return f"cohort median {html.fmt(vals.median())} (rank {int((vals < v).sum()) + 1} of {int(vals.notna().sum())})"

    for label, col in (
        ("Marrow CAR T % of cells (first post-infusion)", "bm_cart_pct"),
        ("CAR T % of T cells (first post-infusion)", "bm_cart_pct_of_t"),
        ("CAR T activation score", "cart_activation_score"),
        ("HSPC % baseline / first post-infusion", None),
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
            b, a = html.fmt(row["hspc_pct_baseline"]), html.fmt(row["hspc_pct_post"])
            v = "" if not (b or a) else f"{b or 'not measured'} / {a or 'not measured'}"
            summary.append((label, v, ""))
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
    return summary


def _clone_rows(clones: pd.DataFrame | None, names: Names) -> list[dict[str, str]]:
    rows = []
    if clones is None:
        return rows
    for _, c in clones.sort_values(["gene", "pos", "day"]).iterrows():
        detected = str(c["detected"]).lower() == "true"
        rows.append(
            {
                "gene": c["gene"],
                "hgvsp": c.get("hgvsp", ""),
                "sample": names.sample(c["sample"]),
                "day": html.fmt(c["day"]),
                "depth": html.fmt(c["depth"]),
                "alt": html.fmt(c["alt_count"]),
                "vaf": html.fmt(100 * c["vaf"], 2),
                "lod": html.fmt(100 * c["lod_vaf"], 2),
                "ci": f"{html.fmt(100 * c['vaf_ci_low'], 2)}-{html.fmt(100 * c['vaf_ci_high'], 2)}",
                "detected": "yes" if detected else "no (below LOD)",
                "status": c["status"],
            }
        )
    return rows


def _lod_range(res: Results, dna: list[str]) -> str:
    """'per-target LOD 0.71-0.75% VAF' over a patient's DNA samples ('' if unknown)."""
    vals = [t["lod_vaf"] for s in dna if (t := read_tsv(res.lod(s))) is not None]
    lods = pd.concat(vals) if vals else pd.Series(dtype=float)
    lods = pd.to_numeric(lods, errors="coerce").dropna()
    if lods.empty:
        return ""
    return f"per-target LOD {100 * lods.min():.2f}-{100 * lods.max():.2f}% VAF"


def patient_report(
    patient: str,
    samples: pd.DataFrame,
    events: pd.DataFrame | None,
    results: str | Path,
    out: str | Path,
    pseudonymise: bool = False,
    products: dict | None = None,
) -> None:
    """One patient's self-contained HTML report.

    Every marrow timepoint is shown (not only the first after infusion), and with
    `pseudonymise` every id is replaced through one Names object, in the HTML and in
    the text drawn into figures alike.
    """
    res = Results(results)
    names = Names(samples, pseudonymise)
    label = names.patient(patient)
    ps = samples[samples["patient"] == patient].sort_values(["day", "assay"])
    sc = ps[ps["assay"] == "scrna"]
    dna = ps[ps["assay"] == "dna"]
    has_dna = not dna.empty
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
    srow = scores.iloc[0] if scores is not None and not scores.empty else None
    clones = read_tsv(res.clones(patient)) if has_dna else None
    tps = marrow.timepoints(sc, res, names)
    comps = {s: c for s in sc["sample"] if (c := read_tsv(res.composition(s))) is not None}
    sigs = {s: read_tsv(res.signatures(s)) for s in sc["sample"]}
    carts = [(names.timepoint(s), read_tsv(res.cart(s))) for s in sc["sample"]]
    umap_panels = []
    for s in sc["sample"]:
        obs, xy = _h5ad_obs(res.h5ad(s))
        umap_panels.append((names.timepoint(s), obs, xy))
    marrow_days = [
        (int(d), "/".join(dict.fromkeys(str(t) for t in g["timepoint"])))
        for d, g in ps.groupby("day", sort=True)
    ]
    tl = timeline.TimelineData(
        title=f"{label}: blood counts, events, marrow and clones (day 0 = CAR T infusion)",
        labs=labs,
        grid=read_tsv(res.anc_grid(patient)),
        events=ev if ev is not None and not ev.empty else None,
        scores=srow,
        marrow=tps,
        clones=clones,
        marrow_days=marrow_days,
        has_dna=has_dna,
    )
    has_any = labs is not None or (ev is not None and not ev.empty) or not ps.empty
    sample_labels = {s: names.timepoint(s) for s in sc["sample"]}
    figs = {
        "timeline": html.data_uri(timeline.figure(tl)) if has_any else None,
        "composition": html.data_uri(plots.composition(comps, sample_labels)),
        "umap": html.data_uri(plots.umaps(umap_panels)),
        "heatmap": html.data_uri(plots.inflammation_heatmap(sigs, sample_labels)),
        "programs": html.data_uri(plots.cart_programs(carts)),
        "biomarkers": html.data_uri(plots.biomarker_trajectories(labs)),
    }
    cart_reason = "no scRNA sample"
    present = [c for _, c in carts if c is not None]
    if present:
        status = {str(c.loc[0, "car_status"]) for c in present}
        cart_reason = (
            "no CAR T cells called at any timepoint"
            if status == {"measured"}
            else "; ".join(sorted(status - {"measured"}))
        )
    ch_reason = "no DNA sample for this patient"
    if has_dna:
        lod = _lod_range(res, list(dna["sample"]))
        ch_reason = (
            "no clone table"
            if clones is None
            else f"no clone detected ({lod})"
            if lod
            else "no clone detected"
        )
    flag_list, quiet = flags.patient_flags(clones, scores, has_dna, names)
    icaht_notes = (
        "" if srow is None or pd.isna(srow.get("icaht_notes")) else str(srow["icaht_notes"])
    )
    comp_cols, comp_rows = marrow.composition_table(comps, names)
    sample_list = [
        # a pseudonymised label already says assay and day
        {"sample": names.sample(s), "detail": "" if pseudonymise else f"{a}, day {d}"}
        for s, a, d in zip(ps["sample"], ps["assay"], ps["day"], strict=True)
    ]
    construct = ps["car_construct"].dropna().astype(str)
    product = (products or {}).get(patient) or (
        construct[construct != ""].iloc[0] if (construct != "").any() else "not recorded"
    )
    scrub = names.scrub
    html.render_patient(
        out,
        patient=label,
        product=scrub(product),
        samples=sample_list,
        summary=_summary(row, cohort),
        missing=scrub(row["missing"])
        if row is not None and isinstance(row["missing"], str)
        else "",
        figs=figs,
        flags=[flags.Flag(f.level, scrub(f.title), scrub(f.text)) for f in flag_list],
        quiet=[scrub(q) for q in quiet],
        icaht_notes=scrub(icaht_notes),
        marrow=[{k: scrub(v) for k, v in r.items()} for r in marrow.timepoint_rows(tps)],
        comp_cols=comp_cols,
        comp_rows=comp_rows,
        qc=[{k: scrub(v) for k, v in r.items()} for r in marrow.qc_rows(sc, res, names)],
        cart_reason=scrub(cart_reason),
        ch_reason=scrub(ch_reason),
        clones=_clone_rows(clones, names),
        footer=html.footer(res.provenance),
    )


def _spearman(df: pd.DataFrame, x: str, y: str) -> str:
    d = df[[x, y]].apply(pd.to_numeric, errors="coerce").dropna()
    if len(d) < 3:
        return f"n = {len(d)}: too few patients for a correlation"
    from scipy.stats import spearmanr  # ~1 s to import: only the cohort report needs it

    rho, p = spearmanr(d[x], d[y])
    return f"Spearman rho = {rho:.2f}, n = {len(d)}, p = {p:.3g}"


def cohort_report(
    samples: pd.DataFrame, results: str | Path, out: str | Path, pseudonymise: bool = False
) -> dict:
    res = Results(results)
    table = read_tsv(res.patients)
    patients = sorted(samples["patient"].unique())
    names = Names(samples, pseudonymise)
    shown = table.copy()
    if pseudonymise:
        shown["patient"] = [names.patient(p) for p in shown["patient"]]
        shown["bm_cart_sample"] = ""
        # free text (the `missing` column names samples): every id replaced
        for c in shown.columns:
            if shown[c].dtype == object:
                shown[c] = [v if not isinstance(v, str) else names.scrub(v) for v in shown[c]]
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
            who = names.patient(p)
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
    from marrowtox.report.cohort_stats_section import append_to  # issue 19

    append_to(out, results)
    return stats
