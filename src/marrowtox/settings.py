"""Settings of every step from one source: the workflow's JSON schemas.

The schemas hold each setting's default and description. The workflow fills them
in (snakemake.utils.validate) and the subcommands read the same defaults here, so a
step run outside Snakemake behaves as the rule does.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "workflow" / "schemas"


@cache
def _schema(section: str) -> dict[str, Any]:
    with open(SCHEMAS / f"config.{section}.schema.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _defaults(node: dict[str, Any]) -> Any:
    if node.get("type") == "object" and "properties" in node:
        out = {k: _defaults(v) for k, v in node["properties"].items()}
        return {k: v for k, v in out.items() if v is not None}
    return node.get("default")


def section_defaults(section: str, *path: str) -> dict[str, Any]:
    """Defaults of config[section][path...] as the schema states them."""
    node = _schema(section)
    for key in path:
        node = node["properties"][key]
    return _defaults(node)


def merged(defaults: Any, given: Any) -> Any:
    """`given` laid over `defaults` key by key (nested sections merge; any other value,
    lists included, replaces), as Snakemake merges a --configfile over the base config."""
    if isinstance(defaults, dict) and isinstance(given, dict):
        out = dict(defaults)
        for key, value in given.items():
            out[key] = merged(defaults.get(key), value)
        return out
    return defaults if given is None and isinstance(defaults, dict) else given


def section_settings(config: dict[str, Any], section: str, *path: str) -> dict[str, Any]:
    """The settings of config[section][path...] as every reader uses them: the schema's
    defaults with the config's values laid over. The workflow (common.smk), the
    pre-flight and `marrowtox validate` all read settings through this one function, so
    none can see a default another does not (issue 26: the pre-flight once read
    cart.features differently from the rules)."""
    node: Any = config.get(section) or {}
    for key in path:
        node = (node or {}).get(key) or {}
    return merged(section_defaults(section, *path), node)


def top_setting(config: dict[str, Any], key: str) -> Any:
    """A top-level setting (organism, seed, check_file_contents...): the config's value,
    else the default of workflow/schemas/config.schema.yaml."""
    if config.get(key) is not None:
        return config[key]
    top = yaml.safe_load((SCHEMAS / "config.schema.yaml").read_text(encoding="utf-8"))
    return top["properties"][key].get("default")


def describe(section: str, *path: str) -> str:
    """The schema's description of one setting (for --help texts)."""
    node = _schema(section)
    for key in path:
        node = node["properties"][key]
    return str(node.get("description", ""))


def resolve(path: str) -> str:
    """A shipped resource given relative to the repository resolves from any directory."""
    p = Path(path)
    if not path or p.is_absolute() or p.exists():
        return path
    return str(REPO / p)


_TYPES = {"integer": int, "number": float, "string": str}


def _lenient(cast: Any) -> Any:
    def convert(value: str) -> Any:
        try:
            return cast(value)
        except ValueError:
            return value

    convert.__name__ = getattr(cast, "__name__", "value")
    return convert


def add_schema_options(parser: Any, section: str, *path: str, skip: tuple[str, ...] = ()) -> None:
    """One CLI option per setting of config[section][path...], with the schema's default
    and description, so a subcommand accepts what the workflow accepts."""
    import argparse

    node = _schema(section)
    for key in path:
        node = node["properties"][key]
    for key, spec in node["properties"].items():
        if key in skip or spec.get("type") == "object":
            continue
        flag = "--" + key.replace("_", "-")
        default = spec.get("default")
        text = f"{spec.get('description', '')} (config {'.'.join((section, *path, key))}; default {default!r})"
        text = text.replace("%", "%%")  # argparse formats help strings with %
        kind = spec.get("type")
        if kind == "boolean":
            parser.add_argument(
                flag, dest=key, action=argparse.BooleanOptionalAction, default=default, help=text
            )
        elif kind == "array":
            # items typed as the schema says (numbers stay numbers, as from the config); a
            # value that does not convert stays text, so the section's own validation
            # names it with the setting (e.g. "--times 'thirty'")
            item = _lenient(_TYPES.get((spec.get("items") or {}).get("type", "string"), str))
            parser.add_argument(flag, dest=key, nargs="*", type=item, default=default, help=text)
        else:
            parser.add_argument(flag, dest=key, type=_TYPES[kind], default=default, help=text)


def options_section(args: Any, section: str, *path: str) -> dict[str, Any]:
    """The settings of config[section][path...] read back from parsed options."""
    node = _schema(section)
    for key in path:
        node = node["properties"][key]
    return {k: getattr(args, k) for k in node["properties"] if hasattr(args, k)}


#: Settings removed from the schemas and why. A config that still sets one is refused
#: with this reason, not with jsonschema's bare "additional properties" message (every
#: section schema refuses unknown keys), so the user knows what replaced it.
REMOVED: dict[tuple[str, str], str] = {
    ("cart", "min_umis"): (
        "was removed (issue 24): CAR+ calls no longer use a fixed UMI floor. Real CAR T "
        "cells carry 1-3 CAR UMIs, so a floor of 3 missed most of them; cells are now "
        "called from a fitted ambient + CAR mixture at the Bayesian FDR cart.fdr "
        "(docs/car-calling.md). Delete the key from the config"
    ),
    ("clinical", "easix_baseline_window"): (
        "was removed (issue 25): baseline EASIX, like CAR-HEMATOTOX, uses the values "
        "before lymphodepletion: before the `lymphodepletion` event of events.tsv, else "
        "in clinical.baseline_window. Delete the key from the config"
    ),
}


def removed_settings(config: dict[str, Any]) -> list[str]:
    """'section.key: reason' for each removed setting the config still sets."""
    return [
        f"{section}.{key} {why}"
        for (section, key), why in REMOVED.items()
        if key in (config.get(section) or {})
    ]


SECTIONS = ("singlecell", "cart", "signatures", "ch", "clinical", "report", "cohort")


def _rows(node: dict[str, Any], prefix: str) -> list[str]:
    rows = []
    for key, spec in node.get("properties", {}).items():
        name = f"{prefix}.{key}"
        if spec.get("type") == "object" and "properties" in spec:
            rows.append(f"| `{name}` | section | | {spec.get('description', '')} |")
            rows += _rows(spec, name)
            continue
        default = spec.get("default")
        shown = "" if default is None else f"`{default!r}`".replace("|", "\\|")
        text = str(spec.get("description", "")).replace("|", "\\|")
        rows.append(f"| `{name}` | {spec.get('type', '')} | {shown} | {text} |")
    return rows


def config_readme() -> str:
    """config/README.md: every setting with type, default and description, from the
    schemas (tests/test_settings.py checks the file is current)."""
    out = [
        "# Configuration reference",
        "",
        "Generated from `workflow/schemas/` by `marrowtox.settings.config_readme()`;",
        "do not edit by hand. Every setting has its default in the schema; a key not",
        "listed here is refused by `marrowtox validate` and by the workflow.",
        "",
    ]
    top = yaml.safe_load((SCHEMAS / "config.schema.yaml").read_text(encoding="utf-8"))
    out += ["## Top level", "", "| key | type | default | description |", "|---|---|---|---|"]
    out += [r.replace("`.", "`") for r in _rows(top, "")]
    for section in SECTIONS:
        schema = _schema(section)
        out += ["", f"## {section}", "", str(schema.get("description", "")), ""]
        out += ["| key | type | default | description |", "|---|---|---|---|"]
        out += _rows(schema, section)
    return "\n".join(out) + "\n"
