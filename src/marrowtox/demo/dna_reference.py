"""Synthetic panel reference for the demo: FASTA, GENCODE-style GTF and panel BED.

No genome can be downloaded here, so each CH gene is a compact synthetic transcript
whose coding sequence has the gene's real length and exon count, with the hotspot
exon numbered as in the literature. Planted variants therefore translate to their
real protein changes (DNMT3A p.R882H, JAK2 p.V617F, TP53 p.R175H, ...), while introns
are shortened to keep the reference small. Strands follow hg38 (DNMT3A, TP53, SRSF2
and SF3B1 are on the minus strand), so strand-aware annotation is exercised.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BASES = np.array(list("ACGT"))
COMP = str.maketrans("ACGTN", "TGCAN")
STOPS = {"TAA", "TAG", "TGA"}
SENSE_CODONS = [a + b + c for a in "ACGT" for b in "ACGT" for c in "ACGT" if a + b + c not in STOPS]
INTRON = 60
UTR5 = 40
UTR3 = 80
GENE_GAP = 400
CONTIG_FLANK = 300


def revcomp(seq: str) -> str:
    return seq.translate(COMP)[::-1]


@dataclass(frozen=True)
class GeneSpec:
    name: str
    chrom: str
    strand: str
    aa_length: int
    n_exons: int
    hotspot_codon: int  # codon that sits in the hotspot exon
    hotspot_exon: int
    fixed_codons: dict[int, str] = field(default_factory=dict)  # codon number -> codon
    extra_target_exon: int | None = None


#: Panel genes. aa lengths and exon counts of the canonical (MANE) transcripts; the
#: ASXL1 exon count follows the numbering used by the CHIP rules (exons 11-12).
GENES: tuple[GeneSpec, ...] = (
    GeneSpec("DNMT3A", "chr2", "-", 912, 23, 882, 23, {882: "CGC"}),
    GeneSpec("SF3B1", "chr2", "-", 1304, 25, 700, 15, {700: "AAG", 705: "GCA"}),
    GeneSpec("TET2", "chr4", "+", 2002, 11, 1034, 3, {1034: "CAG", 1030: "AAA", 1031: "AAA"}),
    GeneSpec("JAK2", "chr9", "+", 1132, 25, 617, 14, {617: "GTC", 612: "CTG"}),
    GeneSpec("TP53", "chr17", "-", 393, 11, 175, 5, {175: "CGC"}),
    GeneSpec("PPM1D", "chr17", "+", 605, 6, 500, 6, {500: "CTG", 501: "AGC"}),
    GeneSpec("SRSF2", "chr17", "-", 221, 2, 95, 1, {95: "CCC"}),
    GeneSpec("ASXL1", "chr20", "+", 1541, 12, 693, 12, {693: "CGA"}),
)


@dataclass
class Transcript:
    gene: str
    chrom: str
    strand: str
    exons: list[tuple[int, int]]  # genomic 0-based half-open, in transcript order
    cds: list[tuple[int, int]]  # genomic CDS pieces, transcript order
    tx_seq: str  # spliced mRNA 5'->3'
    cds_offset: int  # index of the A of ATG in tx_seq
    hotspot_exon: int
    extra_target_exon: int | None
    gene_start: int = 0
    gene_end: int = 0

    def cds_pos_to_genome(self, c: int) -> int:
        """0-based CDS position -> 0-based genomic coordinate."""
        t = self.cds_offset + c
        for s, e in self.exons:
            n = e - s
            if t < n:
                return s + t if self.strand == "+" else e - 1 - t
            t -= n
        raise ValueError("outside transcript")


def _random_codons(r: np.random.Generator, n: int) -> list[str]:
    """Sense codons avoiding runs of >= 4 identical bases (keeps homopolymers planned)."""
    out: list[str] = []
    tail = ""
    while len(out) < n:
        c = SENSE_CODONS[int(r.integers(0, len(SENSE_CODONS)))]
        s = tail + c
        if any(s[i] == s[i + 1] == s[i + 2] == s[i + 3] for i in range(len(s) - 3)):
            continue
        out.append(c)
        tail = s[-3:]
    return out


def _random_seq(r: np.random.Generator, n: int) -> str:
    seq = []
    while len(seq) < n:
        b = BASES[int(r.integers(0, 4))]
        if len(seq) >= 3 and seq[-1] == seq[-2] == seq[-3] == b:
            continue
        seq.append(str(b))
    return "".join(seq)


def _exon_lengths(spec: GeneSpec, cds_len: int) -> list[int]:
    """Exon lengths (mRNA incl. UTRs) placing the hotspot codon in its real exon."""
    total = UTR5 + cds_len + UTR3
    hot = UTR5 + (spec.hotspot_codon - 1) * 3  # mRNA position of the hotspot codon
    k = spec.hotspot_exon
    hot_start = max(hot - 90, 1) if k > 1 else 0
    hot_end = min(hot + 93, total) if k < spec.n_exons else total
    before = np.linspace(0, hot_start, k, dtype=int) if k > 1 else np.array([0])
    after = np.linspace(hot_end, total, spec.n_exons - k + 1, dtype=int)
    bounds = list(before) + list(after)
    lengths = [b - a for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    assert len(lengths) == spec.n_exons and sum(lengths) == total and min(lengths) > 0, spec.name
    return lengths


def build_reference(r: np.random.Generator) -> tuple[dict[str, str], list[Transcript]]:
    contigs: dict[str, list[str]] = {}
    pos: dict[str, int] = {}
    transcripts = []
    for spec in GENES:
        codons = _random_codons(r, spec.aa_length)
        codons[0] = "ATG"
        for num, codon in spec.fixed_codons.items():
            codons[num - 1] = codon
        cds = "".join(codons) + "TGA"
        mrna = _random_seq(r, UTR5) + cds + _random_seq(r, UTR3)
        lengths = _exon_lengths(spec, len(cds))
        # gene body in transcript orientation: exon, GT..intron..AG, exon, ...
        pieces, exon_tx = [], []
        i = 0
        for j, n in enumerate(lengths):
            pieces.append(mrna[i : i + n])
            exon_tx.append((sum(len(p) for p in pieces) - n, sum(len(p) for p in pieces)))
            i += n
            if j < len(lengths) - 1:
                pieces.append("GTAAGT" + _random_seq(r, INTRON - 10) + "CTAG")
        body_tx = "".join(pieces)
        chrom = spec.chrom
        if chrom not in contigs:
            contigs[chrom] = [_random_seq(r, CONTIG_FLANK)]
            pos[chrom] = CONTIG_FLANK
        start = pos[chrom]
        body = body_tx if spec.strand == "+" else revcomp(body_tx)
        L = len(body)
        if spec.strand == "+":
            exons = [(start + a, start + b) for a, b in exon_tx]
        else:
            exons = [(start + L - b, start + L - a) for a, b in exon_tx]
        contigs[chrom].append(body)
        contigs[chrom].append(_random_seq(r, GENE_GAP))
        pos[chrom] = start + L + GENE_GAP
        t = Transcript(spec.name, chrom, spec.strand, exons, [], mrna, UTR5,
                       spec.hotspot_exon, spec.extra_target_exon, start, start + L)
        c0, c1 = t.cds_pos_to_genome(0), t.cds_pos_to_genome(len(cds) - 1)
        lo, hi = min(c0, c1), max(c0, c1) + 1
        t.cds = [(max(s, lo), min(e, hi)) for s, e in exons if min(e, hi) > max(s, lo)]
        transcripts.append(t)
    seqs = {c: "".join(p) + _random_seq(r, CONTIG_FLANK) for c, p in contigs.items()}
    return seqs, transcripts


def gtf_lines(transcripts: list[Transcript]) -> list[str]:
    """GENCODE-style GTF: gene, transcript, exon, CDS, start/stop codon with tags."""
    lines = []
    for k, t in enumerate(transcripts, start=1):
        gid, tid = f"ENSGDEMO{k:05d}.1", f"ENSTDEMO{k:05d}.1"
        base = f'gene_id "{gid}"; gene_type "protein_coding"; gene_name "{t.gene}";'
        tx = f'{base} transcript_id "{tid}"; transcript_type "protein_coding"; transcript_name "{t.gene}-201";'
        tags = ' tag "MANE_Select"; tag "Ensembl_canonical";'

        def row(feature: str, s: int, e: int, attrs: str, frame: str = ".") -> str:
            return "\t".join([t.chrom, "marrowtox_demo", feature, str(s + 1), str(e), ".", t.strand, frame, attrs])

        lines.append(row("gene", t.gene_start, t.gene_end, base))
        lines.append(row("transcript", t.gene_start, t.gene_end, tx + tags))
        cds_done = 0
        for n, (s, e) in enumerate(t.exons, start=1):
            lines.append(row("exon", s, e, f'{tx} exon_number {n};{tags}'))
            for cs, ce in t.cds:
                if cs >= s and ce <= e:
                    phase = (3 - cds_done % 3) % 3
                    lines.append(row("CDS", cs, ce, f'{tx} exon_number {n};{tags}', str(phase)))
                    cds_done += ce - cs
        cds_len = sum(e - s for s, e in t.cds)
        starts = sorted(t.cds_pos_to_genome(i) for i in range(3))
        stops = sorted(t.cds_pos_to_genome(cds_len - 3 + i) for i in range(3))
        lines.append(row("start_codon", starts[0], starts[-1] + 1, tx + tags, "0"))
        lines.append(row("stop_codon", stops[0], stops[-1] + 1, tx + tags, "0"))
    return lines


def exon_target(t: Transcript, exon_number: int, pad: int = 20) -> tuple[int, int]:
    """Bait over one exon (padded); long exons get a 160-bp window around their middle."""
    s, e = t.exons[exon_number - 1]
    if e - s > 200:
        mid = (s + e) // 2
        s, e = mid - 80, mid + 80
    return s - pad, e + pad
