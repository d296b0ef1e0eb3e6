"""File-level steps of the CAR T / signature branch (what rules and subcommands run)."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import pandas as pd

from marrowtox.atomic import atomic_path, write_tsv
from marrowtox.cart.calling import CELL_COLUMNS, CarParams, call_car, summary
from marrowtox.cart.constructs import DEFAULT as CONSTRUCTS
from marrowtox.cart.features import car_features
from marrowtox.signatures.scoring import load_sets, score_sets


def car_step(
    annotated: str,
    sample: str,
    construct: str,
    feature_override: list[str] | None,
    params: CarParams,
    gene_sets: dict[str, int],
    organism: str,
    seed: int,
    out_h5ad: str,
    out_summary: str,
    out_cells: str,
    empty_droplets: str | None = None,
    constructs: str | None = None,
    genotypes: tuple[str, str] | None = None,
    protein: dict | None = None,
) -> list[str]:
    """CAR calls and per-cell scores; writes the final per-sample AnnData and tables.

    `genotypes` (counts and sites tables of `sc_genotype`) adds the per-cell
    `geno_<gene>_<protein>` columns, so the final object carries them beside the CAR calls.
    `protein` ({"section": singlecell.protein settings, "raw": the sample's protein
    file or None, "adt": the adt column, "empty": its raw matrix for DSB or None}) adds the CAR T protein panel columns
    `prot_*` to the summary (empty when "raw" is None: a sample without proteins).
    """
    adata = ad.read_h5ad(annotated)
    if genotypes:
        from marrowtox.genotype.cells import cell_genotypes
        from marrowtox.genotype.steps import read_genotype_counts, read_sites

        geno = cell_genotypes(
            read_genotype_counts(genotypes[0]), adata.obs_names, read_sites(genotypes[1])
        )
        for col in geno.columns:
            adata.obs[col] = geno[col].values
    empties = None
    if empty_droplets:
        from marrowtox.singlecell.io import read_counts

        raw = read_counts(empty_droplets)
        # a raw matrix holds the cells too: only the other droplets measure the soup
        # (cell names may carry a "sample:" prefix after integration)
        cells = {str(n).split(":", 1)[-1] for n in adata.obs_names}
        empties = raw[~raw.obs_names.isin(list(cells))].copy()
    res = call_car(
        adata, car_features(construct, feature_override, constructs or CONSTRUCTS), params, empties
    )
    if res.cells is not None:
        adata.obs["car_umis"] = res.cells["car_umis"].to_numpy()
        adata.obs["car_positive"] = res.cells["car_positive"].to_numpy()
        cells = res.cells
    else:
        adata.obs["car_positive"] = False
        cells = pd.DataFrame(columns=CELL_COLUMNS)
    adata.uns["car_status"] = res.status
    sets = load_sets(gene_sets, organism)
    cols, skipped = score_sets(adata, sets, seed)
    adata.uns["gene_sets_skipped"] = skipped
    program_cols = [c for c in cols if c.startswith("score_TCELL_")]
    table = summary(sample, adata, res, program_cols)
    if protein is not None:
        from marrowtox.cart.protein import sample_car_panel

        panel = sample_car_panel(
            adata,
            sample,
            protein["section"],
            protein.get("raw"),
            protein.get("adt", ""),
            protein.get("empty"),
            seed,
        )
        for k, v in panel.items():
            table[k] = [v]
    write_tsv(table, out_summary)
    write_tsv(cells, out_cells)
    with atomic_path(out_h5ad) as tmp:
        adata.write_h5ad(tmp, compression="gzip")
    return skipped


__all__ = ["car_step", "Path"]
