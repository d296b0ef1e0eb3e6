"""File-level steps of clone-to-cell genotyping (the `sc_genotype` and `clone_cells`
rules and `marrowtox sc-genotype`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from marrowtox.atomic import write_tsv
from marrowtox.genotype.count import GenotypeParams

#: The pseudo cell type of CAR+ T cells: a clone seen in them is flagged (a TET2 clone
#: in the CAR product: Fraietta et al., Nature 2018).
CAR_T = "CAR T"


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
) -> dict[str, int]:
    """Count alleles per cell at the patient's CH sites (calls of any timepoint, plus
    hotspot VCFs); write the long table and, with cell types, the carrier table (one row
    per variant x cell type, plus CAR T cells when CAR calls are given). Returns the read
    statistics (what was skipped and why)."""
    from marrowtox.genotype.carriers import carrier_table
    from marrowtox.genotype.count import check_bam, check_sites, count_sites, write_counts
    from marrowtox.genotype.sites import merge_sites, sites_from_calls, sites_from_vcf

    contigs = check_bam(bam)
    groups = []
    for path in vcfs:
        s = sites_from_vcf(path)
        check_sites(s, contigs, path)
        groups.append(s)
    for path in calls:
        s = sites_from_calls([path])
        check_sites(s, contigs, path)
        groups.append(s)
    sites = merge_sites(groups)
    stats: dict[str, int] = {}
    counts = count_sites(bam, sites, list(cells), params, stats)
    write_counts(counts, out_counts)
    if out_carriers and types is not None:
        ids = [s.variant for s in sites]
        table = carrier_table(counts, types, background_types, params, ids)
        if car_cells:
            car = pd.read_csv(car_cells, sep="\t", dtype={"barcode": str})
            pos = set(car.loc[car["car_positive"].astype(str) == "True", "barcode"])
            car_types = types.where(~types.index.isin(pos), CAR_T)
            car_rows = carrier_table(counts, car_types, background_types, params, ids)
            table = pd.concat([table, car_rows[car_rows["cell_type"] == CAR_T]])
            table = table.sort_values(["variant", "cell_type"], kind="stable")
        table.insert(0, "sample", sample)
        write_tsv(table, out_carriers)
    return stats


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


__all__ = ["CAR_T", "Path", "clone_cells_step", "genotype_step", "labels_cells"]
