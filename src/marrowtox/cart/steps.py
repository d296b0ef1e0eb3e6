"""File-level steps of the CAR T / signature branch (what rules and subcommands run)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import pandas as pd

from marrowtox.atomic import atomic_path, write_tsv
from marrowtox.cart.calling import CELL_COLUMNS, CarParams, call_car, summary
from marrowtox.cart.constructs import DEFAULT as CONSTRUCTS
from marrowtox.cart.features import car_features
from marrowtox.signatures.scoring import load_sets, score_sets


@dataclass(frozen=True)
class CarInputs:
    """One sample's inputs, settings and outputs of the CAR step.

    annotated: the sample's labelled AnnData; construct / feature_override: its CAR
    construct and the features counting it (cart.features, marrowtox.cart.features);
    gene_sets: name -> minimum genes (marrowtox.signatures.steps.gene_sets);
    empty_droplets: a raw matrix whose non-cell droplets measure the soup; constructs:
    the construct definitions; genotypes: (counts, sites) tables of `sc_genotype`,
    which add the per-cell `geno_<gene>_<protein>` columns; protein: {"section":
    singlecell.protein settings, "raw": the sample's protein file or None, "adt": the
    adt column, "empty": its raw matrix for DSB or None}, which adds the CAR T protein
    panel columns `prot_*` to the summary (empty when "raw" is None)."""

    annotated: str
    sample: str
    construct: str
    feature_override: list[str] | None
    params: CarParams
    gene_sets: dict[str, int]
    organism: str
    seed: int
    out_h5ad: str
    out_summary: str
    out_cells: str
    empty_droplets: str | None = None
    constructs: str | None = None
    genotypes: tuple[str, str] | None = None
    protein: dict | None = None


def car_step(step: CarInputs) -> list[str]:
    """CAR calls and per-cell scores; writes the final per-sample AnnData and tables.
    Returns the gene sets skipped (too few genes measured)."""
    adata = _with_genotypes(ad.read_h5ad(step.annotated), step.genotypes)
    empties = _soup_droplets(step.empty_droplets, adata.obs_names)
    features = car_features(step.construct, step.feature_override, step.constructs or CONSTRUCTS)
    res = call_car(adata, features, step.params, empties)
    if res.cells is not None:
        adata.obs["car_umis"] = res.cells["car_umis"].to_numpy()
        adata.obs["car_positive"] = res.cells["car_positive"].to_numpy()
        cells = res.cells
    else:
        adata.obs["car_positive"] = False
        cells = pd.DataFrame(columns=CELL_COLUMNS)
    adata.uns["car_status"] = res.status
    cols, skipped = score_sets(adata, load_sets(step.gene_sets, step.organism), step.seed)
    adata.uns["gene_sets_skipped"] = skipped
    program_cols = [c for c in cols if c.startswith("score_TCELL_")]
    table = summary(step.sample, adata, res, program_cols)
    if step.protein is not None:
        from marrowtox.cart.protein import sample_car_panel

        protein = step.protein
        panel = sample_car_panel(
            adata,
            step.sample,
            protein["section"],
            protein.get("raw"),
            protein.get("adt", ""),
            protein.get("empty"),
            step.seed,
        )
        for k, v in panel.items():
            table[k] = [v]
    write_tsv(table, step.out_summary)
    write_tsv(cells, step.out_cells)
    with atomic_path(step.out_h5ad) as tmp:
        adata.write_h5ad(tmp, compression="gzip")
    return skipped


def _with_genotypes(adata: ad.AnnData, genotypes: tuple[str, str] | None) -> ad.AnnData:
    """The per-cell genotype columns of `sc_genotype`'s (counts, sites) tables added."""
    if not genotypes:
        return adata
    from marrowtox.genotype.cells import cell_genotypes
    from marrowtox.genotype.steps import read_genotype_counts, read_sites

    geno = cell_genotypes(
        read_genotype_counts(genotypes[0]), adata.obs_names, read_sites(genotypes[1])
    )
    for col in geno.columns:
        adata.obs[col] = geno[col].values
    return adata


def _soup_droplets(raw_matrix: str | None, cell_names: pd.Index) -> ad.AnnData | None:
    """The raw matrix's droplets that are not cells (they measure the soup), or None."""
    if not raw_matrix:
        return None
    from marrowtox.singlecell.io import read_counts

    raw = read_counts(raw_matrix)
    # a raw matrix holds the cells too: only the other droplets measure the soup
    # (cell names may carry a "sample:" prefix after integration)
    cells = {str(n).split(":", 1)[-1] for n in cell_names}
    return raw[~raw.obs_names.isin(list(cells))].copy()


__all__ = ["CarInputs", "car_step", "Path"]
