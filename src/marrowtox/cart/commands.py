"""`marrowtox car-call | car-bam | tcr-clonotypes`."""

from __future__ import annotations

import argparse

from marrowtox.settings import add_schema_options, options_section, resolve, section_defaults

# singlecell.protein settings of the protein route, not of the CAR T protein panel
PROTEIN_UNUSED = (
    "markers",
    "min_overlap",
    "min_proteins",
    "margin",
    "min_score",
    "temperature",
    "min_confidence",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "car-call", help="ambient-aware CAR+ calls and program scores for one sample"
    )
    p.add_argument("--h5ad", required=True, help="annotated per-sample AnnData")
    p.add_argument("--sample", required=True)
    p.add_argument("--construct", default="", help="key of resources/car_constructs.yaml")
    p.add_argument("--features", nargs="*", help="CAR feature names (override the construct)")
    p.add_argument("--empty-droplets", help="raw matrix of empty droplets (ambient estimate)")
    p.add_argument(
        "--genotypes",
        nargs=2,
        metavar=("COUNTS", "SITES"),
        help="sc-genotype's counts and sites tables: adds geno_<gene>_<protein> per cell",
    )
    p.add_argument(
        "--proteins",
        default="",
        help="the sample's protein file (sample sheet path or adt; docs/protein.md): adds "
        "the CAR T protein panel prot_* to --out-tsv (empty columns without it)",
    )
    p.add_argument("--adt", default="", help="protein counts (.h5ad/10x) if not in --proteins")
    p.add_argument(
        "--protein-empty-droplets",
        default="",
        help="the run's raw matrix: the protein panel is DSB-normalised against its "
        "empty droplets (as sc-protein --empty-droplets), else CLR",
    )
    add_schema_options(p, "singlecell", "protein", skip=PROTEIN_UNUSED)
    add_schema_options(p, "cart", skip=("features",))
    # removed in issue 24: accepted only to say why (argparse would just say "unrecognized")
    p.add_argument("--min-umis", help=argparse.SUPPRESS)
    add_schema_options(p, "signatures")
    p.add_argument("--organism", choices=["human", "mouse"], default="human")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out-h5ad", required=True)
    p.add_argument("--out-tsv", required=True)
    p.add_argument("--out-cells", required=True)
    p.set_defaults(func=_car)
    p = sub.add_parser(
        "tcr-clonotypes",
        help="T-cell receptor clonotypes of one patient's samples: CAR T vs non-CAR T "
        "expansion, clonotypes shared with the product (scirpy)",
    )
    p.add_argument("--patient", required=True)
    p.add_argument("--samples", nargs="+", required=True)
    p.add_argument("--days", nargs="+", type=int, required=True, help="per sample")
    p.add_argument("--specimens", nargs="+", required=True, help="per sample: marrow, product, ...")
    p.add_argument("--fractions", nargs="+", required=True, help="per sample: whole_marrow, ...")
    p.add_argument(
        "--contigs",
        nargs="+",
        required=True,
        help="per sample: contig CSV (Cell Ranger) or AIRR TSV",
    )
    p.add_argument(
        "--car-cells", nargs="+", required=True, help="per sample: results/cart/<sample>.cells.tsv"
    )
    p.add_argument("--out-cells", nargs="+", required=True, help="per sample: cells.tsv")
    p.add_argument("--out-expansion", nargs="+", required=True, help="per sample: expansion.tsv")
    p.add_argument("--out-clonotypes", required=True, help="results/vdj/<patient>.clonotypes.tsv")
    add_schema_options(p, "cart", "clonotypes")
    p.set_defaults(func=_clonotypes)
    p = sub.add_parser("car-bam", help="CAR UMIs per cell barcode from a construct-aligned BAM")
    p.add_argument("--bam", required=True)
    p.add_argument("--construct", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--min-mapq", type=int, default=30, help="reads below it are not counted")
    p.add_argument(
        "--constructs",
        default=section_defaults("cart")["constructs"],
        help="CAR construct definitions (config cart.constructs)",
    )
    p.set_defaults(func=_bam)


def _car(a: argparse.Namespace) -> int:
    from marrowtox.cart.calling import CarParams
    from marrowtox.cart.steps import CarInputs, car_step
    from marrowtox.errors import InputError
    from marrowtox.settings import removed_settings
    from marrowtox.signatures.steps import gene_sets

    if a.min_umis is not None:
        (why,) = removed_settings({"cart": {"min_umis": a.min_umis}})
        raise InputError(f"--min-umis: {why.removeprefix('cart.min_umis ')}")
    skipped = car_step(
        CarInputs(
            annotated=a.h5ad,
            sample=a.sample,
            construct=a.construct,
            feature_override=a.features,
            params=CarParams.from_settings(options_section(a, "cart")),
            gene_sets=gene_sets(
                resolve(a.programs), resolve(a.hallmark), a.program_min_genes, a.hallmark_min_genes
            ),
            organism=a.organism,
            seed=a.seed,
            out_h5ad=a.out_h5ad,
            out_summary=a.out_tsv,
            out_cells=a.out_cells,
            empty_droplets=a.empty_droplets,
            constructs=resolve(a.constructs),
            genotypes=tuple(a.genotypes) if a.genotypes else None,
            protein={
                "section": options_section(a, "singlecell", "protein"),
                "raw": a.proteins or None,
                "adt": a.adt,
                "empty": a.protein_empty_droplets or None,
            },
        )
    )
    for s in skipped:
        print(f"gene set skipped: {s}")
    return 0


def _bam(a: argparse.Namespace) -> int:
    from marrowtox.atomic import write_tsv
    from marrowtox.cart.bam import count_car_umis
    from marrowtox.cart.constructs import load

    constructs = load(resolve(a.constructs))
    if a.construct not in constructs:
        from marrowtox.errors import InputError

        raise InputError(
            f"unknown CAR construct {a.construct!r}",
            file=a.constructs,
            expected="one of " + ", ".join(constructs),
        )
    write_tsv(count_car_umis(a.bam, constructs[a.construct], a.min_mapq), a.out)
    return 0


def _clonotypes(a: argparse.Namespace) -> int:
    from marrowtox.cart.clonotypes import ClonotypeParams, VdjInputs, VdjSample, write_result

    n = len(a.samples)
    for name in (
        "days",
        "specimens",
        "fractions",
        "contigs",
        "car_cells",
        "out_cells",
        "out_expansion",
    ):
        if len(getattr(a, name)) != n:
            raise SystemExit(
                f"tcr-clonotypes: --{name.replace('_', '-')} needs one value per sample ({n})"
            )
    inputs = VdjInputs(
        a.patient,
        [
            VdjSample(*row)
            for row in zip(
                a.samples, a.days, a.specimens, a.fractions, a.contigs, a.car_cells, strict=True
            )
        ],
    )
    params = ClonotypeParams.from_config(options_section(a, "cart", "clonotypes"))
    write_result(inputs, params, a.out_cells, a.out_expansion, a.out_clonotypes)
    return 0
