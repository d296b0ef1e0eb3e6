"""Which CAR feature names a sample's count matrix is searched for.

One function for the pre-flight, the `cart_call` rule and `marrowtox car-call`: the
pre-flight used to look only at the sample's `car_construct` while the rule honoured
config `cart.features`, so a cohort whose matrices name the CAR by a custom feature
got a false "no CAR feature" warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from marrowtox.cart.constructs import DEFAULT, load
from marrowtox.errors import InputError


def car_features(
    construct: str,
    configured: Sequence[str] | None = None,
    constructs: str | Path = DEFAULT,
) -> list[str]:
    """CAR feature names of one sample.

    `configured` (config `cart.features`, or `--features`) wins for every sample: the
    user named the features their reference holds. Else the features of the sample's
    `car_construct` in the construct table (config `cart.constructs`); a sample without
    a construct accepts any known CAR feature, so a matrix with one is still measured.
    """
    if configured:
        return list(configured)
    table = load(constructs)
    if not construct:
        return sorted({f for c in table.values() for f in c["features"]})
    if construct not in table:
        raise InputError(
            f"unknown CAR construct {construct!r}",
            file=constructs,
            column="car_construct",
            expected="one of " + ", ".join(table),
        )
    return list(table[construct]["features"])
