"""Snakemake entry point: CAR+ calls and per-cell program scores (marrowtox.cart)."""

import sys

from marrowtox.cart.calling import CarParams
from marrowtox.cart.steps import car_step, default_sets

sys.stderr = open(snakemake.log[0], "w")
c, s = snakemake.params.cart, snakemake.params.signatures
skipped = car_step(
    snakemake.input[0],
    snakemake.wildcards.sample,
    snakemake.params.construct,
    c["features"],
    CarParams(c["fdr"], c["min_umis"]),
    default_sets(s["hallmark_min_genes"], s["program_min_genes"]),
    snakemake.params.organism,
    snakemake.params.seed,
    snakemake.output.h5ad,
    snakemake.output.summary,
    snakemake.output.cells,
)
print("gene sets skipped: " + ("; ".join(skipped) or "none"), file=sys.stderr)
