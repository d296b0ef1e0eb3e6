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


def validate_config(config: dict, path: Path | str) -> None:
    import jsonschema

    from marrowtox.samplesheet import load_schema
    from marrowtox.settings import removed_settings

    for problem in removed_settings(config):
        raise InputError(
            f"config key {problem}",
            file=path,
            column=problem.split(" ")[0],
            expected="see config/README.md",
        )
    validator = jsonschema.Draft202012Validator(load_schema("config.schema.yaml"))
    for err in sorted(validator.iter_errors(config), key=lambda e: list(e.path)):
        key = ".".join(str(k) for k in err.path) or None
        raise InputError(
            err.message, file=path, column=key, expected="see workflow/schemas/config.schema.yaml"
        )
    # each branch section against its own schema, as the workflow does
    for section in SECTIONS:
        name = f"config.{section}.schema.yaml"
        validator = jsonschema.Draft202012Validator(load_schema(name))
        for err in sorted(
            validator.iter_errors(config.get(section) or {}), key=lambda e: list(e.path)
        ):
            key = ".".join(str(k) for k in (section, *err.path))
            raise InputError(
                err.message, file=path, column=key, expected=f"see workflow/schemas/{name}"
            )


def run(args: argparse.Namespace) -> int:
    from marrowtox.preflight import run_preflight

    paths = args.config if isinstance(args.config, list) else [args.config]
    config = load_configs(paths)
    where = " + ".join(str(p) for p in paths)
    validate_config(config, where)
    # the workflow's own pre-flight (common.smk calls the same function)
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
