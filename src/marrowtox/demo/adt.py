"""Demo antibody-derived tags (CITE-seq ADT) for some demo samples.

Counts per cell and protein: ambient background (every droplet sees free antibody;
isotype controls show only it) times a per-cell capture factor, plus specific
binding on the cell types that carry the antigen (resources/markers/marrow_adt.yaml
biology), plus the activation/exhaustion panel raised in CAR T cells by the
patient's car_activation. Gamma-Poisson noise. A separate random stream (stream 20)
is used, so the RNA counts of the demo do not change when proteins are added.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Antigens carried by each demo cell type (specific binding, mean UMIs above ambient).
TYPE_PROTEINS: dict[str, dict[str, float]] = {
    "HSC/MPP": {"CD34": 120, "CD90": 40, "CD45": 40},
    "GMP/neutrophil": {"CD15": 150, "CD66b": 120, "CD11b": 60, "CD33": 30, "CD45": 60},
    "erythroid": {"CD71": 250, "CD235a": 300, "CD36": 40},
    "megakaryocyte/MEP": {"CD41": 200, "CD42b": 120, "CD61": 150, "CD45": 30},
    "monocyte": {"CD14": 250, "CD33": 120, "CD11b": 120, "CD64": 80, "HLA-DR": 80, "CD45": 120, "CD38": 30},
    "DC": {"FceRIa": 100, "CD1c": 120, "CD11c": 150, "HLA-DR": 200, "CD45": 100},
    "pre-B/B": {"CD19": 150, "CD20": 200, "CD79b": 80, "CD22": 60, "HLA-DR": 120, "CD45": 120},
    "plasma": {"CD38": 400, "CD27": 120, "CD138": 150, "CD269": 60, "CD45": 40},
    "CD4 T": {"CD3": 200, "CD4": 120, "CD45": 150, "CD45RA": 60, "CD27": 60},
    "CD8 T": {"CD3": 200, "CD8": 200, "CD45": 150, "CD45RA": 80, "CD27": 40},
    "NK": {"CD56": 150, "CD16": 200, "CD335": 60, "CD94": 80, "CD45": 150, "CD45RA": 80},
}
#: CAR T activation/exhaustion proteins (mean UMIs added at car_activation = 1).
ACTIVATION: dict[str, float] = {
    "CD69": 120, "CD25": 100, "HLA-DR": 150, "CD38": 150,
    "PD-1": 80, "TIM-3": 60, "LAG-3": 60, "TIGIT": 60,
}
ISOTYPES = ["Mouse_IgG1_isotype", "Mouse_IgG2a_isotype", "Rat_IgG2b_isotype"]
BASE_PROTEINS = sorted({p for d in TYPE_PROTEINS.values() for p in d} | set(ACTIVATION))
PROTEINS = BASE_PROTEINS + ISOTYPES
#: ambient mean UMIs per protein (free antibody in every droplet)
AMBIENT_RANGE = (2.0, 12.0)
DISPERSION = 0.2
#: Random stream of the protein generator (marrowtox.demo.cohort.rng; issue 20).
STREAM = 20
#: Demo patients with proteins, and how their matrices carry them: "10x" puts the ADTs
#: as Antibody Capture features into the sample's 10x HDF5 (names decorated as a
#: feature reference would: CD34_TotalSeqC).
PATIENTS = {"P04": "10x", "P05": "10x"}
#: Demo patients whose runs also ship the raw (unfiltered) matrix with empty droplets
#: (sample sheet column raw_matrix): their proteins are DSB-normalised, P04's by CLR.
RAW_MATRIX_PATIENTS = {"P05"}
#: empty droplets per raw matrix, and the share of them with no protein count at all
#: (unstained barcodes, as in a real raw matrix: not background for DSB)
N_EMPTY, ZERO_SHARE = 1500, 0.3
#: Random stream of the empty droplets (separate: the other demo data do not change).
EMPTY_STREAM = 21


def feature_name(protein: str) -> str:
    return protein if protein in ISOTYPES else f"{protein}_TotalSeqC"


def simulate_adt(
    r: np.random.Generator, truth: pd.DataFrame, activation: float, ambient: np.ndarray
) -> np.ndarray:
    """Counts (cells x PROTEINS) from per-cell truth (cell_type, car_t, doublet)."""
    n = len(truth)
    idx = {p: i for i, p in enumerate(PROTEINS)}
    mu = np.tile(ambient, (n, 1))
    types = truth["cell_type"].to_numpy()
    types_list = list(TYPE_PROTEINS)
    for i, t in enumerate(types):
        for p, v in TYPE_PROTEINS[t].items():
            mu[i, idx[p]] += v
        if truth["doublet"].iat[i]:
            other = types_list[int(r.integers(len(types_list)))]
            for p, v in TYPE_PROTEINS[other].items():
                mu[i, idx[p]] += v
    car = truth["car_t"].to_numpy(bool)
    for p, v in ACTIVATION.items():
        mu[car, idx[p]] += v * activation
    capture = np.exp(r.normal(0.0, 0.3, n))  # per-cell antibody capture / staining
    mu *= capture[:, None]
    shape = 1.0 / DISPERSION
    return r.poisson(r.gamma(shape, mu / shape)).astype(np.int32)


def ambient_profile(r: np.random.Generator) -> np.ndarray:
    return r.uniform(*AMBIENT_RANGE, len(PROTEINS))


def simulate_empty(r: np.random.Generator, n: int, ambient: np.ndarray) -> np.ndarray:
    """Counts (droplets x PROTEINS) of empty droplets: the ambient antibody only (free
    antibody captured without a cell), with the droplet-to-droplet variation of the
    capture; a ZERO_SHARE of them unstained (no count)."""
    capture = np.exp(r.normal(0.0, 0.3, n))
    mu = np.tile(ambient, (n, 1)) * capture[:, None]
    shape = 1.0 / DISPERSION
    counts = r.poisson(r.gamma(shape, mu / shape)).astype(np.int32)
    counts[r.random(n) < ZERO_SHARE] = 0
    return counts
