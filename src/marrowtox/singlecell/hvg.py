"""Highly variable genes that do not crash on small or shallow batches.

scanpy's `seurat_v3` flavour (the scverse best-practice default on raw counts) fits a
loess of variance on mean per batch (scikit-misc). On a shallow batch (Seq-Well, ~2,000
UMIs per cell) or a batch of a few hundred cells, many genes share the same mean and
variance and the loess fit fails ("There are other near singularities", seen on a real
cohort mixing Seq-Well and 10x). One bad batch then stopped the whole cohort picture.

Fallback, stated in the result so the log and the report can say which flavour ran:
1. `seurat_v3` with the batch key (counts);
2. `seurat` with the batch key (binned dispersions of log-normalised data: no loess,
   Satija et al. 2015; the flavour scanpy documents for log data);
3. `seurat` without the batch key (a batch too small to bin on its own).
Each flavour is scanpy's own; only the choice between them is ours.
"""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd

from marrowtox.singlecell.lognorm import TARGET_SUM

#: scikit-misc's loess kills the process (segfault, no Python error) on very few genes
#: (measured: 0, 1 and 3 genes crash; 10 genes raise a catchable "near singularities"),
#: so seurat_v3 is not attempted below this many genes.
MIN_LOESS_GENES = 10


@dataclass(frozen=True)
class HvgResult:
    genes: pd.Index
    flavour: str
    note: str  # empty when the first flavour ran; else why it fell back


def select_hvgs(counts: ad.AnnData, n_top: int, batch_key: str | None = None) -> HvgResult:
    """HVGs of `counts` (raw counts in X; genes already filtered to usable ones).

    `n_top` is capped at the number of genes minus one (seurat_v3 needs a spare gene).
    """
    import scanpy as sc

    if counts.n_vars < 2:
        raise ValueError(
            f"{counts.n_vars} usable genes (measured in every sample, seen in enough cells): "
            "nothing to select HVGs from"
        )
    n = max(1, min(n_top, counts.n_vars - 1))
    errors: list[str] = []
    if counts.n_vars < MIN_LOESS_GENES:
        errors.append(f"seurat_v3: {counts.n_vars} genes, too few for its loess")
    else:
        try:
            table = sc.pp.highly_variable_genes(
                counts, n_top_genes=n, flavor="seurat_v3", batch_key=batch_key, inplace=False
            )
            return HvgResult(_chosen(table, counts.var_names), "seurat_v3", "")
        except (ValueError, ZeroDivisionError, np.linalg.LinAlgError) as err:
            errors.append(f"seurat_v3: {err}")
    lognorm = counts.copy()
    sc.pp.normalize_total(lognorm, target_sum=TARGET_SUM)
    sc.pp.log1p(lognorm)
    for key in dict.fromkeys([batch_key, None]):
        try:
            table = sc.pp.highly_variable_genes(
                lognorm, n_top_genes=n, flavor="seurat", batch_key=key, inplace=False
            )
        except (ValueError, ZeroDivisionError, IndexError) as err:
            errors.append(f"seurat (batch {key}): {err}")
            continue
        flavour = "seurat" + (f" by {key}" if key else "")
        return HvgResult(_chosen(table, counts.var_names), flavour, "; ".join(errors))
    raise ValueError("no HVG flavour could run: " + "; ".join(errors))


def _chosen(table: pd.DataFrame, names: pd.Index) -> pd.Index:
    """The HVG names (scanpy's result table is indexed by gene, or positionally when
    run per batch in some versions: `names` restores the gene names then)."""
    mask = table["highly_variable"].to_numpy(dtype=bool)
    index = table.index if table.index.isin(names).all() else names
    return pd.Index(index[mask])
