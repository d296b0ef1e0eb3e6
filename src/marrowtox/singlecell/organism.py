"""Human to mouse symbol mapping for markers and gene sets (the seed study used mice).

No ortholog table can be downloaded at run time. Most one-to-one orthologs share the
symbol with mouse capitalisation (CD34 -> Cd34), which is the rule applied here, with
explicit exceptions where the mouse symbol differs. Limits: genes without a mouse
ortholog (e.g. HLA-*, some KIR/LILR genes) map to symbols absent from mouse data and
are reported as missing by the scoring steps; one-to-many families are not expanded.
"""

from __future__ import annotations

EXCEPTIONS = {
    "HLA-DRA": "H2-Ea",
    "HLA-DQA1": "H2-Aa",
    "HLA-DMA": "H2-DMa",
    "HLA-A": "H2-K1",
    "HLA-B": "H2-D1",
    "HLA-C": "H2-Q4",
    "HLA-E": "H2-T23",
    "HLA-DRB1": "H2-Eb1",
    "GZMH": "Gzmc",
    "IGHG1": "Ighg1",
    "IGKC": "Igkc",
    "CD1C": "Cd1d1",
    "FCGR3A": "Fcgr4",
    "MS4A1": "Ms4a1",
    "IL8": "Cxcl15",
    "CXCL8": "Cxcl15",
    "HBB": "Hbb-bs",
    "HBA1": "Hba-a1",
    "HBA2": "Hba-a2",
    "PPBP": "Ppbp",
}


def to_mouse(symbol: str) -> str:
    if symbol in EXCEPTIONS:
        return EXCEPTIONS[symbol]
    if symbol.startswith("MT-"):
        return "mt-" + symbol[3:].capitalize()
    return symbol[:1].upper() + symbol[1:].lower()


def mt_prefix(organism: str) -> str:
    return "mt-" if organism == "mouse" else "MT-"
