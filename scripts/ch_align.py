"""Snakemake entry point: alignment of one sample's extracted UMI reads (marrowtox.ch.align)."""

import sys

from marrowtox.ch.steps import AlignInputs, align_step

sys.stderr = open(snakemake.log[0], "w")
align_step(
    AlignInputs(
        sample=snakemake.wildcards.sample,
        fastq=snakemake.input.fastq,
        fasta=snakemake.input.fasta,
        out_bam=snakemake.output.bam,
        out_stats=snakemake.output.stats,
    )
)
