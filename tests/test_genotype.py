"""Clone-to-cell genotyping: per-cell UMI counting at sites, and carrier calls per cell type.

The hand-built BAM pins every read rule to an exact count; the vartrix toy BAM checks the
counting against an independent pileup on real 10x reads and tags; the MAESTER
genotyping-of-transcriptomes calls exercise the carrier statistics on real CH cells.
"""

from __future__ import annotations

import argparse
import gzip
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from marrowtox.ch.call import CALL_COLUMNS
from marrowtox.errors import InputError
from marrowtox.genotype import commands
from marrowtox.genotype.carriers import CALLS, SUMMARY_COLUMNS, carrier_table
from marrowtox.genotype.count import COLUMNS, GenotypeParams, count_sites, write_counts
from marrowtox.genotype.sites import Site, make_site, sites_from_calls, sites_from_vcf

CONTIG, CONTIG_LEN = "chrT", 1000
READ_LEN = 50
GOOD_Q, LOW_Q = 37, 5
SNV_POS, DEL_POS, INS_POS = 500, 700, 850
CELLS = ["CELL1-1", "CELL2-1", "CELL3-1"]
OUTSIDER = "CELLX-1"


def _reference() -> str:
    rng = np.random.default_rng(3)
    return "".join(rng.choice(list("ACGT"), CONTIG_LEN))


REF_SEQ = _reference()
SNV_ALT = next(b for b in "ACGT" if b != REF_SEQ[SNV_POS])
SNV_OTHER = next(b for b in "ACGT" if b not in (REF_SEQ[SNV_POS], SNV_ALT))
INSERTED = "GT"


def _sites() -> list[Site]:
    return [
        Site("SNV1", CONTIG, SNV_POS, REF_SEQ[SNV_POS], SNV_ALT),
        Site("DEL3", CONTIG, DEL_POS, REF_SEQ[DEL_POS : DEL_POS + 4], REF_SEQ[DEL_POS], kind="del"),
        Site("INS2", CONTIG, INS_POS, REF_SEQ[INS_POS], REF_SEQ[INS_POS] + INSERTED, kind="ins"),
    ]


class BamBuilder:
    """Reads built from the reference through their CIGAR, with chosen bases and tags."""

    def __init__(self) -> None:
        self.header = pysam.AlignmentHeader.from_dict(
            {"HD": {"VN": "1.6", "SO": "unsorted"}, "SQ": [{"SN": CONTIG, "LN": CONTIG_LEN}]}
        )
        self.reads: list[pysam.AlignedSegment] = []

    def add(
        self,
        start: int,
        cigar: list[tuple[int, int]] | None = None,
        *,
        cb: str | None = CELLS[0],
        ub: str | None = "AAAA",
        sub: dict[int, str] | None = None,
        insert: str = "",
        flag: int = 0,
        mapq: int = 60,
        low_q_at: int | None = None,
    ) -> None:
        cigar = cigar or [(0, READ_LEN)]
        sub = sub or {}
        seq, quals, rpos = [], [], start
        for op, n in cigar:
            if op == 0:
                for r in range(rpos, rpos + n):
                    seq.append(sub.get(r, REF_SEQ[r]))
                    quals.append(LOW_Q if r == low_q_at else GOOD_Q)
                rpos += n
            elif op == 1:
                seq += list((insert or "N" * n)[:n])
                quals += [GOOD_Q] * n
            elif op in (2, 3):
                rpos += n
        a = pysam.AlignedSegment(self.header)
        a.query_name = f"r{len(self.reads)}"
        a.query_sequence = "".join(seq)
        a.flag = flag
        a.reference_id = 0
        a.reference_start = start
        a.mapping_quality = mapq
        a.cigartuples = cigar
        a.query_qualities = pysam.qualitystring_to_array("".join(chr(q + 33) for q in quals))
        tags = []
        if cb is not None:
            tags.append(("CB", cb))
        if ub is not None:
            tags.append(("UB", ub))
        a.set_tags(tags)
        self.reads.append(a)

    def write(self, directory: Path, index: bool = True) -> Path:
        raw, out = directory / "raw.bam", directory / "test.bam"
        with pysam.AlignmentFile(str(raw), "wb", header=self.header) as fh:
            for r in self.reads:
                fh.write(r)
        pysam.sort("-o", str(out), str(raw))
        if index:
            pysam.index(str(out))
        return out


