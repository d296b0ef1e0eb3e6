"""Snakemake entry point: one part of results/cohort/patients.tsv, the rows of
snakemake.params.patients (marrowtox.report.cohort_table; joined by report_cohort_merge)."""

import sys

from marrowtox.report.build import write_cohort_table
from marrowtox.samplesheet import load_samples

sys.stderr = open(snakemake.log[0], "w")
samples = load_samples(snakemake.input.samples, check_files=False).reset_index(drop=True)
flow = None
if snakemake.input.get("flow"):
    from marrowtox.clinical.flow import load_flow

    flow = load_flow(snakemake.input.flow, set(samples["patient"]))
write_cohort_table(
    samples,
    "results",
    snakemake.output.table,
    snakemake.output.scale,
    flow=flow,
    min_depth=snakemake.config["ch"]["min_depth"],
    patients=snakemake.params.patients,
)
