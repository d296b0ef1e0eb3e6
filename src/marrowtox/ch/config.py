"""CallParams from the workflow's `ch:` config section."""

from __future__ import annotations

from typing import Any

from marrowtox.ch.call import CallParams


def params_from_config(ch: dict[str, Any]) -> CallParams:
    keys = CallParams.__dataclass_fields__
    return CallParams(**{k: v for k, v in ch.items() if k in keys})
