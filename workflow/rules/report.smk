# The cohort table in parts of report.table_part_patients patients, then joined: every
# patient report reads the table, and Snakemake scans the input list of the table's job
# once per reader, so one job reading every patient's files made the DAG quadratic in
# patients (docs/hpc.md, bench/dag.py).
rule report_cohort_part:
    input:
        table_part_inputs,
        samples=sample_sheet(),
        flow=flow_table(),
    output:
        table=temp("results/cohort/parts/{part}.tsv"),
        scale=temp("results/cohort/parts/{part}.scale.tsv"),
    log:
        "logs/report_cohort_part/{part}.log",
    benchmark:
        "benchmarks/report_cohort_part/{part}.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("report_cohort_part"),
        runtime=job_runtime("report_cohort_part"),
    params:
        patients=table_part_patients,
    script:
        "../../scripts/report_cohort_part.py"


rule report_cohort_table:
    input:
        tables=table_part_files("table"),
        scales=table_part_files("scale"),
    output:
        table="results/cohort/patients.tsv",
        # the inflammation heatmap's cohort-wide colour scale the patient reports read
        scale="results/cohort/heatmap_scale.tsv",
    log:
        "logs/report_cohort_table/cohort.log",
    benchmark:
        "benchmarks/report_cohort_table/cohort.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("report_cohort_table"),
        runtime=job_runtime("report_cohort_table"),
    script:
        "../../scripts/report_cohort_merge.py"


rule report_patient:
    input:
        lambda wc: report_patient_inputs(report_patient_of(wc)),
        report_protein_inputs,
        table="results/cohort/patients.tsv",
        scale="results/cohort/heatmap_scale.tsv",
        provenance="results/provenance.json",
        samples=sample_sheet(),
        flow=flow_table(),
    output:
        report(
            "results/reports/{patient}.html",
            caption="../report/patient.rst",
            category="Reports",
            labels={"patient": "{patient}"},
        ),
    log:
        "logs/report_patient/{patient}.log",
    benchmark:
        "benchmarks/report_patient/{patient}.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("report_patient"),
        runtime=job_runtime("report_patient"),
    params:
        events=config["events"],
        report=config["report"],
    script:
        "../../scripts/report_patient.py"


rule report_cohort:
    input:
        report_cohort_inputs,
        table="results/cohort/patients.tsv",
        provenance="results/provenance.json",
        samples=sample_sheet(),
        picture=cohort_picture_files(),
        # cohort statistics (rule cohort_stats) when labs and events exist
        cohort_stats=(
            [
                OUT["cohort_associations"],
                OUT["cohort_survival"],
                OUT["cohort_survival_curves"],
                OUT["cohort_roc"],
            ]
            if has_labs() and TABLES.events is not None
            else []
        ),
    output:
        report(
            "results/reports/cohort.html",
            caption="../report/cohort.rst",
            category="Reports",
        ),
    log:
        "logs/report_cohort/cohort.log",
    benchmark:
        "benchmarks/report_cohort/cohort.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("report_cohort"),
        runtime=job_runtime("report_cohort"),
    params:
        report=config["report"],
    script:
        "../../scripts/report_cohort.py"


rule provenance:
    input:
        resources=resource_files(),
    output:
        "results/provenance.json",
    log:
        "logs/provenance/provenance.log",
    benchmark:
        "benchmarks/provenance/provenance.tsv"
    conda:
        "../../envs/common.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("provenance"),
        runtime=job_runtime("provenance"),
    params:
        config=config,
    script:
        "../../scripts/provenance.py"
