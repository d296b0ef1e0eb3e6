"""Clone tracking across a patient's timepoints with forced re-genotyping.

Absence must be measured, not assumed: every clone position found in any sample is
re-counted in every sample of the patient, with its limit of detection there, so an
"emergent" clone is one that was absent at a depth that could have seen it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pysam

from marrowtox.ch import stats
from marrowtox.ch.call import CallParams
from marrowtox.ch.pileup import PileupParams, alleles, count_regions

COLUMNS = [
    "patient",
    "chrom",
    "pos",
    "ref",
    "alt",
    "gene",
    "hgvsp",
    "hgvsp_short",
    "chip_rule",
    "sample",
    "day",
    "depth",
    "alt_count",
    "vaf",
    "vaf_ci_low",
    "vaf_ci_high",
    "lod_vaf",
    "detected",
    "status",
]


def _allele_key(ref: str, alt: str) -> str:
    if len(ref) == len(alt) == 1:
        return alt
    if len(ref) > len(alt):
        return f"-{len(ref) - len(alt)}"
    return "+" + alt[1:]


def genotype(
    bam: str, fasta: str, chrom: str, pos1: int, ref: str, alt: str, params: CallParams
) -> tuple[int, int]:
    with pysam.AlignmentFile(bam, "rb") as b, pysam.FastaFile(fasta) as fa:
        pile = count_regions(
            b,
            fa,
            [(chrom, pos1 - 1, pos1, "")],
            PileupParams(params.min_base_quality, params.min_mapping_quality),
        )
    if not len(pile):
        return 0, 0
    al = alleles(pile)
    key = _allele_key(ref, alt)
    n = sum(int(c) for a, c in zip(al.allele, al.alt_count, strict=True) if a == key)
    return int(pile.depth[0]), n


def status(rows: pd.DataFrame, min_depth: int) -> str:
    r = rows.sort_values("day")
    if (r["depth"] < min_depth).any():
        return "not callable"
    det = r["detected"].to_numpy()
    first, last = r.iloc[0], r.iloc[-1]
    if not det[0] and det[1:].any():
        later = r[r["detected"]]["vaf"].max()
        return "emergent" if first["lod_vaf"] < later else "not callable"
    if det[0] and not det[-1]:
        return "lost"
    if len(r) > 1 and last["vaf_ci_low"] > first["vaf_ci_high"]:
        return "expanding"
    if len(r) > 1 and last["vaf_ci_high"] < first["vaf_ci_low"]:
        return "shrinking"
    return "persistent"


def track(
    patient: str,
    samples: Sequence[str],
    days: Sequence[int],
    calls: Sequence[str],
    bams: Sequence[str],
    lods: Sequence[str],
    fasta: str,
    params: CallParams,
) -> pd.DataFrame:
    tables = [pd.read_csv(c, sep="\t") for c in calls]
    allc = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    if allc.empty:
        return pd.DataFrame(columns=COLUMNS)
    clones = allc[allc["chip"].fillna("").isin(["CHIP", "low-VAF CH"])].drop_duplicates(
        ["chrom", "pos", "ref", "alt"]
    )
    rows = []
    for c in clones.itertuples(index=False):
        for s, d, bam, lod_path in zip(samples, days, bams, lods, strict=True):
            depth, alt = genotype(bam, fasta, c.chrom, int(c.pos), c.ref, c.alt, params)
            lod_t = pd.read_csv(lod_path, sep="\t")
            rate = float(lod_t["error_rate"].iloc[0]) if len(lod_t) else stats.MIN_RATE
            lod = (
                stats.limit_of_detection(depth, rate, params.lod_alpha, params.min_alt)
                if depth
                else np.nan
            )
            lo, hi = stats.wilson(np.array([alt]), np.array([depth]))
            p = (
                stats.binom_pvalues(np.array([alt]), np.array([depth]), np.array([rate]))[0]
                if depth
                else 1.0
            )
            rows.append(
                {
                    "patient": patient,
                    "chrom": c.chrom,
                    "pos": int(c.pos),
                    "ref": c.ref,
                    "alt": c.alt,
                    "gene": c.gene,
                    "hgvsp": c.hgvsp,
                    "hgvsp_short": c.hgvsp_short,
                    "chip_rule": c.chip_rule,
                    "sample": s,
                    "day": int(d),
                    "depth": depth,
                    "alt_count": alt,
                    "vaf": alt / depth if depth else np.nan,
                    "vaf_ci_low": float(lo[0]),
                    "vaf_ci_high": float(hi[0]),
                    "lod_vaf": lod,
                    "detected": bool(alt >= params.min_alt and p < params.lod_alpha),
                }
            )
    out = pd.DataFrame(rows, columns=COLUMNS[:-1])
    out["status"] = out.groupby(["chrom", "pos", "ref", "alt"], sort=False)["sample"].transform(
        lambda _: ""
    )
    for _, g in out.groupby(["chrom", "pos", "ref", "alt"], sort=False):
        out.loc[g.index, "status"] = status(g, params.min_depth)
    return (
        out[COLUMNS]
        .sort_values(["chrom", "pos", "alt", "day"], kind="stable")
        .reset_index(drop=True)
    )
