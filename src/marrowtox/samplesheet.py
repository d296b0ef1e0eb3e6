"""Loading and pre-flight validation of the user's tables (samples, labs, events).

Everything here runs before Snakemake schedules a single job: a cohort rerun on a
cluster must not fail hours in because row 143 has "d28" in the day column. Every
failure names the file, the row (header = line 1), the column and what was expected.
Schemas live in workflow/schemas/ so Snakemake's own `validate` and this module check
the same contract.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import yaml

from marrowtox.errors import InputError, InputErrors, data_row, every, raise_all

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "workflow" / "schemas"
ASSAYS = ("scrna", "dna")
SCRNA_SUFFIXES = (".h5", ".h5ad")
DNA_SUFFIXES = (".bam", ".cram")
#: Read 1 of an inline-UMI amplicon assay (umi: inline), extracted and aligned by the
#: workflow (rules ch_umi_extract, ch_align).
FASTQ_SUFFIXES = (".fastq.gz", ".fq.gz", ".fastq", ".fq")
#: The sheet's `umi` value for UMIs inline at the read start (marrowtox.ch.umi_extract).
INLINE = "inline"


def load_schema(name: str, schema_dir: Path | None = None) -> dict[str, Any]:
    path = (schema_dir or SCHEMA_DIR) / name
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _parse_cell(raw: str, types: list[str]) -> Any:
    """Convert one TSV cell to the JSON type the schema asks for.

    Integers must be written as integers ("28", "-7"): "28.0", "d28" or "" are
    rejected rather than rounded, because a day that was typed wrongly would
    otherwise silently move a sample to another timepoint.
    """
    if raw == "":
        return None
    if "integer" in types:
        try:
            return int(raw, 10)
        except ValueError:
            return raw
    if "number" in types:
        try:
            value = float(raw)
        except ValueError:
            return raw
        return value
    return raw


#: Characters that look like ASCII but are not (pasted from word processors, PDFs or
#: spreadsheets); a day of "\u22127" must not read as text that merely looks like -7.
LOOKALIKES = {
    "\u2212": ("MINUS SIGN", "-"),
    "\u2013": ("EN DASH", "-"),
    "\u2014": ("EM DASH", "-"),
    "\u2010": ("HYPHEN", "-"),
    "\u2011": ("NON-BREAKING HYPHEN", "-"),
    "\u00a0": ("NO-BREAK SPACE", "a plain space or nothing"),
    "\u200b": ("ZERO WIDTH SPACE", "nothing"),
    "\ufeff": ("BYTE ORDER MARK", "nothing"),
    "\u2009": ("THIN SPACE", "a plain space or nothing"),
    "\u00b7": ("MIDDLE DOT", "."),
    "\uff0c": ("FULLWIDTH COMMA", ","),
}


def lookalike(text: str) -> tuple[str, str, str] | None:
    """(character shown as U+XXXX, its name, what to type instead) of the first look-alike."""
    for ch in text:
        if ch in LOOKALIKES:
            name, instead = LOOKALIKES[ch]
            return f"U+{ord(ch):04X}", name, instead
        if "\uff10" <= ch <= "\uff19":
            return f"U+{ord(ch):04X}", "FULLWIDTH DIGIT", str(ord(ch) - 0xFF10)
    return None


def _check_separator(path: Path, columns: list[str], known: list[str], what: str) -> None:
    """A comma- or semicolon-separated sheet read as TSV has one column named after the
    whole header line: say so instead of reporting an unknown column 'patient,sample,..'."""
    if len(columns) != 1:
        return
    header = columns[0]
    for sep, name in ((",", "comma"), (";", "semicolon")):
        parts = [c.strip() for c in header.split(sep)]
        if len(parts) > 1 and sum(p in known for p in parts) >= 2:
            raise InputError(
                f"the {what} table is {name}-separated (header {header!r})",
                file=path,
                row=1,
                expected="tab-separated columns (TSV); save the sheet as 'Text (Tab delimited)'",
            )


def _column_types(schema: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for col, spec in schema.get("properties", {}).items():
        t = spec.get("type", "string")
        out[col] = [t] if isinstance(t, str) else list(t)
    return out


#: The one rule for relative paths in config.yaml (issue 25 item 6): they are relative
#: to the working directory (where `snakemake` or `marrowtox validate` runs; Snakemake's
#: --directory), as Snakemake itself reads them; paths inside a table are relative to
#: that table's folder. Errors show the resolved path.
RELATIVE_RULE = "relative paths in config.yaml are relative to the working directory"


def resolved_path(path: str | Path) -> str:
    """The absolute path a relative config path resolves to (RELATIVE_RULE)."""
    return str(Path(path).absolute())


def read_table(path: str | Path, schema: dict[str, Any], what: str) -> pd.DataFrame:
    """Read a TSV and check columns and every cell against a JSON schema.

    Returns a DataFrame of typed values (integers as Python ints, missing optional
    values as None). Unknown columns are errors, with the nearest known name
    suggested: a misspelt optional column ("bacth") would otherwise be ignored.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(
            f"{what} table not found (resolved to {resolved_path(path)})",
            file=path,
            expected=f"an existing TSV file; {RELATIVE_RULE}",
        )
    try:
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment=None)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot parse {what} table: {exc}", file=path, expected="tab-separated text"
        ) from None
    df.columns = [c.strip().lstrip("\ufeff") for c in df.columns]
    known = list(schema.get("properties", {}))
    required = list(schema.get("required", []))
    _check_separator(path, list(df.columns), known, what)
    header: list[InputError] = []  # every header fault at once (issue 25 item 5)
    suggested: set[str] = set()
    for col in df.columns:
        if col not in known:
            close = difflib.get_close_matches(col, known, n=1)
            suggested.update(close)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            header.append(
                InputError(
                    f"unknown column{hint}",
                    file=path,
                    row=1,
                    column=col,
                    expected=f"one of {known}",
                )
            )
    for col in required:
        # a misspelt required column is one fault (the "did you mean" above names it)
        if col not in df.columns and col not in suggested:
            header.append(
                InputError(
                    "required column is missing",
                    file=path,
                    row=1,
                    column=col,
                    expected=f"header with columns {required}",
                )
            )
    raise_all(header)
    if df.columns.duplicated().any():
        dup = df.columns[df.columns.duplicated()][0]
        raise InputError("column appears twice", file=path, row=1, column=dup)
    df = vocabulary(df, schema)
    types = _column_types(schema)
    if set(schema) <= CELLWISE_KEYS and len(df):
        # every constraint is on one cell: check each distinct value of a column once,
        # and give the refused rows the row-by-row check below (the same messages)
        parsed, refused = _cellwise(df, schema, types, required)
        if not refused.any():
            return pd.DataFrame(
                {c: df[c].map(parsed[c]).tolist() for c in df.columns}, columns=list(df.columns)
            )
        _check_rows(df.iloc[np.flatnonzero(refused)], path, schema, types, required)
    return _check_rows(df, path, schema, types, required)


