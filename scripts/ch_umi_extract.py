"""Snakemake entry point: inline UMI + spacer off read 1 of one sample (marrowtox.ch.umi_extract)."""

import sys

from marrowtox.ch.config import layout_from_config
from marrowtox.ch.steps import ExtractInputs, extract_step

sys.stderr = open(snakemake.log[0], "w")
extract_step(
    ExtractInputs(
        sample=snakemake.wildcards.sample,
        fastq=snakemake.input.fastq,
        layout=layout_from_config(snakemake.params.ch, snakemake.params.layout),
        out_fastq=snakemake.output.fastq,
        out_stats=snakemake.output.stats,
    )
)
