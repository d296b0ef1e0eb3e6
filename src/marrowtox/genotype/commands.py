"""`marrowtox sc-genotype`: per-cell UMI counts at CH sites, and carrier calls per cell type."""

from __future__ import annotations

import argparse
import csv
import gzip
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from marrowtox.errors import InputError
from marrowtox.genotype.count import GenotypeParams
from marrowtox.settings import add_schema_options, options_section

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

BARCODE_COLUMNS = ("barcode", "cell_barcode", "cell")
TYPE_COLUMNS = ("cell_type", "celltype")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sc-genotype",
        help="per-cell ref/alt UMIs at CH sites from a 10x BAM; carrier call per cell type",
    )
    p.add_argument("--bam", required=True, help="coordinate-sorted, indexed, CB/UB tags")
    p.add_argument(
        "--barcodes",
        required=True,
        help="TSV/CSV with barcode and cell_type columns, or barcodes.tsv[.gz] (one per line)",
    )
    p.add_argument("--vcf", nargs="+", default=[], help="sites: SNVs and indels of VCFs")
    p.add_argument(
        "--calls", nargs="+", default=[], help="sites: CHIP/low-VAF CH rows of calls.tsv"
    )
    p.add_argument("--sample", required=True, help="sample id (for the log)")
    p.add_argument("--out", required=True, help="long table: variant, barcode, UMI counts")
    p.add_argument("--out-summary", help="variant x cell type carrier table (needs cell types)")
    p.add_argument("--out-sites", help="the sites genotyped, also those no read reached")
    p.add_argument(
        "--car-cells", help="CAR calls of car-call (barcode, car_positive): adds a CAR T row"
    )
    # every setting of singlecell.genotype, with the schema's defaults and descriptions
    add_schema_options(p, "singlecell", "genotype", skip=("hotspots",))
    p.set_defaults(func=_genotype)


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def read_barcodes(path: str | Path) -> tuple[list[str], pd.Series | None]:
    """Cells to count and their types (None for a plain barcode list).

    A plain list has one barcode per line (Cell Ranger barcodes.tsv[.gz]); a table has a
    header with a barcode column and, optionally, a cell_type column, tab- or
    comma-separated. A barcode listed twice with two types is an error, not a choice.
    """
    import pandas as pd

    path = Path(path)
    try:
        with _open_text(path) as fh:
            lines = [ln.rstrip("\r\n") for ln in fh]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read barcodes ({exc})", file=path) from None
    lines = [ln for ln in lines if ln.strip()]
    if not lines:
        raise InputError("no barcodes", file=path, expected="at least one cell barcode")
    first = lines[0]
    sep = "\t" if "\t" in first else "," if "," in first else None
    header = [h.strip().lower() for h in (first.split(sep) if sep else [first])]
    bc_col = next((header.index(c) for c in BARCODE_COLUMNS if c in header), None)
    if sep and bc_col is None:
        raise InputError(
            "barcode table has no barcode column",
            file=path,
            row=1,
            expected=f"a header naming {BARCODE_COLUMNS[0]} (and {TYPE_COLUMNS[0]})",
        )
    if bc_col is None:  # plain list without header
        cells = list(dict.fromkeys(ln.strip() for ln in lines))
        return cells, None
    type_col = next((header.index(c) for c in TYPE_COLUMNS if c in header), None)
    types: dict[str, str] = {}
    for i, row in enumerate(csv.reader(lines[1:], delimiter=sep or "\t"), start=2):
        if len(row) <= bc_col or not row[bc_col].strip():
            raise InputError("empty barcode", file=path, row=i, column=header[bc_col])
        bc = row[bc_col].strip()
        t = row[type_col].strip() if type_col is not None and len(row) > type_col else ""
        if bc in types and types[bc] != t:
            raise InputError(
                f"barcode {bc} listed with two cell types ({types[bc]!r}, {t!r})",
                file=path,
                row=i,
                column=header[type_col] if type_col is not None else None,
                expected="one cell type per barcode",
            )
        types[bc] = t
    if not types:
        raise InputError("no barcodes", file=path, expected="at least one cell barcode")
    cells = list(types)
    if type_col is None:
        return cells, None
    typed = {bc: t for bc, t in types.items() if t}
    return cells, pd.Series(typed, name="cell_type", dtype=object)


def _genotype(a: argparse.Namespace) -> int:
    from marrowtox.genotype.steps import genotype_step

    section = options_section(a, "singlecell", "genotype")
    section.pop("background_types", None)
    params = GenotypeParams.from_config(section)
    if not a.vcf and not a.calls:
        raise InputError("no sites given", expected="--vcf and/or --calls")
    cells, types = read_barcodes(a.barcodes)
    if a.out_summary and types is None:
        raise InputError(
            "--out-summary needs cell types",
            file=a.barcodes,
            expected="a table with barcode and cell_type columns",
        )
    stats = genotype_step(
        a.bam,
        cells,
        types,
        a.calls,
        a.vcf,
        params,
        a.background_types,
        a.out,
        a.out_summary,
        a.sample,
        car_cells=a.car_cells,
        out_sites=a.out_sites,
    )
    log.info("%s: reads %s", a.sample, ", ".join(f"{k} {v}" for k, v in stats.items()))
    return 0
