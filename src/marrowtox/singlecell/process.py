"""One sample's single-cell chain in one process: QC -> doublets -> labels -> embedding.

Why one process (rule `sc_process`, `marrowtox sc-process`): the four steps read nothing
but the sample and the shared reference files, and as four jobs each paid Python's
start and scanpy's import (3.1 s a process) and wrote and read back an intermediate
h5ad; a cohort of 2,000 patients carried 18,000 more jobs in its DAG, which is where
`snakemake -n` spends its time (bench/dag.py, docs/hpc.md). Each step is still a
subcommand of its own (sc-qc, sc-doublets, sc-annotate, sc-sample) built on the same
functions, and the chain writes the same files they do. The price is rerun
granularity: a changed setting of any of the four steps reruns the sample's chain
(seconds per sample).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from marrowtox import layout
from marrowtox.singlecell.annotate import AnnotateParams
from marrowtox.singlecell.doublets import DoubletParams
from marrowtox.singlecell.embed import EmbedParams
from marrowtox.singlecell.knn_graph import GraphSettings
from marrowtox.singlecell.qc import QCParams
from marrowtox.singlecell.steps import (
    AnnotateInputs,
    annotate_cells,
    annotated_sample,
    qc_cells,
    remove_doublets,
    write_h5ad,
)


@dataclass(frozen=True)
class SampleInputs:
    """The sample (its counts and its sample-sheet metadata) and the shared files its
    labels come from (model and label map empty: the marker route alone)."""

    raw: str
    sample: str
    meta: Mapping
    markers: str
    organism: str
    ontology: str | None = None
    model: str | None = None
    label_map: str | None = None


@dataclass(frozen=True)
class SampleSettings:
    """The four steps' settings (config singlecell.qc, .doublets, .annotate, .embed)
    and the genes no step clusters or embeds on (singlecell.integrate.exclude_genes)."""

    qc: QCParams
    doublets: DoubletParams
    annotate: AnnotateParams
    embed: EmbedParams
    exclude_genes: Sequence[str] = ()


@dataclass(frozen=True)
class SampleOutputs:
    """The stable per-sample paths (marrowtox.layout): QC table and plot, doublet calls,
    the singlets' counts (the cohort picture reads them), labels, annotation table,
    annotated object and composition."""

    qc_tsv: str
    qc_png: str
    doublets_tsv: str
    singlets_h5ad: str
    labels: str
    annotation: str
    annotated: str
    composition: str

    @classmethod
    def under(cls, root: str | Path, sample: str) -> SampleOutputs:
        """The workflow's paths (marrowtox.layout) under a results folder."""
        names = ("qc", "qc_plot", "doublets", "singlets", "labels", "annotation")
        names += ("annotated", "composition")
        return cls(*(str(layout.path(n, root, sample=sample)) for n in names))


def process_sample(
    inputs: SampleInputs, settings: SampleSettings, out: SampleOutputs
) -> pd.DataFrame:
    """Run the chain and write every output; returns the annotation table (per type:
    assessable or not, cells called by each route)."""
    kept = qc_cells(inputs.raw, inputs.sample, inputs.meta, settings.qc, out.qc_tsv, out.qc_png)
    singlets = remove_doublets(kept, settings.doublets, out.doublets_tsv)
    del kept
    write_h5ad(singlets, out.singlets_h5ad)
    files = AnnotateInputs(
        inputs.markers,
        inputs.organism,
        inputs.model or None,
        inputs.label_map or None,
        tuple(settings.exclude_genes),
        inputs.ontology or None,
    )
    # annotation normalises its object in place; the embedding wants raw counts
    table, graph = annotate_cells(
        singlets.copy(), inputs.sample, files, settings.annotate, out.labels, out.annotation
    )
    # the annotation's graph is the embedding's when their settings agree (the schema
    # defaults do): built once (marrowtox.singlecell.knn_graph)
    same = GraphSettings.of(settings.annotate) == GraphSettings.of(settings.embed)
    annotated_sample(
        singlets,
        out.labels,
        inputs.sample,
        out.annotated,
        out.composition,
        settings.embed,
        settings.exclude_genes,
        graph.knn if graph is not None and same else None,
    )
    return table
