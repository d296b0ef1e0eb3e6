"""Demo bone-marrow scRNA-seq: negative-binomial counts with planted marrow biology.

Each sample is written as a Cell Ranger-style 10x HDF5 (one as .h5ad, to exercise
both readers). Planted, per patient (marrowtox.demo.cohort): CAR T fraction and
activation after infusion, marrow IFN response, HSPC depletion; everywhere: ambient
CAR counts, heterotypic doublets and low-quality cells. Truth goes to truth/, which
the workflow never reads.

Why simulated and not a public marrow data set: no public CAR T marrow data set is
small, openly licensed and carries the truths the tests need (CAR status per cell,
planted inflammation), and nothing may be downloaded at run time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import yaml
from scipy import sparse

from marrowtox.atomic import atomic_path, write_tsv
from marrowtox.demo import adt
from marrowtox.demo.cohort import COHORT, TIMEPOINT_DAYS, PatientPlan, rng, sample_id

RESOURCES = Path(__file__).resolve().parents[3] / "resources"

#: Canonical marrow markers planted per cell type (HCA bone-marrow atlas markers;
#: Hay et al., Exp Hematol 2018; Triana et al., Nat Immunol 2021).
MARKERS: dict[str, list[str]] = {
    "HSC/MPP": ["CD34", "CRHBP", "AVP", "HLF", "PROM1", "MLLT3", "SPINK2", "HOPX"],
    "GMP/neutrophil": ["MPO", "ELANE", "AZU1", "PRTN3", "CEBPE", "CTSG", "MS4A3", "LTF", "CAMP"],
    "erythroid": ["HBB", "HBA1", "HBA2", "GATA1", "KLF1", "CA1", "AHSP", "ALAS2", "GYPA"],
    "megakaryocyte/MEP": ["PF4", "PPBP", "ITGA2B", "GP9", "GATA2", "GP1BA", "VWF", "TUBB1"],
    "monocyte": ["CD14", "LYZ", "S100A8", "S100A9", "FCN1", "CSF1R", "VCAN", "CTSS"],
    "DC": ["FCER1A", "CLEC10A", "CD1C", "HLA-DQA1", "CLEC9A", "LILRA4", "IRF8"],
    "pre-B/B": ["CD79A", "CD79B", "MS4A1", "CD19", "PAX5", "VPREB1", "IGLL1", "DNTT"],
    "plasma": ["JCHAIN", "MZB1", "SDC1", "IGHG1", "XBP1", "TNFRSF17", "IGKC"],
    "CD4 T": ["CD3D", "CD3E", "CD4", "IL7R", "CCR7", "LEF1", "TCF7", "CD28"],
    "CD8 T": ["CD3D", "CD3E", "CD8A", "CD8B", "GZMK", "CD2", "CD28"],
    "NK": ["NKG7", "GNLY", "KLRD1", "NCAM1", "KLRF1", "PRF1", "FCGR3A"],
}
CELL_TYPES = list(MARKERS)
BASELINE_COMPOSITION = {
    "HSC/MPP": 0.05, "GMP/neutrophil": 0.24, "erythroid": 0.17, "megakaryocyte/MEP": 0.04,
    "monocyte": 0.12, "DC": 0.03, "pre-B/B": 0.08, "plasma": 0.02,
    "CD4 T": 0.10, "CD8 T": 0.09, "NK": 0.06,
}
MT_GENES = [
    "MT-ND1", "MT-ND2", "MT-CO1", "MT-CO2", "MT-ATP8", "MT-ATP6", "MT-CO3",
    "MT-ND3", "MT-ND4L", "MT-ND4", "MT-ND5", "MT-ND6", "MT-CYB",
]
HOUSEKEEPING = ["ACTB", "GAPDH", "B2M", "MALAT1", "TMSB4X", "EEF1A1", "FTL", "FTH1", "PTPRC"]
RIBOSOMAL = [f"RPL{i}" for i in (3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 18, 19, 21, 23, 24, 26, 27, 28, 29, 30, 31, 32, 34, 35, 36, 37, 38, 39, 41)] + [
    f"RPS{i}" for i in (2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 23, 24, 25, 26, 27, 28, 29)
]
#: Program planted in CAR T cells, scaled by the patient's car_activation.
CART_PROGRAM = [
    "GZMA", "GZMB", "GZMH", "PRF1", "GNLY", "NKG7", "IFNG", "CD69", "IL2RA", "TNFRSF9",
    "HLA-DRA", "ICOS", "MKI67", "TOP2A", "PDCD1", "HAVCR2", "LAG3", "TIGIT", "TNF", "CCL3", "CCL4",
]
CAR_T_BASE = ["GZMA", "GZMB", "PRF1", "NKG7", "HLA-DRA", "CD69", "TNFRSF9", "MKI67"]
#: The program CAR T cells carry in the marrow (seed study: an activated, IFN-gamma-driven
#: inflammatory program): their IFN genes are raised with car_activation, so CAR T vs
#: non-CAR T pseudobulk ranks this gene set first (truth/cart_de_genes.tsv lists the genes).
CART_PLANTED_PROGRAM = "HALLMARK_INTERFERON_GAMMA_RESPONSE"
#: CAR T cells are CD8 and CD4 in the marrow's own T-cell ratio, so that CAR T vs non-CAR T
#: differences are the planted program and not a CD8/CD4 mix (which would be real but not
#: planted: its marker and lineage genes would count as false discoveries).
CAR_T_CD8_SHARE = BASELINE_COMPOSITION["CD8 T"] / (BASELINE_COMPOSITION["CD8 T"] + BASELINE_COMPOSITION["CD4 T"])
N_FILLER = 1000
CELLS_PER_SAMPLE = 2000
DOUBLET_RATE = 0.05
LOW_QUALITY_RATE = 0.04
NB_DISPERSION = 0.25


def read_gmt(path: Path) -> dict[str, list[str]]:
    out = {}
    for line in path.read_text().splitlines():
        parts = [p for p in line.split("\t") if p]
        out[parts[0]] = parts[2:]
    return out


def car_feature(construct: str) -> str:
    with open(RESOURCES / "car_constructs.yaml") as fh:
        return yaml.safe_load(fh)["constructs"][construct]["features"][0]


@dataclass(frozen=True)
class GeneModel:
    genes: list[str]
    base_log: np.ndarray  # genes
    type_log: dict[str, np.ndarray]  # per-type log expression
    ifn_idx: np.ndarray
    cart_idx: np.ndarray
    cart_base_idx: np.ndarray
    mt_idx: np.ndarray


def gene_model(r: np.random.Generator) -> GeneModel:
    hallmark = read_gmt(RESOURCES / "genesets" / "hallmark_inflammation.v7.5.1.gmt")
    programs = read_gmt(RESOURCES / "genesets" / "tcell_programs.gmt")
    real: list[str] = []
    for group in (
        HOUSEKEEPING, RIBOSOMAL, *MARKERS.values(), CART_PROGRAM,
        *programs.values(), *hallmark.values(),
    ):
        real.extend(g for g in group if g not in real)
    filler = [f"SYNTH{i:04d}" for i in range(1, N_FILLER + 1)]
    genes = real + filler + MT_GENES
    idx = {g: i for i, g in enumerate(genes)}
    n = len(genes)
    base = r.normal(-1.0, 1.2, n)
    base[[idx[g] for g in filler]] = r.normal(-2.5, 1.3, len(filler))
    base[[idx[g] for g in RIBOSOMAL]] = r.normal(2.5, 0.4, len(RIBOSOMAL))
    base[[idx[g] for g in HOUSEKEEPING]] = r.normal(3.0, 0.5, len(HOUSEKEEPING))
    marker_set = {g for m in MARKERS.values() for g in m} | set(CART_PROGRAM)
    base[[idx[g] for g in marker_set]] = -3.5
    base[[idx[g] for g in MT_GENES]] = 1.8
    type_log = {}
    for t in CELL_TYPES:
        v = base.copy()
        # a type-specific perturbation of 8% of genes gives each type a broader identity
        pick = r.choice(n - len(MT_GENES), size=int(0.08 * n), replace=False)
        v[pick] += r.normal(0.0, 0.8, pick.size)
        v[[idx[g] for g in MARKERS[t]]] = r.normal(2.2, 0.4, len(MARKERS[t]))
        type_log[t] = v
    # shared T/NK programs: cytotoxic genes moderately in CD8 T and NK
    for t in ("CD8 T", "NK"):
        type_log[t][[idx[g] for g in ("GZMA", "GZMH", "NKG7", "CCL5")]] = 0.8
    all_ifn = sorted({idx[g] for k in ("HALLMARK_INTERFERON_GAMMA_RESPONSE", "HALLMARK_INTERFERON_ALPHA_RESPONSE") for g in hallmark[k]})
    return GeneModel(
        genes=genes,
        base_log=base,
        type_log=type_log,
        ifn_idx=np.array(all_ifn),
        cart_idx=np.array([idx[g] for g in CART_PROGRAM]),
        cart_base_idx=np.array([idx[g] for g in CAR_T_BASE]),
        mt_idx=np.array([idx[g] for g in MT_GENES]),
    )


def cart_de_truth(model: GeneModel) -> pd.DataFrame:
    """Genes planted higher in CAR T than in non-CAR T cells of the same marrow: the
    CAR T program (CART_PROGRAM, CAR_T_BASE) and the IFN genes raised with activation."""
    genes = np.array(model.genes)
    program = set(genes[model.cart_idx]) | set(genes[model.cart_base_idx])
    ifn = set(genes[model.ifn_idx]) - program
    rows = [(g, "cart_program") for g in sorted(program)] + [(g, "cart_ifn") for g in sorted(ifn)]
    return pd.DataFrame(rows, columns=["gene", "planted"]).assign(program=CART_PLANTED_PROGRAM)


def composition(plan: PatientPlan, tp: str) -> tuple[dict[str, float], float]:
    """Cell-type fractions and CAR T fraction (of all cells) for one marrow."""
    comp = dict(BASELINE_COMPOSITION)
    car = 0.0
    if tp != "BL":
        strength = 1.0 if tp == "D28" else 0.5
        comp["HSC/MPP"] *= 1.0 - plan.hspc_depletion * strength
        comp["megakaryocyte/MEP"] *= 1.0 - 0.5 * plan.hspc_depletion * strength
        car = plan.car_t_pct / 100.0 * (1.0 if tp == "D28" else 1.0 / 3.0)
    total = sum(comp.values())
    comp = {k: v / total * (1.0 - car) for k, v in comp.items()}
    return comp, car


def simulate_sample(
    r: np.random.Generator, model: GeneModel, plan: PatientPlan, tp: str, batch_shift: np.ndarray,
    n: int = CELLS_PER_SAMPLE, planted: tuple[dict[str, float], float] | None = None,
) -> tuple[sparse.csr_matrix, pd.DataFrame]:
    """Counts (cells x genes, last column = CAR feature) and per-cell truth; `planted`:
    (cell-type fractions, CAR T fraction) instead of the marrow's (a product or a sort)."""
    comp, car_frac = planted if planted is not None else composition(plan, tp)
    types = np.array(list(comp))
    probs = np.array([comp[t] for t in types])
    n_car = int(round(car_frac * n))
    labels = list(r.choice(types, size=n - n_car, p=probs / probs.sum()))
    car_types = list(r.choice(["CD8 T", "CD4 T"], size=n_car, p=[CAR_T_CD8_SHARE, 1.0 - CAR_T_CD8_SHARE]))
    labels = np.array(labels + car_types)
    is_car = np.zeros(n, bool)
    is_car[n - n_car :] = True
    order = r.permutation(n)
    labels, is_car = labels[order], is_car[order]

    inflammation = plan.inflammation * (1.0 if tp == "D28" else 0.4) if tp != "BL" else 0.0
    activation = plan.car_activation * (1.0 if tp == "D28" else 0.6)
    logm = np.stack([model.type_log[t] for t in labels]) + batch_shift
    myeloid_hspc = np.isin(labels, ["HSC/MPP", "GMP/neutrophil", "monocyte", "DC", "megakaryocyte/MEP"])
    ifn_gain = np.where(myeloid_hspc, 2.2, 1.0) * inflammation
    logm[:, model.ifn_idx] += ifn_gain[:, None] * r.uniform(0.6, 1.4, model.ifn_idx.size)[None, :]
    logm[np.ix_(is_car, model.cart_base_idx)] += 1.0
    logm[np.ix_(is_car, model.cart_idx)] += 1.8 * activation
    if is_car.any():
        logm[np.ix_(is_car, model.ifn_idx)] += 1.0 * activation

    lib = np.exp(r.normal(np.log(2200), 0.3, n))
    # Doublets: two cells of different types pooled in one droplet.
    n_dbl = int(round(DOUBLET_RATE * n))
    dbl = np.zeros(n, bool)
    dbl[r.choice(np.flatnonzero(~is_car), size=n_dbl, replace=False)] = True
    partner_logm = np.empty((n_dbl, logm.shape[1]))
    for k, i in enumerate(np.flatnonzero(dbl)):
        other = r.choice([t for t in CELL_TYPES if t != labels[i]])
        partner_logm[k] = model.type_log[other] + batch_shift
    # Low-quality cells: few genes, high mitochondrial fraction (broken cells).
    lowq = np.zeros(n, bool)
    lowq[r.choice(np.flatnonzero(~dbl & ~is_car), size=int(round(LOW_QUALITY_RATE * n)), replace=False)] = True
    lib[lowq] = np.exp(r.normal(np.log(250), 0.3, lowq.sum()))

    def probs_of(lm: np.ndarray, mt_share: np.ndarray) -> np.ndarray:
        p = np.exp(lm - lm.max(axis=1, keepdims=True))
        p[:, model.mt_idx] = 0.0
        p /= p.sum(axis=1, keepdims=True)
        mt = np.exp(model.base_log[model.mt_idx])
        p *= (1.0 - mt_share)[:, None]
        p[:, model.mt_idx] = mt_share[:, None] * (mt / mt.sum())[None, :]
        return p

    # healthy cells: 2-8% mitochondrial reads (a tight, realistic range for marrow)
    mt_share = r.uniform(0.02, 0.08, n)
    mt_share[lowq] = r.uniform(0.3, 0.6, lowq.sum())
    mu = probs_of(logm, mt_share) * lib[:, None]
    if n_dbl:
        mu_p = probs_of(partner_logm, mt_share[dbl]) * lib[dbl][:, None] * r.uniform(0.7, 1.2, n_dbl)[:, None]
        mu[dbl] += mu_p
    shape = 1.0 / NB_DISPERSION
    counts = r.poisson(r.gamma(shape, mu / shape)).astype(np.int32)

    # CAR transgene feature: real expression in CAR T cells, ambient counts elsewhere.
    car = np.zeros(n, np.int32)
    # CAR transgenes run from strong viral/EF1a promoters: high, variable expression
    car[is_car] = r.poisson(r.gamma(4.0, 4.0, is_car.sum()))
    ambient = np.zeros(n, bool)
    if tp != "BL":
        rate = min(0.25, 0.01 + 2.0 * car_frac)
        ambient = (~is_car) & (r.random(n) < rate)
        car[ambient] = 1 + (r.random(ambient.sum()) < 0.1)
    mat = sparse.csr_matrix(np.hstack([counts, car[:, None]]))
    truth = pd.DataFrame(
        {"cell_type": labels, "car_t": is_car, "ambient_car": ambient, "doublet": dbl, "low_quality": lowq}
    )
    return mat, truth


