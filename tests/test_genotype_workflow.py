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
    # 95% intervals on labels from our own annotation: allow a few misses, not more
    assert inside.mean() >= 0.85, c.loc[
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
