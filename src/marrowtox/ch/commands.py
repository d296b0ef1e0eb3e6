"""`marrowtox ch-call | ch-pon | ch-consensus | ch-umi-extract | ch-align | ch-annotate | ch-track |
ch-lineage`."""

from __future__ import annotations

import argparse
from pathlib import Path

from marrowtox.ch.umi import UMI_SOURCES
from marrowtox.settings import add_schema_options, options_section, section_defaults

RULES = Path(__file__).resolve().parents[3] / "resources" / "chip" / "rules.yaml"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ch-call", help="low-VAF SNV/indel calls over a panel, annotated and CHIP-curated"
    )
    p.add_argument(
        "--bam", required=True, nargs="+", help="one BAM per sample (several: one process)"
    )
    p.add_argument("--sample", required=True, nargs="+", help="sample ids, as --bam")
    p.add_argument("--fasta", required=True)
    p.add_argument("--bed", required=True)
    p.add_argument("--gtf", help="GENCODE-style GTF (annotation skipped without it)")
    p.add_argument("--rules", default=str(RULES))
    p.add_argument("--pon", help="panel-of-normals VCF of recurrent artifacts")
    p.add_argument(
        "--pon-model", help="per-site error model of normals (marrowtox ch-pon; pon.tsv.gz)"
    )
    p.add_argument("--out-vcf", required=True, nargs="+", help="per sample, as --bam")
    p.add_argument("--out-tsv", required=True, nargs="+", help="per sample, as --bam")
    p.add_argument("--out-lod", required=True, nargs="+", help="per sample, as --bam")
    p.add_argument(
        "--out-evidence",
        nargs="+",
        help="per sample, as --bam: every tested candidate (bgzipped TSV, tabix index)",
    )
    # every caller setting of the `ch` config section, with the schema's defaults
    add_schema_options(p, "ch", skip=("rules", "panel_of_normals"))
    p.set_defaults(func=_call)
    p = sub.add_parser(
        "ch-pon",
        help="panel-of-normals error model: beta-binomial per site, allele and strand",
    )
    p.add_argument("--bam", required=True, nargs="+", help="BAMs of normal samples (>= 2)")
    p.add_argument("--fasta", required=True)
    p.add_argument("--bed", required=True)
    p.add_argument("--out", required=True, help="pon.tsv.gz (BGZF TSV)")
    add_schema_options(p, "ch", skip=("rules", "panel_of_normals", "pon_bams"))
    p.set_defaults(func=_pon)
    p = sub.add_parser(
        "ch-consensus",
        help="UMI consensus BAM (one read per molecule) with family-size tags and UMI QC",
    )
    p.add_argument("--bam", required=True, help="indexed BAM of UMI-tagged reads")
    p.add_argument("--sample", required=True)
    p.add_argument(
        "--umi",
        required=True,
        choices=[u for u in UMI_SOURCES if u != "none"],
        help="where each read's UMI is: the RX tag or the read name (sample sheet column umi)",
    )
    p.add_argument("--fasta", required=True)
    p.add_argument("--bed", required=True, help="targets on which the error rates are measured")
    p.add_argument("--out-bam", required=True)
    p.add_argument("--out-qc", required=True, help="QC row (TSV)")
    p.add_argument("--out-hist", required=True, help="family-size histogram (TSV)")
    add_schema_options(p, "ch", skip=("rules", "panel_of_normals", "pon_bams"))
    p.set_defaults(func=_consensus)
    p = sub.add_parser(
        "ch-umi-extract",
        help="inline UMI + spacer off read 1 (amplicon assays): a FASTQ with the UMI in the name",
    )
    p.add_argument("--fastq", required=True, help="read 1 FASTQ (.gz): UMI, spacer, insert")
    p.add_argument("--sample", required=True)
    p.add_argument(
        "--umi-layout",
        required=True,
        help='UMI bases "+" spacer bases at the read start, e.g. 19+16 (sheet column umi_layout)',
    )
    p.add_argument("--out-fastq", required=True, help="extracted reads (.fastq.gz), NAME_UMI")
    p.add_argument("--out-stats", help="extraction counts (TSV)")
    add_schema_options(p, "ch", skip=("rules", "panel_of_normals", "pon_bams"))
    p.set_defaults(func=_extract)
    p = sub.add_parser(
        "ch-align",
        help="align extracted UMI reads (minimap2 via mappy): a sorted BAM with the UMI in RX",
    )
    p.add_argument("--fastq", required=True, help="reads of ch-umi-extract (UMI in the name)")
    p.add_argument("--sample", required=True)
    p.add_argument("--fasta", required=True, help="reference to align to")
    p.add_argument("--out-bam", required=True)
    p.add_argument("--out-stats", help="alignment counts (TSV)")
    p.set_defaults(func=_align)
    p = sub.add_parser(
        "ch-annotate",
        help="consequence, HGVS and CHIP rule for any caller's VCF (GTF + FASTA, no VEP)",
    )
    p.add_argument("--vcf", required=True)
    p.add_argument("--fasta", required=True)
    p.add_argument("--gtf", required=True)
    p.add_argument("--rules", default=str(RULES))
    p.add_argument("--out", required=True, help="TSV")
    p.add_argument("--chip-min-vaf", type=float, default=_default("chip_min_vaf"))
    p.add_argument("--low-vaf-min", type=float, default=_default("low_vaf_min"))
    p.set_defaults(func=_annotate)
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
    add_schema_options(p, "ch", skip=("rules", "panel_of_normals"))
    p.set_defaults(func=_track)
    p = sub.add_parser(
        "ch-lineage",
        help="VAF of each clone in sorted fractions (CD3, CD14, ...) and its lineage call",
    )
    p.add_argument("--patient", required=True)
    p.add_argument("--samples", nargs="+", required=True)
    p.add_argument("--days", nargs="+", type=int, required=True)
    p.add_argument(
        "--fractions", nargs="+", required=True, help="per sample: whole_marrow, CD3, CD14, ..."
    )
    p.add_argument("--calls", nargs="+", required=True)
    p.add_argument("--bams", nargs="+", required=True)
    p.add_argument("--lods", nargs="+", required=True)
    p.add_argument("--fasta", required=True)
    p.add_argument("--out", required=True, help="results/ch/<patient>.lineage.tsv")
    add_schema_options(p, "ch", skip=("rules", "panel_of_normals"))
    p.set_defaults(func=_lineage)


