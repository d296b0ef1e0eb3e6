"""CallParams and PonParams from the workflow's `ch:` config section (schema defaults filled in)."""

from __future__ import annotations

from typing import Any

from marrowtox.ch.call import CallParams
from marrowtox.ch.consensus import ConsensusParams
from marrowtox.ch.pon import PonParams
from marrowtox.ch.umi_extract import InlineLayout, parse_layout

#: `ch` keys that only the panel-of-normals builder reads (not caller settings).
PON_KEYS = (
    "pon_bams",
    "pon_min_normals",
    "pon_prior_depth",
    "pon_rho_min",
    "pon_rho_max",
    "pon_artifact_vaf",
    "pon_artifact_p",
    "pon_site_p",
    "pon_recurrent_normals",
)


def _values(ch: dict[str, Any]) -> dict[str, Any]:
    from marrowtox.settings import section_defaults

    return {**section_defaults("ch"), **ch}


def params_from_config(ch: dict[str, Any]) -> CallParams:
    """The caller settings of a `ch` section; missing keys take the schema's defaults.

    Unknown keys never reach here: the schema refuses them (additionalProperties false),
    so a typo such as `min_dept` is an error, not a silently ignored setting.
    """
    keys = CallParams.__dataclass_fields__
    return CallParams(**{k: v for k, v in _values(ch).items() if k in keys})


def pon_params_from_config(ch: dict[str, Any]) -> PonParams:
    keys = PonParams.__dataclass_fields__
    return PonParams(**{k: v for k, v in _values(ch).items() if k in keys})


def consensus_params_from_config(ch: dict[str, Any], umi: str) -> ConsensusParams:
    """The UMI consensus settings of a `ch` section; `umi`: where the reads hold their UMI
    (the sample sheet's column `umi`: rx or read_name)."""
    keys = ConsensusParams.__dataclass_fields__
    return ConsensusParams(umi=umi, **{k: v for k, v in _values(ch).items() if k in keys})


def layout_from_config(ch: dict[str, Any], umi_layout: str) -> InlineLayout:
    """The inline-UMI layout of a sample (sheet column umi_layout, e.g. "19+16") with the
    extraction settings of a `ch` section (umi_extract_*)."""
    v = _values(ch)
    umi_length, spacer_length = parse_layout(umi_layout)
    return InlineLayout(
        umi_length=umi_length,
        spacer_length=spacer_length,
        max_spacer_mismatches=v["umi_extract_max_spacer_mismatches"],
        adapter=v["umi_extract_adapter"],
        adapter_min_overlap=v["umi_extract_adapter_min_overlap"],
        min_insert=v["umi_extract_min_insert"],
    )
