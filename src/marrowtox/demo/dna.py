"""Demo targeted DNA panel: reference, planted CH variants and simulated reads.

Reads are written directly as aligned records (we know where each read comes from),
so no aligner is needed and the demo is byte-identical for a seed. Planted: CH
variants from 1% to 30% VAF at real hotspots, a clone that appears only at day +90
(emergent), one that expands, a germline heterozygous SNV, a homopolymer indel
artifact, a strand-biased artifact and site-specific artifacts (a few positions
with 0.6-1% of reads carrying one wrong base on both strands, in every sample,
normals included: what a panel of normals removes); reads carry quality-matched
substitution errors, PCR duplicates (flagged), low-MAPQ fragments and overlapping
mates. Three normal DNA samples (healthy donors, no CH) are written to dna/normals/
for the panel-of-normals model (config ch.pon_bams).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pysam

from marrowtox.atomic import atomic_path, write_text, write_tsv
from marrowtox.demo.cohort import COHORT, TIMEPOINT_DAYS, rng, sample_id
from marrowtox.demo.dna_reference import Transcript, build_reference, exon_target, gtf_lines

READ_LEN = 100
INSERT_MEAN = 200
DEPTH = 1500
DUP_RATE = 0.04
LOW_MAPQ_RATE = 0.03
HOMOPOLYMER_ERROR = 0.03  # per read: 1-bp deletion in the planted poly-A run
STRAND_ARTIFACT_RATE = 0.04  # per forward-strand read at the artifact position
COMP = {"A": "T", "C": "G", "G": "C", "T": "A"}


@dataclass(frozen=True, eq=False)  # identity hash: used as dict key
class Planted:
    patient: str
    gene: str
    kind: str  # chip | germline
    label: str  # protein change, for truth (p. short form)
    cds_index: int  # 0-based CDS position of the changed base
    alt_tx: str  # alt base in transcript orientation ("" = deletion of that base)
    vaf: dict[str, float]


PLANTED: tuple[Planted, ...] = (
    Planted("P01", "DNMT3A", "chip", "p.R882H", 2644, "A", {"BL": 0.10, "D28": 0.11}),
    Planted("P02", "TET2", "chip", "p.Q1034*", 3099, "T", {"BL": 0.02, "D28": 0.025}),
    Planted("P02", "JAK2", "chip", "p.V617F", 1848, "T", {"BL": 0.01, "D28": 0.012}),
    Planted("P03", "SF3B1", "chip", "p.K700E", 2097, "G", {"BL": 0.05, "D28": 0.05, "D90": 0.06}),
    Planted("P03", "PPM1D", "chip", "p.L500fs", 1499, "", {"BL": 0.0, "D28": 0.0, "D90": 0.08}),
    Planted("P03", "SF3B1", "germline", "p.A705=", 2114, "G", {"BL": 0.5, "D28": 0.5, "D90": 0.5}),
    Planted("P04", "SRSF2", "chip", "p.P95H", 283, "A", {"BL": 0.03, "D28": 0.035}),
    Planted("P05", "TP53", "chip", "p.R175H", 523, "A", {"BL": 0.02, "D28": 0.06, "D90": 0.15}),
    Planted("P05", "ASXL1", "chip", "p.R693*", 2076, "T", {"BL": 0.01, "D28": 0.01, "D90": 0.012}),
    Planted("P06", "DNMT3A", "chip", "p.R882C", 2643, "T", {"BL": 0.25, "D28": 0.24, "D90": 0.26}),
    Planted("P06", "JAK2", "chip", "p.V617F", 1848, "T", {"BL": 0.05, "D28": 0.05, "D90": 0.045}),
)
#: Systematic artifacts present in every sample (gene, CDS index).
HOMOPOLYMER_SITE = ("TET2", 3087)  # inside the poly-A run of codons 1029-1031
STRAND_SITE = ("JAK2", 1834)  # codon 612 (CTG), second base: T>A on forward reads only
#: Site-specific artifacts: (target index in the sorted panel BED, offset from its start,
#: per-read error rate), alt = the next base after the reference in ACGT order.
SITE_ARTIFACTS = ((0, 31, 0.006), (3, 47, 0.008), (6, 29, 0.01))
#: Normal DNA samples (healthy donors) of the panel of normals.
NORMALS = ("N01_dna", "N02_dna", "N03_dna")
#: Random streams (cohort.rng) of the site artifacts and of the normals' reads, apart
#: from the patients' stream so that adding them left the patients' reads unchanged.
ARTIFACT_STREAM, NORMAL_STREAM = 11, 12


@dataclass(frozen=True)
class SortedSample:
    """A sorted blood fraction's DNA (issue 28 item 4): the clone VAFs in that lineage."""

    patient: str
    timepoint: str
    fraction: str  # samples.tsv fraction
    vaf: dict[str, float]  # planted protein change -> VAF in the fraction (absent: 0)


