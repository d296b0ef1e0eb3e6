"""File-level steps of the single-cell branch (what the rules and subcommands run)."""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from marrowtox.atomic import atomic_path, write_tsv
from marrowtox.errors import InputError
from marrowtox.singlecell.annotate import (
    AnnotateParams,
    SampleGraph,
    composition,
    load_markers,
)
from marrowtox.singlecell.cohort_store import merge_to_disk
from marrowtox.singlecell.doublets import DoubletParams, call_doublets
from marrowtox.singlecell.embed import EmbedParams, sample_embedding
from marrowtox.singlecell.integrate import IntegrateParams, write_picture
from marrowtox.singlecell.io import read_counts
from marrowtox.singlecell.lognorm import TARGET_SUM
from marrowtox.singlecell.qc import QCParams, qc_plot, run_qc
from marrowtox.singlecell.reference import ReferenceParams, train_model

META = ("patient", "timepoint", "day", "batch")


def write_h5ad(adata: ad.AnnData, path: str | Path, compress: bool = True) -> None:
    """Results kept for users are gzip level 1 (most of level 4's size gain at a
    fraction of its time); intermediates the workflow deletes are written uncompressed."""
    with atomic_path(path) as tmp:
        if compress:
            adata.write_h5ad(tmp, compression="gzip", compression_opts=1)
        else:
            adata.write_h5ad(tmp)


def qc_step(
    raw: str,
    sample: str,
    meta: Mapping,
    params: QCParams,
    out_h5ad: str,
    out_tsv: str,
    out_png: str,
) -> None:
    kept = qc_cells(raw, sample, meta, params, out_tsv, out_png)
    write_h5ad(kept, out_h5ad, compress=False)  # temp() in the workflow


def qc_cells(
    raw: str, sample: str, meta: Mapping, params: QCParams, out_tsv: str, out_png: str
) -> ad.AnnData:
    """The cells of `raw` that pass QC, with the sample sheet's metadata in obs; the
    per-cell QC table and plot are written (a sample with no cell left is an error)."""
    adata = read_counts(raw)
    kept, table = run_qc(adata, params, sample)
    qc_plot(adata, table, out_png)
    if kept.n_obs == 0:
        raise InputError(
            f"no cell of sample {sample} passed QC (thresholds in the log)",
            file=raw,
            expected="cells with counts, genes and mitochondrial % within the QC limits",
        )
    kept.obs["sample"] = sample
    for k in META:
        kept.obs[k] = meta[k]
    write_tsv(table, out_tsv)
    return kept


def doublet_step(
    in_h5ad: str, out_h5ad: str, params: DoubletParams, out_tsv: str | None = None
) -> None:
    """Scrublet on one sample; the calls of every cell (also removed ones) go to `out_tsv`."""
    write_h5ad(remove_doublets(ad.read_h5ad(in_h5ad), params, out_tsv), out_h5ad)


def remove_doublets(
    adata: ad.AnnData, params: DoubletParams, out_tsv: str | None = None
) -> ad.AnnData:
    """The singlets of one sample (scrublet); the calls of every cell go to `out_tsv`."""
    result = call_doublets(adata, params)
    calls = result.uns.pop("doublet_calls")
    if out_tsv:
        write_tsv(calls.rename_axis("barcode").reset_index(), out_tsv)
    return result


def integrate_step(
    paths: Sequence[str],
    samples: Sequence[str],
    params: IntegrateParams,
    out: str,
    exclude_genes: Sequence[str] = (),
    labels: Sequence[str] = (),
    umap_png: str | None = None,
    out_status: str | None = None,
) -> pd.DataFrame:
    """The cohort object for display: merged counts with the measured-gene mask per
    sample, Harmony embedding, cohort UMAP and Leiden, and each sample's own labels
    (`labels`: the per-sample label tables of sc-annotate, in the order of `paths`).

    Labels are never computed here: they come from each sample alone, so adding a
    patient to the cohort changes the picture, not the labels. Nothing per sample reads
    this step's outputs, so an integration that fails (a mixed cohort no method can
    embed, memory) is a note, not a stopped workflow: the merged, labelled counts are
    still written, `out_status` (and uns['integration']) says what happened and why,
    and the UMAP figure carries the note instead of a picture. Returns the status row.
    """
    # concatenated on disk and written block by block: memory holds the sketch and one
    # block of cells, not the cohort (marrowtox.singlecell.cohort_store)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=Path(out).parent, prefix=".merge.") as scratch:
        merged = merge_to_disk(paths, samples, scratch)
        if labels:
            _attach_cohort_labels(merged.obs, labels, samples)
        cohort = write_picture(merged, params, out, exclude_genes)
    info = cohort.uns["integration"]
    status = {"status": "integrated" if "X_umap" in cohort.obsm else "failed", **info}
    print(f"cohort picture: {status}", file=sys.stderr)
    row = pd.DataFrame([{"n_samples": len(samples), "n_cells": cohort.n_obs, **status}])[
        ["n_samples", "n_cells", "status", "hvg_flavour", "harmony", "note"]
    ]
    if umap_png:
        umap_plot(cohort, umap_png, status["note"])
    if out_status:
        write_tsv(row, out_status)
    return row


