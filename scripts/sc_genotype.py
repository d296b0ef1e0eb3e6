"""Snakemake entry point: per-cell allele counts of one scRNA sample (marrowtox.genotype)."""

import sys

from marrowtox.genotype.count import GenotypeParams
from marrowtox.genotype.steps import genotype_step, labels_cells

sys.stderr = open(snakemake.log[0], "w")
i = snakemake.input
cells, _ = labels_cells(i.labels)
stats = genotype_step(
    i.bam,
    cells,
    None,
    list(i.calls),
    [i.hotspots] if i.hotspots else [],
    GenotypeParams.from_config(snakemake.params.genotype),
    (),
    snakemake.output.counts,
    None,
    snakemake.wildcards.sample,
    out_sites=snakemake.output.sites,
)
print(", ".join(f"{k} {v}" for k, v in stats.items()), file=sys.stderr)
