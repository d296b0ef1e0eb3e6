"""Benchmark: the single-cell branch vs a plain one-process scanpy script, same data.

Generates a cohort of N cells (default 20,000) over 20,000 genes in batches of ~5,000
cells with the demo simulator, then runs
  (a) marrowtox: per sample `sc-process` (QC, doublets, annotation on its own, its own
      UMAP: the workflow's one job per sample, rule sc_process) as parallel processes,
      then `sc-integrate` (the cohort picture, for display);
  (b) a plain scanpy script doing the same steps in one process (QC, scrublet per
      batch, normalise, seurat_v3 HVGs, PCA, Harmony via scanpy's wrapper, neighbours
      with scanpy defaults, UMAP, Leiden);
and prints wall time, CPU time (user + system, per step), peak memory (max RSS of the
largest process; for parallel stages the sum of concurrent processes) and the ratio
marrowtox/plain.

Usage: .venv/bin/python bench/singlecell.py [--cells 20000 100000] [--jobs 2] [--skip-plain]
       [--inputs DIR]  (the S*.h5ad a previous run generated in DIR, for one --cells:
                        generating 500,000 cells takes ~1,000 s)
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

PLAIN = r"""
import sys, scanpy as sc, anndata as ad, numpy as np
from scipy.stats import median_abs_deviation as mad
paths = sys.argv[1:]
adatas = []
for p in paths:
    a = ad.read_h5ad(p); a.obs["batch"] = p.split("/")[-1].split(".")[0]
    a.var["mt"] = a.var_names.str.startswith("MT-")
    sc.pp.calculate_qc_metrics(a, qc_vars=["mt"], percent_top=[20], log1p=True, inplace=True)
    def out(x, n):
        return (x < np.median(x) - n * mad(x)) | (x > np.median(x) + n * mad(x))
    o = a.obs
    keep = ~(out(o.log1p_total_counts, 5) | out(o.log1p_n_genes_by_counts, 5) | out(o.pct_counts_in_top_20_genes, 5)
             | out(o.pct_counts_mt, 3) | (o.pct_counts_mt > 20))
    a = a[keep.values].copy()
    sc.pp.scrublet(a, random_state=0)
    adatas.append(a[~a.obs.predicted_doublet.values].copy())
adata = ad.concat(adatas, join="outer")
adata.layers["counts"] = adata.X.copy()
sc.pp.normalize_total(adata, target_sum=1e4); sc.pp.log1p(adata)
sc.pp.highly_variable_genes(adata, n_top_genes=2000, flavor="seurat_v3", layer="counts", batch_key="batch")
sc.pp.pca(adata, n_comps=30, mask_var="highly_variable")
import harmonypy
ho = harmonypy.run_harmony(adata.obsm["X_pca"], adata.obs, ["batch"], random_state=0, verbose=False)
z = np.asarray(ho.Z_corr); adata.obsm["X_pca_harmony"] = z.T if z.shape[0] != adata.n_obs else z
sc.pp.neighbors(adata, use_rep="X_pca_harmony")
sc.tl.umap(adata); sc.tl.leiden(adata, flavor="igraph", n_iterations=2, directed=False)
print(adata.n_obs)
"""


GNU_TIME = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
STEPS: dict[str, float] = {}
CPU: dict[str, float] = {}
PEAKS: dict[str, float] = {}


def timed(cmd: list[str], step: str = "") -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one command; its CPU seconds (user + system)
    go to CPU[step].

    Peak RSS and CPU from GNU time when present. Not from os.wait4 on our own child: Linux
    carries a forked child's max RSS across exec, so every command would report at
    least this (large, data-generating) Python process' size.
    """
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        argv = [GNU_TIME, "-f", "%U %S %M", "-o", rss.name, *cmd] if GNU_TIME else cmd
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _, err = p.communicate()
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:3])} failed ({p.returncode}): {err[-2000:]}")
        text = Path(rss.name).read_text().split()
    measured = len(text) >= 3 and text[-1].isdigit()
    if step:
        STEPS[step] = STEPS.get(step, 0.0) + wall
        cpu = float(text[-3]) + float(text[-2]) if measured else float("nan")
        CPU[step] = CPU.get(step, 0.0) + cpu
    return wall, float(text[-1]) / 1024 if measured else float("nan")


