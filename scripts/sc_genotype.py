"""Snakemake entry point: clone-to-cell genotyping of one scRNA sample (marrowtox.genotype)."""

import sys

from marrowtox.genotype.count import GenotypeParams
from marrowtox.genotype.steps import genotype_step, labels_cells

sys.stderr = open(snakemake.log[0], "w")
i, g = snakemake.input, dict(snakemake.params.genotype)
background = g.pop("background_types")
cells, types = labels_cells(i.labels)
stats = genotype_step(
    i.bam,
    cells,
    types,
    list(i.calls),
    [i.hotspots] if i.hotspots else [],
    GenotypeParams.from_config(g),
    background,
    snakemake.output.counts,
    snakemake.output.carriers,
    snakemake.wildcards.sample,
    car_cells=i.car_cells,
)
print(", ".join(f"{k} {v}" for k, v in stats.items()), file=sys.stderr)
