"""Snakemake entry point: scores by cell type and index vs baseline (marrowtox.cart.aggregate)."""

import sys

from marrowtox.cart.steps import default_sets, signatures_step

sys.stderr = open(snakemake.log[0], "w")
s = snakemake.params.signatures
signatures_step(
    snakemake.input.scored,
    snakemake.wildcards.sample,
    list(snakemake.input.baselines),
    snakemake.params.source,
    default_sets(s["hallmark_min_genes"], s["program_min_genes"]),
    snakemake.params.organism,
    snakemake.output[0],
)
