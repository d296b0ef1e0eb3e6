"""Assemble the per-patient and cohort reports from the stable result files."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from marrowtox.atomic import write_tsv
from marrowtox.errors import InputError
from marrowtox.layout import path as layout_path
from marrowtox.report import clone_cells, clone_figure, flags, html, marrow, plots, timeline
from marrowtox.report import clonotypes as clonotype_report
from marrowtox.report import flow as flow_report
from marrowtox.report import lineage as lineage_report
from marrowtox.report import protein as protein_report
from marrowtox.report.cohort_picture import cohort_picture
from marrowtox.report.cohort_table import MEASURED_STATES, ch_not_callable
from marrowtox.report.cohort_table import build as build_table
from marrowtox.report.inputs import Results, read_tsv
from marrowtox.report.names import Names
from marrowtox.samplesheet import WHOLE_PREFIX, is_marrow, is_sorted
from marrowtox.settings import section_defaults
from marrowtox.stale import Stale, find_stale


def _h5ad_obs(path: Path) -> tuple[pd.DataFrame | None, np.ndarray | None]:
    if not path.is_file():
        return None, None
    import anndata as ad

    a = ad.read_h5ad(path, backed="r")
    obs = a.obs.copy()
    xy = np.asarray(a.obsm["X_umap"]) if "X_umap" in a.obsm else None
    a.file.close()
    return obs, xy


def write_cohort_table(
    samples: pd.DataFrame,
    results: str | Path,
    out: str | Path,
    out_scale: str | Path | None = None,
    flow: pd.DataFrame | None = None,
    min_depth: int | None = None,
    patients: Sequence[str] | None = None,
) -> pd.DataFrame:
    """patients.tsv and, with `out_scale`, the cohort-wide heatmap scale
    (results/cohort/heatmap_scale.tsv). The scale is computed here, once, because this
    job reads every sample's tables anyway: a patient report then reads one small file
    instead of every signature table of the cohort (which made the DAG and the report
    jobs grow with patients x samples). flow: the checked flow.tsv
    (marrowtox.clinical.flow.load_flow) or None; min_depth: config ch.min_depth, quoted
    for a DNA sample that is not callable. patients: only these rows (and their samples'
    part of the scale): one part of the table, joined by merge_cohort_parts."""
    if patients is not None:
        unknown = sorted(set(patients) - set(samples["patient"]))
        if unknown:
            raise InputError(
                f"patient(s) {', '.join(unknown)} not in the sample sheet",
                column="patient",
                expected="patients of the sample sheet",
            )
        samples = samples[samples["patient"].isin(set(patients))]
    res = Results(results)
    table = build_table(samples, res, flow, min_depth)
    write_tsv(table, out)
    if out_scale is not None:
        sc = samples.loc[samples["assay"] == "scrna", "sample"]
        sigs = [read_tsv(res.signatures(s)) for s in sc]
        lim = plots.hallmark_index_limit(sigs)
        scale = pd.DataFrame(
            {
                "hallmark_index_limit": [lim if lim is not None else np.nan],
                "n_samples": [sum(s is not None for s in sigs)],
            }
        )
        write_tsv(scale, out_scale)
    return table


def merge_cohort_parts(
    tables: Sequence[str | Path],
    scales: Sequence[str | Path],
    out: str | Path,
    out_scale: str | Path,
) -> pd.DataFrame:
    """patients.tsv and heatmap_scale.tsv from parts written by write_cohort_table with
    `patients` (one part per group of patients: report.table_part_patients).

    Why parts: every patient report reads the cohort table, and Snakemake scans the
    producing job's input list once per consumer, so one job reading every patient's
    files made `snakemake -n` grow with patients squared (bench/dag.py). The rows are
    per patient and the scale is a maximum, so joining the parts gives the same table
    and scale as one job over the cohort."""
    # as text, in the given order: the joined file is byte for byte the one-job table
    parts = [_read_part(t, "patient") for t in tables]
    table = pd.concat(parts, ignore_index=True)
    dup = table.loc[table["patient"].duplicated(), "patient"]
    if len(dup):
        raise InputError(
            f"patient {dup.iloc[0]} is in more than one part of the cohort table",
            column="patient",
            expected="each patient in one part",
        )
    parts_scale = pd.concat([_read_part(s, "hallmark_index_limit") for s in scales])
    limits = pd.to_numeric(parts_scale["hallmark_index_limit"].replace("", np.nan)).dropna()
    scale = pd.DataFrame(
        {
            "hallmark_index_limit": [limits.max() if len(limits) else np.nan],
            "n_samples": [int(pd.to_numeric(parts_scale["n_samples"]).sum())],
        }
    )
    write_tsv(table, out)
    write_tsv(scale, out_scale)
    return table


def _read_part(path: str | Path, column: str) -> pd.DataFrame:
    """One part file as text, with a clear error when it is missing or is not a part."""
    p = Path(path)
    part = pd.read_csv(p, sep="\t", dtype=str, keep_default_na=False) if p.is_file() else None
    if part is None or column not in part.columns:
        raise InputError(
            "not a part of the cohort table (missing or without the column)",
            file=path,
            column=column,
            expected="a file written by `marrowtox cohort-table --patients`",
        )
    return part


def rank_text(v: float, vals: pd.Series) -> str:
    """'2nd lowest of 6 (ties: 2nd-3rd)': the rank says its direction, and ties."""
    vals = pd.to_numeric(vals, errors="coerce").dropna()
    lo, hi = int((vals < v).sum()) + 1, int((vals <= v).sum())
    n = len(vals)

    def ordinal(k: int) -> str:
        return (
            f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"
        )

    if lo == n and hi == n:
        return f"highest of {n}"
    where = "lowest" if lo == 1 and hi == 1 else f"{ordinal(lo)} lowest"
    tie = f" (tied with {hi - lo} other{'s' if hi - lo > 1 else ''})" if hi > lo else ""
    return f"{where} of {n}{tie}"


def car_estimate_text(row: pd.Series) -> str:
    """'12.3 (9.8-15.1)' from bm_cart_pct_of_t_est/_lo/_hi; 'not detected (< 0.4)'
    without an estimate but with a bound; '' when the cohort table has neither."""

    def num(col: str) -> float | None:
        v = pd.to_numeric(pd.Series([row.get(col)]), errors="coerce").iloc[0]
        return None if pd.isna(v) else float(v)

    est, lo, hi = (num(f"bm_cart_pct_of_t_{p}") for p in ("est", "lo", "hi"))
    if est is not None and lo is not None and hi is not None:
        return f"{est:.1f} ({lo:.1f}-{hi:.1f})"
    if est is None and hi is not None:
        return f"not detected (< {hi:.2f}, 95% bound)"
    return ""


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
        return f"cohort median {html.fmt(vals.median())}; {rank_text(v, vals)}"

    for label, col in (
        ("Marrow CAR T % of cells (first post-infusion)", "bm_cart_pct"),
        ("CAR T % of T cells (first post-infusion)", "bm_cart_pct_of_t"),
        ("CAR T % of T cells, corrected (95% CI)", None),
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
        elif label.startswith("CAR T % of T cells, corrected"):
            summary.append((label, car_estimate_text(row), ""))
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


def with_baseline_basis(
    summary: list[tuple[str, str, str]], scores: pd.Series | None
) -> list[tuple[str, str, str]]:
    """The CAR-HEMATOTOX line says which days were "before lymphodepletion" and, without
    a lymphodepletion event, that its start was assumed (clinical-definitions.md,
    CAR-HEMATOTOX): a reader must know the score may include post-chemotherapy days."""
    basis = None if scores is None else scores.get("baseline_basis")
    if basis is None or pd.isna(basis) or not str(basis):
        return summary
    return [
        (label, value, str(basis) if label.startswith("CAR-HEMATOTOX") else note)
        for label, value, note in summary
    ]


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


def _clone_cells(
    clones: pd.DataFrame | None,
    table: pd.DataFrame | None,
    sc: pd.DataFrame,
    names: Names,
) -> tuple[list[dict], list[clone_cells.CloneCells]]:
    """Per clone: the fractions table and the figure beside its VAF trajectory."""
    if clones is None or clones.empty:
        return [], []
    labels = {str(s): names.timepoint(s) for s in sc["sample"]}
    blocks, ccs = [], []
    for _, g in clones.groupby(["chrom", "pos", "ref", "alt"], sort=True):
        cc = clone_cells.fractions(g.iloc[0], table, sc, names)
        ccs.append(cc)
        scrub = names.scrub
        blocks.append(
            {
                "label": cc.label,
                "fig": html.data_uri(clone_figure.clone_cells_figure(g, cc.data, labels, cc.label)),
                "columns": [scrub(c) for c in cc.columns],
                "genotyped": cc.genotyped,
                "rows": [(t, [(scrub(x), k) for x, k in cells]) for t, cells in cc.rows],
                "carriers": ", ".join(cc.carrier_types) or "none called",
                "car_t": [scrub(x) for x in cc.in_car_t],
            }
        )
    return blocks, ccs


def _sci(v: float) -> str:
    """A small rate in scientific notation; '' when missing (NaN)."""
    v = float(v)
    return "" if v != v else f"{v:.1e}"


def umi_qc_rows(res: Results, dna: list[str], names: Names) -> list[dict[str, str]]:
    """One row per UMI DNA sample (results/ch/<sample>.umi_qc.tsv, rule ch_consensus):
    molecules behind the calls, family sizes, duplicates, duplex yield and the error per
    base before and after consensus. Samples without UMIs have no row."""
    rows = []
    for s in dna:
        t = read_tsv(layout_path("umi_qc", res.root, sample=s))
        if t is None or t.empty:
            continue
        q = t.iloc[0]
        rows.append(
            {
                "sample": names.sample(s),
                "reads": html.fmt(q["reads"]),
                "molecules": html.fmt(q["molecules"]),
                "family": html.fmt(q["mean_family_size"], 1),
                "dup": html.fmt(100 * q["duplicate_rate"], 1),
                "duplex": html.fmt(100 * q["duplex_yield"], 1),
                "err_raw": _sci(q["error_raw_all"]),
                "err_cons": _sci(q["error_consensus"]),
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


def _specimens(samples: pd.DataFrame) -> list[str]:
    """The specimen column, or empty strings for a sheet read without it."""
    if "specimen" not in samples.columns:
        return [""] * len(samples)
    return ["" if pd.isna(v) else str(v) for v in samples["specimen"]]


def _fractions(samples: pd.DataFrame) -> list[str]:
    """The fraction column, or empty strings for a sheet read without it."""
    if "fraction" not in samples.columns:
        return [""] * len(samples)
    return ["" if pd.isna(v) else str(v) for v in samples["fraction"]]


def _sorted_label(fraction: str) -> str:
    """'sorted CD14' for a sorted fraction, '' for the whole specimen."""
    return "" if not fraction or fraction.startswith(WHOLE_PREFIX) else f"sorted {fraction}"


def specimen_rows(samples: pd.DataFrame, res: Results, names: Names) -> list[dict[str, object]]:
    """One line per blood/product/apheresis/sorted scRNA sample: what it is, its CAR+ %
    and the CAR T program scores of its CAR+ cells (for the product: the programs at
    infusion).
    These are analysed per sample but are not marrow, so they are named as what they are
    and never stand in for a marrow time point or baseline (issue 25 item 1)."""
    rows = []
    for s, sp, d, fr in zip(
        samples["sample"], _specimens(samples), samples["day"], _fractions(samples), strict=True
    ):
        # a sorted fraction says so: CAR+ % of a CD3+CAR+ sort is the sort's purity
        sp = ", ".join(x for x in (sp, _sorted_label(fr)) if x)
        cart = read_tsv(res.cart(s))
        pct_cells = pct_t = ""
        status = "no CAR T table"
        programs: list[tuple[str, str]] = []
        if cart is not None and not cart.empty:
            status = str(cart.loc[0, "car_status"])
            if status in MEASURED_STATES:
                c, t = cart.loc[0, "car_t_pct_of_cells"], cart.loc[0, "car_t_pct_of_t"]
                pct_cells = "not callable" if pd.isna(c) else f"{float(c):.2f}"
                pct_t = "not callable" if pd.isna(t) else f"{float(t):.2f}"
            programs = program_scores(cart.iloc[0])
        rows.append(
            {
                "sample": names.sample(s),
                "specimen": sp,
                "day": str(d),
                "car_pct_cells": pct_cells,
                "car_pct_t": pct_t,
                "status": status,
                "programs": programs,
                "programs_note": "" if programs else programs_missing(cart),
            }
        )
    return rows


def program_scores(cart: pd.Series) -> list[tuple[str, str]]:
    """(program, mean score of the sample's CAR+ cells) for each CAR T program of the
    cart table (cart_score_* columns, marrowtox.cart); empty when none was scored."""
    out = []
    for col, v in cart.items():
        name = str(col)
        if name.startswith("cart_score_") and not pd.isna(v):
            out.append((name.removeprefix("cart_score_").replace("_", " "), f"{float(v):.2f}"))
    return out


def programs_missing(cart: pd.DataFrame | None) -> str:
    """Why a sample has no program scores (the cart step's note when it wrote one)."""
    if cart is None or cart.empty:
        return "not measured: no CAR T table"
    note = cart.loc[0, "cart_scores_note"] if "cart_scores_note" in cart.columns else None
    if isinstance(note, str) and note.strip():
        return f"not measured: {note}"
    return "not measured: no CAR+ cells scored"


#: The patient report's figures: short name and the reason shown when one is not drawn.
FIGURE_REASONS = {
    "composition": ("marrow composition", "no scRNA marrow sample"),
    "umap": ("UMAP", "no annotated scRNA marrow sample"),
    "heatmap": ("inflammation scores", "no scRNA marrow sample with a baseline"),
    "programs": ("CAR T programs", None),
    "biomarkers": ("biomarkers", "no biomarker measurements"),
}


def figures_not_measured(
    figs: dict[str, str | None], cart_reason: str, labs: pd.DataFrame | None
) -> list[str]:
    """Every figure or biomarker panel with no data, as "what (why)": the report lists
    them on one "not measured" line instead of an empty panel each (issue 25 item 7)."""
    out = [
        f"{what} ({why or cart_reason})"
        for key, (what, why) in FIGURE_REASONS.items()
        if figs.get(key) is None
    ]
    missing = plots.unmeasured_biomarkers(labs)
    if figs.get("biomarkers") is not None and missing:
        out.append(f"biomarkers {', '.join(missing)} (no value in labs.tsv)")
    return out


def cohort_index_limit(samples: pd.DataFrame, res: Results) -> float | None:
    """Colour half-range of the inflammation heatmap over every scRNA sample of the
    cohort (one scale across patients: a quiet marrow stays pale next to an inflamed one).

    Read from results/cohort/heatmap_scale.tsv (written with the cohort table); computed
    from the signature tables only when that file is absent (a report made by hand
    before `cohort-table`)."""
    scale = read_tsv(layout_path("heatmap_scale", res.root))
    if scale is not None:
        v = scale["hallmark_index_limit"].iloc[0] if len(scale) else np.nan
        return None if pd.isna(v) else float(v)
    sc = samples.loc[samples["assay"] == "scrna", "sample"]
    return plots.hallmark_index_limit([read_tsv(res.signatures(s)) for s in sc])


@dataclass(frozen=True)
class _PatientData:
    """What one patient's report reads from the result files, read once."""

    ps: pd.DataFrame  # the patient's rows of the sample sheet
    all_sc: pd.DataFrame  # every scRNA sample, product and sorted ones too
    sc: pd.DataFrame  # marrow scRNA samples only
    dna: pd.DataFrame
    cohort: pd.DataFrame | None
    row: pd.Series | None  # the patient's row of patients.tsv
    labs: pd.DataFrame | None
    events: pd.DataFrame | None
    scores: pd.DataFrame | None
    srow: pd.Series | None
    clones: pd.DataFrame | None

    @property
    def has_dna(self) -> bool:
        return not self.dna.empty


def _patient_data(
    patient: str, samples: pd.DataFrame, events: pd.DataFrame | None, res: Results
) -> _PatientData:
    ps = samples[samples["patient"] == patient].sort_values(["day", "assay"])
    all_sc = ps[ps["assay"] == "scrna"]
    dna = ps[ps["assay"] == "dna"]
    cohort = read_tsv(res.patients)
    row = (
        cohort.set_index("patient").loc[patient]
        if cohort is not None and patient in set(cohort["patient"])
        else None
    )
    labs = read_tsv(res.labs)
    labs = labs[labs["patient"] == patient] if labs is not None else None
    ev = events[events["patient"] == patient] if events is not None else None
    scores = read_tsv(res.scores(patient))
    return _PatientData(
        ps=ps,
        all_sc=all_sc,
        # marrow sections show marrow only; blood and product samples get their own
        # lines (samples.tsv specimen; issue 25 item 1)
        sc=all_sc[is_marrow(all_sc)],
        dna=dna,
        cohort=cohort,
        row=row,
        labs=labs if labs is not None and not labs.empty else None,
        events=ev if ev is not None and not ev.empty else None,
        scores=scores,
        srow=scores.iloc[0] if scores is not None and not scores.empty else None,
        clones=read_tsv(res.clones(patient)) if not dna.empty else None,
    )


def _patient_figures(
    d: _PatientData, samples: pd.DataFrame, res: Results, names: Names, tl: timeline.TimelineData
) -> tuple[dict[str, str | None], dict[str, pd.DataFrame], list]:
    """The report's figures (data URIs, None when not drawn), the compositions and the
    CAR tables per marrow timepoint."""
    sc = d.sc
    comps = {s: c for s in sc["sample"] if (c := read_tsv(res.composition(s))) is not None}
    sigs = {s: read_tsv(res.signatures(s)) for s in sc["sample"]}
    carts = [(names.timepoint(s), read_tsv(res.cart(s))) for s in sc["sample"]]
    umap_panels = []
    for s in sc["sample"]:
        obs, xy = _h5ad_obs(res.h5ad(s))
        umap_panels.append((names.timepoint(s), obs, xy))
    has_any = d.labs is not None or d.events is not None or not d.ps.empty
    sample_labels = {s: names.timepoint(s) for s in sc["sample"]}
    figs = {
        "timeline": html.data_uri(timeline.figure(tl)) if has_any else None,
        "composition": html.data_uri(plots.composition(comps, sample_labels)),
        "umap": html.data_uri(plots.umaps(umap_panels)),
        "heatmap": html.data_uri(
            plots.inflammation_heatmap(sigs, sample_labels, cohort_index_limit(samples, res))
        ),
        "programs": html.data_uri(plots.cart_programs(carts)),
        "biomarkers": html.data_uri(
            plots.biomarker_trajectories(d.labs, timeline.day_limits(tl) if has_any else None)
        ),
    }
    return figs, comps, carts


def _cart_reason(carts: list) -> str:
    """Why the CAR T programs figure is empty, for the "not measured" line."""
    present = [c for _, c in carts if c is not None]
    if not present:
        return "no scRNA sample"
    status = {str(c.loc[0, "car_status"]) for c in present}
    if status == {"measured"}:
        return "no CAR T cells called at any timepoint"
    return "; ".join(sorted(status - {"measured"}))


def _ch_reason(d: _PatientData, res: Results, names: Names, min_depth: int | None) -> str:
    """Why the clone table is empty: no DNA, nothing callable (never "no clone"), or
    no clone above the limits of detection (cohort_table.ch_not_callable)."""
    if not d.has_dna:
        return "no DNA sample for this patient"
    depth = min_depth if min_depth is not None else section_defaults("ch")["min_depth"]
    uncallable = {
        s: why for s in d.dna["sample"] if (why := ch_not_callable(read_tsv(res.lod(s)), depth))
    }
    if len(uncallable) == len(d.dna):
        return "CH: " + "; ".join(f"{names.sample(s)} {why}" for s, why in uncallable.items())
    if d.clones is None:
        return "no clone table"
    lod = _lod_range(res, list(d.dna["sample"]))
    return f"no clone detected ({lod})" if lod else "no clone detected"


def _lineage_section(
    patient: str, d: _PatientData, res: Results, names: Names, cc_blocks: list[dict]
) -> dict:
    """The lineage of each clone from sorted DNA fractions; each clone-to-cell block
    gets its clone's call beside it."""
    sorted_dna = d.dna[is_sorted(d.dna)]
    lin_table = read_tsv(res.ch_lineage(patient)) if not sorted_dna.empty else None
    lin_calls = lineage_report.calls(lin_table)
    for b, (key, _) in zip(cc_blocks, _clone_keys(d.clones), strict=True):
        b["lineage"] = names.scrub(lin_calls.get(key, lineage_report.NO_FRACTIONS))
    if sorted_dna.empty:
        reason = lineage_report.NO_FRACTIONS
    elif lin_table is None or lin_table.empty:
        reason = "no clone of this patient to trace"
    else:
        reason = ""
    return {
        "rows": [_scrubbed(r, names) for r in lineage_report.rows(lin_table, names)],
        "calls": [names.scrub(c) for c in lineage_report.summary(lin_table)],
        "reason": reason,
    }


def _scrubbed(r: dict, names: Names) -> dict[str, str]:
    """A table row with every cell passed through the pseudonymiser (as text)."""
    return {k: names.scrub(v) for k, v in r.items()}


def _patient_flags(d: _PatientData, ccs: list, names: Names) -> tuple[list, list[str]]:
    flag_list, quiet = flags.patient_flags(d.clones, d.scores, d.has_dna, names)
    car_flags = flags.car_t_clone_flags(ccs)
    flag_list += car_flags
    if d.has_dna and d.clones is not None and not d.clones.empty and not car_flags:
        genotyped = any(c.variant is not None for c in ccs)
        quiet.append(
            "no clone called in CAR T cells"
            if genotyped
            else "clone in CAR T cells: not genotyped (no cell-barcoded BAM)"
        )
    return flag_list, quiet


def _sample_list(ps: pd.DataFrame, names: Names, pseudonymise: bool) -> list[dict[str, str]]:
    return [
        # a pseudonymised label already says assay and day
        {
            "sample": names.sample(s),
            "detail": ""
            if pseudonymise
            else ", ".join(x for x in (a, sp, _sorted_label(fr), f"day {d}") if x),
        }
        for s, a, sp, d, fr in zip(
            ps["sample"], ps["assay"], _specimens(ps), ps["day"], _fractions(ps), strict=True
        )
    ]


def _product_name(patient: str, ps: pd.DataFrame, products: dict | None) -> str:
    construct = ps["car_construct"].dropna().astype(str)
    return (products or {}).get(patient) or (
        construct[construct != ""].iloc[0] if (construct != "").any() else "not recorded"
    )


def _timeline_data(
    label: str, patient: str, d: _PatientData, tps: list, flow: pd.DataFrame | None, res: Results
) -> timeline.TimelineData:
    marrow_days = [
        (int(day), "/".join(dict.fromkeys(str(t) for t in g["timepoint"])))
        for day, g in d.ps[is_marrow(d.ps)].groupby("day", sort=True)
    ]
    return timeline.TimelineData(
        title=f"{label}: blood counts, events, marrow and clones (day 0 = CAR T infusion)",
        labs=d.labs,
        grid=read_tsv(res.anc_grid(patient)),
        events=d.events,
        scores=d.srow,
        marrow=tps,
        clones=d.clones,
        marrow_days=marrow_days,
        has_dna=d.has_dna,
        flow_car=flow_report.car_points(flow, patient),
    )


def patient_report(
    patient: str,
    samples: pd.DataFrame,
    events: pd.DataFrame | None,
    results: str | Path,
    out: str | Path,
    pseudonymise: bool = False,
    products: dict | None = None,
    flow: pd.DataFrame | None = None,
    min_depth: int | None = None,
) -> None:
    """One patient's self-contained HTML report (`flow`: the checked flow.tsv or None;
    `min_depth`: config ch.min_depth, quoted when no DNA sample is callable).

    `patient` is the patient id or the report's file stem (marrowtox.layout.report_stem:
    the pseudonym when pseudonymised, so the workflow's file name carries no id).

    Every marrow timepoint is shown (not only the first after infusion), and with
    `pseudonymise` every id is replaced through one Names object, in the HTML and in
    the text drawn into figures alike.
    """
    res = Results(results)
    names = Names(samples, pseudonymise)
    # the workflow names the report by its file stem (the pseudonym when pseudonymised)
    patient = names.patient_of_stem(patient)
    label = names.patient(patient)
    d = _patient_data(patient, samples, events, res)
    tps = marrow.timepoints(d.sc, res, names)
    tl = _timeline_data(label, patient, d, tps, flow, res)
    figs, comps, carts = _patient_figures(d, samples, res, names, tl)
    cc_table = read_tsv(layout_path("clone_cells", res.root, patient=patient))
    cc_blocks, ccs = _clone_cells(d.clones, cc_table, d.sc, names)
    lineage_section = _lineage_section(patient, d, res, names, cc_blocks)
    tcr = clonotype_report.section(patient, samples, res, names)
    tcr = {
        k: [_scrubbed(r, names) for r in v] if isinstance(v, list) else v for k, v in tcr.items()
    }
    flag_list, quiet = _patient_flags(d, ccs, names)
    srow, row = d.srow, d.row
    icaht_notes = (
        "" if srow is None or pd.isna(srow.get("icaht_notes")) else str(srow["icaht_notes"])
    )
    comp_cols, comp_rows = marrow.composition_table(comps, names)
    scrub = names.scrub
    html.render_patient(
        out,
        patient=label,
        product=scrub(_product_name(patient, d.ps, products)),
        samples=_sample_list(d.ps, names, pseudonymise),
        summary=with_baseline_basis(_summary(row, d.cohort), srow),
        missing=scrub(row["missing"])
        if row is not None and isinstance(row["missing"], str)
        else "",
        figs=figs,
        flags=[flags.Flag(f.level, scrub(f.title), scrub(f.text)) for f in flag_list],
        quiet=[scrub(q) for q in quiet],
        icaht_notes=scrub(icaht_notes),
        marrow=[_scrubbed(r, names) for r in marrow.timepoint_rows(tps)],
        # numbers stay numbers here: the template formats them
        other_specimens=[
            {k: scrub(v) if isinstance(v, str) else v for k, v in r.items()}
            for r in specimen_rows(d.all_sc[~is_marrow(d.all_sc)], res, names)
        ],
        comp_cols=comp_cols,
        comp_rows=comp_rows,
        # sample ids too, when pseudonymised
        flow=[_scrubbed(r, names) for r in flow_report.comparison_rows(flow, patient, d.sc, res)],
        protein=protein_report.protein_section(d.sc, res, names),
        flow_reason="no flow.tsv configured"
        if flow is None
        else "no row for this patient in flow.tsv",
        # QC of every scRNA sample, the product and sorted ones too
        qc=[_scrubbed(r, names) for r in marrow.qc_rows(d.all_sc, res, names)],
        not_measured=[scrub(x) for x in figures_not_measured(figs, _cart_reason(carts), d.labs)],
        ch_reason=scrub(_ch_reason(d, res, names, min_depth)),
        clones=_clone_rows(d.clones, names),
        umi_qc=umi_qc_rows(res, list(d.dna["sample"]), names),
        clone_cells=cc_blocks,
        lineage=lineage_section,
        tcr=tcr,
        footer=html.footer(res.provenance),
    )


def _clone_keys(clones: pd.DataFrame | None) -> list[tuple[tuple, pd.DataFrame]]:
    """(chrom, pos, ref, alt) of each clone in the order of _clone_cells' blocks."""
    if clones is None or clones.empty:
        return []
    return [
        ((str(k[0]), int(k[1]), str(k[2]), str(k[3])), g)
        for k, g in clones.groupby(["chrom", "pos", "ref", "alt"], sort=True)
    ]


def _spearman(df: pd.DataFrame, x: str, y: str) -> str:
    d = df[[x, y]].apply(pd.to_numeric, errors="coerce").dropna()
    if len(d) < 3:
        return f"n = {len(d)}: too few patients for a correlation"
    from scipy.stats import spearmanr  # ~1 s to import: only the cohort report needs it

    rho, p = spearmanr(d[x], d[y])
    return f"Spearman rho = {rho:.2f}, n = {len(d)}, p = {p:.3g}"


def small_n_caveat(n: int) -> str:
    """The caveat printed beside every correlation of the cohort report."""
    return (
        f"With n = {n} patients this is descriptive: one patient can move rho a lot, the "
        "p-value is not corrected for the other comparisons in this report, and a "
        "non-significant p is no evidence of no association."
    )


#: Clinical columns of patients.tsv, shown right after the patient in the cohort report
#: (the outcomes a reader compares the marrow and clone columns against stay in view;
#: issue 25 item 7). The TSV keeps its own stable column order.
CLINICAL_FIRST = (
    "car_hematotox_score",
    "car_hematotox_risk",
    "icaht_early_grade",
    "icaht_late_grade",
    "days_anc_le_500_d0_30",
    "crs_max_grade",
    "icans_max_grade",
    "iec_hs_flag",
    "easix_baseline",
)


def display_order(cols: list[str]) -> list[str]:
    """The cohort table's columns as shown: patient, the clinical columns, the rest in
    patients.tsv order, the sample counts and `missing` last."""
    first = ["patient", *(c for c in CLINICAL_FIRST if c in cols)]
    last = [c for c in ("n_scrna_samples", "n_dna_samples", "missing") if c in cols]
    return [c for c in first if c in cols] + [c for c in cols if c not in first + last] + last


def cohort_rows(
    shown: pd.DataFrame, stems: list[str]
) -> tuple[list[dict[str, str]], list[list[dict[str, str]]]]:
    """The cohort table as the report shows it: human headers with units (the glossary),
    VAF in percent, the patient cell linking to the patient's report (`stems`: report
    file stems, the pseudonym when pseudonymised), a sort key per cell (numbers sort as
    numbers; not measured sorts last)."""
    from marrowtox.report.glossary import GLOSSARY, header

    cols = display_order(
        [c for c in shown.columns if c != "bm_cart_sample" or shown[c].astype(str).ne("").any()]
    )
    columns = [
        {
            "name": c,
            "header": header(c),
            "title": GLOSSARY[c].meaning if c in GLOSSARY else "",
            "group": "clinical" if c in CLINICAL_FIRST else "",
        }
        for c in cols
    ]
    rows = []
    for stem, (_, r) in zip(stems, shown.iterrows(), strict=True):
        cells = []
        for c in cols:
            v = r[c]
            num = pd.to_numeric(pd.Series([v]), errors="coerce").iloc[0]
            if c in GLOSSARY and GLOSSARY[c].percent and not pd.isna(num):
                v = num = 100 * float(num)
            text = html.fmt(v, 2)
            cells.append(
                {
                    "text": text,
                    "key": text if pd.isna(num) else repr(float(num)),
                    "href": f"{stem}.html" if c == "patient" else "",
                    "cls": "l" if pd.isna(num) else "",
                }
            )
        rows.append(cells)
    return columns, rows


def stale_note(stale: Stale, pseudonymise: bool) -> str:
    """The cohort report's note on outputs of ids no longer in the sheet (marrowtox.stale):
    they are never shown, and the note says so and how to remove them. Pseudonymised:
    counts only (those ids have no pseudonym, and the report must not carry ids)."""
    if not stale.files:
        return ""
    what = (
        f"{len(stale.samples)} samples and {len(stale.patients)} patients"
        if pseudonymise
        else stale.summary()
    )
    return (
        f"results/ still holds {len(stale.files)} files of ids no longer in samples.tsv "
        f"({what}); no report shows them. List them with `marrowtox stale --samples "
        "samples.tsv`, delete them with `--remove` (README, How to read the reports)."
    )


#: the cohort report's two scatter plots: key -> (x column, y column, x label, y label, title)
COHORT_SCATTERS = {
    "cart": (
        "bm_cart_pct",
        "icaht_early_grade",
        "marrow CAR T % of cells",
        "early ICAHT grade",
        "First post-infusion marrow",
    ),
    "hspc": (
        "hspc_ifng_index",
        "days_anc_le_500_d0_30",
        "HSPC IFN-gamma index (baseline SDs)",
        "days ANC <= 500 (d0-30)",
        "HSPC inflammation vs neutropenia",
    ),
}


def cohort_report(
    samples: pd.DataFrame, results: str | Path, out: str | Path, pseudonymise: bool = False
) -> dict:
    """The cohort HTML report: the patient table (pseudonymised on request), the two
    associations with their small-n caveats, the risk x grade table, CH across the
    cohort, the cohort picture, then the statistics and abundance sections."""
    res = Results(results)
    table = read_tsv(res.patients)
    names = Names(samples, pseudonymise)
    shown = _shown_table(table, names, pseudonymise)
    stats, caveats = {}, {}
    for key, (x, y, *_) in COHORT_SCATTERS.items():
        stats[key] = _spearman(table, x, y)
        n = int(table[[x, y]].apply(pd.to_numeric, errors="coerce").dropna().shape[0])
        caveats[key] = small_n_caveat(n)
    figs = {
        key: html.data_uri(plots.scatter(shown, *spec)) for key, spec in COHORT_SCATTERS.items()
    }
    two, stats["risk"] = _risk_by_grade(table)
    ch = _cohort_clones(sorted(samples["patient"].unique()), res, names)
    n_dna = int(table["n_dna_samples"].gt(0).sum())
    stats["ch"] = (
        f"Patients with DNA: {n_dna}. CH detected before infusion in {len(ch.pre)}, "
        f"after infusion in {len(ch.post)}."
        if n_dna
        else "not measured: no DNA samples"
    )
    columns, rows = cohort_rows(shown, [names.file_stem(p) for p in table["patient"]])
    html.render_cohort(
        out,
        stale_note=stale_note(find_stale(res.root, samples), pseudonymise),
        n=len(table),
        columns=columns,
        rows=rows,
        stats=stats,
        caveats=caveats,
        figs=figs,
        two_by_two=two,
        emergent=ch.emergent,
        clone_list=ch.clone_list,
        picture=cohort_picture(results, names.scrub),
        footer=html.footer(res.provenance),
    )
    from marrowtox.report.cohort_stats_section import append_to  # issue 19

    append_to(out, results)
    from marrowtox.report import abundance_section  # issue 28

    abundance_section.append_to(out, results)
    return stats


def _shown_table(table: pd.DataFrame, names: Names, pseudonymise: bool) -> pd.DataFrame:
    """The patient table as shown: with `pseudonymise`, pseudonyms for ids and every id
    in free text (the `missing` column names samples) replaced."""
    shown = table.copy()
    if pseudonymise:
        shown["patient"] = [names.patient(p) for p in shown["patient"]]
        shown["bm_cart_sample"] = ""
        for c in shown.columns:
            if shown[c].dtype == object:
                shown[c] = [v if not isinstance(v, str) else names.scrub(v) for v in shown[c]]
    return shown


def _risk_by_grade(table: pd.DataFrame) -> tuple[list[tuple[str, int, int]], str]:
    """CAR-HEMATOTOX risk group x early ICAHT grade >= 3 (the 2 x 2 table) and its n."""
    t = table.dropna(subset=["car_hematotox_risk", "icaht_early_grade"])
    two = []
    for risk in ("high", "low"):
        grade = t.loc[t["car_hematotox_risk"] == risk, "icaht_early_grade"].astype(float)
        two.append((risk, int((grade >= 3).sum()), int((grade < 3).sum())))
    return two, f"{len(t)} patients with both a risk group and an early grade."


@dataclass
class _CohortClones:
    """CH across the cohort: patients with a clone detected before / after infusion,
    the emergent clones (text) and every flagged clone with its patient's report."""

    pre: set
    post: set
    emergent: list[str]
    clone_list: list[dict[str, str]]


def _cohort_clones(patients: list[str], res: Results, names: Names) -> _CohortClones:
    out = _CohortClones(set(), set(), [], [])
    for p in patients:
        clones = read_tsv(res.clones(p))
        if clones is None:
            continue
        for f in flags.clone_flags(clones, names):
            out.clone_list.append(
                {
                    "patient": names.patient(p),
                    "href": f"{names.file_stem(p)}.html",
                    "title": f.title,
                    "text": f.text,
                }
            )
        det = clones[clones["detected"].astype(bool)]
        if (det["day"] <= 0).any():
            out.pre.add(p)
        if (det["day"] > 0).any():
            out.post.add(p)
        emergent = clones[clones["status"] == "emergent"]
        for _, c in emergent.drop_duplicates(["chrom", "pos", "ref", "alt"]).iterrows():
            first = det[(det["chrom"] == c["chrom"]) & (det["pos"] == c["pos"])]["day"].min()
            out.emergent.append(
                f"{names.patient(p)}: {c['gene']} {c['hgvsp']} first detected on day {first}"
            )
    return out
