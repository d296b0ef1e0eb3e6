"""Snakemake entry point: results/cohort/patients.tsv and heatmap_scale.tsv from the
parts (marrowtox.report.build.merge_cohort_parts)."""

import sys

from marrowtox.report.build import merge_cohort_parts

sys.stderr = open(snakemake.log[0], "w")
merge_cohort_parts(
    snakemake.input.tables,
    snakemake.input.scales,
    snakemake.output.table,
    snakemake.output.scale,
)
