"""File-level step of the protein branch (what `sc_protein` and `marrowtox sc-protein` run)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from marrowtox.atomic import atomic_path, write_tsv
from marrowtox.celltypes import UNKNOWN
from marrowtox.errors import InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProteinOutputs:
    h5mu: str
    labels: str  # per cell: RNA, protein and combined labels, protein scores
    agreement: str  # one row per sample
    by_celltype: str  # mean normalised protein per combined cell type
    heatmap: str | None = None  # protein x cell type heatmap (.png)


def load_inputs(rna_path: str, adt_path: str, section: dict[str, Any]):  # -> Proteins | None
    from marrowtox.prot.io import sample_proteins
    from marrowtox.settings import resolve

    return sample_proteins(
        rna_path,
        adt_path,
        obsm_key=section["obsm_key"],
        aliases=resolve(section["aliases"]),
        isotypes=section["isotypes"],
        refuse_normalised=section["refuse_normalised"],
    )


def normalised_proteins(
    rna_cells: pd.Index,
    sample: str,
    raw_path: str,
    adt_path: str,
    section: dict[str, Any],
    empty_droplets: str | None = None,
    seed: int = 0,
):  # -> tuple[ad.AnnData, Proteins]
    """The sample's proteins for its RNA cells, normalised (method in
    uns['protein_normalisation'], raw counts in layers['counts']), and how they were
    read. Shared by `sc_protein` and `cart_call` (the CAR T protein panel), so both see
    the same values. Refuses protein data sharing no barcode with the RNA cells."""
    from marrowtox.prot import normalise
    from marrowtox.settings import section_defaults

    section = {**section_defaults("singlecell", "protein"), **section}
    prot = load_inputs(raw_path, adt_path, section)
    if prot is None:
        raise InputError(
            "no protein data: no Antibody Capture feature, adt file or obsm "
            f"['{section['obsm_key']}']",
            file=adt_path or raw_path,
            expected="a sample with antibody-derived tags (samples.tsv column adt)",
        )
    shared = rna_cells[rna_cells.isin(prot.adata.obs_names)]
    if len(shared) == 0:
        raise InputError(
            f"no barcode of the {prot.adata.n_obs} protein barcodes is among the "
            f"{len(rna_cells)} RNA cells of {sample} (e.g. {prot.adata.obs_names[0]} vs "
            f"{rna_cells[0]})",
            file=prot.path,
            expected="protein and RNA matrices of the same cells (same barcodes)",
        )
    p = prot.adata[shared].copy()
    p.layers["counts"] = p.X.copy()
    if prot.normalised:
        method = f"as given ({prot.source}: non-integer values taken as already normalised)"
    elif empty_droplets:
        e = load_inputs(empty_droplets, "", section)
        if e is None:
            raise InputError("no protein features in the empty-droplet matrix", file=empty_droplets)
        method = normalise.dsb(
            p,
            e.adata,
            prot.isotypes,
            section["dsb_pseudocount"],
            seed,
            tuple(section["dsb_empty_log10_counts"]),
            section["dsb_min_empty"],
        )
    else:
        method = normalise.clr(p, section["clr_margin"])
    p.uns["protein_normalisation"] = method
    p.uns["protein_source"] = prot.source
    p.uns["isotype_controls"] = list(prot.isotypes)
    log.info(
        "%s: %d of %d RNA cells have protein data; %s", sample, len(shared), len(rna_cells), method
    )
    return p, prot


@dataclass(frozen=True)
class ProteinInputs:
    """One sample's inputs to the protein step.

    rna_h5ad: the sample's final AnnData (cell_type, its route and confidence, and
    car_positive when CAR calling ran); raw_path/adt_path: the sample sheet's files;
    annotation: the RNA annotation table (which RNA labels were assessable);
    empty_droplets: a raw matrix with empty droplets (DSB normalisation)."""

    rna_h5ad: str
    sample: str
    raw_path: str
    adt_path: str
    section: dict[str, Any]
    annotation: str | None = None
    empty_droplets: str | None = None
    seed: int = 0


def _rna_labels(rna: ad.AnnData) -> pd.DataFrame:
    """The RNA route's label, route and confidence per cell (unknown where not annotated)."""
    obs = rna.obs
    return pd.DataFrame(
        {
            "cell_type": obs["cell_type"].astype(str) if "cell_type" in obs else UNKNOWN,
            "cell_type_route": (
                obs["cell_type_route"].astype(str) if "cell_type_route" in obs else "none"
            ),
            "cell_type_confidence": (
                obs["cell_type_confidence"].astype(float)
                if "cell_type_confidence" in obs
                else np.nan
            ),
        },
        index=rna.obs_names,
    )


def _unassessable_rna_types(annotation: str | None) -> set[str]:
    """RNA cell types the annotation could not assess (their labels are not trusted)."""
    if not annotation:
        return set()
    t = pd.read_csv(annotation, sep="\t")
    return set(t.loc[~t["assessable"].astype(bool), "cell_type"].astype(str))


def _label_table(
    rna: ad.AnnData,
    shared: pd.Index,
    rna_lab: pd.DataFrame,
    plabels: pd.DataFrame,
    combined: pd.DataFrame,
) -> pd.DataFrame:
    """Per cell: RNA, protein and combined labels (the labels output); `shared`: the
    RNA cells with protein data."""
    table = rna_lab.rename(
        columns={
            "cell_type": "rna_label",
            "cell_type_route": "rna_route",
            "cell_type_confidence": "rna_confidence",
        }
    )
    table = table.join(plabels.reindex(rna.obs_names)).join(combined)
    table["protein_label"] = table["protein_label"].fillna(UNKNOWN)
    table.insert(0, "has_protein", rna.obs_names.isin(shared))
    return table.rename_axis("barcode").reset_index()


