"""File-level step of the signatures branch (what the `signatures` rule and subcommand run)."""

from __future__ import annotations

from collections.abc import Sequence

import anndata as ad
import pandas as pd

from marrowtox.atomic import write_tsv
from marrowtox.signatures.aggregate import by_celltype
from marrowtox.signatures.scoring import load_sets


def gene_sets(programs: str, hallmark: str, program_min: int, hallmark_min: int) -> dict[str, int]:
    """Gene-set files (declared rule inputs) and the minimum genes present for each
    (Hallmark sets: >= 10; the curated T-cell programs hold 2-8 genes, so their minimum
    is lower)."""
    return {programs: program_min, hallmark: hallmark_min}


def shipped_sets() -> dict[str, int]:
    """The shipped gene sets with the schema's default minimums (for standalone use)."""
    from marrowtox.settings import resolve, section_defaults

    d = section_defaults("signatures")
    return gene_sets(
        resolve(d["programs"]),
        resolve(d["hallmark"]),
        d["program_min_genes"],
        d["hallmark_min_genes"],
    )


def signatures_step(
    scored: str,
    sample: str,
    baselines: Sequence[str],
    baseline_source: str,
    sets: dict[str, int],
    organism: str,
    out: str,
) -> None:
    """Scores by cell type and their index against the baseline marrow."""
    adata = ad.read_h5ad(scored)
    base_obs = None
    if baselines:
        base_obs = pd.concat([ad.read_h5ad(b, backed="r").obs for b in baselines])
    score_cols = [
        c for c in adata.obs.columns if c.startswith("score_") and not c.startswith("score_ct_")
    ]
    genes = {k: v[0] for k, v in load_sets(sets, organism).items()}
    write_tsv(by_celltype(sample, adata, score_cols, genes, base_obs, baseline_source), out)
