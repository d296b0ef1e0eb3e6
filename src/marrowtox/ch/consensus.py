"""UMI consensus reads: one read (or pair) per source molecule, with an explicit error model.

Reads are grouped into families by template coordinates, strand and UMI (UMI errors
merged by directional adjacency, marrowtox.ch.umi). Per family and read of the pair,
a consensus base and quality come from the read bases and qualities under the model of
fgbio CallMolecularConsensusReads (Fulcrum Genomics; Kennedy et al. 2014, Nat Protoc
9:2586 for the duplex idea):

- each base's error = its sequencing error (10^(-Q/10), bases below
  `umi_min_input_base_quality` ignored) combined with an error after UMI attachment
  (PCR, `umi_error_rate_post_umi`, Phred; two errors that cancel counted as fgbio:
  p = p1 + p2 - 4/3 p1 p2);
- the likelihood of each of A, C, G, T is the product over the reads, the consensus
  base the most likely one, its error 1 - its posterior (flat prior);
- an error before UMI attachment (damage, first-cycle copies: `umi_error_rate_pre_umi`)
  is then combined in: no family size can make a base more certain than that;
- duplex (UMIs "X-Y"; the molecule's other strand reads "Y-X" with its first read on
  the other genomic strand): the single-strand consensus of each strand first (without
  the pre-UMI error), then per base as fgbio CallDuplexConsensusReads: agreement adds
  the two qualities, disagreement keeps the better base with their difference.

Families below `umi_min_family_size` read templates are dropped (a singleton keeps its
full sequencing error); with `umi_require_duplex` a duplex molecule needs both strands.
Within a family only reads with the family's most common alignment (start and CIGAR)
are used, as fgbio keeps the reads of the most common CIGAR. Qualities are capped at
93 (the highest the SAM format can write).

Output: an indexed, coordinate-sorted BAM with tags RX (UMI), MI (molecule), cD / cM
(maximum / minimum reads per base), cE (share of read bases disagreeing with the
consensus) and, for duplex molecules, aD / bD (reads of each strand), as fgbio writes
them; its header carries @PG ID:marrowtox-ch-consensus, from which the caller knows
that depth is in molecules (marrowtox.ch.call.for_bam).

Memory: reads are held until their position is complete (the coordinate-sorted input
has moved past it), in chunks of CHUNK_READS, so memory follows the chunk size rather
than the BAM.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pysam

from marrowtox.atomic import atomic_path
from marrowtox.ch.umi import directional_groups, duplex_canonical, read_umi
from marrowtox.errors import InputError

PG_ID = "marrowtox-ch-consensus"
#: Reads held before complete positions are handed on (memory: about 1 kB per read).
CHUNK_READS = 200_000
#: Mapping quality of a consensus read: its family's reads all passed min_mapping_quality
#: at one alignment, which the consensus keeps (fgbio writes the reads' own; 60 = unique).
CONSENSUS_MAPQ = 60
#: SAM qualities are Phred + 33 in printable ASCII: 93 is the highest.
MAX_QUALITY = 93
_CODE = np.full(256, 4, np.uint8)
for _i, _b in enumerate("ACGT"):
    _CODE[ord(_b)] = _i
    _CODE[ord(_b.lower())] = _i
_BASES = np.frombuffer(b"ACGTN", np.uint8)
_SKIP = 0x4 | 0x100 | 0x200 | 0x800  # unmapped, secondary, QC-fail, supplementary


@dataclass(frozen=True)
class ConsensusParams:
    umi: str = "rx"
    umi_error_rate_pre_umi: int = 45
    umi_error_rate_post_umi: int = 40
    umi_min_input_base_quality: int = 10
    umi_min_family_size: int = 2
    umi_require_duplex: bool = False
    min_mapping_quality: int = 20


@dataclass
class ConsensusStats:
    """What the consensus step saw: the QC table's counts (marrowtox.ch.umi_qc)."""

    reads: int = 0
    reads_no_umi: int = 0
    reads_low_mapq: int = 0
    reads_off_alignment: int = 0
    templates: int = 0
    families: int = 0
    molecules_written: int = 0
    duplex_molecules: int = 0
    family_sizes: Counter = field(default_factory=Counter)


