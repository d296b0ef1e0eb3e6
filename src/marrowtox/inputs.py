"""The config's input tables validated together: the pre-flight's reading of a cohort.

This sits above marrowtox.samplesheet (the sheet and the shared table readers) and the
clinical branch's vocabulary checks, so each table's own checks import in one direction:
samplesheet <- clinical.* <- inputs <- preflight / validate.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pandas as pd

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
        labs = _long_table(config, "labs", patients, validate_labs)
        if labs is not None:
            policy = {**section_defaults("clinical"), **(config.get("clinical") or {})}
            warnings += check_same_day(labs, config["labs"], policy["same_day_values"])
    except InputError as exc:
        faults.append(exc)
    try:
        events = _long_table(config, "events", patients, validate_events)
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


def _long_table(
    config: dict[str, Any],
    what: str,
    patients: set[str] | None,
    check: Callable[[pd.DataFrame, str], object],
) -> pd.DataFrame | None:
    """The config's labs or events table read and checked; None when not configured;
    a configured path that does not exist is refused with the path it resolved to."""
    path = config.get(what)
    if not path:
        return None
    if not os.path.exists(path):
        raise InputError(
            f"{what} table not found (resolved to {resolved_path(path)})",
            file=path,
            expected=f"an existing TSV; {RELATIVE_RULE}",
        )
    return load_long_table(path, f"{what}.schema.yaml", what, patients, check)
