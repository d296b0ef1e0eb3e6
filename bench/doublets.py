"""Benchmark: scrublet centred (scrublet's original PCA) vs sparse (truncated SVD, the
marrowtox default `singlecell.doublets.mean_center: false`).

Prints, per setting, wall time and peak RSS of one `marrowtox sc-doublets` process on a
5,000-cell x 20,000-gene simulated sample, and doublet recall / precision against the
planted doublets of one sample simulated from each demo patient's plan.

Usage: .venv/bin/python bench/doublets.py [--cells 5000] [--plans N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def accuracy(mean_center: bool, n_plans: int | None = None) -> list[tuple[float, float]]:
    from marrowtox.demo import scrna
    from marrowtox.demo.cohort import COHORT
    from marrowtox.singlecell.doublets import DoubletParams, call_doublets
    from marrowtox.singlecell.qc import QCParams, run_qc

    rows = []
    for plan in COHORT[:n_plans]:
        r = np.random.default_rng(3)
        model = scrna.gene_model(r)
        mat, truth = scrna.simulate_sample(r, model, plan, "D28", np.zeros(len(model.genes)))
        a = ad.AnnData(
            mat.astype(np.float32),
            obs=pd.DataFrame(index=[f"c{i}" for i in range(mat.shape[0])]),
            var=pd.DataFrame(index=[*model.genes, "CAR"]),
        )
        truth.index = a.obs_names
        a, _ = run_qc(a, QCParams.from_config({}), "s")
        params = DoubletParams.from_config({"mean_center": mean_center, "remove": False})
        flagged = call_doublets(a, params)
        t = truth.loc[flagged.obs_names, "doublet"].to_numpy()
        pred = flagged.obs["predicted_doublet"].to_numpy(bool)
        rows.append((float(pred[t].mean()), float(t[pred].mean())))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, default=5000)
    ap.add_argument(
        "--plans", type=int, default=None, help="the first N demo plans only (default: all)"
    )
    a = ap.parse_args()
    import singlecell as bench_sc  # bench/singlecell.py: the same simulated matrices

    work = Path(tempfile.mkdtemp(prefix="bench_dbl."))
    raw = bench_sc.generate(work, a.cells, a.cells)[0]
    exe = str(Path(sys.executable).with_name("marrowtox"))
    qc = work / "qc.h5ad"
    subprocess.run(
        [exe, "sc-qc", "--input", str(raw), "--sample", "s", "--out-h5ad", str(qc)]
        + ["--out-tsv", str(work / "qc.tsv"), "--out-png", str(work / "qc.png")],
        check=True,
        capture_output=True,
    )
    print(f"{a.cells} cells x 20000 genes, one sc-doublets process:")
    for mc in (True, False):
        flag = "--mean-center" if mc else "--no-mean-center"
        # GNU time's peak RSS: a forked child's ru_maxrss would carry this process' size
        wall, peak = bench_sc.timed(
            [exe, "sc-doublets", "--input", str(qc), "--out", str(work / "d.h5ad"), flag]
        )
        print(f"  mean_center={mc}: wall {wall:.1f} s, peak {peak:.0f} MiB")
    print("recall / precision of planted doublets, one simulated sample per demo plan:")
    for mc in (True, False):
        rows = accuracy(mc, a.plans)
        text = ", ".join(f"{r:.2f}/{p:.2f}" for r, p in rows)
        print(
            f"  mean_center={mc}: {text}; mean {np.mean([r for r, _ in rows]):.2f}/"
            f"{np.mean([p for _, p in rows]):.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