def vocabulary(df: pd.DataFrame, schema: dict[str, Any]) -> pd.DataFrame:
    """Vocabulary columns (a schema `enum`) matched case-insensitively, with the column's
    stated aliases (`x-aliases` in the schema, e.g. events `LD` -> lymphodepletion):
    `CRS` is crs as `ANC` is anc (issue 25 item 6). Unknown words stay as written, so the
    schema check refuses them naming the accepted values."""
    out = df
    for col, spec in schema.get("properties", {}).items():
        if col not in df.columns or "enum" not in spec:
            continue
        words = {str(e).lower(): str(e) for e in spec["enum"]}
        words |= {str(k).lower(): str(v) for k, v in (spec.get("x-aliases") or {}).items()}
        if out is df:
            out = df.copy()
        out[col] = [words.get(v.strip().lower(), v) for v in df[col]]
    return out


def _check_rows(
    df: pd.DataFrame,
    path: Path,
    schema: dict[str, Any],
    types: dict[str, list[str]],
    required: list[str],
) -> pd.DataFrame:
    """The row-by-row check of read_table (rows named by df's index): each bad row's
    first bad cell is a fault, all raised together (one line per row); returns the
    typed rows."""
    validator = jsonschema.Draft202012Validator(schema)
    records: list[dict[str, Any]] = []
    faults: list[InputError] = []
    for i, raw in zip(df.index, df.to_dict(orient="records"), strict=True):
        try:
            records.append(_check_row(int(i), raw, path, schema, validator, types, required))
        except InputError as exc:
            faults.append(exc)
    raise_all(faults)
    return pd.DataFrame.from_records(records, columns=list(df.columns))


