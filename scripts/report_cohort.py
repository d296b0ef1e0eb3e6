"""Snakemake entry point: the cohort HTML report (marrowtox.report.build)."""

import sys

from marrowtox.report.build import cohort_report
from marrowtox.samplesheet import load_samples

sys.stderr = open(snakemake.log[0], "w")
samples = load_samples(snakemake.input.samples, check_files=False).reset_index(drop=True)
print(
    cohort_report(samples, "results", snakemake.output[0], snakemake.params.report["pseudonymise"]),
    file=sys.stderr,
)
