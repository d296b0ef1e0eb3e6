"""Which genes a sample measured, and feature names that downstream steps can trust.

Samples from different chemistries and panels measure different genes. When samples
are merged with an outer join, a gene a sample never measured is filled with zeros and
looks "measured and absent": a marker set then seems scorable where half of it was
never on the panel. Every sample therefore keeps the list of genes it measured (its
own var_names, as read), marker scoring runs in that gene space only, and the cohort
object records the mask per sample (varm['measured'], columns in uns['measured_samples']).

Feature names: marker models, gene sets and the mitochondrial prefix are in symbols.
A matrix keyed by Ensembl ids is mapped from a symbols column when it has one
(var['gene_symbols'], CELLxGENE's 'feature_name', ...), else refused: scoring it would
find no marker and QC would see 0% mitochondrial reads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import anndata as ad
import numpy as np
import pandas as pd

from marrowtox.errors import InputError

#: var columns that hold gene symbols, in the order they are tried (10x/scanpy,
#: CELLxGENE schema, common Seurat/loom exports).
SYMBOL_COLUMNS = ("gene_symbols", "feature_name", "gene_name", "symbol", "gene_symbol", "name")
_ENSEMBL = re.compile(r"^ENS[A-Z]*G\d{6,}(\.\d+)?$")
#: Share of var_names that must look like Ensembl gene ids to call a matrix Ensembl-keyed.
ENSEMBL_SHARE = 0.5


def looks_like_ensembl(names: Sequence[str]) -> bool:
    """True when most feature names are Ensembl gene ids (ENSG..., ENSMUSG...)."""
    names = list(names)
    if not names:
        return False
    hits = sum(bool(_ENSEMBL.match(str(n))) for n in names)
    return hits / len(names) >= ENSEMBL_SHARE


def to_symbols(adata: ad.AnnData, path: str) -> ad.AnnData:
    """var_names as gene symbols; Ensembl ids go to var['gene_ids'].

    Duplicated symbols (one symbol, several Ensembl ids; common after mapping) are made
    unique with anndata's '-1' suffixes, so the first keeps the plain symbol, as
    Cell Ranger and scanpy do.
    """
    names = adata.var_names.astype(str)
    if looks_like_ensembl(names):
        col = next((c for c in SYMBOL_COLUMNS if c in adata.var.columns), None)
        if col is None:
            raise InputError(
                f"feature names are Ensembl gene ids (e.g. {names[0]}) and no symbol column "
                f"is in var (looked for {', '.join(SYMBOL_COLUMNS)})",
                file=path,
                expected="gene symbols as var_names, or a var column of symbols",
            )
        symbols = adata.var[col].astype(str).to_numpy()
        missing = (symbols == "") | (symbols == "nan")
        symbols = np.where(missing, names.to_numpy(), symbols)
        adata.var["gene_ids"] = names.to_numpy()
        adata.var_names = pd.Index(symbols)
    adata.var_names = adata.var_names.astype(str)
    adata.var_names_make_unique()
    return adata


def safe_key(name: str) -> str:
    """An obs/var/uns key without '/' (anndata will refuse it in keys): HSC/MPP -> HSC_MPP."""
    return re.sub(r"[/\s]+", "_", name)


def measured_mask(sample_genes: Sequence[pd.Index], genes: pd.Index) -> np.ndarray:
    """genes x samples boolean: True where the sample's own matrix (its var_names in
    `sample_genes`) has the gene."""
    return np.column_stack([genes.isin(names) for names in sample_genes])


def shared_gene_report(
    gene_lists: Mapping[str, Sequence[str]], minimum: int, min_fraction: float = 0.0
) -> list[str]:
    """Warnings for pairs of samples that share fewer than `minimum` genes and less than
    `min_fraction` of the larger sample's genes (two samples of one reference that differ
    only by their CAR transgene feature lose nothing and are not warned about).

    Samples with identical gene lists (the same reference) are compared once, so a
    cohort of hundreds of samples on two chemistries costs a handful of comparisons.
    """
    groups: dict[frozenset[str], list[str]] = {}
    as_set: dict[int, frozenset[str]] = {}  # the pre-flight shares one list per reference
    for sample, genes in gene_lists.items():
        if id(genes) not in as_set:
            as_set[id(genes)] = frozenset(genes)
        groups.setdefault(as_set[id(genes)], []).append(sample)
    keys = list(groups)
    out = []
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            n = len(a & b)
            if n < minimum and n < min_fraction * max(len(a), len(b)):
                sa, sb = groups[a][0], groups[b][0]
                out.append(
                    f"samples {sa} ({len(a)} genes) and {sb} ({len(b)} genes) share only {n} "
                    f"genes (< singlecell.integrate.min_shared_genes = {minimum}): the cohort "
                    "embedding uses genes measured in every batch; per-sample labels are not "
                    "affected"
                )
    return out
