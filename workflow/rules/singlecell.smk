rule sc_process:
    # QC -> doublets -> labels -> embedding of one sample in one process
    # (marrowtox.singlecell.process: why one job, and what it costs)
    input:
        raw=sample_path,
        markers=config["singlecell"]["annotate"]["markers"],
        ontology=config["singlecell"]["annotate"]["ontology"],
        model=reference_model(),
        label_map=reference_label_map(),
    output:
        qc="results/singlecell/{sample}.qc.tsv",
        qc_png=report(
            "results/singlecell/plots/{sample}.qc.png",
            caption="../report/qc.rst",
            category="Single cell",
            subcategory="QC",
            labels={"sample": "{sample}"},
        ),
        doublets="results/singlecell/{sample}.doublets.tsv",
        singlets="results/singlecell/doublets/{sample}.h5ad",
        labels="results/singlecell/labels/{sample}.tsv",
        annotation="results/singlecell/{sample}.annotation.tsv",
        annotated="results/singlecell/annotated/{sample}.h5ad",
        composition="results/singlecell/{sample}.composition.tsv",
    log:
        "logs/sc_process/{sample}.log",
    benchmark:
        "benchmarks/sc_process/{sample}.tsv"
    conda:
        "../../envs/singlecell.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("sc_process"),
        runtime=job_runtime("sc_process"),
    params:
        meta=sample_meta,
        qc=config["singlecell"]["qc"],
        doublets=config["singlecell"]["doublets"],
        annotate=annotate_params(),
        embed=config["singlecell"]["embed"],
        exclude_genes=config["singlecell"]["integrate"]["exclude_genes"],
        organism=config["organism"],
        seed=config["seed"],
    script:
        "../../scripts/sc_process.py"


rule sc_reference:
    input:
        reference=config["singlecell"]["annotate"]["reference"]["h5ad"] or [],
    output:
        model="results/singlecell/reference/model.pkl",
        labels="results/singlecell/reference/labels.tsv",
    log:
        "logs/sc_reference/reference.log",
    benchmark:
        "benchmarks/sc_reference/reference.tsv"
    conda:
        "../../envs/singlecell.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("sc_reference"),
        runtime=job_runtime("sc_reference"),
    params:
        reference=config["singlecell"]["annotate"]["reference"],
        seed=config["seed"],
    script:
        "../../scripts/sc_reference.py"


rule sc_integrate:
    # a display leaf: only the cohort report reads it, and a failure is a note there
    input:
        h5ad=expand("results/singlecell/doublets/{sample}.h5ad", sample=scrna_samples()),
        labels=expand("results/singlecell/labels/{sample}.tsv", sample=scrna_samples()),
    output:
        cohort="results/singlecell/cohort.h5ad",
        status="results/singlecell/integrate.tsv",
        umap=report(
            "results/singlecell/plots/umap_celltypes.png",
            caption="../report/umap_celltypes.rst",
            category="Single cell",
        ),
    log:
        "logs/sc_integrate/cohort.log",
    benchmark:
        "benchmarks/sc_integrate/cohort.tsv"
    conda:
        "../../envs/singlecell.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("sc_integrate"),
        runtime=job_runtime("sc_integrate"),
    params:
        samples=scrna_samples(),
        integrate=config["singlecell"]["integrate"],
        seed=config["seed"],
    script:
        "../../scripts/sc_integrate.py"
