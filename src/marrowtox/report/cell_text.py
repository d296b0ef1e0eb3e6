"""How one table value is written into the report's hand-built HTML sections.

The cohort statistics and the composition/DE sections build their tables as strings
(not through the Jinja templates, which escape by themselves), so every value passes
through `escaped` and numbers through `number`: one rule for escaping and rounding.
"""

from __future__ import annotations

import html as _html


def escaped(v: object) -> str:
    """The value as HTML-escaped text; missing (None, NaN) as empty."""
    return _html.escape("" if v is None or (isinstance(v, float) and v != v) else str(v))


def number(v: object, digits: int = 2) -> str:
    """A number with `digits` decimals (significant digits below 0.01); not a number or
    missing as empty."""
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if f != f:
        return ""
    return f"{f:.{digits}g}" if abs(f) < 1e-2 and f != 0 else f"{f:.{digits}f}"