def phred_to_p(q: np.ndarray | float) -> np.ndarray:
    return np.power(10.0, -np.asarray(q, float) / 10.0)


def p_to_phred(p: np.ndarray) -> np.ndarray:
    q = -10.0 * np.log10(np.maximum(p, 1e-300))
    return np.clip(np.round(q), 2, MAX_QUALITY).astype(np.uint8)


def two_errors(p1: np.ndarray | float, p2: np.ndarray | float) -> np.ndarray:
    """Error of a base that passed two error-prone steps, as fgbio: an error in both that
    restores the base (1/3 of double errors) is not an error: p1 + p2 - 4/3 p1 p2."""
    p1, p2 = np.asarray(p1, float), np.asarray(p2, float)
    return p1 + p2 - (4.0 / 3.0) * p1 * p2


def single_strand(
    codes: np.ndarray, quals: np.ndarray, params: ConsensusParams
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Consensus of n aligned reads (codes 0-3 = A, C, G, T, 4 = N; n x L), or of a
    batch of families of the same n and L (F x n x L: one numpy pass for all).

    Returns the consensus codes ([F x] L), their error probabilities before the
    pre-UMI error (0.75 where no read has a usable base), the reads per base and the
    number of read bases that disagree with the consensus ([F])."""
    usable = (codes < 4) & (quals >= params.umi_min_input_base_quality)
    p = two_errors(phred_to_p(quals), phred_to_p(params.umi_error_rate_post_umi))
    ll_match = np.where(usable, np.log1p(-p), 0.0)
    ll_miss = np.where(usable, np.log(p / 3.0), 0.0)
    ll = np.stack(
        [np.where(codes == b, ll_match, ll_miss).sum(axis=-2) for b in range(4)], axis=-1
    )  # [F x] L x 4
    best = ll.argmax(axis=-1)
    top = np.take_along_axis(ll, best[..., None], axis=-1)
    others = np.exp(ll - top)
    np.put_along_axis(others, best[..., None], 0.0, axis=-1)
    rest = others.sum(axis=-1)
    perr = rest / (1.0 + rest)
    depth = usable.sum(axis=-2)
    none = depth == 0
    best = np.where(none, 4, best).astype(np.uint8)
    perr = np.where(none, 0.75, perr)
    errors = (usable & (codes != best[..., None, :])).sum(axis=(-2, -1))
    return best, perr, depth, errors


def duplex(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """fgbio's duplex rule on two single-strand consensus (codes, errors): agreement adds
    the Phred qualities (multiplies the errors), disagreement keeps the better base at
    the difference of the qualities, a tie is N."""
    (ca, pa), (cb, pb) = a, b
    qa = -10.0 * np.log10(np.maximum(pa, 1e-300))
    qb = -10.0 * np.log10(np.maximum(pb, 1e-300))
    agree = ca == cb
    code = np.where(agree | (qa > qb), ca, cb)
    q = np.where(agree, qa + qb, np.abs(qa - qb))
    tie = ~agree & (qa == qb)
    code = np.where(tie | (ca == 4) & (cb == 4), 4, code)
    # one strand without a usable base: the other strand's base as it is
    only_a, only_b = (cb == 4) & (ca < 4), (ca == 4) & (cb < 4)
    code = np.where(only_a, ca, np.where(only_b, cb, code)).astype(np.uint8)
    q = np.where(only_a, qa, np.where(only_b, qb, q))
    return code, np.where(code == 4, 0.75, np.power(10.0, -q / 10.0))


@dataclass(slots=True)
class _Read:
    name: str
    start: int
    cigar: tuple[tuple[int, int], ...]
    reverse: bool
    read1: bool
    seq: bytes
    qual: bytes


@dataclass(slots=True)
class _Out:
    start: int
    cigar: tuple[tuple[int, int], ...]
    reverse: bool
    seq: bytes
    qual: bytes
    tags: list[tuple[str, object]]


def _template_key(read: pysam.AlignedSegment, whole_span: bool) -> tuple[int, int, bool, bool]:
    """(low, high, first read reverse, paired) of the read's template.

    A pair: its two mates' leftmost aligned positions. A single read: its unclipped 5'
    end only (as fgbio GroupReadsByUmi; an amplicon's reads all start at its primer,
    while their 3' ends vary with adapter trimming), or its whole unclipped span when
    `whole_span` (duplex UMIs: the molecule's other strand is read from the other end,
    so both ends identify the molecule)."""
    paired = (
        read.is_paired and not read.mate_is_unmapped and read.next_reference_id == read.reference_id
    )
    if paired:
        lo, hi = sorted((read.reference_start, read.next_reference_start))
        return lo, hi, bool(read.is_reverse if read.is_read1 else read.mate_is_reverse), True
    cig = read.cigartuples or [(0, 0)]
    lead = cig[0][1] if cig[0][0] == 4 else 0
    trail = cig[-1][1] if cig[-1][0] == 4 else 0
    start = read.reference_start - lead
    end = int(read.reference_end or read.reference_start) + trail
    if whole_span:
        return start, end, bool(read.is_reverse), False
    five = end if read.is_reverse else start
    return five, five, bool(read.is_reverse), False


def _majority(reads: list[_Read], stats: ConsensusStats) -> tuple[tuple, bool, list[_Read]]:
    """The reads of one role (first or second of pair) of a family that share its most
    common alignment (start, CIGAR, strand): ((start, cigar), reverse, reads)."""
    shape = Counter((r.start, r.cigar, r.reverse) for r in reads)
    (start, cigar, rev), _ = max(shape.items(), key=lambda kv: (kv[1], -kv[0][0]))
    keep = [r for r in reads if (r.start, r.cigar, r.reverse) == (start, cigar, rev)]
    stats.reads_off_alignment += len(reads) - len(keep)
    return (start, cigar), rev, keep


def _batch_consensus(jobs: list[list[_Read]], params: ConsensusParams) -> list[tuple]:
    """single_strand over many read sets, batched by (reads, length): per set (codes,
    errors, depth, disagreeing bases)."""
    out: list[tuple] = [()] * len(jobs)
    by_shape: dict[tuple[int, int], list[int]] = defaultdict(list)
    for j, keep in enumerate(jobs):
        by_shape[(len(keep), len(keep[0].seq))].append(j)
    for (n, length), idx in by_shape.items():
        f = len(idx)
        seq = b"".join(r.seq for j in idx for r in jobs[j])
        qual = b"".join(r.qual for j in idx for r in jobs[j])
        codes = _CODE[np.frombuffer(seq, np.uint8)].reshape(f, n, length)
        quals = np.frombuffer(qual, np.uint8).reshape(f, n, length).astype(float)
        code, perr, depth, errors = single_strand(codes, quals, params)
        for k, j in enumerate(idx):
            out[j] = (code[k], perr[k], depth[k], int(errors[k]))
    return out


def _molecule(subs: dict[str, list], params: ConsensusParams) -> list[_Out]:
    """Consensus reads of one molecule from its single-strand consensus per strand label
    and read role: (shape, reverse, codes, errors, depth, disagreeing bases)."""
    pre = phred_to_p(params.umi_error_rate_pre_umi)
    a_subs, b_subs = subs.get("A", []), subs.get("B", [])
    is_duplex = bool(a_subs and b_subs)
    out: list[_Out] = []
    used_b: set[int] = set()
    for sa in a_subs:
        j = next((k for k, sb in enumerate(b_subs) if k not in used_b and sb[0] == sa[0]), None)
        if j is not None:
            used_b.add(j)
            sb = b_subs[j]
            code, perr = duplex((sa[2], sa[3]), (sb[2], sb[3]))
            depth = sa[4] + sb[4]
            tags = [("aD", int(sa[4].max())), ("bD", int(sb[4].max()))]
            errs, nbases = sa[5] + sb[5], int(depth.sum())
        elif params.umi_require_duplex and is_duplex:
            continue
        else:
            code, perr, depth, errs, nbases, tags = sa[2], sa[3], sa[4], sa[5], int(sa[4].sum()), []
        out.append(_emit(sa[0], sa[1], code, perr, depth, errs, nbases, tags, pre))
    for k, sb in enumerate(b_subs):
        if k in used_b or (params.umi_require_duplex and is_duplex):
            continue
        out.append(_emit(sb[0], sb[1], sb[2], sb[3], sb[4], sb[5], int(sb[4].sum()), [], pre))
    return out


def _emit(
    shape: tuple,
    rev: bool,
    code: np.ndarray,
    perr: np.ndarray,
    depth: np.ndarray,
    errs: int,
    nbases: int,
    tags: list[tuple[str, object]],
    pre: np.ndarray,
) -> _Out:
    """A consensus read: the pre-UMI error combined in, Phred qualities, fgbio's tags."""
    q = p_to_phred(two_errors(perr, pre))
    q = np.where(code == 4, 2, q).astype(np.uint8)
    tags = [
        ("cD", int(depth.max())),
        ("cM", int(depth.min())),
        ("cE", float(errs / nbases) if nbases else 0.0),
        *tags,
    ]
    return _Out(shape[0], shape[1], rev, _BASES[code].tobytes(), q.tobytes(), tags)


def _load(
    bam: pysam.AlignmentFile, contig: str, params: ConsensusParams, stats: ConsensusStats
) -> Iterator[dict[tuple, list[tuple[str, str, _Read]]]]:
    """Reads of a contig keyed by template position (low, high, ...), with their
    canonical UMI and strand, in chunks of complete positions.

    Reads come sorted by start, and every read of a position key starts at or before
    its `high`: once a read starts after it, the key is complete. Keys are handed on
    in chunks of at least CHUNK_READS reads, so memory follows the chunk, not the
    contig."""
    at: dict[tuple, list[tuple[str, str, _Read]]] = defaultdict(list)
    held = 0
    for read in bam.fetch(contig):
        if held >= CHUNK_READS:
            done = [k for k in at if k[1] < read.reference_start]
            if done:
                chunk = {k: at.pop(k) for k in done}
                held -= sum(len(v) for v in chunk.values())
                yield chunk
        if read.flag & _SKIP:
            continue
        stats.reads += 1
        if read.mapping_quality < params.min_mapping_quality:
            stats.reads_low_mapq += 1
            continue
        umi = read_umi(read, params.umi)
        if umi is None:
            stats.reads_no_umi += 1
            continue
        lo, hi, r1_rev, paired = _template_key(read, "-" in umi)
        canon, label = duplex_canonical(umi, r1_rev)
        pos = (lo, hi, paired) if "-" in umi else (lo, hi, paired, r1_rev)
        cig = tuple((op, n) for op, n in (read.cigartuples or ()) if op != 5)  # no hard clips
        at[pos].append(
            (
                canon,
                label,
                _Read(
                    read.query_name or "",
                    read.reference_start,
                    cig,
                    read.is_reverse,
                    not read.is_read2,
                    (read.query_sequence or "").encode(),
                    bytes(read.query_qualities or b""),
                ),
            )
        )
        held += 1
    if at:
        yield at


def call_consensus(
    bam_path: str, out_bam: str, params: ConsensusParams, command: str = ""
) -> ConsensusStats:
    """Writes the consensus BAM (sorted, indexed) of an indexed BAM of UMI-tagged reads."""
    stats = ConsensusStats()
    try:
        bam = pysam.AlignmentFile(bam_path, "rb")
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read BAM ({exc})", file=bam_path, expected="a BAM") from None
    with bam:
        if not bam.has_index():
            raise InputError("BAM has no index", file=bam_path, expected="samtools index")
        header = bam.header.to_dict()
        header.setdefault("PG", []).append(
            {"ID": PG_ID, "PN": "marrowtox", "CL": command or "marrowtox ch-consensus"}
        )
        header.setdefault("CO", []).append(
            "marrowtox UMI consensus: one read (pair) per molecule; depth is in molecules"
        )
        header.pop("RG", None)
        header["RG"] = [{"ID": "consensus", "SM": _sample_name(bam)}]
        with atomic_path(out_bam) as tmp:
            unsorted = Path(str(tmp) + ".unsorted.bam")
            with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
                for tid, contig in enumerate(bam.references):
                    _contig_consensus(bam, contig, tid, out, params, stats)
            pysam.sort("-o", str(tmp), str(unsorted))
            unsorted.unlink()
    pysam.index(out_bam)
    return stats


def _sample_name(bam: pysam.AlignmentFile) -> str:
    rg = bam.header.to_dict().get("RG") or [{}]
    return str(rg[0].get("SM", "sample"))


def _contig_consensus(
    bam: pysam.AlignmentFile,
    contig: str,
    tid: int,
    out: pysam.AlignmentFile,
    params: ConsensusParams,
    stats: ConsensusStats,
) -> None:
    """Groups the contig's reads into families, calls their consensus (batched) and
    writes one read, or a proper pair, per molecule, a chunk of positions at a time."""
    for at in _load(bam, contig, params, stats):
        _chunk_consensus(at, contig, tid, out, params, stats)


def _chunk_consensus(
    at: dict[tuple, list[tuple[str, str, _Read]]],
    contig: str,
    tid: int,
    out: pysam.AlignmentFile,
    params: ConsensusParams,
    stats: ConsensusStats,
) -> None:
    mols: list[tuple[str, str, bool, bool]] = []
    pending: list[tuple[int, str, tuple, bool, list[_Read]]] = []
    for pos in sorted(at):
        entries = at[pos]
        # count templates (not reads: a pair's two reads are one template) per UMI
        per_umi: dict[str, set[str]] = defaultdict(set)
        for canon, label, r in entries:
            per_umi[canon].add(f"{label}:{r.name}")
        leader = directional_groups({u: len(n) for u, n in per_umi.items()})
        fam: dict[str, dict[str, list[_Read]]] = defaultdict(lambda: defaultdict(list))
        for canon, label, r in entries:
            fam[leader[canon]][label].append(r)
        stats.templates += sum(len(n) for n in per_umi.values())
        paired = pos[2]
        for umi in sorted(fam):
            by_label = fam[umi]
            size = sum(len({r.name for r in v}) for v in by_label.values())
            stats.families += 1
            stats.family_sizes[size] += 1
            if size < params.umi_min_family_size:
                continue
            if params.umi_require_duplex and "-" in umi and len(by_label) < 2:
                continue
            m = len(mols)
            mols.append((f"{contig}:{pos[0]}:{pos[1]}:{umi}", umi, paired, len(by_label) == 2))
            for label, reads in sorted(by_label.items()):
                roles: dict[bool, list[_Read]] = defaultdict(list)
                for r in reads:
                    roles[r.read1].append(r)
                for _, v in sorted(roles.items(), reverse=True):
                    shape, rev, keep = _majority(v, stats)
                    if keep[0].seq:
                        pending.append((m, label, shape, rev, keep))
    results = _batch_consensus([p[4] for p in pending], params)
    subs: list[dict[str, list]] = [defaultdict(list) for _ in mols]
    for (m, label, shape, rev, _), res in zip(pending, results, strict=True):
        subs[m][label].append((shape, rev, *res))
    records = []
    for m, (name, umi, paired, two_strands) in enumerate(mols):
        reads = _molecule(subs[m], params)
        if not reads:
            continue
        stats.molecules_written += 1
        stats.duplex_molecules += int(two_strands)
        records.append((name, umi, paired, reads, stats.molecules_written))
    for name, umi, paired, reads, mi in records:
        mates = paired and len(reads) == 2 and reads[0].reverse != reads[1].reverse
        for k, r in enumerate(reads):
            a = pysam.AlignedSegment(out.header)
            a.query_name = name if mates or len(reads) == 1 else f"{name}/{k}"
            a.reference_id = tid
            a.reference_start = r.start
            a.cigartuples = list(r.cigar)
            a.query_sequence = r.seq.decode()
            a.query_qualities = array("B", r.qual)
            a.mapping_quality = CONSENSUS_MAPQ
            flag = 0x10 if r.reverse else 0
            if mates:
                m_ = reads[1 - k]
                flag |= 0x1 | 0x2 | (0x40 if k == 0 else 0x80) | (0x20 if m_.reverse else 0)
                a.next_reference_id = tid
                a.next_reference_start = m_.start
            a.flag = flag
            a.set_tags([("RX", umi), ("MI", str(mi)), ("RG", "consensus"), *r.tags])
            out.write(a)
