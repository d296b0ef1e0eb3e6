"""Assemble the demo cohort: each generator writes its data; this writes the sample sheet.

Generation is atomic at the folder level: everything is written into a temporary
sibling folder and renamed, so an interrupted `make demo` never leaves a half cohort
that the next run would take as complete.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pandas as pd

from marrowtox.atomic import write_tsv
from marrowtox.demo import dna, scbam, scrna, vdj
from marrowtox.demo import flow as demo_flow
try:
    from marrowtox.demo import clinical
except ImportError:  # noqa
    clinical = None
from marrowtox.demo.cohort import COHORT

SAMPLE_COLUMNS = [
    "patient", "sample", "assay", "timepoint", "day", "path",
    "batch", "normal", "chemistry", "car_construct", "bam", "raw_matrix",
    "specimen", "fraction", "vdj",
]


def generate_cohort(out: Path, seed: int) -> dict[str, Path]:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        (tmp / "truth").mkdir()
        rows = scrna.generate(tmp, seed) + dna.generate(tmp, seed)
        bams = scbam.generate(tmp, seed)  # cell-barcoded reads at the CH sites
        contigs = vdj.generate(tmp, seed)  # T-cell receptors of a few samples
        for row in rows:
            row["bam"] = bams.get(row["sample"], "")
            row["vdj"] = contigs.get(row["sample"], "")
            for col in ("raw_matrix", "specimen", "fraction"):
                row.setdefault(col, "")
        if clinical is not None:
            clinical.generate(tmp, seed)
        demo_flow.generate(tmp, seed)  # flow.tsv from the scRNA truth
        sheet = pd.DataFrame(rows)[SAMPLE_COLUMNS]
        order = {p.patient: i for i, p in enumerate(COHORT)}
        sheet = sheet.sort_values(
            ["patient", "day", "assay"], key=lambda s: s.map(order) if s.name == "patient" else s
        )
        write_tsv(sheet, tmp / "samples.tsv")
        write_tsv(pd.DataFrame([p.as_row() for p in COHORT]), tmp / "truth" / "patients.tsv")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {
        "samples": out / "samples.tsv",
        "labs": out / "labs.tsv",
        "events": out / "events.tsv",
        "flow": out / "flow.tsv",
    }
