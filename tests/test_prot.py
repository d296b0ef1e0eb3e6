"""Protein (ADT) modality on small synthetic inputs: names, readers, refusals,
normalisation, labels, combination rule, CAR T panel (marrowtox.prot)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from marrowtox.celltypes import UNKNOWN
from marrowtox.demo import adt as demo_adt
from marrowtox.demo.scrna import write_10x_h5
from marrowtox.errors import InputError
from marrowtox.prot.io import has_proteins, read_proteins
from marrowtox.prot.names import canonical, is_isotype, load_aliases, strip_decorations


@pytest.mark.parametrize(
    "name, protein",
    [
        ("CD34-AB", "CD34"),
        ("CD34_TotalSeqC", "CD34"),
        ("ADT_CD34", "CD34"),
        ("Hu.CD34", "CD34"),
        ("CD8a_TotalSeqC_0046", "CD8"),
        ("PD-1", "CD279"),
        ("TIM-3-AB", "CD366"),
        ("HLA.DR", "HLA-DR"),
        ("FCER1A", "FceRIa"),
        ("IgM", "IgM"),  # a B-cell marker, not an isotype control
    ],
)
def test_names_are_matched_without_decorations(name, protein) -> None:
    assert canonical(name, load_aliases()) == protein


def test_isotypes_by_name() -> None:
    assert is_isotype("Mouse_IgG1_isotype") and is_isotype("Rat-IgG2b") and is_isotype("IgG1 Ctrl")
    assert not is_isotype("IgM") and not is_isotype("IgD") and not is_isotype("CD3")
    assert strip_decorations("ADT_Hu.CD19_TotalSeqC") == "CD19"


def _truth(n_per_type: int = 30, seed: int = 0) -> pd.DataFrame:
    types = [t for t in demo_adt.TYPE_PROTEINS for _ in range(n_per_type)]
    car = np.zeros(len(types), bool)
    t = np.array(types)
    car[np.flatnonzero(t == "CD8 T")[: n_per_type // 2]] = True
    return pd.DataFrame({"cell_type": t, "car_t": car, "doublet": False})


def _cite_h5(path: Path, truth: pd.DataFrame, activation: float = 1.0, seed: int = 0) -> list:
    r = np.random.default_rng(seed)
    n = len(truth)
    genes = ["ACTB", "CD4", "MT-CO1"]  # a gene named like an ADT (CD4)
    rna = sparse.csr_matrix(r.poisson(5, (n, len(genes))).astype(np.int32))
    counts = demo_adt.simulate_adt(r, truth, activation, demo_adt.ambient_profile(r))
    bcs = [f"BC{i:05d}-1" for i in range(n)]
    names = [demo_adt.feature_name(p) for p in demo_adt.PROTEINS]
    write_10x_h5(path, rna, genes, genes, bcs, (counts, names))
    return bcs


def test_10x_split_rna_unchanged_and_proteins_read(tmp_path) -> None:
    from marrowtox.singlecell.io import read_counts

    truth = _truth(5)
    h5 = tmp_path / "cite.h5"
    _cite_h5(h5, truth)
    rna = read_counts(h5)
    assert list(rna.var_names) == ["ACTB", "CD4", "MT-CO1"]  # no ADT among the genes
    prot = read_proteins(h5)
    assert prot is not None and prot.source == "10x Antibody Capture"
    assert prot.adata.n_vars == len(demo_adt.PROTEINS)
    assert "CD279" in prot.adata.var_names and "CD34" in prot.adata.var_names
    assert set(prot.isotypes) == set(demo_adt.ISOTYPES)
    assert not prot.normalised and has_proteins(str(h5))


def test_header_reads_are_shared_and_follow_rewrites(tmp_path) -> None:
    """The pre-flight asks every sample's genes several times (mito, CAR feature, shared
    genes): two files of one reference give one shared gene list without the antibody
    features, and a file rewritten with other genes is read again."""
    import os

    from marrowtox.preflight import scrna_genes

    truth = _truth(3)
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    _cite_h5(a, truth)
    _cite_h5(b, truth, seed=1)
    assert scrna_genes(str(a)) == ["ACTB", "CD4", "MT-CO1"]
    assert scrna_genes(str(a)) is scrna_genes(str(b))
    assert has_proteins(str(a)) and has_proteins(str(b))
    rna = sparse.csr_matrix(np.ones((2, 2), dtype=np.int32))
    write_10x_h5(a, rna, ["GAPDH", "CD8A"], ["GAPDH", "CD8A"], ["X-1", "Y-1"])
    os.utime(a, ns=(0, 10**9))  # another modification time, whatever the clock's resolution
    assert scrna_genes(str(a)) == ["GAPDH", "CD8A"]
    assert not has_proteins(str(a))
    assert scrna_genes(str(tmp_path / "absent.h5")) is None


def test_rna_h5ad_with_antibody_features_keeps_only_genes(tmp_path) -> None:
    from marrowtox.singlecell.io import read_counts

    a = ad.AnnData(
        X=sparse.csr_matrix(np.array([[1, 2, 3], [4, 5, 6]], np.float32)),
        obs=pd.DataFrame(index=["a", "b"]),
        var=pd.DataFrame(
            {"feature_types": ["Gene Expression", "Gene Expression", "Antibody Capture"]},
            index=["ACTB", "CD4", "CD4_TotalSeqC"],
        ),
    )
    a.write_h5ad(tmp_path / "x.h5ad")
    assert list(read_counts(tmp_path / "x.h5ad").var_names) == ["ACTB", "CD4"]
    p = read_proteins(tmp_path / "x.h5ad")
    assert list(p.adata.var_names) == ["CD4"] and p.source == "adt h5ad"


def test_plain_rna_file_has_no_proteins(tmp_path) -> None:
    h5 = tmp_path / "rna.h5"
    write_10x_h5(
        h5, sparse.csr_matrix(np.ones((2, 2), np.int32)), ["A", "B"], ["A", "B"], ["x", "y"]
    )
    assert read_proteins(h5) is None and not has_proteins(str(h5))


def _adt_h5ad(path: Path, x, names, obs=("a", "b", "c")) -> Path:
    ad.AnnData(
        X=np.asarray(x, dtype=np.float32),
        obs=pd.DataFrame(index=list(obs)),
        var=pd.DataFrame(index=names),
    ).write_h5ad(path)
    return path


def test_negative_counts_are_refused(tmp_path) -> None:
    p = _adt_h5ad(tmp_path / "neg.h5ad", [[1, -2], [3, 4], [0, 1]], ["CD3", "CD4"])
    with pytest.raises(InputError, match="negative protein values"):
        read_proteins(p)


def test_absent_isotype_is_refused(tmp_path) -> None:
    p = _adt_h5ad(tmp_path / "iso.h5ad", [[1, 2], [3, 4], [0, 1]], ["CD3", "CD4"])
    with pytest.raises(InputError, match="isotype control.*IgG1_ctrl not among"):
        read_proteins(p, isotypes=["IgG1_ctrl"])
    assert read_proteins(p, isotypes=["CD4-AB"]).isotypes == ["CD4"]  # named by decorated name


def test_normalised_values_warn_or_are_refused(tmp_path) -> None:
    p = _adt_h5ad(tmp_path / "clr.h5ad", [[0.5, -0.2], [1.5, 0.1], [0.0, 2.2]], ["CD3", "CD4"])
    got = read_proteins(p)
    assert got.normalised and "taken as already normalised" in got.warnings[0]
    with pytest.raises(InputError, match="not integers"):
        read_proteins(p, refuse_normalised=True)


def test_obsm_protein_array_needs_names(tmp_path) -> None:
    a = ad.AnnData(X=np.ones((2, 2), np.float32), obs=pd.DataFrame(index=["a", "b"]))
    a.obsm["protein"] = np.ones((2, 3))
    a.write_h5ad(tmp_path / "o.h5ad")
    with pytest.raises(InputError, match="array without names"):
        read_proteins(tmp_path / "o.h5ad")
    a.uns["protein_names"] = ["CD3-AB", "CD4-AB", "CD8-AB"]
    a.write_h5ad(tmp_path / "o.h5ad")
    got = read_proteins(tmp_path / "o.h5ad")
    assert list(got.adata.var_names) == ["CD3", "CD4", "CD8"]
    assert got.source == "obsm['protein']"


def _final_rna(path: Path, bcs: list[str], labels: list[str], car: np.ndarray | None = None):
    a = ad.AnnData(
        X=sparse.csr_matrix(np.ones((len(bcs), 2), np.float32)),
        obs=pd.DataFrame(index=bcs),
        var=pd.DataFrame(index=["ACTB", "GAPDH"]),
    )
    a.obs["cell_type"] = labels
    a.obs["cell_type_route"] = ["markers" if x != UNKNOWN else "none" for x in labels]
    a.obs["cell_type_confidence"] = [0.9 if x != UNKNOWN else np.nan for x in labels]
    if car is not None:
        a.obs["car_positive"] = car
        a.uns["car_status"] = "measured"
    a.write_h5ad(path)
    return path


def _outputs(tmp_path: Path, name: str = "s"):
    from marrowtox.prot.steps import ProteinOutputs

    return ProteinOutputs(
        *(str(tmp_path / f"{name}.{k}") for k in ("h5mu", "labels.tsv", "agree.tsv", "by.tsv"))
    )


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """330 cells of 11 types with planted activated CAR T (half of the CD8 T cells);
    RNA labels: right for half the cells, unknown for the rest."""
    from marrowtox.prot.steps import ProteinInputs, protein_step

    work = tmp_path_factory.mktemp("prot")
    truth = _truth(30)
    bcs = _cite_h5(work / "cite.h5", truth)
    rna_labels = [t if i % 2 else UNKNOWN for i, t in enumerate(truth["cell_type"])]
    final = _final_rna(work / "final.h5ad", bcs, rna_labels, truth["car_t"].to_numpy())
    o = dataclasses.replace(_outputs(work), heatmap=str(work / "heat.png"))
    row = protein_step(ProteinInputs(str(final), "s", str(work / "cite.h5"), "", {}), o)
    lab = pd.read_csv(o.labels, sep="\t", dtype={"barcode": str}).set_index("barcode")
    return {
        "truth": truth.set_index(pd.Index(bcs)),
        "row": row,
        "labels": lab,
        "out": o,
        "work": work,
    }


def test_protein_labels_agree_with_truth(synthetic) -> None:
    from sklearn.metrics import f1_score

    t = synthetic["truth"]["cell_type"]
    p = synthetic["labels"]["protein_label"].loc[t.index]
    f1 = f1_score(t, p, average="macro", labels=sorted(set(t)))
    print(f"\nsynthetic protein macro-F1 {f1:.3f}")
    assert f1 >= 0.9
    row = synthetic["row"]
    assert row["agreement_type"] >= 0.9 and row["n_both_called"] > 100
    assert set(row["isotype_controls"].split(",")) == {
        "Mouse_IgG1_isotype",
        "Mouse_IgG2a_isotype",
        "Rat_IgG2b_isotype",
    }


def test_combination_rule(synthetic) -> None:
    lab = synthetic["labels"]
    called = lab["rna_label"] != UNKNOWN
    # RNA calls kept; where RNA said unknown the protein route decides
    assert (lab.loc[called, "combined_label"] == lab.loc[called, "rna_label"]).all()
    assert (lab.loc[called, "combined_route"] == "markers").all()
    pc = ~called & (lab["protein_label"] != UNKNOWN)
    assert pc.sum() > 100
    assert (lab.loc[pc, "combined_route"] == "protein").all()
    assert (lab.loc[pc, "combined_label"] == lab.loc[pc, "protein_label"]).all()


def test_rna_not_assessable_type_is_decided_by_protein() -> None:
    from marrowtox.prot.labels import combine

    idx = ["a", "b", "c"]
    rna = pd.DataFrame(
        {
            "cell_type": ["CD4 T", "CD4 T", "monocyte"],
            "cell_type_route": ["markers", "reference", "markers"],
            "cell_type_confidence": [0.5, 0.9, 0.8],
        },
        index=idx,
    )
    prot = pd.DataFrame(
        {"protein_label": ["HSC/MPP", "HSC/MPP", "DC"], "protein_confidence": [0.7, 0.7, 0.6]},
        index=idx,
    )
    out = combine(rna, prot, rna_not_assessable={"HSC/MPP"})
    assert out["combined_label"].astype(str).tolist() == ["HSC/MPP", "CD4 T", "monocyte"]
    assert out["combined_route"].tolist() == ["protein", "reference", "markers"]


def test_car_activation_proteins_higher_in_car_t(synthetic) -> None:
    """The panel cart_call writes into results/cart/<sample>.tsv (RNA T cells)."""
    from marrowtox.cart.protein import sample_car_panel

    w = synthetic["work"]
    rna = ad.read_h5ad(w / "final.h5ad")
    cart = sample_car_panel(rna, "s", {}, str(w / "cite.h5"))
    t = rna.obs["cell_type"].isin(["CD4 T", "CD8 T"]) & rna.obs["car_positive"]
    assert cart["prot_n_car_t"] == int(t.sum()) > 0 and cart["prot_n_noncar_t"] > 0
    assert cart["prot_normalisation"].startswith("CLR")
    for p in ("CD69", "CD25", "HLA_DR", "CD38", "CD279", "CD366", "CD223", "TIGIT"):
        assert cart[f"prot_{p}_diff"] > 0, p
        assert cart[f"prot_{p}_p"] < 0.01, p
    # a sample without proteins: the same columns, every value missing (never 0)
    empty = sample_car_panel(rna, "s", {}, None)
    assert list(empty) == list(cart)
    assert empty["prot_panel_note"] == "no protein data"
    assert all(v is None for k, v in empty.items() if k.endswith(("_car", "_p", "_car_t")))


def test_car_panel_names_a_protein_not_in_the_panel_as_missing(synthetic) -> None:
    from marrowtox.cart.protein import sample_car_panel

    w = synthetic["work"]
    rna = ad.read_h5ad(w / "final.h5ad")
    cart = sample_car_panel(rna, "s", {"car_panel": ["CD69", "CD39"]}, str(w / "cite.h5"))
    assert cart["prot_panel_missing"] == "CD39" and cart["prot_CD39_car"] is None
    assert cart["prot_CD69_diff"] > 0


def test_h5mu_and_method_recorded(synthetic) -> None:
    import mudata as md

    m = md.read_h5mu(synthetic["out"].h5mu)
    assert set(m.mod) == {"rna", "prot"}
    assert m["prot"].uns["protein_normalisation"].startswith("CLR (muon.prot.pp.clr")
    by = pd.read_csv(synthetic["out"].by_celltype, sep="\t")
    cd3 = by[by["protein"] == "CD3"].set_index("cell_type")["mean"]
    assert cd3["CD8 T"] > cd3["monocyte"] + 1
    assert Path(synthetic["out"].heatmap).stat().st_size > 10_000


def test_no_barcode_overlap_is_refused(synthetic, tmp_path) -> None:
    from marrowtox.prot.steps import ProteinInputs, protein_step

    final = _final_rna(tmp_path / "other.h5ad", ["XX-1", "YY-1"], ["CD4 T", UNKNOWN])
    with pytest.raises(InputError, match="no barcode of the 330 protein barcodes"):
        protein_step(
            ProteinInputs(str(final), "s", str(synthetic["work"] / "cite.h5"), "", {}),
            _outputs(tmp_path),
        )


def test_dsb_with_empty_droplets(synthetic, tmp_path) -> None:
    from marrowtox.prot.steps import ProteinInputs, protein_step

    r = np.random.default_rng(1)
    n, unstained = 300, 80
    empty = r.poisson(demo_adt.ambient_profile(r), (n, len(demo_adt.PROTEINS)))
    # a raw matrix also holds barcodes without any antibody count: not background
    empty = np.vstack([empty, np.zeros((unstained, empty.shape[1]), empty.dtype)])
    names = [demo_adt.feature_name(p) for p in demo_adt.PROTEINS]
    write_10x_h5(
        tmp_path / "raw.h5",
        sparse.csr_matrix(np.ones((n + unstained, 1), np.int32)),
        ["ACTB"],
        ["ACTB"],
        [f"E{i}-1" for i in range(n + unstained)],
        (empty.astype(np.int32), names),
    )
    o = _outputs(tmp_path, "dsb")
    w = synthetic["work"]
    row = protein_step(
        ProteinInputs(
            str(w / "final.h5ad"),
            "s",
            str(w / "cite.h5"),
            "",
            {},
            empty_droplets=str(tmp_path / "raw.h5"),
        ),
        o,
    )
    assert row["normalisation"].startswith("DSB (muon.prot.pp.dsb, 300 empty droplets")
    t = synthetic["truth"]["cell_type"]
    p = pd.read_csv(o.labels, sep="\t", dtype={"barcode": str}).set_index("barcode")[
        "protein_label"
    ]
    assert (p.loc[t.index] == t).mean() >= 0.85


# ---- sample sheet column `adt` and pre-flight (before any job) ----


def _sheet(tmp_path: Path, rna: Path, adt: str) -> Path:
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(
        "patient\tsample\tassay\ttimepoint\tday\tpath\tadt\n"
        f"P1\tP1_D28_sc\tscrna\tD28\t28\t{rna}\t{adt}\n"
    )
    return sheet


def _rna_h5(path: Path, bcs: list[str]) -> Path:
    genes = ["ACTB", "MT-CO1"]
    write_10x_h5(path, sparse.csr_matrix(np.ones((len(bcs), 2), np.int32)), genes, genes, bcs)
    return path


def _preflight(sheet: Path, **protein):
    from marrowtox.preflight import check_data_files
    from marrowtox.samplesheet import load_samples

    samples = load_samples(sheet)
    return check_data_files(samples, str(sheet), None, protein=protein or None)


def test_adt_column_checked_and_overlap_reported(tmp_path, capsys) -> None:
    rna = _rna_h5(tmp_path / "rna.h5", ["a", "b", "c"])
    _adt_h5ad(
        tmp_path / "adt.h5ad", [[1, 2], [3, 4], [0, 1]], ["CD3-AB", "CD4-AB"], obs=("a", "b", "z")
    )
    sheet = _sheet(tmp_path, rna, "adt.h5ad")
    warnings = _preflight(sheet, min_overlap=0.9)
    assert any("for 2 of 3 RNA barcodes (66.7%): below" in w for w in warnings), warnings
    _preflight(sheet)
    assert "for 2 of 3 RNA barcodes" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("adt_obs", "x", "names", "protein", "message"),
    [
        (
            ("x", "y", "z"),
            [[1, 2], [3, 4], [0, 1]],
            ["CD3", "CD4"],
            {},
            "none of its 3 protein barcodes",
        ),
        (("a", "b", "c"), [[1, -2], [3, 4], [0, 1]], ["CD3", "CD4"], {}, "negative protein values"),
        (
            ("a", "b", "c"),
            [[1, 2], [3, 4], [0, 1]],
            ["CD3", "CD4"],
            {"isotypes": ["IgG2a"]},
            "IgG2a not among",
        ),
        (
            ("a", "b", "c"),
            [[0.5, 2], [3, 4], [0, 1]],
            ["CD3", "CD4"],
            {"refuse_normalised": True},
            "not integers",
        ),
    ],
    ids=["no-overlap", "negative", "absent-isotype", "normalised-refused"],
)
def test_bad_protein_inputs_refused_before_any_job(
    tmp_path, adt_obs, x, names, protein, message
) -> None:
    rna = _rna_h5(tmp_path / "rna.h5", ["a", "b", "c"])
    _adt_h5ad(tmp_path / "adt.h5ad", x, names, obs=adt_obs)
    sheet = _sheet(tmp_path, rna, "adt.h5ad")
    with pytest.raises(InputError, match=message) as exc:
        _preflight(sheet, **protein)
    assert exc.value.row == 2 and exc.value.column == "adt"


def _raw_sheet(tmp_path: Path, raw: str) -> Path:
    sheet = tmp_path / "samples.tsv"
    sheet.write_text(
        "patient\tsample\tassay\ttimepoint\tday\tpath\tadt\traw_matrix\n"
        f"P1\tP1_D28_sc\tscrna\tD28\t28\t{tmp_path / 'rna.h5'}\tadt.h5ad\t{raw}\n"
    )
    return sheet


def _empty_h5(path: Path, n: int, names: list[str], per: int = 30) -> Path:
    """n droplets of `per` counts per protein (log10 total within DSB's background range)."""
    write_10x_h5(
        path,
        sparse.csr_matrix((n, 1), dtype=np.int32),
        ["ACTB"],
        ["ACTB"],
        [f"E{i}-1" for i in range(n)],
        (np.full((n, len(names)), per, np.int32), names),
    )
    return path


def test_raw_matrix_column_checked_before_any_job(tmp_path) -> None:
    """The raw matrix DSB reads: protein features, the sample's antibodies, enough
    background droplets (zero-count barcodes do not count); refused naming the column."""
    _rna_h5(tmp_path / "rna.h5", ["a", "b", "c"])
    _adt_h5ad(tmp_path / "adt.h5ad", [[1, 2], [3, 4], [0, 1]], ["CD3-AB", "CD4-AB"])
    _empty_h5(tmp_path / "ok.h5", 120, ["CD3", "CD4"])
    _preflight(_raw_sheet(tmp_path, "ok.h5"))  # 120 >= dsb_min_empty 100
    cases = [
        ("missing.h5", "file not found"),
        ("few.h5", "60 background droplets"),
        ("zero.h5", "0 background droplets"),
        ("panel.h5", "1 of the sample's antibodies are not in it"),
        ("rnaonly.h5", "no protein features"),
    ]
    _empty_h5(tmp_path / "few.h5", 60, ["CD3", "CD4"])
    _empty_h5(tmp_path / "zero.h5", 300, ["CD3", "CD4"], per=0)
    _empty_h5(tmp_path / "panel.h5", 300, ["CD3"])
    _rna_h5(tmp_path / "rnaonly.h5", ["x", "y"])
    for raw, message in cases:
        with pytest.raises(InputError, match=message) as exc:
            _preflight(_raw_sheet(tmp_path, raw))
        assert exc.value.row == 2 and exc.value.column == "raw_matrix", raw


def test_normalised_obsm_warns_in_preflight(tmp_path) -> None:
    a = ad.AnnData(
        X=sparse.csr_matrix(np.ones((3, 2), np.float32)),
        obs=pd.DataFrame(index=["a", "b", "c"]),
        var=pd.DataFrame(index=["ACTB", "MT-CO1"]),
    )
    a.obsm["protein"] = pd.DataFrame(
        [[0.5, 1.2], [0.1, 2.0], [1.1, 0.0]], index=a.obs_names, columns=["CD3-AB", "CD4-AB"]
    )
    a.write_h5ad(tmp_path / "rna.h5ad")
    warnings = _preflight(_sheet(tmp_path, tmp_path / "rna.h5ad", ""))
    assert any("taken as already normalised" in w for w in warnings), warnings


def test_adt_file_missing_or_on_dna_row_refused(tmp_path) -> None:
    from marrowtox.samplesheet import load_samples

    rna = _rna_h5(tmp_path / "rna.h5", ["a"])
    with pytest.raises(InputError, match="file not found") as exc:
        load_samples(_sheet(tmp_path, rna, "nothere.h5ad"))
    assert exc.value.column == "adt"


def test_sample_without_proteins_has_none(tmp_path) -> None:
    rna = _rna_h5(tmp_path / "rna.h5", ["a", "b"])
    warnings = _preflight(_sheet(tmp_path, rna, ""))
    assert not any("protein" in w for w in warnings)
    assert not has_proteins(str(rna))


def test_10x_matrix_folder_split(tmp_path) -> None:
    """A Cell Ranger matrix folder with Antibody Capture rows: genes to RNA, ADTs to proteins."""
    import gzip

    from scipy.io import mmwrite

    from marrowtox.singlecell.io import read_counts

    d = tmp_path / "filtered_feature_bc_matrix"
    d.mkdir()
    feats = [("G1", "ACTB", "Gene Expression"), ("G2", "CD4", "Gene Expression")]
    feats += [
        ("A1", "CD4_TotalSeqC", "Antibody Capture"),
        ("A2", "PD-1_TotalSeqC", "Antibody Capture"),
    ]
    m = sparse.coo_matrix(
        np.array([[5, 1, 7], [0, 2, 3], [40, 3, 9], [2, 30, 1]])
    )  # features x cells
    with open(d / "matrix.mtx", "wb") as fh:
        mmwrite(fh, m, field="integer")
    for name, rows in (
        ("features.tsv", ["\t".join(f) for f in feats]),
        ("barcodes.tsv", ["a-1", "b-1", "c-1"]),
    ):
        with gzip.open(d / f"{name}.gz", "wt") as fh:
            fh.write("\n".join(rows) + "\n")
    with open(d / "matrix.mtx", "rb") as src, gzip.open(d / "matrix.mtx.gz", "wb") as dst:
        dst.write(src.read())
    (d / "matrix.mtx").unlink()
    assert list(read_counts(d).var_names) == ["ACTB", "CD4"]
    p = read_proteins(d)
    assert list(p.adata.var_names) == ["CD4", "CD279"] and has_proteins(str(d))
    assert p.adata.X.toarray()[:, 1].tolist() == [2, 30, 1]
