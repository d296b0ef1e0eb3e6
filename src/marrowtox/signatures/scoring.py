"""Per-cell gene-set scores: T-cell programs and Hallmark inflammation sets.

scanpy's score_genes (Satija/Tirosh method: mean of the set minus a matched control
set, seeded) on log-normalised data. Sets with too few genes present are skipped and
reported: a score of 2 genes out of 200 says nothing about the pathway.
"""

from __future__ import annotations

from pathlib import Path

import anndata as ad


def read_gmt(path: str | Path) -> dict[str, list[str]]:
    out = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        parts = [p for p in line.rstrip("\n").split("\t") if p]
        if len(parts) >= 3:
            out[parts[0]] = parts[2:]
    return out


def load_sets(paths: dict[str, int], organism: str = "human") -> dict[str, tuple[list[str], int]]:
    """{set: (genes, min_genes)} from {gmt path: minimum genes present}."""
    sets = {}
    for path, min_genes in paths.items():
        for name, genes in read_gmt(path).items():
            if organism == "mouse":
                from marrowtox.singlecell.organism import to_mouse

                genes = [to_mouse(g) for g in genes]
            sets[name] = (genes, min_genes)
    return sets


def score_sets(
    adata: ad.AnnData, sets: dict[str, tuple[list[str], int]], seed: int
) -> tuple[list[str], list[str]]:
    """Adds obs score_<SET>; returns (scored columns, skipped-set notes)."""
    import scanpy as sc

    present = set(adata.var_names)
    cols, skipped = [], []
    for name, (genes, min_genes) in sets.items():
        g = [x for x in genes if x in present]
        if len(g) < min_genes:
            skipped.append(f"{name}: {len(g)} of {len(genes)} genes present (< {min_genes})")
            continue
        col = f"score_{name}"
        sc.tl.score_genes(
            adata,
            g,
            score_name=col,
            random_state=seed,
            use_raw=False,
            ctrl_size=min(50, max(10, adata.n_vars // 20)),
        )
        cols.append(col)
    return cols, skipped
