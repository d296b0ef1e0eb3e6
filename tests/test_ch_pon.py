"""Panel-of-normals error model (issue 18): fit, test, and the demo's planted site artifacts.

The demo plants three site-specific artifacts (0.6-1% of reads with one wrong base on
both strands, in every sample, normals included) and true CH variants at 1%.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest
from scipy import stats as sps

from marrowtox.ch.call import CALL_COLUMNS, CallParams, call_sample
from marrowtox.ch.pon import (
    CLASS_MODEL,
    PON_COLUMNS,
    SITE_MODEL,
    SiteModel,
    fit_strand,
    pooled_rho,
    read_pon,
    site_pvalues,
)

RULES = Path(__file__).resolve().parents[1] / "resources" / "chip" / "rules.yaml"
MARROWTOX = Path(sys.executable).with_name("marrowtox")


def test_fit_recovers_beta_binomial_parameters() -> None:
    rng = np.random.default_rng(3)
    mu, rho = 0.004, 0.01
    a, b = mu * (1 - rho) / rho, (1 - mu) * (1 - rho) / rho
    n = rng.integers(800, 2500, size=(400, 1))
    x = sps.betabinom.rvs(n, a, b, random_state=rng)
    m, r = fit_strand(x, n, np.array([1e-4]), w=0.0, rho_min=1e-4, rho_max=0.1)
    assert abs(m[0] - mu) / mu < 0.1
    assert abs(r[0] - rho) / rho < 0.35
    # a binomial site (no over-dispersion) is clipped to rho_min
    xb = rng.binomial(n, mu)
    _, rb = fit_strand(xb, n, np.array([1e-4]), w=0.0, rho_min=1e-4, rho_max=0.1)
    assert rb[0] < 2e-3
    # one rho for the panel: the moment equation pooled over many sites of one rho
    mus, rho3 = rng.uniform(2e-3, 6e-3, size=2000), 2e-3
    nn = rng.integers(1500, 2500, size=(3, 2000))
    aa, bb = mus * (1 - rho3) / rho3, (1 - mus) * (1 - rho3) / rho3
    xx = sps.betabinom.rvs(nn, aa, bb, random_state=rng)
    assert abs(pooled_rho(xx, nn, 1e-4, 0.1) - rho3) / rho3 < 0.3
    assert pooled_rho(rng.binomial(nn, mus), nn, 1e-4, 0.1) < 1e-3
    # shrinkage: no alt read in three normals gives the class rate's pull, not zero
    m0, _ = fit_strand(np.zeros((3, 1)), np.full((3, 1), 1500), np.array([2e-4]), 1000, 1e-4, 0.1)
    assert m0[0] == pytest.approx(2e-4 * 1000 / 5500)


def test_site_pvalue_is_the_beta_binomial_tail() -> None:
    m = SiteModel(0.002, 1e-3, 0.004, 2e-3, False, False)
    p = site_pvalues(
        np.array([10, 0]),
        np.array([2000, 2000]),
        np.array([1000, 1000]),
        np.array([1000, 1000]),
        [m, None],
    )
    mu, rho = 0.003, 2e-3
    s = (1 - rho) / rho
    assert p[0] == pytest.approx(sps.betabinom.sf(9, 2000, mu * s, (1 - mu) * s), rel=1e-12)
    assert np.isnan(p[1])


@pytest.fixture(scope="module")
def demo_dna(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from marrowtox.demo import dna

    d = tmp_path_factory.mktemp("demo_dna")
    dna.generate(d, 7)
    return d


@pytest.fixture(scope="module")
def pon(demo_dna: Path) -> Path:
    out = demo_dna / "pon.tsv.gz"
    normals = sorted(str(p) for p in (demo_dna / "dna" / "normals").glob("*.bam"))
    assert len(normals) == 3
    ref = demo_dna / "reference"
    subprocess.run(
        [
            str(MARROWTOX),
            "ch-pon",
            "--bam",
            *normals,
            "--fasta",
            str(ref / "panel.fa"),
            "--bed",
            str(ref / "panel.bed"),
            "--out",
            str(out),
        ],
        check=True,
    )
    return out


def _calls(demo_dna: Path, sample: str, models) -> pd.DataFrame:
    ref = demo_dna / "reference"
    rows, _ = call_sample(
        sample,
        str(demo_dna / "dna" / f"{sample}.bam"),
        str(ref / "panel.fa"),
        str(ref / "panel.bed"),
        str(ref / "panel.gtf"),
        str(RULES),
        CallParams(),
        site_models=models,
    )
    return pd.DataFrame(rows, columns=CALL_COLUMNS)


def _hit(calls: pd.DataFrame, row) -> pd.Series | None:
    h = calls[
        (calls["pos"] == row["pos"]) & (calls["ref"] == row["ref"]) & (calls["alt"] == row["alt"])
    ]
    return h.iloc[0] if len(h) else None


def test_pon_table(pon: Path, demo_dna: Path) -> None:
    t = pd.read_csv(pon, sep="\t")
    assert list(t.columns) == PON_COLUMNS
    with pysam.BGZFile(str(pon)) as fh:  # BGZF, so tabix can index it
        assert fh.read(5) == b"chrom"
    truth = pd.read_csv(demo_dna / "truth" / "variants.tsv", sep="\t")
    sites = truth[truth["kind"] == "artifact_site"].drop_duplicates(["pos", "ref", "alt"])
    assert len(sites) == 3
    key = t.set_index(["chrom", "pos", "ref", "alt"])
    for _, s in sites.iterrows():
        r = key.loc[(s["chrom"], s["pos"], s["ref"], s["alt"])]
        assert bool(r["recurrent"]) and r["n_artifact"] == 3
        assert 0.3 * s["vaf"] < r["mu_fwd"] < 2 * s["vaf"]
    # the patients' CH hotspots are absent from the healthy normals
    chip = truth[truth["kind"] == "chip"].drop_duplicates(["pos", "ref", "alt"])
    n_snv = 0
    for _, c in chip.iterrows():
        k = (c["chrom"], c["pos"], c["ref"], c["alt"])
        if k not in key.index:  # an indel no normal read carries: no row
            assert len(c["ref"]) != len(c["alt"])
            continue
        n_snv += 1
        r = key.loc[k]
        assert not bool(r["recurrent"]) and r["alt_fwd"] + r["alt_rev"] <= 3
    assert n_snv >= 8


@pytest.mark.parametrize("sample", ["P02_BL_dna", "P05_BL_dna"])
def test_pon_filters_site_artifacts_and_keeps_true_variants(
    demo_dna: Path, pon: Path, sample: str
) -> None:
    truth = pd.read_csv(demo_dna / "truth" / "variants.tsv", sep="\t")
    truth = truth[truth["sample"] == sample]
    models = read_pon(pon)
    without, with_pon = _calls(demo_dna, sample, None), _calls(demo_dna, sample, models)
    arts = truth[truth["kind"] == "artifact_site"]
    # without the PON the sample's class model takes (some of) the artifacts as calls
    assert any(
        (h := _hit(without, r)) is not None and h["filter"] == "PASS" for _, r in arts.iterrows()
    )
    for _, r in arts.iterrows():
        h = _hit(with_pon, r)
        assert h is None or h["filter"] != "PASS", (sample, r["pos"])
        if h is not None:
            assert h["model"] == SITE_MODEL and "pon" in h["filter"].split(";")
    # true CH variants at the same VAF (1%) and above elsewhere PASS against their site model
    true1 = truth[(truth["kind"] == "chip") & (truth["vaf"] > 0)]
    assert (true1["vaf"] <= 0.01).any()
    for _, r in true1.iterrows():
        h = _hit(with_pon, r)
        assert h is not None and h["filter"] == "PASS", (sample, r["hgvsp_short"])
        assert h["model"] == SITE_MODEL
    # the TET2 poly-A deletion artifact recurs in the normals but is a truncating TET2
    # (CHIP-rule) allele: never filtered as `pon` for recurrence, class model instead
    hp = truth[truth["kind"] == "artifact_homopolymer"].iloc[0]
    h = _hit(with_pon, hp)
    assert h is not None and h["model"] == CLASS_MODEL and "pon" not in h["filter"].split(";")
    assert h["filter"] != "PASS"  # the homopolymer filter still holds it


def test_compact_outputs_keep_every_pass_and_count_every_test(
    demo_dna: Path, pon: Path, tmp_path: Path
) -> None:
    from dataclasses import replace

    from marrowtox.ch.steps import CallInputs, call_step

    sample, ref = "P05_BL_dna", demo_dna / "reference"
    models = read_pon(pon)
    full = _calls(demo_dna, sample, models)
    strict = replace(CallParams(), report_max_q=1e-6, report_min_vaf=0.05)
    ev = tmp_path / "ev.tsv.gz"
    call_step(
        CallInputs(
            sample=sample,
            bam=str(demo_dna / "dna" / f"{sample}.bam"),
            fasta=str(ref / "panel.fa"),
            bed=str(ref / "panel.bed"),
            gtf=str(ref / "panel.gtf"),
            rules=str(RULES),
            params=strict,
            out_vcf=str(tmp_path / "c.vcf.gz"),
            out_tsv=str(tmp_path / "c.tsv"),
            out_lod=str(tmp_path / "c.lod.tsv"),
            pon_model=models,
            out_evidence=str(ev),
        )
    )
    few = pd.read_csv(tmp_path / "c.tsv", sep="\t")
    evidence = pd.read_csv(ev, sep="\t")
    assert len(few) < len(full) <= len(evidence)
    # every PASS call is written, with the q-value of the test over all candidates
    key = ["pos", "ref", "alt"]
    passed = full[full["filter"] == "PASS"]
    assert len(passed) >= 2
    m = passed.merge(few, on=key, suffixes=("", "_few"))
    assert len(m) == len(passed) and (m["filter_few"] == "PASS").all()
    assert np.allclose(m["q_value"], m["q_value_few"], rtol=1e-9)
    # the evidence file holds every tested candidate (and says which were written)
    assert evidence["reported"].sum() == len(few)
    assert set(map(tuple, full[key].values)) <= set(map(tuple, evidence[key].values))
    with pysam.TabixFile(str(ev)) as tb:
        r = passed.iloc[0]
        chrom = full.loc[passed.index[0], "chrom"]
        assert any(f"\t{r['pos']}\t" in line for line in tb.fetch(chrom, r["pos"] - 1, r["pos"]))
    vcf = pysam.VariantFile(str(tmp_path / "c.vcf.gz"))
    assert "min_vaf" in str(vcf.header) and "observed AF" in str(vcf.header)
    assert [rec.info["MODEL"] for rec in vcf] == few["model"].tolist()
    assert set(few["model"]) == {SITE_MODEL, CLASS_MODEL}
