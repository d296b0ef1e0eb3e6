"""The CAR caller's constants and the calibration simulator against real CAR UMIs
(issue 24): ../shared/data/real/car_umi_invivo, kallisto CAR UMIs per barcode of CAR T
patients' 10x 5' channels (Lareau et al., Nature 2023). Skips when the folder is absent.

Only the CAR T-rich channel BBB14 is fitted: in the others most barcodes are empty
droplets with one ambient UMI (no expression matrix tells cells apart there), so a
count model of CAR T cells cannot be fitted to them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from marrowtox.settings import section_defaults

pytestmark = pytest.mark.realdata


def _umis_per_barcode(path: Path) -> np.ndarray:
    table = pd.read_csv(path, sep="\t", header=None, names=["barcode", "umi", "ec", "reads"])
    return table.groupby("barcode")["umi"].nunique().to_numpy()


def _zero_truncated_nb(k: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood shape r and mean m of a negative binomial seen only where k >= 1
    (a barcode without a CAR UMI is not in the file)."""

    def nll(log_params: np.ndarray) -> float:
        r, m = np.exp(log_params)
        p = r / (r + m)
        return -float((stats.nbinom.logpmf(k, r, p) - np.log1p(-(p**r))).sum())

    fit = optimize.minimize(nll, np.zeros(2), method="Nelder-Mead")
    assert fit.success
    r, m = np.exp(fit.x)
    return float(r), float(m)


def test_car_t_rich_channel_matches_the_prior_and_the_simulator(real_data: Path) -> None:
    k = _umis_per_barcode(real_data / "car_umi_invivo" / "BBB14_CAR.quantFinal.txt.gz")
    r, m = _zero_truncated_nb(k)
    zero_share = (r / (r + m)) ** r
    print(f"BBB14: {len(k)} barcodes; NB shape {r:.2f}, mean {m:.2f}, P(0) {zero_share:.2f}")
    cart = section_defaults("cart")
    centre, log_sd = cart["nb_shape"], cart["nb_shape_log_sd"]
    # the shape prior (cart.nb_shape, cart.nb_shape_log_sd) holds the real shape
    assert abs(np.log(r) - np.log(centre)) <= log_sd
    # the calibration simulator draws shapes 1-3 and means 0.3-3 UMIs per CAR T cell,
    # and 20-80% of CAR T cells without a CAR UMI (marrowtox.cart.simulate)
    assert 1.0 <= r <= 3.0
    assert 0.3 <= m <= 3.0
    assert 0.2 <= zero_share <= 0.8


def test_real_car_barcodes_mostly_hold_one_to_three_umis(real_data: Path) -> None:
    """What the demo-tuned floor of 3 UMIs missed: in every channel most barcodes with a
    CAR UMI hold fewer than 3."""
    for path in sorted((real_data / "car_umi_invivo").glob("*.quantFinal.txt.gz")):
        k = _umis_per_barcode(path)
        assert (k < 3).mean() > 0.5, path.name
        assert np.bincount(k).argmax() == 1, path.name
