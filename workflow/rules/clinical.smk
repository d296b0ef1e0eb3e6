# The per-patient clinical files in parts (rule per part of report.table_part_patients
# patients, like ch_call per patient): one job declaring three files per patient of the
# cohort made Snakemake match each requested file against every one of its outputs,
# quadratic in patients (docs/hpc.md, bench/dag.py). The cohort files come from one
# small job, so the reports that read the normalised labs depend on a job with four
# inputs, not on one with every patient's files.
for _part, _part_patients in TABLE_PARTS.items():

    rule:
        name:
            f"clinical_scores_{_part}"
        input:
            labs=config["labs"] or [],
            events=config["events"] or [],
            samples=sample_sheet(),
            panel=f"{REPO_DIR}/resources/biomarkers.tsv",
        output:
            scores=expand(OUT["scores"], patient=_part_patients),
            grids=expand(OUT["anc_grid"], patient=_part_patients),
            biomarkers=expand(
                "results/clinical/{patient}.biomarkers.tsv", patient=_part_patients
            ),
        log:
            f"logs/clinical_scores/{_part}.log",
        benchmark:
            f"benchmarks/clinical_scores/{_part}.tsv"
        conda:
            "../../envs/clinical.yaml"
        threads: 1
        resources:
            mem_mb=job_mem("clinical_scores_part"),
            runtime=job_runtime("clinical_scores_part"),
        params:
            patients=_part_patients,
            write="patients",
            clinical=config["clinical"],
            files=file_digest(f"{REPO_DIR}/resources/biomarkers.tsv"),
        script:
            "../../scripts/clinical_scores.py"


rule clinical_scores:
    input:
        labs=config["labs"] or [],
        events=config["events"] or [],
        samples=sample_sheet(),
        panel=f"{REPO_DIR}/resources/biomarkers.tsv",
    output:
        cohort="results/clinical/cohort.tsv",
        labs="results/clinical/labs.normalised.tsv",
    log:
        "logs/clinical_scores/cohort.log",
    benchmark:
        "benchmarks/clinical_scores/cohort.tsv"
    conda:
        "../../envs/clinical.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("clinical_scores"),
        runtime=job_runtime("clinical_scores"),
    params:
        patients=patients(),
        write="cohort",
        clinical=config["clinical"],
        files=file_digest(f"{REPO_DIR}/resources/biomarkers.tsv"),
    script:
        "../../scripts/clinical_scores.py"
