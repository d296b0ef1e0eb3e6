"""Whether a sample has protein data, from file headers only.

Apart from marrowtox.prot.io so that the workflow's parse (common.smk, which asks this
of every scRNA sample) does not import anndata and scipy: 0.85 s at every Snakemake
start, on the login node too (bench/dag.py)."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

#: the 10x feature type of antibody-derived tags
ANTIBODY = "Antibody Capture"


#: answers per (path, size, mtime, obsm key): the parse and the pre-flight both ask
#: for every scRNA sample (3,000 file opens a parse at 1,500 real samples before)
_SEEN: dict[tuple[str, int, int, str], bool] = {}


def has_proteins(rna_path: str, adt_path: str = "", obsm_key: str = "protein") -> bool:
    """Whether a sample has protein data, from file headers only; a file is opened once
    per process while its size and modification time stay the same."""
    if adt_path:
        return True
    try:
        st = os.stat(rna_path)
    except OSError:
        return False
    key = (str(rna_path), st.st_size, st.st_mtime_ns, obsm_key)
    if key not in _SEEN:
        _SEEN[key] = _read_has_proteins(rna_path, obsm_key)
    return _SEEN[key]


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
