"""CAR UMI simulator shaped on real 10x 5' CAR T data, for calibrating the CAR+ caller.

What real data look like (shared/data/real/car_umi_invivo, 7 channels of CAR T
patients, Lareau et al. 2023): most CAR-positive barcodes carry 1 CAR UMI, then 2-3,
with a long tail (BBB7: 1,427 barcodes with 1, 431 with 2, 177 with 3, 123 with >= 4);
a zero-truncated negative binomial fitted to the CAR T-rich channel BBB14 has shape
1.2-1.8 and puts 23-32% of CAR T cells at 0 UMIs, as the 71-81% of sorted CAR T cells
with >= 1 CAR UMI of issue 24. So here:

- CAR UMIs of a CAR T cell: Poisson of a gamma-distributed expression (negative
  binomial), mean `car_umis_mean` at the median library size and scaled by the cell's
  library size; means 0.3-3 give 80-20% of CAR T cells without a CAR UMI;
- ambient: lysed cells make the soup, so its CAR share is the CAR share of the cells'
  own mRNA, and every cell droplet receives `contamination` of its UMIs from it:
  ambient CAR UMIs scale with CAR T abundance and with library size; an empty droplet
  (raw matrix) holds soup only, as much as a cell droplet of median size holds;
- sorted CD3+CAR+ samples: almost only T cells (a few non-lymphoid cells slip through
  the sort); unsorted marrow: T cells a minority beside myeloid, erythroid and B cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

CAR_FEATURE = "CAR_FMC63_41BBz"
T_LABELS = ("CD4 T", "CD8 T")
OTHER_LABELS = ("monocyte", "GMP/neutrophil", "erythroid", "pre-B/B")


@dataclass(frozen=True)
class Scenario:
    """One simulated sample; percentages are of all cells or of T cells as named."""

    n_cells: int
    sorted_sample: bool
    car_pct_of_t: float  # truth: CAR T % of T cells
    t_pct: float  # T cells % of all cells
    nk_pct: float  # NK cells % of all cells (never CAR T here)
    car_umis_mean: float  # mean CAR UMIs of a CAR T cell at the median library size
    car_shape: float  # gamma shape of CAR expression between CAR T cells
    contamination: float  # ambient share of every droplet's UMIs
    median_library: float = 2500.0  # 10x 5' marrow: 1,000-10,000 UMIs per cell
    library_log_sd: float = 0.5
    n_empty: int = 0  # empty droplets of a raw matrix (0: none)
    #: UMIs of a median empty droplet; None: the soup a cell droplet of median size
    #: holds, contamination x median_library (see `simulate`)
    empty_median_library: float | None = None


@dataclass
class Simulated:
    adata: ad.AnnData  # counts (OTHER, CAR feature), obs: cell_type, car_t, car_own, car_ambient
    empties: ad.AnnData | None
    scenario: Scenario

    @property
    def truth_pct_of_t(self) -> float:
        obs = self.adata.obs
        t = obs["cell_type"].isin(T_LABELS)
        return 100.0 * float(obs.loc[t, "car_t"].mean())

    @property
    def ambient_per_cell(self) -> float:
        """Mean ambient CAR UMIs expected per cell (what ambient explains)."""
        return float(self.adata.obs["car_ambient_expected"].mean())


def _labels(r: np.random.Generator, s: Scenario) -> np.ndarray:
    n_t = int(round(s.t_pct / 100.0 * s.n_cells))
    n_nk = int(round(s.nk_pct / 100.0 * s.n_cells))
    n_other = s.n_cells - n_t - n_nk
    labels = np.concatenate(
        [
            r.choice(T_LABELS, n_t, p=[0.45, 0.55]),
            np.full(n_nk, "NK"),
            r.choice(OTHER_LABELS, n_other),
        ]
    )
    return labels[r.permutation(s.n_cells)]


def _car_expression(r: np.random.Generator, s: Scenario, lib: np.ndarray, car_t: np.ndarray):
    """Expected own CAR UMIs per cell: gamma between cells, scaled by library size."""
    rate = np.zeros(len(lib))
    n = int(car_t.sum())
    scale = s.car_umis_mean / s.car_shape
    rate[car_t] = r.gamma(s.car_shape, scale, n) * lib[car_t] / s.median_library
    return rate


def simulate(s: Scenario, seed: int) -> Simulated:
    """One sample of cells (and empty droplets when s.n_empty) with planted CAR T."""
    r = np.random.default_rng(seed)
    labels = _labels(r, s)
    lib = np.round(s.median_library * np.exp(r.normal(0.0, s.library_log_sd, s.n_cells)))
    is_t = np.isin(labels, T_LABELS)
    car_t = is_t & (r.random(s.n_cells) < s.car_pct_of_t / 100.0)
    own_rate = _car_expression(r, s, lib, car_t)
    # the soup's CAR share: CAR mRNA of all cells over all their mRNA
    soup_share = own_rate.sum() / lib.sum()
    amb_rate = s.contamination * soup_share * lib
    own = r.poisson(own_rate)
    amb = r.poisson(amb_rate)
    car = own + amb
    x = sparse.csr_matrix(np.column_stack([lib, car]).astype(np.float32))
    obs = pd.DataFrame(
        {
            "cell_type": labels,
            "car_t": car_t,
            "car_own": own,
            "car_ambient": amb,
            "car_ambient_expected": amb_rate,
        },
        index=[f"c{i}" for i in range(s.n_cells)],
    )
    adata = ad.AnnData(x, obs=obs, var=pd.DataFrame(index=["OTHER", CAR_FEATURE]))
    adata.layers["counts"] = adata.X.copy()
    empties = None
    if s.n_empty:
        # an empty droplet holds the soup a cell droplet holds (CellBender's "ambient
        # plateau", Fleming et al. 2023): at 2-20% of a 2,500-UMI cell that is 50-500
        # UMIs, the plateau of real 10x barcode-rank plots
        median = s.empty_median_library
        if median is None:
            median = s.contamination * s.median_library
        elib = np.round(median * np.exp(r.normal(0.0, s.library_log_sd, s.n_empty)))
        # an empty droplet holds soup only: all of its UMIs are ambient
        ecar = r.poisson(soup_share * elib)
        empties = ad.AnnData(
            sparse.csr_matrix(np.column_stack([elib, ecar]).astype(np.float32)),
            obs=pd.DataFrame(index=[f"e{i}" for i in range(s.n_empty)]),
            var=pd.DataFrame(index=["OTHER", CAR_FEATURE]),
        )
    return Simulated(adata, empties, s)


def random_scenario(r: np.random.Generator, contamination: float, n_cells: int) -> Scenario:
    """A sample drawn over the ranges of real CAR T marrow: half sorted CD3+CAR+ (CAR T
    50-98% of T cells, 0-1% non-T cells), half unsorted marrow (CAR T 0.1-20% of all
    cells), CAR UMI means 0.3-3 per CAR T cell (20-80% of them without a CAR UMI)."""
    mean = float(np.exp(r.uniform(np.log(0.3), np.log(3.0))))
    shape = float(r.uniform(1.0, 3.0))
    if r.random() < 0.5:
        nk = float(r.uniform(0.0, 0.5))
        t_pct = 100.0 - nk - float(r.uniform(0.0, 1.0))
        return Scenario(
            n_cells, True, float(r.uniform(50, 98)), t_pct, nk, mean, shape, contamination
        )
    t_pct = float(r.uniform(10, 40))
    car_of_cells = float(np.exp(r.uniform(np.log(0.1), np.log(min(20.0, t_pct)))))
    nk = float(r.uniform(2, 8))
    return Scenario(
        n_cells, False, 100.0 * car_of_cells / t_pct, t_pct, nk, mean, shape, contamination
    )
