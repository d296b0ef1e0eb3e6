"""Antibody names: decorations stripped, aliases mapped, isotype controls recognised.

Cell Ranger feature names are whatever the feature reference said: "CD34-AB",
"CD34_TotalSeqC", "ADT_CD34", "Hu.CD34", "anti-human CD34". The marker model uses
CD designations (resources/markers/marrow_adt.yaml), so names are cleaned first
(`strip_decorations`), then looked up in the shipped alias table, case- and
punctuation-insensitively (`canonical`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from marrowtox.errors import InputError

ALIASES = Path(__file__).resolve().parents[3] / "resources" / "markers" / "adt_aliases.tsv"

#: Prefixes and suffixes antibody vendors and feature references put around a name.
_PREFIX = re.compile(r"^(?:adt|cite|ab|prot|protein|anti[- ]?human|anti|hu|human|hs)[._\- ]+", re.I)
_SUFFIX = re.compile(
    r"[._\- ]+(?:ab|adt|prot|protein|antibody|totalseq[._\- ]?[abcd]?|tsc|tsb|tsa)$", re.I
)
#: "CD34_TotalSeqC_0054" style: a barcode number after the vendor tag.
_VENDOR_ID = re.compile(r"[._\- ]+(?:totalseq[._\- ]?[abcd]?|tsc|tsb|tsa)[._\- ]*[a-z]?\d+$", re.I)

#: Isotype controls by name: "isotype", "ctrl"/"control", or a host species + Ig
#: ("Mouse_IgG1", "Rat-IgG2b", "Armenian hamster IgG"). Plain "IgM"/"IgD" are real B-cell
#: surface markers, so an Ig name alone is not a control.
_ISOTYPE = re.compile(
    r"(isotype|\bctrl\b|control|^(?:ms|mouse|rat|hamster|armenian[._\- ]?hamster|arm[._\- ]?ham)"
    r"[._\- ]*ig[gamde]?\d*[a-z]?)",
    re.I,
)


def strip_decorations(name: str) -> str:
    """The antibody's target with vendor/pipeline decorations removed."""
    out = name.strip()
    for _ in range(3):  # "ADT_Hu.CD34_TotalSeqC": several layers
        before = out
        out = _VENDOR_ID.sub("", out)
        out = _SUFFIX.sub("", out)
        out = _PREFIX.sub("", out)
        if out == before:
            break
    return out or name.strip()


def key(name: str) -> str:
    """Case- and punctuation-insensitive matching key."""
    return re.sub(r"[^0-9a-z]", "", name.lower())


def load_aliases(path: str | Path = ALIASES) -> dict[str, str]:
    """alias key -> protein name (the protein names themselves included)."""
    try:
        table = pd.read_csv(path, sep="\t", comment="#", dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read alias table: {exc}", file=path, expected="a TSV") from None
    for col in ("alias", "protein"):
        if col not in table.columns:
            raise InputError(
                "column missing", file=path, row=1, column=col, expected="alias, protein"
            )
    out: dict[str, str] = {}
    for alias, protein in zip(table["alias"], table["protein"], strict=True):
        out.setdefault(key(protein), protein)
        out[key(alias)] = protein
    return out


def is_isotype(name: str) -> bool:
    return bool(_ISOTYPE.search(name))


def canonical(name: str, aliases: dict[str, str]) -> str:
    """The protein name of one feature (isotype controls keep their cleaned name)."""
    if is_isotype(name):
        return strip_decorations(name)
    clean = strip_decorations(name)
    return aliases.get(key(clean), aliases.get(key(name), clean))


def canonical_names(names: Sequence[str], aliases: dict[str, str]) -> list[str]:
    """Protein names of features; two features mapping to one name keep a suffix."""
    out = [canonical(n, aliases) for n in names]
    seen: dict[str, int] = {}
    for i, n in enumerate(out):
        if n in seen:
            seen[n] += 1
            out[i] = f"{n}-{seen[n]}"
        else:
            seen[n] = 1
    return out


def isotype_controls(
    original: Sequence[str], names: Sequence[str], configured: Iterable[str], where: str
) -> list[str]:
    """Protein names of the isotype controls: recognised by name, plus the configured list
    (each must name a feature, by its original or cleaned name, else InputError)."""
    found = [n for o, n in zip(original, names, strict=True) if is_isotype(o)]
    by_key = {key(o): n for o, n in zip(original, names, strict=True)}
    by_key.update({key(n): n for n in names})
    missing = []
    for c in configured:
        hit = by_key.get(key(c)) or by_key.get(key(strip_decorations(c)))
        if hit is None:
            missing.append(c)
        elif hit not in found:
            found.append(hit)
    if missing:
        raise InputError(
            f"isotype control(s) {', '.join(missing)} not among the antibody features "
            f"({len(names)}: {', '.join(list(original)[:8])}{' ...' if len(names) > 8 else ''})",
            file=where,
            expected="singlecell.protein.isotypes naming features of the protein matrix",
        )
    return found
