"""Benchmark: marrowtox ch-call vs bcftools mpileup|call and freebayes on the demo BAMs.

Prints wall time, peak memory (max RSS of the process tree) and recall/precision
against the planted truth in VAF bins (1%, 2%, 5%, 10%+), per tool, in one run.
A call is a true positive when its position, REF and ALT match a planted CH variant
of that sample with VAF > 0; germline and artifact sites are neither TP nor FP for
the somatic comparison only when the tool filtered them (PASS/emitted calls there
count as false positives, as they would mislead a user).

marrowtox runs three ways: "marrowtox-patient", one process per patient (its DNA
samples together, as the workflow's rule ch_call_<patient> runs it); "marrowtox", one
process per sample; and "marrowtox-1proc", all samples in one `marrowtox ch-call`
process, which shows the per-process start-up (~0.8 s of numpy/scipy/pysam imports)
separately from the calling itself.

Real-sequence case (`--real`, issue 18): hg38 chr17 (the segment in
../shared/data/real/hg38_chr17_segment/), a 25 kb target around TP53 at 2,000x,
reads simulated by Debian dwgsim (0.5% base error, no dwgsim mutations) and aligned
by Debian bwa mem (both installed by the bench when missing and run as root), with
48 SNVs and indels spiked per sample at 0.5/1/2/5/10% VAF (each VAF level a
haplotype mixed in at that fraction) and 3 normals. Prints recall and precision per
VAF level for marrowtox without and with the panel of normals and for `bcftools
mpileup | bcftools call`, calls.tsv size, wall time per sample (marrowtox as the
workflow runs it: the patient's samples in one process), and recall at 0.5% beside
the Poisson limit: the alt count k* at which a Poisson with the observed error rate
gives fewer than one false call over the candidates tested, and the share of the
0.5% variants whose alt count reaches k*.

UMI case (`--umi`, issue 29): simulated UMI reads (marrowtox.demo.umi_reads: molecules
with planted SNVs at 0.1/0.25/0.5/1/2% VAF, `--sites-per-level` each, about
`--molecules` molecules per site, 1 + NegBin family sizes of mean 5, PCR and
sequencing errors; `--duplex` for X-Y UMIs read from both strands), called two ways on
the same reads: raw (every read counted, today's behaviour on a BAM without UMIs) and
consensus (`marrowtox ch-consensus`, then ch-call on one read per molecule). Prints
recall and precision per VAF level for both, the UMI QC (families, error per base
before and after consensus), wall times, and beside each level the Poisson limit in
molecules: the share of planted variants a perfect caller could call, P(alt
molecules >= max(k*, umi_min_alt)) at the median consensus depth, where k* is the
alt count that a Poisson with the consensus error per allele exceeds less than once
over the alleles tested.

The --umi table has an umierrorcorrect2 column (PyPI 0.33.3, run from the isolated
venv .bench-venv that bench/peers/uec2.py or `make bench-venv` makes; its count caller at
its defaults, on the same reads with the UMI moved into the read name); `--umi-real`
runs marrowtox (ch-umi-extract, ch-align, ch-consensus) and umierrorcorrect2's own
pipeline on the real SiMSen-Seq reads and prints family sizes and the background error
per base before and after consensus, both measured by marrowtox.ch.umi_qc on the same
positions. `--no-peer` skips umierrorcorrect2; when it cannot run (no bwa, no uv, an
install failure) the bench says why in its output instead of its figures.

Usage: .venv/bin/python bench/ch.py [--demo demo] [--samples N] [--freebayes-timeout S]
       .venv/bin/python bench/ch.py --real [--depth 2000] [--workdir DIR]
       .venv/bin/python bench/ch.py --umi [--sites-per-level 20] [--molecules 2000] [--duplex]
                                    [--no-peer]
       .venv/bin/python bench/ch.py --umi-real [--no-peer] [--workdir DIR]
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
#: Where the real data sets may be (as tests/realdata.py looks for them).
REAL_DATA = (REPO.parent / "shared" / "data" / "real", Path("/work/shared/data/real"))


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
    ap.add_argument("--real", action="store_true", help="the real-sequence (hg38) case")
    ap.add_argument("--depth", type=int, default=2000, help="--real: target depth")
    ap.add_argument("--workdir", help="--real: keep simulated data here (reused if present)")
    ap.add_argument("--umi", action="store_true", help="the UMI consensus case (issue 29)")
    ap.add_argument("--sites-per-level", type=int, default=20, help="--umi: SNVs per VAF level")
    ap.add_argument("--molecules", type=int, default=2000, help="--umi: molecules per site")
    ap.add_argument("--duplex", action="store_true", help="--umi: duplex UMIs (both strands)")
    ap.add_argument(
        "--no-peer", action="store_true", help="--umi/--umi-real: skip umierrorcorrect2"
    )
    ap.add_argument(
        "--umi-real",
        action="store_true",
        help="real SiMSen-Seq reads: marrowtox vs umierrorcorrect2 (error, family sizes)",
    )
    a = ap.parse_args()
    if a.real:
        return real_case(a.depth, a.workdir)
    if a.umi:
        return umi_case(a.sites_per_level, a.molecules, a.duplex, a.workdir, not a.no_peer)
    if a.umi_real:
        return umi_real_case(a.workdir, not a.no_peer)
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
    # the panel of normals as the workflow builds it (rule ch_pon over the demo's normals):
    # without it the demo's planted site artifacts PASS in every sample
    normals = sorted((demo / "dna" / "normals").glob("*.bam"))
    pon_opt: list[str] = []
    if len(normals) >= 2:
        pon = tmp / "pon.tsv.gz"
        w_pon, _, _ = run([py, "ch-pon", "--bam", *map(str, normals), "--fasta", str(fa),
                           "--bed", str(bed), "--out", str(pon)])  # fmt: skip
        pon_opt = ["--pon-model", str(pon)]
        print(f"ch-pon over {len(normals)} normals: {w_pon:.1f} s (once per cohort)")
    results = {}
    walls: dict[str, float] = {}
    tools = {
        "marrowtox-patient": True,
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
        # one process for a group of samples: all of them (1proc) or each patient's
        groups = {
            "marrowtox-1proc": [dna],
            "marrowtox-patient": [g for _, g in dna.groupby("patient")],
        }
        for grp in groups.get(tool, []):
            outs = {s: tmp / f"{tool}.{s}.vcf.gz" for s in grp["sample"]}
            cmd = [py, "ch-call", "--bam", *[str(demo / b) for b in grp["path"]]]
            cmd += ["--sample", *grp["sample"], "--fasta", str(fa), "--bed", str(bed)]
            cmd += ["--gtf", str(gtf), *pon_opt, "--out-vcf", *map(str, outs.values())]
            cmd += ["--out-tsv", *[str(tmp / f"{s}.{tool}.tsv") for s in grp["sample"]]]
            cmd += ["--out-lod", *[str(tmp / f"{s}.{tool}.lod.tsv") for s in grp["sample"]]]
            w, p, ok = run(cmd)
            wall, peak, done = wall + w, max(peak, p), done and ok
            calls.update({s: vcf_calls(o, pass_only=True) for s, o in outs.items()})
        for s, bam in zip(dna["sample"], dna["path"], strict=True):
            if tool in groups:
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
                    *pon_opt,
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
        for tool in ("marrowtox-patient", "marrowtox", "marrowtox-1proc"):
            print(
                f"wall-time ratio {tool} / bcftools mpileup|call: "
                f"{walls[tool] / walls['bcftools']:.2f}"
            )
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


# ---------------------------------------------------------------- real-sequence case

REAL = REPO.parent / "shared" / "data" / "real" / "hg38_chr17_segment" / "hg38_chr17_1-8M.fa.gz"
#: Alignment reference: hg38 chr17:7,600,001-7,750,000 (TP53 inside), as one contig.
SUB_START, SUB_END, CONTIG = 7_600_000, 7_750_000, "chr17_7600001_7750000"
#: Target (0-based, in the contig): hg38 chr17:7,660,001-7,685,000 (25 kb).
TARGET = (60_000, 85_000)
LEVELS = (0.005, 0.01, 0.02, 0.05, 0.10)
N_VARIANTS, N_SAMPLES, N_NORMALS = 48, 3, 3
READ_LEN, BASE_ERROR, FLANK = 100, 0.005, 400


def _ensure_tools() -> bool:
    missing = [t for t in ("dwgsim", "bwa", "samtools", "bcftools") if shutil.which(t) is None]
    if missing and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=False)
        missing = [t for t in missing if shutil.which(t) is None]
    if missing:
        print(f"--real needs Debian packages {' '.join(missing)} (not installed)", file=sys.stderr)
        return False
    return True


def _plant(seq: str, rng, n: int) -> list[dict]:
    """n SNVs/indels at distinct, unambiguous positions of the target (VCF-style, 1-based)."""
    lo, hi = TARGET[0] + 150, TARGET[1] - 150
    out: list[dict] = []
    used: list[int] = []
    levels = [LEVELS[i % len(LEVELS)] for i in range(n)]
    while len(out) < n:
        p = int(rng.integers(lo, hi))
        ctx = seq[p - 4 : p + 5]
        if "N" in ctx or any(abs(p - u) < 200 for u in used):
            continue
        if max(len(r) for r in _runs(ctx)) >= 3:  # no homopolymer: one representation
            continue
        kind = rng.choice(["snv", "snv", "snv", "del", "ins"])
        vaf = levels[len(out)]
        if kind == "snv":
            alt = str(rng.choice([b for b in "ACGT" if b != seq[p]]))
            v = {"pos": p + 1, "ref": seq[p], "alt": alt}
        elif kind == "del":
            k = int(rng.integers(1, 3))
            if seq[p - 1] == seq[p + k - 1]:  # would left-shift
                continue
            v = {"pos": p, "ref": seq[p - 1 : p + k], "alt": seq[p - 1]}
        else:
            ins = "".join(rng.choice(list("ACGT"), int(rng.integers(1, 3))))
            if ins[-1] == seq[p - 1] or ins[0] == seq[p]:
                continue
            v = {"pos": p, "ref": seq[p - 1], "alt": seq[p - 1] + ins}
        used.append(p)
        out.append({**v, "vaf": vaf, "kind": "chip", "chrom": CONTIG})
    return out


def _runs(s: str) -> list[str]:
    out, cur = [], s[:1]
    for c in s[1:]:
        if c == cur[-1]:
            cur += c
        else:
            out.append(cur)
            cur = c
    return out + [cur]


def _apply(seq: str, variants: list[dict]) -> str:
    for v in sorted(variants, key=lambda v: -v["pos"]):
        p0 = v["pos"] - 1
        seq = seq[:p0] + v["alt"] + seq[p0 + len(v["ref"]) :]
    return seq


def _simulate(work: Path, name: str, seq: str, variants: list[dict], depth: int, seed: int) -> Path:
    """An indexed BAM: wild type plus one haplotype per VAF level, mixed by read pairs."""
    bam = work / f"{name}.bam"
    if bam.exists():
        return bam
    lo, hi = TARGET[0] - FLANK, TARGET[1] + FLANK
    pairs = int(depth * (hi - lo) / (2 * READ_LEN))
    haps = [(0.0, [])] + [(lv, [v for v in variants if v["vaf"] == lv]) for lv in LEVELS]
    haps = [(lv, vs) for lv, vs in haps if lv == 0.0 or vs]
    wt_share = 1 - sum(lv for lv, _ in haps)
    r1, r2 = work / f"{name}.r1.fq", work / f"{name}.r2.fq"
    with open(r1, "wb") as f1, open(r2, "wb") as f2:
        for h, (lv, vs) in enumerate(haps):
            hap = _apply(seq, vs)[lo : hi + sum(len(v["alt"]) - len(v["ref"]) for v in vs)]
            fa = work / f"{name}.h{h}.fa"
            fa.write_text(f">{CONTIG}\n{hap}\n")
            n = int(round(pairs * (lv if lv else wt_share)))
            pre = work / f"{name}.h{h}"
            subprocess.run(
                ["dwgsim", "-N", str(n), "-1", str(READ_LEN), "-2", str(READ_LEN),
                 "-e", str(BASE_ERROR), "-E", str(BASE_ERROR), "-r", "0", "-R", "0",
                 "-y", "0", "-H", "-d", "300", "-s", "30", "-z", str(seed * 10 + h),
                 "-P", f"{name}h{h}_", str(fa), str(pre)],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            for src, dst in ((f"{pre}.bwa.read1.fastq.gz", f1), (f"{pre}.bwa.read2.fastq.gz", f2)):
                dst.write(subprocess.run(["zcat", src], check=True, capture_output=True).stdout)
    ref = work / "ref.fa"
    subprocess.run(
        f"bwa mem -t 2 -v 1 -R '@RG\\tID:{name}\\tSM:{name}' {ref} {r1} {r2} 2>/dev/null | "
        f"samtools sort -@ 2 -o {bam} - && samtools index {bam}",
        shell=True, check=True,
    )  # fmt: skip
    for f in work.glob(f"{name}.*"):
        if f.suffix in (".fq", ".fa", ".gz", ".txt", ".vcf"):
            f.unlink()
    return bam


def _score_real(calls: dict[str, set], truth: pd.DataFrame, vafs: dict) -> pd.DataFrame:
    """Recall and precision per VAF level; a false call counts at the level nearest its VAF."""
    import numpy as np

    rows = []
    fp_level: dict[float, int] = dict.fromkeys(LEVELS, 0)
    planted = {(t.sample, t.chrom, int(t.pos), t.ref, t.alt): t.vaf for t in truth.itertuples()}
    for s, ks in calls.items():
        for k in ks:
            if (s, *k) not in planted:
                v = vafs.get((s, *k), 0.0) or 1e-4
                lv = min(LEVELS, key=lambda x: abs(np.log(x) - np.log(v)))
                fp_level[lv] += 1
    for lv in LEVELS:
        keys = [k for k, v in planted.items() if v == lv]
        tp = sum(k[1:] in calls.get(k[0], set()) for k in keys)
        fp = fp_level[lv]
        rows.append(
            {"vaf": f"{lv:.1%}", "planted": len(keys), "tp": tp, "fp": fp,
             "recall": tp / len(keys), "precision": tp / (tp + fp) if tp + fp else float("nan")}
        )  # fmt: skip
    return pd.DataFrame(rows)


def real_case(depth: int, workdir: str | None) -> int:
    import numpy as np
    from scipy.stats import poisson

    if not REAL.exists():
        print(f"real data absent: {REAL}", file=sys.stderr)
        return 2
    if not _ensure_tools():
        return 2
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="bench_ch_real."))
    work.mkdir(parents=True, exist_ok=True)
    with pysam.FastaFile(str(REAL)) as fa:
        seq = fa.fetch("chr17", SUB_START, SUB_END).upper()
    ref = work / "ref.fa"
    if not (work / "ref.fa.bwt").exists():
        ref.write_text(
            f">{CONTIG}\n" + "\n".join(seq[i : i + 60] for i in range(0, len(seq), 60)) + "\n"
        )
        pysam.faidx(str(ref))
        subprocess.run(["bwa", "index", str(ref)], check=True, capture_output=True)
    bed = work / "target.bed"
    bed.write_text(f"{CONTIG}\t{TARGET[0]}\t{TARGET[1]}\tTP53_region\n")
    rng = np.random.default_rng(18)
    truth_rows, bams = [], {}
    t0 = time.perf_counter()
    for i in range(N_SAMPLES):
        name = f"S{i + 1}"
        vs = _plant(seq, rng, N_VARIANTS)
        truth_rows += [{**v, "sample": name} for v in vs]
        bams[name] = _simulate(work, name, seq, vs, depth, 100 + i)
    normals = [_simulate(work, f"N{j + 1}", seq, [], depth, 200 + j) for j in range(N_NORMALS)]
    truth = pd.DataFrame(truth_rows)
    truth.to_csv(work / "truth.tsv", sep="\t", index=False)
    print(f"simulated {N_SAMPLES} samples + {N_NORMALS} normals at {depth}x over "
          f"{TARGET[1] - TARGET[0]} bp in {time.perf_counter() - t0:.0f} s ({work})")  # fmt: skip
    mt = str(Path(sys.executable).with_name("marrowtox"))
    pon = work / "pon.tsv.gz"
    w_pon, _, _ = run([mt, "ch-pon", "--bam", *map(str, normals), "--fasta", str(ref),
                       "--bed", str(bed), "--out", str(pon)])  # fmt: skip
    print(f"ch-pon over {N_NORMALS} normals: {w_pon:.1f} s")
    names = list(bams)
    results, walls, sizes, vafs = {}, {}, {}, {}
    configs = (
        ("marrowtox", []),
        ("marrowtox+PON", ["--pon-model", str(pon)]),
        ("marrowtox+PON+interval", ["--pon-model", str(pon), "--min-vaf-on", "interval"]),
    )
    for label, extra in configs:
        tag = label.replace("+", "_")
        outs = {s: work / f"{tag}.{s}" for s in names}
        cmd = [mt, "ch-call", "--bam", *map(str, bams.values()), "--sample", *names,
               "--fasta", str(ref), "--bed", str(bed), *extra,
               "--out-vcf", *[f"{o}.vcf.gz" for o in outs.values()],
               "--out-tsv", *[f"{o}.calls.tsv" for o in outs.values()],
               "--out-lod", *[f"{o}.lod.tsv" for o in outs.values()],
               "--out-evidence", *[f"{o}.candidates.tsv.gz" for o in outs.values()]]  # fmt: skip
        wall, peak, _ = run(cmd)
        walls[label] = wall / len(names)
        calls = {}
        for s, o in outs.items():
            c = pd.read_csv(f"{o}.calls.tsv", sep="\t")
            sizes[(label, s)] = Path(f"{o}.calls.tsv").stat().st_size
            ok = c[c["filter"] == "PASS"]
            calls[s] = {(r.chrom, int(r.pos), r.ref, r.alt) for r in ok.itertuples()}
            vafs.update({(s, r.chrom, int(r.pos), r.ref, r.alt): r.vaf for r in c.itertuples()})
        results[label] = _score_real(calls, truth, vafs)
        print(f"\n== {label}: wall {wall:.1f} s for {len(names)} samples in one process "
              f"({walls[label]:.2f} s per sample), peak RSS {peak:.0f} MiB")  # fmt: skip
        print(results[label].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
        print("calls.tsv bytes per sample: " + ", ".join(
            f"{s} {sizes[(label, s)]:,}" for s in names))  # fmt: skip
    # bcftools, per sample as it is usually run
    bc_calls, bc_wall = {}, 0.0
    for s, bam in bams.items():
        out = work / f"bcftools.{s}.vcf.gz"
        cmd = (f"bcftools mpileup -f {ref} -R {bed} -a AD,DP -d 100000 -Ou {bam} | "
               f"bcftools call -mv -Oz -o {out}")  # fmt: skip
        w, _, _ = run(cmd, shell=True)
        bc_wall += w
        bc_calls[s] = vcf_calls(out, pass_only=False)
    print(f"\n== bcftools mpileup | call: {bc_wall / len(bams):.2f} s per sample")
    print(
        _score_real(bc_calls, truth, {}).to_string(index=False, float_format=lambda x: f"{x:.3f}")
    )
    for label in walls:
        print(
            f"wall-time ratio per sample {label} / bcftools: {walls[label] / (bc_wall / len(bams)):.2f}"
        )
    # Poisson limit at 0.5%: k* over the candidates tested, from the normals' error rates
    # (per SNV allele; per indel allele at a site), SNVs and indels apart
    pt = pd.read_csv(pon, sep="\t")
    is_snv = pt["allele"].isin(list("ACGT"))
    snv = pt[is_snv]
    rate_snv = (snv["alt_fwd"] + snv["alt_rev"]).sum() / (snv["depth_fwd"] + snv["depth_rev"]).sum()
    sites = snv.drop_duplicates(["chrom", "pos"])
    ind = pt[~is_snv]
    rate_ind = (
        max((ind["alt_fwd"] + ind["alt_rev"]).sum(), 0)
        / (sites["depth_fwd"] + sites["depth_rev"]).sum()
    )
    print(
        "\nrecall at 0.5% VAF beside the Poisson limit (error per allele from the normals: "
        f"SNV {rate_snv:.2e}, indel {rate_ind:.2e}):"
    )
    for label in walls:
        tag = label.replace("+", "_")
        n_t = n_lim = 0
        ks = []
        for s in names:
            ev = pd.read_csv(work / f"{tag}.{s}.candidates.tsv.gz", sep="\t")
            d = float(np.median(ev["depth"]))
            n_tests = len(ev)
            kstar = {}
            for kind, rate in (("snv", rate_snv), ("indel", rate_ind)):
                lam = d * rate
                kstar[kind] = next(
                    k for k in range(1, 100_000) if n_tests * poisson.sf(k - 1, lam) < 1
                )
            ks.append(
                f"{s}: n={n_tests}, depth {d:.0f}, k* SNV {kstar['snv']} indel {kstar['indel']}"
            )
            key = ev.set_index(["pos", "ref", "alt"])
            t = truth[(truth["sample"] == s) & (truth["vaf"] == LEVELS[0])]
            for r in t.itertuples():
                k = (r.pos, r.ref, r.alt)
                a_ = (
                    int(key.loc[[k], ["alt_fwd", "alt_rev"]].to_numpy().sum())
                    if k in key.index
                    else 0
                )
                kind = "snv" if len(r.ref) == len(r.alt) else "indel"
                n_t += 1
                n_lim += a_ >= kstar[kind]
        got = results[label].iloc[0]["recall"]
        print(f"  {label}: recall {got:.3f} vs Poisson limit {n_lim / n_t:.3f} ({'; '.join(ks)})")
    if not workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


# ---------------------------------------------------------------- UMI consensus case


def umi_case(
    sites_per_level: int, molecules: int, duplex: bool, workdir: str | None, peer: bool
) -> int:
    import numpy as np
    from scipy.stats import binom, poisson

    from marrowtox.ch.call import CallParams
    from marrowtox.demo.umi_reads import UmiSimParams, simulate_umi_bam

    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="bench_ch_umi."))
    p = UmiSimParams(sites_per_level=sites_per_level, molecules_per_site=molecules, duplex=duplex)
    if duplex:  # each strand's family half as large: the same reads per molecule
        p = UmiSimParams(**{**p.__dict__, "mean_family_size": p.mean_family_size / 2 + 0.5})
    t0 = time.perf_counter()
    bam, fa, bed, truth = simulate_umi_bam(work, "U", p)
    n_reads = pysam.AlignmentFile(str(bam)).mapped
    print(f"simulated {len(truth)} SNVs ({sites_per_level} per level), {molecules} molecules "
          f"per site, {n_reads:,} reads{' (duplex)' if duplex else ''} in "
          f"{time.perf_counter() - t0:.0f} s ({work})")  # fmt: skip
    mt = str(Path(sys.executable).with_name("marrowtox"))
    cons = work / "U.consensus.bam"
    w_cons, peak_cons, _ = run([mt, "ch-consensus", "--bam", str(bam), "--sample", "U",
                                "--umi", "rx", "--fasta", str(fa), "--bed", str(bed),
                                "--out-bam", str(cons), "--out-qc", str(work / "qc.tsv"),
                                "--out-hist", str(work / "families.tsv")])  # fmt: skip
    qc = pd.read_csv(work / "qc.tsv", sep="\t").iloc[0]
    print(f"ch-consensus: {w_cons:.1f} s, peak RSS {peak_cons:.0f} MiB; {int(qc.templates):,} "
          f"read templates -> {int(qc.families):,} families (mean size "
          f"{qc.mean_family_size:.2f}, {int(qc.singleton_families):,} singletons) -> "
          f"{int(qc.molecules):,} consensus molecules; duplex yield {qc.duplex_yield:.2f}; "
          f"duplicate rate {qc.duplicate_rate:.3f}")  # fmt: skip
    print(f"background error per base (10% trimmed positions): raw as sequenced "
          f"{qc.error_raw_all:.2e}, raw at Q20 {qc.error_raw:.2e}, consensus "
          f"{qc.error_consensus:.2e} ({qc.error_reduction:.0f}x / "
          f"{qc.error_reduction_filtered:.0f}x lower)")  # fmt: skip
    planted = {("U", t.chrom, t.pos, t.ref, t.alt): t.vaf for t in truth}
    levels = tuple(p.levels)
    results = {}
    depth_of = {}
    for label, b in (("raw reads", bam), ("consensus", cons)):
        tag = label.replace(" ", "_")
        outs = [str(work / f"{tag}.{x}") for x in ("vcf.gz", "calls.tsv", "lod.tsv")]
        w, peak, _ = run([mt, "ch-call", "--bam", str(b), "--sample", "U", "--fasta", str(fa),
                          "--bed", str(bed), "--out-vcf", outs[0], "--out-tsv", outs[1],
                          "--out-lod", outs[2]])  # fmt: skip
        c = pd.read_csv(outs[1], sep="\t")
        ok = c[c["filter"] == "PASS"]
        called = {(r.chrom, int(r.pos), r.ref, r.alt) for r in ok.itertuples()}
        vafs = {("U", r.chrom, int(r.pos), r.ref, r.alt): r.vaf for r in c.itertuples()}
        depth_of[label] = float(pd.read_csv(outs[2], sep="\t")["median_depth"].median())
        rows, fp_level = [], dict.fromkeys(levels, 0)
        for k in called:
            if ("U", *k) not in planted:
                v = vafs.get(("U", *k), 0.0) or 1e-4
                fp_level[min(levels, key=lambda x: abs(np.log(x) - np.log(v)))] += 1
        for lv in levels:
            keys = [k for k, v in planted.items() if v == lv]
            tp = sum(k[1:] in called for k in keys)
            fp = fp_level[lv]
            rows.append({"vaf": f"{lv:.2%}", "planted": len(keys), "tp": tp, "fp": fp,
                         "recall": tp / len(keys),
                         "precision": tp / (tp + fp) if tp + fp else float("nan")})  # fmt: skip
        results[label] = pd.DataFrame(rows)
        print(f"\n== {label}: ch-call {w:.1f} s, peak RSS {peak:.0f} MiB, median depth "
              f"{depth_of[label]:.0f} ({'molecules' if label == 'consensus' else 'reads'})")  # fmt: skip
        print(results[label].to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    # Poisson limit in molecules at the consensus depth and error
    cp = CallParams()
    n_pos = int(qc.bases_consensus / max(depth_of["consensus"], 1))
    n_tests = 3 * max(n_pos, 1)
    d = depth_of["consensus"]
    lam = d * max(qc.error_consensus, 1e-9) / 3
    kstar = next(k for k in range(1, 10_000) if n_tests * poisson.sf(k - 1, lam) < 1)
    need = max(kstar, cp.umi_min_alt)
    print(f"\nPoisson limit in molecules: depth {d:.0f}, consensus error per allele "
          f"{lam / d:.1e}, {n_tests:,} alleles tested -> k* = {kstar} (caller needs "
          f"{need} = max(k*, umi_min_alt))")  # fmt: skip
    table = results["consensus"][["vaf", "recall"]].rename(columns={"recall": "consensus"})
    table.insert(1, "raw", results["raw reads"]["recall"])
    table["poisson_limit"] = [float(binom.sf(need - 1, int(d), lv)) for lv in levels]
    peer_rows = _umi_peer(peer, duplex, bam, fa, bed, work, planted, levels, qc)
    if peer_rows is not None:
        table["umierrorcorrect2"] = peer_rows["recall"].to_numpy()
        table["uec2_precision"] = peer_rows["precision"].to_numpy()
    print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    if not workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _uec2_reason(peer: bool, duplex: bool = False) -> str | None:
    """Why the umierrorcorrect2 column is not run, or None when it runs."""
    if not peer:
        return "--no-peer"
    if duplex:
        return "umierrorcorrect2 has no duplex consensus (single-strand UMIs only)"
    from peers import uec2

    return uec2.ensure()


def _peer_errors(
    raw_bam: Path, cons_bam: Path, fa: Path, bed: Path, work: Path, where: set | None
) -> dict:
    """Background error per base of a peer's raw and consensus BAMs with marrowtox's
    measure (marrowtox.ch.umi_qc.background_error) on the positions `where` (the ones
    marrowtox's own QC kept), so both tools are measured alike."""
    from dataclasses import replace

    from peers import uec2

    from marrowtox.ch.consensus import ConsensusParams
    from marrowtox.ch.pileup import PileupParams
    from marrowtox.ch.umi_qc import background_error

    pp = PileupParams()
    every = replace(pp, min_base_quality=0)
    raw_all, _, where = background_error(str(raw_bam), str(fa), str(bed), every, where)
    raw, _, _ = background_error(str(raw_bam), str(fa), str(bed), pp, where)
    n_min = ConsensusParams().umi_min_family_size
    kept = uec2.min_family(cons_bam, n_min, work / f"cons.min{n_min}.bam")
    cons, depth, _ = background_error(str(kept), str(fa), str(bed), pp, where)
    sizes = uec2.family_sizes(cons_bam)
    n = sum(sizes.values())
    return {
        "families": n,
        "mean_family_size": sum(k * v for k, v in sizes.items()) / n if n else float("nan"),
        "singleton_families": sizes.get(1, 0),
        "molecules": sum(v for k, v in sizes.items() if k >= n_min),
        "error_raw_all": raw_all,
        "error_raw": raw,
        "error_consensus": cons,
        "bases_consensus": depth,
        "sizes": sizes,
    }


def _umi_peer(peer, duplex, bam, fa, bed, work, planted, levels, qc) -> pd.DataFrame | None:
    """umierrorcorrect2 on the same simulated reads: recall/precision per level (its
    count caller at its defaults) and its error per base; None when it cannot run."""
    reason = _uec2_reason(peer, duplex)
    if reason:
        print(f"\numierrorcorrect2: not run ({reason})")
        return None
    from peers import uec2

    from marrowtox.ch.pileup import PileupParams
    from marrowtox.ch.umi_qc import background_error

    fsize, cutoff = 3, 3  # its `variants` defaults (--fsize 3, --cutoff 3)
    t0 = time.perf_counter()
    bam, fa, bed = Path(bam), Path(fa), Path(bed)
    out = uec2.consensus_on_bam(bam, fa, bed, work / "uec2", "U", fsize, cutoff)
    wall = time.perf_counter() - t0
    from dataclasses import replace

    every = replace(PileupParams(), min_base_quality=0)
    _, _, where = background_error(str(bam), str(fa), str(bed), every)
    e = _peer_errors(out["raw_bam"], out["consensus_bam"], fa, bed, work / "uec2", where)
    called = uec2.snv_calls(out["vcf"])
    rows, fp = [], 0
    for k in called:
        fp += ("U", *k) not in planted
    for lv in levels:
        keys = [k for k, v in planted.items() if v == lv]
        tp = sum(k[1:] in called for k in keys)
        rows.append({"vaf": f"{lv:.2%}", "planted": len(keys), "tp": tp,
                     "recall": tp / len(keys)})  # fmt: skip
    res = pd.DataFrame(rows)
    tp_all = int(res["tp"].sum())
    res["precision"] = tp_all / (tp_all + fp) if tp_all + fp else float("nan")
    print(f"\n== umierrorcorrect2 0.33.3 (isolated venv; consensus + variants --fsize {fsize} "
          f"--cutoff {cutoff}): {wall:.1f} s; {e['families']:,} families (mean size "
          f"{e['mean_family_size']:.2f}, {e['singleton_families']:,} singletons), "
          f"{e['molecules']:,} of >= 2 reads; {len(called)} PASS SNVs, {fp} false "
          f"(precision over all levels)")  # fmt: skip
    print(f"error per base on marrowtox's positions: umierrorcorrect2 consensus (families "
          f">= 2) {e['error_consensus']:.2e} vs marrowtox {qc.error_consensus:.2e}")  # fmt: skip
    print(res.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    return res


#: The real SiMSen-Seq reads: inline UMI layout of the source tool's own test, and the
#: offset of the PIK3CA contig in chr3 (../shared/data/real/README.md).
SIMSEN_LAYOUT = (19, 16)
SIMSEN_OFFSET = 179_147_513


def umi_real_case(workdir: str | None, peer: bool) -> int:
    """marrowtox and umierrorcorrect2 on the real SiMSen-Seq reads: family sizes and the
    background error per base before and after consensus, measured alike."""
    from marrowtox.ch.consensus import ConsensusParams
    from marrowtox.ch.pileup import PileupParams
    from marrowtox.ch.steps import (
        AlignInputs,
        ConsensusInputs,
        ExtractInputs,
        align_step,
        consensus_step,
        extract_step,
    )
    from marrowtox.ch.umi_extract import InlineLayout

    data = next((p / "umi_simsenseq" for p in REAL_DATA if (p / "umi_simsenseq").is_dir()), None)
    if data is None:
        print("skipped: ../shared/data/real/umi_simsenseq is absent (nothing measured)")
        return 0
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="bench_ch_umi_real."))
    work.mkdir(parents=True, exist_ok=True)
    fa, fq = data / "Homo_sapiens_PIK3CA_sequence.fa", data / "P001_start_R1_001.fastq.gz"
    bed = work / "amplicons.bed"
    with open(data / "test_regions.bed", encoding="utf-8") as fh, open(bed, "w") as o:
        for line in fh:
            f = line.split("\t")
            o.write(f"3\t{int(f[1]) - SIMSEN_OFFSET}\t{int(f[2]) - SIMSEN_OFFSET}\t{f[3]}\n")
    t0 = time.perf_counter()
    layout = InlineLayout(*SIMSEN_LAYOUT)
    ex = extract_step(ExtractInputs("P001", str(fq), layout, str(work / "extracted.fastq.gz")))
    al = align_step(
        AlignInputs("P001", str(work / "extracted.fastq.gz"), str(fa), str(work / "raw.bam"))
    )
    ex["aligned"] = al["aligned"]
    row = consensus_step(
        ConsensusInputs(sample="P001", bam=str(work / "raw.bam"), fasta=str(fa), bed=str(bed),
                        params=ConsensusParams(umi="rx"), pileup=PileupParams(),
                        out_bam=str(work / "consensus.bam"), out_qc=str(work / "qc.tsv"),
                        out_hist=str(work / "families.tsv"))
    )  # fmt: skip
    ours_wall = time.perf_counter() - t0
    hist = pd.read_csv(work / "families.tsv", sep="\t").set_index("family_size")["families"]
    print(f"SiMSen-Seq P001 ({ex['reads']:,} reads; UMI {SIMSEN_LAYOUT[0]} + spacer "
          f"{SIMSEN_LAYOUT[1]}); background error per base on the amplicons, 10% trimmed "
          f"positions (marrowtox.ch.umi_qc), consensus = families >= "
          f"{ConsensusParams().umi_min_family_size} reads")  # fmt: skip
    table = {
        "marrowtox": {
            "wall_s": ours_wall,
            "aligned_reads": ex["aligned"],
            "families": row["families"],
            "mean_family_size": row["mean_family_size"],
            "singleton_families": row["singleton_families"],
            "molecules": row["molecules"],
            "error_raw_all": row["error_raw_all"],
            "error_raw": row["error_raw"],
            "error_consensus": row["error_consensus"],
        }
    }
    sizes = {"marrowtox": hist}
    reason = _uec2_reason(peer)
    if reason:
        print(f"umierrorcorrect2: not run ({reason})")
    else:
        from peers import uec2

        from marrowtox.ch.umi_qc import background_error

        t0 = time.perf_counter()
        out = uec2.pipeline_on_fastq(fq, fa, bed, work / "uec2", "P001", *SIMSEN_LAYOUT)
        wall = time.perf_counter() - t0
        every = PileupParams(min_base_quality=0)
        _, _, where = background_error(str(work / "raw.bam"), str(fa), str(bed), every)
        e = _peer_errors(out["raw_bam"], out["consensus_bam"], fa, bed, work / "uec2", where)
        aligned = pysam.AlignmentFile(str(out["raw_bam"])).mapped
        table["umierrorcorrect2"] = {"wall_s": wall, "aligned_reads": aligned,
                                     **{k: v for k, v in e.items() if k in table["marrowtox"]}}  # fmt: skip
        sizes["umierrorcorrect2"] = pd.Series(e["sizes"]).sort_index()
    t = pd.DataFrame(table)
    t.loc["reduction_as_sequenced"] = t.loc["error_raw_all"] / t.loc["error_consensus"]
    t.loc["reduction_q20"] = t.loc["error_raw"] / t.loc["error_consensus"]
    counts = ("aligned_reads", "families", "singleton_families", "molecules")
    shown = t.astype(object)
    for k in t.index:
        fmt = (
            "{:,.0f}"
            if k in counts
            else (
                "{:.1f}"
                if k in ("wall_s", "mean_family_size") or k.startswith("reduction")
                else "{:.2e}"
            )
        )
        shown.loc[k] = [fmt.format(v) for v in t.loc[k]]
    print(shown.to_string())
    print("family sizes (families of 1..10 reads):")
    print(pd.DataFrame(sizes).reindex(range(1, 11)).fillna(0).astype(int).T.to_string())
    if not workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
