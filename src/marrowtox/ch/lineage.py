"""In which blood lineage a CH clone sits: its VAF in sorted fractions (CD3, CD14, ...).

The seed study traced clones in sorted blood CD3+ and CD14+ cells; a clone found in
CD14+ monocytes but measured absent from CD3+ T cells arose in a myeloid-committed
cell, one present in both arose in a progenitor with lymphoid output (a lymphoid-
competent HSC). Each clone of the patient (any sample's CH call) is re-counted in every
DNA sample by ch.track (forced genotyping, with the limit of detection at that depth),
and the sorted samples decide the call:

* multilineage: detected in a myeloid fraction (CD14, granulocytes) and in a lymphoid
  one (CD3, CD3+CAR+, CD19), at any time;
* lymphoid-involved: detected in a lymphoid fraction, in no myeloid fraction;
* myeloid-restricted: detected in a myeloid fraction, and absent from every lymphoid
  fraction tested at a depth whose limit of detection lies below the clone's lowest
  detected myeloid VAF (absence that could have been seen; Arends et al., Leukemia
  2018, and Buscarlet et al., Blood 2018, for lineage tracing of CH by sorting);
* otherwise no call, with the reason (no sorted fraction, no lymphoid fraction, a
  lymphoid fraction too shallow, not detected in any sorted lineage fraction).

CD34 (progenitors) and whole-specimen samples are listed beside, not used in the call:
a progenitor clone says nothing of its output lineage. A sample whose depth at the site
is below ch.min_depth is "not callable" there and is no evidence either way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from marrowtox.ch.call import CallParams
from marrowtox.samplesheet import WHOLE_PREFIX

#: Lineage of each sorted fraction of the samples schema's vocabulary.
FRACTION_LINEAGE: dict[str, str] = {
    "CD14": "myeloid",
    "granulocytes": "myeloid",
    "CD3": "lymphoid",
    "CD3+CAR+": "lymphoid",
    "CD19": "lymphoid",
    "CD34": "progenitor",
}
MULTI, LYMPHOID, MYELOID = "multilineage", "lymphoid-involved", "myeloid-restricted"
CLONE_KEY = ["chrom", "pos", "ref", "alt"]
COLUMNS = [
    "patient",
    "chrom",
    "pos",
    "ref",
    "alt",
    "gene",
    "hgvsp_short",
    "sample",
    "day",
    "fraction",
    "lineage_group",
    "depth",
    "alt_count",
    "vaf",
    "vaf_ci_low",
    "vaf_ci_high",
    "lod_vaf",
    "detected",
    "lineage",
    "lineage_reason",
]


@dataclass(frozen=True)
class LineageCall:
    lineage: str  # MULTI, LYMPHOID, MYELOID or "" (no call)
    reason: str  # the evidence in words, or why there is no call


def lineage_group(fraction: str) -> str:
    """myeloid, lymphoid, progenitor or whole (the unsorted specimen)."""
    if not fraction or fraction.startswith(WHOLE_PREFIX):
        return "whole"
    return FRACTION_LINEAGE[fraction]


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def call_lineage(rows: pd.DataFrame, min_depth: int) -> LineageCall:
    """The lineage call of one clone from its rows (one per sample: lineage_group,
    fraction, day, depth, vaf, lod_vaf, detected), by the rule of the module doc."""
    ok = rows[(rows["depth"] >= min_depth) & rows["lineage_group"].isin(["myeloid", "lymphoid"])]
    if not (rows["lineage_group"].isin(["myeloid", "lymphoid"])).any():
        return LineageCall("", "no sorted myeloid or lymphoid fraction")
    if ok.empty:
        return LineageCall("", f"sorted fractions below ch.min_depth ({min_depth}) at the site")
    my, ly = ok[ok["lineage_group"] == "myeloid"], ok[ok["lineage_group"] == "lymphoid"]
    my_det, ly_det = my[my["detected"]], ly[ly["detected"]]

    def where(df: pd.DataFrame) -> str:
        return ", ".join(
            f"{f} d{d} {_pct(v)}"
            for f, d, v in zip(df["fraction"], df["day"], df["vaf"], strict=True)
        )

    if len(my_det) and len(ly_det):
        return LineageCall(MULTI, f"in {where(my_det)} and {where(ly_det)}")
    if len(ly_det):
        return LineageCall(LYMPHOID, f"in {where(ly_det)}; in no myeloid fraction")
    if len(my_det):
        if ly.empty:
            return LineageCall("", f"in {where(my_det)}; no lymphoid fraction measured")
        floor = float(my_det["vaf"].min())
        shallow = ly[~(ly["lod_vaf"] < floor)]
        if len(shallow):
            lods = ", ".join(
                f"{f} d{d} LOD {_pct(v)}"
                for f, d, v in zip(
                    shallow["fraction"], shallow["day"], shallow["lod_vaf"], strict=True
                )
            )
            return LineageCall(
                "", f"in {where(my_det)}; lymphoid fraction too shallow to exclude it ({lods})"
            )
        lods = ", ".join(
            f"{f} d{d} LOD {_pct(v)}"
            for f, d, v in zip(ly["fraction"], ly["day"], ly["lod_vaf"], strict=True)
        )
        return LineageCall(MYELOID, f"in {where(my_det)}; absent from {lods}")
    return LineageCall("", "not detected in any sorted myeloid or lymphoid fraction")


def fraction_table(
    tracked: pd.DataFrame, fractions: dict[str, str], min_depth: int
) -> pd.DataFrame:
    """Per clone and sample (every fraction, every time) the VAF, with the clone's
    lineage call; `tracked` is ch.track.track over all the patient's DNA samples."""
    if tracked.empty:
        return pd.DataFrame(columns=COLUMNS)
    out = tracked.copy()
    out["fraction"] = [fractions[s] for s in out["sample"]]
    out["lineage_group"] = [lineage_group(f) for f in out["fraction"]]
    out["lineage"], out["lineage_reason"] = "", ""
    for _, g in out.groupby(CLONE_KEY, sort=False):
        c = call_lineage(g, min_depth)
        out.loc[g.index, "lineage"] = c.lineage
        out.loc[g.index, "lineage_reason"] = c.reason
    out["lod_vaf"] = out["lod_vaf"].astype(float).replace({np.inf: np.nan})
    return (
        out[COLUMNS]
        .sort_values(["chrom", "pos", "alt", "day", "fraction"], kind="stable")
        .reset_index(drop=True)
    )


