"""Barcoded scRNA reads over the CH sites of the demo, with planted carrier lineages.

For each post-infusion marrow sample of a patient with clones, a Cell Ranger style BAM
(coordinate-sorted, indexed, CB/UB tags) holds reads over each clone's site, drawn as
a 10x library does: a site reaches only some cells (3' / 5' chemistry far from the
codon), a covered cell contributes a few UMIs, each UMI a few PCR copies marked
duplicate, some reads are spliced across the site (CIGAR N: they do not cover it),
bases carry sequencing errors, and ambient mutant molecules land in cells that cannot
carry the clone. Planted truth (demo/truth/clone_cells.tsv): which cell types carry
each clone and the mutant-cell fraction within them; the workflow never reads it.

Carriers: a heterozygous clone at bulk VAF v over carrier lineages holding about half
of the marrow has a mutant-cell fraction of about 4v within those lineages (capped).
TET2 is planted also in T cells (TET2-disrupted CAR T cells: Fraietta et al., Nature
2018); the JAK2 site of P02 is reached by no read (an uncovered hotspot).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HSPC = ["HSC/MPP", "LMPP"]
MYELOID = ["GMP/neutrophil", "monocyte", "DC", "pDC"]
ERY_MK = ["erythroid", "megakaryocyte/MEP"]
T_CELLS = ["CD4 T", "CD8 T"]
#: carrier cell types per gene (marrow CH biology; TET2 in T cells as in Fraietta 2018)
CARRIERS: dict[str, list[str]] = {
    "DNMT3A": HSPC + MYELOID + ERY_MK,
    "TET2": HSPC + MYELOID + T_CELLS,
    "JAK2": HSPC + MYELOID + ERY_MK,
    "TP53": HSPC + MYELOID + ERY_MK,
    "ASXL1": HSPC + MYELOID,
    "SF3B1": HSPC + MYELOID + ERY_MK,
    "PPM1D": HSPC + MYELOID,
    "SRSF2": HSPC + MYELOID,
}
UNCOVERED = {("P02", "JAK2")}  # hotspot no read reaches
#: TET2-disrupted CAR T cells expand (Fraietta 2018): mutant fraction among CAR T cells
CAR_T_FRACTION = {"TET2": 0.6}
READ_LEN = 90
P_COVERED = 0.6  # share of cells whose transcripts reach the site
MEAN_EXTRA_UMIS = 1.0  # UMIs per covered cell: 1 + Poisson(this)
MEAN_EXTRA_READS = 4.0  # reads per UMI: 1 + Poisson(this), "about 5 reads per UMI"
AMBIENT_ALT = 0.01  # share of UMIs of non-mutant cells that are ambient mutant molecules
BASE_ERROR = 0.005
SPLICED = 0.1  # share of reads spliced across the site
MAX_FRACTION = 0.8
QUAL = 35


def _umi(r: np.random.Generator) -> str:
    return "".join(r.choice(list("ACGT"), 12))


def _read_bases(r: np.random.Generator, ref: str, start: int, site: int, allele: str, n_del: int):
    """Read sequence and CIGAR for a read starting at `start` covering the site."""
    if n_del:  # deletion of n_del bases after the anchor at `site`
        left = ref[start : site + 1]
        right = ref[site + 1 + n_del : site + 1 + n_del + READ_LEN - len(left)]
        if allele == "alt":
            seq = left + right
            cigar = [(0, len(left)), (2, n_del), (0, len(right))]
        else:
            seq = ref[start : start + READ_LEN]
            cigar = [(0, READ_LEN)]
    else:
        seq = ref[start : start + READ_LEN]
        if allele != "ref":
            i = site - start
            seq = seq[:i] + allele + seq[i + 1 :]
        cigar = [(0, READ_LEN)]
    bases = np.array(list(seq))
    err = r.random(len(bases)) < BASE_ERROR
    for k in np.flatnonzero(err):
        bases[k] = r.choice([b for b in "ACGT" if b != bases[k]])
    return "".join(bases), cigar


def write_bam(
    path: Path,
    fasta: Path,
    cells: pd.DataFrame,
    clones: pd.DataFrame,
    r: np.random.Generator,
) -> pd.DataFrame:
    """One sample's BAM; returns its truth rows (variant, cell_type, carrier, fraction)."""
    import pysam

    from marrowtox.genotype.sites import make_site

    fa = pysam.FastaFile(str(fasta))
    header = {
        "HD": {"VN": "1.6", "SO": "coordinate"},
        "SQ": [{"SN": c, "LN": n} for c, n in zip(fa.references, fa.lengths, strict=True)],
    }
    truth, reads = [], []
    for clone in clones.itertuples():
        site0 = int(clone.pos) - 1
        n_del = len(clone.ref) - len(clone.alt) if len(clone.ref) > len(clone.alt) else 0
        site = make_site(clone.chrom, site0, clone.ref, clone.alt, clone.gene, clone.hgvsp_short)
        carriers = set(CARRIERS.get(clone.gene, []))
        fraction = min(MAX_FRACTION, 4 * float(clone.vaf))
        car_fraction = CAR_T_FRACTION.get(clone.gene, 0.0)
        for t in [*sorted(set(cells["cell_type"])), "CAR T"]:
            f = car_fraction if t == "CAR T" else fraction if t in carriers else 0.0
            truth.append(
                {
                    "variant": site.variant,
                    "cell_type": t,
                    "carrier": f > 0,
                    "mutant_fraction": f,
                    "reached": (clone.patient, clone.gene) not in UNCOVERED,
                }
            )
        if (clone.patient, clone.gene) in UNCOVERED:
            continue
        ref = fa.fetch(clone.chrom)
        alt_base = clone.alt[-1] if not n_del else ""
        for cell in cells.itertuples():
            if r.random() >= P_COVERED:
                continue
            f = car_fraction if cell.car_t and car_fraction else fraction
            mutant = cell.cell_type in carriers and r.random() < f
            for _ in range(1 + r.poisson(MEAN_EXTRA_UMIS)):
                umi = _umi(r)
                if mutant:
                    allele = "alt" if r.random() < 0.5 else "ref"
                else:
                    allele = "alt" if r.random() < AMBIENT_ALT else "ref"
                for k in range(1 + r.poisson(MEAN_EXTRA_READS)):
                    offset = int(r.integers(5, READ_LEN - 5))
                    start = max(0, site0 - offset)
                    seq_allele = (alt_base if allele == "alt" else "ref") if not n_del else allele
                    seq, cigar = _read_bases(r, ref, start, site0, seq_allele, n_del)
                    if r.random() < SPLICED and start + 30 < site0 and not n_del:
                        # 30 bases, an intron of 200 over the site, then the rest
                        gap_end = site0 + 200
                        rest = ref[gap_end : gap_end + READ_LEN - 30]
                        seq = ref[start : start + 30] + rest
                        cigar = [(0, 30), (3, site0 + 200 - start - 30), (0, len(rest))]
                    a = pysam.AlignedSegment()
                    a.query_name = f"{cell.barcode}:{umi}:{clone.gene}:{k}"
                    a.query_sequence = seq
                    a.flag = 0x400 if k else 0
                    a.reference_id = fa.references.index(clone.chrom)
                    a.reference_start = start
                    a.mapping_quality = 255
                    a.cigartuples = cigar
                    a.query_qualities = pysam.qualitystring_to_array(chr(QUAL + 33) * len(seq))
                    a.set_tag("CB", cell.barcode)
                    a.set_tag("UB", umi)
                    reads.append(a)
    unsorted = path.with_suffix(".unsorted.bam")
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
        for a in reads:
            out.write(a)
    pysam.sort("--no-PG", "-o", str(path), str(unsorted))  # no temp path in the header
    unsorted.unlink()
    pysam.index(str(path))
    return pd.DataFrame(truth)


def generate(out: Path, seed: int) -> dict[str, str]:
    """BAMs for the post-infusion scRNA samples; returns sample -> relative BAM path."""
    from marrowtox.demo.cohort import rng
    from marrowtox.atomic import write_tsv

    r = rng(seed, 3)
    cells = pd.read_csv(out / "truth" / "cells.tsv", sep="\t")
    variants = pd.read_csv(out / "truth" / "variants.tsv", sep="\t")
    clones = variants[variants["kind"] == "chip"]
    (out / "scbam").mkdir(exist_ok=True)
    paths, truth = {}, []
    for sample, sc in cells.groupby("sample", sort=True):
        patient, tp = sample.split("_")[:2]
        if tp == "BL":
            continue
        dna_sample = f"{patient}_{tp}_dna"
        c = clones[clones["sample"] == dna_sample]
        if c.empty:
            continue
        rel = f"scbam/{sample}.bam"
        t = write_bam(out / rel, out / "reference" / "panel.fa", sc, c, r)
        t.insert(0, "sample", sample)
        truth.append(t)
        paths[sample] = rel
    if truth:
        write_tsv(pd.concat(truth, ignore_index=True), out / "truth" / "clone_cells.tsv")
    return paths
