"""Snakemake entry point: CAR+ calls and per-cell program scores (marrowtox.cart), then
the scores by cell type and their index against the baseline (marrowtox.signatures)."""

import sys

from marrowtox.cart.calling import CarParams
from marrowtox.cart.steps import CarInputs, car_step
from marrowtox.signatures.steps import gene_sets, signatures_step

sys.stderr = open(snakemake.log[0], "w")
i, o, p = snakemake.input, snakemake.output, snakemake.params
s, one = p.signatures, p.sample
sets = gene_sets(i.programs, i.hallmark, s["program_min_genes"], s["hallmark_min_genes"])
skipped = car_step(
    CarInputs(
        annotated=i.h5ad,
        sample=snakemake.wildcards.sample,
        construct=one["construct"],
        feature_override=one["features"],
        params=CarParams.from_settings(p.cart),
        gene_sets=sets,
        organism=p.organism,
        seed=p.seed,
        out_h5ad=o.h5ad,
        out_summary=o.summary,
        out_cells=o.cells,
        empty_droplets=i.get("empty_droplets") or None,
        constructs=i.constructs,
        genotypes=(i.genotypes, i.sites) if i.get("genotypes") else None,
        protein={
            "section": {**one["protein"], **({"aliases": i.aliases} if i.get("aliases") else {})},
            "raw": i.get("proteins") or None,
            "adt": i.get("adt") or "",
            "empty": i.get("raw_matrix") or None,
        },
    )
)
print("gene sets skipped: " + ("; ".join(skipped) or "none"), file=sys.stderr)
# one["baselines"] lists every baseline path, this sample's own (o.h5ad, just written) included
signatures_step(
    o.h5ad,
    snakemake.wildcards.sample,
    list(one["baselines"]),
    one["baseline_source"],
    sets,
    p.organism,
    o.signatures,
)
