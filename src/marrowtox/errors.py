"""One exception type for bad input, so every entry point reports it the same way.

Users rerun cohorts on clusters; a message that names the file, the row, the column
and what was expected lets them fix the table without reading a traceback.
"""

from __future__ import annotations

from pathlib import Path


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
    ) -> None:
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
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
        text = ", ".join(where)
        msg = f"{text}: {self.detail}" if text else self.detail
        if self.expected:
            msg += f" (expected {self.expected})"
        return msg


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
