"""One output-path layout (marrowtox.layout): every pattern is a rule output, spelled the
same in the rules, so the report, input functions and users read what the rules write."""

from __future__ import annotations

import re
from pathlib import Path

from marrowtox.layout import PATTERNS, Results, path

RULES = Path(__file__).resolve().parents[1] / "workflow" / "rules"


def _rule_outputs() -> set[str]:
    out: set[str] = set()
    for smk in RULES.glob("*.smk"):
        text = smk.read_text(encoding="utf-8")
        # a rule defined in a loop (ch_call_<patient>) is indented one level more
        for _, block in re.findall(r"\n( {4}| {8})output:\n((?:\1    .*\n|\n)+?)\1\w+:", text):
            out |= set(re.findall(r'"(results/[^"]+)"', block))
            out |= {PATTERNS[k] for k in re.findall(r'OUT\["(\w+)"\]', block)}
    return out


def test_every_layout_pattern_is_a_rule_output() -> None:
    outputs = _rule_outputs()
    assert len(outputs) > 20
    missing = {k: v for k, v in PATTERNS.items() if v not in outputs}
    assert not missing, f"layout patterns no rule writes: {missing}"


def test_paths_under_any_results_root(tmp_path: Path) -> None:
    r = Results(tmp_path / "res")
    assert r.cart("S1") == tmp_path / "res" / "cart" / "S1.tsv"
    assert r.clones("P1") == tmp_path / "res" / "ch" / "P1.clones.tsv"
    assert path("labs") == Path("results/clinical/labs.normalised.tsv")
