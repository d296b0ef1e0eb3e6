"""Consequence annotation and HGVS from a GTF and FASTA, written here.

Why not VEP/SnpEff: they need a multi-GB cache or a Java stack, neither of which the
users' clusters or CI reliably have, and CH panels need only a handful of canonical
transcripts. One canonical transcript per gene: MANE_Select tag, else
Ensembl_canonical, else the longest CDS. Strand-aware codons; consequences: missense,
nonsense, synonymous, start_lost, stop_lost, frameshift, inframe_deletion,
inframe_insertion, splice_site (+-1/2 intronic), utr, intron, intergenic.
HGVS c. uses the coding coordinate of the first affected base (no 3' shifting of
indels); p. is given in 3-letter (p.Arg882His) and 1-letter (p.R882H) form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import pysam

from marrowtox.errors import InputError

BASES = "TCAG"
AA1 = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODON = {a + b + c: AA1[i] for i, (a, b, c) in enumerate(product(BASES, repeat=3))}
THREE = {
    "A": "Ala",
    "R": "Arg",
    "N": "Asn",
    "D": "Asp",
    "C": "Cys",
    "Q": "Gln",
    "E": "Glu",
    "G": "Gly",
    "H": "His",
    "I": "Ile",
    "L": "Leu",
    "K": "Lys",
    "M": "Met",
    "F": "Phe",
    "P": "Pro",
    "S": "Ser",
    "T": "Thr",
    "W": "Trp",
    "Y": "Tyr",
    "V": "Val",
    "*": "Ter",
}
COMP = str.maketrans("ACGTN", "TGCAN")


def rc(s: str) -> str:
    return s.translate(COMP)[::-1]


@dataclass
class Transcript:
    gene: str
    tid: str
    chrom: str
    strand: str
    exons: list[tuple[int, int, int]] = field(default_factory=list)  # (start0, end, exon_number)
    cds: list[tuple[int, int]] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)

    @property
    def cds_len(self) -> int:
        return sum(e - s for s, e in self.cds)

    def cds_index(self) -> dict[int, int]:
        """Genomic 0-based position -> 0-based coding position (cached: one per call)."""
        cached = self.__dict__.get("_cds_index")
        if cached is None:
            cached = {p: i for i, p in enumerate(self.cds_positions())}
            self.__dict__["_cds_index"] = cached
        return cached

    def cds_positions(self) -> list[int]:
        """Genomic 0-based positions of the CDS in transcript order."""
        pos = [p for s, e in sorted(self.cds) for p in range(s, e)]
        return pos if self.strand == "+" else pos[::-1]


ATTR = re.compile(r'(\S+) "([^"]*)"')


def read_gtf(path: str | Path) -> dict[str, Transcript]:
    """Canonical transcript per gene."""
    txs: dict[str, Transcript] = {}
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if line.startswith("#") or not line.strip():
                continue
            f = line.rstrip("\n").split("\t")
            if len(f) < 9:
                raise InputError(
                    "GTF line with fewer than 9 columns", file=path, row=n, expected="GTF format"
                )
            if f[2] not in ("exon", "CDS", "transcript"):
                continue
            attrs: dict[str, list[str]] = {}
            for k, v in ATTR.findall(f[8]):
                attrs.setdefault(k, []).append(v)
            tid = attrs.get("transcript_id", [None])[0]
            if tid is None:
                continue
            t = txs.setdefault(
                tid,
                Transcript(attrs.get("gene_name", attrs.get("gene_id", ["?"]))[0], tid, f[0], f[6]),
            )
            t.tags |= set(attrs.get("tag", []))
            s, e = int(f[3]) - 1, int(f[4])
            if f[2] == "exon":
                num = (
                    int(re.search(r"exon_number (\d+)", f[8]).group(1))
                    if "exon_number" in f[8]
                    else 0
                )
                t.exons.append((s, e, num))
            elif f[2] == "CDS":
                t.cds.append((s, e))
    best: dict[str, Transcript] = {}
    for t in txs.values():
        if not t.cds:
            continue
        key = ("MANE_Select" in t.tags, "Ensembl_canonical" in t.tags, t.cds_len)
        cur = best.get(t.gene)
        if cur is None or key > (
            "MANE_Select" in cur.tags,
            "Ensembl_canonical" in cur.tags,
            cur.cds_len,
        ):
            best[t.gene] = t
    return best


@dataclass
class Annotation:
    gene: str = ""
    transcript: str = ""
    consequence: str = "intergenic"
    hgvsc: str = ""
    hgvsp: str = ""
    hgvsp_short: str = ""
    exon: int | None = None
    codon: int | None = None


def _exon_of(t: Transcript, pos: int) -> int | None:
    for s, e, n in t.exons:
        if s <= pos < e:
            return n
    return None


def _splice(t: Transcript, positions: list[int]) -> bool:
    ex = sorted((s, e) for s, e, _ in t.exons)
    for i, (s, e) in enumerate(ex):
        donors = range(e, e + 2) if i < len(ex) - 1 else range(0)
        acceptors = range(s - 2, s) if i > 0 else range(0)
        if any(p in donors or p in acceptors for p in positions):
            return True
    return False


def annotate(
    chrom: str, pos: int, ref: str, alt: str, genes: dict[str, Transcript], fasta: pysam.FastaFile
) -> Annotation:
    """Annotate one VCF-style variant (0-based pos of the first REF base)."""
    hits = [
        t
        for t in genes.values()
        if t.chrom == chrom and min(s for s, _, _ in t.exons) <= pos < max(e for _, e, _ in t.exons)
    ]
    if not hits:
        return Annotation()
    t = hits[0]
    a = Annotation(gene=t.gene, transcript=t.tid)
    if len(ref) == len(alt) == 1:
        affected = [pos]
    elif len(ref) > len(alt):
        affected = list(range(pos + 1, pos + len(ref)))
    else:
        affected = [pos, pos + 1]
    index = t.cds_index()
    a.exon = next((x for x in (_exon_of(t, p) for p in affected) if x is not None), None)
    in_cds = [index[p] for p in affected if p in index]
    if not in_cds:
        if _splice(t, affected):
            a.consequence = "splice_site"
        else:
            a.consequence = "utr" if a.exon is not None else "intron"
        return a
    cds = "".join(fasta.fetch(chrom, s, e) for s, e in sorted(t.cds)).upper()
    if t.strand == "-":
        cds = rc(cds)  # transcript order, as cds_pos
    c0 = min(in_cds)
    codon_no = c0 // 3 + 1
    ref_aa = CODON.get(cds[(codon_no - 1) * 3 : codon_no * 3], "X")
    a.codon = codon_no
    if len(ref) == len(alt) == 1:
        r_tx, a_tx = (ref, alt) if t.strand == "+" else (rc(ref), rc(alt))
        mutant = cds[:c0] + a_tx + cds[c0 + 1 :]
        alt_aa = CODON.get(mutant[(codon_no - 1) * 3 : codon_no * 3], "X")
        a.hgvsc = f"c.{c0 + 1}{r_tx}>{a_tx}"
        if codon_no == 1 and ref_aa == "M" and alt_aa != "M":
            a.consequence = "start_lost"
        elif ref_aa == alt_aa:
            a.consequence = "synonymous"
        elif alt_aa == "*":
            a.consequence = "nonsense"
        elif ref_aa == "*":
            a.consequence = "stop_lost"
        else:
            a.consequence = "missense"
        if a.consequence == "synonymous":
            a.hgvsp, a.hgvsp_short = f"p.{THREE[ref_aa]}{codon_no}=", f"p.{ref_aa}{codon_no}="
        else:
            a.hgvsp = f"p.{THREE.get(ref_aa, 'Xaa')}{codon_no}{THREE.get(alt_aa, 'Xaa')}"
            a.hgvsp_short = f"p.{ref_aa}{codon_no}{alt_aa}"
        return a
    if len(ref) > len(alt):
        n = len(ref) - len(alt)
        lo, hi = min(in_cds) + 1, max(in_cds) + 1
        a.hgvsc = f"c.{lo}del" if n == 1 else f"c.{lo}_{hi}del"
        kind = "inframe_deletion"
    else:
        n = len(alt) - len(ref)
        ins = alt[1:] if t.strand == "+" else rc(alt[1:])
        lo = min(in_cds) + 1
        a.hgvsc = f"c.{lo}_{lo + 1}ins{ins}"
        kind = "inframe_insertion"
    if n % 3:
        a.consequence = "frameshift"
        a.hgvsp, a.hgvsp_short = (
            f"p.{THREE.get(ref_aa, 'Xaa')}{codon_no}fs",
            f"p.{ref_aa}{codon_no}fs",
        )
    else:
        a.consequence = kind
        suffix = "del" if kind == "inframe_deletion" else "ins"
        a.hgvsp, a.hgvsp_short = (
            f"p.{THREE.get(ref_aa, 'Xaa')}{codon_no}{suffix}",
            f"p.{ref_aa}{codon_no}{suffix}",
        )
    if _splice(t, affected):
        a.consequence += "&splice_site"
    return a
