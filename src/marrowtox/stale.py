"""Outputs of samples and patients no longer in the sample sheet.

Snakemake builds what the sheet asks for and never deletes: a sample removed from
samples.tsv leaves its tables, h5ad and report in results/. No report reads them (the
reports are built from the sheet), but a user browsing results/ or globbing
results/cart/*.tsv would take them for current. `marrowtox stale` lists them, and
removes them with --remove; the cohort report names them in a note (issue 25 item 7).

A file is matched against the stable path patterns of marrowtox.layout; a wildcard
matches a sample or patient id as samples.schema.yaml allows them (letters, digits,
`_` and `-`, no dots), so "P01.cells.tsv" is P01's cells table, never a sample
"P01.cells". Files that match no pattern (the user's own) are never touched.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from marrowtox.layout import PATTERNS, RESULTS, report_stem

#: A wildcard value as samples.schema.yaml allows ids (and report stems are ids or
#: "patient_001").
ID = r"[A-Za-z0-9_-]+"
#: The id samples.schema.yaml reserves for the cohort's own outputs.
RESERVED = "cohort"


@dataclass
class Stale:
    """Files under results/ of ids the sheet no longer has."""

    samples: dict[str, list[Path]] = field(default_factory=dict)
    patients: dict[str, list[Path]] = field(default_factory=dict)

    @property
    def files(self) -> list[Path]:
        return sorted(p for d in (self.samples, self.patients) for ps in d.values() for p in ps)

    def summary(self) -> str:
        """One line naming each stale id and its number of files."""
        parts = [f"sample {s} ({len(f)} files)" for s, f in sorted(self.samples.items())]
        parts += [f"patient {p} ({len(f)} files)" for p, f in sorted(self.patients.items())]
        return "; ".join(parts)


def _regex(pattern: str) -> tuple[re.Pattern[str], str] | None:
    """The pattern (relative to results/) as a regex, and its wildcard (None: no wildcard)."""
    rel = pattern.removeprefix(f"{RESULTS}/")
    kinds = re.findall(r"\{(\w+)\}", rel)
    if not kinds:
        return None
    rx = re.escape(rel)
    for k in set(kinds):
        rx = rx.replace(re.escape("{" + k + "}"), f"(?P<{k}>{ID})")
    return re.compile(rx + r"\Z"), kinds[0]


def find_stale(results: str | Path, samples: pd.DataFrame) -> Stale:
    """Every file under `results` that belongs to a sample or patient not in `samples`
    (the sample sheet); a patient's report under any stem of the current patients (id
    or pseudonym) is current."""
    root = Path(results)
    known_samples = {str(s) for s in samples["sample"]}
    patients = sorted({str(p) for p in samples["patient"]})
    known_patients = set(patients)
    known_patients |= {report_stem(p, patients, True) for p in patients}
    regexes = [r for r in map(_regex, PATTERNS.values()) if r is not None]
    # the cohort's own outputs (results/singlecell/cohort.h5ad, reports/cohort.html)
    # would match a wildcard pattern too: "cohort" is reserved in samples.schema.yaml
    fixed = {pat.removeprefix(f"{RESULTS}/") for pat in PATTERNS.values() if "{" not in pat}
    out = Stale()
    if not root.is_dir():
        return out
    for f in sorted(root.rglob("*")):
        if not f.is_file() or f.name.startswith("."):
            continue
        rel = f.relative_to(root).as_posix()
        if rel in fixed:
            continue
        hits = [(kind, m.group(kind)) for rx, kind in regexes if (m := rx.match(rel))]
        hits = [(kind, v) for kind, v in hits if v != RESERVED]
        if not hits:
            continue
        current = any(
            v in (known_samples if kind == "sample" else known_patients) for kind, v in hits
        )
        if current:
            continue
        kind, value = hits[0]
        bucket = out.samples if kind == "sample" else out.patients
        bucket.setdefault(value, []).append(f)
    return out


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "stale",
        help="list (or --remove) outputs of samples/patients no longer in samples.tsv",
    )
    p.add_argument("--samples", required=True, help="the current samples.tsv")
    p.add_argument("--results", default=RESULTS)
    p.add_argument("--remove", action="store_true", help="delete the listed files")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from marrowtox.samplesheet import load_samples

    samples = load_samples(args.samples, check_files=False)
    stale = find_stale(args.results, samples)
    if not stale.files:
        print(f"no outputs of samples or patients outside {args.samples} in {args.results}")
        return 0
    for f in stale.files:
        print(f)
    verb = "removed" if args.remove else "found"
    print(f"{verb} {len(stale.files)} files of ids not in {args.samples}: {stale.summary()}")
    if args.remove:
        for f in stale.files:
            f.unlink()
    else:
        print("rerun with --remove to delete them")
    return 0
