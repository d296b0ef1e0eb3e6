"""CAR construct definitions (resources/car_constructs.yaml): features and unique regions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEFAULT = Path(__file__).resolve().parents[3] / "resources" / "car_constructs.yaml"


def load(path: str | Path = DEFAULT) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)["constructs"]


def features_for(
    construct: str, override: list[str] | None = None, path: str | Path = DEFAULT
) -> list[str]:
    """CAR feature names (kept for callers of this name): see `cart.features.car_features`."""
    from marrowtox.cart.features import car_features

    return car_features(construct, override, path)