def _hand_bam(directory: Path) -> Path:
    b = BamBuilder()
    s0 = SNV_POS - 20  # reads covering the SNV with the site at read offset 20
    alt, other = {SNV_POS: SNV_ALT}, {SNV_POS: SNV_OTHER}
    # CELL1 at the SNV: ref 1, alt 2, other 2 (UMIs)
    b.add(s0, ub="AAAA")  # one ref UMI ...
    b.add(s0 + 3, ub="AAAA", flag=0x400)  # ... with two PCR duplicates (flagged, kept)
    b.add(s0 + 5, ub="AAAA", flag=0x400 | 0x10)
    b.add(s0, ub="CCCC", sub=alt)  # majority alt: 2 alt reads beat 1 ref read
    b.add(s0 + 1, ub="CCCC", sub=alt, flag=0x400)
    b.add(s0 + 2, ub="CCCC", flag=0x400)
    b.add(s0, ub="GGGG", sub=alt)  # 1 alt vs 1 ref: tie -> other
    b.add(s0 + 1, ub="GGGG", flag=0x400)
    b.add(s0, ub="TTTT", sub=alt)  # alt
    b.add(s0, ub="ACAC", sub=other)  # a third base -> other
    b.add(s0, ub="AGAG", sub=alt, low_q_at=SNV_POS)  # base quality below minimum: not counted
    b.add(SNV_POS - 30, [(0, 20), (3, 250), (0, 30)], ub="ATAT", sub=alt)  # N spans the site
    b.add(s0, ub="CACA", sub=alt, flag=0x100)  # secondary
    b.add(s0, ub="CGCG", sub=alt, flag=0x200)  # QC fail
    b.add(s0, ub="CTCT", sub=alt, flag=0x800)  # supplementary
    b.add(s0, ub="GAGA", sub=alt, mapq=5)  # MAPQ below minimum
    b.add(s0, ub=None, sub=alt)  # no UMI
    b.add(s0, cb=None, sub=alt)  # no cell barcode
    # CELL2 at the SNV: ref 2 (the UMI AAAA of another cell is another molecule)
    b.add(s0, cb=CELLS[1], ub="AAAA")
    b.add(s0 + 4, cb=CELLS[1], ub="TGTG")
    # a cell outside the list: ignored
    for ub in ("AAAA", "CCCC", "GGGG"):
        b.add(s0, cb=OUTSIDER, ub=ub, sub=alt)
    # Deletion site: anchor DEL_POS, bases DEL_POS+1..+3 deleted
    d0 = DEL_POS - 24  # 25 aligned bases end with the anchor
    b.add(d0, [(0, 25), (2, 3), (0, 25)], ub="DDDD")  # alt, 3-bp deletion
    b.add(d0 + 2, [(0, 23), (2, 3), (0, 27)], ub="DDDD", flag=0x400)  # its duplicate
    b.add(DEL_POS - 20, ub="DEDE")  # ref, spans the whole site
    b.add(d0, [(0, 25), (2, 1), (0, 25)], ub="DFDF")  # 1-bp deletion: other
    b.add(DEL_POS - 20, cb=CELLS[2], ub="EEEE")  # CELL3 ref
    b.add(DEL_POS + 2 - READ_LEN, cb=CELLS[2], ub="EFEF")  # ends inside: not informative
    b.add(DEL_POS - 30, [(0, 20), (3, 100), (0, 30)], cb=CELLS[2], ub="EGEG")  # spliced across
    # Insertion site: GT inserted after INS_POS
    i0 = INS_POS - 24
    b.add(i0, [(0, 25), (1, 2), (0, 23)], cb=CELLS[1], ub="IIII", insert=INSERTED)  # alt
    b.add(INS_POS - 20, cb=CELLS[1], ub="IJIJ")  # ref
    b.add(i0, [(0, 25), (1, 2), (0, 23)], cb=CELLS[1], ub="IKIK", insert="GA")  # other
    return b.write(directory)


EXPECTED = {
    ("SNV1", CELLS[0]): (1, 2, 2),
    ("SNV1", CELLS[1]): (2, 0, 0),
    ("DEL3", CELLS[0]): (1, 1, 1),
    ("DEL3", CELLS[2]): (1, 0, 0),
    ("INS2", CELLS[1]): (1, 1, 1),
}


