"""DAG-scale benchmark: time and peak memory of `snakemake -n` for large cohorts.

Builds a sample sheet of N patients x 3 marrow timepoints (BL, D28, D90) x
(scRNA, DNA) with empty placeholder files (an empty .bai beside each BAM, so
pre-flight validation passes without reading any file), labs and events tables
(one infusion event and one ANC value per patient) and empty reference files, in a
temporary directory, then runs the real Snakefile against it.

Prints, for each cohort size:
  parse  : `snakemake --list-rules` (config + table validation + rule parsing, no DAG)
  dry-run: `snakemake -n` (parse + DAG of every job + job listing)
  dag    : dry-run minus parse (building the DAG and checking outputs)
  peak RSS of the dry-run process.
The placeholders satisfy the sample-sheet checks (files exist, BAM indexes exist);
the content checks that open each file (check_file_contents, marrowtox.preflight)
are switched off because empty files would fail them; no job runs, so their being
empty does not matter otherwise. The content checks' own cost per file is printed
from the demo cohort when demo/ exists (first run; later runs hit the cache).

With --floor it also dry-runs bench/dag_floor/Snakefile at each size: a DAG of the
same shape (8 jobs per patient) whose rules do nothing but carry the directives every
marrowtox rule has (log, benchmark, threads, callable resources, params, script:).
Its CPU is Snakemake's own cost for that many jobs, the floor under ours. Then
bench/dag_floor/files.smk: the same jobs, each reading and writing as many files as
ours (Snakemake's cost for our jobs and our files; what remains above it is our code).

    .venv/bin/python bench/dag.py [--sizes 50 200 500] [--floor]
    .venv/bin/python bench/dag.py --real-scrna 500     # the parse on real 10x files
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
TIMEPOINTS = (("BL", -7), ("D28", 28), ("D90", 90))


def make_cohort(d: Path, n: int) -> Path:
    (d / "scrna").mkdir(parents=True)
    (d / "dna").mkdir()
    (d / "reference").mkdir()
    rows = ["patient\tsample\tassay\ttimepoint\tday\tpath\tbatch\tnormal\tchemistry\tcar_construct"]
    labs = ["patient\tday\tanalyte\tvalue\tunit"]
    events = ["patient\tday\tevent\tgrade"]
    for i in range(1, n + 1):
        p = f"P{i:04d}"
        for tp, day in TIMEPOINTS:
            bam = f"dna/{p}_{tp}_dna.bam"
            h5 = f"scrna/{p}_{tp}_sc.h5"
            for f in (bam, bam + ".bai", h5):
                (d / f).touch()
            batch = f"b{(i - 1) // 20 + 1}"
            rows.append(f"{p}\t{p}_{tp}_dna\tdna\t{tp}\t{day}\t{bam}\t{batch}\t\t\t")
            rows.append(f"{p}\t{p}_{tp}_sc\tscrna\t{tp}\t{day}\t{h5}\t{batch}\t\tSC5P\tfmc63_41bbz")
        labs.append(f"{p}\t-1\tanc\t3000\t/uL")
        events.append(f"{p}\t0\tinfusion\t")
    (d / "samples.tsv").write_text("\n".join(rows) + "\n")
    (d / "labs.tsv").write_text("\n".join(labs) + "\n")
    (d / "events.tsv").write_text("\n".join(events) + "\n")
    for f in ("panel.fa", "panel.gtf", "panel.bed"):
        (d / "reference" / f).touch()
    sys.path.insert(0, str(ROOT / "src"))
    from marrowtox.settings import merged

    # the shipped settings with the demo overlay's inputs (then replaced by this cohort's)
    cfg = merged(
        yaml.safe_load((ROOT / "config" / "config.yaml").read_text()),
        yaml.safe_load((ROOT / "config" / "demo.yaml").read_text()),
    )
    # the demo overlay's panel-of-normals BAMs, as placeholders beside the sheet
    for bam in cfg["ch"]["pon_bams"]:
        (d / bam).parent.mkdir(parents=True, exist_ok=True)
        (d / bam).touch()
        (d / f"{bam}.bai").touch()
    cfg["samples"] = str(d / "samples.tsv")
    cfg["labs"] = str(d / "labs.tsv")
    cfg["events"] = str(d / "events.tsv")
    cfg["flow"] = None  # this cohort has no flow table (the demo's is not its own)
    cfg["check_file_contents"] = False
    cfg["reference"] = {
        "fasta": str(d / "reference/panel.fa"),
        "gtf": str(d / "reference/panel.gtf"),
        "panel_bed": str(d / "reference/panel.bed"),
    }
    (d / "config").mkdir()
    (d / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    return d / "config" / "config.yaml"


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, str, float]:
    """Wall seconds, peak RSS (MiB), stdout and CPU seconds (user + system) of a command
    (GNU time). CPU is the figure to compare on a shared machine: wall time there
    grows with the other processes' load."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        ["/usr/bin/time", "-f", "MAXRSS_KB=%M CPU_S=%U+%S", *cmd],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    rss = int(re.search(r"MAXRSS_KB=(\d+)", proc.stderr).group(1)) / 1024
    user, system = re.search(r"CPU_S=([\d.]+)\+([\d.]+)", proc.stderr).groups()
    return wall, rss, proc.stdout + proc.stderr, float(user) + float(system)


