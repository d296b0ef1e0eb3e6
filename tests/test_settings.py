"""One source of every setting (issue 15, item 2): the schemas hold the defaults; the
subcommands expose the same settings with the same defaults; typos are refused."""

from __future__ import annotations

import dataclasses
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
        env={"COLUMNS": "200"},
    ).stdout


@pytest.mark.parametrize(
    ("cmd", "section", "path", "skip"),
    [
        ("ch-call", "ch", (), {"rules", "panel_of_normals"}),
        ("ch-track", "ch", (), {"rules", "panel_of_normals"}),
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
    """config/config.yaml uses only keys the schemas know (else validate refuses it)."""
    from marrowtox.validate_commands import validate_config

    with open(REPO / "config" / "config.yaml", encoding="utf-8") as fh:
        config = yaml.safe_load(fh)
    validate_config(config, "config.yaml")


@pytest.mark.parametrize(
    ("section", "value", "column"),
    [
        ("ch", {"min_dept": 50}, "ch"),
        ("singlecell", {"annotate": {"min_gene": 2}}, "singlecell.annotate"),
        ("cart", {"fdr_": 0.1}, "cart"),
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
    assert info.value.column == column and "not allowed" in str(info.value)
    assert list(value)[0] in str(info.value) or "min_gene" in str(info.value)


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
