"""Reading labs/events for the clinical step, with the same checks as the pre-flight."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from marrowtox.clinical.events import validate_events
from marrowtox.clinical.units import normalise_labs, validate_labs
from marrowtox.samplesheet import load_samples, load_schema, read_table


def load_clinical_tables(
    labs_path: Path | None,
    events_path: Path | None,
    samples_path: Path | None,
    patients: list[str] | None,
) -> tuple[list[str], pd.DataFrame | None, pd.DataFrame | None]:
    labs = events = None
    if labs_path:
        labs = read_table(labs_path, load_schema("labs.schema.yaml"), "labs")
        validate_labs(labs, labs_path)
        labs = normalise_labs(labs)
    if events_path:
        events = read_table(events_path, load_schema("events.schema.yaml"), "events")
        validate_events(events, events_path)
    if not patients:
        found: set[str] = set()
        if samples_path:
            found |= set(load_samples(samples_path, check_files=False)["patient"])
        else:
            for t in (labs, events):
                if t is not None:
                    found |= set(t["patient"])
        patients = sorted(found)
    return patients, labs, events
