"""Benchmark: marrowtox ch-call vs bcftools mpileup|call and freebayes on the demo BAMs.

Prints wall time, peak memory (max RSS of the process tree) and recall/precision
against the planted truth in VAF bins (1%, 2%, 5%, 10%+), per tool, in one run.
A call is a true positive when its position, REF and ALT match a planted CH variant
of that sample with VAF > 0; germline and artifact sites are neither TP nor FP for
the somatic comparison only when the tool filtered them (PASS/emitted calls there
count as false positives, as they would mislead a user).

Usage: .venv/bin/python bench/ch.py [--demo demo] [--samples N] [--freebayes-timeout S]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pysam

pysam.set_verbosity(0)

REPO = Path(__file__).resolve().parents[1]


def run(
    cmd: list[str] | str, timeout: float | None = None, shell: bool = False
) -> tuple[float, float, bool]:
    """Wall seconds, peak RSS (MiB) and whether the command finished within `timeout`.

    os.wait4 reports the waited child's max RSS including its waited-for children
    (the processes of a shell pipeline), per command rather than cumulated.
    """
    t0 = time.perf_counter()
    p = subprocess.Popen(
        cmd,
        shell=shell,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        executable="/bin/bash" if shell else None,
        start_new_session=True,
    )
    ok = True
    deadline = None if timeout is None else t0 + timeout
    while True:
        pid, _, usage = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if deadline is not None and time.perf_counter() > deadline:
            os.killpg(p.pid, signal.SIGKILL)
            _, _, usage = os.wait4(p.pid, 0)
            ok = False
            break
        time.sleep(0.05)
    p.returncode = 0
    return time.perf_counter() - t0, usage.ru_maxrss / 1024, ok


def vcf_calls(path: Path, pass_only: bool) -> set[tuple[str, int, str, str]]:
    out = set()
    if not path.exists():
        return out
    with pysam.VariantFile(str(path)) as v:
        for r in v:
            if pass_only and list(r.filter.keys()) not in ([], ["PASS"]):
                continue
            for a in r.alts or ():
                out.add((r.chrom, r.pos, r.ref, a))
    return out


def score(calls: dict[str, set], truth: pd.DataFrame) -> pd.DataFrame:
    rows = []
    bins = [("1%", 0.0, 0.015), ("2%", 0.015, 0.035), ("5%", 0.035, 0.075), ("10%+", 0.075, 1.1)]
    for name, lo, hi in bins:
        tp = fn = 0
        for _, t in truth[
            (truth["kind"] == "chip") & (truth["vaf"] > lo) & (truth["vaf"] <= hi)
        ].iterrows():
            key = (t["chrom"], int(t["pos"]), t["ref"], t["alt"])
            if key in calls.get(t["sample"], set()):
                tp += 1
            else:
                fn += 1
        rows.append(
            {"bin": name, "tp": tp, "fn": fn, "recall": tp / (tp + fn) if tp + fn else float("nan")}
        )
    planted = {
        (t["sample"], t["chrom"], int(t["pos"]), t["ref"], t["alt"])
        for _, t in truth.iterrows()
        if t["kind"] == "chip" and t["vaf"] > 0
    }
    all_calls = {(s, *k) for s, ks in calls.items() for k in ks}
    tp_all = len(all_calls & planted)
    fp = len(all_calls - planted)
    rows.append(
        {
            "bin": "all",
            "tp": tp_all,
            "fn": len(planted - all_calls),
            "recall": tp_all / len(planted),
            "fp": fp,
            "precision": tp_all / (tp_all + fp) if tp_all + fp else float("nan"),
        }
    )
    return pd.DataFrame(rows)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", default=str(REPO / "demo"))
    ap.add_argument("--samples", type=int, default=0, help="limit the number of samples (0 = all)")
    ap.add_argument("--freebayes-timeout", type=float, default=600)
    a = ap.parse_args()
    demo = Path(a.demo)
    if not (demo / "samples.tsv").exists():
        print(f"no demo at {demo}: run `make demo-data` first", file=sys.stderr)
        return 2
    sheet = pd.read_csv(demo / "samples.tsv", sep="\t")
    dna = sheet[sheet["assay"] == "dna"]
    if a.samples:
        dna = dna.head(a.samples)
    truth = pd.read_csv(demo / "truth" / "variants.tsv", sep="\t")
    truth = truth[truth["sample"].isin(dna["sample"])]
    fa, bed, gtf = (
        demo / "reference" / "panel.fa",
        demo / "reference" / "panel.bed",
        demo / "reference" / "panel.gtf",
    )
    tmp = Path(tempfile.mkdtemp(prefix="bench_ch."))
    py = str(Path(sys.executable).with_name("marrowtox"))
    results = {}
    tools = {
        "marrowtox": True,
        "bcftools": shutil.which("bcftools") is not None,
        "freebayes": shutil.which("freebayes") is not None,
    }
    for tool, available in tools.items():
        if not available:
            print(f"{tool}: not installed (Debian package), skipped")
            continue
        calls, wall, peak, done = {}, 0.0, 0.0, True
        for s, bam in zip(dna["sample"], dna["path"], strict=True):
            bam = str(demo / bam)
            out = tmp / f"{tool}.{s}.vcf.gz"
            if tool == "marrowtox":
                cmd = [
                    py,
                    "ch-call",
                    "--bam",
                    bam,
                    "--sample",
                    s,
                    "--fasta",
                    str(fa),
                    "--bed",
                    str(bed),
                    "--gtf",
                    str(gtf),
                    "--out-vcf",
                    str(out),
                    "--out-tsv",
                    str(tmp / f"{s}.tsv"),
                    "--out-lod",
                    str(tmp / f"{s}.lod.tsv"),
                ]
                w, p, ok = run(cmd)
                calls[s] = vcf_calls(out, pass_only=True)
            elif tool == "bcftools":
                cmd = (
                    f"bcftools mpileup -f {fa} -R {bed} -a AD,DP -d 100000 -Ou {bam} | "
                    f"bcftools call -mv -Oz -o {out}"
                )
                w, p, ok = run(cmd, shell=True)
                calls[s] = vcf_calls(out, pass_only=False)
            else:
                cmd = (
                    f"freebayes -f {fa} -t {bed} --pooled-continuous --min-alternate-fraction 0.01 "
                    f"--min-alternate-count 3 {bam} | bgzip -c > {out}"
                )
                w, p, ok = run(cmd, timeout=a.freebayes_timeout, shell=True)
                calls[s] = vcf_calls(out, pass_only=False) if ok else set()
            wall += w
            peak = max(peak, p)
            done &= ok
        sc = score(calls, truth)
        results[tool] = sc
        status = (
            "" if done else f" (TIMED OUT after {a.freebayes_timeout:.0f} s per sample; partial)"
        )
        print(
            f"\n== {tool}: {len(dna)} samples, wall {wall:.1f} s, peak RSS {peak:.0f} MiB{status}"
        )
        print(sc.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if "bcftools" in results:
        print("\n(wall-time ratio is the sum over samples; see the lines above)")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
