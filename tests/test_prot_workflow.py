"""The protein modality in the workflow run on the demo (issue 20): demo samples of
P04 and P05 carry Antibody Capture features; the others have none and run as before."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

PROTEIN_SAMPLES = ["P04_BL_sc", "P04_D28_sc", "P05_BL_sc", "P05_D28_sc", "P05_D90_sc"]
PANEL = ("CD69", "CD25", "HLA_DR", "CD38", "CD279", "CD366", "CD223", "TIGIT")


def check_protein_results(results: Path, demo: Path) -> dict[str, float]:
    """The assertions, callable on any results folder of a demo run; returns figures."""
    from sklearn.metrics import f1_score

    truth = pd.read_csv(demo / "truth" / "cells.tsv", sep="\t", dtype={"barcode": str})
    figures = {}
    for s in PROTEIN_SAMPLES:
        assert (results / "singlecell" / f"{s}.h5mu").is_file(), s
        lab = pd.read_csv(
            results / "singlecell" / "protein" / f"{s}.labels.tsv", sep="\t", dtype={"barcode": str}
        ).set_index("barcode")
        t = truth[(truth["sample"] == s) & ~truth["doublet"]].set_index("barcode")
        t = t.loc[t.index.intersection(lab.index), "cell_type"]
        p = lab.loc[t.index, "protein_label"]
        f1 = f1_score(t, p, average="macro", labels=sorted(set(t)))
        row = pd.read_csv(results / "singlecell" / "protein" / f"{s}.agreement.tsv", sep="\t")
        row = row.iloc[0]
        figures[s] = f1
        print(
            f"{s}: protein macro-F1 vs truth {f1:.3f}; RNA/protein agreement "
            f"{row['agreement_type']:.3f} (coarse {row['agreement_coarse']:.3f}) on "
            f"{row['n_both_called']} cells"
        )
        assert f1 >= 0.90, s
        assert row["agreement_coarse"] >= 0.90, s
        assert row["n_shared_barcodes"] == row["n_rna_cells"], s
        assert row["isotype_controls"].count("isotype") == 3
    # the CAR T protein panel is in results/cart/<sample>.tsv (issue 20, item 4)
    cart = pd.read_csv(results / "cart" / "P05_D28_sc.tsv", sep="\t").iloc[0]
    assert cart["prot_n_car_t"] > 20
    assert cart["prot_n_car_t"] <= cart["n_car_t"]  # the same RNA T cells and CAR calls
    # P05's runs ship their raw matrix (sample sheet raw_matrix): DSB against its
    # stained empty droplets (the unstained, zero-count barcodes are not background);
    # P04 has none: CLR
    import re

    from marrowtox.demo import adt as demo_adt

    m = re.match(r"DSB \(muon\.prot\.pp\.dsb, (\d+) empty droplets", cart["prot_normalisation"])
    assert m, cart["prot_normalisation"]
    stained = demo_adt.N_EMPTY * (1 - demo_adt.ZERO_SHARE)
    assert 0.9 * stained <= int(m.group(1)) <= 1.1 * stained
    p04 = pd.read_csv(results / "cart" / "P04_D28_sc.tsv", sep="\t").iloc[0]
    assert p04["prot_normalisation"].startswith("CLR")
    agr = pd.read_csv(results / "singlecell" / "protein" / "P05_D28_sc.agreement.tsv", sep="\t")
    assert agr["normalisation"].iloc[0] == cart["prot_normalisation"]  # same values
    for prot in PANEL:
        assert cart[f"prot_{prot}_diff"] > 0 and cart[f"prot_{prot}_p"] < 1e-3, prot
    base = pd.read_csv(results / "cart" / "P05_BL_sc.tsv", sep="\t").iloc[0]
    assert base["prot_n_car_t"] == 0 and pd.isna(base["prot_CD69_car"])  # missing, not 0
    # samples without proteins: as before, no protein output; the panel columns of
    # their cart table are present and empty
    for s in ("P01_D28_sc", "P02_D28_sc", "P06_D28_sc"):
        row = pd.read_csv(results / "cart" / f"{s}.tsv", sep="\t").iloc[0]
        assert row["prot_panel_note"] == "no protein data"
        assert all(pd.isna(row[f"prot_{p}_{k}"]) for p in PANEL for k in ("car", "diff", "p"))
        assert pd.isna(row["prot_n_car_t"])
        assert not (results / "singlecell" / f"{s}.h5mu").exists()
        assert not (results / "cart" / f"{s}.protein.tsv").exists()
    # the patient report's surface-protein section: P05 (proteins) yes, P01 (none) no
    p05 = (results / "reports" / "P05.html").read_text()
    sec = p05[p05.index('<section id="protein">') :]
    sec = sec[: sec.index("</section>")]
    assert sec.count('src="data:image/png;base64,') == 3  # BL, D28, D90 heatmaps
    d28 = pd.read_csv(results / "singlecell" / "protein" / "P05_D28_sc.agreement.tsv", sep="\t")
    assert f"{100 * d28['agreement_type'].iloc[0]:.1f}%" in sec
    assert f"{cart['prot_CD69_diff']:+.2f}" in sec
    assert 'id="protein"' not in (results / "reports" / "P01.html").read_text()
    return figures


@pytest.mark.workflow
def test_demo_protein_outputs(demo_run) -> None:
    check_protein_results(demo_run["results"], demo_run["demo"])