def barcodes(r: np.random.Generator, n: int) -> list[str]:
    seen: set[str] = set()
    out = []
    alphabet = np.array(list("ACGT"))
    while len(out) < n:
        bc = "".join(alphabet[r.integers(0, 4, 16)]) + "-1"
        if bc not in seen:
            seen.add(bc)
            out.append(bc)
    return out


def write_10x_h5(
    path: Path, mat: sparse.csr_matrix, genes: list[str], gene_ids: list[str], bcs: list[str],
    antibodies: tuple[np.ndarray, list[str]] | None = None,
) -> None:
    """Cell Ranger v3 HDF5 layout (matrix group, CSC genes x cells == CSR cells x genes).

    `antibodies`: (cells x ADT counts, feature names) appended as "Antibody Capture"
    features, as Cell Ranger writes a CITE-seq run."""
    kw = {"compression": "gzip", "compression_opts": 9, "shuffle": True, "track_times": False}
    types = [b"Gene Expression"] * len(genes)
    if antibodies is not None:
        counts, names = antibodies
        mat = sparse.csr_matrix(sparse.hstack([mat, sparse.csr_matrix(counts)]))
        types += [b"Antibody Capture"] * len(names)
        genes, gene_ids = genes + list(names), gene_ids + list(names)
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w", track_order=False) as f:
            g = f.create_group("matrix", track_order=False)
            g.create_dataset("barcodes", data=np.array(bcs, dtype="S"), **kw)
            g.create_dataset("data", data=mat.data.astype(np.int32), **kw)
            g.create_dataset("indices", data=mat.indices.astype(np.int32), **kw)
            g.create_dataset("indptr", data=mat.indptr.astype(np.int64), track_times=False)
            g.create_dataset("shape", data=np.array([mat.shape[1], mat.shape[0]], np.int32), track_times=False)
            ft = g.create_group("features", track_order=False)
            ft.create_dataset("_all_tag_keys", data=np.array([b"genome"]), track_times=False)
            ft.create_dataset("feature_type", data=np.array(types), **kw)
            ft.create_dataset("genome", data=np.array([b"GRCh38"] * len(genes)), **kw)
            ft.create_dataset("id", data=np.array(gene_ids, dtype="S"), **kw)
            ft.create_dataset("name", data=np.array(genes, dtype="S"), **kw)


