"""UMI consensus on real SiMSen-Seq reads (issue 29): inline UMI extraction, alignment,
grouping, consensus, and the background error per base before and after consensus on
the same amplicons. Data: ../shared/data/real/umi_simsenseq/ (README there); skipped
where absent."""

from __future__ import annotations

import pandas as pd
import pytest
from realdata import REAL_DATA_CANDIDATES

from marrowtox.ch.consensus import ConsensusParams
from marrowtox.ch.pileup import PileupParams
from marrowtox.ch.steps import (
    AlignInputs,
    ConsensusInputs,
    ExtractInputs,
    align_step,
    consensus_step,
    extract_step,
)
from marrowtox.ch.umi_extract import ExtractStats, InlineLayout, extract_inline

DATA = next(
    (p / "umi_simsenseq" for p in REAL_DATA_CANDIDATES if (p / "umi_simsenseq").is_dir()), None
)
#: chr3 position of the reference contig's first base minus one (README of the data).
OFFSET = 179_147_513
#: The source tool's (umierrorcorrect2) layout for these reads: 19-base UMI, 16-base spacer.
LAYOUT = InlineLayout(umi_length=19, spacer_length=16)


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory):
    if DATA is None:
        pytest.skip("../shared/data/real/umi_simsenseq absent (real SiMSen-Seq reads)")
    pytest.importorskip("mappy", reason="mappy (minimap2) aligns the extracted reads")
    out = tmp_path_factory.mktemp("simsenseq")
    fa = DATA / "Homo_sapiens_PIK3CA_sequence.fa"
    fq = DATA / "P001_start_R1_001.fastq.gz"
    # the `marrowtox ch-umi-extract` and `ch-align` steps (rules ch_umi_extract, ch_align):
    # UMI + spacer off read 1, then minimap2 alignment
    ex = extract_step(ExtractInputs("P001", str(fq), LAYOUT, str(out / "extracted.fastq.gz")))
    al = align_step(
        AlignInputs("P001", str(out / "extracted.fastq.gz"), str(fa), str(out / "raw.bam"))
    )
    assert al["reads"] == ex["kept"]
    ex = {**ex, "aligned": al["aligned"]}
    stats = ExtractStats()
    extract_inline(str(fq), LAYOUT, stats)  # the spacer counts behind it
    assert (ex["reads"], ex["kept"]) == (stats.reads, stats.kept)
    counts = {"aligned": ex["aligned"]}
    bed = out / "amplicons.bed"
    with open(DATA / "test_regions.bed", encoding="utf-8") as fh, open(bed, "w") as o:
        for line in fh:
            f = line.split("\t")
            o.write(f"3\t{int(f[1]) - OFFSET}\t{int(f[2]) - OFFSET}\t{f[3]}\n")
    row = consensus_step(
        ConsensusInputs(
            sample="P001",
            bam=str(out / "raw.bam"),
            fasta=str(fa),
            bed=str(bed),
            params=ConsensusParams(umi="rx"),
            pileup=PileupParams(),
            out_bam=str(out / "consensus.bam"),
            out_qc=str(out / "qc.tsv"),
            out_hist=str(out / "families.tsv"),
        )
    )
    return out, stats, counts, row


def test_inline_umi_layout_is_what_the_reads_hold(real) -> None:
    _, stats, counts, _ = real
    # the spacer the layout names sits after 19 bases in most reads (SiMSen-Seq hairpin)
    assert stats.spacer == "ATGGGAAAGAGTGTCC"
    assert stats.kept / stats.reads > 0.8
    assert counts["aligned"] / stats.kept > 0.95
    print(f"reads {stats.reads:,}, UMI + spacer + insert {stats.kept:,}, aligned "
          f"{counts['aligned']:,}")  # fmt: skip


def test_consensus_lowers_background_error_tenfold(real) -> None:
    out, _, _, row = real
    hist = pd.read_csv(out / "families.tsv", sep="\t")
    sizes = hist.set_index("family_size")["families"]
    print(
        f"\nSiMSen-Seq P001: {row['templates']:,} reads -> {row['families']:,} families "
        f"(mean size {row['mean_family_size']:.1f}, median {row['median_family_size']:.0f}, "
        f"{row['singleton_families']:,} singletons) -> {row['molecules']:,} molecules "
        f"(min family size {ConsensusParams().umi_min_family_size}); duplicate rate "
        f"{row['duplicate_rate']:.2f}\nfamily sizes: "
        + ", ".join(f"{k}: {v}" for k, v in sizes.head(10).items())
        + f"\nbackground error per base on the amplicons (10% trimmed positions): raw as "
        f"sequenced {row['error_raw_all']:.2e}, raw at the caller's Q20 {row['error_raw']:.2e} "
        f"({row['bases_raw']:,} bases), consensus {row['error_consensus']:.2e} "
        f"({row['bases_consensus']:,} bases): {row['error_reduction']:.0f}x lower than as "
        f"sequenced, {row['error_reduction_filtered']:.1f}x lower than Q20-filtered reads"
    )
    assert int((hist["family_size"] * hist["families"]).sum()) == row["templates"]
    assert row["molecules"] > 1000 and row["mean_family_size"] > 2
    assert row["bases_consensus"] > 10_000
    assert row["error_raw_all"] >= 10 * row["error_consensus"]
    assert row["error_raw"] > row["error_consensus"]


def test_preflight_accepts_the_real_layout_and_refuses_a_shifted_one() -> None:
    if DATA is None:
        pytest.skip("../shared/data/real/umi_simsenseq absent (real SiMSen-Seq reads)")
    from marrowtox.ch.umi_extract import check_layout
    from marrowtox.errors import InputError

    fq = str(DATA / "P001_start_R1_001.fastq.gz")
    check_layout(fq, LAYOUT)  # the source tool's layout: no error
    for wrong in (InlineLayout(18, 16), InlineLayout(20, 16)):  # UMI length one base off
        with pytest.raises(InputError, match="no common spacer") as info:
            check_layout(fq, wrong)
        assert info.value.column == "umi_layout" and info.value.file == fq