def _by_celltype(p: ad.AnnData, combined: pd.DataFrame, sample: str) -> pd.DataFrame:
    """Mean and median normalised protein per combined cell type (long form)."""
    values = pd.DataFrame(np.asarray(p.X), index=p.obs_names, columns=p.var_names)
    lab = combined.loc[p.obs_names, "combined_label"].astype(str)
    by = values.groupby(lab.to_numpy()).agg(["mean", "median"])
    long = by.stack(level=0, future_stack=True).rename_axis(["cell_type", "protein"]).reset_index()
    long.insert(2, "n_cells", long["cell_type"].map(lab.value_counts()).astype(int))
    long.insert(0, "sample", sample)
    return long


def _write_mudata(
    rna: ad.AnnData,
    p: ad.AnnData,
    combined: pd.DataFrame,
    plabels: pd.DataFrame,
    assess: pd.DataFrame,
    path: str,
) -> None:
    """The sample's MuData: RNA with the combined labels, proteins with theirs."""
    import mudata as md

    for c in ("combined_label", "combined_confidence", "combined_route"):
        rna.obs[c] = combined[c]
    for c in plabels.columns:
        p.obs[c] = plabels[c]
    p.uns["protein_assessment"] = {
        k: assess[k].astype(str).tolist() for k in ("cell_type", "status", "proteins_used")
    }
    md.set_options(pull_on_update=False)  # the modalities keep their own obs
    mdata = md.MuData({"rna": rna, "prot": p})
    with atomic_path(path) as tmp:
        mdata.write(str(tmp))


def protein_step(inputs: ProteinInputs, out: ProteinOutputs) -> dict[str, Any]:
    """Protein modality of one sample: read, normalise, label, combine with the RNA
    labels; writes the MuData and the tables and returns the agreement row. (The CAR T
    protein panel is computed by `cart_call` into results/cart/<sample>.tsv:
    marrowtox.cart.protein.)"""
    from marrowtox.prot.annotate import ProteinParams, load_protein_markers, score_proteins
    from marrowtox.prot.labels import agreement, combine
    from marrowtox.settings import resolve, section_defaults

    section = {**section_defaults("singlecell", "protein"), **inputs.section}
    rna = ad.read_h5ad(inputs.rna_h5ad)
    p, prot = normalised_proteins(
        rna.obs_names,
        inputs.sample,
        inputs.raw_path,
        inputs.adt_path,
        section,
        inputs.empty_droplets,
        inputs.seed,
    )
    markers = load_protein_markers(resolve(section["markers"]))
    plabels, assess = score_proteins(p, markers, ProteinParams.from_config(section))
    rna_lab = _rna_labels(rna)
    combined = combine(rna_lab, plabels, _unassessable_rna_types(inputs.annotation))
    write_tsv(_label_table(rna, p.obs_names, rna_lab, plabels, combined), out.labels)

    row = {
        "sample": inputs.sample,
        "protein_source": prot.source,
        "protein_file": prot.path,
        "n_rna_cells": rna.n_obs,
        "n_protein_barcodes": prot.adata.n_obs,
        "n_shared_barcodes": p.n_obs,
        "n_proteins": p.n_vars,
        "isotype_controls": ",".join(prot.isotypes),
        "normalisation": p.uns["protein_normalisation"],
        "input_already_normalised": prot.normalised,
        "protein_types_assessable": ",".join(assess.loc[assess["assessable"], "cell_type"]),
        **agreement(rna_lab["cell_type"], plabels["protein_label"]),
        "n_by_protein": int((combined["combined_route"] == "protein").sum()),
        "note": "; ".join(prot.warnings),
    }
    write_tsv(pd.DataFrame([row]), out.agreement)
    long = _by_celltype(p, combined, inputs.sample)
    write_tsv(long, out.by_celltype)
    if out.heatmap:
        protein_heatmap(long, inputs.sample, out.heatmap)
    _write_mudata(rna, p, combined, plabels, assess, out.h5mu)
    return row


__all__ = ["ProteinInputs", "ProteinOutputs", "normalised_proteins", "protein_step", "Path"]


def heatmap_figure(by_celltype: pd.DataFrame, title: str):
    """Mean normalised protein per combined cell type (rows: types, columns: proteins),
    each protein scaled to its range across types so all panels read alike. Returns
    the matplotlib figure (the step saves it; the patient report embeds it with the
    report's sample label in the title)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    m = by_celltype.pivot(index="cell_type", columns="protein", values="mean")
    span = (m.max() - m.min()).replace(0, np.nan)
    scaled = (m - m.min()) / span
    fig, ax = plt.subplots(figsize=(max(6, 0.22 * m.shape[1] + 2), 0.35 * m.shape[0] + 1.5))
    im = ax.imshow(scaled.to_numpy(dtype=float), aspect="auto", cmap="viridis")
    ax.set_xticks(range(m.shape[1]), m.columns, rotation=90, fontsize=7)
    ax.set_yticks(range(m.shape[0]), m.index, fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.03, label="scaled to range across types")
    fig.tight_layout()
    return fig


def heatmap_title(label: str) -> str:
    return f"{label}: surface proteins per cell type (scaled mean)"


def protein_heatmap(by_celltype: pd.DataFrame, sample: str, path: str) -> None:
    """results/singlecell/plots/<sample>.protein.png (heatmap_figure)."""
    import matplotlib.pyplot as plt

    fig = heatmap_figure(by_celltype, heatmap_title(sample))
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90)
    plt.close(fig)