def write_raw_matrix(
    path: Path, r: np.random.Generator, mat: sparse.csr_matrix, genes: list[str],
    gene_ids: list[str], bcs: list[str], antibodies: tuple[np.ndarray, list[str]],
    ambient: np.ndarray,
) -> None:
    """The run's raw (unfiltered) matrix, as Cell Ranger's raw_feature_bc_matrix.h5: the
    cells plus adt.N_EMPTY empty droplets (no RNA, ambient antibody only)."""
    counts, names = antibodies
    taken = set(bcs)
    empty_bcs = [b for b in barcodes(r, adt.N_EMPTY + 50) if b not in taken][: adt.N_EMPTY]
    empty = adt.simulate_empty(r, len(empty_bcs), ambient)
    rna = sparse.vstack([mat, sparse.csr_matrix((len(empty_bcs), mat.shape[1]), dtype=mat.dtype)])
    write_10x_h5(path, sparse.csr_matrix(rna), genes, gene_ids, bcs + empty_bcs,
                 (np.vstack([counts, empty]), names))  # fmt: skip


def write_h5ad(path: Path, mat: sparse.csr_matrix, genes: list[str], gene_ids: list[str], bcs: list[str]) -> None:
    import anndata as ad

    adata = ad.AnnData(
        X=mat.astype(np.float32),
        obs=pd.DataFrame(index=pd.Index(bcs, name="barcode")),
        var=pd.DataFrame({"gene_ids": gene_ids}, index=pd.Index(genes, name="gene")),
    )
    adata.layers["counts"] = mat.copy()
    with atomic_path(path) as tmp:
        adata.write_h5ad(tmp, compression="gzip")