def _attach_cohort_labels(obs: pd.DataFrame, labels: Sequence[str], samples: Sequence[str]) -> None:
    table = pd.concat(
        [
            _read_labels(p).rename(index=lambda b, s=s: f"{s}:{b}")
            for p, s in zip(labels, samples, strict=True)
        ]
    )
    missing = obs.index.difference(table.index)
    if len(missing):
        raise InputError(
            f"{len(missing)} cells (e.g. {missing[0]}) have no label",
            file=labels[0],
            expected="the per-sample label tables of the same run (rerun sc_sample)",
        )
    _attach_labels(obs, table.loc[obs.index])


LABEL_COLUMNS = (
    "cell_type",
    "cell_type_confidence",
    "cell_type_route",
    "cell_type_ontology_term_id",
)


def _read_labels(path: str) -> pd.DataFrame:
    return pd.read_csv(
        path,
        sep="\t",
        dtype={"barcode": str, "leiden_sample": str},
        keep_default_na=False,
        na_values=[""],
    ).set_index("barcode")


def _attach_labels(obs: pd.DataFrame, table: pd.DataFrame) -> None:
    """The label table's columns on `obs` (in place; rows in the same order)."""
    from marrowtox.celltypes import CELL_TYPES, UNKNOWN

    obs["cell_type"] = pd.Categorical(
        table["cell_type"].astype(str).to_numpy(), categories=[*CELL_TYPES, UNKNOWN]
    )
    obs["cell_type_confidence"] = table["cell_type_confidence"].to_numpy(dtype=float)
    for col in ("cell_type_route", "cell_type_ontology_term_id", "leiden_sample"):
        obs[col] = pd.Categorical(table[col].astype(str).to_numpy())
    for col in table.columns:
        if col.startswith("score_ct_"):
            obs[col] = table[col].to_numpy(dtype=float)
    for col in ("marker_label", "reference_label", "reference_type"):
        if col in table:
            obs[col] = pd.Categorical(table[col].astype(str).to_numpy())
    for col in ("marker_confidence", "reference_confidence"):
        if col in table:
            obs[col] = table[col].to_numpy(dtype=float)


def reference_step(reference: str, params: ReferenceParams, out_model: str, out_tsv: str) -> None:
    """Train the CellTypist model of the reference route (sc_reference)."""
    write_tsv(train_model(reference, params, out_model), out_tsv)


@dataclass(frozen=True)
class AnnotateInputs:
    """What annotation reads besides the sample: the marker file, the reference model
    and its label map (none: the marker route alone), the ontology, and the genes no
    step may cluster on (singlecell.integrate.exclude_genes)."""

    markers_path: str
    organism: str
    model_path: str | None = None
    label_map_path: str | None = None
    exclude_genes: Sequence[str] = ()
    ontology_path: str | None = None


def annotate_step(
    in_h5ad: str,
    sample: str,
    markers_path: str,
    organism: str,
    params: AnnotateParams,
    out_labels: str,
    out_table: str,
    model_path: str | None = None,
    label_map_path: str | None = None,
    exclude_genes: Sequence[str] = (),
    ontology_path: str | None = None,
) -> pd.DataFrame:
    """Annotate one sample on its own (its genes, its clusters, its control genes).

    Writes the per-cell label table and results/singlecell/<sample>.annotation.tsv (per
    type: markers used and missing, assessable or not, cells called by each route);
    returns the latter.
    """
    inputs = AnnotateInputs(
        markers_path, organism, model_path, label_map_path, tuple(exclude_genes), ontology_path
    )
    table, _ = annotate_cells(ad.read_h5ad(in_h5ad), sample, inputs, params, out_labels, out_table)
    return table