def bench(n: int) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"marrowtox-dag{n}-"))
    try:
        cfg = make_cohort(tmp, n)
        base = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--configfile", str(cfg)]
        base += ["--directory", str(tmp), "--cores", "2"]
        t_parse, rss_parse, _, _ = timed([*base, "--list-rules"], tmp)
        t_dry, rss_dry, out, cpu_dry = timed([*base, "-n", "--quiet", "rules"], tmp)
        m = re.search(r"^total\s+(\d+)", out, flags=re.M)
        jobs = int(m.group(1)) if m else -1
        return dict(
            n=n,
            samples=6 * n,
            jobs=jobs,
            parse=t_parse,
            dry=t_dry,
            cpu=cpu_dry,
            dag=t_dry - t_parse,
            rss=rss_dry,
            rss_parse=rss_parse,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def floor_sources(d: Path, n: int) -> None:
    """The source files bench/dag_floor/files.smk reads, as empty placeholders in `d`:
    3 scRNA and 3 DNA files a patient, 17 shared files, the three tables."""
    for sub in ("scrna", "dna", "res"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        for tp, _ in TIMEPOINTS:
            (d / "scrna" / f"P{i:04d}_{tp}_sc.h5").touch()
            (d / "dna" / f"P{i:04d}_{tp}_dna.bam").touch()
    for i in range(1, 18):
        (d / "res" / f"shared{i}.txt").touch()
    for f in ("labs.tsv", "events.tsv", "samples.tsv"):
        (d / f).touch()


def floor(n: int, shape: str = "jobs") -> dict:
    """Dry run of a do-nothing DAG for n patients: Snakemake's own cost. `shape` "jobs":
    bench/dag_floor/Snakefile, our jobs with one file each; "files": bench/dag_floor/
    files.smk, our jobs with as many files each as ours."""
    tmp = Path(tempfile.mkdtemp(prefix=f"marrowtox-dagfloor{n}-"))
    try:
        name = "Snakefile" if shape == "jobs" else "files.smk"
        if shape == "files":
            floor_sources(tmp, n)
        snakefile = ROOT / "bench" / "dag_floor" / name
        cmd = [SNAKEMAKE, "--snakefile", str(snakefile), "--directory", str(tmp)]
        cmd += ["--config", f"patients={n}", "--cores", "2", "-n", "--quiet", "rules"]
        wall, rss, out, cpu = timed(cmd, tmp)
        m = re.search(r"^total\s+(\d+)", out, flags=re.M)
        return dict(n=n, jobs=int(m.group(1)) if m else -1, dry=wall, cpu=cpu, rss=rss)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def slurm_jobs(dot: str, groups: dict[str, str], components: dict[str, int]) -> dict:
    """SLURM submissions of a DAG (`snakemake --dag` output) under a profile's `groups`
    and `group-components`: a group's jobs that are connected form one group job, and
    `group-components` packs n of those into one submission; other jobs are one each
    (the `all` target runs nowhere). Also checks that no group job depends on itself
    through a job outside it (Snakemake could not schedule that).

    Returns submissions, jobs, the group jobs per group and their sizes."""
    import math

    import networkx as nx

    labels = {
        n: lab.split("\\n")[0] for n, lab in re.findall(r'^\s*(\d+)\[label = "([^"]+)"', dot, re.M)
    }
    edges = [(a, b) for a, b in re.findall(r"^\s*(\d+) -> (\d+)", dot, re.M)]
    nodes = {n for n, rule in labels.items() if rule != "all"}
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from((a, b) for a, b in edges if a in nodes and b in nodes)
    same = nx.Graph()
    same.add_nodes_from(n for n in nodes if labels[n] in groups)
    same.add_edges_from(
        (a, b)
        for a, b in g.edges
        if labels[a] in groups and groups.get(labels[a]) == groups.get(labels[b])
    )
    unit = {n: n for n in nodes}
    sizes: dict[str, list[int]] = {}
    for comp in nx.connected_components(same):
        first = min(comp)
        for n in comp:
            unit[n] = first
        sizes.setdefault(groups[labels[first]], []).append(len(comp))
    condensed = nx.DiGraph()
    condensed.add_nodes_from(set(unit.values()))
    condensed.add_edges_from((unit[a], unit[b]) for a, b in g.edges if unit[a] != unit[b])
    if not nx.is_directed_acyclic_graph(condensed):
        raise ValueError("a group job depends on itself through a job outside the group")
    grouped = sum(math.ceil(len(v) / components.get(k, 1)) for k, v in sizes.items())
    single = sum(1 for n in nodes if labels[n] not in groups)
    return dict(submissions=grouped + single, jobs=len(nodes), sizes=sizes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 500])
    ap.add_argument(
        "--floor",
        action="store_true",
        help="also dry-run the same-shape DAG of do-nothing rules (bench/dag_floor)",
    )
    ap.add_argument(
        "--real-scrna",
        type=int,
        nargs="+",
        default=[],
        metavar="PATIENTS",
        help="instead: the parse (snakemake --list-rules) with the content checks on, for "
        "cohorts whose 3 scRNA samples a patient are the real 10x matrix of "
        "../shared/data/real/cart_product_scrna (symlinks), first and second run",
    )
    args = ap.parse_args()
    if args.real_scrna:
        for n in args.real_scrna:
            real_parse(n)
        return
    print(
        f"{'patients':>8} {'samples':>7} {'jobs':>6} {'parse s':>8} {'dry-run s':>9} "
        f"{'dag s':>7} {'cpu s':>7} {'peak MiB':>8}"
    )
    prev = None
    for n in args.sizes:
        r = bench(n)
        grow = ""
        if prev:
            grow = (
                f"  x{r['dry'] / prev['dry']:.1f} time (x{r['cpu'] / prev['cpu']:.1f} CPU) "
                f"for x{n / prev['n']:.1f} patients"
            )
        print(
            f"{r['n']:>8} {r['samples']:>7} {r['jobs']:>6} {r['parse']:>8.1f} {r['dry']:>9.1f} "
            f"{r['dag']:>7.1f} {r['cpu']:>7.1f} {r['rss']:>8.0f}{grow}",
            flush=True,
        )
        if args.floor:
            for shape, what in (("jobs", "one file a job"), ("files", "our files a job")):
                f = floor(n, shape)
                print(
                    f"{'floor':>8} {'':>7} {f['jobs']:>6} {'':>8} {f['dry']:>9.1f} {'':>7} "
                    f"{f['cpu']:>7.1f} {f['rss']:>8.0f}  Snakemake alone, {what}: "
                    f"{1000 * f['cpu'] / max(f['jobs'], 1):.2f} ms CPU per job "
                    f"(ours {1000 * r['cpu'] / max(r['jobs'], 1):.2f}; ours is "
                    f"{r['cpu'] / max(f['cpu'], 1e-9):.2f}x its CPU)",
                    flush=True,
                )
        prev = r
    print(
        "goal (issue 27): dry-run under 60 s and 2 GB at 2,000 patients; "
        f"load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    preflight_cost()


REAL_H5 = "cart_product_scrna/ID38low.filtered_feature_bc_matrix.h5"  # in ../shared/data/real


def real_parse(n: int) -> None:
    """The parse on real 10x files: the placeholders of `bench` are empty and the content
    checks off, so they never show what the pre-flight's per-file reads cost (the gene
    lists behind the mitochondrial, CAR-feature, shared-gene and protein checks). Every
    scRNA file here is the same real matrix under another name (the page cache holds
    it: a lower bound for files on a shared filesystem)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from realdata import real_data_dir

    real = real_data_dir()
    if real is None or not (real / REAL_H5).exists():
        print(f"../shared/data/real/{REAL_H5} absent: nothing to measure")
        return
    tmp = Path(tempfile.mkdtemp(prefix=f"marrowtox-realparse{n}-"))
    try:
        cfg_path = make_cohort(tmp, n)
        lines = (tmp / "samples.tsv").read_text().splitlines()
        rows = [lines[0]] + [r for r in lines[1:] if "\tscrna\t" in r]
        (tmp / "samples.tsv").write_text("\n".join(rows) + "\n")
        for f in (tmp / "scrna").glob("*.h5"):
            f.unlink()
            f.symlink_to((real / REAL_H5).resolve())
        cfg = yaml.safe_load(cfg_path.read_text())
        cfg["check_file_contents"] = True
        cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        cmd = [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--configfile", str(cfg_path)]
        cmd += ["--directory", str(tmp), "--cores", "2", "--list-rules"]
        for run in ("first (content checks uncached)", "second (cached)"):
            wall, rss, _, cpu = timed(cmd, tmp)
            print(
                f"{n} patients, {len(rows) - 1} real scRNA files, parse {run}: {wall:.1f} s "
                f"wall, {cpu:.1f} s CPU, peak {rss:.0f} MiB",
                flush=True,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def preflight_cost() -> None:
    """Uncached content checks of the demo's files, per file."""
    demo = ROOT / "demo"
    if not (demo / "samples.tsv").exists():
        print("pre-flight content checks: no demo/ (make demo-data) to measure them on")
        return
    sys.path.insert(0, str(ROOT / "src"))
    from marrowtox.preflight import check_data_files
    from marrowtox.samplesheet import load_samples

    samples = load_samples(demo / "samples.tsv")
    ref = {
        "fasta": str(demo / "reference/panel.fa"),
        "gtf": str(demo / "reference/panel.gtf"),
        "panel_bed": str(demo / "reference/panel.bed"),
    }
    t0 = time.perf_counter()
    check_data_files(samples, str(demo / "samples.tsv"), ref)
    dt = time.perf_counter() - t0
    print(
        f"pre-flight content checks (demo, uncached): {len(samples)} files in {dt:.2f} s "
        f"({1000 * dt / len(samples):.0f} ms per file; cached per file version afterwards)"
    )


if __name__ == "__main__":
    main()
