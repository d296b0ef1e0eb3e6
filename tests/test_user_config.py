"""config/config.yaml is the user's (issue 26): a user's cohort never reads demo/.

A working directory laid out like the repository after `make demo` (config/config.yaml
and config/demo.yaml as shipped, a generated demo/ beside them) is dry-run with a user's
own config given with --configfile: scRNA samples only, no flow table, no normals, no
genome. Every job input the dry run lists is checked to lie outside demo/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from workflow_run import REPO

from marrowtox.cli import main
from marrowtox.errors import InputError
from marrowtox.samplesheet import DNA_INPUTS, REQUIRED_INPUTS, unset_inputs

PLACEHOLDERS = [*REQUIRED_INPUTS, *DNA_INPUTS]


@pytest.fixture
def user_config(demo_data: Path, tmp_path: Path) -> Path:
    """A user's cohort outside demo/: two scRNA samples, no labs/flow/normals/genome."""
    mine = tmp_path / "mine"
    (mine / "scrna").mkdir(parents=True)
    rows = ["patient\tsample\tassay\ttimepoint\tday\tpath"]
    for sample, day in (("P01_BL_sc", -5), ("P01_D28_sc", 28)):
        shutil.copy(demo_data / "scrna" / f"{sample}.h5", mine / "scrna" / f"U1_{day}.h5")
        rows.append(f"U1\tU1_d{day}\tscrna\tT{day}\t{day}\tscrna/U1_{day}.h5")
    (mine / "samples.tsv").write_text("\n".join(rows) + "\n")
    cfg = mine / "config.yaml"
    cfg.write_text(yaml.safe_dump({"samples": str(mine / "samples.tsv")}))
    return cfg


#: Snakemake run under an audit hook that logs every file Python opens under demo/
#: (the pre-flight's table reads included; HDF5/htslib opens in C are not seen, the job
#: inputs of the dry run cover those).
AUDITED = """
import atexit, json, os, sys
demo, log = os.path.realpath(sys.argv[1]), sys.argv[2]
seen = []
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.path.realpath(os.path.abspath(os.fsdecode(args[0])))
        if path == demo or path.startswith(demo + os.sep):
            seen.append(path)
sys.addaudithook(hook)
atexit.register(lambda: open(log, "w").write(json.dumps(seen)))
from snakemake.cli import main
main(sys.argv[3:])
"""


def dry_run(work: Path, *configfiles: Path) -> subprocess.CompletedProcess[str]:
    """A dry run from `work`; the files of demo/ that Python opened: proc.demo_opened."""
    cmd = ["--snakefile", str(REPO / "Snakefile"), "--directory", str(work)]
    if configfiles:
        cmd += ["--configfile", *map(str, configfiles)]
    cmd += ["-n", "--cores", "1"]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    log = work / "demo_opened.json"
    audited = [sys.executable, "-c", AUDITED, str(work / "demo"), str(log), *cmd]
    proc = subprocess.run(audited, capture_output=True, text=True, env=env, timeout=600)
    proc.demo_opened = json.loads(log.read_text()) if log.is_file() else None  # type: ignore[attr-defined]
    return proc


def job_inputs(stdout: str, work: Path) -> set[Path]:
    """Every input file of every job of a dry run (its `input:` lines), made absolute."""
    files: set[Path] = set()
    for line in re.findall(r"^\s+input: (.*)$", stdout, flags=re.M):
        for name in line.split(", "):
            p = Path(name.strip())
            files.add(p if p.is_absolute() else work / p)
    return files


def test_user_config_reads_nothing_of_demo(repo_like: Path, user_config: Path) -> None:
    proc = dry_run(repo_like, user_config)
    assert proc.returncode == 0, proc.stderr[-3000:]
    inputs = job_inputs(proc.stdout, repo_like)
    # the parse saw the jobs: the user's matrices are inputs
    assert user_config.parent / "scrna" / "U1_-5.h5" in inputs
    demo = (repo_like / "demo").resolve()
    leaked = sorted(p for p in inputs if p.resolve().is_relative_to(demo) or "demo/" in str(p))
    assert leaked == [], leaked
    # no demo option reaches the run: no flow job input, no panel of normals
    assert not any(p.name == "flow.tsv" for p in inputs)
    assert "ch_pon" not in proc.stdout
    # nor the pre-flight: Python opened no file under demo/
    assert proc.demo_opened == [], proc.demo_opened


