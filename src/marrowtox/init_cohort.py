"""`marrowtox init`: a starter cohort (samples.tsv, labs/events templates, config) from
the folders a user already holds.

A new user has Cell Ranger output folders and DNA BAMs, not a sample sheet. Writing
the sheet by hand is where first runs go wrong (paths, ids, the wrong matrix of a
run), so this finds the matrices Cell Ranger writes (`count`: outs/filtered_feature_
bc_matrix.h5 or its matrix folder; `multi`: outs/per_sample_outs/<sample>/count/
sample_filtered_feature_bc_matrix.h5; bare .h5/.h5ad files) and the BAM/CRAM files,
writes one row per sample, and leaves what it cannot know (the day of each sample,
and patient/timepoint without a --pattern) empty for the user to fill: `marrowtox
validate` then names every cell still empty. It never overwrites a file.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from marrowtox.errors import InputError
from marrowtox.samplesheet import converter_hint, load_schema

#: Matrices of a Cell Ranger `count` run, best first, relative to the run folder.
COUNT_FILTERED = (
    "outs/filtered_feature_bc_matrix.h5",
    "outs/filtered_feature_bc_matrix",
    "outs/filtered_gene_bc_matrices_h5.h5",  # Cell Ranger 2
)
COUNT_RAW = ("outs/raw_feature_bc_matrix.h5", "outs/raw_feature_bc_matrix")
#: A Cell Ranger `multi` run: one folder per sample, the raw matrix shared by the run.
MULTI_SAMPLES = "outs/per_sample_outs"
MULTI_FILTERED = (
    "count/sample_filtered_feature_bc_matrix.h5",
    "count/sample_filtered_feature_bc_matrix",
)
MULTI_RAW = ("outs/multi/count/raw_feature_bc_matrix.h5", "outs/multi/count/raw_feature_bc_matrix")
#: Files read as scRNA samples when found bare in a folder (a sample per file).
SCRNA_FILES = (".h5", ".h5ad")
DNA_FILES = (".bam", ".cram")
#: A bare file named <sample><suffix> beside <sample>.h5/.h5ad holds its protein counts.
ADT_SUFFIXES = ("_adt.h5ad", ".adt.h5ad", "_ADT.h5ad")

#: Every column of the sample-sheet schema, in its order (specimen included: empty is
#: marrow for scRNA rows; say product or blood where a run is one).
SAMPLE_COLUMNS: tuple[str, ...] = tuple(load_schema("samples.schema.yaml")["properties"])
#: Templates of the optional tables: header, then commented example rows.
LABS_TEMPLATE = """patient\tday\tanalyte\tvalue\tunit
# one row per measurement; day relative to infusion (day 0). Analytes and units:
# README "Glossary of the cohort table and accepted units". Delete these comments.
# P01\t-5\tanc\t2100\t/uL
# P01\t-5\tplt\t145\t10^9/L
# P01\t-5\tcrp\t1.2\tmg/dL
# P01\t-5\tferritin\t420\tng/mL
"""
EVENTS_TEMPLATE = """patient\tday\tevent\tgrade
# one row per event; day relative to infusion (day 0); grade empty when it has none.
# Events: infusion, crs, icans, iec_hs, tocilizumab, steroids, gcsf, transfusion,
# next_therapy, progression, death, last_follow_up. Delete these comments.
# P01\t0\tinfusion\t
# P01\t2\tcrs\t1
"""


@dataclass
class Found:
    """One sample found on disk, before it becomes a sheet row."""

    sample: str
    assay: str
    path: Path
    raw_matrix: Path | None = None
    adt: Path | None = None
    notes: list[str] = field(default_factory=list)


def _first(root: Path, candidates: Iterable[str]) -> Path | None:
    return next((root / c for c in candidates if (root / c).exists()), None)


def find_scrna(roots: Sequence[Path]) -> tuple[list[Found], list[str]]:
    """scRNA samples under the given folders (Cell Ranger count and multi runs, bare
    .h5/.h5ad files) and a note for each file skipped as a matrix format the workflow
    does not read, naming the converter to use. Raises InputError for a folder with no
    sample (naming the converters of what it holds)."""
    out: list[Found] = []
    skipped: list[str] = []
    for root in roots:
        if not root.is_dir():
            raise InputError("not a folder", file=root, expected="a folder of Cell Ranger outputs")
        before = len(out)
        runs = sorted(
            {p.parent for p in root.rglob("outs")} | ({root} if (root / "outs").is_dir() else set())
        )
        claimed: set[Path] = set()
        for run in runs:
            claimed.add(run)
            multi = run / MULTI_SAMPLES
            if multi.is_dir():
                raw = _first(run, MULTI_RAW)
                for d in sorted(x for x in multi.iterdir() if x.is_dir()):
                    m = _first(d, MULTI_FILTERED)
                    if m is not None:
                        out.append(Found(d.name, "scrna", m, raw_matrix=raw))
                continue
            m = _first(run, COUNT_FILTERED)
            if m is not None:
                out.append(Found(run.name, "scrna", m, raw_matrix=_first(run, COUNT_RAW)))
        for f in sorted(root.rglob("*")):
            if not f.is_file() or any(r in f.parents for r in claimed):
                continue
            if f.name.endswith(ADT_SUFFIXES):
                continue
            if f.suffix in SCRNA_FILES:
                stem = f.name[: -len(f.suffix)]
                adt = next(
                    (f.with_name(stem + s) for s in ADT_SUFFIXES if f.with_name(stem + s).exists()),
                    None,
                )
                out.append(Found(stem, "scrna", f, adt=adt))
            elif (hint := converter_hint(f)) is not None and not _in_matrix_folder(f):
                skipped.append(f"skipped {f}: not read by the workflow; it looks like {hint}")
        if len(out) == before:
            raise InputError(
                "no scRNA matrix found" + ("; " + "; ".join(skipped) if skipped else ""),
                file=root,
                expected="Cell Ranger runs (<run>/outs/filtered_feature_bc_matrix.h5 or "
                "its folder; multi: outs/per_sample_outs/<sample>/count/"
                "sample_filtered_feature_bc_matrix.h5) or .h5/.h5ad files",
            )
    return out, skipped


def _in_matrix_folder(f: Path) -> bool:
    """A 10x matrix folder's own files (matrix.mtx.gz, barcodes.tsv.gz...) are not samples."""
    names = {x.name for x in f.parent.iterdir()}
    return bool({"matrix.mtx", "matrix.mtx.gz"} & names)


