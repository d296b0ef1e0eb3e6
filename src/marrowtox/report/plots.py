"""Report figures (matplotlib/seaborn, Okabe-Ito colour-blind-safe palette).

Each function returns PNG bytes, or None when its inputs were not measured; the page
then shows the reason instead of a blank image.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

OKABE_ITO = [
    "#E69F00",
    "#56B4E9",
    "#009E73",
    "#F0E442",
    "#0072B2",
    "#D55E00",
    "#CC79A7",
    "#000000",
    "#999999",
]
plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False})
GRADE_SHADE = {1: "#F0E442", 2: "#E69F00", 3: "#D55E00", 4: "#CC79A7"}


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=85, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def blood_counts(
    labs: pd.DataFrame | None, grid: pd.DataFrame | None, events: pd.DataFrame | None, early_grade
) -> bytes | None:
    if labs is None or labs.empty or not (labs["analyte"] == "anc").any():
        return None
    fig, axes = plt.subplots(3, 1, figsize=(8, 5.6), sharex=True)
    anc = labs[labs["analyte"] == "anc"]
    ax = axes[0]
    if early_grade is not None and not pd.isna(early_grade) and int(early_grade) > 0:
        ax.axvspan(
            0,
            30,
            color=GRADE_SHADE[int(early_grade)],
            alpha=0.18,
            lw=0,
            label=f"early ICAHT grade {int(early_grade)} (day 0-30)",
        )
    ax.semilogy(
        anc["day"],
        anc["value"].clip(lower=10),
        "o",
        ms=2.5,
        color=OKABE_ITO[4],
        label="ANC measured",
    )
    if grid is not None and not grid.empty:
        g = grid[grid["interpolated"].astype(bool)]
        ax.semilogy(
            g["day"], g["anc"].clip(lower=10), "x", ms=3, color=OKABE_ITO[8], label="interpolated"
        )
    ax.axhline(500, color=OKABE_ITO[5], ls="--", lw=1, label="500/uL")
    ax.axhline(100, color=OKABE_ITO[6], ls=":", lw=1, label="100/uL")
    ax.set_ylabel("ANC (/uL)")
    ax.legend(fontsize=7, ncol=3, loc="lower right", frameon=False)
    for ax, analyte, label, color in (
        (axes[1], "plt", "platelets (10^9/L)", OKABE_ITO[2]),
        (axes[2], "hb", "hemoglobin (g/dL)", OKABE_ITO[0]),
    ):
        sub = labs[labs["analyte"] == analyte]
        ax.plot(sub["day"], sub["value"], "o-", ms=2.5, lw=1, color=color)
        ax.set_ylabel(label)
    if events is not None:
        for _, e in events.iterrows():
            if e["event"] in (
                "infusion",
                "crs",
                "icans",
                "gcsf",
                "transfusion",
                "next_therapy",
                "death",
            ):
                for a in axes:
                    a.axvline(e["day"], color="#999999", lw=0.6, alpha=0.6)
                g = "" if pd.isna(e.get("grade")) else f" G{int(e['grade'])}"
                axes[0].annotate(
                    f"{e['event']}{g}",
                    (e["day"], 1.0),
                    xycoords=("data", "axes fraction"),
                    fontsize=6,
                    rotation=90,
                    va="top",
                    ha="right",
                    color="#555555",
                )
    axes[2].set_xlabel("day relative to infusion")
    return png(fig)


def composition(comps: dict[str, pd.DataFrame]) -> bytes | None:
    if not comps:
        return None
    frame = pd.DataFrame(
        {s: c.set_index("cell_type")["fraction"] * 100 for s, c in comps.items()}
    ).fillna(0)
    frame = frame.loc[frame.sum(axis=1) > 0]
    fig, ax = plt.subplots(figsize=(8, 3.4))
    x = np.arange(len(frame.index))
    w = 0.8 / max(len(frame.columns), 1)
    for i, s in enumerate(frame.columns):
        ax.bar(x + i * w, frame[s], w, label=s, color=OKABE_ITO[i % len(OKABE_ITO)])
    ax.set_xticks(x + w * (len(frame.columns) - 1) / 2, frame.index, rotation=40, ha="right")
    for lbl in ax.get_xticklabels():
        if lbl.get_text() in ("HSC/MPP", "LMPP"):
            lbl.set_fontweight("bold")
            lbl.set_color(OKABE_ITO[5])
    ax.set_ylabel("% of marrow cells")
    ax.set_title("Marrow composition by sample (HSPC in bold)")
    ax.legend(fontsize=7, frameon=False)
    return png(fig)


def umap(obs: pd.DataFrame | None, xy: np.ndarray | None, title: str) -> bytes | None:
    if obs is None or xy is None:
        return None
    fig, ax = plt.subplots(figsize=(5, 4.2))
    ax.scatter(xy[:, 0], xy[:, 1], s=2, color="#BBBBBB", rasterized=True, label="other cells")
    car = (
        obs["car_positive"].to_numpy(dtype=bool)
        if "car_positive" in obs
        else np.zeros(len(obs), bool)
    )
    ax.scatter(
        xy[car, 0], xy[car, 1], s=7, color=OKABE_ITO[5], label=f"CAR T cells (n={int(car.sum())})"
    )
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title)
    ax.legend(fontsize=7, frameon=False, loc="best")
    return png(fig)


def inflammation_heatmap(sig: pd.DataFrame | None) -> bytes | None:
    if sig is None or sig.empty:
        return None
    sub = sig[sig["gene_set"].str.startswith("HALLMARK_") & sig["index_vs_baseline"].notna()]
    if sub.empty:
        return None
    mat = sub.pivot_table(index="cell_type", columns="gene_set", values="index_vs_baseline")
    mat.columns = [c.removeprefix("HALLMARK_").replace("_", " ").lower() for c in mat.columns]
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(mat) + 1.5))
    lim = float(np.nanmax(np.abs(mat.to_numpy()))) or 1.0
    im = ax.imshow(mat.to_numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_yticks(range(len(mat)), mat.index)
    ax.set_xticks(range(len(mat.columns)), mat.columns, rotation=30, ha="right")
    fig.colorbar(im, ax=ax, label="index vs baseline (baseline SDs)")
    ax.set_title("Inflammation by cell type vs baseline marrow")
    return png(fig)


def cart_programs(cart: pd.DataFrame | None) -> bytes | None:
    if cart is None:
        return None
    cols = [c for c in cart.columns if c.startswith("cart_score_")]
    vals = cart.loc[0, cols].astype(float)
    if vals.isna().all():
        return None
    fig, ax = plt.subplots(figsize=(5, 2.6))
    names = [c.removeprefix("cart_score_").replace("_", " ") for c in cols]
    ax.barh(names, vals.to_numpy(), color=OKABE_ITO[4])
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("mean program score of CAR T cells")
    return png(fig)


def vaf_trajectories(clones: pd.DataFrame | None) -> bytes | None:
    if clones is None or clones.empty:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.4))
    for i, (key, g) in enumerate(clones.groupby(["gene", "hgvsp"], dropna=False, sort=True)):
        g = g.sort_values("day")
        c = OKABE_ITO[i % len(OKABE_ITO)]
        lo = (g["vaf"] - g["vaf_ci_low"]).clip(lower=0)
        hi = (g["vaf_ci_high"] - g["vaf"]).clip(lower=0)
        label = f"{key[0]} {key[1]} ({g['status'].iloc[0]})"
        ax.errorbar(
            g["day"],
            100 * g["vaf"],
            yerr=[100 * lo, 100 * hi],
            fmt="o-",
            color=c,
            ms=4,
            lw=1.2,
            capsize=2,
            label=label,
        )
        ax.plot(g["day"], 100 * g["lod_vaf"], "_", color=c, ms=12, alpha=0.6)
    ax.set_xlabel("day relative to infusion")
    ax.set_ylabel("VAF (%)")
    ax.set_title("Clone VAF with 95% CI (dashes: limit of detection)")
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
    return png(fig)


def biomarker_trajectories(labs: pd.DataFrame | None) -> bytes | None:
    if labs is None:
        return None
    names = ["ang2", "ang1", "vwf", "sc5b9", "svcam1", "il6", "ferritin", "crp"]
    sub = labs[labs["analyte"].isin(names)]
    if sub.empty:
        return None
    fig, axes = plt.subplots(2, 4, figsize=(9, 4), sharex=True)
    for ax, n in zip(axes.ravel(), names, strict=True):
        s = sub[sub["analyte"] == n].sort_values("day")
        if s.empty:
            ax.set_title(f"{n}: not measured", fontsize=8)
            continue
        ax.semilogy(s["day"], s["value"], "o-", ms=3, lw=1, color=OKABE_ITO[4])
        ax.set_title(f"{n} ({s['unit'].iloc[0]})", fontsize=8)
    fig.supxlabel("day relative to infusion")
    fig.tight_layout()
    return png(fig)


def scatter(df: pd.DataFrame, x: str, y: str, xlabel: str, ylabel: str, title: str) -> bytes | None:
    d = df[[x, y, "patient"]].dropna()
    if d.empty:
        return None
    fig, ax = plt.subplots(figsize=(4.6, 3.6))
    ax.scatter(d[x].astype(float), d[y].astype(float), s=30, color=OKABE_ITO[4])
    for _, r in d.iterrows():
        ax.annotate(
            str(r["patient"]),
            (float(r[x]), float(r[y])),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    return png(fig)
