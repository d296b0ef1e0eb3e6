"""Real SLURM run: the workflow under --profile profiles/slurm equals a local run.

Needs a running cluster (scripts/slurm/setup.sh; `make test-slurm` does all of it) and
MARROWTOX_TEST_SLURM=1. The demo test runs the whole demo twice (local, SLURM) in
copies of the repository under a temporary directory, so the working tree is untouched.
"""

import filecmp
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(
        os.environ.get("MARROWTOX_TEST_SLURM") != "1", reason="set MARROWTOX_TEST_SLURM=1"
    ),
]

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SNAKEMAKE = str(BIN / "snakemake")
PROFILE = str(ROOT / "profiles" / "slurm")
# the demo's inputs over config/config.yaml, as `make demo` runs them
DEMO_CONFIG = ("--configfile", "config/demo.yaml")
COPY_IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".snakemake",
    "results",
    "logs",
    "benchmarks",
    "demo",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    "*.egg-info",
)


def _sacct(since):
    out = subprocess.run(
        ["sacct", "-X", "-n", "-P", "-S", since, "-o", "JobID,Comment,AllocCPUS,ReqMem,State"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = []
    for line in out.splitlines():
        jobid, comment, cpus, mem, state = line.split("|")
        rows.append((jobid, comment, int(cpus), mem, state))
    return rows


def _mem_mb(reqmem):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT])n?c?", reqmem)
    assert m, reqmem
    return round(float(m.group(1)) * {"K": 1 / 1024, "M": 1, "G": 1024, "T": 1024**2}[m.group(2)])


def _sbatch_calls(log):
    """(rule, cpus-per-task, mem) from the plugin's `sbatch call:` lines (--verbose)."""
    calls = []
    for line in log.splitlines():
        if line.startswith("sbatch call:"):
            rule = re.search(r"--comment[ =]'?rule_(\w+?)(?:_wildcards_\S*)?'?\s", line).group(1)
            cpus = int(re.search(r"--cpus-per-task=(\d+)", line).group(1))
            mem = int(re.search(r"--mem[ =](\d+)", line).group(1))
            calls.append((rule, cpus, mem))
    return calls


