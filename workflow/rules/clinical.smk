rule clinical_scores:
    input:
        labs=lambda wc: config["labs"] or [],
        events=lambda wc: config["events"] or [],
        samples=sample_sheet(),
        # analyte names, aliases, units and default specimens of labs.tsv
        panel=f"{REPO_DIR}/resources/biomarkers.tsv",
    output:
        scores=expand("results/clinical/{patient}.scores.tsv", patient=patients()),
        grids=expand("results/clinical/{patient}.anc_grid.tsv", patient=patients()),
        biomarkers=expand(
            "results/clinical/{patient}.biomarkers.tsv", patient=patients()
        ),
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
        mem_mb=1000,
        runtime=10,
    params:
        patients=patients(),
        clinical=config["clinical"],
        files=file_digest(f"{REPO_DIR}/resources/biomarkers.tsv"),
    script:
        "../../scripts/clinical_scores.py"
