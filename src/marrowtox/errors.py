"""One exception type for bad input, so every entry point reports it the same way.

Users rerun cohorts on clusters; a message that names the file, the row, the column
and what was expected lets them fix the table without reading a traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


class InputError(Exception):
    """Bad user input, detected before any work starts."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        expected: str | None = None,
        key: str | None = None,
    ) -> None:
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        #: a config key (dotted: ch.min_depth): config files have keys, not columns
        self.key = key
        self.expected = expected
        self.detail = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.row is not None:
            # Rows are counted as a spreadsheet user sees them: header is line 1.
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        if self.key is not None:
            where.append(f"key '{self.key}'")
        text = ", ".join(where)
        msg = f"{text}: {self.detail}" if text else self.detail
        if self.expected:
            msg += f" (expected {self.expected})"
        return msg


#: Faults listed at most, one line each; the rest are counted (issue 25 item 5).
MAX_FAULTS = 20


class InputErrors(InputError):
    """Several faults found together (validate and the pre-flight collect every fault
    of the config and of each table before stopping: three mistakes, one run)."""

    def __init__(self, faults: list[InputError]) -> None:
        self.faults = list(faults)
        first = self.faults[0]
        super().__init__(
            first.detail,
            file=first.file,
            row=first.row,
            column=first.column,
            expected=first.expected,
            key=first.key,
        )

    def _format(self) -> str:
        lines = [str(f) for f in getattr(self, "faults", [])[:MAX_FAULTS]]
        hidden = len(getattr(self, "faults", [])) - MAX_FAULTS
        if hidden > 0:
            lines.append(f"... and {hidden} more faults")
        return "\n".join(lines) if lines else super()._format()


def raise_all(faults: list[InputError]) -> None:
    """Raise the collected faults: the one InputError, or InputErrors for several."""
    flat = [f for x in faults for f in (x.faults if isinstance(x, InputErrors) else [x])]
    if len(flat) == 1:
        raise flat[0]
    if flat:
        raise InputErrors(flat)


def data_row(index: int) -> int:
    """Line number in a TSV with a header for the 0-based data row `index`."""
    return index + 2


def shown(value: object) -> str:
    """A cell as the user typed it, for messages: numbers without a Python/numpy repr
    (np.float64(2.1) -> 2.1, 5.0 -> 5), text quoted ('d28')."""
    item = getattr(value, "item", None)
    if callable(item) and not isinstance(value, str):
        value = item()  # numpy scalar -> Python
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    return repr(str(value))


def every(items: Iterable[T], check: Callable[[T], object]) -> None:
    """Run `check` on every item and raise all their faults together (a table with
    several bad rows lists each one, not only its first: issue 25 item 5)."""
    faults: list[InputError] = []
    for item in items:
        try:
            check(item)
        except InputError as exc:
            faults.append(exc)
    raise_all(faults)
