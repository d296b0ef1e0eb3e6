"""CH caller: HGVS/consequences, CHIP rules, statistics, and real GIAB reads (issue 9).

End-to-end recovery of the planted demo variants is asserted in test_workflow.py on
the workflow's own outputs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from marrowtox.ch import stats
from marrowtox.ch.annotate import annotate, rc, read_gtf
from marrowtox.ch.call import CALL_COLUMNS, CallParams, call_sample
from marrowtox.ch.chip import classify, load_rules, match
from marrowtox.ch.pileup import check_inputs, read_bed
from marrowtox.ch.track import status
from marrowtox.errors import InputError

RULES = Path(__file__).resolve().parents[1] / "resources" / "chip" / "rules.yaml"
# CDS of a toy plus-strand gene: M K R * in exon 1 (ATG AAA CG) | intron | exon 2 (C TGA)
PLUS_EX1 = "ATGAAACG"
PLUS_EX2 = "CTGA"
INTRON = "GTAAGTTTTTTTTCCTAG"


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    d = tmp_path_factory.mktemp("toy")
    left = "CCCCC"  # 0-4
    plus = PLUS_EX1 + INTRON + PLUS_EX2  # starts at 5
    gap = "GGGGGCCCCC"
    minus_tx = "ATGCGCTAG"  # M R * on the minus strand
    seq = left + plus + gap + rc(minus_tx) + "CCCCC"
    (d / "toy.fa").write_text(">chrT\n" + seq + "\n")
    pysam.faidx(str(d / "toy.fa"))
    p0 = 5
    e1 = (p0, p0 + len(PLUS_EX1))
    e2 = (e1[1] + len(INTRON), e1[1] + len(INTRON) + len(PLUS_EX2))
    m0 = len(left) + len(plus) + len(gap)
    m = (m0, m0 + len(minus_tx))

    def line(feat, s, e, strand, gene, extra=""):
        a = f'gene_id "{gene}"; transcript_id "{gene}.1"; gene_name "{gene}"; tag "MANE_Select";{extra}'
        return f"chrT\ttoy\t{feat}\t{s + 1}\t{e}\t.\t{strand}\t.\t{a}\n"

    gtf = (
        line("transcript", e1[0], e2[1], "+", "PLUSG")
        + line("exon", *e1, "+", "PLUSG", " exon_number 1;")
        + line("CDS", *e1, "+", "PLUSG", " exon_number 1;")
        + line("exon", *e2, "+", "PLUSG", " exon_number 2;")
        + line("CDS", *e2, "+", "PLUSG", " exon_number 2;")
        + line("transcript", *m, "-", "MINUSG")
        + line("exon", *m, "-", "MINUSG", " exon_number 1;")
        + line("CDS", *m, "-", "MINUSG", " exon_number 1;")
    )
    (d / "toy.gtf").write_text(gtf)
    return str(d), {"e1": e1, "e2": e2, "m": m, "seq": seq}


def ann(toy, pos, ref, alt):
    d, _ = toy
    return annotate(
        "chrT",
        pos,
        ref,
        alt,
        read_gtf(Path(d) / "toy.gtf"),
        pysam.FastaFile(str(Path(d) / "toy.fa")),
    )


def test_plus_strand_missense_nonsense_synonymous_startloss(toy) -> None:
    _, g = toy
    s = g["e1"][0]
    a = ann(toy, s + 4, "A", "G")  # AAA -> AGA: K2R
    assert (a.consequence, a.hgvsc, a.hgvsp, a.hgvsp_short, a.exon) == (
        "missense",
        "c.5A>G",
        "p.Lys2Arg",
        "p.K2R",
        1,
    )
    a = ann(toy, s + 3, "A", "T")  # AAA -> TAA: K2*
    assert (a.consequence, a.hgvsp, a.hgvsp_short) == ("nonsense", "p.Lys2Ter", "p.K2*")
    a = ann(toy, s + 5, "A", "G")  # AAA -> AAG: K2=
    assert (a.consequence, a.hgvsp_short) == ("synonymous", "p.K2=")
    a = ann(toy, s + 0, "A", "C")
    assert a.consequence == "start_lost"


def test_codon_split_by_intron_and_splice_site(toy) -> None:
    _, g = toy
    # codon 3 = CG (exon 1) + C (exon 2): change the exon-2 C -> A gives CGA (R): synonymous
    a = ann(toy, g["e2"][0], "C", "A")
    assert a.hgvsc == "c.9C>A" and a.hgvsp_short == "p.R3=" and a.exon == 2
    a = ann(toy, g["e1"][1] + 1, "T", "C")  # intron +2
    assert a.consequence == "splice_site"
    a = ann(toy, g["e1"][1] + 6, "T", "C")
    assert a.consequence == "intron"


def test_minus_strand_codons_and_frameshift(toy) -> None:
    _, g = toy
    seq = g["seq"]
    m0, m1 = g["m"]
    # minus-strand CDS ATG CGC TAG; c.5G>A (codon 2 CGC -> CAC, R2H) sits at genomic m1-5
    pos = m1 - 5
    a = ann(toy, pos, seq[pos], rc("A"))
    assert (a.hgvsc, a.hgvsp, a.hgvsp_short) == ("c.5G>A", "p.Arg2His", "p.R2H")
    # 1-bp deletion of c.4 (the C of CGC): frameshift at codon 2
    d = m1 - 4
    a = ann(toy, d - 1, seq[d - 1 : d + 1], seq[d - 1])
    assert a.consequence == "frameshift" and a.hgvsp_short == "p.R2fs" and a.hgvsc == "c.4del"


def test_no_gtf_feature_is_intergenic(toy) -> None:
    a = ann(toy, 1, "C", "T")
    assert a.consequence == "intergenic" and a.gene == ""


def test_chip_rules_match_published_definitions() -> None:
    rules = load_rules(RULES)
    assert match("DNMT3A", "missense", "p.R882H", 882, 23, rules) == "DNMT3A curated missense"
    assert match("DNMT3A", "missense", "p.A100V", 100, 3, rules) == ""
    assert match("TET2", "missense", "p.A1200V", 1200, 6, rules).startswith("TET2 catalytic")
    assert match("TET2", "missense", "p.A1500V", 1500, 6, rules) == ""
    assert match("ASXL1", "nonsense", "p.R693*", 693, 12, rules) != ""
    assert match("ASXL1", "nonsense", "p.R100*", 100, 5, rules) == ""
    assert match("PPM1D", "frameshift", "p.L500fs", 500, 6, rules) != ""
    assert match("PPM1D", "frameshift", "p.L100fs", 100, 3, rules) == ""
    assert match("JAK2", "missense", "p.V617F", 617, 14, rules) == "JAK2 V617F"
    assert match("SF3B1", "missense", "p.K700E", 700, 15, rules) == "SF3B1 hotspots"
    assert classify("PASS", 0.025, "x", 0.02, 0.01) == "CHIP"
    assert classify("PASS", 0.015, "x", 0.02, 0.01) == "low-VAF CH"
    assert classify("strand_bias", 0.3, "x", 0.02, 0.01) == ""


def test_statistics() -> None:
    lo, hi = stats.wilson(np.array([20]), np.array([1000]))
    assert lo[0] < 0.02 < hi[0] and hi[0] - lo[0] < 0.02
    assert stats.germline_like(500, 1000) and stats.germline_like(995, 1000)
    assert not stats.germline_like(100, 1000)
    lods = [stats.limit_of_detection(d, 3e-4, 1e-6, 5) for d in (200, 500, 1500, 5000)]
    assert all(a > b for a, b in zip(lods, lods[1:], strict=False))
    assert 0.003 < lods[2] < 0.012
    assert stats.sub_class("G", "T") == stats.sub_class("C", "A") == "C>A"


def test_statistics_match_scipy_and_statsmodels() -> None:
    """The scipy.special closed forms reproduce scipy.stats / statsmodels exactly."""
    from scipy.stats import binom, binomtest, false_discovery_control, fisher_exact
    from statsmodels.stats.proportion import proportion_confint

    rng = np.random.default_rng(3)
    depth = rng.integers(0, 3000, 300)
    alt = np.minimum(rng.integers(0, 60, 300), depth)
    rate = rng.uniform(1e-5, 0.02, 300)
    np.testing.assert_allclose(
        stats.binom_sf(alt, depth, rate), binom.sf(alt - 1, depth, rate), rtol=1e-9, atol=1e-300
    )
    p = rng.uniform(0, 1, 300) ** 4
    np.testing.assert_allclose(stats.bh(p), false_discovery_control(p), rtol=1e-12)
    lo, hi = stats.wilson(alt, depth)
    lo2, hi2 = proportion_confint(alt, np.maximum(depth, 1), alpha=0.05, method="wilson")
    np.testing.assert_allclose(lo, lo2, atol=1e-12)
    np.testing.assert_allclose(hi, hi2, atol=1e-12)
    for table in ([[700, 650], [30, 1]], [[5, 0], [0, 5]], [[0, 0], [3, 4]], [[900, 910], [9, 12]]):
        (a, b), (c, d) = table
        assert stats.strand_bias_p(a, b, c, d) == pytest.approx(fisher_exact(table)[1], rel=1e-9)
    for k, n in ((500, 1000), (430, 1000), (3, 10), (0, 7), (7, 7)):
        assert stats.binom_test_two_sided(k, n, 0.5) == pytest.approx(
            binomtest(k, n, 0.5).pvalue, rel=1e-9
        )


def test_clone_status_rules() -> None:
    def rows(vafs, det, lods=(0.005, 0.005, 0.005)):
        return pd.DataFrame(
            {
                "day": [-7, 28, 90][: len(vafs)],
                "depth": 1500,
                "vaf": vafs,
                "detected": det,
                "vaf_ci_low": [v * 0.8 for v in vafs],
                "vaf_ci_high": [v * 1.2 + 0.001 for v in vafs],
                "lod_vaf": list(lods[: len(vafs)]),
            }
        )

    assert status(rows([0.0, 0.0, 0.08], [False, False, True]), 100) == "emergent"
    assert (
        status(rows([0.0, 0.0, 0.004], [False, False, True], (0.01, 0.01, 0.01)), 100)
        == "not callable"
    )
    assert status(rows([0.02, 0.06, 0.15], [True, True, True]), 100) == "expanding"
    assert status(rows([0.15, 0.14], [True, True]), 100) == "persistent"
    assert status(rows([0.15, 0.0], [True, False]), 100) == "lost"


def test_contig_mismatch_and_missing_index_named(tmp_path: Path, toy) -> None:
    d, _ = toy
    bed = tmp_path / "t.bed"
    bed.write_text("T\t0\t10\n")
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": "T", "LN": 100}]}
    bam = tmp_path / "x.bam"
    with pysam.AlignmentFile(str(bam), "wb", header=header):
        pass
    with pytest.raises(InputError, match="no index"):
        check_inputs(str(bam), str(Path(d) / "toy.fa"), read_bed(str(bed)))
    pysam.index(str(bam))
    with pytest.raises(InputError, match="chr-prefix mismatch"):
        check_inputs(str(bam), str(Path(d) / "toy.fa"), read_bed(str(bed)))
    bad = tmp_path / "bad.bed"
    bad.write_text("chrT\tten\t20\n")
    with pytest.raises(InputError) as info:
        read_bed(str(bad))
    assert info.value.row == 1


@pytest.mark.realdata
def test_giab_germline_snvs_seen_and_no_somatic_pass(real_data: Path, tmp_path: Path) -> None:
    g = real_data / "giab_tiny"
    bed = tmp_path / "q.bed"
    bed.write_text("q\t0\t12356\n")
    rows, _ = call_sample(
        "NA12878",
        str(g / "NA12878.chr22.tiny.bam"),
        str(g / "q.fa"),
        str(bed),
        None,
        str(RULES),
        CallParams(),
    )
    calls = pd.DataFrame(rows, columns=CALL_COLUMNS)
    truth = [
        (int(r.pos), r.ref, r.alts[0], r.samples[0]["GT"])
        for r in pysam.VariantFile(str(g / "NA12878.chr22.tiny.giab.vcf"))
    ]
    assert len(truth) == 14
    for pos, ref, alt, gt in truth:
        hit = calls[(calls["pos"] == pos) & (calls["ref"] == ref) & (calls["alt"] == alt)]
        assert len(hit) == 1, pos
        vaf = float(hit["vaf"].iloc[0])
        expected = 1.0 if gt == (1, 1) else 0.5
        assert abs(vaf - expected) < 0.25, (pos, vaf)
        assert "germline" in hit["filter"].iloc[0], pos
    truth_pos = {p for p, *_ in truth}
    somatic_pass = calls[(calls["filter"] == "PASS") & ~calls["pos"].isin(truth_pos)]
    assert somatic_pass.empty
    assert (calls["consequence"] == "intergenic").all()  # no GTF: annotation degrades, no crash


def test_ch_annotate_any_vcf(toy, tmp_path: Path) -> None:
    """`marrowtox ch-annotate` annotates another caller's VCF; VAF from FORMAT/AD."""
    from marrowtox.cli import main

    d, g = toy
    s = g["e1"][0]
    vcf = tmp_path / "x.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chrT>\n"
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="AD">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
        f"chrT\t{s + 5}\t.\tA\tG\t.\tPASS\t.\tAD\t90,10\n"
        f"chrT\t{s + 4}\t.\tA\tT,<*>\t.\tq10\t.\tAD\t5,5,0\n"
    )
    out = tmp_path / "ann.tsv"
    rc_ = main(
        ["ch-annotate", "--vcf", str(vcf), "--fasta", f"{d}/toy.fa", "--gtf", f"{d}/toy.gtf"]
        + ["--out", str(out)]
    )
    assert rc_ == 0
    t = pd.read_csv(out, sep="\t")
    assert list(t["hgvsp_short"]) == ["p.K2R", "p.K2*"]  # the <*> allele is skipped
    assert list(t["filter"]) == ["PASS", "q10"]
    assert t["vaf"].tolist() == pytest.approx([0.1, 0.5])
    bad = tmp_path / "bad.vcf"
    bad.write_text(vcf.read_text().replace("chrT\t", "chrX\t"))
    bad.write_text(bad.read_text().replace("##contig=<ID=chrT>", "##contig=<ID=chrX>"))
    with pytest.raises(InputError, match="not in the FASTA") as info:
        from marrowtox.ch.annotate_vcf import annotate_vcf

        annotate_vcf(bad, f"{d}/toy.fa", f"{d}/toy.gtf", RULES)
    assert info.value.row == 1 and info.value.column == "CHROM"