def _check_row(
    i: int,
    raw: dict[str, str],
    path: Path,
    schema: dict[str, Any],
    validator: jsonschema.Draft202012Validator,
    types: dict[str, list[str]],
    required: list[str],
) -> dict[str, Any]:
    """One row of _check_rows: its typed record, or an InputError at its first bad cell."""
    for col, value in raw.items():
        bad = lookalike(value)
        if bad:
            code, name, instead = bad
            raise InputError(
                f"value {value!r} contains {code} {name}, which only looks like {instead!r}",
                file=path,
                row=data_row(i),
                column=col,
                expected=f"plain ASCII: type {instead!r} instead",
            )
    rec = {k: _parse_cell(v.strip(), types.get(k, ["string"])) for k, v in raw.items()}
    # Optional empty cells are absent, not null, so "type: string" still validates.
    rec_js = {k: v for k, v in rec.items() if v is not None or k in required}
    errors = sorted(validator.iter_errors(rec_js), key=lambda e: list(e.path))
    if errors:
        err = errors[0]
        col = str(err.path[0]) if err.path else None
        if err.validator == "required":
            col = err.message.split("'")[1]
        spec = schema["properties"].get(col, {}) if col else {}
        raise InputError(
            f"invalid value {raw.get(col, '')!r}" if col else err.message,
            file=path,
            row=data_row(i),
            column=col,
            expected=_expectation(spec, err),
        )
    return rec


#: Schema keywords that constrain single cells only (properties) or were checked on the
#: header (required: a missing column); with only these, a row is valid exactly when each
#: of its cells is, so read_table validates each distinct value of a column once.
CELLWISE_KEYS = {"$schema", "description", "title", "type", "properties", "required"}


def _cellwise(
    df: pd.DataFrame, schema: dict[str, Any], types: dict[str, list[str]], required: list[str]
) -> tuple[dict[str, dict[str, Any]], np.ndarray]:
    """Per column, raw cell -> typed value (_parse_cell), and a row mask of cells that
    the row-by-row check refuses (a look-alike character, or invalid against the
    schema as the cell's own record: empty optional cells are absent, not null)."""
    validator = jsonschema.Draft202012Validator(
        {k: v for k, v in schema.items() if k != "required"}
    )
    parsed: dict[str, dict[str, Any]] = {}
    bad = np.zeros(len(df), dtype=bool)
    for col in df.columns:
        kinds = types.get(col, ["string"])
        values: dict[str, Any] = {}
        refused = []
        for raw in pd.unique(df[col]):
            v = values[raw] = _parse_cell(raw.strip(), kinds)
            if lookalike(raw) or (
                (v is not None or col in required) and not validator.is_valid({col: v})
            ):
                refused.append(raw)
        parsed[col] = values
        if refused:
            bad |= df[col].isin(refused).to_numpy()
    return parsed, bad


def _expectation(spec: dict[str, Any], err: jsonschema.ValidationError) -> str:
    if "enum" in spec:
        return "one of " + ", ".join(map(str, spec["enum"]))
    t = spec.get("type")
    if t == "integer" or (isinstance(t, list) and "integer" in t):
        if spec.get("examples"):
            # the column's own example (a grade is not a day: issue 25 item 6)
            eg = ", ".join(str(x) for x in spec["examples"])
            return f"an integer: {spec.get('description', '')} (one of {eg})"
        if spec.get("minimum") == 0:
            return "a whole number of at least 0"
        return "an integer (e.g. -7 or 28)"
    if t == "number":
        lo, hi = spec.get("minimum"), spec.get("maximum")
        if lo is not None and hi is not None:
            return f"a number from {lo:g} to {hi:g} ({spec.get('description', '')})"
        if lo is not None:
            return f"a number of at least {lo:g}"
        return "a number"
    if "pattern" in spec:
        return f"text matching {spec['pattern']} ({spec.get('description', '')})"
    if err.validator == "required":
        return "a value"
    return spec.get("description") or err.message


