"""Snakemake entry point: scores by cell type and index vs baseline (marrowtox.signatures)."""

import sys

from marrowtox.signatures.steps import gene_sets, signatures_step

sys.stderr = open(snakemake.log[0], "w")
i, s = snakemake.input, snakemake.params.signatures
signatures_step(
    i.scored,
    snakemake.wildcards.sample,
    list(i.baselines),
    snakemake.params.source,
    gene_sets(i.programs, i.hallmark, s["program_min_genes"], s["hallmark_min_genes"]),
    snakemake.params.organism,
    snakemake.output[0],
)
