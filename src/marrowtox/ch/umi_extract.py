"""Inline UMIs (amplicon assays such as SiMSen-Seq): cut the UMI and spacer off the read
start, and the adapter off its end, before alignment.

Layout (Ståhlberg et al. 2017, Nat Protoc 12:664, SiMSen-Seq): read 1 = UMI
(`umi_length` random bases) + spacer (`spacer_length` fixed bases, part of the
barcode primer's hairpin) + gene-specific primer and insert + (when the insert is
shorter than the read) the Illumina adapter. The spacer is checked against the
library's most common spacer: a read whose spacer differs at more than
`max_spacer_mismatches` positions is not of that layout and is counted, not used.
The adapter is cut at its first exact `adapter_min_overlap`-base match (Illumina
TruSeq read-1 adapter start AGATCGGAAGAGC), as cutadapt does with an exact seed.
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from marrowtox.errors import InputError

#: Start of the Illumina TruSeq adapter read-through in read 1 (Illumina adapter sequences).
TRUSEQ_ADAPTER = "AGATCGGAAGAGC"


@dataclass(frozen=True)
class InlineLayout:
    umi_length: int
    spacer_length: int
    max_spacer_mismatches: int = 2
    adapter: str = TRUSEQ_ADAPTER
    adapter_min_overlap: int = 13
    min_insert: int = 30


@dataclass
class ExtractStats:
    reads: int = 0
    kept: int = 0
    bad_spacer: int = 0
    too_short: int = 0
    spacer: str = ""
    spacers: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class Extracted:
    name: str
    umi: str
    seq: str
    qual: str


def read_fastq(path: str) -> Iterator[tuple[str, str, str]]:
    """(name, sequence, quality) of each record of a (gzipped) FASTQ."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as fh:
        n = 0
        while True:
            head = fh.readline()
            if not head:
                return
            seq, plus, qual = fh.readline().rstrip(), fh.readline(), fh.readline().rstrip()
            n += 1
            if not head.startswith("@") or not plus.startswith("+") or len(seq) != len(qual):
                raise InputError(
                    f"malformed FASTQ record {n}", file=path, expected="4-line FASTQ records"
                )
            yield head[1:].split()[0], seq, qual


def _mismatches(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


def extract_inline(path: str, layout: InlineLayout, stats: ExtractStats) -> list[Extracted]:
    """Reads of `path` with their inline UMI cut off (kept separately), spacer checked,
    adapter trimmed; reads shorter than `min_insert` after trimming are dropped."""
    recs = list(read_fastq(path))
    start = layout.umi_length
    end = start + layout.spacer_length
    stats.spacers = Counter(s[start:end] for _, s, _ in recs if len(s) >= end)
    if not stats.spacers:
        raise InputError(
            f"no read is longer than UMI + spacer ({end} bases)",
            file=path,
            expected="reads starting with the UMI and the spacer",
        )
    stats.spacer = stats.spacers.most_common(1)[0][0]
    seed = layout.adapter[: layout.adapter_min_overlap]
    out = []
    for name, seq, qual in recs:
        stats.reads += 1
        if (
            len(seq) < end
            or _mismatches(seq[start:end], stats.spacer) > layout.max_spacer_mismatches
        ):
            stats.bad_spacer += 1
            continue
        cut = seq.find(seed, end)
        stop = cut if cut >= 0 else len(seq)
        if stop - end < layout.min_insert:
            stats.too_short += 1
            continue
        stats.kept += 1
        out.append(Extracted(name, seq[:start], seq[end:stop], qual[end:stop]))
    return out