def test_hand_built_bam_counts_every_rule(tmp_path: Path) -> None:
    bam = _hand_bam(tmp_path)
    stats: dict[str, int] = {}
    params = GenotypeParams(min_mapq=20, min_base_quality=20)
    df = count_sites(bam, _sites(), CELLS, params, stats)
    assert list(df.columns) == COLUMNS
    got = {(r.variant, r.barcode): (r.ref_umis, r.alt_umis, r.other_umis) for r in df.itertuples()}
    assert got == EXPECTED
    keys = list(zip(df["variant"], df["barcode"], strict=True))
    assert keys == sorted(keys)
    assert stats["skipped_flag"] == 3
    assert stats["low_mapq"] == 1
    assert stats["no_umi"] == 1
    assert stats["no_cell_barcode"] == 1
    assert stats["not_in_cells"] == 3
    assert stats["low_base_quality"] == 1
    # spliced over the SNV (and, fetched again, over the deletion), spliced over and ending
    # inside the deletion
    assert stats["not_covering"] == 4
    # a base-quality minimum of 0 admits the low-quality alt read as one more alt UMI
    df0 = count_sites(bam, _sites()[:1], CELLS, GenotypeParams(min_base_quality=0))
    assert df0.set_index("barcode").loc[CELLS[0], "alt_umis"] == 3
    out = tmp_path / "out" / "counts.tsv"
    write_counts(df, out)
    pd.testing.assert_frame_equal(pd.read_csv(out, sep="\t"), df)


def test_sites_from_vcf_and_calls(tmp_path: Path) -> None:
    vcf = tmp_path / "s.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr2,length=30000000>\n"
        '##INFO=<ID=GENE,Number=1,Type=String,Description="g">\n'
        '##INFO=<ID=HGVSP,Number=1,Type=String,Description="p">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "chr2\t25234373\t.\tC\tT\t.\tPASS\tGENE=DNMT3A;HGVSP=p.Arg882His\n"
        "chr2\t25234400\t.\tACGT\tA\t.\tPASS\t.\n"
        "chr2\t25234500\tmyins\tG\tGTT\t.\tPASS\t.\n"
        "chr2\t25234600\t.\tAC\tGT\t.\tPASS\t.\n"
    )
    sites = sites_from_vcf(vcf)
    assert [(s.variant, s.pos, s.kind) for s in sites] == [
        ("DNMT3A_R882H", 25234372, "snv"),
        ("chr2:25234400:ACGT>A", 25234399, "del"),
        ("myins", 25234499, "ins"),
    ]
    assert sites[1].deleted == 3 and sites[2].inserted == "TT"
    rows = []
    for filt, chip, pos, prot in (
        ("PASS", "CHIP", 100, "p.R882H"),
        ("PASS", "low-VAF CH", 200, "p.G642fs"),
        ("low_vaf", "", 300, "p.Q1034*"),
        ("PASS", "", 400, "p.A1/B"),
    ):
        row = dict.fromkeys(CALL_COLUMNS, "")
        row.update(chrom="chr2", pos=pos, ref="C", alt="T", gene="TET2", hgvsp_short=prot)
        row.update(filter=filt, chip=chip)
        rows.append(row)
    day0, day28 = tmp_path / "d0.calls.tsv", tmp_path / "d28.calls.tsv"
    pd.DataFrame(rows, columns=CALL_COLUMNS).to_csv(day0, sep="\t", index=False)
    pd.DataFrame(rows[:1], columns=CALL_COLUMNS).to_csv(day28, sep="\t", index=False)
    calls = sites_from_calls([day0, day28])
    assert [s.variant for s in calls] == ["TET2_R882H", "TET2_G642fs"]
    wide = sites_from_calls([day0, day28], filters=("PASS", "low_vaf"), chip_classes=None)
    assert [s.variant for s in wide] == ["TET2_R882H", "TET2_G642fs", "TET2_Q1034*", "TET2_A1_B"]
    assert all("/" not in s.variant for s in wide)
    assert make_site("chr1", 9, "A", "AC", "X", "p.A1fs").variant == "X_A1fs"


