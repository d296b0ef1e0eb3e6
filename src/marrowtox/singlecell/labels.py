"""Final per-cell labels from the marker and reference routes, by one stated rule.

Rule (docs/annotation.md):
1. reference route available and its probability >= min_confidence: the reference type;
2. else the marker label, when the marker route called one (assessable set, lineage
   margin met, confidence >= min_confidence);
3. else "unknown".
The route taken is kept per cell (cell_type_route: reference, markers, none), and the
agreement of the two routes on cells both called is reported per sample.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from marrowtox.celltypes import CELL_TYPES, UNKNOWN
from marrowtox.errors import InputError

ONTOLOGY = Path(__file__).resolve().parents[3] / "resources" / "markers" / "cell_ontology.tsv"


def load_ontology(path: str | Path = ONTOLOGY) -> dict[str, str]:
    table = pd.read_csv(path, sep="\t", comment="#", dtype=str)
    mapping = dict(zip(table["cell_type"], table["ontology_term_id"], strict=True))
    missing = [t for t in (*CELL_TYPES, UNKNOWN) if t not in mapping]
    if missing:
        raise InputError(
            f"no ontology term for {', '.join(missing)}", file=path, expected="a row per type"
        )
    return mapping


def combine(
    markers: pd.DataFrame,
    reference: pd.DataFrame | None,
    min_confidence: float,
    marker_override: float = np.inf,
) -> pd.DataFrame:
    """cell_type, cell_type_confidence and cell_type_route per cell.

    The reference decides, except where the marker route calls another coarse lineage
    with confidence >= `marker_override`: a cross-check, because a reference misses
    types it saw few cells of (pDC: 10 cells in all of van Galen's marrow) while their
    cited markers still fire (leave-one-patient-out figures in docs/annotation.md).
    """
    from marrowtox.celltypes import COARSE

    label = markers["marker_label"].astype(object).to_numpy().copy()
    conf = markers["marker_confidence"].to_numpy(dtype=float).copy()
    route = np.where(label != UNKNOWN, "markers", "none").astype(object)
    if reference is not None:
        ref_ok = (reference["reference_confidence"].to_numpy(dtype=float) >= min_confidence) & (
            reference["reference_type"].to_numpy() != UNKNOWN
        )
        coarse = np.vectorize(lambda t: COARSE.get(t, UNKNOWN), otypes=[object])
        overridden = (
            (label != UNKNOWN)
            & (np.nan_to_num(conf, nan=-np.inf) >= marker_override)
            & (coarse(label) != coarse(reference["reference_type"].to_numpy()))
        )
        ref_ok &= ~overridden
        label = np.where(ref_ok, reference["reference_type"].to_numpy(), label)
        conf = np.where(ref_ok, reference["reference_confidence"].to_numpy(dtype=float), conf)
        route = np.where(ref_ok, "reference", route)
    conf = np.where(route == "none", np.nan, conf)
    return pd.DataFrame(
        {
            "cell_type": pd.Categorical(label, categories=[*CELL_TYPES, UNKNOWN]),
            "cell_type_confidence": conf,
            "cell_type_route": route,
        },
        index=markers.index,
    )


def route_agreement(markers: pd.DataFrame, reference: pd.DataFrame | None) -> float:
    """Fraction of cells called by both routes on which they agree (NaN if none)."""
    if reference is None:
        return float("nan")
    m = markers["marker_label"].to_numpy()
    r = reference["reference_type"].to_numpy()
    both = (m != UNKNOWN) & (r != UNKNOWN)
    return float((m[both] == r[both]).mean()) if both.any() else float("nan")