@dataclass(frozen=True)
class Tables:
    samples: pd.DataFrame  # indexed by sample, path resolved
    labs: pd.DataFrame | None
    events: pd.DataFrame | None
    flow: pd.DataFrame | None = None  # pre-gated flow populations (percent filled in)
    #: warnings about valid but suspicious rows (e.g. several values of one analyte on
    #: one day, marrowtox.clinical.same_day), printed by validate and the pre-flight
    warnings: list[str] = field(default_factory=list)


def no_tables() -> Tables:
    """Tables of an empty cohort: what `snakemake --lint` parses the rules with when the
    config names no sample sheet yet (the shipped config/config.yaml). Linting reads the
    rules, not the data, and the pre-flight would rightly refuse the placeholders."""
    columns = list(load_schema("samples.schema.yaml")["properties"])
    empty = pd.DataFrame(columns=columns).set_index("sample", drop=False)
    return Tables(samples=empty, labs=None, events=None)


def resolve(table_path: str | Path, value: str) -> str:
    """Resolve a path written in a table relative to that table's own directory."""
    p = Path(value)
    if p.is_absolute():
        return os.path.normpath(p)
    return os.path.normpath(Path(table_path).parent / p)


def _bam_index(path: str) -> str | None:
    candidates = (
        [path + ".crai", path[:-5] + ".crai"]
        if path.endswith(".cram")
        else [path + ".bai", path[:-4] + ".bai", path + ".csi"]
    )
    return next((c for c in candidates if os.path.exists(c)), None)


MARROW = "marrow"


def with_specimen(df: pd.DataFrame) -> pd.DataFrame:
    """Fill `specimen` (scrna rows default to marrow, dna rows stay missing: None, which
    the schema check skips, not "", which it refuses) and record in
    `specimen_given` whether the sheet said it: a day-0 scRNA sample taken as marrow by
    default may be the CAR T product (issue 25 item 1), so the pre-flight warns."""
    out = df.copy()
    given = [isinstance(v, str) and v.strip() != "" for v in out["specimen"]]
    out["specimen_given"] = given
    out["specimen"] = [
        str(v).strip() if g else (MARROW if a == "scrna" else None)
        for v, g, a in zip(out["specimen"], given, out["assay"], strict=True)
    ]
    return out


def is_marrow(samples: pd.DataFrame) -> pd.Series:
    """Rows that are whole marrow: only these are marrow baselines and marrow time points
    (composition, HSPC %, HSPC IFN index, CAR T % of marrow); blood and product samples,
    and sorted fractions of marrow (a CD3+CAR+ sort is not a marrow with 90% CAR T
    cells), are reported as what they are. A sheet without the column is all marrow."""
    if "specimen" not in samples.columns:
        marrow = pd.Series(True, index=samples.index)
    else:
        marrow = samples["specimen"].isin([MARROW, ""]) | samples["specimen"].isna()
    return marrow & ~is_sorted(samples)


#: Fraction of a sample that is the whole specimen (unsorted): "whole_<specimen>".
WHOLE_PREFIX = "whole_"


def is_sorted(samples: pd.DataFrame) -> pd.Series:
    """Rows whose `fraction` is a sorted population (CD3, CD14, ...), not the whole
    specimen; a sheet without the column has no sorted rows."""
    if "fraction" not in samples.columns:
        return pd.Series(False, index=samples.index)
    f = samples["fraction"].fillna("").astype(str)
    return (f != "") & ~f.str.startswith(WHOLE_PREFIX)


