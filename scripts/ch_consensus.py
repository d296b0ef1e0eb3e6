"""Snakemake entry point: UMI consensus BAM and UMI QC of one DNA sample (marrowtox.ch.consensus)."""

import sys

from marrowtox.ch.config import consensus_params_from_config
from marrowtox.ch.pileup import PileupParams
from marrowtox.ch.steps import ConsensusInputs, consensus_step

sys.stderr = open(snakemake.log[0], "w")
i, o, ch = snakemake.input, snakemake.output, snakemake.params.ch
consensus_step(
    ConsensusInputs(
        sample=snakemake.wildcards.sample,
        bam=i.bam,
        fasta=i.fasta,
        bed=i.bed,
        params=consensus_params_from_config(ch, snakemake.params.umi),
        pileup=PileupParams(ch["min_base_quality"], ch["min_mapping_quality"]),
        out_bam=o.bam,
        out_qc=o.qc,
        out_hist=o.families,
    )
)
