"""File-level steps of the single-cell branch (what the rules and subcommands run)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from marrowtox.atomic import atomic_dir, atomic_path, write_tsv
from marrowtox.errors import InputError
from marrowtox.singlecell.annotate import AnnotateParams, annotate, composition, load_markers
from marrowtox.singlecell.doublets import call_doublets
from marrowtox.singlecell.integrate import IntegrateParams, integrate, merge
from marrowtox.singlecell.io import read_counts
from marrowtox.singlecell.qc import QCParams, qc_plot, run_qc

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
    write_h5ad(kept, out_h5ad, compress=False)  # temp() in the workflow


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
    # no name keeps the per-sample objects alive: only the merged matrix stays in memory
    merged = merge([ad.read_h5ad(p) for p in paths], samples)
    write_h5ad(integrate(merged, params, exclude_genes), out, compress=False)  # temp()


def annotate_step(
    integrated: str,
    markers_path: str,
    organism: str,
    params: AnnotateParams,
    out_cohort: str,
    out_cells: str,
    umap_png: str,
) -> list[str]:
    """Annotate the cohort; write cohort.h5ad, the UMAP plot and, in the folder
    `out_cells`, one table per sample of its cells' labels and UMAP coordinates.

    The per-sample objects are built by `sample_step`, one job per sample: one cohort
    job with an output per sample would make Snakemake's DAG quadratic in the number
    of samples (bench/dag.py).
    """
    cohort = ad.read_h5ad(integrated)
    cohort, skipped = annotate(cohort, load_markers(markers_path, organism), params)
    write_h5ad(cohort, out_cohort)
    umap_plot(cohort, umap_png)
    obs = cohort.obs
    table = pd.DataFrame(
        {
            "sample": obs["sample"].astype(str).to_numpy(),
            "barcode": [str(n).split(":", 1)[1] for n in cohort.obs_names],
            "leiden": obs["leiden"].astype(str).to_numpy(),
            "cell_type": obs["cell_type"].astype(str).to_numpy(),
            "cell_type_confidence": obs["cell_type_confidence"].to_numpy(),
            "umap_1": cohort.obsm["X_umap"][:, 0],
            "umap_2": cohort.obsm["X_umap"][:, 1],
        }
    )
    with atomic_dir(out_cells) as tmp:
        for sample in sorted(obs["sample"].astype(str).unique()):
            sub = table[table["sample"] == sample].drop(columns="sample")
            # %.17g: coordinates round-trip exactly into the per-sample objects
            sub.to_csv(tmp / f"{sample}.tsv", sep="\t", index=False, float_format="%.17g")
    return skipped


def sample_step(
    per_sample: str, cells: str, sample: str, out_annotated: str, out_composition: str
) -> None:
    """One sample's annotated object, from its own matrix (all its features, e.g. its CAR
    construct, rather than the outer-joined cohort's) and its cells' cohort labels."""
    import scanpy as sc

    a = ad.read_h5ad(per_sample)
    path = Path(cells) / f"{sample}.tsv"
    labels = (
        pd.read_csv(path, sep="\t", dtype={"barcode": str, "leiden": str}).set_index("barcode")
        if path.exists()
        else pd.DataFrame(
            columns=["leiden", "cell_type", "cell_type_confidence", "umap_1", "umap_2"]
        )
    )
    missing = a.obs_names.difference(labels.index)
    if len(missing):
        raise InputError(
            f"{len(missing)} cells of {sample} (e.g. {missing[0]}) have no cohort label",
            file=path,
            expected="the cohort annotation of the same run (rerun sc_annotate)",
        )
    sub = labels.loc[a.obs_names]
    for col in ("leiden", "cell_type"):
        a.obs[col] = pd.Categorical(sub[col].astype(str).to_numpy())
    a.obs["cell_type_confidence"] = sub["cell_type_confidence"].to_numpy(dtype=float)
    a.obsm["X_umap"] = sub[["umap_1", "umap_2"]].to_numpy(dtype=float)
    a.layers["counts"] = a.X.copy()
    sc.pp.normalize_total(a, target_sum=1e4)
    sc.pp.log1p(a)
    write_h5ad(a, out_annotated)
    obs = pd.DataFrame({"sample": sample, "cell_type": a.obs["cell_type"].astype(str)})
    write_tsv(composition(obs, sample), out_composition)


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


__all__ = ["annotate_step", "doublet_step", "integrate_step", "qc_step", "sample_step", "np"]
