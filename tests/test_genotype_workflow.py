"""Clone-to-cell genotyping end to end on the demo (issue 17): planted carrier lineages
recovered from the cell-barcoded BAMs by the sc_genotype and clone_cells rules."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.workflow
MIN_CELLS = 10  # singlecell.genotype.min_cells default (schema)


@pytest.fixture(scope="module")
def joined(demo_run) -> pd.DataFrame:
    truth = pd.read_csv(demo_run["demo"] / "truth" / "clone_cells.tsv", sep="\t")
    sheet = pd.read_csv(demo_run["demo"] / "samples.tsv", sep="\t", keep_default_na=False)
    calls = []
    for p in sorted(sheet.loc[sheet["bam"] != "", "patient"].unique()):
        path: Path = demo_run["results"] / "ch" / f"{p}.clone_cells.tsv"
        assert path.is_file(), path
        calls.append(pd.read_csv(path, sep="\t"))
    called = pd.concat(calls, ignore_index=True)
    return called.merge(
        truth, on=["sample", "variant", "cell_type"], how="inner", suffixes=("", "_truth")
    )


def test_every_called_clone_is_genotyped(joined: pd.DataFrame, demo_run) -> None:
    """Each clone the CH caller tracked (clones.tsv) is genotyped in every BAM sample."""
    sheet = pd.read_csv(demo_run["demo"] / "samples.tsv", sep="\t", keep_default_na=False)
    for p in sorted(sheet.loc[sheet["bam"] != "", "patient"].unique()):
        clones = pd.read_csv(demo_run["results"] / "ch" / f"{p}.clones.tsv", sep="\t")
        genes = set(clones["gene"].dropna())
        got = {v.split("_")[0] for v in joined.loc[joined["sample"].str.startswith(p), "variant"]}
        assert genes <= got | {g for g in genes if g == ""}, (p, genes - got)


def test_carrier_calls_match_planted_lineages(joined: pd.DataFrame) -> None:
    covered = joined[(joined["cells_covered"] >= MIN_CELLS) & joined["reached"]]
    # no non-carrier type is called carrier
    false_carriers = covered[(~covered["carrier"]) & (covered["call"] == "carrier")]
    assert false_carriers.empty, false_carriers[["sample", "variant", "cell_type"]]
    # carriers with enough cells and a planted fraction large enough to see are called
    strong = covered[
        covered["carrier"]
        & (covered["mutant_fraction_truth"] >= 0.3)
        & (covered["cells_covered"] >= 30)
    ]
    assert len(strong) > 20
    missed = strong[strong["call"] != "carrier"]
    assert missed.empty, missed[["sample", "variant", "cell_type", "cells_covered"]]


def test_interval_contains_planted_fraction(joined: pd.DataFrame) -> None:
    """Where the planted fraction is one number for the whole type (not T cells that mix
    CAR T and other T cells for TET2), the corrected interval contains it."""
    c = joined[
        joined["carrier"]
        & (joined["cells_covered"] >= 30)
        & ~(
            (joined["variant"].str.startswith("TET2"))
            & joined["cell_type"].isin(["CD4 T", "CD8 T"])
        )
    ]
    inside = (c["ci_low"] <= c["mutant_fraction_truth"]) & (
        c["mutant_fraction_truth"] <= c["ci_high"]
    )
    # 95% intervals: about 1 in 20 misses by chance (58 here; 2 missed on the demo, both
    # P06 JAK2 V617F just above the upper bound), on labels from our own annotation
    assert inside.mean() >= 0.90, c.loc[
        ~inside,
        [
            "sample",
            "variant",
            "cell_type",
            "mutant_fraction",
            "ci_low",
            "ci_high",
            "mutant_fraction_truth",
        ],
    ]


def test_uncovered_hotspot_is_not_covered(joined: pd.DataFrame) -> None:
    unreached = joined[~joined["reached"]]
    assert not unreached.empty
    assert (unreached["call"] == "not covered").all()
    assert (unreached["cells_covered"] == 0).all()


def test_tet2_clone_flagged_in_car_t_cells(joined: pd.DataFrame) -> None:
    car = joined[(joined["cell_type"] == "CAR T") & joined["variant"].str.startswith("TET2")]
    assert not car.empty and (car["call"] == "carrier").all(), car
    others = joined[
        (joined["cell_type"] == "CAR T")
        & ~joined["variant"].str.startswith("TET2")
        & (joined["cells_covered"] >= MIN_CELLS)
    ]
    assert (others["call"] != "carrier").all(), others[["sample", "variant", "call"]]


def test_per_cell_genotype_columns_in_sample_h5ad(demo_run) -> None:
    """results/singlecell/<sample>.h5ad carries geno_<gene>_<protein> (ref/alt/NA) that
    agree with the long counts table, for every site including the unreached one."""
    import anndata as ad

    sheet = pd.read_csv(demo_run["demo"] / "samples.tsv", sep="\t", keep_default_na=False)
    genotyped = sheet.loc[sheet["bam"] != "", "sample"].tolist()
    assert genotyped
    for s in genotyped[:2]:
        obs = ad.read_h5ad(demo_run["results"] / "singlecell" / f"{s}.h5ad", backed="r").obs
        base = demo_run["results"] / "singlecell" / "genotypes"
        counts = pd.read_csv(base / f"{s}.tsv", sep="\t", dtype={"barcode": str})
        sites = pd.read_csv(base / f"{s}.sites.tsv", sep="\t")
        cols = [c for c in obs.columns if c.startswith("geno_")]
        assert cols == [f"geno_{v}" for v in sites["variant"]]
        assert not any("/" in c for c in cols)
        for v in sites["variant"]:
            col = obs[f"geno_{v}"]
            assert set(col.dropna().unique()) <= {"ref", "alt"}
            rows = counts[(counts["variant"] == v) & counts["barcode"].isin(obs.index)]
            alt = set(rows.loc[rows["alt_umis"] > 0, "barcode"])
            assert set(col.index[col == "alt"]) == alt, (s, v)
            assert col.isna().sum() == len(obs) - ((rows["alt_umis"] + rows["ref_umis"]) > 0).sum()


def test_samples_without_bam_have_no_genotype_columns(demo_run) -> None:
    import anndata as ad

    sheet = pd.read_csv(demo_run["demo"] / "samples.tsv", sep="\t", keep_default_na=False)
    plain = sheet.loc[(sheet["assay"] == "scrna") & (sheet["bam"] == ""), "sample"].tolist()
    assert plain
    obs = ad.read_h5ad(demo_run["results"] / "singlecell" / f"{plain[0]}.h5ad", backed="r").obs
    assert not [c for c in obs.columns if c.startswith("geno_")]
