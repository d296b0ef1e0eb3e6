"""umierrorcorrect2 (PyPI 0.33.3, the successor of UMIErrorCorrect: Osterlund et al. 2022,
Clin Chem 68:1425) as the peer of marrowtox's UMI consensus in bench/ch.py.

Why an isolated venv: umierrorcorrect2 pins `six` below the project's lock (and pulls
multiqc, cutadapt, polars, numba ...), so it cannot live in .venv. The bench makes
REPO/.bench-venv (gitignored; also `make bench-venv`) with `uv` from the exact pins of
bench/peers/umierrorcorrect2.lock, and reinstalls when the lock changes. Its every command
checks for `bwa` on PATH (it aligns with bwa mem): the bench installs Debian's bwa
when run as root, else reports the column as not run with that reason.

Two uses:
- `consensus_on_bam`: simulated single-end reads (the same BAM marrowtox reads), the
  UMI moved into the read name as its `consensus` command expects ("NAME:UMI");
  `umierrorcorrect2 consensus` then `variants` (its count caller: family size >=
  `--fsize`, >= `--cutoff` alt consensus reads);
- `pipeline_on_fastq`: the real SiMSen-Seq FASTQ through its own `run` (preprocess
  without fastp, bwa mem, consensus, stats, variants).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pysam

REPO = Path(__file__).resolve().parents[2]
VENV = REPO / ".bench-venv"
LOCK = REPO / "bench" / "peers" / "umierrorcorrect2.lock"
EXE = VENV / "bin" / "umierrorcorrect2"
#: umierrorcorrect2's consensus read names end in "_Count=<reads in the family>".
COUNT = re.compile(r"_Count=(\d+)$")


def ensure() -> str | None:
    """Makes the venv when missing or stale; None when umierrorcorrect2 can run, else
    the reason it cannot (printed in the bench's output)."""
    stamp = VENV / ".lock"
    if not (EXE.exists() and stamp.exists() and stamp.read_text() == LOCK.read_text()):
        uv = Path(sys.executable).with_name("uv")
        uv_cmd = str(uv) if uv.exists() else shutil.which("uv")
        if uv_cmd is None:
            return (
                "uv not found (it builds the isolated venv from bench/peers/umierrorcorrect2.lock)"
            )
        py = str(VENV / "bin" / "python")
        steps = [
            [uv_cmd, "venv", "-q", "--clear", "-p", sys.executable, str(VENV)],
            [uv_cmd, "pip", "install", "-q", "--python", py, "-r", str(LOCK)],
        ]
        for cmd in steps:
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                return f"{' '.join(cmd[:3])} failed: {r.stderr.strip()[-300:]}"
        stamp.write_text(LOCK.read_text())
    if shutil.which("bwa") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "bwa"], capture_output=True)
    if shutil.which("bwa") is None:
        return (
            "bwa not on PATH: umierrorcorrect2 aligns with bwa mem and each of its "
            "commands refuses to start without it (Debian: apt-get install bwa)"
        )
    return None


def _run(args: list[str], log: Path) -> None:
    env = {**os.environ, "PATH": f"{VENV / 'bin'}:{os.environ.get('PATH', '')}"}
    with open(log, "a", encoding="utf-8") as fh:
        r = subprocess.run([str(EXE), *args], stdout=fh, stderr=subprocess.STDOUT, env=env)
    if r.returncode:
        raise RuntimeError(f"umierrorcorrect2 {args[0]} failed (log: {log})")


def _bwa_reference(fasta: Path, work: Path) -> Path:
    """A copy of the reference with its bwa index (umierrorcorrect2 asks on stdin
    whether to build one, which a batch run cannot answer)."""
    ref = work / "ref.fa"
    if not Path(str(ref) + ".bwt").exists():
        shutil.copy(fasta, ref)
        subprocess.run(["bwa", "index", str(ref)], capture_output=True, check=True)
    return ref


