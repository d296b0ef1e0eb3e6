# marrowtox: bone-marrow multi-omics after CAR T-cell therapy, linked to hematotoxicity.
# See README.md; the contract of inputs and outputs is in docs/ and workflow/schemas/.


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/singlecell.smk"
include: "workflow/rules/cart.smk"
include: "workflow/rules/protein.smk"
include: "workflow/rules/clonal.smk"
include: "workflow/rules/clinical.smk"
include: "workflow/rules/cohort.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        all_targets(),
        protein_targets(),