def annotate_cells(
    a: ad.AnnData,
    sample: str,
    inputs: AnnotateInputs,
    params: AnnotateParams,
    out_labels: str,
    out_table: str,
) -> tuple[pd.DataFrame, SampleGraph | None]:
    """annotate_step on a sample in memory (raw counts in X; normalised in place);
    returns the annotation table and the sample's own graph (None: too small)."""
    import scanpy as sc

    from marrowtox.singlecell.annotate import sample_graph, score_markers
    from marrowtox.singlecell.labels import combine, load_ontology

    a.layers["counts"] = a.X.copy()
    sc.pp.normalize_total(a, target_sum=TARGET_SUM)
    sc.pp.log1p(a)
    keep = ~a.var_names.isin(list(inputs.exclude_genes))
    graph = sample_graph(a[:, keep], params)
    clusters = None if graph is None else graph.clusters
    neighbours = None if graph is None else graph.neighbours
    markers, assess = score_markers(
        a, load_markers(inputs.markers_path, inputs.organism), params, clusters, neighbours
    )
    route = _reference_route(a, inputs, params, neighbours)
    final = combine(markers, route.labels, params.min_confidence, params.marker_override)
    ontology = load_ontology(inputs.ontology_path) if inputs.ontology_path else load_ontology()
    table = pd.DataFrame(index=a.obs_names)
    table["leiden_sample"] = clusters if clusters is not None else "0"
    table = table.join(final)
    table["cell_type_ontology_term_id"] = [ontology[t] for t in final["cell_type"].astype(str)]
    table = table.join(markers)
    if route.labels is not None:
        table = table.join(route.labels)
    write_tsv(table.rename_axis("barcode").reset_index(), out_labels)
    assess = _assessment(assess, sample, final, markers, route, a.n_obs)
    write_tsv(assess, out_table)
    return assess, graph


@dataclass(frozen=True)
class _Route:
    """The reference route's outcome on one sample (labels None: not used, and why)."""

    labels: pd.DataFrame | None
    features_measured: float
    model_name: str
    status: str


def _reference_route(
    a: ad.AnnData, inputs: AnnotateInputs, params: AnnotateParams, neighbours
) -> _Route:
    from marrowtox.singlecell import reference as ref

    if not inputs.model_path:
        return _Route(None, float("nan"), "", "no reference model")
    if not inputs.label_map_path:
        raise InputError(
            "a reference model needs a label map",
            expected="singlecell.annotate.reference.label_map: <YAML label -> type>",
        )
    model = ref.load_model(inputs.model_path)
    label_map = ref.load_label_map(inputs.label_map_path)
    ref.check_map_covers(model, label_map, inputs.label_map_path)
    name = Path(inputs.model_path).name
    found = ref.feature_share(a, model)
    if found < params.min_feature_share:
        # a model judged on a small part of its features says little (the shipped
        # marrow model on a simulated or panel sample): the marker route decides
        status = (
            f"not used: {found:.1%} of the model's features measured "
            f"(< min_feature_share {params.min_feature_share:.0%})"
        )
        return _Route(None, found, name, status)
    labels, found = ref.predict(a, model, label_map, neighbours, params.reference_neighbour_weight)
    return _Route(labels, found, name, "used")


def _assessment(
    assess: pd.DataFrame,
    sample: str,
    final: pd.DataFrame,
    markers: pd.DataFrame,
    route: _Route,
    n_obs: int,
) -> pd.DataFrame:
    """Per type: cells called, by which route; the reference route's status."""
    from marrowtox.singlecell.labels import route_agreement

    called = final["cell_type"].astype(str)
    by_route = final["cell_type_route"]
    assess.insert(0, "sample", sample)
    assess["n_cells"] = [int((called == t).sum()) for t in assess["cell_type"]]
    assess["n_by_markers"] = [
        int(((called == t) & (by_route == "markers")).sum()) for t in assess["cell_type"]
    ]
    assess["n_by_reference"] = [
        int(((called == t) & (by_route == "reference")).sum()) for t in assess["cell_type"]
    ]
    assess["reference_model"] = route.model_name
    assess["reference_features_measured"] = route.features_measured
    assess["reference_status"] = route.status
    assess["route_agreement"] = route_agreement(markers, route.labels)
    assess["n_unknown"] = int((called == "unknown").sum())
    assess["n_cells_sample"] = n_obs
    return assess