@dataclass(frozen=True)
class ExtraSample:
    """A non-marrow or sorted scRNA sample (issue 28): the infused product, and a CD3+CAR+
    sort of day-28 marrow, which must never read as a marrow with 85% CAR T cells."""

    patient: str
    timepoint: str  # label; its activation/inflammation follow `like`
    like: str  # marrow timepoint whose CAR T activation the cells carry
    day: int
    specimen: str
    fraction: str  # samples.tsv fraction ("" = the whole specimen)
    n_cells: int
    composition: dict[str, float]  # cell-type fractions of the non-CAR cells
    car_fraction: float


EXTRA_SAMPLES: tuple[ExtraSample, ...] = (
    ExtraSample("P05", "PROD", "D90", 0, "product", "", 400,
                {"CD4 T": 0.55, "CD8 T": 0.40, "NK": 0.03, "monocyte": 0.02}, 0.40),
    ExtraSample("P05", "D28sort", "D28", 28, "marrow", "CD3+CAR+", 400,
                {"CD4 T": 0.45, "CD8 T": 0.45, "NK": 0.05, "monocyte": 0.05}, 0.85),
)
#: Random stream of the extra samples: the marrow samples' counts are unchanged.
EXTRA_STREAM = 21


def extra_sample_id(e: ExtraSample) -> str:
    return f"{e.patient}_{e.timepoint}_sc"


