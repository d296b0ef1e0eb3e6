"""Snakemake entry point: clinical scores of params.patients; params.write says which
files (the per-patient ones of a part, or the cohort ones) (marrowtox.clinical)."""

from pathlib import Path

from marrowtox.clinical.scores import ClinicalParams, run_clinical
from marrowtox.clinical.tables import load_clinical_tables

sm = snakemake  # noqa: F821
c = sm.params.clinical
patients, labs, events = load_clinical_tables(
    Path(sm.input.labs) if sm.input.labs else None,
    Path(sm.input.events) if sm.input.events else None,
    None,
    list(sm.params.patients),
)
params = ClinicalParams.from_config(c)
# every output of both rules is in results/clinical (marrowtox.layout)
OUT_DIR = Path(sm.output[0]).parent
run_clinical(patients, labs, events, Path(OUT_DIR), params, sm.params.write)
