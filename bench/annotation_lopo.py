"""Benchmark: the default reference model on held-back real marrow, leave one patient out.

For each of the 7 van Galen 2019 patients (../shared/data/real/vangalen_marrow), a model
is trained on the other 6 by tools/build_default_model.py `build` (the shipped model's
own settings, resources/models/marrow_default.build.yaml), and the held-out patient runs
through QC, doublet removal and annotate_step as in the workflow (tests/realdata.py
`lopo_fold`). Prints, on the normal cells that survive QC, the coarse accuracy and the
per-class recall (van Galen classes pooled as in issue 24; CTL counts as T, so an NK call
of a CTL is wrong), per patient, and wall time and peak memory; beside each recall, the
recall on the cells the authors labelled confidently (their best score of the cell's
class ahead of another class by > realdata.AUTHOR_MARGIN: their labels are classifier
calls too). Figures, not pass/fail (tests/test_annotation_vangalen.py asserts the targets).

Usage:
    /work/main/.venv/bin/python bench/annotation_lopo.py                 # all 7 patients
    /work/main/.venv/bin/python bench/annotation_lopo.py --patients AML314 AML475
    /work/main/.venv/bin/python bench/annotation_lopo.py --build-file other.build.yaml \
        --set cluster_weight=0.75                                        # compare settings
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from realdata import (  # noqa: E402
    AUTHOR_MARGIN,
    VANGALEN_PATIENTS,
    lopo_fold,
    per_class,
    vangalen_dir,
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--patients", nargs="*", default=list(VANGALEN_PATIENTS))
    p.add_argument("--build-file", type=Path, default=None, help="default: the shipped one")
    p.add_argument(
        "--set", nargs="*", default=[], help="singlecell.annotate overrides, key=value (YAML)"
    )
    p.add_argument("--out", type=Path, default=None, help="per-cell calls (.tsv)")
    p.add_argument(
        "--work",
        type=Path,
        default=None,
        help="keep fold models and prepared samples here and reuse them (default: a temporary folder)",
    )
    a = p.parse_args(argv)
    if vangalen_dir() is None:
        print("../shared/data/real/vangalen_marrow absent: nothing to measure")
        return 1
    overrides = {k: yaml.safe_load(v) for k, v in (s.split("=", 1) for s in a.set)}
    t0 = time.perf_counter()
    cells = []
    with tempfile.TemporaryDirectory() as tmp:
        for patient in a.patients:
            t1 = time.perf_counter()
            fold = lopo_fold(patient, a.work or Path(tmp), overrides, a.build_file)
            cells.append(fold)
            print(
                f"{patient}: {len(fold)} normal cells after QC, coarse accuracy "
                f"{fold['correct'].mean():.3f}, routes "
                f"{fold['route'].value_counts().to_dict()} ({time.perf_counter() - t1:.0f} s)",
                flush=True,
            )
    all_cells = pd.concat(cells)
    if a.out:
        all_cells.to_csv(a.out, sep="\t")
    table = per_class(all_cells)
    print(
        f"\nheld-out patients: {', '.join(a.patients)}; settings overridden: {overrides or 'none'}"
    )
    print(table.to_string(float_format=lambda x: f"{x:.3f}"))
    print(
        f"overall coarse accuracy {all_cells['correct'].mean():.3f} "
        f"({int(all_cells['correct'].sum())}/{len(all_cells)} normal cells)"
    )
    clear = all_cells[all_cells["author_margin"] > AUTHOR_MARGIN]
    print(
        f"on the confidently labelled cells (authors' best score of the cell's class ahead of "
        f"another class by > {AUTHOR_MARGIN}): {clear['correct'].mean():.3f} "
        f"({int(clear['correct'].sum())}/{len(clear)})"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"wall time {time.perf_counter() - t0:.0f} s, peak memory {peak:.0f} MiB (one process)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
