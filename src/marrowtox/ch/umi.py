"""UMIs of aligned reads: reading them, and merging UMIs that differ by sequencing errors.

Where the UMI is: `rx`, the SAM RX tag (fgbio / Illumina DRAGEN style; a duplex UMI is
written "AAA-CCC", one half from each end of the molecule) or `read_name`, the last
`_`- or `:`-separated field of the read name (umi_tools extract style, "READ_ACGT").

Grouping: reads of one molecule share their template's mapping coordinates and their
UMI, up to sequencing errors in the UMI. Errors are merged by the directional
adjacency method of UMI-tools (Smith, Heger & Sudbery 2017, Genome Res 27:491): UMI a
absorbs UMI b when they differ at one position and count(a) >= 2 count(b) - 1; each
group is everything reachable from its most abundant UMI. The method is UMI-tools'
own `UMIClusterer("directional")`, from the PyPI fork umi-tools-folitools (the same
`umi_tools` package with a build that installs on Python >= 3.11; upstream
umi-tools 1.1.6 ships only an sdist whose setup downloads setuptools 10 over the
network and fails offline).
"""

from __future__ import annotations

import warnings
from collections import Counter
from typing import TYPE_CHECKING

from marrowtox.errors import InputError

if TYPE_CHECKING:  # pysam only where BAMs are read: `marrowtox --help` stays light
    import pysam

UMI_SOURCES = ("none", "rx", "read_name")
#: Mapped reads the pre-flight reads to check that a BAM holds the promised UMIs.
PREFLIGHT_READS = 1000
_ALPHABET = "ACGTN"  # bases a read-name UMI may hold


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


def directional_groups(counts: Counter[str] | dict[str, int]) -> dict[str, str]:
    """Map each UMI to the UMI of its group (UMI-tools' directional adjacency, through
    umi_tools' own clusterer; Hamming distance 1).

    UMI-tools compares UMIs of one length only, so each length is clustered on its
    own (UMIs of different lengths are never one base apart). UMIs are handed over
    sorted by sequence so that ties in count resolve the same way on every run; the
    group's label is its first UMI as UMI-tools orders it (most abundant first)."""
    # imported here: `marrowtox --help` stays light (umi_tools loads scipy, about 3 s);
    # its whitelist module imports numpy.matlib, which warns on import
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        from umi_tools.network import UMIClusterer

    cluster = UMIClusterer(cluster_method="directional")
    by_length: dict[int, dict[bytes, int]] = {}
    for umi in sorted(counts):
        by_length.setdefault(len(umi), {})[umi.encode("ascii")] = int(counts[umi])
    leader: dict[str, str] = {}
    for length in sorted(by_length):
        for group in cluster(by_length[length], threshold=1):
            top = group[0].decode("ascii")
            for member in group:
                leader[member.decode("ascii")] = top
    return leader


def duplex_canonical(umi: str, r1_reverse: bool) -> tuple[str, str]:
    """(canonical UMI, strand label) of a duplex UMI "X-Y": the strand whose first read
    maps forward reads "X-Y" (label A), the other strand of the same molecule reads
    "Y-X" with its first read reverse (label B); both map to canonical "X-Y"."""
    if "-" not in umi:
        return umi, "A"
    x, _, y = umi.partition("-")
    return (f"{y}-{x}", "B") if r1_reverse else (umi, "A")
