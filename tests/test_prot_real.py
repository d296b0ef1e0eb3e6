"""Protein route on real marrow CITE-seq (bmmc_cite: 600 cells, 2 donors, 134 ADTs;
RNA of 1,000 random genes, so the RNA marker route is "not assessable" and the
protein route decides). Skips when ../shared/data/real is absent. Run with -s for
the figures."""

from __future__ import annotations

from pathlib import Path

import anndata as ad
import pandas as pd
import pytest
import yaml

from marrowtox.celltypes import COARSE, UNKNOWN
from marrowtox.prot.steps import ProteinInputs, ProteinOutputs, protein_step
from marrowtox.singlecell.annotate import AnnotateParams
from marrowtox.singlecell.steps import annotate_step

REPO = Path(__file__).resolve().parents[1]
MARKERS = REPO / "resources" / "markers" / "marrow.yaml"
BMMC_MAP = REPO / "resources" / "reference_maps" / "neurips2021_bmmc.yaml"
pytestmark = pytest.mark.realdata


def _outputs(work: Path, name: str) -> ProteinOutputs:
    return ProteinOutputs(
        *(str(work / f"{name}.{k}") for k in ("h5mu", "labels.tsv", "agree.tsv", "by.tsv"))
    )


@pytest.fixture(scope="module")
def donors(real_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Each donor: RNA through sc-annotate (marker route: not assessable), RNA labels
    attached as the workflow does, then the protein step with the adt.h5ad."""
    work = tmp_path_factory.mktemp("bmmc_prot")
    rna = ad.read_h5ad(real_data / "bmmc_cite" / "rna.h5ad")
    rna.X = rna.layers["counts"]
    del rna.layers["counts"]
    out = {}
    for donor in ("s1d1", "s1d2"):
        sub = rna[rna.obs["batch"] == donor].copy()
        truth = sub.obs["cell_type"].astype(str)
        sub.obs = sub.obs[[]]
        raw = work / f"{donor}.h5ad"
        sub.write_h5ad(raw)
        annotate_step(
            str(raw),
            donor,
            str(MARKERS),
            "human",
            AnnotateParams.from_config({}, seed=0),
            str(work / f"{donor}.labels.tsv"),
            str(work / f"{donor}.annotation.tsv"),
        )
        labels = pd.read_csv(work / f"{donor}.labels.tsv", sep="\t", dtype={"barcode": str})
        labels = labels.set_index("barcode").loc[sub.obs_names]
        for c in ("cell_type", "cell_type_route", "cell_type_confidence"):
            sub.obs[c] = labels[c].to_numpy()
        final = work / f"{donor}.final.h5ad"
        sub.write_h5ad(final)
        o = _outputs(work, donor)
        row = protein_step(
            ProteinInputs(
                str(final),
                donor,
                str(raw),
                str(real_data / "bmmc_cite" / "adt.h5ad"),
                {},
                annotation=str(work / f"{donor}.annotation.tsv"),
            ),
            o,
        )
        out[donor] = {"truth": truth, "outputs": o, "row": row, "final": final, "raw": raw}
    return out


def _coarse_truth(truth: pd.Series) -> pd.Series:
    label_map = yaml.safe_load(BMMC_MAP.read_text())["labels"]
    return truth.map(lambda x: COARSE[label_map[x]])


@pytest.mark.parametrize("donor", ["s1d1", "s1d2"])
def test_protein_aided_coarse_accuracy_per_donor(donors, donor) -> None:
    d = donors[donor]
    lab = pd.read_csv(d["outputs"].labels, sep="\t", dtype={"barcode": str}).set_index("barcode")
    t = _coarse_truth(d["truth"]).loc[lab.index]
    p = lab["combined_label"].map(lambda x: COARSE.get(x, UNKNOWN))
    acc = float((t == p).mean())
    print(f"\n{donor}: protein-aided coarse accuracy {acc:.3f} over {len(t)} cells")
    print((t == p).groupby(t).agg(["mean", "size"]).to_string())
    assert acc >= 0.85
    # RNA could not judge (random 1,000 genes): every call comes from the protein route
    assert (lab["rna_label"] == UNKNOWN).all()
    assert set(lab.loc[lab["combined_label"] != UNKNOWN, "combined_route"]) == {"protein"}
    assert d["row"]["n_shared_barcodes"] == len(t)
    assert d["row"]["normalisation"].startswith("CLR (muon.prot.pp.clr")
    assert not d["row"]["input_already_normalised"]
    # the panel has no CD34 antibody: HSPC types are not assessable, never guessed
    assert "HSC/MPP" not in d["row"]["protein_types_assessable"]


def test_h5mu_holds_both_modalities(donors) -> None:
    import mudata as md

    m = md.read_h5mu(donors["s1d2"]["outputs"].h5mu)
    assert set(m.mod) == {"rna", "prot"}
    assert m["prot"].n_vars == 134 and m["prot"].n_obs == m["rna"].n_obs
    assert "CLR" in m["prot"].uns["protein_normalisation"]
    assert float(m["prot"].layers["counts"].max()) > 100  # raw counts kept beside CLR


def test_obsm_clr_with_ab_suffix_is_used_with_a_warning(donors, real_data, tmp_path) -> None:
    """The benchmark's X is already CLR: given as obsm['protein'] with "-AB" names, it is
    used as given (no second normalisation), names are matched, and a warning is kept."""
    adt = ad.read_h5ad(real_data / "bmmc_cite" / "adt.h5ad")
    d = donors["s1d2"]
    rna = ad.read_h5ad(d["raw"])
    x = adt[rna.obs_names].X
    rna.obsm["protein"] = pd.DataFrame(
        x.toarray() if hasattr(x, "toarray") else x,
        index=rna.obs_names,
        columns=[f"{n}-AB" for n in adt.var_names],
    )
    raw = tmp_path / "with_obsm.h5ad"
    rna.write_h5ad(raw)
    o = _outputs(tmp_path, "obsm")
    row = protein_step(ProteinInputs(str(d["final"]), "s1d2", str(raw), "", {}), o)
    assert row["input_already_normalised"]
    assert row["normalisation"].startswith("as given")
    assert "taken as already normalised" in row["note"]
    lab = pd.read_csv(o.labels, sep="\t", dtype={"barcode": str}).set_index("barcode")
    t = _coarse_truth(d["truth"]).loc[lab.index]
    acc = float((t == lab["combined_label"].map(lambda x: COARSE.get(x, UNKNOWN))).mean())
    print(f"\nobsm CLR (-AB names), s1d2: coarse accuracy {acc:.3f}")
    assert (lab["protein_label"] != UNKNOWN).mean() > 0.5  # names matched: types assessable
