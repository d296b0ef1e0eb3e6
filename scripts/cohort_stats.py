"""Snakemake entry point: cohort association, correlation and survival tables (marrowtox.cohort)."""

import sys

from marrowtox.cohort.commands import main

sys.stderr = open(snakemake.log[0], "w")
i, o, c = snakemake.input, snakemake.output, snakemake.params.cohort
rc = main(
    ["--labs", i.labs, "--events", i.events, "--scores", i.scores, "--panel", i.panel]
    + ["--seed", str(snakemake.params.seed)]
    + ["--n-boot", str(c["n_boot"]), "--conf-level", str(c["conf_level"])]
    + ["--min-per-group", str(c["min_per_group"]), "--min-pairs", str(c["min_pairs"])]
    + ["--min-events", str(c["min_events"])]
    + ["--caveat-min-per-group", str(c["caveat_min_per_group"])]
    + ["--roc-markers", str(c["roc_markers"])]
    + ["--times", *(str(t) for t in c["times"])]
    + ["--cox", *c["cox"]]
    + ["--out-associations", o.associations, "--out-correlations", o.correlations]
    + ["--out-survival", o.survival, "--out-curves", o.curves, "--out-roc", o.roc],
    windows=c["windows"],
)
sys.exit(rc)
