# marrowtox: the workflow is workflow/Snakefile (Snakemake catalog layout); this one line
# lets `snakemake` run from the repository root. It is `include:` with the included
# file's default target kept (a plain `include:` keeps the includer's, which has no
# rule, so `rule all` would not be the default); Snakemake's `module` includes so too.
workflow.include("workflow/Snakefile", overwrite_default_target=True)