#: Samples written as .h5ad instead of 10x HDF5, to exercise both readers.
H5AD_SAMPLES = {("P02", "D28")}


def generate(out: Path, seed: int) -> list[dict]:
    r = rng(seed, 0)
    r_adt = rng(seed, adt.STREAM)  # proteins: their own stream, RNA counts unchanged
    r_empty = rng(seed, adt.EMPTY_STREAM)  # empty droplets of the raw matrices
    ambient_adt = adt.ambient_profile(r_adt)
    model = gene_model(r)
    gene_ids = [f"ENSGDEMO{i:08d}" for i in range(len(model.genes))]
    batches = sorted({p.batch for p in COHORT})
    shifts = {b: r.normal(0.0, 0.25, len(model.genes)) for b in batches}
    rows, truth_cells, truth_samples = [], [], []
    (out / "scrna").mkdir(parents=True, exist_ok=True)
    for plan in COHORT:
        feature = car_feature(plan.car_construct)
        for tp in plan.timepoints:
            sid = sample_id(plan.patient, tp, "scrna")
            mat, truth = simulate_sample(r, model, plan, tp, shifts[plan.batch])
            bcs = barcodes(r, mat.shape[0])
            genes = model.genes + [feature]
            ids = gene_ids + [feature]
            raw_rel = ""
            if (plan.patient, tp) in H5AD_SAMPLES:
                rel = f"scrna/{sid}.h5ad"
                write_h5ad(out / rel, mat, genes, ids, bcs)
            else:
                rel = f"scrna/{sid}.h5"
                antibodies = None
                if adt.PATIENTS.get(plan.patient) == "10x":
                    activation = plan.car_activation * (1.0 if tp == "D28" else 0.6)
                    counts = adt.simulate_adt(r_adt, truth, activation, ambient_adt)
                    antibodies = (counts, [adt.feature_name(p) for p in adt.PROTEINS])
                write_10x_h5(out / rel, mat, genes, ids, bcs, antibodies)
                if antibodies is not None and plan.patient in adt.RAW_MATRIX_PATIENTS:
                    raw_rel = f"scrna/{sid}.raw.h5"
                    write_raw_matrix(out / raw_rel, r_empty, mat, genes, ids, bcs, antibodies,
                                     ambient_adt)  # fmt: skip
            truth.insert(0, "barcode", bcs)
            truth.insert(0, "sample", sid)
            truth_cells.append(truth)
            clean = ~truth["doublet"] & ~truth["low_quality"]
            truth_samples.append({
                "sample": sid, "patient": plan.patient, "timepoint": tp, "day": TIMEPOINT_DAYS[tp],
                "n_cells": len(truth), "n_car_t": int(truth["car_t"].sum()),
                "car_t_pct": round(100.0 * truth.loc[clean, "car_t"].mean(), 4),
                "inflammation": plan.inflammation * (1.0 if tp == "D28" else 0.4) if tp != "BL" else 0.0,
                "hspc_fraction": round(float((truth.loc[clean, "cell_type"] == "HSC/MPP").mean()), 5),
                "car_feature": feature,
            })
            rows.append({
                "patient": plan.patient, "sample": sid, "assay": "scrna", "timepoint": tp,
                "day": TIMEPOINT_DAYS[tp], "path": rel, "batch": plan.batch, "normal": "",
                "chemistry": "SC5P" if plan.batch != "b2" else "SC3Pv3",
                "car_construct": plan.car_construct, "raw_matrix": raw_rel,
            })
    extra_rows, extra_cells = _extra_samples(out, seed, model, gene_ids, shifts)
    (out / "truth").mkdir(exist_ok=True)
    # cells.tsv: every sample's cells; scrna_samples.tsv: the marrow samples' planted values
    write_tsv(pd.concat(truth_cells + extra_cells, ignore_index=True), out / "truth" / "cells.tsv")
    write_tsv(pd.DataFrame(truth_samples), out / "truth" / "scrna_samples.tsv")
    write_tsv(cart_de_truth(model), out / "truth" / "cart_de_genes.tsv")
    return rows + extra_rows


