"""The CAR caller's calibration grid: simulated samples (`simulate.py`) over ambient
levels, called by `calling.call_car`, scored against the planted truth.

Shared by tests/test_car_calibration.py (a small grid, asserted) and
bench/car_calibration.py (the full grid, printed), so both measure the same things:
the Done-when lines of issue 24 (false discoveries per ambient level, per-cell
sensitivity where ambient is low, coverage of the corrected CAR T % interval).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from marrowtox.cart.calling import NOT_MEASURABLE, CarParams, call_car
from marrowtox.cart.simulate import CAR_FEATURE, random_scenario, simulate

#: Contamination (ambient share of each droplet's UMIs): SoupX and CellBender report
#: 2-10% in typical 10x runs; 20% is a poor run.
LEVELS = (0.02, 0.05, 0.1, 0.2)
#: "ambient explains under 0.1 CAR UMI per cell" (issue 24 Done-when).
LOW_AMBIENT = 0.1
#: Per-sample sensitivity is read only where a sample has this many CAR T cells with
#: >= 1 CAR UMI: below it one cell moves the ratio by more than 5%.
MIN_HELD = 20


@dataclass(frozen=True)
class Grid:
    per_level: int = 12
    cells: int = 2000
    levels: tuple[float, ...] = LEVELS
    #: every `empty_every`-th sample comes with a raw matrix (3,000 empty droplets)
    empty_every: int = 3
    n_empty: int = 3000


def measure(level: float, i: int, seed: int, grid: Grid, params: CarParams) -> dict:
    """One simulated sample, called, scored against its planted truth."""
    r = np.random.default_rng([seed, i])
    sc = random_scenario(r, level, grid.cells)
    if i % grid.empty_every == 0:
        sc = replace(sc, n_empty=grid.n_empty)
    sim = simulate(sc, seed=seed * 100 + i)
    res = call_car(sim.adata, [CAR_FEATURE], params, sim.empties)
    obs = sim.adata.obs
    truth = obs["car_t"].to_numpy(dtype=bool)
    called = res.cells["car_positive"].to_numpy(dtype=bool)
    held = truth & (res.cells["car_umis"].to_numpy() >= 1)
    e = res.estimate
    return {
        "level": level,
        "sample": i,
        "sorted": sc.sorted_sample,
        "raw_matrix": sc.n_empty > 0,
        "car_umis_mean": sc.car_umis_mean,
        "ambient_per_cell": sim.ambient_per_cell,
        "car_t": int(truth.sum()),
        "held": int(held.sum()),
        "calls": int(called.sum()),
        "false": int((called & ~truth).sum()),
        "true": int((called & truth).sum()),
        "truth": sim.truth_pct_of_t,
        "est": e.pct_of_t_est if e else None,
        "lo": e.pct_of_t_lo if e else None,
        "hi": e.pct_of_t_hi if e else None,
        "status": res.status,
    }


def run_grid(grid: Grid, params: CarParams | None = None) -> pd.DataFrame:
    """Every sample of the grid; seeds fixed by (level index, sample index)."""
    params = params or CarParams()
    rows = [
        measure(level, i, k + 1, grid, params)
        for k, level in enumerate(grid.levels)
        for i in range(grid.per_level)
    ]
    d = pd.DataFrame(rows)
    d["covered"] = (d["lo"] <= d["truth"]) & (d["truth"] <= d["hi"])
    d["sensitivity"] = (d["true"] / d["held"]).where(d["held"] > 0)
    return d


def false_discovery_by_level(d: pd.DataFrame) -> pd.Series:
    """False CAR+ calls / calls, pooled over the samples of each ambient level."""
    by = d.groupby("level")[["false", "calls"]].sum()
    return by["false"] / by["calls"]


def low_ambient_sensitivity(d: pd.DataFrame) -> tuple[float, pd.Series]:
    """Where ambient < LOW_AMBIENT CAR UMI per cell: calls among the CAR T cells with
    >= 1 CAR UMI, pooled, and per sample (samples with >= MIN_HELD such cells)."""
    low = d[d["ambient_per_cell"] < LOW_AMBIENT]
    pooled = float(low["true"].sum() / low["held"].sum())
    return pooled, low.loc[low["held"] >= MIN_HELD, "sensitivity"]


def coverage(d: pd.DataFrame) -> float:
    """Share of measured samples whose interval holds the true CAR T % of T cells."""
    return float(d.loc[d["status"] != NOT_MEASURABLE, "covered"].mean())
