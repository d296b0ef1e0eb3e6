"""CAR UMIs per cell barcode from a Cell Ranger-style BAM aligned with the construct.

Only reads over construct-unique regions count (e.g. the FMC63 scFv, the vector 3'
region): the CD8a hinge, CD28, 4-1BB and CD3-zeta parts are identical to endogenous
transcripts, so reads there may come from any T cell (clinical-definitions.md). UMIs
are de-duplicated per barcode (CB/UB tags); reads without both tags are skipped.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pandas as pd
import pysam

from marrowtox.errors import InputError


def count_car_umis(bam_path: str, construct: dict[str, Any], min_mapq: int = 30) -> pd.DataFrame:
    """Columns barcode, car_umis, car_reads: UMIs over unique regions only."""
    contig = construct["contig"]
    umis: dict[str, set[str]] = defaultdict(set)
    reads: dict[str, int] = defaultdict(int)
    with pysam.AlignmentFile(bam_path, "rb") as bam:
        if contig not in bam.references:
            raise InputError(
                f"construct contig {contig!r} not in the BAM header",
                file=bam_path,
                expected="a BAM aligned to a reference that includes the CAR construct",
            )
        for region in construct["unique_regions"]:
            for r in bam.fetch(contig, region["start"], region["end"]):
                if (
                    r.is_unmapped
                    or r.is_secondary
                    or r.is_supplementary
                    or r.is_duplicate
                    or r.is_qcfail
                ):
                    continue
                if r.mapping_quality < min_mapq or not (r.has_tag("CB") and r.has_tag("UB")):
                    continue
                # the read must overlap the unique region by >= 10 aligned bases
                if r.get_overlap(region["start"], region["end"]) < 10:
                    continue
                cb = r.get_tag("CB")
                umis[cb].add(r.get_tag("UB"))
                reads[cb] += 1
    rows = sorted((cb, len(u), reads[cb]) for cb, u in umis.items())
    return pd.DataFrame(rows, columns=["barcode", "car_umis", "car_reads"])
