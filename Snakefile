# marrowtox: the workflow lives in workflow/Snakefile (Snakemake workflow catalog layout).


include: "workflow/Snakefile"
