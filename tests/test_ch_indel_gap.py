"""SNVs beside an indel (FILTER indel_gap, as bcftools filter --SnpGap) and the
per-patient calling step (several samples in one process, as rule ch_call_<patient>)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pysam
import pytest

from marrowtox.ch.call import CALL_COLUMNS, CallParams, call_sample, indel_gap
from marrowtox.ch.steps import BatchCallInputs, CallInputs, call_samples_step, call_step
from marrowtox.errors import InputError

RULES = Path(__file__).resolve().parents[1] / "resources" / "chip" / "rules.yaml"


def test_indel_gap_masks_only_snvs_beside_a_stronger_supported_indel() -> None:
    chrom = np.array(["c1"] * 8 + ["c2"], dtype=object)
    # 0-based positions; a deletion "-2" at anchor 100 removes 101-102
    pos = np.array([100, 102, 105, 106, 98, 200, 203, 300, 103], np.int64)
    allele = ["-2", "T", "A", "C", "G", "+AC", "G", "C", "T"]
    alt = np.array([40, 14, 12, 12, 50, 30, 10, 20, 5], np.int64)
    supported = np.ones(9, bool)
    out = indel_gap(chrom, pos, allele, alt, supported, gap=3)
    # inside the deletion span (102), 3 bp past its end (105), 4 bp past (106: kept),
    # before it with more alt reads than the indel (98: kept), 3 bp past an insertion
    # (203), far away (300), another chromosome (103)
    assert out.tolist() == [False, True, True, False, False, False, True, False, False]
    # an indel that is not itself significant masks nothing
    weak = supported.copy()
    weak[[0, 5]] = False
    assert not indel_gap(chrom, pos, allele, alt, weak, gap=3).any()
    # snp_gap 0 switches the filter off
    assert not indel_gap(chrom, pos, allele, alt, supported, gap=0).any()


def _ref(tmp: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(5)
    seq = "".join(rng.choice(list("ACGT"), 400))
    # no homopolymer of 3+ near the sites used below
    seq = seq[:140] + "ACGTACGTCAGTCAGTACGATCGATGCATGCACGT" + seq[175:]
    fa = tmp / "ref.fa"
    fa.write_text(">c1\n" + seq + "\n")
    pysam.faidx(str(fa))
    bed = tmp / "t.bed"
    bed.write_text("c1\t110\t290\tT1\n")
    return fa, bed


def _bam(tmp: Path, name: str, seq: str, n: int = 1500) -> Path:
    """n read pairs' worth of 150 bp reads from 100; 45 carry a 2-bp deletion after
    anchor 150 (0-based), 15 a mismatch inside its span (152) and 15 a true SNV at 200."""
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "c1", "LN": len(seq)}]}
    path = tmp / f"{name}.bam"
    unsorted = tmp / f"{name}.unsorted.bam"
    comp = {"A": "C", "C": "G", "G": "T", "T": "A"}
    with pysam.AlignmentFile(str(unsorted), "wb", header=header) as out:
        for i in range(n):
            r = pysam.AlignedSegment()
            r.query_name = f"r{i}"
            r.reference_id = 0
            r.reference_start = 100
            r.mapping_quality = 60
            r.flag = 16 if i % 2 else 0
            s = list(seq[100:250])
            if i < 45:
                r.query_sequence = seq[100:151] + seq[153:250]
                r.cigarstring = "51M2D97M"
            else:
                if 45 <= i < 60:
                    s[152 - 100] = comp[s[152 - 100]]
                elif 60 <= i < 75:
                    s[200 - 100] = comp[s[200 - 100]]
                r.query_sequence = "".join(s)
                r.cigarstring = "150M"
            r.query_qualities = pysam.qualitystring_to_array("I" * len(r.query_sequence))
            out.write(r)
    pysam.sort("-o", str(path), str(unsorted))
    pysam.index(str(path))
    return path


def test_snv_inside_a_called_deletion_is_filtered_and_a_distant_snv_passes(
    tmp_path: Path,
) -> None:
    fa, bed = _ref(tmp_path)
    seq = pysam.FastaFile(str(fa)).fetch("c1")
    bam = _bam(tmp_path, "S1", seq)
    rows, _ = call_sample("S1", str(bam), str(fa), str(bed), None, str(RULES), CallParams())
    by_pos = {(r["pos"], len(r["ref"]) != len(r["alt"])): r for r in rows}
    deletion = by_pos[(151, True)]
    assert deletion["filter"] == "PASS" and deletion["alt_count"] == 45
    assert by_pos[(153, False)]["filter"] == "indel_gap"
    assert by_pos[(201, False)]["filter"] == "PASS"
    # off: the SNV in the deletion's span is an ordinary significant call
    off, _ = call_sample("S1", str(bam), str(fa), str(bed), None, str(RULES), CallParams(snp_gap=0))
    assert {r["pos"]: r["filter"] for r in off if r["alt"] != "-"}[153] == "PASS"


def test_patient_step_equals_one_process_per_sample(tmp_path: Path) -> None:
    fa, bed = _ref(tmp_path)
    seq = pysam.FastaFile(str(fa)).fetch("c1")
    bams = [str(_bam(tmp_path, s, seq, n)) for s, n in (("A", 1500), ("B", 900))]
    one = tmp_path / "one"
    sep = tmp_path / "sep"
    one.mkdir()
    sep.mkdir()
    outs = {d: [[str(d / f"{s}.{x}") for s in "AB"] for x in ("vcf.gz", "tsv", "lod")]
            for d in (one, sep)}  # fmt: skip

    def batch(vcf: list[str], tsv: list[str], lod: list[str]) -> BatchCallInputs:
        return BatchCallInputs(["A", "B"], bams, str(fa), str(bed), str(RULES), CallParams(),
                               vcf, tsv, lod)  # fmt: skip

    call_samples_step(batch(*outs[one]))
    for i, s in enumerate("AB"):
        call_step(CallInputs(s, bams[i], str(fa), str(bed), str(RULES), CallParams(),
                  outs[sep][0][i], outs[sep][1][i], outs[sep][2][i]))  # fmt: skip
    for s in "AB":
        a, b = (d / f"{s}.tsv" for d in (one, sep))
        assert a.read_text() == b.read_text()
        assert a.read_text().splitlines()[0].split("\t") == CALL_COLUMNS
        assert (one / f"{s}.lod").read_text() == (sep / f"{s}.lod").read_text()
    # the two samples differ (own fit, own outputs), so nothing was shared by mistake
    assert (one / "A.tsv").read_text() != (one / "B.tsv").read_text()
    with pytest.raises(InputError, match="out-tsv has 1 values for 2 BAMs"):
        call_samples_step(batch(outs[one][0], outs[one][1][:1], outs[one][2]))
