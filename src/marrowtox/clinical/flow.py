"""Pre-gated flow cytometry populations (flow.tsv), checked before any job.

One row per population and gate: `patient, day, specimen (marrow|blood), population,
parent` and a `percent` of the parent gate (0-100) or an event `count`; a count-only
row takes its percent from the parent's count on the same patient, day and specimen
(a CD3+ count of 4,000 under a CD45+ count of 20,000 is 20%); without a parent count
(a top gate such as CD45+ of viable) it stays a count, its percent missing. Population names are
compared without case and spaces ("cd34 +" is "CD34+").

Which flow population is compared with which scRNA estimate is a fixed vocabulary
(`COMPARABLE`): the scRNA side counts cell types of marrowtox.celltypes in the same
marrow sample (same patient and day); the report shows both side by side and
patients.tsv carries the flow values (docs/flow.md).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from marrowtox.errors import InputError, data_row

#: (population, parent) -> what the scRNA estimate of that marrow sample counts
#: (marrowtox.report.flow computes it); the flow value is shown beside it.
COMPARABLE: dict[tuple[str, str], str] = {
    ("CD34+", "CD45+"): "HSPC (HSC/MPP + LMPP) % of CD45+ cell types",
    ("CD3+", "CD45+"): "T cells (CD4 T + CD8 T) % of CD45+ cell types",
    ("CD19+", "CD45+"): "pre-B/B % of CD45+ cell types",
    ("CAR+", "CD3+"): "CAR T % of T cells (car_t_pct_of_t)",
    ("CAR+", "CD45+"): "CAR T % of CD45+ cell types",
}


def gate(name: object) -> str:
    """Canonical gate name: spaces removed, upper case ('cd34 +' -> 'CD34+')."""
    return "".join(str(name).split()).upper()


def _missing(v: object) -> bool:
    return v is None or (isinstance(v, float) and v != v)


def validate_flow(df: pd.DataFrame, path: str | Path) -> pd.DataFrame:
    """Check the rows together and fill `percent` of count-only rows; returns a copy
    with spaces removed from `population`/`parent` (compare them with `gate`), `percent` filled and `percent_source`
    ('given', 'from counts' or 'count only'). Raises InputError naming file, row, column, value."""
    df = df.copy()
    for col in ("count", "percent"):
        if col not in df.columns:
            df[col] = None
    df["population"] = ["".join(str(p).split()) for p in df["population"]]
    df["parent"] = ["".join(str(p).split()) for p in df["parent"]]
    seen: dict[tuple, int] = {}
    for i, r in enumerate(df.itertuples(index=False)):
        row = data_row(i)
        if gate(r.population) == gate(r.parent):
            raise InputError(
                f"population {r.population!r} is its own parent",
                file=path,
                row=row,
                column="parent",
                expected="the enclosing gate (e.g. CD45+ for CD34+, CD3+ for CAR+)",
            )
        if _missing(r.count) and _missing(r.percent):
            raise InputError(
                f"{r.population} of {r.parent}: neither count nor percent given",
                file=path,
                row=row,
                column="percent",
                expected="a percent of the parent gate (0-100) or an event count",
            )
        key = (r.patient, r.day, r.specimen, gate(r.population), gate(r.parent))
        if key in seen:
            raise InputError(
                f"{r.population} of {r.parent} on day {r.day} ({r.specimen}) appears twice "
                f"(first in row {seen[key]})",
                file=path,
                row=row,
                column="population",
                expected="one row per patient, day, specimen, population and parent",
            )
        seen[key] = row
    counts = {
        (r.patient, r.day, r.specimen, gate(r.population)): (int(r.count), data_row(i))
        for i, r in enumerate(df.itertuples(index=False))
        if not _missing(r.count)
    }
    percents, sources = [], []
    for i, r in enumerate(df.itertuples(index=False)):
        parent = counts.get((r.patient, r.day, r.specimen, gate(r.parent)))
        if not _missing(r.count) and parent is not None and int(r.count) > parent[0]:
            raise InputError(
                f"count {int(r.count)} of {r.population} exceeds the count {parent[0]} of "
                f"its parent {r.parent} (row {parent[1]})",
                file=path,
                row=data_row(i),
                column="count",
                expected=f"at most the parent's count on day {r.day} ({r.specimen})",
            )
        if not _missing(r.percent):
            percents.append(float(r.percent))
            sources.append("given")
            continue
        if parent is None:  # an event count of a top gate (e.g. CD45+ of viable)
            percents.append(None)
            sources.append("count only")
            continue
        percents.append(100.0 * int(r.count) / parent[0] if parent[0] else None)
        sources.append("from counts")
    df["percent"] = percents
    df["percent_source"] = sources
    return df


def load_flow(path: str | Path, patients: set[str]) -> pd.DataFrame:
    """Read, check (schema, patients of the sample sheet, the rows together) and
    return flow.tsv with percents filled (the pre-flight and the report use this)."""
    from marrowtox.samplesheet import load_long_table

    if not Path(path).is_file():
        from marrowtox.samplesheet import RELATIVE_RULE, resolved_path

        raise InputError(
            f"flow table not found (resolved to {resolved_path(path)})",
            file=path,
            expected=f"an existing TSV; {RELATIVE_RULE}",
        )
    df = load_long_table(path, "flow.schema.yaml", "flow", patients)
    return validate_flow(df, path)
