"""Snakemake entry point: one patient's HTML report (marrowtox.report.build)."""

import sys

from marrowtox.report.build import patient_report
from marrowtox.samplesheet import load_samples, load_schema, read_table

sys.stderr = open(snakemake.log[0], "w")
samples = load_samples(snakemake.input.samples, check_files=False).reset_index(drop=True)
ev_path = snakemake.params.events
events = read_table(ev_path, load_schema("events.schema.yaml"), "events") if ev_path else None
flow = None
if snakemake.input.get("flow"):
    from marrowtox.clinical.flow import load_flow

    flow = load_flow(snakemake.input.flow, set(samples["patient"]))
r = snakemake.params.report
patient_report(
    snakemake.wildcards.patient,
    samples,
    events,
    "results",
    snakemake.output[0],
    r["pseudonymise"],
    r["products"],
    flow,
    min_depth=snakemake.config["ch"]["min_depth"],
)
