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


def png(fig, dpi: int = 85) -> bytes:
    """PNG bytes without metadata chunks (no software string, no titles, no ids)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def composition(comps: dict[str, pd.DataFrame], labels: dict[str, str]) -> bytes | None:
    """Grouped bars, one colour per marrow timepoint; `labels` names the samples."""
    if not comps:
        return None
    frame = pd.DataFrame(
        {labels[s]: c.set_index("cell_type")["fraction"] * 100 for s, c in comps.items()}
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
    ax.set_title("Marrow composition at every timepoint (HSPC in bold)")
    ax.legend(fontsize=7, frameon=False)
    return png(fig)


def celltype_colours(types: list[str]) -> dict[str, str]:
    """One colour per cell type, the same in every panel (types in marrowtox.celltypes
    order). matplotlib's tab20 because a marrow has ~15-20 types and Okabe-Ito only 8;
    HSPC and CAR T, the cells the report is about, are marked with shapes on top, so no
    reading depends on telling two of these colours apart."""
    from marrowtox.celltypes import CELL_TYPES

    order = [t for t in CELL_TYPES if t in types] + sorted(t for t in types if t not in CELL_TYPES)
    cmap = matplotlib.colormaps["tab20"]
    return {t: matplotlib.colors.to_hex(cmap(i % 20)) for i, t in enumerate(order)}


def umaps(panels: list[tuple[str, pd.DataFrame, np.ndarray]]) -> bytes | None:
    """One UMAP per marrow timepoint (its own embedding), cells coloured by cell type,
    HSPC (HSC/MPP, LMPP) ringed and CAR T cells marked with a cross; one legend."""
    from marrowtox.celltypes import HSPC_TYPES

    panels = [p for p in panels if p[1] is not None and p[2] is not None]
    if not panels:
        return None
    types_of = [
        obs["cell_type"].astype(str).to_numpy() if "cell_type" in obs else np.full(len(obs), "")
        for _, obs, _ in panels
    ]
    colours = celltype_colours(sorted({t for ts in types_of for t in ts if t}))
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels) + 2.2, 3.6), squeeze=False)
    n_hspc = n_car = 0
    for ax, (title, obs, xy), types in zip(axes[0], panels, types_of, strict=True):
        n = len(obs)
        car = (
            obs["car_positive"].to_numpy(dtype=bool) if "car_positive" in obs else np.zeros(n, bool)
        )
        hspc = np.isin(types, list(HSPC_TYPES))
        n_hspc, n_car = n_hspc + int(hspc.sum()), n_car + int(car.sum())
        ax.scatter(
            xy[:, 0],
            xy[:, 1],
            s=1.5,
            c=[colours.get(t, "#CCCCCC") for t in types],
            rasterized=True,
        )
        ax.scatter(xy[hspc, 0], xy[hspc, 1], s=14, facecolors="none", edgecolors="black", lw=0.6)
        ax.scatter(xy[car, 0], xy[car, 1], s=12, marker="x", color="black", lw=0.8)
        # the two marks can land on neighbouring clusters: name each at its cells' median
        for mask, label in ((hspc, "HSPC"), (car, "CAR T")):
            if mask.any():
                ax.annotate(
                    label,
                    tuple(np.median(xy[mask], axis=0)),
                    xytext=(6, 6),
                    textcoords="offset points",
                    fontsize=7,
                    fontweight="bold",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
                )
        ax.set_xticks([])
        ax.set_yticks([])
        ax.spines[["left", "bottom"]].set_visible(False)
        ax.set_title(
            f"{title}\n{n} cells; HSPC {int(hspc.sum())}, CAR T {int(car.sum())}", fontsize=8
        )
    handles = [
        matplotlib.lines.Line2D([], [], ls="", marker="o", ms=4, color=c, label=t)
        for t, c in colours.items()
    ]
    handles += [
        matplotlib.lines.Line2D(
            [], [], ls="", marker="o", ms=6, mfc="none", mec="black", label="HSPC (ringed)"
        ),
        matplotlib.lines.Line2D(
            [], [], ls="", marker="x", ms=6, color="black", label="CAR T (cross)"
        ),
    ]
    fig.legend(
        handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=6.5, frameon=False
    )
    fig.tight_layout()
    return png(fig)


def hallmark_index_limit(sigs: list[pd.DataFrame | None]) -> float | None:
    """Largest |Hallmark index vs baseline| over signature tables (None if there is none):
    the half-range of the heatmap colour scale, taken over the whole cohort so that the
    same colour means the same index in every patient's report."""
    vals = [
        s.loc[s["gene_set"].str.startswith("HALLMARK_"), "index_vs_baseline"].astype(float)
        for s in sigs
        if s is not None and not s.empty
    ]
    v = pd.concat(vals).abs().dropna() if vals else pd.Series(dtype=float)
    return float(v.max()) if not v.empty and v.max() > 0 else None