def _rx_to_name(bam: Path, out: Path) -> None:
    """The same reads with the UMI (RX) as the last ':' field of the name."""
    with pysam.AlignmentFile(str(bam)) as src:
        with pysam.AlignmentFile(str(out), "wb", header=src.header) as dst:
            for r in src:
                if r.has_tag("RX"):
                    r.query_name = f"{r.query_name}:{str(r.get_tag('RX')).replace('-', '')}"
                    dst.write(r)
    pysam.index(str(out))


def consensus_on_bam(
    bam: Path, fasta: Path, bed: Path, work: Path, sample: str, fsize: int, cutoff: int
) -> dict[str, Path]:
    """umierrorcorrect2 consensus + variants on an aligned BAM with RX tags."""
    work.mkdir(parents=True, exist_ok=True)
    ref = _bwa_reference(fasta, work)
    named = work / f"{sample}.sorted.bam"
    _rx_to_name(bam, named)
    log = work / "umierrorcorrect2.log"
    _run(["consensus", "-b", str(named), "-o", str(work), "-r", str(ref), "-bed", str(bed),
          "-s", sample, "-t", "1"], log)  # fmt: skip
    cons = work / f"{sample}_cons.tsv"
    _run(["variants", "-o", str(work), "-r", str(ref), "--cons", str(cons), "-s", sample,
          "-f", str(fsize), "--cutoff", str(cutoff)], log)  # fmt: skip
    return {
        "raw_bam": named,
        "consensus_bam": work / f"{sample}_consensus_reads.bam",
        "vcf": work / f"{sample}.vcf",
    }


def pipeline_on_fastq(
    fastq: Path, fasta: Path, bed: Path, work: Path, sample: str, umi_length: int, spacer: int
) -> dict[str, Path]:
    """umierrorcorrect2's own pipeline (`run`) on a read 1 FASTQ with inline UMIs."""
    work.mkdir(parents=True, exist_ok=True)
    ref = _bwa_reference(fasta, work)
    out = work / "out"
    _run(["run", "-r1", str(fastq), "-r", str(ref), "-o", str(out), "-rb", str(bed),
          "-ul", str(umi_length), "-sl", str(spacer), "-s", sample, "--no-fastp", "--no-qc",
          "-t", "1", "-j", "1"], work / "umierrorcorrect2.log")  # fmt: skip
    d = out / "samples" / sample
    if not (d / f"{sample}_consensus_reads.bam").exists():
        raise RuntimeError(f"umierrorcorrect2 run wrote no consensus BAM (see {d})")
    return {
        "raw_bam": d / f"{sample}.sorted.bam",
        "consensus_bam": d / f"{sample}_consensus_reads.bam",
        "vcf": d / f"{sample}.vcf",
    }


def family_sizes(consensus_bam: Path) -> Counter[int]:
    """Families by size (reads per consensus read, from the read name)."""
    sizes: Counter[int] = Counter()
    with pysam.AlignmentFile(str(consensus_bam)) as bam:
        for r in bam:
            m = COUNT.search(r.query_name or "")
            if m and not (r.is_secondary or r.is_supplementary):
                sizes[int(m.group(1))] += 1
    return sizes


def min_family(consensus_bam: Path, min_size: int, out: Path) -> Path:
    """The consensus reads of families of at least `min_size` reads (indexed BAM)."""
    with pysam.AlignmentFile(str(consensus_bam)) as src:
        with pysam.AlignmentFile(str(out), "wb", header=src.header) as dst:
            for r in src:
                m = COUNT.search(r.query_name or "")
                if m and int(m.group(1)) >= min_size:
                    dst.write(r)
    pysam.index(str(out))
    return out


def snv_calls(vcf: Path) -> set[tuple[str, int, str, str]]:
    """PASS single-base substitutions of umierrorcorrect2's VCF."""
    calls = set()
    with open(vcf, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            f = line.split("\t")
            if f[6] == "PASS" and f[4] in ("A", "C", "G", "T") and len(f[3]) == 1:
                calls.add((f[0], int(f[1]), f[3], f[4]))
    return calls
