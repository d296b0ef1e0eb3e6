"""Per-sample QC of the UMI consensus: family sizes, duplicates, duplex yield, and the
background error per base before and after consensus on the same targets.

Background error per base: over the target positions, the non-reference SNV bases
divided by the depth (duplicates, secondary and QC-failed reads dropped, overlapping
mates once), on the positions whose raw error is not in the top `ERROR_TRIM` share (a
10% trimmed set): positions where a real variant or a co-amplified paralogue sits
carry the same non-reference share in every read of a molecule, so they are not
errors and consensus cannot remove them (on the real SiMSen-Seq reads the PIK3CA
exon 9 amplicon shows 2-6% at E542/E545, the known chr22 pseudogene, in raw reads
and consensus alike). The raw error is given twice: as sequenced (every base,
`error_raw_all`, what a per-base error of the reads means) and after the caller's
base- and mapping-quality filters (`error_raw`, what the raw-read caller sees); the
consensus error uses the caller's filters (consensus qualities are the model's).
`error_reduction` = error_raw_all / error_consensus, `error_reduction_filtered` =
error_raw / error_consensus. No floor: a consensus with no error base reports 0 with
its depth, never an invented rate.
"""

from __future__ import annotations

import numpy as np

from marrowtox.ch.consensus import ConsensusStats
from marrowtox.ch.pileup import BASE_INDEX, PileupParams, pileup_targets, read_bed

#: Share of positions, highest raw error first, left out of the error (a 10% trimmed set).
ERROR_TRIM = 0.10

QC_COLUMNS = [
    "sample",
    "reads",
    "reads_used",
    "templates",
    "families",
    "molecules",
    "duplicate_rate",
    "mean_family_size",
    "median_family_size",
    "singleton_families",
    "duplex_molecules",
    "duplex_yield",
    "error_raw_all",
    "error_raw",
    "error_consensus",
    "error_reduction",
    "error_reduction_filtered",
    "bases_raw",
    "bases_consensus",
]
HIST_COLUMNS = ["sample", "family_size", "families"]


def background_error(
    bam: str, fasta: str, bed: str, params: PileupParams, positions: set | None = None
) -> tuple[float, int, set]:
    """(error per base, depth summed over the positions used, the positions used).

    `positions`: measure only these (chrom, pos) (the raw BAM's kept positions, so
    consensus is measured where raw was)."""
    pile = pileup_targets(bam, fasta, read_bed(bed), params)
    ref = np.array([BASE_INDEX.get(b, -1) for b in pile.ref])
    ok = (ref >= 0) & (pile.depth > 0)
    tot = pile.snv.sum(axis=2)
    non_ref = tot.sum(axis=1) - np.where(ref >= 0, tot[np.arange(len(ref)), np.maximum(ref, 0)], 0)
    keys = list(zip(pile.chrom, pile.pos.tolist(), strict=True))
    if positions is not None:
        ok &= np.array([k in positions for k in keys], bool)
    elif ok.any():
        rate = non_ref[ok] / pile.depth[ok]
        hi = np.quantile(rate, 1 - ERROR_TRIM)
        keep = np.zeros(len(ok), bool)
        keep[np.flatnonzero(ok)[rate <= hi]] = True
        ok = keep
    depth = int(pile.depth[ok].sum())
    used = {keys[i] for i in np.flatnonzero(ok)}
    return (float(non_ref[ok].sum() / depth) if depth else float("nan")), depth, used


def qc_rows(
    sample: str,
    stats: ConsensusStats,
    error_raw_all: float,
    error_raw: tuple[float, int],
    error_cons: tuple[float, int],
) -> tuple[dict, list[dict]]:
    """The QC row and the family-size histogram rows of one sample."""
    sizes = np.array(sorted(stats.family_sizes.elements()), np.int64)
    used = stats.reads - stats.reads_no_umi - stats.reads_low_mapq
    er, ec = error_raw[0], error_cons[0]
    row = {
        "sample": sample,
        "reads": stats.reads,
        "reads_used": used,
        "templates": stats.templates,
        "families": stats.families,
        "molecules": stats.molecules_written,
        "duplicate_rate": 1 - stats.families / stats.templates if stats.templates else np.nan,
        "mean_family_size": float(sizes.mean()) if sizes.size else np.nan,
        "median_family_size": float(np.median(sizes)) if sizes.size else np.nan,
        "singleton_families": int((sizes == 1).sum()),
        "duplex_molecules": stats.duplex_molecules,
        "duplex_yield": (
            stats.duplex_molecules / stats.molecules_written if stats.molecules_written else np.nan
        ),
        "error_raw_all": error_raw_all,
        "error_raw": er,
        "error_consensus": ec,
        "error_reduction": error_raw_all / ec if ec and ec == ec else np.nan,
        "error_reduction_filtered": er / ec if ec and ec == ec and er == er else np.nan,
        "bases_raw": error_raw[1],
        "bases_consensus": error_cons[1],
    }
    hist = [
        {"sample": sample, "family_size": k, "families": v}
        for k, v in sorted(stats.family_sizes.items())
    ]
    return row, hist
