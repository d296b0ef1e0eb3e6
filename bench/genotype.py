"""Benchmark: per-cell UMI counting at CH sites (marrowtox.genotype.count) on a simulated BAM.

Simulates a 10x-style BAM: 10,000 cells x 20 SNV sites on one reference contig, each
cell with Poisson(1) UMIs per site and about 5 reads per UMI (extra reads flagged
duplicate, as Cell Ranger does), 10% of cells carrying the alt allele. The counting runs
in a child process so that its peak memory (VmHWM of the child from /proc, i.e. peak
resident set including the interpreter, pandas and htslib buffers) is not the
simulation's; the floor is `samtools view -c <bam> <regions>` over the same 1-bp regions
(htslib decoding every read, nothing else), timed in the same run. Figures, never
pass/fail.

Usage: .venv/bin/python bench/genotype.py [--cells 10000] [--sites 20]
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

N_CELLS = 10_000
N_SITES = 20
SITE_SPACING = 500
READ_LEN = 90
UMIS_PER_CELL_SITE = 1.0
READS_PER_UMI = 5
CARRIER_FRACTION = 0.1
SEED = 11
CONTIG = "chrB"


def simulate(work: Path) -> tuple[Path, list[str], list[tuple[int, str, str]]]:
    """Sorted, indexed BAM; cell barcodes; sites as (0-based pos, ref, alt)."""
    import pysam

    rng = np.random.default_rng(SEED)
    length = SITE_SPACING * (N_SITES + 1)
    ref = "".join(rng.choice(list("ACGT"), length))
    sites = []
    for k in range(N_SITES):
        pos = SITE_SPACING * (k + 1)
        sites.append((pos, ref[pos], next(b for b in "ACGT" if b != ref[pos])))
    bases = np.array(list("ACGT"))
    cells = ["".join(rng.choice(bases, 16)) + "-1" for _ in range(N_CELLS)]
    carrier = rng.random(N_CELLS) < CARRIER_FRACTION
    qual = "F" * READ_LEN
    sam = work / "sim.sam"
    n_reads = 0
    with open(sam, "w", encoding="ascii") as fh:
        fh.write(f"@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:{CONTIG}\tLN:{length}\n")
        for pos, r, a in sites:
            n_umis = rng.poisson(UMIS_PER_CELL_SITE, N_CELLS)
            for c in np.flatnonzero(n_umis):
                for _ in range(n_umis[c]):
                    umi = "".join(rng.choice(bases, 12))
                    base = a if carrier[c] and rng.random() < 0.5 else r
                    n = 1 + rng.poisson(READS_PER_UMI - 1)
                    starts = pos - rng.integers(0, READ_LEN, n)
                    for j, s in enumerate(starts):
                        seq = ref[s:pos] + base + ref[pos + 1 : s + READ_LEN]
                        flag = (1024 if j else 0) | (16 if rng.random() < 0.5 else 0)
                        fh.write(
                            f"r{n_reads}\t{flag}\t{CONTIG}\t{s + 1}\t255\t{READ_LEN}M\t*\t0\t0\t"
                            f"{seq}\t{qual}\tCB:Z:{cells[c]}\tUB:Z:{umi}\n"
                        )
                        n_reads += 1
    bam = work / "sim.bam"
    pysam.sort("-@", "2", "-o", str(bam), str(sam))
    pysam.index(str(bam))
    sam.unlink()
    print(f"simulated {n_reads:,} reads, {N_CELLS:,} cells, {N_SITES} sites -> {bam.name}")
    return bam, cells, sites


def _peak_rss_kb() -> int:
    """Peak resident set of this process (VmHWM). Not getrusage's ru_maxrss: Linux carries
    the parent's high-water mark over fork+exec, so a child would report the simulation's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(bam: str, cells_path: str, sites_json: str) -> None:
    """Runs in a fresh interpreter: prints wall time and peak RSS of the counting."""
    from marrowtox.genotype.count import count_sites
    from marrowtox.genotype.sites import Site

    cells = Path(cells_path).read_text().split()
    sites = [Site(f"S{i}", CONTIG, p, r, a) for i, (p, r, a) in enumerate(json.loads(sites_json))]
    rss_before = _peak_rss_kb()
    t0 = time.perf_counter()
    stats: dict[str, int] = {}
    df = count_sites(bam, sites, cells, stats=stats)
    wall = time.perf_counter() - t0
    rss = _peak_rss_kb()
    print(
        json.dumps(
            {
                "wall": wall,
                "rss_kb": rss,
                "rss_before_kb": rss_before,
                "rows": len(df),
                "umis": int(df[["ref_umis", "alt_umis", "other_umis"]].to_numpy().sum()),
                "stats": stats,
            }
        )
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench_genotype.") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        bam, cells, sites = simulate(work)
        print(f"simulation + sort + index: {time.perf_counter() - t0:.1f} s")
        cells_path = work / "barcodes.tsv"
        cells_path.write_text("\n".join(cells) + "\n")
        regions = [f"{CONTIG}:{p + 1}-{p + 1}" for p, _, _ in sites]

        res = subprocess.run(
            [sys.executable, __file__, "--child", str(bam), str(cells_path), json.dumps(sites)],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(res.stdout.strip().splitlines()[-1])
        print(
            f"marrowtox count_sites: {r['wall']:.2f} s wall (in-process timer, child process), "
            f"peak RSS {r['rss_kb'] / 1024:.0f} MiB (/proc VmHWM of the child; "
            f"{r['rss_before_kb'] / 1024:.0f} MiB after imports, before counting); "
            f"{r['rows']:,} (variant, cell) rows, {r['umis']:,} UMIs"
        )
        print(f"  read stats: {r['stats']}")

        samtools = shutil.which("samtools")
        floors = []
        if samtools:
            t0 = time.perf_counter()
            out = subprocess.run(
                [samtools, "view", "-c", str(bam), *regions],
                check=True,
                capture_output=True,
                text=True,
            )
            floors.append(("samtools view -c (PATH)", time.perf_counter() - t0, out.stdout.strip()))
        else:
            print("samtools: not on PATH")
        import pysam

        t0 = time.perf_counter()
        n = pysam.view("-c", str(bam), *regions).strip()
        floors.append(("pysam's bundled samtools view -c", time.perf_counter() - t0, n))
        for name, wall, count in floors:
            print(
                f"floor {name}: {wall:.2f} s for {int(count):,} reads over the {len(regions)} "
                f"regions; count_sites / floor = {r['wall'] / wall:.1f}x"
            )

        t0 = time.perf_counter()
        cli = subprocess.run(
            [
                sys.executable,
                "-m",
                "marrowtox.cli",
                "sc-genotype",
                "--bam",
                str(bam),
                "--barcodes",
                str(cells_path),
                "--vcf",
                str(_vcf(work, sites)),
                "--sample",
                "bench",
                "--out",
                str(work / "counts.tsv"),
            ],
            capture_output=True,
            text=True,
        )
        cli_wall = time.perf_counter() - t0
        status = "ok" if cli.returncode == 0 else f"exit {cli.returncode}: {cli.stderr[-300:]}"
        print(
            f"marrowtox sc-genotype end to end (imports, checks, count, write): "
            f"{cli_wall:.2f} s ({status})"
        )


def _vcf(work: Path, sites: list[tuple[int, str, str]]) -> Path:
    path = work / "sites.vcf"
    lines = [
        "##fileformat=VCFv4.2",
        f"##contig=<ID={CONTIG},length={SITE_SPACING * (N_SITES + 1)}>",
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO",
    ]
    lines += [f"{CONTIG}\t{p + 1}\tS{i}\t{r}\t{a}\t.\tPASS\t." for i, (p, r, a) in enumerate(sites)]
    path.write_text("\n".join(lines) + "\n")
    return path


def parse_sizes(argv: list[str]) -> None:
    """--cells and --sites (a smaller run for tests/test_bench.py) set the module sizes."""
    import argparse

    global N_CELLS, N_SITES
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=N_CELLS)
    ap.add_argument("--sites", type=int, default=N_SITES)
    args = ap.parse_args(argv)
    N_CELLS, N_SITES = args.cells, args.sites


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:5])
    else:
        parse_sizes(sys.argv[1:])
        main()
