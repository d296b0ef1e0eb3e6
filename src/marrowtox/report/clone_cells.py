"""Which cell types carry each clone, for the reports (issue 17 item 5).

Reads results/ch/<patient>.clone_cells.tsv (marrowtox.genotype.steps.clone_cells_step:
one row per genotyped scRNA sample x variant x cell type with `cells_covered`,
`cells_alt`, `mutant_fraction`, its Wilson-derived `ci_low`/`ci_high` and a `call`
of carrier / not carrier / not covered) and joins it to the DNA clones by the id the
genotyper gives a site (gene_protein, or the genomic id).

Honesty rules of the display: a cell type that is "not covered" shows as not covered,
never as a fraction of 0; an scRNA sample without a cell-barcoded BAM in samples.tsv
shows as "not genotyped"; a fraction is always printed with its interval and the
number of covered cells it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from marrowtox.celltypes import CELL_TYPES, LINEAGE
from marrowtox.genotype.carriers import CARRIER, NOT_COVERED
from marrowtox.genotype.sites import genomic_id, make_site
from marrowtox.genotype.steps import CAR_T
from marrowtox.report.names import Names

NOT_GENOTYPED = "not genotyped"
#: display order of cell types: the annotation vocabulary, then CAR T cells, then others
TYPE_ORDER = [*CELL_TYPES, CAR_T]


def clone_variant_ids(c: pd.Series) -> tuple[str, ...]:
    """Ids the genotyper may have given this clone (a calls/clones row, 1-based pos):
    gene_protein, the same with the genomic id appended (when two sites share a
    gene_protein name), and the genomic id alone."""
    pos0 = int(c["pos"]) - 1
    protein = ""
    for col in ("hgvsp_short", "hgvsp"):
        v = c.get(col)
        if isinstance(v, str) and v:
            protein = v
            break
    site = make_site(str(c["chrom"]), pos0, str(c["ref"]), str(c["alt"]), str(c["gene"]), protein)
    gid = genomic_id(str(c["chrom"]), pos0, str(c["ref"]), str(c["alt"]))
    if site is None:
        return (gid,)
    return (
        site.variant,
        f"{site.variant}_{genomic_id(site.contig, site.pos, site.ref, site.alt)}",
        gid,
    )


def _variant_of(c: pd.Series, known: set[str]) -> str | None:
    return next((v for v in clone_variant_ids(c) if v in known), None)


def type_key(t: str) -> tuple[int, str]:
    return (TYPE_ORDER.index(t) if t in TYPE_ORDER else len(TYPE_ORDER), t)


def pct(v: float, digits: int = 1) -> str:
    return f"{100 * float(v):.{digits}f}%"


def cell_text(r: pd.Series) -> tuple[str, str]:
    """(text, css class) of one variant x cell type x sample: the mutant-cell fraction
    with its 95% interval and cells, or "not covered" -- never a 0 for no data."""
    n, k = int(r["cells_covered"]), int(r["cells_alt"])
    if r["call"] == NOT_COVERED or n == 0:
        return f"not covered ({n} cell{'s' if n != 1 else ''} reached)", "nm"
    if pd.isna(r["mutant_fraction"]):
        return f"{k}/{n} cells with alt; fraction not estimable", "nm"
    text = (
        f"{pct(r['mutant_fraction'])} ({pct(r['ci_low'])}-{pct(r['ci_high'])}); "
        f"{k}/{n} cells with alt"
    )
    return text, ("carrier" if r["call"] == CARRIER else "")


@dataclass
class CloneCells:
    """The fractions table of one clone: rows = cell types, columns = scRNA samples."""

    variant: str | None
    label: str
    columns: list[str] = field(default_factory=list)
    genotyped: list[bool] = field(default_factory=list)
    rows: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    carrier_types: list[str] = field(default_factory=list)
    in_car_t: list[str] = field(default_factory=list)  # texts of CAR T carrier calls
    data: pd.DataFrame | None = None  # the clone's rows of clone_cells.tsv (for plots)


def clone_label(c: pd.Series) -> str:
    protein = c.get("hgvsp_short")
    protein = protein if isinstance(protein, str) and protein else c.get("hgvsp", "")
    protein = protein if isinstance(protein, str) else ""
    return f"{c['gene']} {protein.removeprefix('p.')}".strip()


def fractions(
    clone: pd.Series,
    table: pd.DataFrame | None,
    sc_samples: pd.DataFrame,
    names: Names,
) -> CloneCells:
    """The per-cell-type fractions of one clone over the patient's scRNA samples.

    `clone` is one row of the clone table; `table` the patient's clone_cells.tsv (None if
    no sample was genotyped); `sc_samples` the patient's scRNA rows of samples.tsv
    (column `bam` empty = not genotyped)."""
    sc = sc_samples.sort_values("day")
    bam = sc["bam"] if "bam" in sc else pd.Series([""] * len(sc), index=sc.index)
    has_bam = bam.fillna("").astype(str).str.strip() != ""
    known = set(table["variant"]) if table is not None and not table.empty else set()
    variant = _variant_of(clone, known)
    out = CloneCells(variant=variant, label=clone_label(clone))
    sub = (
        table[table["variant"] == variant]
        if variant is not None and table is not None
        else pd.DataFrame(columns=["sample", "day", "variant", "cell_type", "call"])
    )
    out.data = sub
    types = sorted(set(sub["cell_type"].astype(str)), key=type_key)
    by = {(str(r["sample"]), str(r["cell_type"])): r for _, r in sub.iterrows()}
    samples = list(sc["sample"].astype(str))
    out.columns = [names.timepoint(s) for s in samples]
    out.genotyped = [bool(h) for h in has_bam]
    for t in types:
        cells = []
        for s, g in zip(samples, out.genotyped, strict=True):
            r = by.get((s, t))
            if not g:
                cells.append((NOT_GENOTYPED, "nm"))
            elif r is None:
                cells.append(("site not genotyped in this sample", "nm"))
            else:
                cells.append(cell_text(r))
        out.rows.append((t, cells))
    carriers = sub[sub["call"] == CARRIER]
    out.carrier_types = sorted(set(carriers["cell_type"].astype(str)), key=type_key)
    for _, r in carriers[carriers["cell_type"] == CAR_T].sort_values("day").iterrows():
        out.in_car_t.append(f"{cell_text(r)[0]} ({names.short(r['sample'])})")
    return out


def lineages(types: list[str]) -> list[str]:
    """Cell types -> their lineages (CAR T kept apart), in display order, no repeats."""
    out = [CAR_T if t == CAR_T else LINEAGE.get(t, t) for t in sorted(types, key=type_key)]
    return list(dict.fromkeys(out))


def carrier_lineages(clones: pd.DataFrame | None, table: pd.DataFrame | None) -> str | None:
    """Cohort-table cell: 'DNMT3A R882H: HSPC, myeloid; TET2 Q1034*: T/NK, CAR T' over
    every genotyped timepoint; 'none called' for a clone genotyped without a carrier
    type; None (not measured) when no clone could be matched to genotyping."""
    if clones is None or clones.empty or table is None or table.empty:
        return None
    known = set(table["variant"])
    parts = []
    for _, c in clones.drop_duplicates(["chrom", "pos", "ref", "alt"]).iterrows():
        v = _variant_of(c, known)
        if v is None:
            continue
        sub = table[table["variant"] == v]
        if (sub["call"] == NOT_COVERED).all():
            parts.append(f"{clone_label(c)}: not covered")
            continue
        types = list(sub.loc[sub["call"] == CARRIER, "cell_type"].astype(str))
        parts.append(f"{clone_label(c)}: {', '.join(lineages(types)) or 'none called'}")
    return "; ".join(parts) if parts else None
