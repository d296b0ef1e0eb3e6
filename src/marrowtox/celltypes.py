"""Marrow cell-type vocabulary shared by annotation, CAR calling, signatures and reports.

One list, so that a label produced by annotation is always one the downstream steps
know (e.g. which types count as HSPC or as T/NK lineage for CAR calling).
"""

from __future__ import annotations

CELL_TYPES: tuple[str, ...] = (
    "HSC/MPP",
    "LMPP",
    "GMP/neutrophil",
    "monocyte",
    "DC",
    "pDC",
    "erythroid",
    "megakaryocyte/MEP",
    "pre-B/B",
    "plasma",
    "CD4 T",
    "CD8 T",
    "NK",
    "stromal",
)
UNKNOWN = "unknown"

#: Lineage of each type: the margin for "unknown" is taken against other lineages, and
#: coarse accuracy on labelled data is measured at this level.
LINEAGE: dict[str, str] = {
    "HSC/MPP": "HSPC",
    "LMPP": "HSPC",
    "GMP/neutrophil": "myeloid",
    "monocyte": "myeloid",
    "DC": "myeloid",
    "pDC": "myeloid",
    "erythroid": "erythroid/MK",
    "megakaryocyte/MEP": "erythroid/MK",
    "pre-B/B": "B",
    "plasma": "B",
    "CD4 T": "T/NK",
    "CD8 T": "T/NK",
    "NK": "T/NK",
    "stromal": "stromal",
}

#: Coarse classes used to judge labels on real data (issue 14): HSPC/progenitor,
#: erythroid, myeloid, B, T, NK (T and NK apart, unlike LINEAGE).
COARSE: dict[str, str] = {
    **{t: g for t, g in LINEAGE.items()},
    "CD4 T": "T",
    "CD8 T": "T",
    "NK": "NK",
    "erythroid": "erythroid",
    "megakaryocyte/MEP": "erythroid",
}

#: Hematopoietic stem and progenitor cells: the compartment whose loss and
#: interferon response the marrow findings are about.
HSPC_TYPES: frozenset[str] = frozenset({"HSC/MPP", "LMPP"})

#: Lineages in which a CAR+ call is biologically possible (CAR T products contain
#: CD4, CD8 and a few NK-like cells); CAR counts elsewhere are ambient RNA.
T_NK_TYPES: frozenset[str] = frozenset({"CD4 T", "CD8 T", "NK"})
T_TYPES: frozenset[str] = frozenset({"CD4 T", "CD8 T"})

#: Cells that cannot hold a CAR transcript of their own; used to estimate ambient CAR
#: expression when no empty droplets are available.
NON_LYMPHOID_TYPES: frozenset[str] = frozenset(
    {"HSC/MPP", "LMPP", "GMP/neutrophil", "monocyte", "DC", "erythroid", "megakaryocyte/MEP"}
)
