"""CH annotation on real sequence and the real GENCODE annotation (hg38 chr17 segment):
TP53 R175H must come out as the MANE transcript's c.524G>A p.Arg175His, CHIP-curated."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.realdata


def test_tp53_r175h_hgvs_on_real_gencode(real_data: Path, tmp_path: Path) -> None:
    from marrowtox.ch.annotate_vcf import annotate_vcf

    seg = real_data / "hg38_chr17_segment"
    gtf = tmp_path / "gencode.gtf"
    with gzip.open(seg / "gencode.v45.chr17_1-7.84M.gtf.gz", "rb") as src, open(gtf, "wb") as dst:
        shutil.copyfileobj(src, dst)
    vcf = tmp_path / "v.vcf"
    vcf.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr17,length=7840000>\n"
        '##FORMAT=<ID=AD,Number=R,Type=Integer,Description="allele depths">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS\n"
        "chr17\t7675088\t.\tC\tT\t.\tPASS\t.\tAD\t90,10\n"
    )
    rows = annotate_vcf(
        vcf, seg / "hg38_chr17_1-8M.fa.gz", gtf, REPO / "resources" / "chip" / "rules.yaml"
    )
    assert len(rows) == 1
    r = rows[0]
    assert r["gene"] == "TP53" and r["transcript"].startswith("ENST00000269305")
    assert r["hgvsc"] == "c.524G>A" and r["hgvsp"] == "p.Arg175His"
    assert r["consequence"] == "missense" and r["exon"] == 5
    assert r["chip"] == "CHIP" and r["vaf"] == pytest.approx(0.1)
