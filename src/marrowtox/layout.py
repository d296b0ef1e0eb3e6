"""The output-path layout: one module says where every stable result lives.

Rules, input functions (workflow/rules/common.smk), the report and the tests read the
paths from here; tests/test_layout.py checks that every pattern is a rule output, so a
path changed in one place and not the other fails a test instead of a user's script.
Patterns are relative to the working directory, with Snakemake-style wildcards.
"""

from __future__ import annotations

from pathlib import Path

from marrowtox.pseudonym import pseudonym

RESULTS = "results"

#: name -> path pattern (stable paths of design.md and the issues; users read them)
PATTERNS: dict[str, str] = {
    "qc": "results/singlecell/{sample}.qc.tsv",
    "qc_plot": "results/singlecell/plots/{sample}.qc.png",
    "doublets": "results/singlecell/{sample}.doublets.tsv",
    "singlets": "results/singlecell/doublets/{sample}.h5ad",
    "labels": "results/singlecell/labels/{sample}.tsv",
    "annotation": "results/singlecell/{sample}.annotation.tsv",
    "composition": "results/singlecell/{sample}.composition.tsv",
    "annotated": "results/singlecell/annotated/{sample}.h5ad",
    "h5ad": "results/singlecell/{sample}.h5ad",
    "cohort_h5ad": "results/singlecell/cohort.h5ad",
    "cohort_integration": "results/singlecell/integrate.tsv",
    "cohort_umap": "results/singlecell/plots/umap_celltypes.png",
    "reference_model": "results/singlecell/reference/model.pkl",
    "cart": "results/cart/{sample}.tsv",
    "cart_cells": "results/cart/{sample}.cells.tsv",
    "signatures": "results/signatures/{sample}.by_celltype.tsv",
    "vcf": "results/ch/{sample}.vcf.gz",
    "tbi": "results/ch/{sample}.vcf.gz.tbi",
    "calls": "results/ch/{sample}.calls.tsv",
    "lod": "results/ch/{sample}.lod.tsv",
    "clones": "results/ch/{patient}.clones.tsv",
    "ch_pon": "results/ch/pon.tsv.gz",
    "consensus_bam": "results/ch/consensus/{sample}.bam",
    "umi_qc": "results/ch/{sample}.umi_qc.tsv",
    "umi_families": "results/ch/{sample}.umi_families.tsv",
    "umi_extracted": "results/ch/umi/{sample}.extracted.fastq.gz",
    "umi_extract_stats": "results/ch/umi/{sample}.extract.tsv",
    "umi_aligned_bam": "results/ch/umi/{sample}.aligned.bam",
    "umi_align_stats": "results/ch/umi/{sample}.align.tsv",
    "genotypes": "results/singlecell/genotypes/{sample}.tsv",
    "h5mu": "results/singlecell/{sample}.h5mu",
    "protein_labels": "results/singlecell/protein/{sample}.labels.tsv",
    "protein_agreement": "results/singlecell/protein/{sample}.agreement.tsv",
    "protein_by_celltype": "results/singlecell/protein/{sample}.by_celltype.tsv",
    "genotype_sites": "results/singlecell/genotypes/{sample}.sites.tsv",
    "genotype_carriers": "results/singlecell/genotypes/{sample}.carriers.tsv",
    "clone_cells": "results/ch/{patient}.clone_cells.tsv",
    "ch_lineage": "results/ch/{patient}.lineage.tsv",
    "vdj_cells": "results/vdj/{sample}.cells.tsv",
    "vdj_expansion": "results/vdj/{sample}.expansion.tsv",
    "vdj_clonotypes": "results/vdj/{patient}.clonotypes.tsv",
    "scores": "results/clinical/{patient}.scores.tsv",
    "anc_grid": "results/clinical/{patient}.anc_grid.tsv",
    "biomarkers": "results/clinical/{patient}.biomarkers.tsv",
    "labs": "results/clinical/labs.normalised.tsv",
    "clinical_cohort": "results/clinical/cohort.tsv",
    "patients": "results/cohort/patients.tsv",
    "heatmap_scale": "results/cohort/heatmap_scale.tsv",
    "cohort_associations": "results/cohort/associations.tsv",
    "cohort_correlations": "results/cohort/correlations.tsv",
    "cohort_survival": "results/cohort/survival.tsv",
    "cohort_survival_curves": "results/cohort/survival_curves.tsv",
    "cohort_roc": "results/cohort/roc.tsv",
    "composition_da": "results/cohort/composition_da.tsv",
    "de_car": "results/cart/de_car_vs_noncar.tsv",
    "de_car_programs": "results/cart/programs_car_vs_noncar.tsv",
    "de_hspc": "results/singlecell/de_hspc_post_vs_baseline.tsv",
    "de_hspc_programs": "results/singlecell/programs_hspc_post_vs_baseline.tsv",
    "patient_report": "results/reports/{patient}.html",
    "cohort_report": "results/reports/cohort.html",
    "provenance": "results/provenance.json",
}


def report_stem(patient: str, patients: list[str], pseudonymise: bool) -> str:
    """Stem of a patient's report, results/reports/<stem>.html: the patient id, or with
    `report.pseudonymise` the pseudonym ("patient_001", the sorted patient list's
    position), so that the file name does not carry the id either."""
    if not pseudonymise:
        return str(patient)
    return pseudonym(str(patient), [str(p) for p in patients]).lower().replace(" ", "_")


def path(name: str, root: str | Path = RESULTS, **wildcards: str) -> Path:
    """One output's path under `root` (the results folder), wildcards filled in."""
    rel = PATTERNS[name].format(**wildcards)
    return Path(root) / Path(rel).relative_to(RESULTS)


class Results:
    """Paths of the stable outputs under a results folder (readers of the report)."""

    def __init__(self, root: str | Path = RESULTS) -> None:
        self.root = Path(root)

    def cart(self, s: str) -> Path:
        return path("cart", self.root, sample=s)

    def signatures(self, s: str) -> Path:
        return path("signatures", self.root, sample=s)

    def composition(self, s: str) -> Path:
        return path("composition", self.root, sample=s)

    def annotation(self, s: str) -> Path:
        return path("annotation", self.root, sample=s)

    def qc(self, s: str) -> Path:
        return path("qc", self.root, sample=s)

    def doublets(self, s: str) -> Path:
        return path("doublets", self.root, sample=s)

    def h5ad(self, s: str) -> Path:
        return path("h5ad", self.root, sample=s)

    def calls(self, s: str) -> Path:
        return path("calls", self.root, sample=s)

    def lod(self, s: str) -> Path:
        return path("lod", self.root, sample=s)

    def ch_lineage(self, p: str) -> Path:
        return path("ch_lineage", self.root, patient=p)

    def vdj_clonotypes(self, p: str) -> Path:
        return path("vdj_clonotypes", self.root, patient=p)

    def vdj_expansion(self, s: str) -> Path:
        return path("vdj_expansion", self.root, sample=s)

    def clones(self, p: str) -> Path:
        return path("clones", self.root, patient=p)

    def scores(self, p: str) -> Path:
        return path("scores", self.root, patient=p)

    def anc_grid(self, p: str) -> Path:
        return path("anc_grid", self.root, patient=p)

    def biomarkers(self, p: str) -> Path:
        return path("biomarkers", self.root, patient=p)

    @property
    def labs(self) -> Path:
        return path("labs", self.root)

    @property
    def patients(self) -> Path:
        return path("patients", self.root)

    @property
    def provenance(self) -> Path:
        return path("provenance", self.root)
