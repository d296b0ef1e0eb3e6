"""DESeq2 on pseudobulk profiles, via pydeseq2 (Muzellec et al., Bioinformatics 2023;
Love, Huber & Anders, Genome Biol 2014).

Negative-binomial GLM with median-of-ratios size factors, shrunken dispersions and a
Wald test of one contrast; p-values adjusted by Benjamini-Hochberg after DESeq2's
independent filtering (genes whose mean is too low to reach significance get no
adjusted p-value: the table says so rather than giving a number).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

COLUMNS = [
    "gene",
    "base_mean",
    "log2fc",
    "lfc_se",
    "stat",
    "p_value",
    "fdr",
    "significant",
    "status",
]


@dataclass(frozen=True)
class DESeqSpec:
    counts: pd.DataFrame  # profiles x genes (integers)
    meta: pd.DataFrame  # profiles x factors of the design
    design: str  # formula, e.g. "~ sample + car"
    factor: str  # the tested factor
    test: str  # its level tested ...
    reference: str  # ... against this one
    fdr: float


def deseq(spec: DESeqSpec) -> pd.DataFrame:
    """One row per gene: base mean, log2 fold change (test vs reference), its SE, Wald
    statistic, p, BH-adjusted p and whether it passes `fdr`."""
    from pydeseq2.dds import DeseqDataSet
    from pydeseq2.default_inference import DefaultInference
    from pydeseq2.ds import DeseqStats

    inference = DefaultInference(n_cpus=1)  # one core: the workflow's threads: 1
    dds = DeseqDataSet(
        counts=spec.counts, metadata=spec.meta, design=spec.design, inference=inference, quiet=True
    )
    dds.deseq2()
    stats = DeseqStats(
        dds, contrast=[spec.factor, spec.test, spec.reference], alpha=spec.fdr,
        inference=inference, quiet=True,
    )  # fmt: skip
    stats.summary()
    r = stats.results_df
    out = pd.DataFrame(
        {
            "gene": r.index.astype(str),
            "base_mean": r["baseMean"].to_numpy(),
            "log2fc": r["log2FoldChange"].to_numpy(),
            "lfc_se": r["lfcSE"].to_numpy(),
            "stat": r["stat"].to_numpy(),
            "p_value": r["pvalue"].to_numpy(),
            "fdr": r["padj"].to_numpy(),
        }
    )
    out["significant"] = out["fdr"] < spec.fdr
    out["status"] = np.where(
        out["p_value"].isna(),
        "not tested: count outlier (Cook's distance) or all zero",
        np.where(
            out["fdr"].isna(), "no adjusted p: mean too low (independent filtering)", "tested"
        ),
    )
    return out.sort_values(["fdr", "p_value"], na_position="last").reindex(columns=COLUMNS)