def _extra_samples(
    out: Path, seed: int, model: GeneModel, gene_ids: list[str], shifts: dict[str, np.ndarray]
) -> tuple[list[dict], list[pd.DataFrame]]:
    """EXTRA_SAMPLES: their sample-sheet rows and per-cell truth (scrna_samples.tsv stays
    the marrow samples' planted values)."""
    r = rng(seed, EXTRA_STREAM)
    plans = {p.patient: p for p in COHORT}
    rows, truth_cells = [], []
    for e in EXTRA_SAMPLES:
        plan = plans[e.patient]
        sid = extra_sample_id(e)
        total = sum(e.composition.values())
        comp = {k: v / total * (1.0 - e.car_fraction) for k, v in e.composition.items()}
        mat, truth = simulate_sample(r, model, plan, e.like, shifts[plan.batch], e.n_cells,
                                     (comp, e.car_fraction))  # fmt: skip
        bcs = barcodes(r, mat.shape[0])
        feature = car_feature(plan.car_construct)
        rel = f"scrna/{sid}.h5"
        write_10x_h5(out / rel, mat, model.genes + [feature], gene_ids + [feature], bcs)
        truth.insert(0, "barcode", bcs)
        truth.insert(0, "sample", sid)
        truth_cells.append(truth)
        rows.append({
            "patient": plan.patient, "sample": sid, "assay": "scrna", "timepoint": e.timepoint,
            "day": e.day, "path": rel, "batch": plan.batch, "normal": "",
            "chemistry": "SC5P" if plan.batch != "b2" else "SC3Pv3",
            "car_construct": plan.car_construct, "raw_matrix": "", "specimen": e.specimen,
            "fraction": e.fraction,
        })
    return rows, truth_cells