#: P06's DNMT3A clone sits in monocytes and T cells (a multipotent-HSC clone, as DNMT3A
#: clones usually are: Buscarlet et al., Blood 2018); its JAK2 V617F clone in monocytes
#: only (myeloid-restricted). Sorted on day 28 from blood.
SORTED: tuple[SortedSample, ...] = (
    SortedSample("P06", "D28", "CD14", {"p.R882C": 0.30, "p.V617F": 0.09}),
    SortedSample("P06", "D28", "CD3", {"p.R882C": 0.12}),
)
#: Sorted samples are small (a few 10^4 sorted cells): fewer reads, and a stream of their
#: own so that the other samples' reads are unchanged.
SORTED_DEPTH, SORTED_STREAM = 600, 13


def sorted_sample_id(s: SortedSample) -> str:
    return f"{s.patient}_{s.timepoint}_{s.fraction.replace('+', 'p')}_dna"


@dataclass(frozen=True)
class GenomicVariant:
    chrom: str
    pos: int  # 0-based position of the first REF base (VCF-style anchor for indels)
    ref: str
    alt: str


def to_genomic(t: Transcript, seq: str, cds_index: int, alt_tx: str) -> GenomicVariant:
    g = t.cds_pos_to_genome(cds_index)
    if alt_tx:
        alt = alt_tx if t.strand == "+" else COMP[alt_tx]
        return GenomicVariant(t.chrom, g, seq[g], alt)
    # 1-bp deletion, left-aligned and anchored on the preceding base (VCF rule)
    p = g
    while p > 0 and seq[p - 1] == seq[g]:
        p -= 1
    return GenomicVariant(t.chrom, p - 1, seq[p - 1 : p + 1], seq[p - 1])


def homopolymer_run(seq: str, g: int) -> tuple[int, int]:
    s = e = g
    while s > 0 and seq[s - 1] == seq[g]:
        s -= 1
    while e + 1 < len(seq) and seq[e + 1] == seq[g]:
        e += 1
    return s, e + 1


def _cigar(refpos: list[int]) -> tuple[int, str]:
    """Alignment start and CIGAR of a read from the reference position of each base."""
    ops: list[list] = []
    prev = None
    for p in refpos:
        if prev is not None and p > prev + 1:
            ops.append(["D", p - prev - 1])
        if ops and ops[-1][0] == "M":
            ops[-1][1] += 1
        else:
            ops.append(["M", 1])
        prev = p
    return refpos[0], "".join(f"{n}{op}" for op, n in ops)


QUAL_CHARS = np.frombuffer(b"".join(bytes([q + 33]) for q in range(64)), dtype=np.uint8)
BASE_CODES = np.frombuffer(b"ACGT", dtype=np.uint8)


