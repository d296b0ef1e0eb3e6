"""Snakemake entry point: cohort integration (marrowtox.singlecell.integrate)."""

import sys

from marrowtox.singlecell.integrate import IntegrateParams
from marrowtox.singlecell.steps import integrate_step

sys.stderr = open(snakemake.log[0], "w")
i = snakemake.params.integrate
params = IntegrateParams(
    i["n_top_genes"],
    i["n_pcs"],
    i["n_neighbors"],
    i["leiden_resolution"],
    i["min_cells_per_gene"],
    i["harmony_key"],
    snakemake.params.seed,
)
integrate_step(
    list(snakemake.input),
    list(snakemake.params.samples),
    params,
    snakemake.output[0],
    exclude_genes=i["exclude_genes"],
)
