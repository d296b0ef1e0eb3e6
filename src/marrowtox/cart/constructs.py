"""CAR construct definitions (resources/car_constructs.yaml): features and unique regions.

Which features a sample is searched for is `cart.features.car_features`, which reads
this table: imports go features -> constructs only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEFAULT = Path(__file__).resolve().parents[3] / "resources" / "car_constructs.yaml"


def load(path: str | Path = DEFAULT) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)["constructs"]
