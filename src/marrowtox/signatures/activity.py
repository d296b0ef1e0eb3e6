"""Program activity on a differential-expression result, with decoupler (Badia-i-Mompel
et al., Bioinformatics Advances 2022).

Univariate linear model (dc.mt.ulm): per program, the genes' Wald statistics are
regressed on program membership; the t-value of the slope is the program's activity
(positive: the program's genes move up together in the tested group). Programs are the
shipped gene sets (resources/genesets: MSigDB Hallmark inflammation sets and the T-cell
programs); nothing is downloaded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COLUMNS = ["program", "n_genes", "activity", "p_value", "fdr", "rank", "status"]


def network(gene_sets: dict[str, list[str]]) -> pd.DataFrame:
    """decoupler's source/target/weight table of unweighted gene sets."""
    rows = [(name, g) for name, genes in gene_sets.items() for g in dict.fromkeys(genes)]
    return pd.DataFrame(rows, columns=["source", "target"]).assign(weight=1.0)


def program_activity(
    de: pd.DataFrame, gene_sets: dict[str, list[str]], min_genes: int
) -> pd.DataFrame:
    """Programs ranked by ulm activity on the DE table's `stat` (genes with a statistic);
    a program with fewer than `min_genes` tested genes is listed as not scored."""
    import decoupler as dc
    from statsmodels.stats.multitest import multipletests

    tested = de.dropna(subset=["stat"]).set_index("gene")["stat"]
    net = network(gene_sets)
    n_genes = net[net["target"].isin(tested.index)].groupby("source").size()
    out = pd.DataFrame({"program": list(gene_sets)})
    out["n_genes"] = out["program"].map(n_genes).fillna(0).astype(int)
    ok = out["n_genes"] >= min_genes
    if ok.any() and len(tested):
        mat = pd.DataFrame([tested.to_numpy()], index=["contrast"], columns=tested.index)
        es, pv = dc.mt.ulm(mat, net[net["source"].isin(out.loc[ok, "program"])], tmin=min_genes)
        out["activity"] = out["program"].map(es.iloc[0])
        out["p_value"] = out["program"].map(pv.iloc[0])
    else:
        out["activity"] = np.nan
        out["p_value"] = np.nan
    has = out["p_value"].notna()
    out["fdr"] = np.nan
    if has.any():
        out.loc[has, "fdr"] = multipletests(out.loc[has, "p_value"], method="fdr_bh")[1]
    out["status"] = np.where(
        has,
        "scored",
        [f"not scored: {n} tested genes < minimum {min_genes}" for n in out["n_genes"]],
    )
    out = out.sort_values("activity", ascending=False, na_position="last").reset_index(drop=True)
    out["rank"] = np.where(out["activity"].notna(), np.arange(1, len(out) + 1), np.nan)
    return out.reindex(columns=COLUMNS)
