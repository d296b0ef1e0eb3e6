"""Snakemake entry point: paired pseudobulk DESeq2 and program activity (marrowtox car-de)."""

import sys

from marrowtox.cli import main

sys.stderr = open(snakemake.log[0], "w")
i, o, d = snakemake.input, snakemake.output, snakemake.params.de
args = ["car-de", "--h5ad", *i.h5ad, "--programs", i.programs, "--hallmark", i.hallmark]

for key in ("min_cells", "min_pairs", "min_count", "min_total_count", "fdr", "program_min_genes"):
    args += ["--" + key.replace("_", "-"), str(d[key])]
sys.exit(main([*args, "--out", o.table, "--out-programs", o.programs]))