def find_dna(roots: Sequence[Path]) -> list[Found]:
    """BAM/CRAM files under the given folders (a sample per file, named by its stem)."""
    out = []
    for root in roots:
        if not root.is_dir():
            raise InputError("not a folder", file=root, expected="a folder of BAM/CRAM files")
        files = sorted(f for f in root.rglob("*") if f.is_file() and f.suffix in DNA_FILES)
        if not files:
            raise InputError(
                "no .bam or .cram file found", file=root, expected="DNA BAM/CRAM files"
            )
        out += [Found(f.stem, "dna", f) for f in files]
    return out


_ID = re.compile(r"[^A-Za-z0-9_-]")


def sample_id(name: str) -> str:
    """A sample/patient id the sheet accepts (letters, digits, _ and -)."""
    return _ID.sub("_", name) or "sample"


def parse_name(name: str, pattern: re.Pattern[str] | None) -> dict[str, str]:
    """patient, timepoint (and day, when the pattern has that group) from a sample name;
    empty strings when there is no pattern or it does not match (left for the user)."""
    if pattern is None:
        return {}
    m = pattern.search(name)
    if m is None:
        return {}
    groups = {k: v for k, v in m.groupdict().items() if v is not None}
    if "patient" in groups:
        groups["patient"] = sample_id(groups["patient"])
    return groups


