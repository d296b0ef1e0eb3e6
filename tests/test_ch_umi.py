"""UMI consensus path (issue 29): UMI grouping, the consensus error model, duplex, the
consensus BAM the caller reads in molecules, and the UMI QC, on simulated UMI reads
with a planted truth."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from marrowtox.ch.call import CallParams, call_sample, for_bam, is_consensus_bam
from marrowtox.ch.consensus import ConsensusParams, duplex, p_to_phred, single_strand, two_errors
from marrowtox.ch.pileup import PileupParams
from marrowtox.ch.steps import CallInputs, ConsensusInputs, call_step, consensus_step
from marrowtox.ch.umi import directional_groups, duplex_canonical, read_umi
from marrowtox.demo.umi_reads import UmiSimParams, simulate_umi_bam
from marrowtox.errors import InputError

RULES = str(Path(__file__).resolve().parents[1] / "resources" / "chip" / "rules.yaml")


def test_directional_adjacency_merges_errors_not_equals() -> None:
    # AAAA absorbs AAAT (10 >= 2*2-1), AAAT absorbs AATT (2 >= 1); CCCC and CCCG have
    # equal counts (5 < 2*5-1): two molecules, as UMI-tools' directional method says
    leader = directional_groups({"AAAA": 10, "AAAT": 2, "AATT": 1, "CCCC": 5, "CCCG": 5})
    assert leader["AAAT"] == leader["AATT"] == leader["AAAA"] == "AAAA"
    assert leader["CCCC"] != leader["CCCG"]
    # a one-mismatch UMI as abundant as the other is not an error of it (umi_tools)
    assert len(set(directional_groups({"ACGT": 4, "ACGA": 4}).values())) == 2


def test_duplex_umis_of_both_strands_share_a_canonical_umi() -> None:
    assert duplex_canonical("AAA-CCC", r1_reverse=False) == ("AAA-CCC", "A")
    assert duplex_canonical("CCC-AAA", r1_reverse=True) == ("AAA-CCC", "B")
    assert duplex_canonical("ACGT", r1_reverse=True) == ("ACGT", "A")


def test_read_umi_sources(tmp_path: Path) -> None:
    header = pysam.AlignmentHeader.from_dict({"SQ": [{"SN": "c", "LN": 100}]})
    a = pysam.AlignedSegment(header)
    a.query_name = "M1:2:3_ACGTTG"
    a.set_tag("RX", "aaa-ccc")
    assert read_umi(a, "rx") == "AAA-CCC"
    assert read_umi(a, "read_name") == "ACGTTG"
    a.query_name = "plain_read"  # last field is no UMI
    assert read_umi(a, "read_name") is None
    with pytest.raises(InputError, match="unknown UMI source"):
        read_umi(a, "inline")


def test_single_strand_consensus_error_model() -> None:
    p = ConsensusParams()
    # four Q30 reads agree: far better than one read, but not above the pre-UMI floor
    codes = np.zeros((4, 3), np.uint8)
    quals = np.full((4, 3), 30.0)
    code, perr, depth, errors = single_strand(codes, quals, p)
    assert (code == 0).all() and (depth == 4).all() and errors == 0
    assert (perr < 1e-10).all()
    final = p_to_phred(two_errors(perr, 10 ** (-p.umi_error_rate_pre_umi / 10)))
    assert (final == p.umi_error_rate_pre_umi).all()
    # 2 vs 2: no confident base (Q3), which the caller's base-quality filter drops
    codes[2:, 1] = 2
    code, perr, _, errors = single_strand(codes, quals, p)
    assert p_to_phred(perr)[1] <= 3 and errors == 2
    # 3 vs 1: the majority, with the minority counted as a disagreement
    codes[2, 1] = 0
    code, perr, _, _ = single_strand(codes, quals, p)
    assert code[1] == 0 and p_to_phred(perr)[1] > 30
    # a base below umi_min_input_base_quality does not vote
    low = quals.copy()
    low[:, 2] = 5
    _, _, depth, _ = single_strand(codes, low, p)
    assert depth[2] == 0


def test_duplex_rule_of_fgbio() -> None:
    q = lambda x: np.array([10 ** (-x / 10)])  # noqa: E731
    code, perr = duplex((np.array([1]), q(30)), (np.array([1]), q(40)))
    assert code[0] == 1 and round(-10 * np.log10(perr[0])) == 70
    code, perr = duplex((np.array([1]), q(30)), (np.array([2]), q(40)))
    assert code[0] == 2 and round(-10 * np.log10(perr[0])) == 10
    code, _ = duplex((np.array([1]), q(30)), (np.array([2]), q(30)))
    assert code[0] == 4


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("umi")
    p = UmiSimParams(sites_per_level=2, molecules_per_site=600, levels=(0.01, 0.02, 0.05))
    return (out, p, *simulate_umi_bam(out, "S", p))


def _consensus(out: Path, bam: Path, fa: Path, bed: Path, name: str, **kw) -> dict:
    return consensus_step(
        ConsensusInputs(
            sample=name,
            bam=str(bam),
            fasta=str(fa),
            bed=str(bed),
            params=replace(ConsensusParams(), **kw),
            pileup=PileupParams(),
            out_bam=str(out / f"{name}.cons.bam"),
            out_qc=str(out / f"{name}.qc.tsv"),
            out_hist=str(out / f"{name}.hist.tsv"),
        )
    )


def test_consensus_counts_molecules_and_lowers_error(sim) -> None:
    out, p, bam, fa, bed, truth = sim
    row = _consensus(out, bam, fa, bed, "S")
    hist = pd.read_csv(out / "S.hist.tsv", sep="\t")
    n_reads = int(pysam.AlignmentFile(str(bam)).mapped)
    assert row["reads"] == n_reads == row["templates"]
    assert (hist["family_size"] * hist["families"]).sum() == n_reads
    # families: about the simulated molecules (UMI errors merged back, not new molecules)
    span = int(bed.read_text().split()[2]) - int(bed.read_text().split()[1])
    simulated = p.molecules_per_site * (span + 2 * p.read_length) / p.read_length
    assert abs(row["families"] / simulated - 1) < 0.05
    assert row["molecules"] == hist.loc[hist["family_size"] >= 2, "families"].sum()
    assert 4 <= row["mean_family_size"] <= 6
    assert row["error_raw"] / row["error_consensus"] >= 10
    print(f"error raw {row['error_raw']:.2e}, consensus {row['error_consensus']:.2e}")
    cons = out / "S.cons.bam"
    assert is_consensus_bam(str(cons)) and not is_consensus_bam(str(bam))
    with pysam.AlignmentFile(str(cons)) as f:
        r = next(iter(f))
        assert r.get_tag("cD") >= 2 and r.get_tag("cM") <= r.get_tag("cD")
        assert 0 <= r.get_tag("cE") < 0.2 and r.has_tag("RX") and r.has_tag("MI")


def test_caller_reads_consensus_in_molecules(sim) -> None:
    out, p, bam, fa, bed, truth = sim
    cons = out / "S.cons.bam"
    if not cons.exists():
        _consensus(out, bam, fa, bed, "S")
    params = CallParams()
    assert for_bam(params, str(bam)) is params  # a BAM without UMIs: unchanged
    assert for_bam(params, str(cons)).min_alt == params.umi_min_alt
    calls, lod = call_sample("S", str(cons), str(fa), str(bed), None, RULES, params)
    raw_calls, raw_lod = call_sample("S", str(bam), str(fa), str(bed), None, RULES, params)
    # depth in molecules: the consensus depth is the molecules (not the reads) per site
    assert 0.7 * p.molecules_per_site < lod[0]["median_depth"] <= 1.05 * p.molecules_per_site
    assert raw_lod[0]["median_depth"] > 3 * p.molecules_per_site
    planted = {(t.pos, t.ref, t.alt) for t in truth}
    passed = {(c["pos"], c["ref"], c["alt"]) for c in calls if c["filter"] == "PASS"}
    assert passed == planted  # every planted clone at 1-5%, no false call
    vcf = out / "S.vcf.gz"
    call_step(
        CallInputs(
            "S",
            str(cons),
            str(fa),
            str(bed),
            RULES,
            params,
            str(vcf),
            str(out / "S.calls.tsv"),
            str(out / "S.lod.tsv"),
        )  # fmt: skip
    )
    with pysam.VariantFile(str(vcf)) as v:
        assert any(r.key == "depth" and "molecules" in r.value for r in v.header.records)


def test_duplex_consensus(tmp_path: Path) -> None:
    p = UmiSimParams(
        sites_per_level=1, molecules_per_site=300, levels=(0.05,), duplex=True, mean_family_size=3
    )
    bam, fa, bed, truth = simulate_umi_bam(tmp_path, "D", p)
    row = _consensus(tmp_path, bam, fa, bed, "D")
    # both strands of a molecule are one family: the families are the molecules, not 2x
    span = int(bed.read_text().split()[2]) - int(bed.read_text().split()[1])
    simulated = p.molecules_per_site * (span + 2 * p.read_length) / p.read_length
    assert abs(row["families"] / simulated - 1) < 0.05
    assert row["duplex_yield"] > 0.9
    with pysam.AlignmentFile(str(tmp_path / "D.cons.bam")) as f:
        reads = list(f)
    assert all(r.has_tag("aD") and r.has_tag("bD") for r in reads[:50])
    strict = _consensus(tmp_path, bam, fa, bed, "D2", umi_require_duplex=True)
    assert strict["duplex_yield"] == 1.0
    assert strict["molecules"] <= row["molecules"]
    assert min(row["error_reduction"], strict["error_reduction"]) >= 10


def test_bam_without_umis_is_refused_before_work(tmp_path: Path, sim) -> None:
    out, p, bam, fa, bed, truth = sim
    with pytest.raises(InputError, match="has no UMI .umi: read_name."):
        _consensus(out, bam, fa, bed, "X", umi="read_name")


def test_umi_qc_reaches_the_patient_report(sim, tmp_path: Path) -> None:
    from marrowtox.report.build import umi_qc_rows
    from marrowtox.report.inputs import Results
    from marrowtox.report.names import Names

    out, p, bam, fa, bed, truth = sim
    qc = out / "S.qc.tsv"
    if not qc.exists():
        _consensus(out, bam, fa, bed, "S")
    res = tmp_path / "results"
    (res / "ch").mkdir(parents=True)
    (res / "ch" / "S.umi_qc.tsv").write_text(qc.read_text())
    sheet = pd.DataFrame(
        {"patient": ["P1", "P1"], "sample": ["S", "N"], "assay": ["dna", "dna"],
         "timepoint": ["BL", "D28"], "day": [-7, 28]}
    )  # fmt: skip
    rows = umi_qc_rows(Results(res), ["S", "N"], Names(sheet, pseudonymise=True))
    assert len(rows) == 1  # a sample without UMIs has no row
    assert rows[0]["sample"] != "S"  # pseudonymised like every other table
    q = pd.read_csv(qc, sep="\t").iloc[0]
    assert rows[0]["molecules"] == str(int(q["molecules"]))
    assert float(rows[0]["err_cons"]) < float(rows[0]["err_raw"])


def test_preflight_checks_the_reads_hold_the_promised_umi(sim, tmp_path: Path) -> None:
    from marrowtox.preflight import check_data_files
    from marrowtox.samplesheet import load_samples

    out, p, bam, fa, bed, truth = sim
    sheet = tmp_path / "samples.tsv"
    head = "patient\tsample\tassay\ttimepoint\tday\tpath\tumi\n"
    sheet.write_text(head + f"P1\tP1_BL\tdna\tBL\t-7\t{bam}\trx\n")
    assert check_data_files(load_samples(sheet), str(sheet), None) == []
    sheet.write_text(head + f"P1\tP1_BL\tdna\tBL\t-7\t{bam}\tread_name\n")
    with pytest.raises(InputError) as info:
        check_data_files(load_samples(sheet), str(sheet), None)
    assert (info.value.row, info.value.column) == (2, "umi")
    assert "has no UMI" in str(info.value) and str(sheet) in str(info.value)
