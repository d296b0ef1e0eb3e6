# Snakemake's own cost for marrowtox's jobs *and files* (bench/dag.py --floor): the same
# jobs as the workflow on bench/dag.py's cohort (per patient 3 sc_process, 3 cart_call,
# one CH call, one report; per 50 patients a clinical part and a cohort-table part; the
# cohort jobs), each reading and writing as many files as the marrowtox rule of that
# name (counted on `snakemake -n` of a 5-patient cohort), with do-nothing rules that
# carry the directives every marrowtox rule has. bench/dag_floor/Snakefile has the jobs
# with one file each: between the two is what Snakemake spends on files, between this
# one and marrowtox what marrowtox's own code costs (input functions, tables, parse).
#
# Differences kept on purpose: the CH call is one wildcard rule here (marrowtox defines a
# rule per patient, whose parse this leaves out), and the input functions are lambdas.
N = int(config["patients"])
PART = 50  # report.table_part_patients (its default)
PATIENTS = [f"P{i:04d}" for i in range(1, N + 1)]
PARTS = {f"part{k // PART + 1:04d}": PATIENTS[k : k + PART] for k in range(0, N, PART)}
TPS = ["BL", "D28", "D90"]
SC = [f"{p}_{t}_sc" for p in PATIENTS for t in TPS]
SHARED = [f"res/shared{i}.txt" for i in range(1, 18)]  # touched by bench/dag.py


wildcard_constraints:
    sample=r"P\d{4}_[A-Z0-9]+_sc",
    patient=r"P\d{4}",
    part=r"part\d{4}",


def sc_files(p):
    """The per-sample files a patient report reads (6 a sample, as report_patient)."""
    return [
        f
        for t in TPS
        for f in (
            f"results/singlecell/{p}_{t}_sc.qc.tsv",
            f"results/singlecell/{p}_{t}_sc.doublets.tsv",
            f"results/singlecell/{p}_{t}_sc.composition.tsv",
            f"results/cart/{p}_{t}_sc.tsv",
            f"results/signatures/{p}_{t}_sc.by_celltype.tsv",
            f"results/singlecell/{p}_{t}_sc.h5ad",
        )
    ]


def ch_files(p):
    calls = [f"results/ch/{p}_{t}_dna.{k}.tsv" for t in TPS for k in ("calls", "lod")]
    return calls + [f"results/ch/{p}.clones.tsv"]


def row_files(p):
    """What a cohort-table part reads of one patient (17, as COHORT_ROW_KINDS)."""
    sc = [
        f for f in sc_files(p) if not f.endswith((".qc.tsv", ".doublets.tsv", ".h5ad"))
    ]
    return sc + ch_files(p) + [f"results/clinical/{p}.scores.tsv"]


rule all:
    input:
        "results/provenance.json",
        "results/singlecell/cohort.h5ad",
        "results/cohort/associations.tsv",
        "results/cohort/composition_da.tsv",
        "results/cart/de_car_vs_noncar.tsv",
        "results/singlecell/de_hspc_post_vs_baseline.tsv",
        "results/cohort/patients.tsv",
        "results/reports/cohort.html",
        expand("results/reports/{patient}.html", patient=PATIENTS),


rule sc_process:
    input:
        raw=lambda wc: f"scrna/{wc.sample}.h5",
        shared=SHARED[:4],
    output:
        "results/singlecell/{sample}.qc.tsv",
        "results/singlecell/plots/{sample}.qc.png",
        "results/singlecell/{sample}.doublets.tsv",
        "results/singlecell/doublets/{sample}.h5ad",
        "results/singlecell/labels/{sample}.tsv",
        "results/singlecell/{sample}.annotation.tsv",
        "results/singlecell/annotated/{sample}.h5ad",
        "results/singlecell/{sample}.composition.tsv",
    log:
        "logs/sc_process/{sample}.log",
    benchmark:
        "benchmarks/sc_process/{sample}.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc, input, attempt: 1000 * attempt,
        runtime=lambda wc, input: 10,
    params:
        meta=lambda wc: {"sample": wc.sample},
        settings=config,
    script:
        "job.py"