def generate(out: Path, n_cells: int, batch_size: int) -> list[Path]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from marrowtox.demo import scrna
    from marrowtox.demo.cohort import COHORT

    r = np.random.default_rng(11)
    scrna.N_FILLER = 20000 - 900  # ~20,000 genes in all
    model = scrna.gene_model(r)
    paths = []
    n_batches = max(1, n_cells // batch_size)
    per_batch, n_made = n_cells // n_batches, 0
    for b in range(n_batches):
        plan = COHORT[b % len(COHORT)]
        # the cell count is passed, not set through scrna.CELLS_PER_SAMPLE: that is
        # simulate_sample's default, bound when the module loads (from session 7 to 9
        # this bench made 2,000 cells per batch whatever --cells said)
        mat, _ = scrna.simulate_sample(
            r,
            model,
            plan,
            "D28" if b % 2 else "BL",
            r.normal(0, 0.2, len(model.genes)),
            n=per_batch,
        )
        a = ad.AnnData(
            sparse.csr_matrix(mat, dtype=np.float32),
            var=pd.DataFrame(index=model.genes + ["CAR"]),
        )
        a.obs_names = [f"b{b}c{i}" for i in range(a.n_obs)]
        p = out / f"S{b:02d}.h5ad"
        a.write_h5ad(p)
        paths.append(p)
        n_made += a.n_obs
    if n_made != per_batch * n_batches:
        raise RuntimeError(f"generated {n_made} cells, asked for {per_batch * n_batches}")
    return paths


def reused(folder: Path, work: Path, n_cells: int) -> list[Path]:
    """The generated samples of an earlier run (links in `work`), checked to hold
    `n_cells` cells in all."""
    paths = sorted(folder.glob("S*.h5ad"))
    n = 0
    for p in paths:
        backed = ad.read_h5ad(p, backed="r")
        n += backed.n_obs
        backed.file.close()
        (work / p.name).symlink_to(p.resolve())
    if not paths or n != n_cells:
        raise SystemExit(f"{folder}: {len(paths)} samples with {n} cells, asked for {n_cells}")
    return [work / p.name for p in paths]


def marrowtox(paths: list[Path], work: Path, jobs: int) -> tuple[float, float]:
    exe = str(Path(sys.executable).with_name("marrowtox"))
    t0 = time.perf_counter()
    results = work / "results"

    def per_sample(p: Path) -> float:
        s = p.stem
        return timed(
            [exe, "sc-process", "--input", str(p), "--sample", s, "--batch", s]
            + ["--patient", s, "--results", str(results)],
            "sc-process (summed over samples)",
        )[1]

    with ThreadPoolExecutor(jobs) as pool:
        mems = list(pool.map(per_sample, paths))
    peak_parallel = sum(sorted(mems)[-jobs:])
    sc_dir = results / "singlecell"
    _, m4 = timed(
        [exe, "sc-integrate", "--inputs", *[str(sc_dir / "doublets" / p.name) for p in paths]]
        + ["--labels", *[str(sc_dir / "labels" / f"{p.stem}.tsv") for p in paths]]
        + ["--out", str(work / "cohort.h5ad"), "--out-status", str(work / "integrate.tsv")]
        + ["--umap", str(work / "umap.png")],
        "sc-integrate",
    )
    PEAKS.update(
        {
            "sc-process: QC + doublets + annotate + own UMAP (concurrent jobs)": peak_parallel,
            "sc-integrate": m4,
        }
    )
    return time.perf_counter() - t0, max(peak_parallel, m4)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cells", type=int, nargs="+", default=[20000])
    ap.add_argument("--batch-size", type=int, default=5000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip-plain", action="store_true")
    ap.add_argument("--inputs", type=Path, help="reuse the generated S*.h5ad of this folder")
    a = ap.parse_args()
    if a.inputs and len(a.cells) != 1:
        ap.error("--inputs goes with one --cells")
    for n in a.cells:
        work = Path(tempfile.mkdtemp(prefix=f"bench_sc_{n}."))
        paths = reused(a.inputs, work, n) if a.inputs else generate(work, n, a.batch_size)
        STEPS.clear()
        CPU.clear()
        mt, mm = marrowtox(paths, work, a.jobs)
        print(
            f"{n} cells x 20000 genes, {len(paths)} batches: marrowtox wall {mt:.1f} s, "
            f"peak {mm:.0f} MiB"
        )
        for step, t in STEPS.items():
            print(f"  {step}: {t:.1f} s wall, {CPU[step]:.1f} s CPU")
        for step, m in PEAKS.items():
            print(f"  peak RSS {step}: {m:.0f} MiB")
        if not a.skip_plain:
            script = work / "plain.py"
            script.write_text(PLAIN)
            pt, pm = timed([sys.executable, str(script), *map(str, paths)])
            print(
                f"{n} cells: plain scanpy wall {pt:.1f} s, peak {pm:.0f} MiB; ratio marrowtox/plain "
                f"time {mt / pt:.2f}, memory {mm / pm:.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