#: Rows of the signature tables that pool other rows (marrowtox.signatures.aggregate):
#: drawn after the cell types and labelled as pools, so "HSPC" is not read as a type
#: beside "HSC/MPP".
AGGREGATE_LABELS = {
    "HSPC": "all HSPC (pooled)",
    "CAR T": "CAR T (of T cells)",
    "non-CAR T": "non-CAR T (of T cells)",
}


def heatmap_rows(panels: list[tuple[pd.DataFrame, pd.Series]]) -> list[str]:
    """Row order of the inflammation heatmap: cell types, then the pooled rows.

    The pooled HSPC row is left out when it holds exactly the cells of one HSPC type in
    every panel (e.g. only HSC/MPP were found): it would repeat that row.
    """
    from marrowtox.celltypes import HSPC_TYPES

    present = {ct for m, _ in panels for ct in m.index}
    base = sorted(present - set(AGGREGATE_LABELS))
    pooled = [a for a in AGGREGATE_LABELS if a in present]
    if "HSPC" in pooled:
        members = [t for t in HSPC_TYPES if t in present]

        def same(n: pd.Series) -> bool:
            counts = [int(n.get(t, 0)) for t in members]
            return int(n.get("HSPC", 0)) in counts and sum(c > 0 for c in counts) <= 1

        if len(members) == 1 and all(same(n) for _, n in panels):
            pooled.remove("HSPC")
    return base + [AGGREGATE_LABELS[a] for a in pooled]


