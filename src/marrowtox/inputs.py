"""The config's input tables validated together: the pre-flight's reading of a cohort.

This sits above marrowtox.samplesheet (the sheet and the shared table readers) and the
clinical branch's vocabulary checks, so each table's own checks import in one direction:
samplesheet <- clinical.* <- inputs <- preflight / validate.
"""

from __future__ import annotations

import os
from typing import Any

from marrowtox.clinical.events import validate_events
from marrowtox.clinical.flow import load_flow
from marrowtox.clinical.same_day import check_same_day
from marrowtox.clinical.units import validate_labs
from marrowtox.errors import InputError, raise_all
from marrowtox.samplesheet import (
    RELATIVE_RULE,
    Tables,
    load_long_table,
    load_samples,
    require_inputs,
    resolved_path,
    specimen_warnings,
)
from marrowtox.settings import section_defaults


def load_all(config: dict[str, Any], *, check_files: bool = True) -> Tables:
    """Validate the config's tables together (the pre-flight check): samples, labs,
    events and the optional flow populations. Every table is checked even when another
    one is faulty, and all faults are raised together (errors.InputErrors: a table's
    every faulty row, issue 25 item 5). An unset sample sheet is refused with every required input still
    unset (the shipped config's placeholders)."""
    if not config.get("samples"):
        require_inputs(config, None)

    faults: list[InputError] = []
    samples = None
    patients: set[str] | None = None
    try:
        samples = load_samples(config["samples"], check_files=check_files)
        patients = set(samples["patient"])
    except InputError as exc:
        faults.append(exc)
    labs = events = flow = None
    warnings: list[str] = (
        specimen_warnings(samples, config["samples"]) if samples is not None else []
    )
    try:
        if config.get("labs") and os.path.exists(config["labs"]):
            labs = load_long_table(
                config["labs"], "labs.schema.yaml", "labs", patients, validate_labs
            )
            policy = {**section_defaults("clinical"), **(config.get("clinical") or {})}
            warnings += check_same_day(labs, config["labs"], policy["same_day_values"])
        elif config.get("labs"):
            raise InputError(
                f"labs table not found (resolved to {resolved_path(config['labs'])})",
                file=config["labs"],
                expected=f"an existing TSV; {RELATIVE_RULE}",
            )
    except InputError as exc:
        faults.append(exc)
    try:
        if config.get("events") and os.path.exists(config["events"]):
            events = load_long_table(
                config["events"], "events.schema.yaml", "events", patients, validate_events
            )
        elif config.get("events"):
            raise InputError(
                f"events table not found (resolved to {resolved_path(config['events'])})",
                file=config["events"],
                expected=f"an existing TSV; {RELATIVE_RULE}",
            )
    except InputError as exc:
        faults.append(exc)
    try:
        if config.get("flow") and patients is not None:
            flow = load_flow(config["flow"], patients)
    except InputError as exc:
        faults.append(exc)
    raise_all(faults)
    assert samples is not None
    return Tables(samples=samples, labs=labs, events=events, flow=flow, warnings=warnings)
