# Surface proteins (CITE-seq antibody-derived tags) of the scRNA samples that have them
# (marrowtox.prot; docs/protein.md). A sample without proteins runs as before.


rule sc_protein:
    input:
        h5ad="results/singlecell/{sample}.h5ad",
        annotation="results/singlecell/{sample}.annotation.tsv",
        raw=sample_path,
        adt=sample_adt,
        # empty droplets of the run: DSB instead of CLR (sample sheet column raw_matrix)
        raw_matrix=sample_raw_matrix,
        markers=config["singlecell"]["protein"]["markers"],
        aliases=config["singlecell"]["protein"]["aliases"],
    output:
        h5mu="results/singlecell/{sample}.h5mu",
        labels="results/singlecell/protein/{sample}.labels.tsv",
        agreement="results/singlecell/protein/{sample}.agreement.tsv",
        by_celltype="results/singlecell/protein/{sample}.by_celltype.tsv",
        heatmap="results/singlecell/plots/{sample}.protein.png",
    log:
        "logs/sc_protein/{sample}.log",
    benchmark:
        "benchmarks/sc_protein/{sample}.tsv"
    conda:
        "../../envs/singlecell.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("sc_protein"),
        runtime=job_runtime("sc_protein"),
    params:
        adt=lambda wc, input: f"--adt {shlex.quote(input.adt)}" if input.adt else "",
        empty=lambda wc, input: (
            f"--empty-droplets {shlex.quote(input.raw_matrix)}"
            if input.raw_matrix
            else ""
        ),
        marrowtox=_marrowtox(),
        options=protein_options(),
        seed=config["seed"],
    shell:
        "{params.marrowtox} sc-protein --h5ad {input.h5ad} --sample {wildcards.sample} "
        "--raw {input.raw:q} {params.adt} {params.empty} --annotation {input.annotation} "
        "--markers {input.markers:q} --aliases {input.aliases:q} {params.options} "
        "--seed {params.seed} --out-h5mu {output.h5mu} --out-labels {output.labels} "
        "--out-agreement {output.agreement} --out-by-celltype {output.by_celltype} "
        "--out-heatmap {output.heatmap} > {log} 2>&1"