def test_carrier_table_synthetic() -> None:
    rows, types = [], {}
    for i in range(40):  # monocytes: half show alt
        bc = f"M{i}"
        types[bc] = "Mono"
        rows.append(("V", bc, 1, 1 if i % 2 else 0, 0))
    for i in range(40):  # T cells: none show alt (background)
        bc = f"T{i}"
        types[bc] = "T"
        rows.append(("V", bc, 2, 0, 0))
    for i in range(30):  # B cells: covered, no alt
        types[f"B{i}"] = "B"
        rows.append(("V", f"B{i}", 1, 0, 0))
    types["H0"] = "HSC"
    rows.append(("V", "H0", 0, 1, 0))
    counts = pd.DataFrame(rows, columns=COLUMNS)
    params = GenotypeParams(min_cells=5, alpha=0.01)
    out = carrier_table(counts, pd.Series(types), ["T"], params, variants=["V", "W"])
    assert list(out.columns) == SUMMARY_COLUMNS
    calls = dict(zip(zip(out["variant"], out["cell_type"], strict=True), out["call"], strict=True))
    assert calls[("V", "Mono")] == "carrier"
    assert calls[("V", "B")] == "not carrier"
    assert calls[("V", "HSC")] == "not covered"
    assert calls[("V", "T")] == "not carrier"
    assert all(calls[("W", t)] == "not covered" for t in ("B", "HSC", "Mono", "T"))
    mono = out[(out["variant"] == "V") & (out["cell_type"] == "Mono")].iloc[0]
    # 80 background UMIs without alt, 100 prior pseudo-UMIs at the floor: rate = floor
    assert mono["background_rate"] == pytest.approx(params.error_floor)
    assert mono["alt_cell_fraction"] == 0.5
    # corrected: 20 cells with 2 UMIs, 20 with 1; f = (obs - p0) / (d - p0) with
    # p0 = mean 1-(1-r)^u, d = mean 1-(1-(0.5 + 0.5 r))^u, r = floor
    r = params.error_floor
    p0 = (1 - (1 - r) ** 2 + 1 - (1 - r)) / 2
    pa = 0.5 + 0.5 * r
    d = (1 - (1 - pa) ** 2 + 1 - (1 - pa)) / 2
    assert mono["mutant_fraction"] == pytest.approx((0.5 - p0) / (d - p0), rel=1e-12)
    assert mono["ci_low"] < mono["mutant_fraction"] < mono["ci_high"]
    # T cells have no other background type: their rate is the floor
    t_rate = out[(out["variant"] == "V") & (out["cell_type"] == "T")]["background_rate"].iloc[0]
    assert t_rate == pytest.approx(params.error_floor)


def test_from_config_refuses_typos() -> None:
    assert GenotypeParams.from_config({"min_mapq": 30}).min_mapq == 30
    with pytest.raises(InputError, match="min_mapqq"):
        GenotypeParams.from_config({"min_mapqq": 30})


def test_read_barcodes_formats(tmp_path: Path) -> None:
    plain = tmp_path / "barcodes.tsv.gz"
    with gzip.open(plain, "wt") as fh:
        fh.write("AAA-1\nCCC-1\nAAA-1\n")
    assert commands.read_barcodes(plain) == (["AAA-1", "CCC-1"], None)
    table = tmp_path / "cells.csv"
    table.write_text("barcode,cell_type\nAAA-1,monocyte\nCCC-1,\nGGG-1,CD4 T\n")
    cells, types = commands.read_barcodes(table)
    assert cells == ["AAA-1", "CCC-1", "GGG-1"]
    assert types.to_dict() == {"AAA-1": "monocyte", "GGG-1": "CD4 T"}
    clash = tmp_path / "clash.tsv"
    clash.write_text("barcode\tcell_type\nAAA-1\tT\nAAA-1\tB\n")
    with pytest.raises(InputError, match="row 3"):
        commands.read_barcodes(clash)
    empty = tmp_path / "empty.tsv"
    empty.write_text("\n")
    with pytest.raises(InputError, match="no barcodes"):
        commands.read_barcodes(empty)


def _run(argv: list[str]) -> int:
    from marrowtox.cli import build_parser

    args: argparse.Namespace = build_parser().parse_args(argv)
    return args.func(args)


