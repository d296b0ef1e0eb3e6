"""T-cell receptor clonotypes: expansion of CAR T vs non-CAR T cells, product sharing.

The seed study asked whether marrow CAR T cells are clonally expanded; a clonotype seen
in the infused product and again in the marrow is a product clone that homed and grew.
Contigs (Cell Ranger filtered_contig_annotations.csv or an AIRR rearrangement TSV) are
read with scirpy (Sturm et al., Bioinformatics 2020), all of a patient's samples
together so that one clonotype has one id across samples. A clonotype is scirpy's
default: identical CDR3 nucleotide sequences of every chain (receptor_arms="all"), the
primary pair of a dual-receptor cell (dual_ir="primary_only") (Zhang et al., Nature
2018 define T-cell clones the same way). Cells are joined to the sample's cells on the
barcode; CAR status and cell type come from the CAR calls (results/cart/<sample>.cells.tsv),
so only T cells called by the annotation count.

Per sample and group (CAR T, non-CAR T): T cells with a TCR, clonotypes, clonotypes with
at least `min_expanded_cells` cells (scirpy's clonal_expansion: ">= 3" is expanded),
the share of the largest clonotype and clonality (1 - Pielou's evenness of clonotype
sizes; 0 all distinct, 1 one clone). Fewer than `min_tcr_cells` T cells with a TCR in a
group: the numbers are left empty and the note says so (a top-clone share of 1 of 2
cells is not an expansion).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marrowtox.celltypes import T_TYPES
from marrowtox.errors import InputError

log = logging.getLogger(__name__)

#: Separator of sample and barcode in the joint (patient-level) cell index.
SEP = "::"
CELL_COLUMNS = [
    "barcode",
    "cell_type",
    "car_positive",
    "clone_id",
    "tra_cdr3",
    "trb_cdr3",
    "chain_pairing",
]
EXPANSION_COLUMNS = [
    "sample",
    "group",
    "t_cells",
    "with_tcr",
    "clonotypes",
    "expanded_clonotypes",
    "cells_in_expanded_pct",
    "top_clone_id",
    "top_clone_share",
    "clonality",
    "note",
]
CLONOTYPE_COLUMNS = [
    "patient",
    "clone_id",
    "tra_cdr3",
    "trb_cdr3",
    "sample",
    "day",
    "specimen",
    "fraction",
    "cells",
    "car_cells",
    "non_car_cells",
    "car_share",
    "expanded_car",
    "in_product",
    "shared_with_product",
]
CAR, NON_CAR = "CAR T", "non-CAR T"


@dataclass(frozen=True)
class ClonotypeParams:
    min_expanded_cells: int = 3
    min_tcr_cells: int = 20

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> ClonotypeParams:
        return cls(int(cfg["min_expanded_cells"]), int(cfg["min_tcr_cells"]))


@dataclass(frozen=True)
class VdjSample:
    sample: str
    day: int
    specimen: str  # marrow, blood, product, apheresis
    fraction: str  # whole_marrow, CD3+CAR+, ...
    contigs: str  # the samples.tsv vdj file
    car_cells: str  # results/cart/<sample>.cells.tsv


@dataclass(frozen=True)
class VdjInputs:
    """One patient's scRNA samples with contigs, ordered by day."""

    patient: str
    samples: list[VdjSample]


def read_contigs(path: str | Path) -> Any:
    """AnnData of one sample's receptors (scirpy): a .csv is Cell Ranger's contig
    annotations, a .tsv an AIRR rearrangement table. A file scirpy cannot read is an
    InputError naming it."""
    import scirpy as ir

    p = str(path)
    try:
        if p.lower().endswith((".csv", ".csv.gz")):
            return ir.io.read_10x_vdj(p)
        return ir.io.read_airr(p)
    except (KeyError, ValueError, OSError) as exc:
        raise InputError(
            f"cannot read T-cell receptor contigs: {exc}",
            file=p,
            column="vdj",
            expected="Cell Ranger filtered_contig_annotations.csv (barcode, chain, cdr3_nt, "
            "productive, ...) or an AIRR rearrangement TSV (cell_id, locus, junction, ...)",
        ) from None


