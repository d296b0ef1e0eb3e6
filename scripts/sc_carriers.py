"""Snakemake entry point: carrier calls per cell type and CAR T (marrowtox.genotype)."""

import sys

from marrowtox.genotype.count import GenotypeParams
from marrowtox.genotype.steps import carriers_step

sys.stderr = open(snakemake.log[0], "w")
i, g = snakemake.input, dict(snakemake.params.genotype)
background = g.pop("background_types")
carriers_step(
    i.counts,
    i.sites,
    i.labels,
    GenotypeParams.from_config(g),
    background,
    snakemake.output[0],
    snakemake.wildcards.sample,
    car_cells=i.car_cells,
)