def test_bad_inputs_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "with_index").mkdir()
    (tmp_path / "no_index").mkdir()
    bam = _hand_bam(tmp_path / "with_index")
    b = BamBuilder()
    b.add(100)
    unindexed = b.write(tmp_path / "no_index", index=False)
    barcodes = tmp_path / "barcodes.tsv"
    barcodes.write_text("\n".join(CELLS) + "\n")
    vcf = tmp_path / "other_contig.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=T,length=1000>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        "T\t501\t.\tC\tT\t.\tPASS\t.\n"
    )
    out = tmp_path / "out.tsv"
    base = ["sc-genotype", "--barcodes", str(barcodes), "--sample", "s1", "--out", str(out)]
    with pytest.raises(InputError, match="no index") as exc:
        _run([*base, "--bam", str(unindexed), "--vcf", str(vcf)])
    assert str(unindexed) in str(exc.value)
    with pytest.raises(InputError, match="not in the BAM header") as exc:
        _run([*base, "--bam", str(bam), "--vcf", str(vcf)])
    assert str(vcf) in str(exc.value) and "'chrT' exists: chr-prefix mismatch" in str(exc.value)
    no_umi = BamBuilder()
    no_umi.add(100, ub=None)
    (tmp_path / "no_umi").mkdir()
    no_umi_bam = no_umi.write(tmp_path / "no_umi")
    with pytest.raises(InputError, match="no UB") as exc:
        _run([*base, "--bam", str(no_umi_bam), "--vcf", str(vcf)])
    assert str(no_umi_bam) in str(exc.value)
    assert not out.exists()


def test_command_writes_tables(tmp_path: Path) -> None:
    bam = _hand_bam(tmp_path)
    cells = tmp_path / "cells.tsv"
    cells.write_text("barcode\tcell_type\n" + "".join(f"{c}\tmonocyte\n" for c in CELLS))
    vcf = tmp_path / "sites.vcf"
    vcf.write_text(
        f"##fileformat=VCFv4.2\n##contig=<ID={CONTIG},length={CONTIG_LEN}>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"{CONTIG}\t{SNV_POS + 1}\tSNV1\t{REF_SEQ[SNV_POS]}\t{SNV_ALT}\t.\tPASS\t.\n"
    )
    out, summary = tmp_path / "c.tsv", tmp_path / "s.tsv"
    argv = ["sc-genotype", "--bam", str(bam), "--barcodes", str(cells), "--vcf", str(vcf)]
    argv += ["--sample", "s1", "--out", str(out), "--out-summary", str(summary)]
    assert _run([*argv, "--min-cells", "1"]) == 0
    counts = pd.read_csv(out, sep="\t")
    assert counts["alt_umis"].sum() == 2 and set(counts["barcode"]) == set(CELLS[:2])
    s = pd.read_csv(summary, sep="\t")
    assert s[["variant", "cell_type", "cells_covered", "cells_alt"]].values.tolist() == [
        ["SNV1", "monocyte", 2, 1]
    ]


def test_cell_genotype_columns() -> None:
    """ref / alt / NA per cell: one alt UMI makes 'alt', reference only 'ref', nothing (or a
    third allele only) NA, never 'ref'; a site no read reaches is all NA."""
    from marrowtox.genotype.cells import cell_genotypes

    counts = pd.DataFrame(
        [
            ["DNMT3A_R882H", "a", 3, 1, 0],
            ["DNMT3A_R882H", "b", 2, 0, 0],
            ["DNMT3A_R882H", "c", 0, 0, 1],
            ["DNMT3A_R882H", "x", 0, 5, 0],  # a barcode not among the cells
        ],
        columns=COLUMNS,
    )
    g = cell_genotypes(counts, ["a", "b", "c", "d"], ["DNMT3A_R882H", "JAK2_V617F"])
    assert list(g.columns) == ["geno_DNMT3A_R882H", "geno_JAK2_V617F"]
    col = g["geno_DNMT3A_R882H"]
    assert col["a"] == "alt" and col["b"] == "ref"
    assert pd.isna(col["c"]) and pd.isna(col["d"])
    assert g["geno_JAK2_V617F"].isna().all()
    assert list(col.cat.categories) == ["ref", "alt"]