def _rel(p: Path | None, base: Path) -> str:
    if p is None:
        return ""
    try:
        return str(p.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(p.resolve())


def sheet_rows(
    found: Sequence[Found], pattern: re.Pattern[str] | None, base: Path
) -> tuple[list[dict[str, str]], list[str]]:
    """One row per sample (ids made unique per assay) and notes for the user."""
    from marrowtox.prot.header import has_proteins

    rows, notes, seen = [], [], set()
    for f in found:
        sid = sample_id(f.sample)
        if sid != f.sample:
            notes.append(f"sample {f.sample!r} renamed {sid!r} (ids: letters, digits, _ and -)")
        if sid in seen:
            sid = f"{sid}_{f.assay}"
        n = 2
        while sid in seen:
            sid, n = f"{sid}_{n}", n + 1
        seen.add(sid)
        parsed = parse_name(f.sample, pattern)
        if pattern is not None and not parsed:
            notes.append(
                f"sample {sid}: name {f.sample!r} does not match --pattern: fill patient and timepoint"
            )
        proteins = f.assay == "scrna" and has_proteins(str(f.path), str(f.adt or ""))
        rows.append(
            {
                "patient": parsed.get("patient", ""),
                "sample": sid,
                "assay": f.assay,
                "timepoint": parsed.get("timepoint", ""),
                "day": parsed.get("day", ""),
                "path": _rel(f.path, base),
                "adt": _rel(f.adt, base),
                # the raw matrix's empty droplets only serve the protein normalisation (DSB)
                "raw_matrix": _rel(f.raw_matrix, base) if proteins else "",
            }
        )
    return rows, notes


def write_new(path: Path, text: str) -> None:
    """Write a file that must not exist yet (init never overwrites the user's work)."""
    try:
        with open(path, "x", encoding="utf-8") as fh:
            fh.write(text)
    except FileExistsError:
        raise InputError(
            "already exists; marrowtox init does not overwrite",
            file=path,
            expected="a new --out folder, or move the file away first",
        ) from None


def _yaml_str(value: object) -> str:
    """A YAML scalar for any path (JSON strings are YAML: spaces, # and : stay text)."""
    return json.dumps(str(value))


def config_text(out: Path, has_dna: bool, reference: dict[str, str]) -> str:
    """A config naming the written tables (absolute paths: it is read from the folder
    snakemake runs in); the genome keys, given or empty, when there are DNA rows."""
    out = out.resolve()
    ref = {
        k: _yaml_str(Path(reference[k]).resolve() if reference.get(k) else "")
        for k in ("fasta", "gtf", "panel_bed")
    }
    lines = [
        "# Written by `marrowtox init`; laid over config/config.yaml when given with",
        f"#   snakemake --configfile {out / 'config.yaml'} --cores N",
        f"# Check it first: marrowtox validate --config config/config.yaml {out / 'config.yaml'}",
        f"samples: {_yaml_str(out / 'samples.tsv')}",
        "# Fill the templates, then replace null by the path (comment lines are not allowed):",
        f"labs: null     # {out / 'labs.tsv'}",
        f"events: null   # {out / 'events.tsv'}",
        "flow: null",
    ]
    if has_dna:
        lines += [
            "# REQUIRED for the DNA samples: the genome and panel they were aligned to",
            "reference:",
            f"  fasta: {ref['fasta']}       # genome FASTA, indexed (.fai beside it)",
            f"  gtf: {ref['gtf']}         # GENCODE-style GTF of the panel genes",
            f"  panel_bed: {ref['panel_bed']}   # target regions of the panel (BED)",
        ]
    return "\n".join(lines) + "\n"


def init_cohort(
    out: Path,
    scrna: Sequence[Path] = (),
    dna: Sequence[Path] = (),
    pattern: str | None = None,
    reference: dict[str, str] | None = None,
) -> tuple[dict[str, Path], list[str]]:
    """Write samples.tsv, labs.tsv, events.tsv and config.yaml into `out` (none may
    exist); returns the paths and the notes for the user."""
    if not scrna and not dna:
        raise InputError("nothing to look in", expected="--scrna and/or --dna folders")
    regex = None
    if pattern:
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise InputError(
                f"--pattern {pattern!r}: {exc}", expected="a Python regular expression"
            ) from None
        if not {"patient", "timepoint"} <= set(regex.groupindex):
            raise InputError(
                f"--pattern {pattern!r} lacks a named group",
                expected="groups (?P<patient>...) and (?P<timepoint>...), optionally (?P<day>...)",
            )
    found, skipped = find_scrna(scrna) if scrna else ([], [])
    found += find_dna(dna)
    out.mkdir(parents=True, exist_ok=True)
    rows, notes = sheet_rows(found, regex, out)
    notes = skipped + notes
    paths = {name: out / f"{name}.tsv" for name in ("samples", "labs", "events")}
    paths["config"] = out / "config.yaml"
    existing = [p for p in paths.values() if p.exists()]
    if existing:  # refuse before writing any of them
        raise InputError(
            "already exists; marrowtox init does not overwrite",
            file=existing[0],
            expected="a new --out folder, or move the file away first",
        )
    sheet = ["\t".join(SAMPLE_COLUMNS)]
    sheet += ["\t".join(r.get(c, "") for c in SAMPLE_COLUMNS) for r in rows]
    write_new(paths["samples"], "\n".join(sheet) + "\n")
    write_new(paths["labs"], LABS_TEMPLATE)
    write_new(paths["events"], EVENTS_TEMPLATE)
    has_dna = any(f.assay == "dna" for f in found)
    write_new(paths["config"], config_text(out, has_dna, reference or {}))
    empty = [c for c in ("patient", "timepoint", "day") if any(not r[c] for r in rows)]
    if empty:
        notes.append(
            f"fill the empty {', '.join(empty)} cells of {paths['samples']} (day: relative to infusion, day 0)"
        )
    return paths, notes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "init",
        help="write a starter samples.tsv, labs/events templates and config from Cell Ranger folders and BAMs",
        description=__doc__.splitlines()[0],
    )
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        help="folder to write (files in it are never overwritten)",
    )
    p.add_argument(
        "--scrna",
        nargs="*",
        default=[],
        type=Path,
        help="folders of Cell Ranger outputs or .h5/.h5ad files",
    )
    p.add_argument("--dna", nargs="*", default=[], type=Path, help="folders of DNA BAM/CRAM files")
    p.add_argument(
        "--pattern",
        help="regular expression with named groups patient and timepoint (optionally day) "
        "matched against each sample's name, e.g. '(?P<patient>P\\d+)_(?P<timepoint>[A-Z0-9]+)'; "
        "without it those cells are left empty to fill",
    )
    p.add_argument(
        "--fasta", default="", help="genome FASTA of the DNA samples (config reference.fasta)"
    )
    p.add_argument("--gtf", default="", help="GTF of the panel genes (config reference.gtf)")
    p.add_argument("--panel-bed", default="", help="panel BED (config reference.panel_bed)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    reference = {"fasta": args.fasta, "gtf": args.gtf, "panel_bed": args.panel_bed}
    paths, notes = init_cohort(args.out, args.scrna, args.dna, args.pattern, reference)
    for name, path in paths.items():
        print(f"wrote {name}: {path}")
    for note in notes:
        print(f"note: {note}")
    print(f"next: marrowtox validate --config config/config.yaml {paths['config']}")
    return 0
