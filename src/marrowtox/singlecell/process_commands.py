"""`marrowtox sc-process`: one sample's QC, doublets, labels and embedding, as rule
sc_process runs them (marrowtox.singlecell.process).

The four steps' settings share names (min_genes, n_pcs, n_neighbors... in both
singlecell.annotate and singlecell.embed), so they come from config files, read and
validated as the workflow reads them (`--config`, the schema defaults without one),
rather than from one flag per setting as in the single-step subcommands.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sc-process",
        help="one sample's QC, doublets, cell types and embedding in one process "
        "(what sc-qc, sc-doublets, sc-annotate and sc-sample do in turn)",
    )
    p.add_argument("--input", required=True, help="the sample's counts (.h5ad, 10x .h5 or mtx)")
    p.add_argument("--sample", required=True)
    p.add_argument("--patient", default="")
    p.add_argument("--timepoint", default="")
    p.add_argument("--day", type=int, default=0)
    p.add_argument("--batch", default="")
    p.add_argument(
        "--config",
        nargs="*",
        default=[],
        type=Path,
        help="config file(s) laid over each other as snakemake --configfile does; "
        "without one, the schema defaults (workflow/schemas)",
    )
    p.add_argument(
        "--results",
        default="results",
        help="results folder: outputs go to the workflow's paths under it (marrowtox.layout)",
    )
    p.set_defaults(func=_process)


def settings_from_config(config: dict):
    """The chain's settings from a workflow config (defaults filled in by the schemas)."""
    from marrowtox.settings import section_settings, top_setting
    from marrowtox.singlecell.annotate import AnnotateParams
    from marrowtox.singlecell.doublets import DoubletParams
    from marrowtox.singlecell.embed import EmbedParams
    from marrowtox.singlecell.organism import mt_prefix
    from marrowtox.singlecell.process import SampleSettings
    from marrowtox.singlecell.qc import QCParams

    seed = top_setting(config, "seed")
    organism = top_setting(config, "organism")
    return SampleSettings(
        qc=QCParams.from_config(section_settings(config, "singlecell", "qc"), mt_prefix(organism)),
        doublets=DoubletParams.from_config(
            section_settings(config, "singlecell", "doublets"), seed
        ),
        annotate=AnnotateParams.from_config(
            _annotate_section(section_settings(config, "singlecell", "annotate")), seed
        ),
        embed=EmbedParams.from_config(section_settings(config, "singlecell", "embed"), seed),
        exclude_genes=tuple(section_settings(config, "singlecell", "integrate")["exclude_genes"]),
    )


def _annotate_section(section: dict) -> dict:
    """The annotate settings a per-sample job uses (the reference is an input)."""
    return {k: v for k, v in section.items() if k != "reference"}


def _process(a: argparse.Namespace) -> int:
    from marrowtox.errors import InputError
    from marrowtox.settings import resolve, section_settings, top_setting
    from marrowtox.singlecell.process import SampleInputs, SampleOutputs, process_sample
    from marrowtox.validate_commands import load_configs, validate_config

    config = load_configs(a.config)
    validate_config(config, a.config[-1] if a.config else "(schema defaults)")
    annotate = section_settings(config, "singlecell", "annotate")
    ref = annotate["reference"]
    if ref["h5ad"] and not ref["model"]:
        raise InputError(
            "a reference .h5ad is trained by `marrowtox sc-reference` first",
            key="singlecell.annotate.reference.h5ad",
            expected="reference.model: the model sc-reference wrote",
        )
    # as the workflow (common.smk reference_model): the given model, else the shipped one
    model, label_map = (
        (ref["model"], ref["label_map"])
        if ref["model"]
        else (ref["default_model"], ref["default_label_map"])
    )
    meta = {"patient": a.patient, "timepoint": a.timepoint, "day": a.day}
    meta["batch"] = a.batch or a.patient
    inputs = SampleInputs(
        raw=a.input,
        sample=a.sample,
        meta=meta,
        markers=str(resolve(annotate["markers"])),
        organism=top_setting(config, "organism"),
        ontology=str(resolve(annotate["ontology"])),
        model=str(resolve(model)) if model else None,
        label_map=str(resolve(label_map)) if label_map else None,
    )
    table = process_sample(
        inputs, settings_from_config(config), SampleOutputs.under(a.results, a.sample)
    )
    for row in table.itertuples():
        if not row.assessable:
            print(f"{row.cell_type}: {row.status}")
    return 0