def inflammation_heatmap(
    sigs: dict[str, pd.DataFrame], labels: dict[str, str], lim: float | None = None
) -> bytes | None:
    """Hallmark inflammation index vs baseline, one panel per marrow timepoint.

    `lim`: half-range of the colour scale (the cohort-wide one of hallmark_index_limit);
    without it the patient's own largest |index| is used and the legend says so.

    Each row ends with the number of cells of that type in that sample: an index from
    12 cells is not the same evidence as one from 400; a type without an index (e.g.
    CAR T cells, absent from the baseline) stays as a grey row with its count. The
    patient's own baseline marrow scored against itself is 0 by construction and is
    left out.
    """
    mats = []
    for s, sig in sigs.items():
        if sig is None or sig.empty:
            continue
        sub = sig[sig["gene_set"].str.startswith("HALLMARK_")]
        idx = sub["index_vs_baseline"].astype(float)
        if idx.isna().all() or np.allclose(idx.dropna(), 0):
            continue
        mat = sub.pivot_table(
            index="cell_type", columns="gene_set", values="index_vs_baseline", dropna=False
        )
        n = sub.groupby("cell_type")["n_cells"].max()
        mat.columns = [c.removeprefix("HALLMARK_").replace("_", " ").lower() for c in mat.columns]
        mats.append((labels[s], mat, n))
    if not mats:
        return None
    types = heatmap_rows([(m, n) for _, m, n in mats])
    mats = [
        (t, m.rename(index=AGGREGATE_LABELS), n.rename(index=AGGREGATE_LABELS)) for t, m, n in mats
    ]
    cols = sorted({c for _, m, _ in mats for c in m.columns})
    cohort = lim is not None
    if lim is None:
        lim = max(float(np.nanmax(np.abs(m.to_numpy()))) for _, m, _ in mats) or 1.0
    fig, axes = plt.subplots(
        1,
        len(mats),
        figsize=(2.9 * len(mats) + 2.6, 0.28 * len(types) + 2.2),
        squeeze=False,
        sharey=True,
        gridspec_kw={"wspace": 0.5},
    )
    cmap = matplotlib.colormaps["RdBu_r"].with_extremes(bad="#E4E4E4")
    im = None
    for ax, (title, mat, n) in zip(axes[0], mats, strict=True):
        m = mat.reindex(index=types, columns=cols)
        im = ax.imshow(m.to_numpy(), cmap=cmap, vmin=-lim, vmax=lim, aspect="auto")
        ax.set_yticks(range(len(types)), types, fontsize=7)
        ax.set_xticks(range(len(cols)), cols, rotation=35, ha="right", fontsize=7)
        for i, ct in enumerate(types):
            # grey row = no index (too few cells here or none in the baseline): say so
            none = ct not in n.index or bool(m.loc[ct].isna().all())
            text = f"n={int(n[ct])}" if ct in n.index else "n=0"
            ax.annotate(
                text + (" (no index)" if none else ""),
                (1.0, i),
                xycoords=("axes fraction", "data"),
                xytext=(3, 0),
                textcoords="offset points",
                fontsize=6,
                va="center",
                color="#444444",
            )
        ax.set_title(title, fontsize=8)
    fig.colorbar(
        im,
        ax=list(axes[0]),
        label=(
            f"index vs baseline (baseline SDs);\none scale for the cohort: +/-{lim:.1f}"
            if cohort
            else f"index vs baseline (baseline SDs);\nthis patient's scale: +/-{lim:.1f}"
        ),
        shrink=0.8,
        pad=0.16 / len(mats) ** 0.5,
    )
    return png(fig)


def cart_programs(carts: list[tuple[str, pd.DataFrame]]) -> bytes | None:
    """Mean program score of the CAR T cells, one bar group per timepoint with CAR T."""
    series = []
    for label, cart in carts:
        if cart is None:
            continue
        cols = [c for c in cart.columns if c.startswith("cart_score_")]
        vals = cart.loc[0, cols].astype(float)
        if vals.isna().all():
            continue
        n = cart.loc[0, "n_car_t"]
        series.append((f"{label} (n={int(n)} CAR T)", cols, vals.to_numpy()))
    if not series:
        return None
    fig, ax = plt.subplots(figsize=(6, 1.0 + 0.3 * len(series[0][1]) * len(series) ** 0.5))
    names = [c.removeprefix("cart_score_").replace("_", " ") for c in series[0][1]]
    y = np.arange(len(names))
    h = 0.8 / len(series)
    for i, (label, _, vals) in enumerate(series):
        ax.barh(y + i * h, vals, h, color=OKABE_ITO[[4, 5, 2, 6][i % 4]], label=label)
    ax.set_yticks(y + h * (len(series) - 1) / 2, names)
    ax.invert_yaxis()
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("mean program score of CAR T cells")
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return png(fig)


#: A biomarker panel gets a log axis only when its values span at least this ratio (one
#: decade); over a narrower range a log axis makes a 5% change (CRP 0.48 -> 0.51 mg/dL)
#: look like a swing, so the axis is linear.
LOG_AXIS_MIN_RATIO = 10.0


def axis_scale(values: pd.Series) -> str:
    """'log' when the positive values span >= LOG_AXIS_MIN_RATIO, else 'linear'."""
    v = pd.to_numeric(values, errors="coerce").dropna()
    v = v[v > 0]
    if len(v) < 2 or len(v) != len(values.dropna()):
        return "linear"  # a zero or a single value: a log axis cannot show it honestly
    return "log" if float(v.max()) / float(v.min()) >= LOG_AXIS_MIN_RATIO else "linear"


