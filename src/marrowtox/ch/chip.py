"""CHIP curation from resources/chip/rules.yaml (Jaiswal 2014, Bick 2020, Vlasschaert 2023).

A call is CHIP when it passes all filters, its VAF is at least the configured minimum
(default 2%, Steensma 2015) and a gene rule matches; between the low-VAF minimum
(default 1%) and 2% it is labelled "low-VAF CH".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

TRUNCATING = {"frameshift", "nonsense", "splice_site", "frameshift&splice_site"}


def load_rules(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)["genes"]


def match(
    gene: str,
    consequence: str,
    hgvsp_short: str,
    codon: int | None,
    exon: int | None,
    rules: dict[str, list[dict[str, Any]]],
) -> str:
    """Name of the first matching rule, or ''."""
    change = hgvsp_short.removeprefix("p.")
    conseq = set(consequence.split("&"))
    for r in rules.get(gene, []):
        allowed = set(r["consequences"])
        if "truncating" in allowed:
            allowed |= TRUNCATING
        if not conseq & allowed:
            continue
        if "changes" in r and change not in r["changes"]:
            continue
        if "codons" in r and codon not in r["codons"]:
            continue
        if "codon_ranges" in r and not any(a <= (codon or -1) <= b for a, b in r["codon_ranges"]):
            continue
        if "exons" in r and exon not in r["exons"]:
            continue
        return r["name"]
    return ""


def classify(filter_: str, vaf: float, rule: str, chip_min_vaf: float, low_vaf_min: float) -> str:
    if filter_ != "PASS" or not rule:
        return ""
    if vaf >= chip_min_vaf:
        return "CHIP"
    if vaf >= low_vaf_min:
        return "low-VAF CH"
    return ""
