"""Snakemake entry point: one sample's QC, doublets, labels and embedding
(marrowtox.singlecell.process)."""

import sys

from marrowtox.singlecell.annotate import AnnotateParams
from marrowtox.singlecell.doublets import DoubletParams
from marrowtox.singlecell.embed import EmbedParams
from marrowtox.singlecell.organism import mt_prefix
from marrowtox.singlecell.process import (
    SampleInputs,
    SampleOutputs,
    SampleSettings,
    process_sample,
)
from marrowtox.singlecell.qc import QCParams

sys.stderr = open(snakemake.log[0], "w")
p, seed, out = snakemake.params, snakemake.params.seed, snakemake.output
settings = SampleSettings(
    qc=QCParams.from_config(p.qc, mt_prefix(p.organism)),
    doublets=DoubletParams.from_config(p.doublets, seed),
    annotate=AnnotateParams.from_config(p.annotate, seed),
    embed=EmbedParams.from_config(p.embed, seed),
    exclude_genes=p.exclude_genes,
)
inputs = SampleInputs(
    raw=snakemake.input.raw,
    sample=snakemake.wildcards.sample,
    meta=p.meta,
    markers=snakemake.input.markers,
    organism=p.organism,
    ontology=snakemake.input.ontology,
    model=snakemake.input.model or None,
    label_map=snakemake.input.label_map or None,
)
outputs = SampleOutputs(
    out.qc,
    out.qc_png,
    out.doublets,
    out.singlets,
    out.labels,
    out.annotation,
    out.annotated,
    out.composition,
)
table = process_sample(inputs, settings, outputs)
for row in table.loc[~table["assessable"]].itertuples():
    print(f"{row.cell_type}: {row.status}", file=sys.stderr)
