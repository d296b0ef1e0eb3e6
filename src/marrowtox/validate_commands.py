"""`marrowtox validate`: the pre-flight check of config and tables, runnable on its own.

Lets a user check a new cohort's tables in seconds, without Snakemake.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from marrowtox.errors import InputError

#: Branch sections of config.yaml, each with workflow/schemas/config.<section>.schema.yaml.
SECTIONS = ("singlecell", "cart", "signatures", "ch", "clinical", "report", "cohort")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("validate", help="check config and samples/labs/events tables")
    p.add_argument(
        "--config",
        nargs="+",
        default=[Path("config/config.yaml")],
        type=Path,
        help="config file(s); each later one is laid over the earlier, as snakemake "
        "--configfile lays a file over config/config.yaml (e.g. --config "
        "config/config.yaml config/demo.yaml)",
    )
    p.add_argument("--no-file-check", action="store_true", help="skip checks of data files")
    p.set_defaults(func=run)


def load_configs(paths: list[Path]) -> dict:
    """The config files laid over each other in order (settings.merged, Snakemake's rule)."""
    from marrowtox.settings import merged

    config: dict = {}
    for path in paths:
        config = merged(config, load_config(path))
    return config


def load_config(path: Path) -> dict:
    if not path.is_file():
        raise InputError("config file not found", file=path, expected="a YAML file")
    try:
        with open(path, encoding="utf-8") as fh:
            config = yaml.safe_load(fh) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", file=path) from None
    return config


def _key_fault(err, prefix: tuple[str, ...], path: Path | str, schema_name: str) -> InputError:
    """One jsonschema error as a fault naming the config key; an unknown key gets the
    closest known one ("did you mean"), as table columns do."""
    import difflib

    keys = tuple(str(k) for k in (*prefix, *err.path))
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        known = list(err.schema.get("properties") or {})
        unknown = [k for k in err.instance if k not in known]
        if unknown:
            close = difflib.get_close_matches(str(unknown[0]), known, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            return InputError(
                f"unknown key{hint}",
                file=path,
                key=".".join((*keys, str(unknown[0]))),
                expected=f"one of {', '.join(known)} (see config/README.md)",
            )
    return InputError(
        err.message,
        file=path,
        key=".".join(keys) or None,
        expected=f"see workflow/schemas/{schema_name}",
    )


def config_faults(config: dict, path: Path | str) -> list[InputError]:
    """Every fault of the config: removed settings, the top-level schema and each branch
    section's schema (all of them, not the first)."""
    import jsonschema

    from marrowtox.samplesheet import load_schema
    from marrowtox.settings import REMOVED, removed_settings

    faults = [
        InputError(
            f"config key {problem}",
            file=path,
            key=problem.split(" ")[0],
            expected="see config/README.md",
        )
        for problem in removed_settings(config)
    ]
    validator = jsonschema.Draft202012Validator(load_schema("config.schema.yaml"))
    for err in sorted(validator.iter_errors(config), key=lambda e: [str(k) for k in e.path]):
        faults.append(_key_fault(err, (), path, "config.schema.yaml"))
    # each branch section against its own schema, as the workflow does
    for section in SECTIONS:
        name = f"config.{section}.schema.yaml"
        validator = jsonschema.Draft202012Validator(load_schema(name))
        value = config.get(section) or {}
        if not isinstance(value, dict):
            continue  # the top-level schema already named it
        for err in sorted(validator.iter_errors(value), key=lambda e: [str(k) for k in e.path]):
            if err.validator == "additionalProperties" and isinstance(err.instance, dict):
                props = err.schema.get("properties") or {}
                extra = {k for k in err.instance if k not in props}
                if extra <= {k for sec, k in REMOVED if sec == section}:
                    continue  # a removed setting, reported above with what replaced it
            faults.append(_key_fault(err, (section,), path, name))
    return faults


def validate_config(config: dict, path: Path | str) -> None:
    """Raise every fault of the config together (errors.InputErrors)."""
    from marrowtox.errors import raise_all

    raise_all(config_faults(config, path))


def run(args: argparse.Namespace) -> int:
    from marrowtox.errors import raise_all
    from marrowtox.preflight import run_preflight

    paths = args.config if isinstance(args.config, list) else [args.config]
    config = load_configs(paths)
    where = " + ".join(str(p) for p in paths)
    # every fault at once (issue 25 item 5): the config's keys, then the workflow's own
    # pre-flight (common.smk calls the same function) over every table
    faults = config_faults(config, where)
    if faults:
        # the tables' faults too, but no data-file reading under a config already refused
        from marrowtox.inputs import load_all

        try:
            load_all(config, check_files=not args.no_file_check)
        except InputError as exc:
            raise_all([*faults, exc])
        raise_all(faults)
    tables, warnings = run_preflight(config, config_file=where, check_files=not args.no_file_check)
    for warning in warnings:
        print(f"warning: {warning}")
    s = tables.samples
    print(
        f"ok: {s['patient'].nunique()} patients, {int((s['assay'] == 'scrna').sum())} scRNA and "
        f"{int((s['assay'] == 'dna').sum())} DNA samples; "
        f"labs rows: {0 if tables.labs is None else len(tables.labs)}; "
        f"events rows: {0 if tables.events is None else len(tables.events)}; "
        f"flow rows: {0 if tables.flow is None else len(tables.flow)}"
    )
    return 0
