"""The cohort picture section of the cohort report: the integrated UMAP, or why not.

sc_integrate is a display leaf (per-sample results never wait on it), so this section
is the one place where a skipped or failed cohort picture shows: as a note naming the
reason, never as a missing report.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from marrowtox.layout import path as layout_path

SKIPPED = (
    "not drawn: no cohort integration in this run (singlecell.integrate.enabled is false, "
    "or the cohort has no scRNA sample)"
)


@dataclass(frozen=True)
class CohortPicture:
    uri: str  # data URI of the UMAP figure, empty when there is none
    note: str  # what the reader must know (fallbacks, failure, skipped)


def cohort_picture(results: str | Path, scrub=lambda s: s) -> CohortPicture:
    """Read results/singlecell/integrate.tsv and the UMAP figure; `scrub` removes ids
    from free text (an error message may quote a sample) in pseudonymised reports."""
    status_path = Path(layout_path("cohort_integration", results))
    png = Path(layout_path("cohort_umap", results))
    if not status_path.is_file():
        return CohortPicture("", SKIPPED)
    row = pd.read_csv(status_path, sep="\t", keep_default_na=False).iloc[0]
    note = scrub(str(row["note"]))
    if row["status"] != "integrated":
        return CohortPicture("", f"not drawn: {note}" if note else "not drawn")
    uri = ""
    if png.is_file():
        uri = "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode()
    corrected = "Harmony over batches" if row["harmony"] == "yes" else "no batch correction"
    text = (
        f"{int(row['n_cells']):,} cells of {int(row['n_samples'])} samples; HVG flavour "
        f"{row['hvg_flavour']}; {corrected}. Labels are each sample's own."
    )
    return CohortPicture(uri, f"{text} {note}".strip())