def test_carriers_from_tables_equal_one_pass(tmp_path: Path) -> None:
    """The workflow splits counting (sc_genotype) from carrier calls (sc_carriers, after the
    CAR calls): the split gives the same table as `sc-genotype --out-summary` in one pass,
    and the sites table lists every site, also one no read reaches."""
    from marrowtox.genotype.steps import carriers_step, genotype_step, read_sites

    bam = _hand_bam(tmp_path)
    labels = tmp_path / "labels.tsv"
    labels.write_text("barcode\tcell_type\n" + "".join(f"{c}\tmonocyte\n" for c in CELLS))
    vcf = tmp_path / "sites.vcf"
    vcf.write_text(
        f"##fileformat=VCFv4.2\n##contig=<ID={CONTIG},length={CONTIG_LEN}>\n"
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"{CONTIG}\t{SNV_POS + 1}\tSNV1\t{REF_SEQ[SNV_POS]}\t{SNV_ALT}\t.\tPASS\t.\n"
        f"{CONTIG}\t{CONTIG_LEN - 5}\tFAR\t{REF_SEQ[CONTIG_LEN - 6]}\t"
        f"{'A' if REF_SEQ[CONTIG_LEN - 6] != 'A' else 'C'}\t.\tPASS\t.\n"
    )
    params = GenotypeParams.from_config({"min_cells": 1})
    types = pd.Series("monocyte", index=CELLS, dtype=object)
    one = tmp_path / "one.tsv"
    genotype_step(
        str(bam), CELLS, types, [], [str(vcf)], params, (), str(tmp_path / "c1.tsv"), str(one), "s"
    )
    counts, sites, two = tmp_path / "c2.tsv", tmp_path / "sites.tsv", tmp_path / "two.tsv"
    genotype_step(
        str(bam),
        CELLS,
        None,
        [],
        [str(vcf)],
        params,
        (),
        str(counts),
        None,
        "s",
        out_sites=str(sites),
    )
    assert len(read_sites(str(sites))) == 2
    carriers_step(str(counts), str(sites), str(labels), params, (), str(two), "s")
    a, b = pd.read_csv(one, sep="\t"), pd.read_csv(two, sep="\t")
    pd.testing.assert_frame_equal(a, b)
    assert (b.loc[b["cells_covered"] == 0, "call"] == "not covered").all()
    assert (b["cells_covered"] == 0).sum() == 1


# --- real data: vartrix toy BAM (real 10x reads and tags) -----------------------------------


def _independent_counts(
    bam_path: Path, vcf_path: Path, cells: set[str], min_mapq: int, min_bq: int
) -> dict[tuple[str, str], tuple[int, int, int]]:
    """Reference implementation: htslib's pileup engine, UMI majority written afresh."""
    out: dict[tuple[str, str], tuple[int, int, int]] = {}
    with pysam.AlignmentFile(str(bam_path)) as bam, pysam.VariantFile(str(vcf_path)) as vcf:
        for rec in vcf:
            vid = f"{rec.chrom}:{rec.pos}:{rec.ref}>{rec.alts[0]}"
            per_umi: dict[tuple[str, str], Counter] = {}
            for col in bam.pileup(
                rec.chrom,
                rec.start,
                rec.start + 1,
                truncate=True,
                stepper="nofilter",
                min_base_quality=0,
                ignore_overlaps=False,
                max_depth=10**6,
            ):
                for pr in col.pileups:
                    read = pr.alignment
                    # the "nofilter" stepper applies no flag or MAPQ filter: done here
                    if read.flag & (0x4 | 0x100 | 0x200 | 0x800) or read.mapping_quality < min_mapq:
                        continue
                    if pr.is_refskip or not read.has_tag("CB") or not read.has_tag("UB"):
                        continue
                    if read.get_tag("CB") not in cells:
                        continue
                    if pr.is_del:
                        allele = "other"
                    else:
                        if read.query_qualities[pr.query_position] < min_bq:
                            continue
                        base = read.query_sequence[pr.query_position]
                        allele = (
                            "ref" if base == rec.ref else "alt" if base == rec.alts[0] else "other"
                        )
                    key = (read.get_tag("CB"), read.get_tag("UB"))
                    per_umi.setdefault(key, Counter())[allele] += 1
            per_cell: dict[str, Counter] = {}
            for (cb, _), votes in per_umi.items():
                ranked = votes.most_common()
                tie = len(ranked) > 1 and ranked[0][1] == ranked[1][1]
                per_cell.setdefault(cb, Counter())["other" if tie else ranked[0][0]] += 1
            for cb, c in per_cell.items():
                out[(vid, cb)] = (c["ref"], c["alt"], c["other"])
    return out


