"""Benchmark: marrowtox ch-call vs bcftools mpileup|call and freebayes on the demo BAMs.

Prints wall time, peak memory (max RSS of the process tree) and recall/precision
against the planted truth in VAF bins (1%, 2%, 5%, 10%+), per tool, in one run.
A call is a true positive when its position, REF and ALT match a planted CH variant
of that sample with VAF > 0; germline and artifact sites are neither TP nor FP for
the somatic comparison only when the tool filtered them (PASS/emitted calls there
count as false positives, as they would mislead a user).

marrowtox runs twice: one process per sample (as the workflow's rule runs it) and
"marrowtox-1proc", all samples in one `marrowtox ch-call` process, which shows the
per-sample interpreter start-up (~0.8 s of numpy/scipy/pysam imports) separately
from the calling itself.

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


GNU_TIME = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)


def run(
    cmd: list[str] | str, timeout: float | None = None, shell: bool = False
) -> tuple[float, float, bool]:
    """Wall seconds, peak RSS (MiB) and whether the command finished within `timeout`.

    Peak RSS comes from GNU time (max RSS of any process of the command, a pipeline's
    stages included). Not from os.wait4 on our own child: Linux carries a forked
    child's max RSS across exec, so every tool would report this Python process' size.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        argv = ["/bin/bash", "-c", cmd] if shell else list(cmd)
        if GNU_TIME:
            argv = [GNU_TIME, "-f", "%M", "-o", rss.name, *argv]
        t0 = time.perf_counter()
        p = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        ok = True
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            ok = False
        wall = time.perf_counter() - t0
        text = Path(rss.name).read_text().strip().splitlines()
        peak = float(text[-1]) / 1024 if GNU_TIME and text and text[-1].isdigit() else float("nan")
    return wall, peak, ok


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
    walls: dict[str, float] = {}
    tools = {
        "marrowtox": True,
        "marrowtox-1proc": True,
        "bcftools": shutil.which("bcftools") is not None,
        "freebayes": shutil.which("freebayes") is not None,
    }
    for tool, available in tools.items():
        if not available:
            print(f"{tool}: not installed (Debian package), skipped")
            continue
        calls, wall, peak, done = {}, 0.0, 0.0, True
        if tool == "marrowtox-1proc":  # every sample in one process: start-up paid once
            outs = {s: tmp / f"{tool}.{s}.vcf.gz" for s in dna["sample"]}
            cmd = [py, "ch-call", "--bam", *[str(demo / b) for b in dna["path"]]]
            cmd += ["--sample", *dna["sample"], "--fasta", str(fa), "--bed", str(bed)]
            cmd += ["--gtf", str(gtf), "--out-vcf", *map(str, outs.values())]
            cmd += ["--out-tsv", *[str(tmp / f"{s}.1p.tsv") for s in dna["sample"]]]
            cmd += ["--out-lod", *[str(tmp / f"{s}.1p.lod.tsv") for s in dna["sample"]]]
            wall, peak, done = run(cmd)
            calls = {s: vcf_calls(o, pass_only=True) for s, o in outs.items()}
        for s, bam in zip(dna["sample"], dna["path"], strict=True):
            if tool == "marrowtox-1proc":
                break
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
        walls[tool] = wall
        results[tool] = sc
        status = (
            "" if done else f" (TIMED OUT after {a.freebayes_timeout:.0f} s per sample; partial)"
        )
        print(
            f"\n== {tool}: {len(dna)} samples, wall {wall:.1f} s, peak RSS {peak:.0f} MiB{status}"
        )
        print(sc.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if "bcftools" in walls:
        for tool in ("marrowtox", "marrowtox-1proc"):
            print(
                f"wall-time ratio {tool} / bcftools mpileup|call: "
                f"{walls[tool] / walls['bcftools']:.2f}"
            )
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