def _expected(workdir, extra=()):
    """threads and mem_mb of every job, from Snakemake's own dry run (`extra`: the
    demo's --configfile; the smoke workflow has no config)."""
    out = subprocess.run(
        [
            SNAKEMAKE,
            "--profile",
            PROFILE,
            "-n",
            "--forceall",
            "--executor",
            "local",
            "--cores",
            "64",
            *extra,
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    jobs, rule = [], None
    for line in out.splitlines():
        # members of a group job are listed indented under it
        m = re.match(r"\s*(local)?rule (\w+):", line)
        if m:  # localrules are not submitted
            rule, threads = (None if m.group(1) else m.group(2)), 1
        m = re.match(r"\s+threads: (\d+)", line)
        if m and rule:
            threads = int(m.group(1))
        # mem_mb of a rule scaled by an input that does not exist yet is "<TBD>" in a
        # dry run: those jobs are checked for threads here and for mem in sacct
        m = re.match(r"\s+resources: .*\bmem_mb=(\d+|<TBD>)", line)
        if m and rule and rule != "all":
            jobs.append((rule, threads, None if m.group(1) == "<TBD>" else int(m.group(1))))
            rule = None
    return sorted(jobs)


def _run_slurm(workdir, extra=()):
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 2))
    proc = subprocess.run(
        # Poll sooner than the plugin's defaults (40 s before the first check): the
        # single-node test cluster answers at once, and waves of short jobs dominate.
        [
            SNAKEMAKE,
            "--profile",
            PROFILE,
            "--verbose",
            "--slurm-init-seconds-before-status-checks",
            "5",
            "--seconds-between-status-checks",
            "5",
            # the most CPUs one job (a group job too) may ask for: this node's
            "--cores",
            str(os.cpu_count()),
            *extra,
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
    )
    (Path(workdir) / "slurm_run.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc.stdout + proc.stderr, since


def _groups():
    import yaml

    return yaml.safe_load(Path(PROFILE, "config.yaml").read_text()).get("groups", {})


def _check_resources(log, since, expected):
    """Every job's threads -> --cpus-per-task and mem_mb -> --mem, in the plugin's sbatch
    calls and in sacct. Grouped rules (the profile's `groups`) are submitted as one job
    per connected group: each such job must ask for at least the memory of its
    largest member."""
    groups = _groups()
    group_names = set(groups.values())
    single = [j for j in expected if j[0] not in groups]
    member_mem = {}
    for rule, _, mem in expected:
        if rule in groups:
            g = groups[rule]
            member_mem[g] = max(member_mem.get(g, 0), mem or 0)

    def group_of(name):
        # a group job's comment is rule_<group>_<its member rules, sorted>
        return next((g for g in group_names if name == g or name.startswith(g + "_")), None)

    calls = [(group_of(r) or r, cpus, mem) for r, cpus, mem in _sbatch_calls(log)]
    assert calls, "no sbatch call logged"
    plain = sorted(c for c in calls if c[0] not in group_names)
    grouped = [c for c in calls if c[0] in group_names]
    # same jobs with the same threads; mem exactly as planned where the plan knew it
    assert sorted(c[:2] for c in plain) == sorted(j[:2] for j in single), (plain, single)
    known = sorted(j for j in single if j[2] is not None)
    assert sorted(c for c in plain if (c[0], c[1], c[2]) in set(known)) == known, (plain, known)
    assert all(c[2] > 0 for c in plain)
    assert {c[0] for c in grouped} == set(member_mem), grouped
    for name, cpus, mem in grouped:
        assert cpus >= 1 and mem >= member_mem[name], (name, cpus, mem)
    acct = [r for r in _sacct(since) if r[1].startswith("rule_")]
    assert len(acct) >= len(calls)
    got = sorted(
        (
            group_of(n := re.match(r"rule_(\w+?)(?:_wildcards_.*)?$", c).group(1)) or n,
            cpus,
            _mem_mb(mem),
        )
        for _, c, cpus, mem, state in acct
        if state == "COMPLETED"
    )
    # what SLURM accounted is exactly what was submitted
    assert [g for g in got if g[0] not in group_names] == plain, f"sacct {got}"
    assert sorted(g for g in got if g[0] in group_names) == sorted(grouped), f"sacct {got}"


def test_smoke_threads_and_memory_reach_sbatch(tmp_path):
    shutil.copytree(ROOT / "tests" / "data" / "slurm_smoke", tmp_path / "w")
    w = tmp_path / "w"
    expected = _expected(w)
    assert expected == [("a", 2, 600), ("b", 1, 300)]
    log, since = _run_slurm(w)
    _check_resources(log, since, expected)
    assert (w / "out" / "a.tsv").read_text().splitlines()[1] == "a\t2"  # 2 CPUs in the job


def _tables(results):
    return sorted(p.relative_to(results) for p in results.rglob("*.tsv"))


def test_demo_on_slurm_equals_local(tmp_path):
    local, slurm = tmp_path / "local", tmp_path / "slurm"
    for w in (local, slurm):
        shutil.copytree(ROOT, w, ignore=COPY_IGNORE, symlinks=True)
        subprocess.run(
            [str(BIN / "marrowtox"), "demo", "--out", "demo", "--seed", "7"],
            cwd=w,
            check=True,
            capture_output=True,
        )
    cores = os.environ.get("CORES", "2")
    proc = subprocess.run(
        [SNAKEMAKE, "--cores", cores, *DEMO_CONFIG], cwd=local, capture_output=True, text=True
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    expected = _expected(slurm, DEMO_CONFIG)
    log, since = _run_slurm(slurm, DEMO_CONFIG)
    _check_resources(log, since, expected)
    a, b = _tables(local / "results"), _tables(slurm / "results")
    assert a and a == b
    diff = [
        str(p)
        for p in a
        if not filecmp.cmp(local / "results" / p, slurm / "results" / p, shallow=False)
    ]
    assert not diff, f"tables differ between local and SLURM runs: {diff}"
    assert (slurm / "results" / "reports" / "cohort.html").is_file()