@pytest.mark.realdata
@pytest.mark.parametrize("which_cells", ["barcodes.tsv", "every CB in the BAM"])
@pytest.mark.parametrize("min_mapq,min_bq", [(20, 20), (0, 0)])
def test_vartrix_toy_matches_independent_pileup(
    real_data: Path, which_cells: str, min_mapq: int, min_bq: int
) -> None:
    d = real_data / "vartrix_toy"
    if not d.is_dir():
        pytest.skip(f"{d} absent")
    bam, vcf = d / "test.bam", d / "test.vcf"
    if which_cells == "barcodes.tsv":
        cells, _ = commands.read_barcodes(d / "barcodes.tsv")
    else:
        with pysam.AlignmentFile(str(bam)) as fh:
            cells = sorted({r.get_tag("CB") for r in fh.fetch(until_eof=True) if r.has_tag("CB")})
    sites = sites_from_vcf(vcf)
    assert len(sites) == 4
    params = GenotypeParams(min_mapq=min_mapq, min_base_quality=min_bq)
    df = count_sites(bam, sites, cells, params)
    got = {(r.variant, r.barcode): (r.ref_umis, r.alt_umis, r.other_umis) for r in df.itertuples()}
    expected = _independent_counts(bam, vcf, set(cells), min_mapq, min_bq)
    assert got == expected
    assert got, "no cell covered: the comparison would be empty"
    print(
        f"\nvartrix toy ({which_cells}, MAPQ>={min_mapq}, BQ>={min_bq}): {len(cells)} cells, "
        f"{len(got)} (variant, cell) pairs, UMIs ref {df['ref_umis'].sum()} "
        f"alt {df['alt_umis'].sum()} other {df['other_umis'].sum()}"
    )


# --- real data: MAESTER genotyping of transcriptomes (real CH cells) -------------------------


@pytest.mark.realdata
def test_maester_got_carrier_statistics(real_data: Path) -> None:
    d = real_data / "maester_got"
    if not d.is_dir():
        pytest.skip(f"{d} absent")
    got = pd.read_csv(d / "got.txt", sep="\t")
    counts = pd.DataFrame(
        {
            "variant": got["mutation"].str.replace(".", "_", n=1, regex=False),
            "barcode": got["cell"],
            "ref_umis": got["wtUMIs"].astype("int64"),
            "alt_umis": got["mutUMIs"].astype("int64"),
            "other_umis": 0,
        }
    )
    pos = pd.read_csv(d / "4.4_positive_cells.txt", sep="\t")
    n_conflicting = int((pos.groupby("cell")["CellType"].nunique() > 1).sum())
    types = pos.drop_duplicates("cell").set_index("cell")["CellType"]
    got_cells = set(counts["barcode"])
    typed = got_cells & set(types.index)
    min_cells = 3
    params = GenotypeParams(min_cells=min_cells)
    table = carrier_table(counts, types, ["CTL", "T", "NK"], params)
    print(
        f"\nmaester_got: {len(got)} rows, {len(got_cells)} cells in got.txt, "
        f"{types.size} typed cells in 4.4_positive_cells.txt "
        f"({n_conflicting} with conflicting types), {len(typed)} got.txt cells with a known type"
    )
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(table[table["cells_covered"] > 0].to_string(index=False, float_format="%.4g"))
    assert list(table.columns) == SUMMARY_COLUMNS
    assert set(table["call"]) <= set(CALLS)
    assert ((table["cells_covered"] < min_cells) == (table["call"] == "not covered")).all()
    cov = table[table["cells_covered"] > 0]
    assert (cov["ci_low"] <= cov["mutant_fraction"] + 1e-12).all()
    assert (cov["mutant_fraction"] <= cov["ci_high"] + 1e-12).all()
    assert ((cov["ci_low"] >= 0) & (cov["ci_low"] <= cov["ci_high"]) & (cov["ci_high"] <= 1)).all()
    assert (table["cells_alt"] <= table["cells_covered"]).all()
    assert table["p_value"].dropna().between(0, 1).all()
    assert table.groupby("variant")["cells_covered"].sum().sum() == len(
        counts[counts["barcode"].isin(typed)]
    )
    assert typed, "no barcode shared between got.txt and 4.4_positive_cells.txt"
