

rule cohort_stats:
    input:
        # raw tables: the statistics keep specimen and censored values ("<5")
        labs=config["labs"] or [],
        events=config["events"] or [],
        scores=OUT["clinical_cohort"],
        panel=f"{REPO_DIR}/resources/biomarkers.tsv",
    output:
        associations=OUT["cohort_associations"],
        correlations=OUT["cohort_correlations"],
        survival=OUT["cohort_survival"],
        curves=OUT["cohort_survival_curves"],
        roc=OUT["cohort_roc"],
    log:
        "logs/cohort_stats/cohort.log",
    benchmark:
        "benchmarks/cohort_stats/cohort.tsv"
    conda:
        "../../envs/clinical.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("cohort_stats"),
        runtime=job_runtime("cohort_stats"),
    params:
        seed=config["seed"],
        cohort=config["cohort"],
        files=file_digest(f"{REPO_DIR}/resources/biomarkers.tsv"),
    script:
        "../../scripts/cohort_stats.py"


rule composition_da:
    input:
        compositions=da_compositions,
        samples=sample_sheet(),
        scores=clinical_scores_table,
    output:
        OUT["composition_da"],
    log:
        "logs/composition_da/cohort.log",
    benchmark:
        "benchmarks/composition_da/cohort.tsv"
    conda:
        "../../envs/clinical.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("composition_da"),
        runtime=job_runtime("composition_da"),
    params:
        da=config["cohort"]["composition_da"],
    script:
        "../../scripts/composition_da.py"
