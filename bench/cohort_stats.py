"""Benchmark: `marrowtox cohort-stats` on a simulated cohort (default 500 patients).

Simulates plausible labs (every value passes `marrowtox validate`, which cohort-stats
applies first; 15 blood analytes at 19 days, 5 marrow-plasma cytokines at baseline and
day +28, a share of cytokine values below the assay's LLOQ written as "<LLOQ" or "<x"),
events (infusion, CRS/ICANS grades with onset day, IEC-HS, progression, death with a
cause, last follow-up) and per-patient scores, then times one full cohort-stats run in a
fresh process: wall time, CPU time (user + system: the figure to compare on a shared
machine) and peak memory (max RSS from GNU time, as bench/ch.py).
Goal: under 60 s for 500 patients.

Usage: .venv/bin/python bench/cohort_stats.py [--patients 500] [--seed 7] [--n-boot 2000]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
GNU_TIME = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)

#: analyte -> (unit, log10 median, log10 sd, log10 shift per CRS grade, LLOQ or None)
BLOOD = {
    "il6": ("pg/mL", 1.0, 0.5, 0.35, 1.5),
    "ifng": ("pg/mL", 0.8, 0.5, 0.25, 2.0),
    "il10": ("pg/mL", 0.6, 0.4, 0.2, 1.0),
    "mcp1": ("pg/mL", 2.5, 0.3, 0.1, None),
    "il8": ("pg/mL", 1.2, 0.4, 0.0, 2.0),
    "tnf": ("pg/mL", 0.7, 0.3, 0.0, 1.0),
    "ferritin": ("ng/mL", 2.8, 0.4, 0.15, None),
    "crp": ("mg/dL", 0.3, 0.35, 0.08, None),
    "ang2": ("pg/mL", 3.3, 0.25, 0.08, None),
    "ang1": ("pg/mL", 4.0, 0.3, -0.05, None),
    "svcam1": ("ng/mL", 2.4, 0.2, 0.05, None),
    "ldh": ("U/L", 2.4, 0.15, 0.03, None),
    "creatinine": ("mg/dL", 0.0, 0.1, 0.02, None),
    "plt": ("10^9/L", 2.1, 0.25, -0.05, None),
    "anc": ("/uL", 3.3, 0.4, -0.05, None),
}
#: Highest simulated value (canonical unit): log-normal tails would otherwise reach
#: values no lab reports, which `cohort-stats` refuses as `marrowtox validate` does
#: (CRP at most 100 mg/dL, marrowtox.clinical.units). CRP in severe CRS peaks at about
#: 20-40 mg/dL (Teachey et al., Cancer Discov 2016;6:664).
SIM_MAX = {"crp": 50.0}
MARROW = ("il6", "ifng", "il10", "mcp1", "tnf")
DAYS = (-7, -3, *range(0, 15), 21, 28)


def simulate(n: int, seed: int, out: Path) -> dict[str, Path]:
    rng = np.random.default_rng(seed)
    patients = [f"P{i:04d}" for i in range(n)]
    crs = rng.choice([0, 1, 2, 3, 4], size=n, p=[0.25, 0.4, 0.2, 0.1, 0.05])
    icans = np.where(rng.random(n) < 0.3, rng.integers(1, 5, n), 0)
    onset = rng.integers(1, 8, n)
    ev = []
    for i, p in enumerate(patients):
        ev.append((p, 0, "infusion", "", ""))
        if crs[i]:
            ev.append((p, int(onset[i]), "crs", str(crs[i]), ""))
        if icans[i]:
            ev.append((p, int(onset[i]) + 2, "icans", str(icans[i]), ""))
        if rng.random() < 0.05 + 0.05 * crs[i]:
            ev.append((p, int(onset[i]) + 7, "iec_hs", "", ""))
        prog = rng.random() < 0.35
        t_prog = int(rng.integers(30, 365))
        if prog:
            ev.append((p, t_prog, "progression", "", ""))
        if prog and rng.random() < 0.5:
            ev.append((p, t_prog + int(rng.integers(10, 200)), "death", "", "relapse"))
        elif not prog and rng.random() < 0.08 + 0.03 * crs[i]:
            ev.append((p, int(rng.integers(5, 300)), "death", "", "infection"))
        else:
            lfu = int(rng.integers(100, 730))
            ev.append((p, max(lfu, t_prog + 1) if prog else lfu, "last_follow_up", "", ""))
    events = pd.DataFrame(ev, columns=["patient", "day", "event", "grade", "cause"])
    labs = []
    for a, (unit, mu, sd, shift, lloq) in BLOOD.items():
        base = rng.normal(mu, sd, n) + shift * crs
        for d in DAYS:
            v = 10 ** (base + rng.normal(0, sd / 3, n) + (shift * crs * (d > 0)))
            v = np.minimum(v, SIM_MAX.get(a, np.inf))
            text = [f"{x:.4g}" for x in v]
            if lloq is not None:
                low = v < lloq
                text = [
                    ("<LLOQ" if i % 2 else f"<{lloq:g}") if low[i] else t
                    for i, t in enumerate(text)
                ]
            labs.append(
                pd.DataFrame(
                    {
                        "patient": patients,
                        "day": d,
                        "analyte": a,
                        "value": text,
                        "unit": unit,
                        "specimen": "",
                        "lloq": "" if lloq is None else f"{lloq:g}",
                    }
                )
            )
    for a in MARROW:
        unit, mu, sd, shift, lloq = BLOOD[a]
        for d in (-7, 28):
            v = 10 ** rng.normal(mu + 0.3, sd, n)
            labs.append(
                pd.DataFrame(
                    {
                        "patient": patients,
                        "day": d,
                        "analyte": a,
                        "value": [f"{x:.4g}" for x in v],
                        "unit": unit,
                        "specimen": "marrow_plasma",
                        "lloq": "",
                    }
                )
            )
    labs_df = pd.concat(labs, ignore_index=True)
    easix = 10 ** rng.normal(0.5 + 0.15 * crs, 0.35)
    scores = pd.DataFrame(
        {
            "patient": patients,
            "icaht_early_grade": rng.choice([0, 1, 2, 3, 4], n, p=[0.3, 0.3, 0.2, 0.15, 0.05]),
            "icaht_late_grade": rng.choice([0, 1, 2, 3], n, p=[0.5, 0.25, 0.15, 0.1]),
            "easix_baseline": np.round(easix, 4),
            "car_hematotox_score": rng.integers(0, 8, n),
        }
    )
    paths = {"labs": out / "labs.tsv", "events": out / "events.tsv", "scores": out / "scores.tsv"}
    labs_df.to_csv(paths["labs"], sep="\t", index=False)
    events.to_csv(paths["events"], sep="\t", index=False)
    scores.to_csv(paths["scores"], sep="\t", index=False)
    return paths


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=500)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--n-boot", type=int, default=2000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        paths = simulate(args.patients, args.seed, out)
        n_labs = sum(1 for _ in open(paths["labs"], encoding="utf-8")) - 1
        cmd = [
            sys.executable,
            "-m",
            "marrowtox.cohort.commands",
            "--labs",
            str(paths["labs"]),
            "--events",
            str(paths["events"]),
            "--scores",
            str(paths["scores"]),
            "--n-boot",
            str(args.n_boot),
            "--out-associations",
            str(out / "associations.tsv"),
            "--out-correlations",
            str(out / "correlations.tsv"),
            "--out-survival",
            str(out / "survival.tsv"),
            "--out-roc",
            str(out / "roc.tsv"),
            "--out-curves",
            str(out / "survival_curves.tsv"),
        ]
        rss = out / "rss.txt"
        argv = [GNU_TIME, "-f", "%U %S %M", "-o", str(rss), *cmd] if GNU_TIME else cmd
        t0 = time.perf_counter()
        res = subprocess.run(argv, capture_output=True, text=True, cwd=REPO)
        wall = time.perf_counter() - t0
        if res.returncode != 0:
            print(res.stdout, res.stderr, file=sys.stderr)
            return res.returncode
        peak, cpu = "n/a", "n/a"
        if GNU_TIME:
            user, system, kib = rss.read_text().split()[-3:]
            peak = f"{int(kib) / 1024:.0f} MiB"
            # CPU time does not grow when other jobs share the cores; wall time does
            cpu = f"{float(user) + float(system):.1f} s"
        assoc = pd.read_csv(out / "associations.tsv", sep="\t")
        print(res.stdout.strip())
        print(
            f"patients={args.patients} lab_rows={n_labs} n_boot={args.n_boot} "
            f"association_rows={len(assoc)} with_auc={int(assoc['auc'].notna().sum())}"
        )
        print(f"wall={wall:.1f} s cpu={cpu} peak_rss={peak} (goal: < 60 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