def with_fraction(df: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """Fill `fraction` (empty: the whole specimen, whole_marrow when the specimen is not
    given) and refuse a whole fraction of another specimen (fraction whole_blood on a
    marrow row): which of the two is wrong cannot be guessed."""
    out = df.copy()
    fractions = []
    for i, (f, sp) in enumerate(zip(out["fraction"], out["specimen"], strict=True)):
        sp = sp if isinstance(sp, str) and sp else None
        if not (isinstance(f, str) and f.strip()):
            fractions.append(WHOLE_PREFIX + (sp or MARROW))
            continue
        f = f.strip()
        if f.startswith(WHOLE_PREFIX) and sp and f != WHOLE_PREFIX + sp:
            raise InputError(
                f"fraction {f!r} is not the whole of specimen {sp!r}",
                file=path,
                row=data_row(int(out.index[i])),
                column="fraction",
                expected=f"{WHOLE_PREFIX}{sp}, a sorted fraction (CD3, CD14, ...) or empty",
            )
        fractions.append(f)
    out["fraction"] = fractions
    return out


def specimen_warnings(samples: pd.DataFrame, path: str | Path) -> list[str]:
    """Day-0 scRNA samples whose specimen was not given: taken as marrow, though on the
    infusion day the sample is often the CAR T product."""
    if "specimen_given" not in samples.columns:
        return []
    sel = (samples["assay"] == "scrna") & (samples["day"] == 0) & ~samples["specimen_given"]
    return [
        f"{path}: sample {s} (day 0, scrna) has no specimen and is taken as marrow (a "
        "marrow baseline); if it is the CAR T product or blood, say so in the specimen "
        "column (marrow, blood, product, apheresis)"
        for s in samples.loc[sel, "sample"]
    ]


#: Formats found in the wild that the workflow does not read, and how to convert them.
CONVERTERS: dict[str, str] = {
    ".csv": "a genes x cells text table: convert it to .h5ad with anndata, e.g. "
    "python -c \"import anndata as ad; ad.read_csv('IN.csv').T.write_h5ad('OUT.h5ad')\"",
    ".tsv": "a genes x cells text table: convert it to .h5ad with anndata, e.g. "
    "python -c \"import anndata as ad; ad.read_text('IN.tsv', delimiter='\\t').T"
    ".write_h5ad('OUT.h5ad')\"",
    ".txt": "a genes x cells text table (GEO style): convert it to .h5ad with anndata, e.g. "
    "python -c \"import anndata as ad; ad.read_text('IN.txt', delimiter='\\t').T"
    ".write_h5ad('OUT.h5ad')\"",
    ".loom": 'a loom file: convert it to .h5ad with anndata, e.g. python -c "import '
    "anndata as ad; ad.read_loom('IN.loom').write_h5ad('OUT.h5ad')\" (raw counts in X)",
    ".rds": "an R object: export it with zellkonverter::writeH5AD (SingleCellExperiment) or "
    "SeuratDisk (SaveH5Seurat, then Convert to h5ad), raw counts in X",
    ".mtx": "a bare Matrix Market file: put it in a folder with barcodes.tsv(.gz) and "
    "features.tsv(.gz) (a 10x matrix folder) and give the folder",
}


def converter_hint(p: str | Path) -> str | None:
    """How to convert a matrix format the workflow does not read (GEO-style text tables,
    gzipped or not, loom, R objects, a bare .mtx), or None (used by the sheet's check
    and by `marrowtox init`)."""
    name = Path(p).name.lower()
    for suffix in (".gz", ".bz2", ".zip"):
        name = name.removesuffix(suffix)
    return CONVERTERS.get(Path(name).suffix)


#: Optional sample-sheet columns: absent from a sheet, they are empty for every row.
OPTIONAL_COLUMNS = (
    "batch",
    "normal",
    "chemistry",
    "car_construct",
    "bam",
    "adt",
    "raw_matrix",
    "specimen",
    "fraction",
    "vdj",
    "umi",
    "umi_layout",
)
#: Optional columns that name a file, resolved against the sheet's folder.
FILE_COLUMNS = ("bam", "adt", "raw_matrix", "vdj")


def load_samples(path: str | Path, *, check_files: bool = True) -> pd.DataFrame:
    """Read and validate the sample sheet; returns it indexed by sample with resolved paths."""
    df = read_table(path, load_schema("samples.schema.yaml"), "sample")
    if df.empty:
        raise InputError("the sample sheet has no rows", file=path, expected="one row per sample")
    for opt in OPTIONAL_COLUMNS:
        if opt not in df.columns:
            df[opt] = None
    _refuse_duplicates(df, path)
    df = _with_defaults(df, path)
    from marrowtox.cart.constructs import load as load_constructs

    ctx = _RowChecks(path, set(df["sample"]), load_constructs(), check_files)
    every(df.iterrows(), ctx.check)
    return df.set_index("sample", drop=False)


def _refuse_duplicates(df: pd.DataFrame, path: str | Path) -> None:
    dups = df["sample"][df["sample"].duplicated()]
    raise_all(
        [
            InputError(
                f"duplicate sample id '{s}' (first seen in row "
                f"{data_row(int(df.index[df['sample'] == s][0]))})",
                file=path,
                row=data_row(int(i)),
                column="sample",
                expected="unique sample ids",
            )
            for i, s in dups.items()
        ]
    )


def _with_defaults(df: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """Empty optional cells filled with what they mean, file paths resolved."""
    df["batch"] = [b if b else p for b, p in zip(df["batch"], df["patient"], strict=True)]
    df = with_specimen(df)
    df = with_fraction(df, path)
    for col in ("normal", "chemistry", "car_construct", *FILE_COLUMNS):
        df[col] = df[col].fillna("")
    # no UMI column, or an empty cell: each read is a molecule (the behaviour without UMIs)
    df["umi"] = df["umi"].fillna("none").replace("", "none")
    df["umi_layout"] = df["umi_layout"].fillna("").astype(str).str.strip()
    df["path"] = [resolve(path, p) for p in df["path"]]
    for col in FILE_COLUMNS:
        df[col] = [resolve(path, b) if b else "" for b in df[col]]
    return df


@dataclass(frozen=True)
class _RowChecks:
    """What a row is checked against: the sheet, its sample ids, the known CAR
    constructs, and whether the files must exist."""

    path: str | Path
    known: set[str]
    constructs: dict
    check_files: bool

    def fault(self, r: int, column: str, detail: str, expected: str) -> InputError:
        return InputError(detail, file=self.path, row=r, column=column, expected=expected)

    def check(self, item: tuple[Any, pd.Series]) -> None:
        """One row's first fault (every() lists each faulty row)."""
        i, row = item
        r = data_row(int(i))
        self.references(row, r)
        inline = row["umi"] == INLINE
        if inline or row["umi_layout"]:
            _check_inline(row, self.path, r)
        self.input_kind(row, r, inline)
        if not self.check_files:
            return
        p = row["path"]
        if not os.path.exists(p):
            raise self.fault(
                r,
                "path",
                f"file not found: {p}",
                "an existing file (relative paths are relative to the sheet)",
            )
        self.cell_bam(row, r)
        self.scrna_extras(row, r)
        _check_vdj(row, self.path, r)
        if row["assay"] == "dna" and not inline and _bam_index(p) is None:
            raise self.fault(
                r,
                "path",
                f"no index next to {p}",
                "a BAM index (.bai/.csi) or CRAM index (.crai); run `samtools index`",
            )

    def references(self, row: pd.Series, r: int) -> None:
        """car_construct, normal and umi name something that exists for this row."""
        from marrowtox.cart.constructs import DEFAULT as CONSTRUCTS

        construct = row["car_construct"]
        if construct and construct not in self.constructs:
            close = difflib.get_close_matches(construct, list(self.constructs), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            products = ", ".join(
                f"{k} ({v.get('product', '')})" for k, v in self.constructs.items()
            )
            raise self.fault(
                r,
                "car_construct",
                f"unknown CAR construct {construct!r}{hint}",
                f"one of {products} (defined in {CONSTRUCTS}), or empty",
            )
        if row["normal"] and row["normal"] not in self.known:
            raise self.fault(
                r,
                "normal",
                f"normal sample '{row['normal']}' is not in the sheet",
                "a sample id of this sheet or empty",
            )
        if row["umi"] != "none" and row["assay"] != "dna":
            raise self.fault(
                r,
                "umi",
                f"umi {row['umi']!r} on a {row['assay']} row",
                "none (or empty) for scrna rows: UMIs are read from dna BAMs",
            )

    def input_kind(self, row: pd.Series, r: int, inline: bool) -> None:
        """The path is a kind of file the row's assay reads."""
        p = row["path"]
        if row["assay"] == "scrna":
            if not (p.endswith(SCRNA_SUFFIXES) or os.path.isdir(p)):
                hint = converter_hint(p)
                raise self.fault(
                    r,
                    "path",
                    f"unsupported scRNA input {p!r}" + (f": {hint}" if hint else ""),
                    "a 10x HDF5 (.h5), a 10x matrix folder or an .h5ad file",
                )
        elif not p.endswith(FASTQ_SUFFIXES if inline else DNA_SUFFIXES):
            raise self.fault(
                r,
                "path",
                f"unsupported DNA input {p!r}",
                "a read 1 FASTQ (.fastq/.fq, gzipped or not) for umi: inline"
                if inline
                else "a coordinate-sorted .bam or .cram (or a FASTQ with umi: inline "
                "and umi_layout)",
            )

    def cell_bam(self, row: pd.Series, r: int) -> None:
        """A cell-barcoded BAM: scrna rows only, present and indexed."""
        b = row["bam"]
        if not b:
            return
        if row["assay"] != "scrna":
            raise self.fault(
                r,
                "bam",
                "a cell-barcoded BAM is only read for scrna rows",
                "empty for dna rows (their path is the BAM)",
            )
        if not os.path.exists(b):
            raise self.fault(r, "bam", f"file not found: {b}", "an existing BAM")
        if _bam_index(b) is None:
            raise self.fault(
                r, "bam", f"no index next to {b}", "a BAM index (.bai/.csi); run `samtools index`"
            )

    def scrna_extras(self, row: pd.Series, r: int) -> None:
        """Protein counts and the raw matrix: scrna rows only, a readable kind, present."""
        for col, what, kind in (
            ("adt", "protein (ADT) counts", "an .h5ad of antibody counts, or a 10x HDF5/matrix folder"),
            ("raw_matrix", "a raw matrix of empty droplets", "a raw (unfiltered) 10x HDF5/matrix folder or .h5ad"),
        ):  # fmt: skip
            a = row[col]
            if not a:
                continue
            if row["assay"] != "scrna":
                raise self.fault(
                    r, col, f"{what} is only read for scrna rows", "empty for dna rows"
                )
            if not (a.endswith(SCRNA_SUFFIXES) or os.path.isdir(a)):
                raise self.fault(r, col, f"unsupported input {a!r}", kind)
            if not os.path.exists(a):
                raise self.fault(
                    r,
                    col,
                    f"file not found: {a}",
                    f"an existing file: {kind} (relative paths: to the sheet)",
                )


#: Suffixes of the T-cell receptor files read (marrowtox.cart.clonotypes).
VDJ_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz")


def _check_vdj(row: pd.Series, path: str | Path, r: int) -> None:
    """The optional `vdj` file: scrna rows only, a Cell Ranger contig CSV or AIRR TSV."""
    v = row["vdj"]
    if not v:
        return
    if row["assay"] != "scrna":
        raise InputError(
            "T-cell receptor contigs are only read for scrna rows",
            file=path,
            row=r,
            column="vdj",
            expected="empty for dna rows",
        )
    if not v.lower().endswith(VDJ_SUFFIXES):
        raise InputError(
            f"unsupported VDJ input {v!r}",
            file=path,
            row=r,
            column="vdj",
            expected="Cell Ranger filtered_contig_annotations.csv or an AIRR rearrangement .tsv",
        )
    if not os.path.exists(v):
        raise InputError(
            f"file not found: {v}",
            file=path,
            row=r,
            column="vdj",
            expected="an existing contig file (relative paths: to the sheet)",
        )


def load_long_table(
    path: str | Path,
    schema_name: str,
    what: str,
    patients: set[str] | None,
    check: Callable[[pd.DataFrame, str | Path], object] | None = None,
) -> pd.DataFrame:
    """Read labs or events and check every patient is one of the sample sheet's
    (`patients` None: the sheet itself is faulty, nothing to check against).

    A patient with labs but no sample is almost always a typo in an id; reporting
    it here is cheaper than a cohort table with a silent extra row. `check`: the
    table's own row checks (vocabularies, units), whose faults are listed with the
    unknown patients, sorted by row (every faulty row at once: issue 25 item 5).
    """
    df = read_table(path, load_schema(schema_name), what)
    known = sorted(patients) if patients is not None else []
    faults = [
        InputError(
            f"patient '{pat}' is not in the sample sheet{_did_you_mean(pat, known)}",
            file=path,
            row=data_row(i),
            column="patient",
            expected="a patient id of samples.tsv",
        )
        for i, pat in enumerate(df["patient"] if patients is not None else [])
        if pat not in patients
    ]
    if check is not None:
        try:
            check(df, path)
        except InputError as exc:
            faults += exc.faults if isinstance(exc, InputErrors) else [exc]
    raise_all(sorted(faults, key=lambda f: f.row or 0))
    return df


def _did_you_mean(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1)
    return f"; did you mean '{close[0]}'?" if close else ""


#: Inputs the user must name, and what to put there. The shipped config/config.yaml
#: leaves them empty: a first run stops here with this list instead of running another
#: cohort's files (the demo's inputs live in config/demo.yaml, named only by the demo).
REQUIRED_INPUTS: dict[str, str] = {
    "samples": "your samples.tsv (one row per sequenced sample; `marrowtox init` writes a "
    "starter from Cell Ranger folders and BAMs)",
}
#: Needed only when the sample sheet has DNA rows: a scRNA-only cohort needs no genome.
DNA_INPUTS: dict[str, str] = {
    "reference.fasta": "your genome FASTA, indexed (.fai beside it)",
    "reference.gtf": "a GENCODE-style GTF of the panel genes",
    "reference.panel_bed": "the BED of your DNA panel's target regions",
}


def _config_value(config: dict[str, Any], dotted: str) -> Any:
    node: Any = config
    for key in dotted.split("."):
        node = (node or {}).get(key) if isinstance(node, dict) else None
    return node


def unset_inputs(config: dict[str, Any], has_dna: bool | None) -> list[str]:
    """'config key K: set it to ...' for each required input left empty. `has_dna`: whether
    the sheet has DNA rows (None: the sheet is not known yet, so the genome keys are
    listed as needed for DNA rows)."""
    out = [
        f"config key {key}: set it to {what}"
        for key, what in REQUIRED_INPUTS.items()
        if not _config_value(config, key)
    ]
    if has_dna is False:
        return out
    when = "samples.tsv has DNA rows" if has_dna else "needed only if samples.tsv has DNA rows"
    out += [
        f"config key {key}: set it to {what} ({when})"
        for key, what in DNA_INPUTS.items()
        if not _config_value(config, key)
    ]
    return out


def require_inputs(
    config: dict[str, Any], has_dna: bool | None, file: str | Path | None = None
) -> None:
    """Raise one InputError naming every required input left empty (see unset_inputs)."""
    problems = unset_inputs(config, has_dna)
    if problems:
        raise InputError(
            "; ".join(problems),
            file=file,
            expected="every required input set (config/config.yaml says what each is)",
        )


def _check_inline(row: pd.Series, path: str, r: int) -> None:
    """An inline-UMI row: a dna row with a umi_layout the extraction understands; a
    umi_layout on any other row is an error (it would be silently ignored)."""
    from marrowtox.ch.umi_extract import parse_layout

    if row["umi"] != INLINE:
        raise InputError(
            f"umi_layout {row['umi_layout']!r} on a row with umi {row['umi']!r}",
            file=path,
            row=r,
            column="umi_layout",
            expected="empty unless umi is inline (UMI at the start of read 1 of a FASTQ)",
        )
    if row["assay"] != "dna":
        return  # the umi column's own check names the assay
    try:
        parse_layout(row["umi_layout"])
    except InputError as exc:
        raise InputError(
            exc.detail if row["umi_layout"] else "umi: inline without a umi_layout",
            file=path,
            row=r,
            column="umi_layout",
            expected=exc.expected,
        ) from None
