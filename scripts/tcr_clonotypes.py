"""Snakemake entry point: T-cell receptor clonotypes of one patient
(marrowtox.cart.clonotypes)."""

import sys

from marrowtox.cart.clonotypes import ClonotypeParams, VdjInputs, VdjSample, write_result

sys.stderr = open(snakemake.log[0], "w")
p = snakemake.params
inputs = VdjInputs(
    p.patient,
    [
        VdjSample(*row)
        for row in zip(
            p.samples,
            p.days,
            p.specimens,
            p.fractions,
            snakemake.input.contigs,
            snakemake.input.car_cells,
            strict=True,
        )  # fmt: skip
    ],
)
write_result(
    inputs,
    ClonotypeParams.from_config(p.clonotypes),
    list(snakemake.output.cells),
    list(snakemake.output.expansion),
    snakemake.output.clonotypes,
)
