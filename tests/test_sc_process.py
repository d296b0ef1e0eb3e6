"""One sample's chain in one process (rule sc_process, `marrowtox sc-process`) writes
what the four single steps write (sc-qc, sc-doublets, sc-annotate, sc-sample), and its
command reads settings from config files as the workflow does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import yaml

from marrowtox import layout
from marrowtox.demo import scrna
from marrowtox.demo.cohort import COHORT
from marrowtox.singlecell.annotate import AnnotateParams
from marrowtox.singlecell.doublets import DoubletParams
from marrowtox.singlecell.embed import EmbedParams
from marrowtox.singlecell.process import (
    SampleInputs,
    SampleOutputs,
    SampleSettings,
    process_sample,
)
from marrowtox.singlecell.qc import QCParams
from marrowtox.singlecell.steps import annotate_step, doublet_step, qc_step, sample_step

REPO = Path(__file__).resolve().parents[1]
MARKERS = str(REPO / "resources" / "markers" / "marrow.yaml")
META = {"patient": "P1", "timepoint": "D28", "day": 28, "batch": "P1"}
TABLES = ("qc", "doublets", "labels", "annotation", "composition")


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    r = np.random.default_rng(5)
    model = scrna.gene_model(r)
    mat, truth = scrna.simulate_sample(r, model, COHORT[4], "D28", np.zeros(len(model.genes)))
    a = ad.AnnData(mat.astype(np.float32), var=pd.DataFrame(index=model.genes + ["CAR"]))
    a.obs_names = [f"c{i}" for i in range(a.n_obs)]
    truth.index = a.obs_names
    path = tmp_path_factory.mktemp("raw") / "S1.h5ad"
    a.write_h5ad(path)
    return path, truth


def _settings() -> SampleSettings:
    return SampleSettings(
        qc=QCParams.from_config({}),
        doublets=DoubletParams.from_config({}, 0),
        annotate=AnnotateParams.from_config({}, 0),
        embed=EmbedParams.from_config({}, 0),
    )


def _steps_one_by_one(raw: Path, out: SampleOutputs, tmp: Path) -> None:
    st = _settings()
    qc_step(str(raw), "S1", META, st.qc, str(tmp / "qc.h5ad"), out.qc_tsv, out.qc_png)
    doublet_step(str(tmp / "qc.h5ad"), out.singlets_h5ad, st.doublets, out.doublets_tsv)
    annotate_step(
        out.singlets_h5ad, "S1", MARKERS, "human", st.annotate, out.labels, out.annotation
    )
    sample_step(out.singlets_h5ad, out.labels, "S1", out.annotated, out.composition, st.embed)


def test_the_chain_writes_what_the_four_steps_write(raw, tmp_path: Path) -> None:
    path, truth = raw
    one = SampleOutputs.under(tmp_path / "steps", "S1")
    for p in vars(one).values():
        Path(p).parent.mkdir(parents=True, exist_ok=True)
    _steps_one_by_one(path, one, tmp_path)
    chain = SampleOutputs.under(tmp_path / "chain", "S1")
    table = process_sample(
        SampleInputs(str(path), "S1", META, MARKERS, "human"), _settings(), chain
    )
    assert table["n_cells"].sum() > 0
    for name in ("qc_tsv", "doublets_tsv", "labels", "annotation", "composition"):
        a, b = getattr(one, name), getattr(chain, name)
        assert Path(a).read_bytes() == Path(b).read_bytes(), name
    x, y = ad.read_h5ad(one.annotated), ad.read_h5ad(chain.annotated)
    pd.testing.assert_frame_equal(x.obs, y.obs)
    np.testing.assert_array_equal(x.obsm["X_umap"], y.obsm["X_umap"])
    # and the labels are right: the planted types come back
    labels = pd.read_csv(chain.labels, sep="\t", index_col="barcode")
    want = truth.loc[labels.index, "cell_type"].astype(str)
    assert (labels["cell_type"].astype(str) == want).mean() >= 0.9


def test_the_command_reads_config_files_as_the_workflow(raw, tmp_path: Path) -> None:
    path, _ = raw
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml.safe_dump({"singlecell": {"qc": {"min_genes": 50}}}))
    cmd = [str(Path(sys.executable).with_name("marrowtox")), "sc-process", "--input", str(path)]
    cmd += ["--sample", "S1", "--patient", "P1", "--results", str(tmp_path / "results")]
    proc = subprocess.run([*cmd, "--config", str(cfg)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in TABLES:
        assert layout.path(name, tmp_path / "results", sample="S1").is_file(), name
    # a bad value is refused before any work, naming the file and the key
    cfg.write_text(yaml.safe_dump({"singlecell": {"qc": {"min_genes": "many"}}}))
    out = tmp_path / "bad"
    proc = subprocess.run(
        [*cmd[:-2], "--results", str(out), "--config", str(cfg)], capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "singlecell.qc.min_genes" in proc.stderr and str(cfg) in proc.stderr, proc.stderr
    assert not out.exists()
