"""envs/*.yaml (for users who deploy with conda) agree with requirements.lock."""

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ENVS = sorted((ROOT / "envs").glob("*.yaml"))
# conda-forge names that differ from the PyPI names in requirements.lock
CONDA_TO_PYPI = {"python-igraph": "igraph", "pytables": "tables"}
NOT_PYPI = {"python", "pip"}


def lock_pins():
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, ver = line.split("==", 1)
            pins[name.strip().lower().replace("_", "-")] = ver.strip().split(";")[0]
    return pins


def test_env_files_exist():
    names = {p.stem for p in ENVS}
    for branch in ("singlecell", "cart", "clonal", "clinical", "report", "common"):
        assert branch in names, f"envs/{branch}.yaml missing"


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.name)
def test_env_pins_agree_with_lock(env):
    pins = lock_pins()
    spec = yaml.safe_load(env.read_text())
    assert "conda-forge" in spec["channels"]
    deps = spec["dependencies"]
    conda = [d for d in deps if isinstance(d, str)]
    assert any(re.fullmatch(r"python=3\.11(\.\*)?", d) for d in conda), env.name
    for dep in conda:
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)(?:=+([^=\s]+))?", dep)
        assert m, f"{env.name}: cannot parse {dep!r}"
        name, ver = m.group(1).lower(), m.group(2)
        if name in NOT_PYPI:
            continue
        pypi = CONDA_TO_PYPI.get(name, name).replace("_", "-")
        assert ver, f"{env.name}: {name} is not pinned"
        assert pypi in pins, f"{env.name}: {name} is not in requirements.lock"
        assert ver == pins[pypi], f"{env.name}: {name}={ver}, lock has {pins[pypi]}"
    pip = [d for d in deps if isinstance(d, dict)]
    pip_lines = [x for d in pip for x in d.get("pip", [])]
    # marrowtox itself from the repository root (relative to envs/)
    assert "-e ../" in pip_lines or "../" in pip_lines, f"{env.name}: marrowtox not installed"


def rule_conda_paths():
    out = []
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        lines = smk.read_text().splitlines()
        rule = None
        for i, line in enumerate(lines):
            m = re.match(r"\s*rule\s+(\w+)\s*:", line)
            if m:
                rule = m.group(1)
            if re.match(r"\s+conda:\s*$", line):
                value = lines[i + 1].strip().strip(",").strip("\"'")
                out.append((smk, rule, value))
            else:
                m2 = re.match(r"\s+conda:\s*[\"'](.+)[\"']", line)
                if m2:
                    out.append((smk, rule, m2.group(1)))
    return out


def test_every_rule_has_existing_conda_env():

    paths = rule_conda_paths()
    assert paths
    for smk, rule, value in paths:
        target = (smk.parent / value).resolve()
        assert target.is_file(), f"{smk.name}:{rule} conda: {value} does not exist"
        assert target.parent == ROOT / "envs", f"{rule}: env outside envs/"
    # every rule has one (rule names from the Snakefile's parsed workflow)
    rules_text = "".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    rules = re.findall(r"^rule\s+(\w+)\s*:", rules_text, flags=re.M)
    with_conda = {r for _, r, _ in paths}
    local = set(re.findall(r"localrules:\s*([\w,\s]+)", rules_text))
    missing = [r for r in rules if r not in with_conda and r != "all" and r not in local]
    assert not missing, f"rules without conda: {missing}"
