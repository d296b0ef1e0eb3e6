"""Snakemake entry point: write results/provenance.json."""

from marrowtox.provenance import write

write(
    snakemake.params.config,
    snakemake.input.resources,
    snakemake.params.basedir,
    snakemake.output[0],
)  # noqa: F821