def _qual_matrix(r: np.random.Generator, n: int, length: int) -> np.ndarray:
    """NovaSeq-like binned qualities: Q37, a Q23 tail toward the 3' end, rare Q12 bases.

    Qualities drop per read in one step rather than base by base, as on patterned flow
    cells; this also keeps the demo BAMs small.
    """
    tail = r.choice([length, length - 10, length - 25, length - 45], size=n, p=[0.55, 0.25, 0.15, 0.05])
    q = np.where(np.arange(length)[None, :] >= tail[:, None], 23, 37).astype(np.uint8)
    q[r.random((n, length)) < 0.002] = 12
    return q


def simulate_bam(
    path: Path, r: np.random.Generator, seqs: dict[str, str], targets: list[tuple[str, int, int]],
    variants: list[tuple[GenomicVariant, float]], hp_run: tuple[str, int, int],
    strand_site: GenomicVariant, name: str,
    site_artifacts: list[tuple[GenomicVariant, float]] = (), ra: np.random.Generator | None = None,
    depth: int = DEPTH,
) -> None:
    """Paired reads over the targets, written as SAM text and sorted into an indexed BAM.

    Vectorised over fragments with numpy; only reads that carry an indel take the
    slow path. Fragment starts lie on a 5-bp grid, as with a tiled bait/amplicon
    design, which also lets the BAM compress well.
    """
    lines = ["@HD\tVN:1.6\tSO:unsorted"]
    lines += [f"@SQ\tSN:{c}\tLN:{len(sq)}" for c, sq in seqs.items()]
    lines.append(f"@RG\tID:{name}\tSM:{name}\tPL:ILLUMINA")
    frag_id = 0
    for chrom, ts, te in targets:
        ref = np.frombuffer(seqs[chrom].encode(), dtype=np.uint8)
        lo, hi = max(ts - INSERT_MEAN + 20, 0), te - 20
        n = int(depth * (hi - lo) / INSERT_MEAN)  # fragments for `depth` unique coverage
        starts = lo + 5 * r.integers(0, (hi - lo) // 5, n)
        inserts = r.choice([150, 175, 200, 225, 250], n)
        ends = np.minimum(starts + inserts, len(ref))
        left_idx = starts[:, None] + np.arange(READ_LEN)[None, :]
        right_idx = ends[:, None] - READ_LEN + np.arange(READ_LEN)[None, :]
        left, right = ref[left_idx].copy(), ref[right_idx].copy()
        deletion = np.zeros(n, bool)
        del_var = None
        for v, vaf in variants:
            if v.chrom != chrom:
                continue
            carry = (r.random(n) < vaf) & (starts <= v.pos) & (v.pos < ends - 2)
            if len(v.ref) == 1 and len(v.alt) == 1:
                a = ord(v.alt)
                for mat, idx in ((left, left_idx), (right, right_idx)):
                    hit = carry[:, None] & (idx == v.pos)
                    mat[hit] = a
            else:
                deletion |= carry
                del_var = v
        # read-level strand artifact: forward (left) reads only
        if chrom == strand_site.chrom:
            hit = (left_idx == strand_site.pos) & (r.random(n) < STRAND_ARTIFACT_RATE)[:, None]
            left[hit] = ord(strand_site.alt)
        for v, rate in site_artifacts:
            if v.chrom != chrom:
                continue
            for mat, idx in ((left, left_idx), (right, right_idx)):
                hit = (idx == v.pos) & (ra.random(n) < rate)[:, None]
                mat[hit] = ord(v.alt)
        q_left, q_right = _qual_matrix(r, n, READ_LEN), _qual_matrix(r, n, READ_LEN)[:, ::-1]
        for mat, q in ((left, q_left), (right, q_right)):
            err = r.random(mat.shape) < 10.0 ** (-q.astype(float) / 10.0)
            shift = r.integers(1, 4, mat.shape)
            codes = np.searchsorted(BASE_CODES, mat)
            mat[err] = BASE_CODES[(codes[err] + shift[err]) % 4]
        hp_hit = np.zeros((n, 2), bool)
        if chrom == hp_run[0]:
            for j, idx in enumerate((left_idx, right_idx)):
                covers = (idx[:, 0] <= hp_run[1] - 1) & (idx[:, -1] >= hp_run[2])
                hp_hit[:, j] = covers & (r.random(n) < HOMOPOLYMER_ERROR)
        dup = r.random(n) < DUP_RATE
        mapq = np.where(r.random(n) < LOW_MAPQ_RATE, 3, 60)
        r1_left = r.random(n) < 0.5
        for k in range(n):
            frag_id += 1
            reads = []
            for j, (mat, q, idx) in enumerate(((left, q_left, left_idx), (right, q_right, right_idx))):
                seq = mat[k].tobytes().decode()
                qual = QUAL_CHARS[q[k]].tobytes().decode()
                rp = idx[k].tolist()
                if deletion[k] and del_var is not None and del_var.pos + 1 in rp:
                    # rebuild the read from the haplotype with the deletion
                    hap_pos = [p for p in range(starts[k], ends[k] + 1) if p != del_var.pos + 1]
                    rp = hap_pos[:READ_LEN] if j == 0 else hap_pos[-READ_LEN - 1 : -1]
                    seq = "".join(seq[i] if p == idx[k][i] else seqs[chrom][p] for i, p in enumerate(rp))
                if hp_hit[k, j]:
                    drop = hp_run[1]
                    keep = [i for i, p in enumerate(rp) if p != drop]
                    extra = rp[-1] + 1 if j == 0 else rp[0] - 1
                    if j == 0:
                        rp = [rp[i] for i in keep] + [extra]
                        seq = "".join(seq[i] for i in keep) + seqs[chrom][extra]
                    else:
                        rp = [extra] + [rp[i] for i in keep]
                        seq = seqs[chrom][extra] + "".join(seq[i] for i in keep)
                pos, cig = _cigar(rp)
                reads.append((pos, cig, seq, qual, rp[-1] + 1))
            span = max(reads[0][4], reads[1][4]) - min(reads[0][0], reads[1][0])
            for copy in range(2 if dup[k] else 1):
                qname = f"r{frag_id}" + ("d" if copy else "")
                for j, (pos, cig, seq, qual, _end) in enumerate(reads):
                    mate = reads[1 - j]
                    is_r1 = (j == 0) == bool(r1_left[k])
                    flag = 1 | 2 | (0x10 if j == 1 else 0x20) | (0x40 if is_r1 else 0x80)
                    if copy:
                        flag |= 0x400
                    tlen = span if j == 0 else -span
                    lines.append(
                        f"{qname}\t{flag}\t{chrom}\t{pos + 1}\t{mapq[k]}\t{cig}\t=\t{mate[0] + 1}\t"
                        f"{tlen}\t{seq}\t{qual}\tRG:Z:{name}"
                    )
    with atomic_path(path) as tmp:
        sam = tmp.with_suffix(".sam")
        sam.write_text("\n".join(lines) + "\n")
        try:
            pysam.sort("--no-PG", "-l", "9", "-o", str(tmp), str(sam))
        finally:
            sam.unlink(missing_ok=True)
    pysam.index(str(path))


def generate(out: Path, seed: int) -> list[dict]:
    r = rng(seed, 1)
    seqs, transcripts = build_reference(r)
    by_gene = {t.gene: t for t in transcripts}
    ref_dir = out / "reference"
    ref_dir.mkdir(parents=True, exist_ok=True)
    fasta = "".join(f">{c}\n" + "\n".join(s[i : i + 60] for i in range(0, len(s), 60)) + "\n" for c, s in seqs.items())
    write_text(fasta, ref_dir / "panel.fa")
    pysam.faidx(str(ref_dir / "panel.fa"))
    write_text("\n".join(gtf_lines(transcripts)) + "\n", ref_dir / "panel.gtf")

    targets: list[tuple[str, int, int, str]] = []
    for t in transcripts:
        for exon in [t.hotspot_exon] + ([t.extra_target_exon] if t.extra_target_exon else []):
            s, e = exon_target(t, exon)
            targets.append((t.chrom, s, e, f"{t.gene}_exon{exon}"))
    # center long hotspot windows on the planted positions
    gvars = {p: to_genomic(by_gene[p.gene], seqs[by_gene[p.gene].chrom], p.cds_index, p.alt_tx) for p in PLANTED}
    fixed = []
    for chrom, s, e, name in targets:
        inside = [v.pos for v in gvars.values() if v.chrom == chrom and s <= v.pos < e]
        gene = name.split("_")[0]
        if not inside and name.endswith(f"exon{by_gene[gene].hotspot_exon}"):
            hs = [v.pos for p, v in gvars.items() if p.gene == gene]
            if hs:
                s, e = min(hs) - 80, max(hs) + 80
        fixed.append((chrom, s, e, name))
    targets = sorted(set(fixed), key=lambda x: (list(seqs).index(x[0]), x[1]))
    bed = "".join(f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in targets)
    write_text(bed, ref_dir / "panel.bed")

    tet2, jak2 = by_gene[HOMOPOLYMER_SITE[0]], by_gene[STRAND_SITE[0]]
    hg = tet2.cds_pos_to_genome(HOMOPOLYMER_SITE[1])
    hs, he = homopolymer_run(seqs[tet2.chrom], hg)
    hp_run = (tet2.chrom, hs, he)
    strand_site = to_genomic(jak2, seqs[jak2.chrom], STRAND_SITE[1], "A")
    site_artifacts = []
    for ti, off, rate in SITE_ARTIFACTS:
        chrom, s, _e, _name = targets[ti]
        ref_b = seqs[chrom][s + off]
        alt_b = "ACGT"["ACGT".index(ref_b) + 1 - 4]
        site_artifacts.append((GenomicVariant(chrom, s + off, ref_b, alt_b), rate))
    ra = rng(seed, ARTIFACT_STREAM)

    rows, truth = [], []
    (out / "dna").mkdir(exist_ok=True)
    for plan in COHORT:
        for tp in plan.timepoints:
            sid = sample_id(plan.patient, tp, "dna")
            vs = [(gvars[p], p.vaf.get(tp, 0.0)) for p in PLANTED if p.patient == plan.patient]
            simulate_bam(out / "dna" / f"{sid}.bam", r, seqs, [t[:3] for t in targets],
                         [v for v in vs if v[1] > 0], hp_run, strand_site, sid, site_artifacts, ra)
            for p in PLANTED:
                if p.patient == plan.patient:
                    v = gvars[p]
                    truth.append({"sample": sid, "patient": plan.patient, "timepoint": tp,
                                  "chrom": v.chrom, "pos": v.pos + 1, "ref": v.ref, "alt": v.alt,
                                  "gene": p.gene, "hgvsp_short": p.label, "vaf": p.vaf.get(tp, 0.0),
                                  "kind": p.kind})
            hp_ref = seqs[tet2.chrom][hs - 1 : hs + 1]
            truth.append({"sample": sid, "patient": plan.patient, "timepoint": tp, "chrom": tet2.chrom,
                          "pos": hs, "ref": hp_ref, "alt": hp_ref[0], "gene": "TET2",
                          "hgvsp_short": "", "vaf": HOMOPOLYMER_ERROR, "kind": "artifact_homopolymer"})
            truth.append({"sample": sid, "patient": plan.patient, "timepoint": tp,
                          "chrom": strand_site.chrom, "pos": strand_site.pos + 1, "ref": strand_site.ref,
                          "alt": strand_site.alt, "gene": "JAK2", "hgvsp_short": "",
                          "vaf": STRAND_ARTIFACT_RATE / 2, "kind": "artifact_strand"})
            for v, rate in site_artifacts:
                truth.append({"sample": sid, "patient": plan.patient, "timepoint": tp, "chrom": v.chrom,
                              "pos": v.pos + 1, "ref": v.ref, "alt": v.alt, "gene": "",
                              "hgvsp_short": "", "vaf": rate, "kind": "artifact_site"})
            rows.append({"patient": plan.patient, "sample": sid, "assay": "dna", "timepoint": tp,
                         "day": TIMEPOINT_DAYS[tp], "path": f"dna/{sid}.bam", "batch": plan.batch,
                         "normal": "", "chemistry": "", "car_construct": ""})
    rn = rng(seed, NORMAL_STREAM)
    (out / "dna" / "normals").mkdir(exist_ok=True)
    for sid in NORMALS:
        simulate_bam(out / "dna" / "normals" / f"{sid}.bam", rn, seqs, [t[:3] for t in targets], [],
                     hp_run, strand_site, sid, site_artifacts, ra)
    rs, sorted_truth = rng(seed, SORTED_STREAM), []
    for srt in SORTED:
        sid = sorted_sample_id(srt)
        vs = [(gvars[p], srt.vaf.get(p.label, 0.0)) for p in PLANTED if p.patient == srt.patient]
        simulate_bam(out / "dna" / f"{sid}.bam", rs, seqs, [t[:3] for t in targets],
                     [v for v in vs if v[1] > 0], hp_run, strand_site, sid, site_artifacts, ra,
                     depth=SORTED_DEPTH)
        for p in PLANTED:
            if p.patient == srt.patient and p.kind == "chip":
                v = gvars[p]
                sorted_truth.append({"sample": sid, "patient": srt.patient, "timepoint": srt.timepoint,
                                     "fraction": srt.fraction, "chrom": v.chrom, "pos": v.pos + 1,
                                     "ref": v.ref, "alt": v.alt, "gene": p.gene,
                                     "hgvsp_short": p.label, "vaf": srt.vaf.get(p.label, 0.0)})
        rows.append({"patient": srt.patient, "sample": sid, "assay": "dna", "timepoint": srt.timepoint,
                     "day": TIMEPOINT_DAYS[srt.timepoint], "path": f"dna/{sid}.bam",
                     "batch": next(p.batch for p in COHORT if p.patient == srt.patient),
                     "normal": "", "chemistry": "", "car_construct": "", "specimen": "blood",
                     "fraction": srt.fraction})
    tdf = pd.DataFrame(truth)
    (out / "truth").mkdir(exist_ok=True)
    write_tsv(tdf, out / "truth" / "variants.tsv")
    write_text(truth_vcf(tdf, seqs), out / "truth" / "variants.vcf")
    # truth of the sorted fractions apart: variants.tsv stays the whole-marrow truth
    write_tsv(pd.DataFrame(sorted_truth), out / "truth" / "sorted_variants.tsv")
    return rows


def truth_vcf(tdf: pd.DataFrame, seqs: dict[str, str]) -> str:
    """Planted variants, one record per site, per-sample VAFs in INFO (truth only)."""
    lines = ["##fileformat=VCFv4.3", "##source=marrowtox-demo-truth"]
    lines += [f"##contig=<ID={c},length={len(s)}>" for c, s in seqs.items()]
    lines += [
        '##INFO=<ID=GENE,Number=1,Type=String,Description="Gene">',
        '##INFO=<ID=KIND,Number=1,Type=String,Description="chip, germline or artifact_*">',
        '##INFO=<ID=HGVSP,Number=1,Type=String,Description="Planted protein change">',
        '##INFO=<ID=VAFS,Number=.,Type=String,Description="sample:vaf pairs">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    order = {c: i for i, c in enumerate(seqs)}
    for (chrom, pos, ref, alt), g in sorted(tdf.groupby(["chrom", "pos", "ref", "alt"]), key=lambda x: (order[x[0][0]], x[0][1])):
        first = g.iloc[0]
        vafs = ",".join(f"{s}:{v:g}" for s, v in zip(g["sample"], g["vaf"], strict=True))
        info = f"GENE={first['gene']};KIND={first['kind']};VAFS={vafs}"
        if first["hgvsp_short"]:
            info += f";HGVSP={first['hgvsp_short']}"
        lines.append(f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t.\tPASS\t{info}")
    return "\n".join(lines) + "\n"
