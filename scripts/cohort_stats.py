"""Snakemake entry point: cohort association, correlation and survival tables (marrowtox.cohort)."""

import sys

from marrowtox.cohort.commands import main

sys.stderr = open(snakemake.log[0], "w")
i, o = snakemake.input, snakemake.output
rc = main(
    ["--labs", i.labs, "--events", i.events, "--scores", i.scores]
    + ["--seed", str(snakemake.params.seed)]
    + ["--out-associations", o.associations, "--out-correlations", o.correlations]
    + ["--out-survival", o.survival]
)
sys.exit(rc)
