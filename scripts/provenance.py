"""Snakemake entry point: write results/provenance.json (marrowtox.provenance)."""

from pathlib import Path

from marrowtox.provenance import write

# the repository root is the parent of scripts/: resource paths are recorded relative to it
write(
    snakemake.params.config,
    snakemake.input.resources,
    Path(snakemake.scriptdir).parent,
    snakemake.output[0],
)
