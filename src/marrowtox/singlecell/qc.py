"""Per-sample QC following the scverse single-cell best practices (Heumos et al. 2023).

Outliers are cells beyond `nmads` median absolute deviations (scipy's
median_abs_deviation, scale 1) on log1p total counts, log1p detected genes and the
percent of counts in the top 20 genes; mitochondrial percent beyond 3 MADs or above a
hard cap. Thresholds adapt to each sample (shallow 5' data differ from deep 3' data);
the thresholds actually applied are written out so a reviewer can see them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd
from scipy.stats import median_abs_deviation


@dataclass(frozen=True)
class QCParams:
    """QC thresholds (scverse best practices: MAD outliers, a mitochondrial cap).

    Build with `from_config` so the workflow and `marrowtox sc-qc` share the schema's
    defaults; the field defaults here are the schema's, kept for unit tests.
    """

    nmads: float = 5.0
    nmads_mt: float = 3.0
    max_pct_mt: float = 20.0
    min_genes: int = 50
    mt_prefix: str = "MT-"

    @classmethod
    def from_config(cls, section: dict[str, Any], mt_prefix: str = "MT-") -> QCParams:
        """From the `singlecell.qc` section (schema defaults filled in)."""
        from marrowtox.settings import section_defaults

        values = {**section_defaults("singlecell", "qc"), **section}
        names = {f.name for f in fields(cls)} - {"mt_prefix"}
        return cls(**{k: values[k] for k in names}, mt_prefix=mt_prefix)


def _bounds(x: np.ndarray, nmads: float) -> tuple[float, float]:
    med = float(np.median(x))
    mad = float(median_abs_deviation(x))
    return med - nmads * mad, med + nmads * mad


def run_qc(adata: ad.AnnData, params: QCParams, sample: str) -> tuple[ad.AnnData, pd.DataFrame]:
    """Flag and remove low-quality cells; returns the kept cells and a one-row QC table."""
    import scanpy as sc

    adata.var["mt"] = adata.var_names.str.startswith(params.mt_prefix)
    sc.pp.calculate_qc_metrics(adata, qc_vars=["mt"], percent_top=[20], log1p=True, inplace=True)
    obs = adata.obs
    lo_c, hi_c = _bounds(obs["log1p_total_counts"].to_numpy(), params.nmads)
    lo_g, hi_g = _bounds(obs["log1p_n_genes_by_counts"].to_numpy(), params.nmads)
    lo_t, hi_t = _bounds(obs["pct_counts_in_top_20_genes"].to_numpy(), params.nmads)
    _, hi_mt_mad = _bounds(obs["pct_counts_mt"].to_numpy(), params.nmads_mt)
    hi_mt = min(hi_mt_mad, params.max_pct_mt)
    fail_counts = ~obs["log1p_total_counts"].between(lo_c, hi_c)
    fail_genes = ~obs["log1p_n_genes_by_counts"].between(lo_g, hi_g) | (
        obs["n_genes_by_counts"] < params.min_genes
    )
    fail_top = ~obs["pct_counts_in_top_20_genes"].between(lo_t, hi_t)
    fail_mt = obs["pct_counts_mt"] > hi_mt
    outlier = fail_counts | fail_genes | fail_top
    obs["qc_outlier"] = outlier.to_numpy()
    obs["qc_mt_outlier"] = fail_mt.to_numpy()
    keep = ~(outlier | fail_mt)
    table = pd.DataFrame(
        [
            {
                "sample": sample,
                "n_cells_before": adata.n_obs,
                "n_cells_after": int(keep.sum()),
                "n_fail_counts": int(fail_counts.sum()),
                "n_fail_genes": int(fail_genes.sum()),
                "n_fail_top20": int(fail_top.sum()),
                "n_fail_mt": int(fail_mt.sum()),
                "min_total_counts": float(np.expm1(lo_c)),
                "max_total_counts": float(np.expm1(hi_c)),
                "min_genes": float(max(np.expm1(lo_g), params.min_genes)),
                "max_genes": float(np.expm1(hi_g)),
                "min_pct_top20": lo_t,
                "max_pct_top20": hi_t,
                "max_pct_mt": hi_mt,
                "max_pct_mt_mad": hi_mt_mad,
                "max_pct_mt_cap": params.max_pct_mt,
                "nmads": params.nmads,
                "nmads_mt": params.nmads_mt,
                "median_total_counts": float(obs["total_counts"].median()),
                "median_genes": float(obs["n_genes_by_counts"].median()),
            }
        ]
    )
    return adata[keep.to_numpy()].copy(), table


def qc_plot(adata: ad.AnnData, table: pd.DataFrame, path: str) -> None:
    """Distributions with the applied thresholds drawn (colour-blind-safe palette)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from marrowtox.atomic import atomic_path

    t = table.iloc[0]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    o = adata.obs
    for ax, col, lines, label in (
        (axes[0], "total_counts", (t.min_total_counts, t.max_total_counts), "UMIs per cell"),
        (axes[1], "n_genes_by_counts", (t.min_genes, t.max_genes), "genes per cell"),
        (axes[2], "pct_counts_mt", (t.max_pct_mt,), "% mitochondrial"),
    ):
        ax.hist(o[col], bins=60, color="#0072B2")
        for v in lines:
            ax.axvline(v, color="#D55E00", ls="--")
        ax.set_xlabel(label)
        ax.set_ylabel("cells")
    fig.suptitle(f"{t['sample']}: {t.n_cells_after} of {t.n_cells_before} cells kept")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)
