"""Paired pseudobulk differential expression: two groups of cells compared within each
pair unit (a sample, or a patient), design ~ pair + group, and the programs that move.

CAR T vs non-CAR T cells of the same marrow (pair = sample) and HSPC after vs before
infusion (pair = patient) are both this analysis; each caller only chooses the cells.
What the data cannot support is refused in words: a profile with too few cells is left
out (and its pair with it: an unpaired profile says nothing about the contrast), and
with fewer than `min_pairs` complete pairs no gene is tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from marrowtox.signatures.activity import COLUMNS as PROGRAM_COLUMNS
from marrowtox.signatures.activity import program_activity
from marrowtox.singlecell.deseq import COLUMNS as DE_COLUMNS
from marrowtox.singlecell.deseq import DESeqSpec, deseq
from marrowtox.singlecell.pseudobulk import expressed_genes, pseudobulk

#: columns of the DE table: DESeq2's per gene, then the analysis' context
TABLE_COLUMNS = [*DE_COLUMNS, "comparison", "n_pairs", "pairs"]


@dataclass(frozen=True)
class DESettings:
    """config cart.de / singlecell.hspc_de (the schema's keys)."""

    min_cells: int
    min_pairs: int
    min_count: int
    min_total_count: int
    fdr: float
    program_min_genes: int


@dataclass(frozen=True)
class PairedDE:
    """Cells (obs: `pair`, `group`; layer "counts" raw) and what to compare."""

    adata: object  # AnnData of the selected cells
    comparison: str  # name in the table, e.g. "CAR T vs non-CAR T"
    test: str  # group level tested ...
    reference: str  # ... against this one
    pair_label: str  # "sample" or "patient", for the messages
    settings: DESettings
    gene_sets: dict[str, list[str]]
    notes: list[str] = field(default_factory=list)


def refusal(comparison: str, reason: str) -> pd.DataFrame:
    """The table of an analysis that could not be done: one row that says why."""
    row = {c: pd.NA for c in TABLE_COLUMNS} | {
        "comparison": comparison,
        "status": reason,
        "n_pairs": 0,
    }
    return pd.DataFrame([row], columns=TABLE_COLUMNS)


def programs_refused(gene_sets: dict[str, list[str]], reason: str) -> pd.DataFrame:
    return pd.DataFrame({"program": list(gene_sets), "status": reason}).reindex(
        columns=PROGRAM_COLUMNS
    )


def paired_de(spec: PairedDE) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(DE table, program table) of `test` vs `reference` within pairs."""
    s = spec.settings
    a = spec.adata
    if a.n_obs == 0:
        why = f"not tested: no cells for {spec.comparison}"
        return refusal(spec.comparison, why), programs_refused(spec.gene_sets, why)
    pb = pseudobulk(a, "pair", "group", s.min_cells)
    for _, row in pb.refused.iterrows():
        spec.notes.append(
            f"{spec.pair_label} {row['sample']}, {row['group']}: {row['reason']}; left out"
        )
    meta = pb.meta[pb.meta["group"].isin([spec.test, spec.reference])]
    both = meta.groupby("sample")["group"].nunique()
    pairs = sorted(both.index[both == 2])
    if len(pairs) < s.min_pairs:
        why = (
            f"too few {spec.pair_label}s: {len(pairs)} with >= {s.min_cells} cells in both "
            f"{spec.test} and {spec.reference} (minimum {s.min_pairs}); not tested"
        )
        return refusal(spec.comparison, why), programs_refused(spec.gene_sets, why)
    meta = meta[meta["sample"].isin(pairs)]
    counts = pb.counts.loc[meta.index]
    genes = expressed_genes(counts, meta["group"], s.min_count, s.min_total_count)
    design_meta = pd.DataFrame(
        {"pair": meta["sample"].to_numpy(), "group": meta["group"].to_numpy()}, index=meta.index
    )
    table = deseq(
        DESeqSpec(
            counts[genes], design_meta, "~ pair + group", "group", spec.test, spec.reference, s.fdr
        )
    )
    table["comparison"] = spec.comparison
    table["n_pairs"] = len(pairs)
    table["pairs"] = ",".join(pairs)
    programs = program_activity(table, spec.gene_sets, s.program_min_genes)
    return table.reindex(columns=TABLE_COLUMNS), programs
