"""One glossary of the cohort table (results/cohort/patients.tsv), shared by the cohort
report's headers and the README (tests/test_report_cohort.py checks the README holds
`markdown()` verbatim, so the two cannot drift apart).

Each column: a human header, its unit ("" when it has none), and what it means. VAFs
are fractions (0-1) in the TSV, as in every calls table, and are shown in percent in
every report: `percent` marks the columns converted for display.
"""

from __future__ import annotations

from dataclasses import dataclass

from marrowtox.clinical.units import ANALYTES
from marrowtox.report.cohort_table import COLUMNS


@dataclass(frozen=True)
class Column:
    header: str
    unit: str
    meaning: str
    percent: bool = False  # a fraction in the TSV, shown x 100 in the reports


GLOSSARY: dict[str, Column] = {
    "patient": Column(
        "Patient", "", "patient id of samples.tsv (the pseudonym when pseudonymised)"
    ),
    "n_scrna_samples": Column(
        "scRNA samples", "n", "scRNA samples in samples.tsv (every specimen)"
    ),
    "n_dna_samples": Column("DNA samples", "n", "targeted DNA (CH panel) samples"),
    "bm_cart_sample": Column(
        "CAR T sample", "", "the first post-infusion marrow scRNA sample the CAR T values come from"
    ),
    "bm_cart_pct": Column("Marrow CAR T", "% of cells", "CAR+ T cells among all QC-passed cells"),
    "bm_cart_pct_of_t": Column(
        "CAR T of T cells", "% of T cells", "CAR+ among CD4 and CD8 T cells"
    ),
    "bm_cart_pct_of_t_est": Column(
        "CAR T of T cells, corrected",
        "% of T cells",
        "CAR T among T cells from the fitted ambient + CAR mixture: counts CAR T cells "
        "without a CAR UMI (detection sensitivity) and removes ambient-only cells "
        "(docs/car-calling.md); empty when no T/NK cell has a CAR UMI",
    ),
    "bm_cart_pct_of_t_lo": Column(
        "CAR T of T cells, 95% CI low", "% of T cells", "lower end of its 95% interval"
    ),
    "bm_cart_pct_of_t_hi": Column(
        "CAR T of T cells, 95% CI high",
        "% of T cells",
        "upper end of its 95% interval; with CAR not detected, the 95% upper bound",
    ),
    "cart_activation_score": Column(
        "CAR T activation", "score", "mean activation program score of the CAR T cells"
    ),
    "hspc_pct_baseline": Column(
        "HSPC baseline", "% of cells", "HSC/MPP + LMPP in the last marrow before infusion"
    ),
    "hspc_pct_post": Column(
        "HSPC post-infusion", "% of cells", "HSC/MPP + LMPP in the first marrow after infusion"
    ),
    "hspc_ifng_index": Column(
        "HSPC IFN-gamma index",
        "baseline SDs",
        "Hallmark interferon-gamma response of HSPC, first post-infusion marrow vs baseline",
    ),
    "ch_n_chip": Column("CH clones", "n", "distinct CHIP or low-VAF CH variants, any timepoint"),
    "ch_max_vaf": Column(
        "Max VAF", "%", "largest variant allele fraction of those clones (TSV: fraction 0-1)", True
    ),
    "ch_n_emergent": Column(
        "Emergent clones",
        "n",
        "clones not detected at baseline (with a low enough LOD), later detected",
    ),
    "ch_carrier_lineages": Column(
        "Carrier lineages",
        "",
        "per clone, the lineages whose cells were called carriers in marrow scRNA (CAR T apart)",
    ),
    "tcr_sample": Column(
        "TCR sample",
        "",
        "the first post-infusion marrow scRNA sample with T-cell receptors (samples.tsv vdj) "
        "the tcr_* values come from (else blood or a sort)",
    ),
    "tcr_expanded_car_clonotypes": Column(
        "Expanded CAR T clonotypes",
        "n",
        "CAR T clonotypes with >= cart.clonotypes.min_expanded_cells cells in that sample",
    ),
    "tcr_top_car_clone_share": Column(
        "Top CAR T clone",
        "% of CAR T cells",
        "share of the largest clonotype among the sample's CAR T cells with a TCR",
        percent=True,
    ),
    "tcr_product_clones_shared": Column(
        "Product clonotypes found later",
        "n",
        "clonotypes of the infused product seen again in a later sample of the patient",
    ),
    "car_hematotox_score": Column("CAR-HEMATOTOX", "points", "pre-lymphodepletion score, 0-7"),
    "car_hematotox_risk": Column("CAR-HEMATOTOX risk", "", "low (0-1) or high (>= 2)"),
    "icaht_early_grade": Column("Early ICAHT", "grade 0-4", "ICAHT grade of day 0-30"),
    "icaht_late_grade": Column("Late ICAHT", "grade 0-4", "ICAHT grade after day 30"),
    "days_anc_le_500_d0_30": Column(
        "Days ANC <= 500", "days", "days with ANC <= 500/uL in day 0-30 (daily grid)"
    ),
    "easix_baseline": Column("EASIX baseline", "", "LDH x creatinine / platelets before infusion"),
    "crs_max_grade": Column("CRS max", "ASTCT grade", "highest CRS grade in events.tsv"),
    "icans_max_grade": Column("ICANS max", "ASTCT grade", "highest ICANS grade in events.tsv"),
    "iec_hs_flag": Column("IEC-HS", "", "candidate = prompt for review (not a diagnosis)"),
    "flow_cd34_pct_baseline": Column(
        "Flow CD34+ baseline",
        "% of CD45+",
        "flow.tsv: marrow CD34+ of CD45+, last measurement on or before day 0",
    ),
    "flow_cd34_pct_post": Column(
        "Flow CD34+ post-infusion",
        "% of CD45+",
        "flow.tsv: marrow CD34+ of CD45+, first measurement after day 0",
    ),
    "flow_cart_pct_of_t": Column(
        "Flow CAR+ of CD3+",
        "% of CD3+",
        "flow.tsv: marrow CAR+ of CD3+, first measurement after day 0 (scRNA: CAR T of T cells)",
    ),
    "missing": Column("Not measured, why", "", "one reason per value left empty"),
}


def header(col: str) -> str:
    """'Marrow CAR T (% of cells)': the column's human header with its unit."""
    c = GLOSSARY.get(col)
    if c is None:
        return col
    return f"{c.header} ({c.unit})" if c.unit else c.header


def markdown() -> str:
    """The README's glossary of the cohort table and accepted units per analyte."""
    lines = [
        "| column of `results/cohort/patients.tsv` | shown as | unit | meaning |",
        "|---|---|---|---|",
    ]
    for col in COLUMNS:
        c = GLOSSARY[col]
        lines.append(f"| `{col}` | {c.header} | {c.unit} | {c.meaning} |")
    lines += [
        "",
        "| analyte (`labs.tsv`) | canonical unit | accepted units (converted) |",
        "|---|---|---|",
    ]
    for name, a in ANALYTES.items():
        lines.append(f"| `{name}` | {a.canonical} | {', '.join(a.factors)} |")
    return "\n".join(lines) + "\n"
