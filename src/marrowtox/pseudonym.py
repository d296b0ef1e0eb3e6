"""The pseudonym of a patient: one rule shared by report labels and report file names.

It sits below both marrowtox.layout (file stems of the workflow's report targets) and
marrowtox.report.names (labels inside a report), so that neither imports the other
lazily to reach it: imports go one way (report.names -> layout -> pseudonym).
"""

from __future__ import annotations


def pseudonym(patient: str, patients: list[str]) -> str:
    """Stable pseudonym: position in the sorted patient list (no identifier leaks)."""
    return f"Patient {sorted(patients).index(patient) + 1:03d}"
