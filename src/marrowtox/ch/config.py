"""CallParams from the workflow's `ch:` config section (schema defaults filled in)."""

from __future__ import annotations

from typing import Any

from marrowtox.ch.call import CallParams


def params_from_config(ch: dict[str, Any]) -> CallParams:
    """The caller settings of a `ch` section; missing keys take the schema's defaults.

    Unknown keys never reach here: the schema refuses them (additionalProperties false),
    so a typo such as `min_dept` is an error, not a silently ignored setting.
    """
    from marrowtox.settings import section_defaults

    keys = CallParams.__dataclass_fields__
    values = {**section_defaults("ch"), **ch}
    return CallParams(**{k: v for k, v in values.items() if k in keys})
