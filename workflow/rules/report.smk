def report_sample_inputs(samples):
    """Per-sample outputs the reports read, for the branches included in the workflow."""
    files = []
    for s in samples:
        if SAMPLES.at[s, "assay"] == "scrna" and _branch("cart_call"):
            files += [
                f"results/singlecell/{s}.composition.tsv",
                f"results/cart/{s}.tsv",
                f"results/signatures/{s}.by_celltype.tsv",
                f"results/singlecell/{s}.h5ad",
            ]
        if SAMPLES.at[s, "assay"] == "dna" and _branch("ch_call"):
            files += [f"results/ch/{s}.calls.tsv"]
    return files


def report_patient_inputs(patient):
    files = report_sample_inputs(patient_samples(patient, "scrna"))
    files += report_sample_inputs(patient_samples(patient, "dna"))
    if patient_samples(patient, "dna") and _branch("ch_track"):
        files.append(f"results/ch/{patient}.clones.tsv")
    if _branch("clinical_scores"):
        files += [
            f"results/clinical/{patient}.scores.tsv",
            f"results/clinical/{patient}.anc_grid.tsv",
            "results/clinical/labs.normalised.tsv",
        ]
    return files


rule report_cohort_table:
    input:
        lambda wc: [f for p in patients() for f in report_patient_inputs(p)],
        samples=config["samples"],
    output:
        "results/cohort/patients.tsv",
    log:
        "logs/report_cohort_table/cohort.log",
    benchmark:
        "benchmarks/report_cohort_table/cohort.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../../scripts/report_cohort_table.py"


rule report_patient:
    input:
        lambda wc: report_patient_inputs(wc.patient),
        table="results/cohort/patients.tsv",
        provenance="results/provenance.json",
        samples=config["samples"],
    output:
        "results/reports/{patient}.html",
    log:
        "logs/report_patient/{patient}.log",
    benchmark:
        "benchmarks/report_patient/{patient}.tsv"
    conda:
        "../../envs/report.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        events=config["events"],
        report=config["report"],
    script:
        "../../scripts/report_patient.py"


rule report_cohort:
    input:
        table="results/cohort/patients.tsv",
        provenance="results/provenance.json",
        samples=config["samples"],
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
        mem_mb=1000,
        runtime=10,
    params:
        report=config["report"],
    script:
        "../../scripts/report_cohort.py"
