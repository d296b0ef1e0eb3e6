"""Whether a sample has protein data, from file headers only.

Apart from marrowtox.prot.io so that the workflow's parse (common.smk, which asks this
of every scRNA sample) does not import anndata and scipy: 0.85 s at every Snakemake
start, on the login node too (bench/dag.py)."""

from __future__ import annotations

import gzip
from pathlib import Path

from marrowtox import headercache

#: the 10x feature type of antibody-derived tags
ANTIBODY = "Antibody Capture"


def has_proteins(rna_path: str, adt_path: str = "", obsm_key: str = "protein") -> bool:
    """Whether a sample has protein data, from file headers only; a file is opened again
    only when its size or modification time changed, within a process and, in the
    workflow, across Snakemake starts (marrowtox.headercache)."""
    if adt_path:
        return True
    answer = headercache.lookup(
        f"proteins:{obsm_key}", rna_path, lambda: _read_has_proteins(rna_path, obsm_key)
    )
    return bool(answer)


def _read_has_proteins(rna_path: str, obsm_key: str) -> bool:
    import h5py
    import numpy as np

    p = Path(rna_path)
    try:
        if p.is_dir():
            f = next((p / n for n in ("features.tsv.gz", "features.tsv") if (p / n).exists()), None)
            if f is None:
                return False
            opener = gzip.open if f.suffix == ".gz" else open
            with opener(f, "rt") as fh:
                return any(line.rstrip("\n").split("\t")[2:3] == [ANTIBODY] for line in fh)
        with h5py.File(p, "r") as h:
            if p.suffix == ".h5":
                ft = h["matrix"]["features"].get("feature_type")
                return ft is not None and bool((np.asarray(ft[:]) == ANTIBODY.encode()).any())
            return "obsm" in h and obsm_key in h["obsm"]
    except (OSError, KeyError, ValueError, TypeError, IndexError):
        return False
