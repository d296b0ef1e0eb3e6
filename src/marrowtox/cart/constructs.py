"""CAR construct definitions (resources/car_constructs.yaml): features and unique regions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from marrowtox.errors import InputError

DEFAULT = Path(__file__).resolve().parents[3] / "resources" / "car_constructs.yaml"


def load(path: str | Path = DEFAULT) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)["constructs"]


def features_for(
    construct: str, override: list[str] | None = None, path: str | Path = DEFAULT
) -> list[str]:
    """CAR feature names: the config override, else the construct's defaults."""
    if override:
        return list(override)
    if not construct:
        # no construct named: accept any known CAR feature
        return sorted({f for c in load(path).values() for f in c["features"]})
    constructs = load(path)
    if construct not in constructs:
        raise InputError(
            f"unknown CAR construct {construct!r}",
            file=path,
            column="car_construct",
            expected="one of " + ", ".join(constructs),
        )
    return list(constructs[construct]["features"])
