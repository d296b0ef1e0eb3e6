"""Differential abundance (propeller) and paired pseudobulk DE (issue 28, items 1-2).

Unit level: the transform is speckle's getTransformedProps; without moderation the
per-cell-type test is the ordinary paired / two-sample t-test; limma's fitFDist
recovers a known prior; too few samples or cells are refused in words. Demo level
(the one shared workflow run): the planted HSC/MPP loss in high-toxicity marrows, the
planted CAR T genes and program, and the report sections.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from marrowtox.cohort.composition_da import (
    DAInputs,
    DASettings,
    group_comparison,
    paired_comparison,
)
from marrowtox.cohort.propeller import (
    LinearTest,
    fit_f_dist,
    linear_test,
    transform_proportions,
    trigamma_inverse,
)

SETTINGS = DASettings(
    min_samples=3, min_cells=1, post_days=(21, 35), icaht_high_grade=3,
    transform="logit", moderate=False, conf_level=0.95,
)  # fmt: skip


def test_logit_and_asin_are_speckles_transform() -> None:
    counts = pd.DataFrame({"A": [10, 0], "B": [30, 5], "C": [60, 95]}, index=["s1", "s2"])
    logit = transform_proportions(counts, "logit")
    # speckle: pseudo.counts <- tab + 0.5; props.pseudo <- pseudo/rowSums; log(p/(1-p))
    p = (10 + 0.5) / (100 + 1.5)
    assert logit.loc["s1", "A"] == pytest.approx(np.log(p / (1 - p)))
    p0 = 0.5 / (100 + 1.5)
    assert logit.loc["s2", "A"] == pytest.approx(np.log(p0 / (1 - p0)))
    asin = transform_proportions(counts, "asin")
    assert asin.loc["s2", "C"] == pytest.approx(np.arcsin(np.sqrt(0.95)))


def test_trigamma_inverse_and_fit_f_dist_recover_a_known_prior() -> None:
    for y in (0.3, 2.0, 15.0):
        assert trigamma_inverse(float(special.polygamma(1, y))) == pytest.approx(y, rel=1e-6)
    r = np.random.default_rng(3)
    d, d0, s0 = 4.0, 10.0, 0.5
    sigma2 = d0 * s0 / r.chisquare(d0, 20000)  # scaled inverse chi-square prior
    s2 = sigma2 * r.chisquare(d, sigma2.size) / d
    est_d0, est_s0 = fit_f_dist(s2, np.full(s2.size, d))
    assert est_d0 == pytest.approx(d0, rel=0.2)
    assert est_s0 == pytest.approx(s0, rel=0.1)
    # no spread beyond sampling: infinite prior df, the pooled variance
    flat = np.full(50, 0.2) * np.random.default_rng(1).chisquare(1000, 50) / 1000
    assert np.isinf(fit_f_dist(flat, np.full(50, 1000.0))[0])


def _cohort(n: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    r = np.random.default_rng(seed)
    base = np.array([0.05, 0.3, 0.25, 0.4])
    rows, ids = [], []
    for i in range(n):
        for tp, shift in (("BL", 1.0), ("D28", 0.5)):
            p = base * np.exp(r.normal(0, 0.15, 4))
            p[0] *= shift
            rows.append(r.multinomial(2000, p / p.sum()))
            ids.append((f"P{i}", tp, f"P{i}_{tp}"))
    counts = pd.DataFrame(rows, columns=["HSC/MPP", "B", "C", "D"], index=[s for *_, s in ids])
    pairs = pd.DataFrame({"baseline": [s for p, t, s in ids if t == "BL"], "post": [s for p, t, s in ids if t == "D28"]},
                         index=[p for p, t, s in ids if t == "BL"])  # fmt: skip
    return counts, pairs


def test_unmoderated_tests_are_the_ordinary_t_tests() -> None:
    counts, pairs = _cohort(6)
    res = paired_comparison(counts, pairs, SETTINGS).set_index("cell_type")
    y = transform_proportions(counts, "logit")
    for ct in counts.columns:
        ref = stats.ttest_rel(
            y.loc[pairs["post"], ct].to_numpy(), y.loc[pairs["baseline"], ct].to_numpy()
        )
        assert res.loc[ct, "p_value"] == pytest.approx(ref.pvalue, rel=1e-6)
        assert res.loc[ct, "effect"] == pytest.approx(
            (y.loc[pairs["post"], ct].to_numpy() - y.loc[pairs["baseline"], ct].to_numpy()).mean()
        )
    assert res.loc["HSC/MPP", "ci_high"] < 0  # the halved fraction
    groups = pd.Series(
        ["low", "low", "low", "high", "high", "high"], index=pairs["post"].to_numpy()
    )
    res = group_comparison("icaht_early", "", counts, groups, SETTINGS).set_index("cell_type")
    for ct in counts.columns:
        ref = stats.ttest_ind(
            y.loc[groups.index[groups == "high"], ct], y.loc[groups.index[groups == "low"], ct]
        )
        assert res.loc[ct, "p_value"] == pytest.approx(ref.pvalue, rel=1e-6)


def test_moderation_shrinks_towards_the_common_variance() -> None:
    counts, pairs = _cohort(6, seed=2)
    y = transform_proportions(counts.loc[list(pairs["baseline"]) + list(pairs["post"])], "logit")
    design = pd.DataFrame({"intercept": 1.0, "effect": [0.0] * 6 + [1.0] * 6}, index=y.index)
    plain = linear_test(LinearTest(y, design, "effect", 0.95, moderate=False))
    mod = linear_test(LinearTest(y, design, "effect", 0.95, moderate=True))
    assert (mod["df"] >= plain["df"]).all()
    assert np.allclose(mod["effect"], plain["effect"])
    assert mod["se"].std() <= plain["se"].std() + 1e-12


def test_too_few_samples_says_so_without_p() -> None:
    counts, pairs = _cohort(2)
    res = paired_comparison(counts, pairs, SETTINGS)
    assert res["p_value"].isna().all() and res["fdr"].isna().all()
    assert res["status"].str.contains("too few samples: 2 and 2 pairs").all()
    assert res["status"].str.contains("minimum 3").all()


def test_sorted_or_blood_samples_never_enter(tmp_path) -> None:
    from marrowtox.cohort.composition_da import composition_da

    counts, pairs = _cohort(3)
    files = []
    for s, row in counts.iterrows():
        f = tmp_path / f"{s}.composition.tsv"
        pd.DataFrame({"sample": s, "cell_type": row.index, "n_cells": row.to_numpy()}).to_csv(
            f, sep="\t", index=False
        )
        files.append(f)
    sheet = pd.DataFrame({
        "sample": counts.index, "patient": [s.split("_")[0] for s in counts.index], "assay": "scrna",
        "day": [-7 if s.endswith("BL") else 28 for s in counts.index],
        "specimen": ["blood" if s == "P0_D28" else "marrow" for s in counts.index],
    })  # fmt: skip
    inp = DAInputs(files, sheet, None, SETTINGS)
    out = composition_da(inp)
    paired = out[out["comparison"] == "post_vs_baseline"]
    assert (paired["n_a"] == 2).all()  # P0's post sample is blood: 2 pairs left
    assert paired["status"].str.startswith("too few samples").all()
    assert out[out["comparison"] == "icaht_early"]["status"].str.startswith("too few samples").all()
    assert any("no clinical scores" in n for n in inp.notes)


def test_pseudobulk_too_few_cells_is_refused_in_words() -> None:
    import anndata as ad
    from scipy import sparse

    from marrowtox.singlecell.pseudobulk_de import DESettings, PairedDE, paired_de

    r = np.random.default_rng(0)
    n = 60
    a = ad.AnnData(sparse.csr_matrix(r.poisson(2, (n, 30)).astype(np.float32)))
    a.var_names = [f"G{i}" for i in range(30)]
    a.layers["counts"] = a.X.copy()
    # sample S1: 25 nonCAR, 5 CAR; S2: 25 nonCAR, 5 CAR -> every CAR profile < 10 cells
    a.obs["pair"] = ["S1"] * 30 + ["S2"] * 30
    a.obs["group"] = (["nonCAR"] * 25 + ["CAR"] * 5) * 2
    notes: list[str] = []
    s = DESettings(
        min_cells=10, min_pairs=2, min_count=1, min_total_count=1, fdr=0.05, program_min_genes=2
    )
    de, programs = paired_de(
        PairedDE(a, "CAR T vs non-CAR T", "CAR", "nonCAR", "sample", s, {"P": ["G1", "G2"]}, notes)
    )
    assert len(de) == 1 and pd.isna(de["p_value"].iloc[0])
    assert (
        "too few samples: 0 with >= 10 cells in both CAR and nonCAR (minimum 2)"
        in de["status"].iloc[0]
    )
    assert programs["activity"].isna().all() and programs["status"].str.startswith("too few").all()
    assert sum("5 cells < minimum 10" in x for x in notes) == 2


def test_car_de_without_a_post_infusion_sample_says_so(tmp_path) -> None:
    """A cohort with no post-infusion marrow (e.g. pre-infusion marrow and a product
    only): the rule gets no object, and the tables say why instead of failing."""
    from marrowtox.cli import main

    g = Path(__file__).resolve().parents[1] / "resources" / "genesets"
    out, programs = tmp_path / "de.tsv", tmp_path / "programs.tsv"
    rc = main(["car-de", "--h5ad", "--programs", str(g / "tcell_programs.gmt"),
               "--hallmark", str(g / "hallmark_inflammation.v7.5.1.gmt"),
               "--out", str(out), "--out-programs", str(programs)])  # fmt: skip
    assert rc == 0
    de = pd.read_csv(out, sep="\t")
    assert len(de) == 1 and pd.isna(de["p_value"].iloc[0])
    assert de["status"].iloc[0] == "not tested: no post-infusion marrow sample with CAR calls"
    prog = pd.read_csv(programs, sep="\t")
    assert prog["activity"].isna().all() and prog["status"].str.startswith("not tested").all()


# ---- the shared demo workflow run ----


@pytest.fixture(scope="module")
def demo_tables(demo_run):
    res, demo = demo_run["results"], demo_run["demo"]
    read = lambda p: pd.read_csv(p, sep="\t")  # noqa: E731
    return {
        "da": read(res / "cohort" / "composition_da.tsv"),
        "car": read(res / "cart" / "de_car_vs_noncar.tsv"),
        "car_programs": read(res / "cart" / "programs_car_vs_noncar.tsv"),
        "hspc": read(res / "singlecell" / "de_hspc_post_vs_baseline.tsv"),
        "hspc_programs": read(res / "singlecell" / "programs_hspc_post_vs_baseline.tsv"),
        "truth_genes": read(demo / "truth" / "cart_de_genes.tsv"),
        "report": (res / "reports" / "cohort.html").read_text(encoding="utf-8"),
    }


def test_demo_hspc_loss_in_high_toxicity_marrow_found(demo_tables) -> None:
    da = demo_tables["da"].set_index(["comparison", "cell_type"])
    for comp in ("icaht_early", "car_hematotox", "post_vs_baseline"):
        row = da.loc[(comp, "HSC/MPP")]
        assert row["status"] == "tested", comp
        assert row["effect"] < 0 and row["ci_high"] < 0, (comp, row["effect"], row["ci_high"])
        assert row["fdr"] < 0.05, comp
    assert da.loc[("icaht_early", "HSC/MPP"), "n_a"] >= 3


def test_demo_planted_car_t_genes_and_program(demo_tables) -> None:
    de, truth = demo_tables["car"], demo_tables["truth_genes"]
    planted = set(truth["gene"])
    assert len(planted) >= 30
    sig = set(de.loc[de["significant"].astype(bool), "gene"])
    recovered = len(planted & sig) / len(planted)
    false_share = len(sig - planted) / max(len(sig), 1)
    assert recovered >= 0.80, recovered
    assert false_share <= 0.10, (false_share, sorted(sig - planted)[:20])
    programs = demo_tables["car_programs"]
    assert programs.iloc[0]["program"] == truth["program"].iloc[0]
    assert programs.iloc[0]["rank"] == 1 and programs.iloc[0]["fdr"] < 0.05


def test_demo_hspc_inflammation_after_infusion(demo_tables) -> None:
    # planted: the marrow's IFN response in HSPC after infusion (marrowtox.demo.scrna)
    programs = demo_tables["hspc_programs"]
    top = programs.iloc[0]
    assert "INTERFERON" in top["program"] and top["activity"] > 0 and top["fdr"] < 0.05


def test_demo_report_shows_the_sections(demo_tables) -> None:
    html = demo_tables["report"]
    for key in ("id='composition-da'", "id='de-car'", "id='de-hspc'", "volcano plot", "program activity bar chart",
                "effect and 95% interval per cell type"):  # fmt: skip
        assert key in html, key


def test_cli_names_a_missing_file_and_bad_window(tmp_path, capsys) -> None:
    from marrowtox.cli import main

    sheet = tmp_path / "samples.tsv"
    sheet.write_text("patient\tsample\tassay\tday\tpath\nP1\tS1\tscrna\t28\tx.h5\n")
    missing = tmp_path / "S1.composition.tsv"
    rc = main(
        [
            "composition-da",
            "--compositions",
            str(missing),
            "--samples",
            str(sheet),
            "--out",
            str(tmp_path / "o.tsv"),
        ]
    )
    assert rc == 2 and str(missing) in capsys.readouterr().err
    rc = main(["composition-da", "--compositions", str(missing), "--samples", str(sheet), "--post-days", "35", "21",
               "--out", str(tmp_path / "o.tsv")])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "cohort.composition_da.post_days" in err and "first <= last" in err


def test_report_section_draws_or_says_why(tmp_path) -> None:
    from marrowtox.report.abundance_section import section
    from marrowtox.singlecell.pseudobulk_de import refusal

    counts, pairs = _cohort(4)
    da = paired_comparison(counts, pairs, SETTINGS)
    (tmp_path / "cohort").mkdir()
    (tmp_path / "cart").mkdir()
    da.to_csv(tmp_path / "cohort" / "composition_da.tsv", sep="\t", index=False)
    why = "too few samples: 1 with >= 10 cells in both CAR and nonCAR (minimum 3); not tested"
    refusal("CAR T vs non-CAR T <b>", why).to_csv(
        tmp_path / "cart" / "de_car_vs_noncar.tsv", sep="\t", index=False
    )
    html = section(tmp_path)
    assert "effect and 95% interval per cell type" in html and "data:image/png;base64," in html
    assert "too few samples: 1 with &gt;= 10 cells" in html  # the reason, escaped
    assert "HSPC after vs before infusion" in html and "Not computed" in html
