"""The patient report's view of CH clones in sorted fractions (marrowtox.ch.lineage):
per clone the VAF in each fraction at each time and its lineage call, shown beside the
clone-to-cell result. A patient without a sorted DNA fraction is told so, never given
a call."""

from __future__ import annotations

import pandas as pd

from marrowtox.ch.lineage import CLONE_KEY
from marrowtox.report.names import Names

NO_FRACTIONS = (
    "no sorted DNA fraction in samples.tsv (column fraction: CD3, CD14, granulocytes, ...): "
    "no lineage call"
)


def _pct(v: object) -> str:
    return "" if v is None or pd.isna(v) else f"{100 * float(v):.2f}"


def rows(table: pd.DataFrame | None, names: Names) -> list[dict[str, str]]:
    """One row per clone and sample of results/ch/<patient>.lineage.tsv."""
    if table is None or table.empty:
        return []
    out = []
    for r in table.itertuples(index=False):
        out.append(
            {
                "gene": str(r.gene),
                "hgvsp": "" if pd.isna(r.hgvsp_short) else str(r.hgvsp_short),
                "sample": names.sample(str(r.sample)),
                "fraction": str(r.fraction),
                "group": str(r.lineage_group),
                "day": str(r.day),
                "depth": str(r.depth),
                "vaf": _pct(r.vaf),
                "lod": _pct(r.lod_vaf),
                "detected": "yes" if bool(r.detected) else "no",
            }
        )
    return out


def calls(table: pd.DataFrame | None) -> dict[tuple, str]:
    """(chrom, pos, ref, alt) -> 'lineage: reason' (or 'no call: reason')."""
    if table is None or table.empty:
        return {}
    first = table.drop_duplicates(CLONE_KEY)
    return {
        (str(r.chrom), int(r.pos), str(r.ref), str(r.alt)): (
            f"{r.lineage if isinstance(r.lineage, str) and r.lineage else 'no call'}: "
            f"{r.lineage_reason}"
        )
        for r in first.itertuples(index=False)
    }


def summary(table: pd.DataFrame | None) -> list[str]:
    """'GENE p.X: lineage' per clone with a call (the flags and quiet lines)."""
    if table is None or table.empty:
        return []
    first = table.drop_duplicates(CLONE_KEY)
    return [
        f"{r.gene} {'' if pd.isna(r.hgvsp_short) else r.hgvsp_short}: "
        f"{r.lineage if isinstance(r.lineage, str) and r.lineage else 'no call'}"
        for r in first.itertuples(index=False)
    ]