def define_clonotypes(inputs: VdjInputs) -> pd.DataFrame:
    """Per cell with a receptor (index sample::barcode): sample, barcode, clone_id,
    TRA/TRB CDR3 (amino acids) and chain pairing, clonotypes defined jointly."""
    import anndata as ad
    import scirpy as ir

    parts = {}
    for s in inputs.samples:
        a = read_contigs(s.contigs)
        a.obs_names = [f"{s.sample}{SEP}{b}" for b in a.obs_names]
        parts[s.sample] = a
    if not parts or sum(a.n_obs for a in parts.values()) == 0:
        return pd.DataFrame(columns=["sample", *CELL_COLUMNS])
    adata = ad.concat(list(parts.values()))
    ir.pp.index_chains(adata)
    ir.tl.chain_qc(adata)
    ir.pp.ir_dist(adata)
    ir.tl.define_clonotypes(adata, receptor_arms="all", dual_ir="primary_only")
    chains = ir.get.airr(adata, ["junction_aa"], ["VJ_1", "VDJ_1"])
    out = pd.DataFrame(
        {
            "sample": [i.split(SEP, 1)[0] for i in adata.obs_names],
            "barcode": [i.split(SEP, 1)[1] for i in adata.obs_names],
            "clone_id": adata.obs["clone_id"].astype(str).to_numpy(),
            "tra_cdr3": chains["VJ_1_junction_aa"].fillna("").astype(str).to_numpy(),
            "trb_cdr3": chains["VDJ_1_junction_aa"].fillna("").astype(str).to_numpy(),
            "chain_pairing": adata.obs["chain_pairing"].astype(str).to_numpy(),
        },
        index=adata.obs_names,
    )
    # cells without a productive chain get clone_id "nan" from scirpy: no clonotype
    return out[out["clone_id"].ne("nan") & out["clone_id"].ne("")]


def sample_cells(receptors: pd.DataFrame, sample: str, car_cells: pd.DataFrame) -> pd.DataFrame:
    """The sample's annotated T cells joined with their receptor on the barcode (cells
    without a receptor keep an empty clone_id: not captured, not a clonotype)."""
    t = car_cells[car_cells["cell_type"].isin(list(T_TYPES))][
        ["barcode", "cell_type", "car_positive"]
    ]
    r = receptors[receptors["sample"] == sample].drop(columns="sample")
    out = t.merge(r, on="barcode", how="left")
    for c in ("clone_id", "tra_cdr3", "trb_cdr3", "chain_pairing"):
        out[c] = out[c].fillna("")
    out["car_positive"] = out["car_positive"].astype(bool)
    return out[CELL_COLUMNS].reset_index(drop=True)


def clonality(sizes: np.ndarray) -> float:
    """1 - Pielou's evenness of clonotype sizes (scipy entropy / log of the count)."""
    from scipy.stats import entropy

    if len(sizes) < 2:
        return 1.0
    return float(1.0 - entropy(sizes) / np.log(len(sizes)))


def expansion(cells: pd.DataFrame, sample: str, params: ClonotypeParams) -> pd.DataFrame:
    """One row per group (CAR T, non-CAR T) of a sample's T cells: EXPANSION_COLUMNS."""
    rows = []
    for group, mask in ((CAR, cells["car_positive"]), (NON_CAR, ~cells["car_positive"])):
        g = cells[mask]
        tcr = g[g["clone_id"] != ""]
        row: dict[str, Any] = dict.fromkeys(EXPANSION_COLUMNS)
        row.update(sample=sample, group=group, t_cells=len(g), with_tcr=len(tcr), note="")
        if len(tcr) < params.min_tcr_cells:
            row["note"] = (
                f"too few {group} cells with a TCR ({len(tcr)} < cart.clonotypes.min_tcr_cells "
                f"= {params.min_tcr_cells})"
            )
            rows.append(row)
            continue
        sizes = tcr["clone_id"].value_counts()
        expanded = sizes[sizes >= params.min_expanded_cells]
        row.update(
            clonotypes=len(sizes),
            expanded_clonotypes=len(expanded),
            cells_in_expanded_pct=100.0 * expanded.sum() / len(tcr),
            top_clone_id=str(sizes.index[0]),
            top_clone_share=float(sizes.iloc[0] / len(tcr)),
            clonality=round(clonality(sizes.to_numpy()), 4),
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=EXPANSION_COLUMNS)


