# Surface proteins (CITE-seq antibody-derived tags) of the scRNA samples that have them
# (marrowtox.prot; docs/protein.md). A sample without proteins runs as before.

import shlex

from marrowtox.prot.io import has_proteins


def _marrowtox():
    """The marrowtox command: the one beside Snakemake's interpreter (as `script:` rules
    use Snakemake's Python), or the conda environment's under --sdm conda."""
    methods = {str(m).lower() for m in workflow.deployment_settings.deployment_method}
    local = os.path.join(os.path.dirname(sys.executable), "marrowtox")
    if any("conda" in m for m in methods) or not os.path.exists(local):
        return "marrowtox"
    return shlex.quote(local)


_protein = config["singlecell"]["protein"]
for _key in ("markers", "aliases"):
    _protein[_key] = repo_path(_protein[_key])
    if not os.path.isfile(_protein[_key]):
        raise WorkflowError(
            f"invalid input: config key 'singlecell.protein.{_key}': file not found: "
            f"{_protein[_key]} (expected an existing file)"
        )

# Decided once from file headers (no matrix read): the DAG stays linear in samples.
_PROTEIN_SAMPLES = [
    s
    for s in scrna_samples()
    if has_proteins(SAMPLES.at[s, "path"], SAMPLES.at[s, "adt"], _protein["obsm_key"])
]


def protein_samples():
    """scRNA samples with protein data (Antibody Capture, adt column or obsm)."""
    return _PROTEIN_SAMPLES


def sample_adt(wildcards):
    """The sample sheet's adt file, or nothing (proteins then come from the path)."""
    return SAMPLES.at[wildcards.sample, "adt"] or []


def protein_options():
    """singlecell.protein settings as sc-protein options (files are inputs)."""
    out = []
    for key, value in _protein.items():
        if key in ("markers", "aliases"):
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            out.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, list):
            out += [flag, *map(str, value)] if value else []
        else:
            out += [flag, str(value)]
    return " ".join(shlex.quote(o) for o in out)


def protein_targets():
    if not _branch("cart_call"):
        return []
    return expand(
        [
            "results/singlecell/{sample}.h5mu",
            "results/singlecell/protein/{sample}.agreement.tsv",
            "results/cart/{sample}.protein.tsv",
        ],
        sample=protein_samples(),
    )


rule sc_protein:
    input:
        h5ad="results/singlecell/{sample}.h5ad",
        annotation="results/singlecell/{sample}.annotation.tsv",
        raw=sample_path,
        adt=sample_adt,
        markers=_protein["markers"],
        aliases=_protein["aliases"],
    output:
        h5mu="results/singlecell/{sample}.h5mu",
        labels="results/singlecell/protein/{sample}.labels.tsv",
        agreement="results/singlecell/protein/{sample}.agreement.tsv",
        by_celltype="results/singlecell/protein/{sample}.by_celltype.tsv",
        cart="results/cart/{sample}.protein.tsv",
    log:
        "logs/sc_protein/{sample}.log",
    benchmark:
        "benchmarks/sc_protein/{sample}.tsv"
    conda:
        "../../envs/singlecell.yaml"
    threads: 1
    resources:
        mem_mb=lambda wc, input, attempt: int(1500 + 10 * input_mb(input) * attempt),
        runtime=20,
    params:
        adt=lambda wc, input: input.adt or "",
        marrowtox=_marrowtox(),
        options=protein_options(),
        seed=config["seed"],
    shell:
        "{params.marrowtox} sc-protein --h5ad {input.h5ad} --sample {wildcards.sample} "
        "--raw {input.raw:q} --adt {params.adt:q} --annotation {input.annotation} "
        "--markers {input.markers:q} --aliases {input.aliases:q} {params.options} "
        "--seed {params.seed} --out-h5mu {output.h5mu} --out-labels {output.labels} "
        "--out-agreement {output.agreement} --out-by-celltype {output.by_celltype} "
        "--out-cart {output.cart} > {log} 2>&1"
