"""One cell of a labs table read as a lab value, observed or censored ("<5", ">ULOQ").

Parsing lives in the clinical layer, below both the labs' unit checks
(marrowtox.clinical.units) and the censoring-aware statistics (marrowtox.cohort.censored),
so the two import it in one direction.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

LEFT = "left"
RIGHT = "right"
#: limit tokens written instead of a number ("<LLOQ"); the limit comes from the row's
#: lloq (for "<") or uloq (for ">") column.
LIMIT_TOKENS = {"lloq", "loq", "lod", "uloq"}
VALUE_EXPECTED = (
    "a non-negative number, '<5' / '>1000' (censored at that limit), or '<LLOQ' / '>ULOQ' "
    "with the limit in the lloq / uloq column"
)
_CENSORED = re.compile(r"^([<>])\s*(.+)$")


@dataclass(frozen=True)
class LabValue:
    """One lab result: an observed `value`, or a `censor`ed one known only by its `limit`."""

    value: float | None
    censor: str | None = None  # "left" (below limit), "right" (above limit) or None
    limit: float | None = None

    @property
    def is_censored(self) -> bool:
        return self.censor is not None


def nonnegative_number(text: str) -> float:
    """`text` as a finite, non-negative float (ValueError otherwise)."""
    v = float(text)
    if not math.isfinite(v) or v < 0:
        raise ValueError(f"{text!r} is not a finite, non-negative number")
    return v


def parse_value(text: str, lloq: float | None = None, uloq: float | None = None) -> LabValue:
    """Parse one cell of the labs' value column.

    "12.5" -> observed; "<5", "< 5" -> left-censored at 5; ">1000" -> right-censored at
    1000; "<LLOQ" -> left-censored at `lloq` (">ULOQ" at `uloq`), which must be given:
    a censored value without its limit cannot be ranked. "<=" and ">=" are refused: the
    boundary matters for ranking and labs report "<" for "below the limit".
    Raises ValueError with a message for the caller to place in an InputError.
    """
    s = text.strip()
    if not s:
        raise ValueError("empty value")
    m = _CENSORED.match(s)
    if m is None:
        try:
            return LabValue(nonnegative_number(s))
        except ValueError:
            raise ValueError(f"cannot read {text!r} as a lab value") from None
    sign, rest = m.group(1), m.group(2).strip()
    if rest.startswith("="):
        raise ValueError(f"{text!r}: '<=' / '>=' are not accepted; write '<' or '>'")
    censor = LEFT if sign == "<" else RIGHT
    if rest.lower() in LIMIT_TOKENS:
        limit = lloq if censor == LEFT else uloq
        if limit is None or (isinstance(limit, float) and math.isnan(limit)):
            column = "lloq" if censor == LEFT else "uloq"
            raise ValueError(f"{text!r} needs its limit in the {column} column")
        return LabValue(None, censor, float(limit))
    try:
        return LabValue(None, censor, nonnegative_number(rest))
    except ValueError:
        raise ValueError(f"cannot read {text!r} as a censored lab value") from None
