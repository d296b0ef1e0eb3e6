"""Snakemake entry point: differential abundance of marrow cell types (marrowtox composition-da)."""

import sys

from marrowtox.cli import main

sys.stderr = open(snakemake.log[0], "w")
i, d = snakemake.input, snakemake.params.da
args = ["composition-da", "--compositions", *i.compositions, "--samples", i.samples]
args += ["--scores", i.scores] if i.scores else []
args += ["--min-samples", str(d["min_samples"]), "--min-cells", str(d["min_cells"])]
args += ["--post-days", *(str(x) for x in d["post_days"])]
args += ["--icaht-high-grade", str(d["icaht_high_grade"]), "--transform", d["transform"]]
args += ["--moderate" if d["moderate"] else "--no-moderate", "--conf-level", str(d["conf_level"])]
sys.exit(main([*args, "--out", snakemake.output[0]]))