def fold_change_from_baseline(
    days: pd.Series, values: pd.Series
) -> tuple[float, float, str] | None:
    """(baseline, fold change, "peak" or "nadir"): the post-infusion value furthest from
    the baseline (in fold terms: Ang-1 falls where Ang-2 rises), with the baseline the
    last value on or before day 0; None without a baseline or a later value."""
    d = pd.to_numeric(days, errors="coerce").to_numpy()
    v = pd.to_numeric(values, errors="coerce").to_numpy()
    ok = ~np.isnan(v)
    pre, post = v[(d <= 0) & ok], v[(d > 0) & ok]
    if len(pre) == 0 or len(post) == 0 or pre[-1] <= 0:
        return None
    base = float(pre[-1])
    hi, lo = float(post.max()) / base, float(post.min()) / base
    if lo > 0 and 1 / lo > hi:
        return base, lo, "nadir"
    return base, hi, "peak"


#: Biomarker panels of the patient report, in drawing order (labs analyte names).
BIOMARKER_PANELS = ("ang2", "ang1", "vwf", "sc5b9", "svcam1", "il6", "ferritin", "crp")


def unmeasured_biomarkers(labs: pd.DataFrame | None) -> list[str]:
    """Biomarker panels without a numeric value in `labs`: listed on the report's one
    "not measured" line, not drawn as empty panels (issue 25 item 7)."""
    if labs is None:
        return list(BIOMARKER_PANELS)
    numeric = labs[pd.to_numeric(labs["value"], errors="coerce").notna()]
    have = set(numeric["analyte"].astype(str))
    return [n for n in BIOMARKER_PANELS if n not in have]


def biomarker_trajectories(
    labs: pd.DataFrame | None, xlim: tuple[float, float] | None = None
) -> bytes | None:
    """Endothelial and inflammatory biomarkers on the timeline's day axis (`xlim`), each on
    a linear or log axis chosen by its range, with the baseline drawn and the peak's fold
    change from it in the title."""
    if labs is None:
        return None
    missing = set(unmeasured_biomarkers(labs))
    names = [n for n in BIOMARKER_PANELS if n not in missing]
    if not names:
        return None
    sub = labs[labs["analyte"].isin(names)]
    ncol = min(4, len(names))
    nrow = -(-len(names) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(9, 2 * nrow), sharex=True, squeeze=False)
    for ax in axes.ravel()[len(names) :]:
        ax.set_visible(False)
    for ax, n in zip(axes.ravel(), names, strict=False):
        s = sub[sub["analyte"] == n].sort_values("day")
        s = s[pd.to_numeric(s["value"], errors="coerce").notna()]
        ax.plot(s["day"], s["value"], "o-", ms=3, lw=1, color=OKABE_ITO[4])
        if axis_scale(s["value"]) == "log":
            ax.set_yscale("log")
            # plain-text log tick labels: the default 10^x labels go through mathtext,
            # which took most of a report's rendering time
            ax.yaxis.set_major_formatter(matplotlib.ticker.LogFormatter())
            ax.yaxis.set_minor_formatter(
                matplotlib.ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(1.2, 0.6))
            )
        fc = fold_change_from_baseline(s["day"], s["value"])
        title = f"{n} ({s['unit'].iloc[0]})"
        if fc is not None:
            ax.axhline(fc[0], color="0.55", lw=0.8, ls="--", zorder=0)
            title += f"\n{fc[2]} x{fc[1]:.2g} vs baseline"
        else:
            title += "\nno baseline"
        ax.set_title(title, fontsize=7.5)
    if xlim is not None:
        axes.ravel()[0].set_xlim(*xlim)
    fig.supxlabel("day relative to infusion (same axis as the timeline)")
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