def test_demo_overlay_is_the_only_route_to_demo(repo_like: Path) -> None:
    """`make demo`'s command (--configfile config/demo.yaml) runs the demo cohort."""
    proc = dry_run(repo_like, repo_like / "config" / "demo.yaml")
    assert proc.returncode == 0, proc.stderr[-3000:]
    inputs = {p.resolve() for p in job_inputs(proc.stdout, repo_like)}
    demo = (repo_like / "demo").resolve()
    assert demo / "flow.tsv" in inputs
    assert any(p.parent == demo / "dna" / "normals" for p in inputs)  # ch_pon's normals
    # the audit hook sees the pre-flight read the demo's tables (so it would see a leak)
    assert str(demo / "samples.tsv") in proc.demo_opened


def test_shipped_config_fails_the_preflight_naming_each_placeholder(repo_like: Path) -> None:
    proc = dry_run(repo_like)
    assert proc.returncode != 0
    said = proc.stdout + proc.stderr  # snakemake prints a parse error on either
    assert "invalid input" in said
    for key in PLACEHOLDERS:
        assert f"config key {key}: set it to" in said, key
    assert "Traceback" not in said


def test_validate_names_each_placeholder_of_the_shipped_config(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validate", "--config", str(REPO / "config" / "config.yaml")]) == 2
    err = capsys.readouterr().err
    for key in PLACEHOLDERS:
        assert f"config key {key}: set it to" in err, key


def test_genome_required_only_with_dna_rows() -> None:
    config = {"samples": "s.tsv", "reference": {"fasta": "", "gtf": "", "panel_bed": ""}}
    assert unset_inputs(config, has_dna=False) == []
    problems = unset_inputs(config, has_dna=True)
    assert [p.split(":")[0] for p in problems] == [f"config key {k}" for k in DNA_INPUTS]
    assert all("samples.tsv has DNA rows" in p for p in problems)


def test_dna_sheet_without_genome_is_refused(demo_data: Path, tmp_path: Path) -> None:
    from marrowtox.preflight import run_preflight

    config = {"samples": str(demo_data / "samples.tsv")}
    with pytest.raises(InputError) as info:
        run_preflight(config, config_file="mine.yaml", check_files=False)
    assert info.value.file == "mine.yaml"
    assert "config key reference.fasta" in str(info.value)


def test_demo_overlay_holds_inputs_only() -> None:
    """config/demo.yaml names the demo's inputs and nothing else: settings live once, in
    config/config.yaml (a settings edit never has to be made twice)."""
    demo = yaml.safe_load((REPO / "config" / "demo.yaml").read_text())
    inputs = {"samples", "labs", "events", "flow", "reference", "ch", "report"}
    assert set(demo) <= inputs
    assert set(demo["ch"]) == {"pon_bams"} and set(demo["report"]) == {"products"}
    shipped = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    assert shipped["samples"] == "" and shipped["flow"] is None
    assert shipped["ch"]["pon_bams"] == [] and shipped["report"]["products"] == {}
    assert "demo/" not in (REPO / "config" / "config.yaml").read_text().split("# ---- inputs")[1]


def test_snakefile_base_config_is_config_yaml() -> None:
    """The base every --configfile is laid over is config/config.yaml (placeholders)."""
    snakefiles = [REPO / "Snakefile", REPO / "workflow" / "Snakefile"]
    text = "".join(p.read_text() for p in snakefiles if p.is_file())
    assert 'configfile: "config/config.yaml"' in text


def test_validate_lays_config_files_over_each_other(
    repo_like: Path, user_config: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """`marrowtox validate --config A B` checks B laid over A, as snakemake --configfile
    does: the shipped config with the user's file passes; with the demo overlay, the demo."""
    monkeypatch.chdir(repo_like)
    base = "config/config.yaml"
    assert main(["validate", "--config", base, str(user_config), "--no-file-check"]) == 0
    assert "1 patients, 2 scRNA and 0 DNA samples" in capsys.readouterr().out
    assert main(["validate", "--config", base, "config/demo.yaml", "--no-file-check"]) == 0
    # 15 marrow scRNA + a product and a CD3+CAR+ sort; 15 DNA + two sorted blood fractions
    assert "6 patients, 17 scRNA and 17 DNA samples" in capsys.readouterr().out
