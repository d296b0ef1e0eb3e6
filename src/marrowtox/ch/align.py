"""Alignment of extracted UMI reads to a (panel) reference with minimap2's Python binding.

Why mappy (PyPI `mappy`, the minimap2 authors' binding, Li 2018 Bioinformatics
34:3094): it installs with pip where the workflow runs, needs no index on disk and no
external binary, and its short-read preset (`sr`) aligns amplicon reads as bwa mem
would for this purpose. Only the primary hit is written; unmapped reads are counted.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from pathlib import Path

import pysam

from marrowtox.atomic import atomic_path
from marrowtox.ch.umi_extract import Extracted

_COMP = str.maketrans("ACGTNacgtn", "TGCANtgcan")
#: minimap2 CIGAR operation codes are SAM's (M=0, I=1, D=2, N=3, S=4).
SOFT_CLIP = 4


def align_reads(
    reads: Iterable[Extracted], fasta: str, out_bam: str, sample: str
) -> dict[str, int]:
    """Writes a sorted, indexed BAM of the reads' primary alignments (UMI in RX);
    returns counts of reads aligned and unaligned."""
    import mappy

    aligner = mappy.Aligner(fasta, preset="sr")
    if not aligner:
        raise OSError(f"minimap2 could not index {fasta}")
    with pysam.FastaFile(fasta) as fa:
        header = {
            "HD": {"VN": "1.6", "SO": "unsorted"},
            "SQ": [{"SN": n, "LN": ln} for n, ln in zip(fa.references, fa.lengths, strict=True)],
            "RG": [{"ID": sample, "SM": sample}],
            "PG": [{"ID": "mappy", "PN": "minimap2 (mappy)", "VN": mappy.__version__}],
        }
        tid = {n: i for i, n in enumerate(fa.references)}
    counts = {"aligned": 0, "unaligned": 0}
    with atomic_path(out_bam) as tmp:
        unsorted = Path(str(tmp) + ".unsorted.bam")
        with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
            for r in reads:
                hit = next((h for h in aligner.map(r.seq) if h.is_primary), None)
                if hit is None:
                    counts["unaligned"] += 1
                    continue
                counts["aligned"] += 1
                seq, qual = r.seq, r.qual
                lead, trail = hit.q_st, len(seq) - hit.q_en
                if hit.strand < 0:  # SAM stores the reference strand's sequence
                    seq, qual = seq.translate(_COMP)[::-1], qual[::-1]
                    lead, trail = trail, lead
                cigar = [(op, n) for n, op in hit.cigar]
                if lead:
                    cigar.insert(0, (SOFT_CLIP, lead))
                if trail:
                    cigar.append((SOFT_CLIP, trail))
                a = pysam.AlignedSegment(out.header)
                a.query_name = r.name
                a.query_sequence = seq
                a.query_qualities = array("B", (ord(c) - 33 for c in qual))
                a.flag = 16 if hit.strand < 0 else 0
                a.reference_id = tid[hit.ctg]
                a.reference_start = hit.r_st
                a.mapping_quality = hit.mapq
                a.cigartuples = cigar
                a.set_tags([("RX", r.umi), ("RG", sample)])
                out.write(a)
        pysam.sort("-o", str(tmp), str(unsorted))
        unsorted.unlink()
    pysam.index(out_bam)
    return counts
