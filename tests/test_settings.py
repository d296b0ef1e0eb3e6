"""One source of every setting (issue 15, item 2): the schemas hold the defaults; the
subcommands expose the same settings with the same defaults; typos are refused."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from marrowtox.settings import section_defaults

REPO = Path(__file__).resolve().parents[1]
MARROWTOX = str(Path(sys.executable).with_name("marrowtox"))


def _help(cmd: str) -> str:
    return subprocess.run(
        [MARROWTOX, cmd, "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},  # PYTHONPATH too: this checkout's code
    ).stdout


@pytest.mark.parametrize(
    ("cmd", "section", "path", "skip"),
    [
        ("ch-call", "ch", (), {"rules", "panel_of_normals"}),
        ("ch-track", "ch", (), {"rules", "panel_of_normals"}),
        ("ch-lineage", "ch", (), {"rules", "panel_of_normals"}),
        ("tcr-clonotypes", "cart", ("clonotypes",), set()),
        ("ch-consensus", "ch", (), {"rules", "panel_of_normals", "pon_bams"}),
        ("sc-annotate", "singlecell", ("annotate",), {"reference"}),
        ("sc-integrate", "singlecell", ("integrate",), set()),
        (
            "sc-reference",
            "singlecell",
            ("annotate", "reference"),
            # which model a sample uses is sc-annotate's (--model, --default-model)
            {"h5ad", "model", "label_map", "default_model", "default_label_map"},
        ),
        ("sc-genotype", "singlecell", ("genotype",), {"hotspots"}),
        ("sc-qc", "singlecell", ("qc",), set()),
        ("sc-doublets", "singlecell", ("doublets",), set()),
        ("composition-da", "cohort", ("composition_da",), set()),
        ("car-de", "cart", ("de",), set()),
        ("hspc-de", "singlecell", ("hspc_de",), set()),
    ],
)
def test_cli_exposes_every_schema_setting(cmd, section, path, skip) -> None:
    text = _help(cmd)
    for key, default in section_defaults(section, *path).items():
        if key in skip:
            continue
        flag = "--" + key.replace("_", "-")
        assert flag in text, f"{cmd} lacks {flag}"
        assert f"default {default!r}" in " ".join(text.split()), f"{cmd} {flag} default"


def test_caller_defaults_match_schema() -> None:
    from marrowtox.ch.call import CallParams
    from marrowtox.ch.config import params_from_config

    schema = section_defaults("ch")
    for f in dataclasses.fields(CallParams):
        assert f.name in schema, f"CallParams.{f.name} has no schema entry"
        assert f.default == schema[f.name], f.name
    assert params_from_config({"min_depth": 50}).min_depth == 50


def test_pon_defaults_match_schema() -> None:
    """PonParams' field defaults are the schema's (ch section), not a drifted copy."""
    from marrowtox.ch.pon import PonParams

    schema = section_defaults("ch")
    for f in dataclasses.fields(PonParams):
        assert f.default == schema[f.name], f.name


def test_qc_dataclass_defaults_match_schema() -> None:
    """QCParams' field defaults (used by unit tests) are the schema's, not a drifted copy."""
    from marrowtox.singlecell.qc import QCParams

    schema = section_defaults("singlecell", "qc")
    for f in dataclasses.fields(QCParams):
        if f.name != "mt_prefix":
            assert f.default == schema[f.name], f.name
    assert QCParams.from_config({"min_genes": 10}).min_genes == 10


def test_workflow_config_matches_schema_keys() -> None:
    """config/config.yaml, alone and with the demo overlay, uses only keys the schemas
    know (else validate refuses it)."""
    from marrowtox.validate_commands import load_configs, validate_config

    config_dir = REPO / "config"
    validate_config(load_configs([config_dir / "config.yaml"]), "config.yaml")
    both = load_configs([config_dir / "config.yaml", config_dir / "demo.yaml"])
    validate_config(both, "config.yaml + demo.yaml")


@pytest.mark.parametrize(
    ("section", "value", "column"),
    [
        ("ch", {"min_dept": 50}, "ch.min_dept"),
        ("singlecell", {"annotate": {"min_gene": 2}}, "singlecell.annotate.min_gene"),
        ("cart", {"fdr_": 0.1}, "cart.fdr_"),
    ],
)
def test_typo_in_branch_section_refused(section, value, column) -> None:
    from marrowtox.errors import InputError
    from marrowtox.validate_commands import validate_config

    with open(REPO / "config" / "config.yaml", encoding="utf-8") as fh:
        config = yaml.safe_load(fh)
    config[section] = {**config.get(section, {}), **value}
    with pytest.raises(InputError) as info:
        validate_config(config, "config.yaml")
    # a config key is called a key, with the closest known one (issue 25 item 5)
    assert info.value.key == column and "unknown key; did you mean" in str(info.value)


def test_easix_with_creatinine_88_4_umol_is_ldh_over_platelets() -> None:
    """1 mg/dL creatinine = 88.4 umol/L (113.12 g/mol): EASIX = LDH x 1 / platelets exactly."""
    import pandas as pd

    from marrowtox.clinical import easix
    from marrowtox.clinical.units import normalise_labs

    labs = pd.DataFrame(
        {
            "patient": ["p"] * 3,
            "day": [-3] * 3,
            "analyte": ["ldh", "creatinine", "plt"],
            "value": [300.0, 88.4, 80.0],
            "unit": ["U/L", "umol/L", "10^9/L"],
        }
    )
    n = normalise_labs(labs)
    v = easix.at(n, (-10, -1))
    assert v["easix"] == 300.0 / 80.0


def test_config_readme_is_current() -> None:
    from marrowtox.settings import config_readme

    assert (REPO / "config" / "README.md").read_text(encoding="utf-8") == config_readme(), (
        "regenerate: .venv/bin/python -c 'from marrowtox.settings import config_readme; "
        'open("config/README.md", "w").write(config_readme())\''
    )


def test_array_options_keep_the_schema_item_type() -> None:
    """A number list given on the command line (as the rules pass config values) arrives
    as numbers, as from the config: `sc-protein --dsb-empty-log10-counts 1.5 3.0`."""
    import argparse

    from marrowtox.settings import add_schema_options, options_section

    p = argparse.ArgumentParser()
    add_schema_options(p, "singlecell", "protein")
    a = p.parse_args(["--dsb-empty-log10-counts", "1.5", "3.0", "--car-panel", "CD69"])
    sec = options_section(a, "singlecell", "protein")
    assert sec["dsb_empty_log10_counts"] == [1.5, 3.0]
    assert sec["car_panel"] == ["CD69"]


# ---- one reading of every setting (issue 26 item 3) ----------------------------------


def _leaves(node: dict, prefix: str) -> dict[str, dict]:
    """Every setting of a schema (dotted key -> its spec), nested sections walked."""
    out = {}
    for key, spec in node.get("properties", {}).items():
        name = f"{prefix}.{key}"
        if spec.get("type") == "object" and "properties" in spec:
            out.update(_leaves(spec, name))
        else:
            out[name] = spec
    return out


def _cli_defaults() -> dict[str, list[tuple[str, object]]]:
    """config key -> (subcommand, option default) of every option add_schema_options made
    (their help ends '(config <key>; default ...)')."""
    import argparse
    import re

    from marrowtox.cli import build_parser

    found: dict[str, list[tuple[str, object]]] = {}
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for cmd, parser in sub.choices.items():
        for action in parser._actions:
            m = re.search(r"\(config ([\w.]+); default ", action.help or "")
            if m:
                found.setdefault(m.group(1), []).append((cmd, action.default))
    return found


def test_every_schema_key_reads_the_same_in_cli_workflow_and_preflight() -> None:
    """Walk every key of workflow/schemas/config*.schema.yaml: the value the workflow and
    the pre-flight run with for the shipped config (settings.section_settings, the one
    function both use) equals the schema default, which every CLI option of that key
    has as its default; a `marrowtox <step>` run and a rule run agree."""
    from marrowtox.settings import SECTIONS, _schema, section_settings
    from marrowtox.validate_commands import load_configs

    shipped = load_configs([REPO / "config" / "config.yaml"])
    cli = _cli_defaults()
    checked = 0
    for section in SECTIONS:
        workflow = section_settings(shipped, section)
        for key, spec in _leaves(_schema(section), section).items():
            value: object = workflow
            for part in key.split(".")[1:]:
                value = value[part]  # type: ignore[index]
            assert value == spec.get("default"), f"{key}: workflow {value!r} != schema"
            for cmd, default in cli.get(key, []):
                assert default == spec.get("default"), f"marrowtox {cmd}: {key} {default!r}"
                checked += 1
    assert checked > 100, checked  # the walk saw the CLI options
    # and no CLI option names a key the schemas do not have
    known = {k for s in SECTIONS for k in _leaves(_schema(s), s)}
    assert set(cli) <= known, sorted(set(cli) - known)


def test_workflow_fills_settings_with_section_settings() -> None:
    """common.smk fills each section through settings.section_settings and the pre-flight
    (run_preflight) reads cart, protein and integrate settings through it."""
    import inspect

    from marrowtox.preflight import run_preflight

    common = (REPO / "workflow" / "rules" / "common.smk").read_text()
    assert "config[_section] = section_settings(config, _section)" in common
    assert "run_preflight(" in common
    source = inspect.getsource(run_preflight)
    for section in ('"cart"', '"singlecell", "protein"', '"singlecell", "integrate"'):
        assert f"section_settings(config, {section})" in source


def test_preflight_finds_car_feature_named_only_in_cart_features(tmp_path: Path) -> None:
    """Issue 26: the pre-flight warned "no CAR feature" for samples whose CAR feature the
    config names in cart.features; through run_preflight (the workflow's) it does not."""
    import numpy as np
    from scipy import sparse

    from marrowtox.demo.scrna import write_10x_h5
    from marrowtox.preflight import run_preflight

    genes = ["CD3E", "CD8A", "MT-CO1", "MYCAR_scFv"]
    mat = sparse.csr_matrix(np.full((5, len(genes)), 2, dtype=np.int32))
    write_10x_h5(tmp_path / "d28.h5", mat, genes, genes, [f"AAAC{i}-1" for i in range(5)])
    (tmp_path / "samples.tsv").write_text(
        "patient\tsample\tassay\ttimepoint\tday\tpath\tcar_construct\n"
        "P1\tP1_D28\tscrna\tD28\t28\td28.h5\tfmc63_41bbz\n"
    )
    config = {"samples": str(tmp_path / "samples.tsv")}
    _, warnings = run_preflight(config)
    assert any("no CAR feature" in w for w in warnings)  # the construct's feature is absent
    _, warnings = run_preflight({**config, "cart": {"features": ["MYCAR_scFv"]}})
    assert not any("no CAR feature" in w for w in warnings), warnings
