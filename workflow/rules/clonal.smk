rule ch_pon:
    input:
        bams=pon_bams(),
        fasta=reference_file("fasta"),
        bed=reference_file("panel_bed"),
    output:
        OUT["ch_pon"],
    log:
        "logs/ch_pon/pon.log",
    benchmark:
        "benchmarks/ch_pon/pon.tsv"
    conda:
        "../../envs/clonal.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("ch_pon"),
        runtime=job_runtime("ch_pon"),
    params:
        ch=pon_settings(),
    script:
        "../../scripts/ch_pon.py"


# Inline-UMI samples (sample sheet umi: inline, path: the read 1 FASTQ, umi_layout):
# UMI and spacer off each read, then alignment with minimap2 (mappy) into a BAM with
# the UMI in RX, which ch_consensus reads (docs/ch-caller.md).
rule ch_umi_extract:
    input:
        fastq=sample_path,
    output:
        fastq=temp(OUT["umi_extracted"]),
        stats=OUT["umi_extract_stats"],
    log:
        "logs/ch_umi_extract/{sample}.log",
    benchmark:
        "benchmarks/ch_umi_extract/{sample}.tsv"
    wildcard_constraints:
        sample="|".join(inline_umi_samples()) or "no_inline_umi_sample",
    conda:
        "../../envs/clonal.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("ch_umi_extract"),
        runtime=job_runtime("ch_umi_extract"),
    params:
        layout=sample_column("umi_layout"),
        ch=extract_settings(),
    script:
        "../../scripts/ch_umi_extract.py"


rule ch_align:
    input:
        fastq=OUT["umi_extracted"],
        fasta=reference_file("fasta"),
    output:
        bam=OUT["umi_aligned_bam"],
        bai=OUT["umi_aligned_bam"] + ".bai",
        stats=OUT["umi_align_stats"],
    log:
        "logs/ch_align/{sample}.log",
    benchmark:
        "benchmarks/ch_align/{sample}.tsv"
    wildcard_constraints:
        sample="|".join(inline_umi_samples()) or "no_inline_umi_sample",
    conda:
        "../../envs/clonal.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("ch_align"),
        runtime=job_runtime("ch_align"),
    script:
        "../../scripts/ch_align.py"


# UMI samples (sample sheet column umi: rx, read_name or inline): one consensus read per
# molecule, which ch_call then reads instead of the raw BAM (docs/ch-caller.md).
rule ch_consensus:
    input:
        bam=lambda wc: raw_dna_bam(wc.sample),
        fasta=reference_file("fasta"),
        bed=reference_file("panel_bed"),
    output:
        bam=OUT["consensus_bam"],
        bai=OUT["consensus_bam"] + ".bai",
        qc=OUT["umi_qc"],
        families=OUT["umi_families"],
    log:
        "logs/ch_consensus/{sample}.log",
    benchmark:
        "benchmarks/ch_consensus/{sample}.tsv"
    wildcard_constraints:
        sample="|".join(umi_samples()) or "no_umi_sample",
    conda:
        "../../envs/clonal.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("ch_consensus"),
        runtime=job_runtime("ch_consensus"),
    params:
        umi=lambda wc: consensus_umi_source(wc.sample),
        ch=consensus_settings(),
    script:
        "../../scripts/ch_consensus.py"


# One ch_call job per patient: its DNA samples in one `marrowtox ch-call` process, so
# the start-up and the panel-of-normals model are paid once per patient (issue 18),
# then in the same process the clone course of its whole-specimen samples (what
# `marrowtox ch-track` does; one job per patient less in the DAG, issue 27). The
# outputs keep their per-sample paths (design.md), which a wildcard cannot give a job
# with a patient-dependent number of files: the rule is defined per patient
# (ch_call_<patient>), from the sample sheet at parse time.
for _patient in ch_call_patients():

    rule:
        name:
            f"ch_call_{_patient}"
        input:
            bams=ch_call_bams(_patient),
            fasta=reference_file("fasta"),
            gtf=reference_file("gtf"),
            bed=reference_file("panel_bed"),
            rules=config["ch"]["rules"],
            # optional panel of normals: a missing file stops the run before any job
            pon=config["ch"]["panel_of_normals"] or [],
            # per-site error model of the normals (rule ch_pon), when there are normals
            pon_model=pon_model(),
        output:
            # optional audit file of every tested candidate (ch.all_candidates)
            **ch_call_evidence(_patient),
            vcf=expand("results/ch/{sample}.vcf.gz", sample=ch_call_samples(_patient)),
            tbi=expand(
                "results/ch/{sample}.vcf.gz.tbi", sample=ch_call_samples(_patient)
            ),
            calls=expand(
                "results/ch/{sample}.calls.tsv", sample=ch_call_samples(_patient)
            ),
            lod=expand("results/ch/{sample}.lod.tsv", sample=ch_call_samples(_patient)),
            # the clones of the whole-specimen samples (read back from the calls above)
            clones=OUT["clones"].format(patient=_patient),
        log:
            f"logs/ch_call/{_patient}.log",
        benchmark:
            f"benchmarks/ch_call/{_patient}.tsv"
        conda:
            "../../envs/clonal.yaml"
        threads: 1
        resources:
            mem_mb=job_mem("ch_call"),
            runtime=job_runtime("ch_call"),
        params:
            samples=ch_call_samples(_patient),
            # every CallParams field, which the calling and the tracking both read
            ch=caller_settings(),
            patient=_patient,
            # tracked: the whole specimens (their BAMs, calls and LOD tables are above)
            track_samples=whole_dna_samples(_patient),
            track_days=[int(cell(s, "day")) for s in whole_dna_samples(_patient)],
        script:
            "../../scripts/ch_call.py"


