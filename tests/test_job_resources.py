"""workflow/job_resources.yaml: valid, and the only source of the rules' mem_mb and runtime.

Style rule: no literal number in a rule; every rule has resources mem_mb and runtime.
The table's numbers and formulas are described in its header; job_mem / job_runtime
(workflow/rules/common.smk) read it.
"""

import re
from pathlib import Path

import yaml
from snakemake.utils import validate

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "workflow" / "rules"
TABLE = ROOT / "workflow" / "job_resources.yaml"
#: rule files not (yet) sized from the table: none
NOT_YET: set[str] = set()

# a rule's name, or the pattern of rules made per patient or part (f"ch_call_{_patient}")
_RULE = re.compile(r'^\s*rule (\w+):|^\s*f"(\w+?)_\{_(\w+)\}"$', re.M)
_RESOURCES = re.compile(
    r'^( +)resources:\n\1    mem_mb=job_mem\("(\w+)"\),\n'
    r'\1    runtime=job_runtime\("(\w+)"\),\n',
    re.M,
)


def _entry_of(match: re.Match) -> str:
    """The entry a rule reads: its name; ch_call for the rules ch_call_<patient>,
    clinical_scores_part for clinical_scores_<part>."""
    if match.group(1):
        return match.group(1)
    name, var = match.group(2), match.group(3)
    return name if var == "patient" else f"{name}_{var}"


def table() -> dict:
    return yaml.safe_load(TABLE.read_text())


def test_table_is_valid() -> None:
    validate(table(), schema=str(ROOT / "workflow/schemas/job_resources.schema.yaml"))


def test_every_rule_reads_its_entry_and_every_entry_is_read() -> None:
    entries, used = table(), set()
    for smk in sorted(RULES.glob("*.smk")):
        if smk.name in NOT_YET:
            continue
        text = smk.read_text()
        rules = list(re.finditer(r"^\s*rule\b", text, re.M))
        blocks = list(_RESOURCES.finditer(text))
        assert len(blocks) == len(rules), (
            f"{smk.name}: {len(rules)} rules, {len(blocks)} resources blocks of the form "
            'mem_mb=job_mem("<rule>"), runtime=job_runtime("<rule>")'
        )
        for block in blocks:
            mem, runtime = block.group(2), block.group(3)
            names = [_entry_of(m) for m in _RULE.finditer(text[: block.start()])]
            assert mem == runtime, (smk.name, mem, runtime)
            assert mem in entries, f"{smk.name}: {mem} has no entry in {TABLE.name}"
            assert names and mem == names[-1], (smk.name, mem, names[-1:])
            used.add(mem)
    assert not set(entries) - used, f"entries no rule reads: {set(entries) - used}"
