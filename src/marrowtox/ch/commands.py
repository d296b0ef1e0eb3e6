"""`marrowtox ch-call | ch-track`."""

from __future__ import annotations

import argparse
from pathlib import Path

RULES = Path(__file__).resolve().parents[3] / "resources" / "chip" / "rules.yaml"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ch-call", help="low-VAF SNV/indel calls over a panel, annotated and CHIP-curated"
    )
    p.add_argument("--bam", required=True)
    p.add_argument("--sample", required=True)
    p.add_argument("--fasta", required=True)
    p.add_argument("--bed", required=True)
    p.add_argument("--gtf", help="GENCODE-style GTF (annotation skipped without it)")
    p.add_argument("--rules", default=str(RULES))
    p.add_argument("--pon", help="panel-of-normals VCF of recurrent artifacts")
    p.add_argument("--out-vcf", required=True)
    p.add_argument("--out-tsv", required=True)
    p.add_argument("--out-lod", required=True)
    p.add_argument("--chip-min-vaf", type=float, default=0.02)
    p.add_argument("--low-vaf-min", type=float, default=0.01)
    p.set_defaults(func=_call)
    p = sub.add_parser(
        "ch-track", help="clones of one patient across timepoints (forced re-genotyping)"
    )
    p.add_argument("--patient", required=True)
    p.add_argument("--samples", nargs="+", required=True)
    p.add_argument("--days", nargs="+", type=int, required=True)
    p.add_argument("--calls", nargs="+", required=True)
    p.add_argument("--bams", nargs="+", required=True)
    p.add_argument("--lods", nargs="+", required=True)
    p.add_argument("--fasta", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(func=_track)


def _call(a: argparse.Namespace) -> int:
    from marrowtox.ch.call import CallParams
    from marrowtox.ch.steps import call_step

    call_step(
        a.sample,
        a.bam,
        a.fasta,
        a.bed,
        a.gtf,
        a.rules,
        CallParams(chip_min_vaf=a.chip_min_vaf, low_vaf_min=a.low_vaf_min),
        a.out_vcf,
        a.out_tsv,
        a.out_lod,
        a.pon,
    )
    return 0


def _track(a: argparse.Namespace) -> int:
    from marrowtox.atomic import write_tsv
    from marrowtox.ch.call import CallParams
    from marrowtox.ch.track import track

    write_tsv(
        track(a.patient, a.samples, a.days, a.calls, a.bams, a.lods, a.fasta, CallParams()), a.out
    )
    return 0
