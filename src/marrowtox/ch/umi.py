"""UMIs of aligned reads: reading them, and merging UMIs that differ by sequencing errors.

Where the UMI is: `rx`, the SAM RX tag (fgbio / Illumina DRAGEN style; a duplex UMI is
written "AAA-CCC", one half from each end of the molecule) or `read_name`, the last
`_`- or `:`-separated field of the read name (umi_tools extract style, "READ_ACGT").

Grouping: reads of one molecule share their template's mapping coordinates and their
UMI, up to sequencing errors in the UMI. Errors are merged by the directional
adjacency method of UMI-tools (Smith, Heger & Sudbery 2017, Genome Res 27:491): UMI a
absorbs UMI b when they differ at one position and count(a) >= 2 count(b) - 1; each
group is everything reachable from its most abundant UMI. Hand-written here (about
30 lines) because umi-tools 1.1.6 does not install from PyPI on Python 3.11: it ships
only an sdist whose setup downloads setuptools 10 over the network (ez_setup) and
fails. Neighbours are found by generating every 1-mismatch variant of each UMI (3 x
length lookups) rather than by all pairwise distances, so an amplicon with tens of
thousands of distinct UMIs at one position stays linear.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

from marrowtox.errors import InputError

if TYPE_CHECKING:  # pysam only where BAMs are read: `marrowtox --help` stays light
    import pysam

UMI_SOURCES = ("none", "rx", "read_name")
#: Mapped reads the pre-flight reads to check that a BAM holds the promised UMIs.
PREFLIGHT_READS = 1000
_ALPHABET = "ACGTN"


def read_umi(read: pysam.AlignedSegment, source: str) -> str | None:
    """The read's UMI (upper case) from `source`, or None when the read has none."""
    if source == "rx":
        return str(read.get_tag("RX")).upper() if read.has_tag("RX") else None
    if source == "read_name":
        name = read.query_name or ""
        cut = max(name.rfind("_"), name.rfind(":"))
        umi = name[cut + 1 :] if cut >= 0 else ""
        core = umi.replace("-", "")
        return umi.upper() if core and set(core.upper()) <= set(_ALPHABET) else None
    raise InputError(
        f"unknown UMI source {source!r}", column="umi", expected=" or ".join(UMI_SOURCES)
    )


def check_umis(bam_path: str, source: str, n_reads: int = PREFLIGHT_READS) -> None:
    """The pre-flight's check that the BAM holds what the sample sheet's `umi` column
    promises: the first `n_reads` mapped reads all carry a UMI at `source`."""
    import pysam

    seen = 0
    with pysam.AlignmentFile(bam_path, "rb") as bam:
        for read in bam.fetch(until_eof=True):
            if read.is_unmapped or read.is_secondary or read.is_supplementary:
                continue
            seen += 1
            if read_umi(read, source) is None:
                where = "an RX tag" if source == "rx" else "a UMI as the last '_' field of the name"
                raise InputError(
                    f"read {read.query_name!r} has no UMI (umi: {source})",
                    file=bam_path,
                    column="umi",
                    expected=f"every read with {where} (or umi: none)",
                )
            if seen >= n_reads:
                break
    if not seen:
        raise InputError("BAM has no mapped reads", file=bam_path, expected="aligned reads")


def hamming1_neighbours(umi: str) -> Iterable[str]:
    """Every string at Hamming distance 1 from `umi` over A, C, G, T, N ('-' kept)."""
    for i, c in enumerate(umi):
        if c == "-":
            continue
        for b in _ALPHABET:
            if b != c:
                yield umi[:i] + b + umi[i + 1 :]


def directional_groups(counts: Counter[str] | dict[str, int]) -> dict[str, str]:
    """Map each UMI to the UMI of its group (UMI-tools' directional adjacency).

    Nodes are visited by decreasing count (ties by sequence, for determinism); an
    unvisited node starts a group and takes every unvisited node reachable through
    edges a -> b with Hamming(a, b) = 1 and count(a) >= 2 count(b) - 1."""
    order = sorted(counts, key=lambda u: (-counts[u], u))
    leader: dict[str, str] = {}
    for top in order:
        if top in leader:
            continue
        leader[top] = top
        queue = [top]
        while queue:
            a = queue.pop()
            ca = counts[a]
            for b in hamming1_neighbours(a):
                if b in counts and b not in leader and ca >= 2 * counts[b] - 1:
                    leader[b] = top
                    queue.append(b)
    return leader


def duplex_canonical(umi: str, r1_reverse: bool) -> tuple[str, str]:
    """(canonical UMI, strand label) of a duplex UMI "X-Y": the strand whose first read
    maps forward reads "X-Y" (label A), the other strand of the same molecule reads
    "Y-X" with its first read reverse (label B); both map to canonical "X-Y"."""
    if "-" not in umi:
        return umi, "A"
    x, _, y = umi.partition("-")
    return (f"{y}-{x}", "B") if r1_reverse else (umi, "A")