def clone_calls(table: pd.DataFrame) -> pd.DataFrame:
    """One row per clone: gene, protein change, lineage and reason (the report's view)."""
    if table.empty:
        return pd.DataFrame(
            columns=[*CLONE_KEY, "gene", "hgvsp_short", "lineage", "lineage_reason"]
        )
    return table.drop_duplicates(CLONE_KEY)[
        [*CLONE_KEY, "gene", "hgvsp_short", "lineage", "lineage_reason"]
    ].reset_index(drop=True)


@dataclass(frozen=True)
class LineageInputs:
    """One patient's DNA samples of every fraction, in the same order in each field."""

    patient: str
    samples: list[str]
    days: list[int]
    fractions: list[str]
    calls: list[str]  # results/ch/<sample>.calls.tsv
    bams: list[str]
    lods: list[str]  # results/ch/<sample>.lod.tsv
    fasta: str


def lineage_step(inputs: LineageInputs, params: CallParams) -> pd.DataFrame:
    """Re-count every clone of the patient in every fraction and call its lineage."""
    from marrowtox.ch.track import track

    tracked = track(
        inputs.patient,
        inputs.samples,
        inputs.days,
        inputs.calls,
        inputs.bams,
        inputs.lods,
        inputs.fasta,
        params,
    )
    fractions = dict(zip(inputs.samples, inputs.fractions, strict=True))
    return fraction_table(tracked, fractions, params.min_depth)