def patient_clonotypes(
    inputs: VdjInputs, cells: dict[str, pd.DataFrame], params: ClonotypeParams
) -> pd.DataFrame:
    """Per clonotype and sample (CLONOTYPE_COLUMNS): cells, CAR T cells, share of the
    sample's CAR T cells with a TCR, expanded among CAR T cells, seen in a product
    sample, and shared: in the product and in a later non-product sample."""
    rows = []
    meta = {s.sample: s for s in inputs.samples}
    for sample, c in cells.items():
        tcr = c[c["clone_id"] != ""]
        n_car = int(tcr["car_positive"].sum())
        for cid, g in tcr.groupby("clone_id", sort=False):
            car = int(g["car_positive"].sum())
            m = meta[sample]
            rows.append(
                {
                    "patient": inputs.patient,
                    "clone_id": cid,
                    "tra_cdr3": g["tra_cdr3"].iloc[0],
                    "trb_cdr3": g["trb_cdr3"].iloc[0],
                    "sample": sample,
                    "day": m.day,
                    "specimen": m.specimen,
                    "fraction": m.fraction,
                    "cells": len(g),
                    "car_cells": car,
                    "non_car_cells": len(g) - car,
                    "car_share": car / n_car if n_car >= params.min_tcr_cells else np.nan,
                    "expanded_car": car >= params.min_expanded_cells,
                }
            )
    out = pd.DataFrame(rows, columns=CLONOTYPE_COLUMNS)
    if out.empty:
        return out
    product_days = {s.sample: s.day for s in inputs.samples if s.specimen == "product"}
    in_product = set(out.loc[out["sample"].isin(list(product_days)), "clone_id"])
    first_product = min(product_days.values()) if product_days else None
    later = out[~out["sample"].isin(list(product_days))]
    if first_product is not None:
        later = later[later["day"] >= first_product]
    shared = in_product & set(later["clone_id"])
    out["in_product"] = out["clone_id"].isin(in_product)
    out["shared_with_product"] = out["clone_id"].isin(shared)
    return out.sort_values(["sample", "car_cells", "cells"], ascending=[True, False, False])


@dataclass(frozen=True)
class VdjResult:
    cells: dict[str, pd.DataFrame]  # sample -> CELL_COLUMNS
    expansion: dict[str, pd.DataFrame]  # sample -> EXPANSION_COLUMNS
    clonotypes: pd.DataFrame  # CLONOTYPE_COLUMNS


def clonotype_step(inputs: VdjInputs, params: ClonotypeParams) -> VdjResult:
    """Clonotypes of one patient's samples with contigs, per sample and per patient."""
    receptors = define_clonotypes(inputs)
    cells, exp = {}, {}
    for s in inputs.samples:
        car = pd.read_csv(s.car_cells, sep="\t")
        cells[s.sample] = sample_cells(receptors, s.sample, car)
        n_in = int((receptors["sample"] == s.sample).sum())
        joined = int((cells[s.sample]["clone_id"] != "").sum())
        log.info(
            "%s: %d cells with a receptor, %d of them annotated T cells", s.sample, n_in, joined
        )
        if n_in and not joined and not (car["barcode"].isin(receptors["barcode"])).any():
            raise InputError(
                f"no barcode of the contigs matches a cell of sample {s.sample}",
                file=s.contigs,
                column="vdj",
                expected="the same cell barcodes as the sample's expression matrix "
                "(e.g. AAACCTGAGAAACCAT-1)",
            )
        exp[s.sample] = expansion(cells[s.sample], s.sample, params)
    return VdjResult(cells, exp, patient_clonotypes(inputs, cells, params))


def write_result(
    inputs: VdjInputs,
    params: ClonotypeParams,
    out_cells: list[str],
    out_expansion: list[str],
    out_clonotypes: str,
) -> VdjResult:
    """Run clonotype_step and write its tables (atomic), per sample in inputs' order."""
    from marrowtox.atomic import write_tsv

    res = clonotype_step(inputs, params)
    for s, oc, oe in zip(inputs.samples, out_cells, out_expansion, strict=True):
        write_tsv(res.cells[s.sample], oc)
        write_tsv(res.expansion[s.sample], oe)
    write_tsv(res.clonotypes, out_clonotypes)
    return res
