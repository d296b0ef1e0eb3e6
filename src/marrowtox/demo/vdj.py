"""Demo T-cell receptor contigs (issue 28 item 3): planted expanded CAR T clonotypes.

For P05 (the patient with the most marrow CAR T cells) three CAR T clonotypes make up
22%, 14% and 9% of the CAR T cells in the day-28 marrow (whole and CD3+CAR+ sorted);
the same three are in the infused product at a few cells each (product clones that
homed and expanded). Non-CAR T cells are polyclonal but for one modest clone (4%: a
virus-specific clone, as in any adult repertoire). T cells get a productive TRA and TRB
contig with probability CAPTURE; other cells get none. The day-28 marrow and the sorted
sample are written as Cell Ranger filtered_contig_annotations.csv, the product as an
AIRR rearrangement TSV, to exercise both readers. Truth in truth/vdj_clonotypes.tsv.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from marrowtox.atomic import write_text, write_tsv
from marrowtox.demo.cohort import rng

#: (sample, format) of the demo samples with contigs.
VDJ_SAMPLES = (("P05_D28_sc", "10x"), ("P05_D28sort_sc", "10x"), ("P05_PROD_sc", "airr"))
PRODUCT = "P05_PROD_sc"
#: Planted CAR T clonotypes: share of the CAR T cells after infusion, and cells in the product.
CAR_CLONES = {"CAR1": 0.22, "CAR2": 0.14, "CAR3": 0.09}
PRODUCT_CELLS = 4
NON_CAR_CLONE_SHARE = 0.04
CAPTURE = 0.85
STREAM = 22
AA = "ACDEFGHIKLMNPQRSTVWY"
#: One codon per amino acid (a demo: any codon would do).
CODON = dict(zip(AA, "GCT TGT GAT GAA TTT GGT CAT ATT AAA CTG ATG AAT CCT CAG CGT AGC ACT GTT TGG TAT".split(), strict=True))
TRAV = ["TRAV1-2", "TRAV12-1", "TRAV21", "TRAV8-4", "TRAV29/DV5"]
TRBV = ["TRBV6-4", "TRBV20-1", "TRBV7-9", "TRBV5-1", "TRBV28"]
T_TYPES = ("CD4 T", "CD8 T")


def _cdr3(r: np.random.Generator, end: str) -> tuple[str, str]:
    aa = "C" + "".join(r.choice(list(AA), int(r.integers(9, 14)))) + end
    return aa, "".join(CODON[a] for a in aa)


def _receptor(r: np.random.Generator) -> dict[str, str]:
    a_aa, a_nt = _cdr3(r, "F")
    b_aa, b_nt = _cdr3(r, "F")
    return {"tra_aa": a_aa, "tra_nt": a_nt, "trb_aa": b_aa, "trb_nt": b_nt,
            "trav": str(r.choice(TRAV)), "trbv": str(r.choice(TRBV))}  # fmt: skip


def assign(r: np.random.Generator, cells: pd.DataFrame, product: bool,
           planted: dict[str, dict], non_car_clone: dict) -> pd.DataFrame:  # fmt: skip
    """Per captured T cell: its clonotype label (CAR1.., NONCAR1, or unique) and receptor."""
    t = cells[cells["cell_type"].isin(T_TYPES)]
    t = t[r.random(len(t)) < CAPTURE]
    car, other = t[t["car_t"]], t[~t["car_t"]]
    rows = []
    order = r.permutation(len(car))
    start = 0
    for label in CAR_CLONES:
        k = PRODUCT_CELLS if product else int(round(CAR_CLONES[label] * len(car)))
        for i in order[start : start + k]:
            rows.append((car["barcode"].iloc[i], label, planted[label]))
        start += k
    for i in order[start:]:
        rows.append((car["barcode"].iloc[i], "unique", _receptor(r)))
    o_order = r.permutation(len(other))
    k = 0 if product else int(round(NON_CAR_CLONE_SHARE * len(other)))
    for j, i in enumerate(o_order):
        rec = non_car_clone if j < k else _receptor(r)
        rows.append((other["barcode"].iloc[i], "NONCAR1" if j < k else "unique", rec))
    return pd.DataFrame([{"barcode": b, "clone": lab, **rec} for b, lab, rec in rows])


def tenx_csv(a: pd.DataFrame) -> str:
    cols = ["barcode", "is_cell", "contig_id", "high_confidence", "length", "chain", "v_gene",
            "d_gene", "j_gene", "c_gene", "full_length", "productive", "cdr3", "cdr3_nt", "reads",
            "umis", "raw_clonotype_id", "raw_consensus_id"]  # fmt: skip
    lines = [",".join(cols)]
    for x in a.itertuples(index=False):
        lines.append(f"{x.barcode},true,{x.barcode}_contig_1,true,520,TRA,{x.trav},None,TRAJ33,TRAC,"
                     f"true,true,{x.tra_aa},{x.tra_nt},1200,6,None,None")  # fmt: skip
        lines.append(f"{x.barcode},true,{x.barcode}_contig_2,true,540,TRB,{x.trbv},TRBD1,TRBJ2-7,TRBC2,"
                     f"true,true,{x.trb_aa},{x.trb_nt},2400,11,None,None")  # fmt: skip
    return "\n".join(lines) + "\n"


def airr_tsv(a: pd.DataFrame) -> str:
    cols = ["cell_id", "sequence_id", "locus", "productive", "v_call", "d_call", "j_call", "c_call",
            "junction", "junction_aa", "duplicate_count", "consensus_count", "sequence", "rev_comp",
            "sequence_alignment", "germline_alignment", "v_cigar", "d_cigar", "j_cigar"]  # fmt: skip
    lines = ["\t".join(cols)]
    for x in a.itertuples(index=False):
        for n, (locus, v, d, j, c, nt, aa) in enumerate((
            ("TRA", x.trav, "", "TRAJ33", "TRAC", x.tra_nt, x.tra_aa),
            ("TRB", x.trbv, "TRBD1", "TRBJ2-7", "TRBC2", x.trb_nt, x.trb_aa),
        ), 1):  # fmt: skip
            lines.append("\t".join([x.barcode, f"{x.barcode}_{n}", locus, "T", v, d, j, c, nt, aa,
                                    "8", "1500", "", "F", "", "", "", "", ""]))  # fmt: skip
    return "\n".join(lines) + "\n"


def generate(out: Path, seed: int) -> dict[str, str]:
    """Contig files of VDJ_SAMPLES; returns sample -> relative path."""
    r = rng(seed, STREAM)
    cells = pd.read_csv(out / "truth" / "cells.tsv", sep="\t")
    planted = {label: _receptor(r) for label in CAR_CLONES}
    non_car = _receptor(r)
    (out / "vdj").mkdir(exist_ok=True)
    paths, truth = {}, []
    for sample, fmt in VDJ_SAMPLES:
        a = assign(r, cells[cells["sample"] == sample], sample == PRODUCT, planted, non_car)
        rel = f"vdj/{sample}.{'csv' if fmt == '10x' else 'tsv'}"
        write_text(tenx_csv(a) if fmt == "10x" else airr_tsv(a), out / rel)
        paths[sample] = rel
        a.insert(0, "sample", sample)
        truth.append(a[["sample", "barcode", "clone", "tra_aa", "trb_aa"]])
    write_tsv(pd.concat(truth, ignore_index=True), out / "truth" / "vdj_clonotypes.tsv")
    return paths
