"""Simulated UMI-tagged reads with a known truth: the test bed of the UMI consensus path.

What a UMI panel run does to a molecule, in order, each step with its own errors:

1. molecules: fragments of `read_length` bp at uniform random starts over a random
   reference (contig `umi1`), `molecules_per_site` covering each position on average;
   each carries each planted SNV with probability = its VAF; a rare error before UMI
   attachment (`pre_umi_error`: damage such as deamination) is then part of the
   molecule, as it would be in every copy;
2. UMI: random bases (`umi_length`); duplex molecules get "X-Y" on one strand and
   "Y-X" on the other, whose reads map to the other genomic strand;
3. PCR: each strand family gets 1 + NegBin(mean `mean_family_size` - 1, shape
   `family_shape`) reads; a polymerase error (`pcr_error` per base per cycle over
   `pcr_cycles`) made in cycle c is in each read of the family with probability 2^-c;
4. sequencing: binned NovaSeq-like qualities (Q37, Q23, Q12) with a true error rate
   `quality_miscalibration` times the stated one (Illumina qualities overstate
   accuracy), and the same error rate in the UMI bases.

Reads are single-end, `read_length`M, mapping quality 60, UMI in the RX tag (or the
read name), coordinate-sorted and indexed: what an aligner would give for such reads,
without running one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pysam

BASES = np.frombuffer(b"ACGT", np.uint8)
CONTIG = "umi1"
#: Binned NovaSeq qualities and their shares (as the demo's DNA reads: marrowtox.demo.dna).
QUALS = np.array([37, 23, 12], np.uint8)
QUAL_SHARE = np.array([0.85, 0.10, 0.05])


@dataclass(frozen=True)
class UmiSimParams:
    levels: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.02)
    sites_per_level: int = 20
    site_spacing: int = 120
    molecules_per_site: int = 2000
    read_length: int = 100
    mean_family_size: float = 5.0
    family_shape: float = 2.0
    umi_length: int = 12
    duplex: bool = False
    pre_umi_error: float = 2e-6
    pcr_error: float = 1e-5
    pcr_cycles: int = 10
    quality_miscalibration: float = 3.0
    umi_in: str = "rx"
    seed: int = 29


@dataclass(frozen=True)
class UmiTruth:
    chrom: str
    pos: int  # 1-based
    ref: str
    alt: str
    vaf: float


def _reference(r: np.random.Generator, length: int) -> np.ndarray:
    return r.integers(0, 4, length).astype(np.uint8)


def _plant(
    ref: np.ndarray, p: UmiSimParams, r: np.random.Generator
) -> list[tuple[int, int, float]]:
    """(0-based position, alt code, VAF) per site, every `site_spacing` bp, levels in turn;
    no site in or next to a homopolymer of 3 (one representation, no run filter)."""
    out = []
    n = len(p.levels) * p.sites_per_level
    pos = 2 * p.read_length
    while len(out) < n:
        ctx = ref[pos - 3 : pos + 4]
        if np.any(ctx[1:] == ctx[:-1]):
            pos += 1
            continue
        alt = int((ref[pos] + r.integers(1, 4)) % 4)
        out.append((pos, alt, p.levels[len(out) % len(p.levels)]))
        pos += p.site_spacing
    return out


def simulate_umi_bam(
    out_dir: str | Path, name: str, p: UmiSimParams
) -> tuple[Path, Path, Path, list[UmiTruth]]:
    """Writes <name>.bam (+ .bai), ref.fa (+ .fai) and targets.bed; returns them and the truth."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    r = np.random.default_rng(p.seed)
    n_sites = len(p.levels) * p.sites_per_level
    length = 3 * p.read_length + n_sites * (p.site_spacing + 20) + 200
    ref = _reference(r, length)
    sites = _plant(ref, p, r)
    fa = out / "ref.fa"
    seq = BASES[ref].tobytes().decode()
    fa.write_text(f">{CONTIG}\n" + "\n".join(seq[i : i + 60] for i in range(0, length, 60)) + "\n")
    pysam.faidx(str(fa))
    lo, hi = sites[0][0] - 20, sites[-1][0] + 21
    bed = out / "targets.bed"
    bed.write_text(f"{CONTIG}\t{lo}\t{hi}\tumi_sites\n")
    L = p.read_length
    # molecules: uniform starts so that each site has molecules_per_site on average
    span = (hi + L) - (lo - L)
    n_mol = int(round(p.molecules_per_site * span / L))
    starts = np.sort(r.integers(lo - L, hi, n_mol))
    mol = ref[starts[:, None] + np.arange(L)[None, :]].copy()  # n_mol x L
    for pos, alt, vaf in sites:
        covers = (starts <= pos) & (starts + L > pos)
        carry = covers & (r.random(n_mol) < vaf)
        mol[carry, pos - starts[carry]] = alt
    damage = r.random(mol.shape) < p.pre_umi_error
    mol[damage] = (mol[damage] + r.integers(1, 4, int(damage.sum()))) % 4
    half = p.umi_length // 2 if p.duplex else p.umi_length
    umi_a = r.integers(0, 4, (n_mol, half)).astype(np.uint8)
    umi_b = r.integers(0, 4, (n_mol, half)).astype(np.uint8) if p.duplex else None
    strands = 2 if p.duplex else 1
    # families: molecule x strand -> reads
    fam_mol = np.repeat(np.arange(n_mol), strands)
    fam_strand = np.tile(np.arange(strands), n_mol)
    if not p.duplex:  # a single-strand molecule is read from either genomic strand
        fam_strand = r.integers(0, 2, n_mol)
    extra = r.negative_binomial(
        p.family_shape, p.family_shape / (p.family_shape + p.mean_family_size - 1), len(fam_mol)
    )
    size = 1 + extra
    read_fam = np.repeat(np.arange(len(fam_mol)), size)
    n_reads = len(read_fam)
    reads = mol[fam_mol[read_fam]].copy()
    # PCR errors: per family, events at a cycle c, carried by each read with prob 2^-c
    n_events = r.poisson(len(fam_mol) * L * p.pcr_error * p.pcr_cycles)
    first = np.concatenate([[0], np.cumsum(size)[:-1]])
    for f, pos, c in zip(
        r.integers(0, len(fam_mol), n_events),
        r.integers(0, L, n_events),
        r.integers(1, p.pcr_cycles + 1, n_events),
        strict=True,
    ):
        idx = first[f] + np.flatnonzero(r.random(size[f]) < 0.5**c)
        reads[idx, pos] = (reads[idx, pos] + r.integers(1, 4)) % 4
    # sequencing: qualities, then errors at the (understated) rate they imply
    quals = QUALS[r.choice(len(QUALS), size=reads.shape, p=QUAL_SHARE)]
    perr = np.minimum(np.power(10.0, -quals.astype(float) / 10.0) * p.quality_miscalibration, 0.75)
    err = r.random(reads.shape) < perr
    reads[err] = (reads[err] + r.integers(1, 4, int(err.sum()))) % 4
    mean_err = float(np.mean(perr))
    umis = _read_umis(r, umi_a, umi_b, fam_mol, fam_strand, read_fam, p, mean_err)
    bam = out / f"{name}.bam"
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": CONTIG, "LN": length}],
        "RG": [{"ID": name, "SM": name}],
    }
    reverse = fam_strand[read_fam] == 1
    order = np.lexsort((np.arange(n_reads), starts[fam_mol[read_fam]]))
    qual_chars = (quals + 33).astype(np.uint8)
    with pysam.AlignmentFile(str(bam), "wb", header=header) as bf:
        for i in order.tolist():
            a = pysam.AlignedSegment(bf.header)
            qn = f"r{i}"
            a.query_name = f"{qn}_{umis[i]}" if p.umi_in == "read_name" else qn
            a.query_sequence = BASES[reads[i]].tobytes().decode()
            a.flag = 16 if reverse[i] else 0
            a.reference_id = 0
            a.reference_start = int(starts[fam_mol[read_fam[i]]])
            a.mapping_quality = 60
            a.cigarstring = f"{L}M"
            a.query_qualities = pysam.qualitystring_to_array(qual_chars[i].tobytes().decode())
            tags = [("RG", name)]
            if p.umi_in == "rx":
                tags.append(("RX", umis[i]))
            a.set_tags(tags)
            bf.write(a)
    pysam.index(str(bam))
    truth = [
        UmiTruth(CONTIG, pos + 1, "ACGT"[ref[pos]], "ACGT"[alt], vaf) for pos, alt, vaf in sites
    ]
    return bam, fa, bed, truth


def _read_umis(
    r: np.random.Generator,
    umi_a: np.ndarray,
    umi_b: np.ndarray | None,
    fam_mol: np.ndarray,
    fam_strand: np.ndarray,
    read_fam: np.ndarray,
    p: UmiSimParams,
    err_rate: float,
) -> list[str]:
    """Each read's UMI string with sequencing errors; duplex: "X-Y" top, "Y-X" bottom."""
    a = umi_a[fam_mol[read_fam]].copy()
    e = r.random(a.shape) < err_rate
    a[e] = (a[e] + r.integers(1, 4, int(e.sum()))) % 4
    if umi_b is None:
        return [BASES[x].tobytes().decode() for x in a]
    b = umi_b[fam_mol[read_fam]].copy()
    e = r.random(b.shape) < err_rate
    b[e] = (b[e] + r.integers(1, 4, int(e.sum()))) % 4
    top = fam_strand[read_fam] == 0
    out = []
    for i in range(len(a)):
        x, y = BASES[a[i]].tobytes().decode(), BASES[b[i]].tobytes().decode()
        out.append(f"{x}-{y}" if top[i] else f"{y}-{x}")
    return out
