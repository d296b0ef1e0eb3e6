"""Where each branch's results live, and reading them defensively.

A missing file means the branch did not run for this sample or patient (no DNA, no
labs); readers return None and the report says "not measured" with the reason,
instead of crashing or printing zeros.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def read_tsv(path: str | Path) -> pd.DataFrame | None:
    p = Path(path)
    if not p.is_file():
        return None
    return pd.read_csv(p, sep="\t")


class Results:
    """Paths of the stable outputs under a results folder."""

    def __init__(self, root: str | Path = "results") -> None:
        self.root = Path(root)

    def cart(self, s: str) -> Path:
        return self.root / "cart" / f"{s}.tsv"

    def signatures(self, s: str) -> Path:
        return self.root / "signatures" / f"{s}.by_celltype.tsv"

    def composition(self, s: str) -> Path:
        return self.root / "singlecell" / f"{s}.composition.tsv"

    def h5ad(self, s: str) -> Path:
        return self.root / "singlecell" / f"{s}.h5ad"

    def calls(self, s: str) -> Path:
        return self.root / "ch" / f"{s}.calls.tsv"

    def lod(self, s: str) -> Path:
        return self.root / "ch" / f"{s}.lod.tsv"

    def clones(self, p: str) -> Path:
        return self.root / "ch" / f"{p}.clones.tsv"

    def scores(self, p: str) -> Path:
        return self.root / "clinical" / f"{p}.scores.tsv"

    def anc_grid(self, p: str) -> Path:
        return self.root / "clinical" / f"{p}.anc_grid.tsv"

    def biomarkers(self, p: str) -> Path:
        return self.root / "clinical" / f"{p}.biomarkers.tsv"

    @property
    def labs(self) -> Path:
        return self.root / "clinical" / "labs.normalised.tsv"

    @property
    def patients(self) -> Path:
        return self.root / "cohort" / "patients.tsv"

    @property
    def provenance(self) -> Path:
        return self.root / "provenance.json"