def sample_step(
    per_sample: str,
    labels: str,
    sample: str,
    out_annotated: str,
    out_composition: str,
    params: EmbedParams,
    exclude_genes: Sequence[str] = (),
) -> None:
    """One sample's annotated object, from its own matrix (all its features, e.g. its CAR
    construct, rather than the outer-joined cohort's), its own labels and its own
    embedding (obsm['X_umap']; uns['embedding_note'] says why a sample has none).

    Nothing here reads the cohort: CAR calls, signatures and reports of a sample never
    wait on the cohort picture (sc_integrate is a display leaf)."""
    annotated_sample(
        ad.read_h5ad(per_sample),
        labels,
        sample,
        out_annotated,
        out_composition,
        params,
        exclude_genes,
    )


def annotated_sample(
    a: ad.AnnData,
    labels: str,
    sample: str,
    out_annotated: str,
    out_composition: str,
    params: EmbedParams,
    exclude_genes: Sequence[str] = (),
    knn: ad.AnnData | None = None,
) -> None:
    """sample_step on a sample in memory (raw counts in X), its labels read from the
    table `labels` as written (the same values whether or not it ran in this process);
    `knn`: the sample's graph when already built with the embedding's settings."""
    import scanpy as sc

    table = _read_labels(labels)
    missing = a.obs_names.difference(table.index)
    if len(missing):
        raise InputError(
            f"{len(missing)} cells of {sample} (e.g. {missing[0]}) are not in the label table",
            file=labels,
            expected="the label table of the same run (rerun sc_sample)",
        )
    _attach_labels(a.obs, table.loc[a.obs_names])
    emb = sample_embedding(a, params, tuple(exclude_genes), knn)
    if emb.xy is not None:
        a.obsm["X_umap"] = emb.xy
    a.uns["embedding_note"] = emb.note
    if emb.note:
        print(f"{sample} embedding: {emb.note}", file=sys.stderr)
    a.layers["counts"] = a.X.copy()
    sc.pp.normalize_total(a, target_sum=TARGET_SUM)
    sc.pp.log1p(a)
    write_h5ad(a, out_annotated)
    obs = pd.DataFrame({"sample": sample, "cell_type": a.obs["cell_type"].astype(str)})
    write_tsv(composition(obs, sample), out_composition)


def umap_plot(adata: ad.AnnData, path: str, note: str = "") -> None:
    """The cohort UMAP by per-sample cell type (by cohort Leiden cluster when no labels
    were given: `marrowtox sc-integrate` without --labels); without an embedding, the
    note instead."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    if "X_umap" not in adata.obsm:
        fig, ax = plt.subplots(figsize=(6.5, 2))
        ax.axis("off")
        ax.text(0, 0.5, "No cohort picture.\n" + note, wrap=True, fontsize=9, va="center")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=90)
        plt.close(fig)
        return
    xy = adata.obsm["X_umap"]
    by = "cell_type" if "cell_type" in adata.obs else "leiden"
    types = adata.obs[by].astype(str).to_numpy()
    cats = sorted(set(types))
    pal = dict(
        zip(
            cats,
            sns.color_palette("colorblind", len(cats))
            if len(cats) <= 10
            else sns.color_palette("tab20", len(cats)),
            strict=True,
        )
    )
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for c in cats:
        m = types == c
        ax.scatter(xy[m, 0], xy[m, 1], s=2, color=pal[c], label=c, rasterized=True)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(
        "Cohort UMAP ("
        + (
            "Harmony-integrated"
            if adata.uns.get("integration", {}).get("harmony") == "yes"
            else "not batch-corrected"
        )
        + ("), per-sample cell types" if by == "cell_type" else "), cohort Leiden clusters")
    )
    ax.legend(markerscale=4, fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)


def qc_summary(tables: Sequence[str]) -> pd.DataFrame:
    return pd.concat([pd.read_csv(t, sep="\t") for t in tables], ignore_index=True)


__all__ = [
    "AnnotateInputs",
    "annotate_cells",
    "annotate_step",
    "annotated_sample",
    "doublet_step",
    "remove_doublets",
    "integrate_step",
    "qc_cells",
    "qc_step",
    "reference_step",
    "sample_step",
    "np",
]
