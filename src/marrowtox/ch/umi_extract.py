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

The sample sheet gives such a sample as `umi: inline`, `path`: the read 1 FASTQ and
`umi_layout`: "<UMI bases>+<spacer bases>" (e.g. "19+16"). The extracted reads are
written as FASTQ with the UMI as the last `_` field of the read name (umi_tools
extract style), which the alignment step (marrowtox.ch.align) moves into RX.
"""

from __future__ import annotations

import gzip
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from marrowtox.atomic import atomic_path
from marrowtox.errors import InputError

#: Start of the Illumina TruSeq adapter read-through in read 1 (Illumina adapter sequences).
TRUSEQ_ADAPTER = "AGATCGGAAGAGC"
#: The sample sheet's `umi` value for UMIs inline at the read start (FASTQ input).
INLINE = "inline"
#: `umi_layout`: UMI bases "+" spacer bases.
LAYOUT_PATTERN = re.compile(r"^(\d+)\+(\d+)$")
#: Reads the pre-flight reads to check that a FASTQ holds the promised layout.
PREFLIGHT_READS = 1000
#: Share of those reads that must carry the most common spacer exactly at the layout's
#: offset: 82% do in the real SiMSen-Seq reads (first 1,000), at most 36% with the
#: UMI length one base off (the shifted spacer is shared by one amplicon's reads) and
#: a few percent further off, so half separates a right layout from a wrong one.
PREFLIGHT_MIN_SPACER_SHARE = 0.5


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


def parse_layout(text: str) -> tuple[int, int]:
    """(UMI length, spacer length) of a sample sheet `umi_layout` such as "19+16"."""
    m = LAYOUT_PATTERN.match(str(text).strip())
    if not m or int(m.group(1)) < 1:
        raise InputError(
            f"UMI layout {text!r} not understood",
            column="umi_layout",
            expected='"<UMI bases>+<spacer bases>", e.g. "19+16" (spacer may be 0)',
        )
    return int(m.group(1)), int(m.group(2))


def check_layout(path: str, layout: InlineLayout, n_reads: int = PREFLIGHT_READS) -> None:
    """The pre-flight's check that a FASTQ holds what `umi_layout` promises: of its first
    `n_reads` reads, at least PREFLIGHT_MIN_SPACER_SHARE are long enough and carry
    the most common spacer, exactly, at the layout's offset (when it has a spacer)."""
    start, end = layout.umi_length, layout.umi_length + layout.spacer_length
    seqs = []
    for _, seq, _ in read_fastq(path):
        seqs.append(seq)
        if len(seqs) >= n_reads:
            break
    if not seqs:
        raise InputError("FASTQ has no reads", file=path, expected="read 1 FASTQ records")
    long_enough = [s for s in seqs if len(s) >= end + layout.min_insert]
    share = len(long_enough) / len(seqs)
    if share < PREFLIGHT_MIN_SPACER_SHARE:
        raise InputError(
            f"{share:.0%} of the first {len(seqs)} reads are longer than UMI + spacer + "
            f"{layout.min_insert} bases ({end + layout.min_insert})",
            file=path,
            column="umi_layout",
            expected=f"reads of UMI ({start}) + spacer ({layout.spacer_length}) + insert",
        )
    if not layout.spacer_length:
        return
    top, near = Counter(s[start:end] for s in long_enough).most_common(1)[0]
    if near / len(seqs) < PREFLIGHT_MIN_SPACER_SHARE:
        raise InputError(
            f"no common spacer at bases {start + 1}-{end}: the most common, {top}, is in "
            f"{near / len(seqs):.0%} of the first {len(seqs)} reads",
            file=path,
            column="umi_layout",
            expected=(
                f"a fixed spacer after the {start}-base UMI in at least "
                f"{PREFLIGHT_MIN_SPACER_SHARE:.0%} of reads (check the UMI and spacer lengths)"
            ),
        )


def write_fastq(reads: Iterable[Extracted], out: str) -> int:
    """Writes the extracted reads (gzipped FASTQ, atomically), the UMI as the last `_`
    field of each read name; returns the number written."""
    n = 0
    with atomic_path(out) as tmp, gzip.open(tmp, "wt", compresslevel=1) as fh:
        for r in reads:
            fh.write(f"@{r.name}_{r.umi}\n{r.seq}\n+\n{r.qual}\n")
            n += 1
    return n


def read_extracted(path: str) -> Iterator[Extracted]:
    """The reads of an extracted FASTQ (write_fastq), the UMI taken off the name."""
    for name, seq, qual in read_fastq(path):
        base, _, umi = name.rpartition("_")
        if not base or not umi or set(umi) - set("ACGTN"):
            raise InputError(
                f"read {name!r} has no UMI as the last '_' field of its name",
                file=path,
                expected="reads written by `marrowtox ch-umi-extract` (NAME_UMI)",
            )
        yield Extracted(base, umi, seq, qual)


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
