"""Each rule's declared memory (resources: mem_mb) against the peak its jobs reached.

The shared demo run (tests/workflow_run.py) writes one benchmark file per job
(`benchmark:`, column max_rss, MB). A dry run with --forceall on the finished run
prints every job's mem_mb as its callable computes it from the real input sizes. A
job whose peak exceeds its mem_mb would be killed on SLURM (`--mem`); one that asks
for more than MAX_RATIO x its peak holds memory the cluster could give to others
(issue 27: "each rule's mem_mb ... checked against the measured peak").
"""

from __future__ import annotations

import csv
import re
import subprocess
from pathlib import Path

from workflow_run import REPO, SNAKEMAKE

# "absurdly above" (issue 27 brief): a request of more than 20x the measured peak
MAX_RATIO = 20


def _planned_mem(work: Path) -> dict[str, tuple[str, int | None]]:
    """benchmark file -> (rule, mem_mb) of every job, from a forced dry run; mem_mb is
    None where it depends on a temporary input already removed (shown as <TBD>)."""
    out = subprocess.run(
        [
            str(SNAKEMAKE),
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(work),
            "--configfile",
            str(work / "config" / "config.yaml"),
            "--cores",
            "2",
            "-n",
            "--forceall",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    jobs, rule, bench = {}, None, None
    for line in out.splitlines():
        if m := re.match(r"\s*(?:local)?rule (\w+):", line):
            rule, bench = m.group(1), None
        elif m := re.match(r"\s+benchmark: (\S+)", line):
            bench = m.group(1)
        elif (m := re.match(r"\s+resources: .*\bmem_mb=(\d+|<TBD>)", line)) and bench:
            jobs[bench] = (rule, None if m.group(1) == "<TBD>" else int(m.group(1)))
    return jobs


def _peak_mb(path: Path) -> float | None:
    """max_rss of a benchmark file, None for a job shorter than a second: Snakemake
    samples memory about once a second, so such a job's figure is whatever the first
    sample caught (0.5 MB for the 0.4 s provenance job), not its peak."""
    with open(path, encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if max(float(row["s"]) for row in rows) < 1:
        return None
    return max(float(row["max_rss"]) for row in rows)


def test_every_job_peak_within_its_mem_mb(demo_run) -> None:
    work = demo_run["work"]
    jobs = _planned_mem(work)
    checked, below, above = [], [], []
    for bench, (rule, mem_mb) in sorted(jobs.items()):
        if mem_mb is None or not (work / bench).is_file():
            continue
        peak = _peak_mb(work / bench)
        if peak is None:
            continue
        checked.append(rule)
        if peak > mem_mb:
            below.append(f"{rule} ({bench}): peak {peak:.0f} MB > mem_mb {mem_mb}")
        elif mem_mb > MAX_RATIO * peak:
            above.append(f"{rule} ({bench}): mem_mb {mem_mb} > {MAX_RATIO} x peak {peak:.0f} MB")
    # most jobs are checked: the per-sample, per-patient and cohort rules of every branch
    families = {re.sub(r"_P\d+$", "", r) for r in checked}
    assert {"sc_process", "cart_call", "ch_call", "report_patient"} <= families, families
    assert len(checked) >= 0.6 * len(jobs), (len(checked), len(jobs))
    assert not below, "\n".join(below)
    assert not above, "\n".join(above)
