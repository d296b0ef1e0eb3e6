"""File-level steps of the single-cell branch (what the rules and subcommands run)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from marrowtox.atomic import atomic_path, write_tsv
from marrowtox.errors import InputError
from marrowtox.singlecell.annotate import AnnotateParams, annotate, composition, load_markers
from marrowtox.singlecell.doublets import call_doublets
from marrowtox.singlecell.integrate import IntegrateParams, integrate, merge
from marrowtox.singlecell.io import read_counts
from marrowtox.singlecell.qc import QCParams, qc_plot, run_qc

META = ("patient", "timepoint", "day", "batch")


def write_h5ad(adata: ad.AnnData, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        adata.write_h5ad(tmp, compression="gzip")


def qc_step(
    raw: str,
    sample: str,
    meta: Mapping,
    params: QCParams,
    out_h5ad: str,
    out_tsv: str,
    out_png: str,
) -> None:
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
    write_h5ad(kept, out_h5ad)


def doublet_step(
    in_h5ad: str, out_h5ad: str, rate: float, seed: int, remove: bool, out_tsv: str | None = None
) -> None:
    """Scrublet on one sample; the calls of every cell (also removed ones) go to `out_tsv`."""
    adata = ad.read_h5ad(in_h5ad)
    result = call_doublets(adata, rate, seed, remove)
    calls = result.uns.pop("doublet_calls")
    if out_tsv:
        write_tsv(calls.rename_axis("barcode").reset_index(), out_tsv)
    write_h5ad(result, out_h5ad)


def integrate_step(
    paths: Sequence[str],
    samples: Sequence[str],
    params: IntegrateParams,
    out: str,
    exclude_genes: Sequence[str] = (),
) -> None:
    adatas = [ad.read_h5ad(p) for p in paths]
    merged = merge(adatas, samples)
    write_h5ad(integrate(merged, params, exclude_genes), out)


def annotate_step(
    integrated: str,
    per_sample: Mapping[str, str],
    markers_path: str,
    organism: str,
    params: AnnotateParams,
    out_cohort: str,
    out_annotated: Mapping[str, str],
    out_composition: Mapping[str, str],
    umap_png: str,
) -> list[str]:
    """Annotate the cohort; write cohort.h5ad and per-sample annotated files.

    Per-sample files are built from that sample's own matrix (all its features, e.g.
    its CAR construct), not from the outer-joined cohort, so a feature absent from a
    sample's reference stays absent rather than becoming zeros.
    """
    import scanpy as sc

    cohort = ad.read_h5ad(integrated)
    cohort, skipped = annotate(cohort, load_markers(markers_path, organism), params)
    write_h5ad(cohort, out_cohort)
    umap_plot(cohort, umap_png)
    for sample, path in per_sample.items():
        a = ad.read_h5ad(path)
        names = [f"{sample}:{b}" for b in a.obs_names]
        sub = cohort.obs.loc[names]
        for col in ("leiden", "cell_type", "cell_type_confidence"):
            a.obs[col] = sub[col].to_numpy()
        a.obsm["X_umap"] = cohort[names].obsm["X_umap"]
        a.layers["counts"] = a.X.copy()
        sc.pp.normalize_total(a, target_sum=1e4)
        sc.pp.log1p(a)
        write_h5ad(a, out_annotated[sample])
        comp = composition(cohort.obs, sample)
        write_tsv(comp, out_composition[sample])
    return skipped


def umap_plot(adata: ad.AnnData, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    xy = adata.obsm["X_umap"]
    types = adata.obs["cell_type"].astype(str).to_numpy()
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
    ax.set_title("Cohort UMAP (Harmony-integrated), cell types")
    ax.legend(markerscale=4, fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)


def qc_summary(tables: Sequence[str]) -> pd.DataFrame:
    return pd.concat([pd.read_csv(t, sep="\t") for t in tables], ignore_index=True)


__all__ = ["annotate_step", "doublet_step", "integrate_step", "qc_step", "np"]
