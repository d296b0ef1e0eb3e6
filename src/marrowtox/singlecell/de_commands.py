"""`marrowtox car-de` and `marrowtox hspc-de`: paired pseudobulk DESeq2 and program activity.

car-de: CAR+ vs CAR- T cells within each post-infusion marrow sample (~ sample + car).
hspc-de: HSPC of the post-infusion marrow vs the baseline marrow within each patient.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def _common(p: argparse.ArgumentParser, section: str, *path: str) -> None:
    from marrowtox.settings import add_schema_options

    p.add_argument("--programs", type=Path, required=True, help="T-cell program gene sets (.gmt)")
    p.add_argument("--hallmark", type=Path, required=True, help="Hallmark gene sets (.gmt)")
    add_schema_options(p, section, *path)
    p.add_argument("--out", type=Path, required=True, help="DE table (one row per gene)")
    p.add_argument("--out-programs", type=Path, required=True, help="program activity table")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "car-de",
        help="CAR T vs non-CAR T pseudobulk DESeq2 within each marrow sample, and program activity",
    )
    p.add_argument(
        "--h5ad", type=Path, nargs="*", required=True,
        help="CAR-called objects (results/singlecell/{sample}.h5ad) of post-infusion marrow "
        "samples; none (a cohort without one) gives a table that says so",
    )  # fmt: skip
    _common(p, "cart", "de")
    p.set_defaults(func=run_car)
    q = sub.add_parser(
        "hspc-de",
        help="HSPC post-infusion vs baseline marrow pseudobulk DESeq2 within each patient, and program activity",
    )
    q.add_argument(
        "--h5ad", type=Path, nargs="*", required=True,
        help="annotated objects (results/singlecell/annotated/{sample}.h5ad); the sample id is the file stem",
    )  # fmt: skip
    q.add_argument(
        "--samples", type=Path, required=True, help="samples.tsv (patient, day, specimen)"
    )
    _common(q, "singlecell", "hspc_de")
    q.set_defaults(func=run_hspc)


def _settings(args: argparse.Namespace, section: str, *path: str):
    from marrowtox.settings import options_section
    from marrowtox.singlecell.pseudobulk_de import DESettings

    opts = options_section(args, section, *path)
    opts.pop("post_days", None)
    return DESettings(**opts)


def _gene_sets(args: argparse.Namespace) -> dict[str, list[str]]:
    from marrowtox.errors import InputError
    from marrowtox.signatures.scoring import read_gmt

    for f in (args.programs, args.hallmark, *args.h5ad):
        if not Path(f).is_file():
            raise InputError("file not found", file=f, expected="an existing file")
    return {**read_gmt(args.programs), **read_gmt(args.hallmark)}


def _write(table, programs, notes: list[str], args: argparse.Namespace) -> int:
    from marrowtox.atomic import write_tsv

    for note in notes:
        log.info(note)
    write_tsv(table, args.out)
    write_tsv(programs, args.out_programs)
    n = int((table["significant"] == True).sum())  # noqa: E712 (NA-safe)
    log.info("%d genes tested, %d significant; status: %s", int(table["p_value"].notna().sum()), n,
             table["status"].iloc[0] if len(table) else "")  # fmt: skip
    return 0


def run_car(args: argparse.Namespace) -> int:
    from marrowtox.cart.de import CarDEInputs, car_vs_noncar

    notes: list[str] = []
    inp = CarDEInputs(list(args.h5ad), _gene_sets(args), _settings(args, "cart", "de"))
    return _write(*car_vs_noncar(inp, notes), notes, args)


def run_hspc(args: argparse.Namespace) -> int:
    from marrowtox.errors import InputError
    from marrowtox.samplesheet import load_samples
    from marrowtox.singlecell.hspc_de import HspcDEInputs, hspc_post_vs_baseline

    gene_sets = _gene_sets(args)
    post_days = tuple(int(d) for d in args.post_days)
    if len(post_days) != 2 or post_days[0] > post_days[1]:
        raise InputError(f"--post-days {list(post_days)}", key="singlecell.hspc_de.post_days",
                         expected="two days [first, last], first <= last")  # fmt: skip
    h5ads = {Path(p).name.removesuffix(".h5ad"): Path(p) for p in args.h5ad}
    notes: list[str] = []
    inp = HspcDEInputs(h5ads, load_samples(args.samples, check_files=False), post_days, gene_sets,
                       _settings(args, "singlecell", "hspc_de"))  # fmt: skip
    return _write(*hspc_post_vs_baseline(inp, notes), notes, args)
