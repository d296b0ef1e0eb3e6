rule cart_call:
    input:
        # the sample's optional inputs (genotypes, proteins, empty droplets, signature
        # baselines) from one function: one call per job instead of eight (bench/dag.py)
        unpack(cart_call_inputs),
        h5ad="results/singlecell/annotated/{sample}.h5ad",
        constructs=config["cart"]["constructs"],
        programs=config["signatures"]["programs"],
        hallmark=config["signatures"]["hallmark"],
    output:
        h5ad="results/singlecell/{sample}.h5ad",
        summary="results/cart/{sample}.tsv",
        cells="results/cart/{sample}.cells.tsv",
        # the signatures by cell type, in the same job: a separate job per sample
        # cost Snakemake ~3.5 ms of CPU each, 6,000 jobs at 2,000 patients (docs/hpc.md)
        signatures="results/signatures/{sample}.by_celltype.tsv",
    log:
        "logs/cart_call/{sample}.log",
    benchmark:
        "benchmarks/cart_call/{sample}.tsv"
    wildcard_constraints:
        # results/cart/de_car_vs_noncar.tsv is rule cart_de's, not a sample's summary
        sample=name_except("cohort", *CART_COHORT_STEMS),
    conda:
        "../../envs/cart.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("cart_call"),
        runtime=job_runtime("cart_call"),
    params:
        # construct, CAR features, protein panel, signature baselines: one function
        sample=cart_call_params,
        cart=setting(
            "cart",
            "fdr",
            "ambient_prior_cells",
            "ambient_contamination_prior",
            "empty_min_umis",
            "empty_min_droplets",
            "nb_shape",
            "nb_shape_log_sd",
            "interval_level",
            "not_detected_sensitivity",
        ),
        signatures=setting("signatures", "program_min_genes", "hallmark_min_genes"),
        files=file_digest(
            config["cart"]["constructs"],
            config["signatures"]["programs"],
            config["signatures"]["hallmark"],
        ),
        organism=config["organism"],
        seed=config["seed"],
    script:
        "../../scripts/cart_call.py"


# T-cell receptor clonotypes (samples.tsv vdj): one job per patient, its samples with
# contigs together so that a clonotype has one id across the product and the marrow
# (docs/clonotypes.md). Per-sample outputs with a patient-dependent number of files:
# a rule per patient (tcr_clonotypes_<patient>), as ch_call.
for _patient in vdj_patients():

    rule:
        name:
            f"tcr_clonotypes_{_patient}"
        input:
            contigs=[cell(s, "vdj") for s in vdj_samples(_patient)],
            car_cells=expand(OUT["cart_cells"], sample=vdj_samples(_patient)),
        output:
            cells=expand(OUT["vdj_cells"], sample=vdj_samples(_patient)),
            expansion=expand(OUT["vdj_expansion"], sample=vdj_samples(_patient)),
            clonotypes=OUT["vdj_clonotypes"].format(patient=_patient),
        log:
            f"logs/tcr_clonotypes/{_patient}.log",
        benchmark:
            f"benchmarks/tcr_clonotypes/{_patient}.tsv"
        conda:
            "../../envs/singlecell.yaml"
        threads: 1
        resources:
            mem_mb=job_mem("tcr_clonotypes"),
            runtime=job_runtime("tcr_clonotypes"),
        params:
            patient=_patient,
            samples=vdj_samples(_patient),
            days=[int(cell(s, "day")) for s in vdj_samples(_patient)],
            specimens=[str(cell(s, "specimen")) for s in vdj_samples(_patient)],
            fractions=[str(cell(s, "fraction")) for s in vdj_samples(_patient)],
            clonotypes=config["cart"]["clonotypes"],
        script:
            "../../scripts/tcr_clonotypes.py"


# results/cart/de_car_vs_noncar.tsv would also match cart_call's results/cart/{sample}.tsv
ruleorder: cart_de > cart_call


rule cart_de:
    input:
        h5ad=car_de_h5ads,
        programs=config["signatures"]["programs"],
        hallmark=config["signatures"]["hallmark"],
    output:
        table=OUT["de_car"],
        programs=OUT["de_car_programs"],
    log:
        "logs/cart_de/cohort.log",
    benchmark:
        "benchmarks/cart_de/cohort.tsv"
    conda:
        "../../envs/cart.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("cart_de"),
        runtime=job_runtime("cart_de"),
    params:
        de=config["cart"]["de"],
        files=file_digest(
            config["signatures"]["programs"], config["signatures"]["hallmark"]
        ),
    script:
        "../../scripts/cart_de.py"


rule hspc_de:
    input:
        h5ad=hspc_de_h5ads,
        samples=sample_sheet(),
        programs=config["signatures"]["programs"],
        hallmark=config["signatures"]["hallmark"],
    output:
        table=OUT["de_hspc"],
        programs=OUT["de_hspc_programs"],
    log:
        "logs/hspc_de/cohort.log",
    benchmark:
        "benchmarks/hspc_de/cohort.tsv"
    conda:
        "../../envs/cart.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("hspc_de"),
        runtime=job_runtime("hspc_de"),
    params:
        de=config["singlecell"]["hspc_de"],
        files=file_digest(
            config["signatures"]["programs"], config["signatures"]["hallmark"]
        ),
    script:
        "../../scripts/hspc_de.py"