def _default(key: str):
    return section_defaults("ch")[key]


def _call(a: argparse.Namespace) -> int:
    """Calls each sample in turn in this process (as rule ch_call does for a patient): a
    cohort of small panels then pays the interpreter start-up once rather than per sample."""
    from marrowtox.ch.config import params_from_config
    from marrowtox.ch.steps import BatchCallInputs, call_samples_step

    call_samples_step(
        BatchCallInputs(
            samples=a.sample if a.sample is not None else [],
            bams=a.bam,
            fasta=a.fasta,
            bed=a.bed,
            rules=a.rules,
            params=params_from_config(options_section(a, "ch")),
            out_vcf=a.out_vcf,
            out_tsv=a.out_tsv,
            out_lod=a.out_lod,
            gtf=a.gtf,
            pon=a.pon,
            pon_model=a.pon_model,
            out_evidence=a.out_evidence,
        )
    )
    return 0


def _pon(a: argparse.Namespace) -> int:
    from marrowtox.ch.config import pon_params_from_config
    from marrowtox.ch.steps import pon_step

    pon_step(a.bam, a.fasta, a.bed, pon_params_from_config(options_section(a, "ch")), a.out)
    return 0


def _consensus(a: argparse.Namespace) -> int:
    from marrowtox.ch.config import consensus_params_from_config
    from marrowtox.ch.pileup import PileupParams
    from marrowtox.ch.steps import ConsensusInputs, consensus_step

    ch = options_section(a, "ch")
    consensus_step(
        ConsensusInputs(
            sample=a.sample,
            bam=a.bam,
            fasta=a.fasta,
            bed=a.bed,
            params=consensus_params_from_config(ch, a.umi),
            pileup=PileupParams(ch["min_base_quality"], ch["min_mapping_quality"]),
            out_bam=a.out_bam,
            out_qc=a.out_qc,
            out_hist=a.out_hist,
        )
    )
    return 0


def _extract(a: argparse.Namespace) -> int:
    from marrowtox.ch.config import layout_from_config
    from marrowtox.ch.steps import ExtractInputs, extract_step

    layout = layout_from_config(options_section(a, "ch"), a.umi_layout)
    extract_step(ExtractInputs(a.sample, a.fastq, layout, a.out_fastq, a.out_stats))
    return 0


def _align(a: argparse.Namespace) -> int:
    from marrowtox.ch.steps import AlignInputs, align_step

    align_step(AlignInputs(a.sample, a.fastq, a.fasta, a.out_bam, a.out_stats))
    return 0


def _annotate(a: argparse.Namespace) -> int:
    from marrowtox.atomic import write_rows
    from marrowtox.ch.annotate_vcf import COLUMNS, annotate_vcf

    rows = annotate_vcf(a.vcf, a.fasta, a.gtf, a.rules, a.chip_min_vaf, a.low_vaf_min)
    write_rows(rows, COLUMNS, a.out)
    return 0


def _track(a: argparse.Namespace) -> int:
    from marrowtox.ch.config import params_from_config
    from marrowtox.ch.steps import TrackInputs, track_step

    params = params_from_config(options_section(a, "ch"))
    track_step(
        TrackInputs(a.patient, a.samples, a.days, a.calls, a.bams, a.lods, a.fasta, params, a.out)
    )
    return 0


def _lineage(a: argparse.Namespace) -> int:
    from marrowtox.atomic import write_tsv
    from marrowtox.ch.config import params_from_config
    from marrowtox.ch.lineage import LineageInputs, lineage_step

    inputs = LineageInputs(
        a.patient, a.samples, a.days, a.fractions, a.calls, a.bams, a.lods, a.fasta
    )
    write_tsv(lineage_step(inputs, params_from_config(options_section(a, "ch"))), a.out)
    return 0