rule cart_call:
    input:
        baselines=lambda wc: (
            []
            if wc.sample.endswith("_BL_sc")
            else [f"results/singlecell/{wc.sample.split('_')[0]}_BL_sc.h5ad"]
        ),
        h5ad="results/singlecell/annotated/{sample}.h5ad",
        shared=SHARED[4:7],
    output:
        "results/singlecell/{sample}.h5ad",
        "results/cart/{sample}.tsv",
        "results/cart/{sample}.cells.tsv",
        "results/signatures/{sample}.by_celltype.tsv",
    log:
        "logs/cart_call/{sample}.log",
    benchmark:
        "benchmarks/cart_call/{sample}.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc, input, attempt: 1000 * attempt,
        runtime=lambda wc, input: 10,
    params:
        sample=lambda wc: {"sample": wc.sample},
        settings=config,
    script:
        "job.py"


rule ch_call:
    input:
        bams=lambda wc: [f"dna/{wc.patient}_{t}_dna.bam" for t in TPS],
        shared=SHARED[7:12],
    output:
        *[
            f"results/ch/{{patient}}_{t}_dna.{k}"
            for k in ("vcf.gz", "vcf.gz.tbi")
            for t in TPS
        ],
        *[
            f"results/ch/{{patient}}_{t}_dna.{k}.tsv"
            for k in ("calls", "lod")
            for t in TPS
        ],
        "results/ch/{patient}.clones.tsv",
    log:
        "logs/ch_call/{patient}.log",
    benchmark:
        "benchmarks/ch_call/{patient}.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc, input, attempt: 1000 * attempt,
        runtime=lambda wc, input: 10,
    params:
        patient=lambda wc: wc.patient,
        settings=config,
    script:
        "job.py"


for _part, _patients in PARTS.items():

    rule:
        name:
            f"clinical_scores_{_part}"
        input:
            "labs.tsv",
            "events.tsv",
            "samples.tsv",
            SHARED[12],  # the biomarker panel
        output:
            *[
                f"results/clinical/{p}.{k}.tsv"
                for k in ("scores", "anc_grid", "biomarkers")
                for p in _patients
            ],
        log:
            f"logs/clinical_scores/{_part}.log",
        benchmark:
            f"benchmarks/clinical_scores/{_part}.tsv"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=10,
        params:
            patients=_patients,
        script:
            "job.py"


rule clinical_scores:
    input:
        "labs.tsv",
        "events.tsv",
        "samples.tsv",
        SHARED[12],
    output:
        "results/clinical/cohort.tsv",
        "results/clinical/labs.normalised.tsv",
    log:
        "logs/clinical_scores/cohort.log",
    benchmark:
        "benchmarks/clinical_scores/cohort.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "job.py"


rule cohort_stats:
    input:
        "labs.tsv",
        "events.tsv",
        "results/clinical/cohort.tsv",
        SHARED[12],
    output:
        "results/cohort/associations.tsv",
        "results/cohort/correlations.tsv",
        "results/cohort/survival.tsv",
        "results/cohort/survival_curves.tsv",
        "results/cohort/roc.tsv",
    log:
        "logs/cohort_stats/cohort.log",
    benchmark:
        "benchmarks/cohort_stats/cohort.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "job.py"


rule provenance:
    input:
        SHARED,
    output:
        "results/provenance.json",
    log:
        "logs/provenance/provenance.log",
    benchmark:
        "benchmarks/provenance/provenance.tsv"
    threads: 1
    resources:
        mem_mb=100,
        runtime=10,
    script:
        "job.py"


rule sc_integrate:
    input:
        h5ad=expand("results/singlecell/doublets/{sample}.h5ad", sample=SC),
        labels=expand("results/singlecell/labels/{sample}.tsv", sample=SC),
    output:
        "results/singlecell/cohort.h5ad",
        "results/singlecell/integrate.tsv",
        "results/singlecell/plots/umap_celltypes.png",
    log:
        "logs/sc_integrate/cohort.log",
    benchmark:
        "benchmarks/sc_integrate/cohort.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc, input, attempt: 1000 * attempt,
        runtime=lambda wc, input: 10,
    script:
        "job.py"


