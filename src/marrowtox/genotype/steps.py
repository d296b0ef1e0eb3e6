"""File-level steps of clone-to-cell genotyping (the `sc_genotype` and `clone_cells`
rules and `marrowtox sc-genotype`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from marrowtox.atomic import write_tsv
from marrowtox.genotype.count import GenotypeParams
from marrowtox.genotype.sites import Site

#: The pseudo cell type of CAR+ T cells: a clone seen in them is flagged (a TET2 clone
#: in the CAR product: Fraietta et al., Nature 2018).
CAR_T = "CAR T"


SITE_COLUMNS = ["variant", "contig", "pos", "ref", "alt", "gene", "protein", "kind"]


def collect_sites(
    calls: Iterable[str], vcfs: Iterable[str], contigs: set[str] | None = None
) -> list[Site]:
    """The sites to genotype: the patient's CH calls (any timepoint) and hotspot VCFs,
    each checked against the BAM's contigs when given."""
    from marrowtox.genotype.count import check_sites
    from marrowtox.genotype.sites import merge_sites, sites_from_calls, sites_from_vcf

    groups = []
    for path in vcfs:
        s = sites_from_vcf(path)
        if contigs is not None:
            check_sites(s, contigs, path)
        groups.append(s)
    for path in calls:
        s = sites_from_calls([path])
        if contigs is not None:
            check_sites(s, contigs, path)
        groups.append(s)
    return merge_sites(groups)


def write_sites(sites: Sequence[Site], path: str) -> None:
    """The sites genotyped, also those no read reached (they are 'not covered', never
    'absent'), so later steps know every variant without re-reading the calls."""
    table = pd.DataFrame(
        [[getattr(x, c) for c in SITE_COLUMNS] for x in sites], columns=SITE_COLUMNS
    )
    write_tsv(table, path)


def read_sites(path: str) -> list[str]:
    """Variant ids of a sites table of `write_sites`, in order."""
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)["variant"].tolist()


def read_genotype_counts(path: str) -> pd.DataFrame:
    from marrowtox.genotype.count import COLUMNS

    return pd.read_csv(path, sep="\t", dtype={"barcode": str, "variant": str})[COLUMNS]


def genotype_step(
    bam: str,
    cells: Sequence[str],
    types: pd.Series | None,
    calls: Iterable[str],
    vcfs: Iterable[str],
    params: GenotypeParams,
    background_types: Iterable[str],
    out_counts: str,
    out_carriers: str | None,
    sample: str,
    car_cells: str | None = None,
    out_sites: str | None = None,
) -> dict[str, int]:
    """Count alleles per cell at the patient's CH sites (calls of any timepoint, plus
    hotspot VCFs); write the long table and, with cell types, the carrier table (one row
    per variant x cell type, plus CAR T cells when CAR calls are given). Returns the read
    statistics (what was skipped and why)."""
    from marrowtox.genotype.count import check_bam, count_sites, write_counts

    contigs = check_bam(bam)
    sites = collect_sites(calls, vcfs, contigs)
    stats: dict[str, int] = {}
    counts = count_sites(bam, sites, list(cells), params, stats)
    write_counts(counts, out_counts)
    if out_sites:
        write_sites(sites, out_sites)
    if out_carriers and types is not None:
        table = carriers(
            counts, types, [s.variant for s in sites], params, background_types, car_cells
        )
        table.insert(0, "sample", sample)
        write_tsv(table, out_carriers)
    return stats


def carriers(
    counts: pd.DataFrame,
    types: pd.Series,
    variants: Sequence[str],
    params: GenotypeParams,
    background_types: Iterable[str],
    car_cells: str | None = None,
) -> pd.DataFrame:
    """Variant x cell type carrier table, plus a CAR T row when CAR calls are given."""
    from marrowtox.genotype.carriers import carrier_table

    background_types = list(background_types)
    table = carrier_table(counts, types, background_types, params, variants)
    if car_cells:
        car = pd.read_csv(car_cells, sep="\t", dtype={"barcode": str})
        pos = set(car.loc[car["car_positive"].astype(str) == "True", "barcode"])
        car_types = types.where(~types.index.isin(pos), CAR_T)
        car_rows = carrier_table(counts, car_types, background_types, params, variants)
        table = pd.concat([table, car_rows[car_rows["cell_type"] == CAR_T]])
        table = table.sort_values(["variant", "cell_type"], kind="stable")
    return table.reset_index(drop=True)


def carriers_step(
    counts: str,
    sites: str,
    labels: str,
    params: GenotypeParams,
    background_types: Iterable[str],
    out_carriers: str,
    sample: str,
    car_cells: str | None = None,
) -> None:
    """The `sc_carriers` rule: carrier calls from the counts of `sc_genotype` (no BAM
    read again), with the CAR T row once CAR calls exist."""
    _, types = labels_cells(labels)
    table = carriers(
        read_genotype_counts(counts), types, read_sites(sites), params, background_types, car_cells
    )
    table.insert(0, "sample", sample)
    write_tsv(table, out_carriers)


def labels_cells(labels: str) -> tuple[list[str], pd.Series]:
    """QC-passed cells of a sample and their cell types (unknown left out of the types)."""
    t = pd.read_csv(labels, sep="\t", dtype={"barcode": str}, usecols=["barcode", "cell_type"])
    typed = t[t["cell_type"] != "unknown"]
    return t["barcode"].tolist(), pd.Series(
        typed["cell_type"].to_numpy(), index=typed["barcode"].to_numpy(), dtype=object
    )


def clone_cells_step(
    carriers: Sequence[str], samples: Sequence[str], days: Sequence[int], out: str
) -> None:
    """results/ch/<patient>.clone_cells.tsv: clone x cell type across timepoints."""
    tables = []
    for path, s, d in zip(carriers, samples, days, strict=True):
        t = pd.read_csv(path, sep="\t")
        t["sample"] = s
        t.insert(1, "day", int(d))
        tables.append(t)
    cols = ["sample", "day"]
    table = (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame(columns=[*cols, "variant", "cell_type", "call"])
    )
    write_tsv(table.sort_values(["variant", "day", "cell_type"], kind="stable"), out)


__all__ = [
    "CAR_T",
    "Path",
    "carriers",
    "carriers_step",
    "clone_cells_step",
    "collect_sites",
    "genotype_step",
    "labels_cells",
    "read_sites",
    "write_sites",
]
