"""Where each branch's results live, and reading them defensively.

A missing file means the branch did not run for this sample or patient (no DNA, no
labs); readers return None and the report says "not measured" with the reason,
instead of crashing or printing zeros.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from marrowtox.layout import Results

__all__ = ["Results", "read_tsv"]


def read_tsv(path: str | Path) -> pd.DataFrame | None:
    p = Path(path)
    if not p.is_file():
        return None
    return pd.read_csv(p, sep="\t")