rule composition_da:
    input:
        expand("results/singlecell/{sample}.composition.tsv", sample=SC),
        "samples.tsv",
        "results/clinical/cohort.tsv",
    output:
        "results/cohort/composition_da.tsv",
    log:
        "logs/composition_da/cohort.log",
    benchmark:
        "benchmarks/composition_da/cohort.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "job.py"


rule hspc_de:
    input:
        expand("results/singlecell/{sample}.h5ad", sample=SC),
        "samples.tsv",
        SHARED[5:7],
    output:
        "results/singlecell/de_hspc_post_vs_baseline.tsv",
        "results/singlecell/programs_hspc_post_vs_baseline.tsv",
    log:
        "logs/hspc_de/cohort.log",
    benchmark:
        "benchmarks/hspc_de/cohort.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "job.py"


rule cart_de:
    input:
        [f"results/singlecell/{s}.h5ad" for s in SC if not s.endswith("_BL_sc")],
        SHARED[5:7],
    output:
        "results/cart/de_car_vs_noncar.tsv",
        "results/cart/programs_car_vs_noncar.tsv",
    log:
        "logs/cart_de/cohort.log",
    benchmark:
        "benchmarks/cart_de/cohort.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "job.py"


ruleorder: cart_de > cart_call


rule report_cohort_part:
    input:
        lambda wc: [f for p in PARTS[wc.part] for f in row_files(p)],
        "samples.tsv",
    output:
        "results/cohort/parts/{part}.tsv",
        "results/cohort/parts/{part}.scale.tsv",
    log:
        "logs/report_cohort_part/{part}.log",
    benchmark:
        "benchmarks/report_cohort_part/{part}.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        patients=lambda wc: PARTS[wc.part],
    script:
        "job.py"


rule report_cohort_table:
    input:
        expand("results/cohort/parts/{part}.tsv", part=list(PARTS)),
        expand("results/cohort/parts/{part}.scale.tsv", part=list(PARTS)),
    output:
        "results/cohort/patients.tsv",
        "results/cohort/heatmap_scale.tsv",
    log:
        "logs/report_cohort_table/cohort.log",
    benchmark:
        "benchmarks/report_cohort_table/cohort.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "job.py"


rule report_patient:
    input:
        lambda wc: sc_files(wc.patient) + ch_files(wc.patient),
        scores="results/clinical/{patient}.scores.tsv",
        grid="results/clinical/{patient}.anc_grid.tsv",
        labs="results/clinical/labs.normalised.tsv",
        table="results/cohort/patients.tsv",
        scale="results/cohort/heatmap_scale.tsv",
        provenance="results/provenance.json",
        samples="samples.tsv",
    output:
        "results/reports/{patient}.html",
    log:
        "logs/report_patient/{patient}.log",
    benchmark:
        "benchmarks/report_patient/{patient}.tsv"
    threads: 1
    resources:
        mem_mb=lambda wc, input, attempt: 1000 * attempt,
        runtime=lambda wc, input: 10,
    params:
        patient=lambda wc: wc.patient,
        settings=config,
    script:
        "job.py"


rule report_cohort:
    input:
        expand("results/ch/{patient}.clones.tsv", patient=PATIENTS),
        "results/cohort/composition_da.tsv",
        "results/cart/de_car_vs_noncar.tsv",
        "results/cart/programs_car_vs_noncar.tsv",
        "results/singlecell/de_hspc_post_vs_baseline.tsv",
        "results/singlecell/programs_hspc_post_vs_baseline.tsv",
        "results/cohort/patients.tsv",
        "results/provenance.json",
        "samples.tsv",
        "results/singlecell/integrate.tsv",
        "results/singlecell/plots/umap_celltypes.png",
        "results/cohort/associations.tsv",
        "results/cohort/survival.tsv",
        "results/cohort/survival_curves.tsv",
        "results/cohort/roc.tsv",
    output:
        "results/reports/cohort.html",
    log:
        "logs/report_cohort/cohort.log",
    benchmark:
        "benchmarks/report_cohort/cohort.tsv"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "job.py"
