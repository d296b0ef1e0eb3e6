"""Snakemake entry point: CAR+ calls and per-cell program scores (marrowtox.cart)."""

import sys

from marrowtox.cart.calling import CarParams
from marrowtox.cart.steps import car_step
from marrowtox.signatures.steps import gene_sets

sys.stderr = open(snakemake.log[0], "w")
i, c, s = snakemake.input, snakemake.params.cart, snakemake.params.signatures
skipped = car_step(
    i.h5ad,
    snakemake.wildcards.sample,
    snakemake.params.construct,
    snakemake.params.features,
    CarParams.from_settings(c),
    gene_sets(i.programs, i.hallmark, s["program_min_genes"], s["hallmark_min_genes"]),
    snakemake.params.organism,
    snakemake.params.seed,
    snakemake.output.h5ad,
    snakemake.output.summary,
    snakemake.output.cells,
    empty_droplets=i.get("empty_droplets") or None,
    constructs=i.constructs,
    genotypes=(i.genotypes, i.sites) if i.get("genotypes") else None,
    protein={
        "section": {
            **snakemake.params.protein,
            **({"aliases": i.aliases} if i.get("aliases") else {}),
        },
        "raw": i.get("proteins") or None,
        "adt": i.get("adt") or "",
        "empty": i.get("raw_matrix") or None,
    },
)
print("gene sets skipped: " + ("; ".join(skipped) or "none"), file=sys.stderr)
