"""bench/dag_floor/files.smk stays a copy of the workflow's DAG shape: for every rule,
as many jobs, input files and output files as marrowtox on bench/dag.py's cohort.

bench/dag.py --floor reads the difference between that do-nothing DAG and ours as what
marrowtox's own code costs; a rule that gains an output while the floor does not would
make the comparison quietly wrong.
"""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
import dag  # noqa: E402  (bench/dag.py)

#: a rule the workflow defines per patient (ch_call_<patient>; one wildcard rule in the
#: floor) or per part of the cohort (in both)
_PER_PATIENT = re.compile(r"_P\d{4}$")
_PER_PART = re.compile(r"_part\d{4}$")


def _files_per_rule(listing: str) -> dict[str, tuple[int, int, int]]:
    """rule -> (jobs, input files, output files), from `snakemake -n`'s job listing."""
    counts: dict[str, list[int]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \S+:)", listing):
        head = re.match(r"(?:local)?rule (\S+):", block)
        if not head:
            continue
        rule = _PER_PART.sub("_part", _PER_PATIENT.sub("", head.group(1)))
        files = [re.search(rf"^\s+{k}: (.*)$", block, re.M) for k in ("input", "output")]
        c = counts.setdefault(rule, [0, 0, 0])
        c[0] += 1
        for i, m in enumerate(files, start=1):
            c[i] += len(m.group(1).split(", ")) if m else 0
    return {rule: (c[0], c[1], c[2]) for rule, c in counts.items()}


def _dry_run(snakefile: Path, workdir: Path, *extra: str) -> str:
    cmd = [dag.SNAKEMAKE, "--snakefile", str(snakefile), "--directory", str(workdir)]
    proc = subprocess.run(
        [*cmd, "--cores", "1", "-n", *extra], cwd=workdir, capture_output=True, text=True
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    return proc.stdout


def test_the_floor_has_our_jobs_and_files(tmp_path: Path) -> None:
    cfg = dag.make_cohort(tmp_path / "ours", 3)
    ours = _files_per_rule(
        _dry_run(REPO / "Snakefile", tmp_path / "ours", "--configfile", str(cfg))
    )
    dag.floor_sources(tmp_path / "floor", 3)
    snakefile = REPO / "bench" / "dag_floor" / "files.smk"
    floor = _files_per_rule(_dry_run(snakefile, tmp_path / "floor", "--config", "patients=3"))

    # the floor leaves out the panel-of-normals model (one job) and `all`'s extra targets
    assert set(ours) - set(floor) == {"ch_pon"}, sorted(ours)
    differ = {
        rule: (ours[rule], floor[rule])
        for rule in floor
        if rule != "all" and ours[rule] != floor[rule]
    }
    assert not differ, f"(jobs, inputs, outputs) ours vs floor: {differ}"
    assert sum(c[0] for c in floor.values()) == sum(c[0] for c in ours.values()) - 1