# Clones in sorted fractions (samples.tsv fraction CD3, CD14, ...): every clone re-counted
# in every DNA sample of the patient and called myeloid-restricted, lymphoid-involved or
# multilineage (docs/sorted-fractions.md); only patients with a sorted DNA sample.
rule ch_lineage:
    input:
        calls=lambda wc: patient_dna_all(wc, "calls"),
        lods=lambda wc: patient_dna_all(wc, "lod"),
        bams=lambda wc: patient_dna_all(wc, "bam"),
        fasta=reference_file("fasta"),
    output:
        "results/ch/{patient}.lineage.tsv",
    log:
        "logs/ch_lineage/{patient}.log",
    benchmark:
        "benchmarks/ch_lineage/{patient}.tsv"
    conda:
        "../../envs/clonal.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("ch_lineage"),
        runtime=job_runtime("ch_lineage"),
    params:
        samples=lambda wc: patient_samples(wc.patient, "dna"),
        days=lambda wc: [
            int(cell(s, "day")) for s in patient_samples(wc.patient, "dna")
        ],
        fractions=lambda wc: [
            str(cell(s, "fraction")) for s in patient_samples(wc.patient, "dna")
        ],
        ch=config["ch"],
    script:
        "../../scripts/ch_lineage.py"


rule sc_genotype:
    input:
        bam=sample_column("bam"),
        labels="results/singlecell/labels/{sample}.tsv",
        calls=lambda wc: patient_dna_of_sample(wc, "calls"),
        hotspots=config["singlecell"]["genotype"]["hotspots"] or [],
    output:
        counts="results/singlecell/genotypes/{sample}.tsv",
        sites="results/singlecell/genotypes/{sample}.sites.tsv",
    log:
        "logs/sc_genotype/{sample}.log",
    benchmark:
        "benchmarks/sc_genotype/{sample}.tsv"
    conda:
        "../../envs/clonal.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("sc_genotype"),
        runtime=job_runtime("sc_genotype"),
    params:
        # only the counting settings: a change of the carrier test reruns sc_carriers alone
        genotype={
            k: config["singlecell"]["genotype"][k]
            for k in ("min_mapq", "min_base_quality")
        },
    script:
        "../../scripts/sc_genotype.py"


rule sc_carriers:
    input:
        counts="results/singlecell/genotypes/{sample}.tsv",
        sites="results/singlecell/genotypes/{sample}.sites.tsv",
        labels="results/singlecell/labels/{sample}.tsv",
        car_cells="results/cart/{sample}.cells.tsv",
    output:
        "results/singlecell/genotypes/{sample}.carriers.tsv",
    log:
        "logs/sc_carriers/{sample}.log",
    benchmark:
        "benchmarks/sc_carriers/{sample}.tsv"
    conda:
        "../../envs/clonal.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("sc_carriers"),
        runtime=job_runtime("sc_carriers"),
    params:
        genotype={
            k: v
            for k, v in config["singlecell"]["genotype"].items()
            if k not in ("hotspots", "min_mapq", "min_base_quality")
        },
    script:
        "../../scripts/sc_carriers.py"


rule clone_cells:
    input:
        lambda wc: [
            f"results/singlecell/genotypes/{s}.carriers.tsv"
            for s in genotyped_samples(wc.patient)
        ],
    output:
        "results/ch/{patient}.clone_cells.tsv",
    log:
        "logs/clone_cells/{patient}.log",
    benchmark:
        "benchmarks/clone_cells/{patient}.tsv"
    conda:
        "../../envs/clonal.yaml"
    threads: 1
    resources:
        mem_mb=job_mem("clone_cells"),
        runtime=job_runtime("clone_cells"),
    params:
        samples=lambda wc: genotyped_samples(wc.patient),
        days=lambda wc: [int(cell(s, "day")) for s in genotyped_samples(wc.patient)],
    script:
        "../../scripts/clone_cells.py"
